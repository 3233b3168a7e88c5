import Foundation
import NN
import TensorCore

/// SHOT's self-supervised pseudo-labels (Liang, Hu, Feng, ICML 2020, §3.3) for N target rows from
/// their features F (N × d, the classifier's input) and softmax predictions P (N × K):
///
///     f̂_i = [f_i, 1] / ‖[f_i, 1]‖                                  (bias 1 appended, L2-normalised)
///     c_k = Σ_i P_ik f̂_i / (10⁻⁸ + Σ_i P_ik)                        (prediction-weighted centroids)
///     ŷ_i = argmin_{k ∈ S} d(f̂_i, c_k),  d(a, b) = 1 − a·b / (‖a‖ ‖b‖)   (cosine distance)
///     c_k = mean of f̂_i over {i : ŷ_i = k},  ŷ_i = argmin_k d(f̂_i, c_k)   (one refinement, hard labels)
///
/// S is the set of classes that at least one row predicts (arg-max of P), as in the authors'
/// office code (`labelset`, threshold 0); the refinement uses the classes of S that kept a row (a
/// class without rows has no centroid). Ties go to the lower class. Returns ŷ (N labels).
public func shotCentroidPseudoLabels(features: Tensor, probabilities: Tensor) -> [Int] {
    precondition(features.rank == 2 && probabilities.rank == 2, "shotCentroidPseudoLabels: expects N×d features and N×K probabilities")
    let n = features.shape[0], d = features.shape[1], k = probabilities.shape[1]
    precondition(probabilities.shape[0] == n, "shotCentroidPseudoLabels: \(n) feature rows for \(probabilities.shape[0]) probability rows")
    guard n > 0 else { return [] }
    // f̂: features with a bias of 1, L2-normalised (Double throughout: sums over the whole pool).
    let width = d + 1
    var normalised = [Double](repeating: 0, count: n * width)
    for i in 0..<n {
        var norm = 1.0
        for j in 0..<d { norm += Double(features.scalars[i * d + j]) * Double(features.scalars[i * d + j]) }
        norm = norm.squareRoot()
        for j in 0..<d { normalised[i * width + j] = Double(features.scalars[i * d + j]) / norm }
        normalised[i * width + d] = 1 / norm
    }
    func centroids(_ weight: (Int, Int) -> Double) -> [[Double]] {
        (0..<k).map { c in
            var sum = [Double](repeating: 0, count: width)
            var total = 0.0
            for i in 0..<n {
                let w = weight(i, c)
                guard w != 0 else { continue }
                total += w
                for j in 0..<width { sum[j] += w * normalised[i * width + j] }
            }
            return sum.map { $0 / (1e-8 + total) }
        }
    }
    func nearest(_ centres: [[Double]], among classes: [Int]) -> [Int] {
        let norms = centres.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        return (0..<n).map { i in
            var best = classes[0], bestDistance = Double.infinity
            for c in classes {
                var dot = 0.0
                for j in 0..<width { dot += normalised[i * width + j] * centres[c][j] }
                let distance = norms[c] > 0 ? 1 - dot / norms[c] : 1
                if distance < bestDistance { (best, bestDistance) = (c, distance) }
            }
            return best
        }
    }
    let predicted = probabilities.argmax(axis: 1)
    let labelSet = (0..<k).filter { c in predicted.contains(c) }
    let soft = nearest(centroids { i, c in Double(probabilities.scalars[i * k + c]) }, among: labelSet)
    let kept = labelSet.filter { c in soft.contains(c) }
    return nearest(centroids { i, c in soft[i] == c ? 1 : 0 }, among: kept)
}

/// SHOT's target phase (Liang, Hu, Feng, ICML 2020, "Do We Really Need to Access the Source Data?
/// Source Hypothesis Transfer for Unsupervised Domain Adaptation"): adapts a source-trained model
/// to the target without source data and without labels, the classifier (the source hypothesis)
/// frozen.
///
/// Equation as implemented, on each target batch (B rows, pseudo-labels ŷ of the batch's rows):
///
///     term = weight · λ · [ (1/B) Σ_i H(p_i) − diversityWeight · H_ε(p̄) + β · (1/B) Σ_i CE(z_i, ŷ_i) ]
///
/// (`informationMaximizationLoss` plus the pseudo-label cross-entropy). At the start of every epoch
/// the whole target pool is relabelled with `shotCentroidPseudoLabels` from the current features
/// (the classifier's input, inference mode). Defaults from the authors' digits and office code:
/// β = 0.3 (`cls_par`), diversityWeight 1, ε = 1e-5, weight 1, λ constant.
///
/// - Source-free: `usesSourceData` is false, so the trainer draws no source batch and adds no source
///   cross-entropy; the run may combine it only with strategies that are source-free too.
/// - Frozen head: `prepare` freezes every `classifier.*` parameter; the extractor and the
///   bottleneck train.
/// - The model must start trained: the runner refuses a recipe without starting weights
///   (`pretrained.weights`, or an earlier phase in `phases`).
///
/// Left out: the paper's source-phase choices (label smoothing 0.1, a BatchNorm bottleneck and a
/// weight-normalised head) belong to the source phase's recipe; DAKit's models have a plain Dense head.
/// Diagnostics at each relabelling: `changed` (fraction of rows whose label changed) and `classes`
/// (classes present); the trainer's evaluator adds `keptAccuracy` where the target pool has labels.
public final class SHOTStrategy: AdaptationStrategy {
    /// The options with their defaults: the one place the defaults are written.
    public static let optionSpecs: [StrategyOptionSpec] = [
        StrategyOptionSpec("beta", default: .number(0.3), "β: weight of the pseudo-label cross-entropy (cls_par)", domain: .number(.closed(0, 1e6))),
        StrategyOptionSpec("diversityWeight", default: .number(1), "weight of the diversity term of the IM loss", domain: .number(.closed(0, 1e6))),
        StrategyOptionSpec("epsilon", default: .number(1e-5), "ε in log(p̄ + ε) of the diversity term", domain: .number(.closed(0, 1))),
    ]
    @usableFromInline static func number(_ key: String) -> Float { Float(optionSpecs.defaultNumber(key)) }

    public let name = "shot"
    public let beta: Float
    public let diversityWeight: Float
    public let epsilon: Float
    /// The pseudo-label of every target-pool row; empty before the first epoch boundary.
    public private(set) var pseudoLabels: [Int] = []

    public init(beta: Float = number("beta"), diversityWeight: Float = number("diversityWeight"), epsilon: Float = number("epsilon")) {
        precondition(beta >= 0 && beta.isFinite, "SHOTStrategy: beta \(beta) must be finite and ≥ 0")
        precondition(diversityWeight >= 0 && diversityWeight.isFinite, "SHOTStrategy: diversityWeight \(diversityWeight) must be finite and ≥ 0")
        precondition(epsilon >= 0, "SHOTStrategy: epsilon \(epsilon) must be ≥ 0")
        self.beta = beta
        self.diversityWeight = diversityWeight
        self.epsilon = epsilon
    }

    public var usesSourceData: Bool { false }

    public func prepare(_ setup: TrainingSetup) throws {
        setup.model.freeze(prefixes: ["classifier"])
        pseudoLabels = []
    }

    /// Relabels the whole target pool from the current model (inference mode).
    public func epochBoundary(_ boundary: EpochBoundary) throws -> BoundaryReport {
        let model = boundary.model
        var features: [Tensor] = [], probabilities: [Tensor] = []
        try boundary.targetPool.forEachChunk(size: 4096) { _, x in
            features.append(model.representation(x, layer: .features))
            probabilities.append(model.probabilities(x))
        }
        let labels = shotCentroidPseudoLabels(
            features: features.count == 1 ? features[0] : Tensor.concatenate(features, axis: 0),
            probabilities: probabilities.count == 1 ? probabilities[0] : Tensor.concatenate(probabilities, axis: 0))
        let changed = pseudoLabels.count == labels.count
            ? Double(zip(pseudoLabels, labels).filter { $0 != $1 }.count) / Double(Swift.max(labels.count, 1)) : 1
        pseudoLabels = labels
        return BoundaryReport(
            diagnostics: ["changed": changed, "classes": Double(Set(labels).count)],
            pseudoLabels: Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.offset, $0.element) }))
    }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let logits = batch.targetLogits
        let entropy = Loss.entropy(logits: logits)
        let diversity = predictionDiversity(targetLogits: logits, epsilon: epsilon)
        var total = diversityWeight == 0 ? entropy : entropy - diversityWeight * diversity
        var terms = ["entropy": entropy.value.scalar, "diversity": diversity.value.scalar]
        if beta > 0 && !pseudoLabels.isEmpty {
            let ce = Loss.crossEntropy(logits: logits, labels: batch.targetIndices.map { pseudoLabels[$0] })
            terms["pseudoLabel"] = ce.value.scalar
            total = total + beta * ce
        }
        return StrategyLoss(total, terms: terms)
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "shot",
            summary: "SHOT target phase: source-free, head frozen; IM loss + β·CE to per-epoch centroid pseudo-labels. Needs starting weights.",
            paper: "Liang, Hu & Feng, ICML 2020, 'Do We Really Need to Access the Source Data? Source Hypothesis Transfer for UDA'",
            options: optionSpecs, defaultWeight: 1
        ) { options, _ in
            SHOTStrategy(
                beta: try options.float("beta", default: number("beta")),
                diversityWeight: try options.float("diversityWeight", default: number("diversityWeight")),
                epsilon: try options.float("epsilon", default: number("epsilon")))
        }
    }
}
