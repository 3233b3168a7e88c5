import Foundation
import NN
import TensorCore

/// CDAN's multilinear map T⊗(f, g) = f ⊗ g, one row per sample, flattened class-major:
///
///     h_i[c·d + k] = g_ic · f_ik        (N × d features, N × C predictions → N × (C·d))
///
/// the layout of the authors' `torch.bmm(g.unsqueeze(2), f.unsqueeze(1))`. `predictions` is a plain
/// tensor: the conditioning sends no gradient into the classifier (the authors' code detaches it).
public func cdanMultilinearMap(features: Variable, predictions: Tensor) -> Variable {
    precondition(
        features.value.rank == 2 && predictions.rank == 2 && features.shape[0] == predictions.shape[0],
        "cdanMultilinearMap: features \(features.shape) and predictions \(predictions.shape) need the same rows")
    let blocks = (0..<predictions.shape[1]).map { c in features * predictions.slice(axis: 1, c..<(c + 1)) }
    return Variable.concatenate(blocks, axis: 1)
}

/// CDAN's randomized multilinear map T⊙(f, g) = (1/√r) (R_f f) ⊙ (R_g g), with fixed R_f (r × d) and
/// R_g (r × C): N × r. Its inner products approximate those of f ⊗ g in expectation (paper, Theorem 1)
/// when the entries of R have zero mean and unit variance.
public func cdanRandomizedMap(features: Variable, predictions: Tensor, featureProjection: Tensor, predictionProjection: Tensor) -> Variable {
    precondition(
        featureProjection.rank == 2 && predictionProjection.rank == 2 && featureProjection.shape[0] == predictionProjection.shape[0]
            && featureProjection.shape[1] == features.shape[1] && predictionProjection.shape[1] == predictions.shape[1],
        "cdanRandomizedMap: R_f \(featureProjection.shape) and R_g \(predictionProjection.shape) do not fit features \(features.shape) and predictions \(predictions.shape)")
    let r = Float(featureProjection.shape[0])
    let projectedFeatures = Variable.matmul(features, Variable(featureProjection), transposeB: true)
    let projectedPredictions = Tensor.matmul(predictions, predictionProjection, transposeB: true) * (1 / r.squareRoot())
    return projectedFeatures * projectedPredictions
}

/// 1 + e^{−H(p_i)} for each row of probabilities p (N × C), H(p) = −Σ_k p_k log p_k (0 log 0 = 0): the
/// certainty weight of CDAN+E and MCC, between 1 + 1/C (uniform) and 2 (one-hot).
func certaintyWeights(probabilities: Tensor) -> [Float] {
    let (n, classes) = (probabilities.shape[0], probabilities.shape[1])
    return (0..<n).map { i in
        var entropy: Float = 0
        for k in 0..<classes {
            let p = probabilities.scalars[i * classes + k]
            if p > 0 { entropy -= p * Foundation.log(p) }
        }
        return 1 + Foundation.exp(-entropy)
    }
}

/// CDAN+E's weights for one domain's rows: w_i = 1 + e^{−H(g_i)}, normalised to sum to 1 within the
/// domain (the authors' code normalises the source half and the target half separately). N × 1.
public func cdanEntropyWeights(predictions: Tensor) -> Tensor {
    let w = certaintyWeights(probabilities: predictions)
    let total = w.reduce(0, +)
    return Tensor(shape: [w.count, 1], scalars: w.map { $0 / total })
}

/// Σ_i w_i BCE(z_i, y) for one domain label y, BCE(z, y) = −y log σ(z) − (1 − y) log(1 − σ(z)).
private func weightedBinaryCrossEntropy(logits: Variable, label: Float, weights: Tensor) -> Variable {
    precondition(logits.value.count == weights.count, "weightedBinaryCrossEntropy: \(logits.shape) logits for \(weights.shape) weights")
    let z = logits.value
    let w = weights.reshaped(z.shape)
    var total: Float = 0
    for i in 0..<z.count {
        let zi = z.scalars[i]
        total += w.scalars[i] * (Swift.max(zi, 0) - zi * label + Foundation.log1p(Foundation.exp(-Swift.abs(zi))))
    }
    return Variable(value: Tensor(total), operation: "weightedBinaryCrossEntropy", inputs: [logits]) { g in
        [(z.sigmoid() - label) * w * g.scalar]
    }
}

/// CDAN's domain loss on discriminator logits (N × 1), source → 0, target → 1:
///
///     L_d = Σ_i w_i^s BCE(d_i^s, 0) + Σ_j w_j^t BCE(d_j^t, 1),   Σ_i w_i^s = Σ_j w_j^t = 1
///
/// With no weights w = 1/n in each domain, which is `dannDomainLoss` (the sum of the two per-domain
/// means). CDAN+E passes `cdanEntropyWeights`. The authors' code divides by Σ w = 2 (and its plain
/// CDAN takes the mean over both domains): our term is twice theirs, as DANN's is (paper eq. 18).
public func cdanDomainLoss(
    sourceDomainLogits: Variable, targetDomainLogits: Variable, sourceWeights: Tensor? = nil, targetWeights: Tensor? = nil
) -> Variable {
    precondition((sourceWeights == nil) == (targetWeights == nil), "cdanDomainLoss: give weights for both domains or neither")
    guard let sourceWeights, let targetWeights else {
        return dannDomainLoss(sourceDomainLogits: sourceDomainLogits, targetDomainLogits: targetDomainLogits)
    }
    return weightedBinaryCrossEntropy(logits: sourceDomainLogits, label: 0, weights: sourceWeights)
        + weightedBinaryCrossEntropy(logits: targetDomainLogits, label: 1, weights: targetWeights)
}

/// Conditional adversarial domain adaptation, CDAN and CDAN+E (Long, Cao, Wang, Jordan, NeurIPS 2018,
/// "Conditional Adversarial Domain Adaptation").
///
/// Equation as implemented: the discriminator D (one logit, as DANN's) reads the conditioning
/// T(h) of features f and classifier predictions g = softmax(logits) through gradient reversal R_λ:
///
///     term = weight · L_d(D(R_λ(T(f_s, g_s))), D(R_λ(T(f_t, g_t)))),   λ(p) = 2 / (1 + exp(−10 p)) − 1
///
/// with `cdanDomainLoss` (source → 0, target → 1) and T = f ⊗ g (`cdanMultilinearMap`, d·C wide) when
/// d·C ≤ 4096, else the randomized map (`cdanRandomizedMap`, r = 1024 wide) with R_f (r × d) and R_g
/// (r × C) drawn once from N(0, 1) by the strategy's seeded generator and fixed (not trained, not saved:
/// the seed rebuilds them). g is detached in T, as in the authors' code and Transfer-Learning-Library,
/// so the classifier gets no gradient from the domain loss.
///
/// CDAN+E is the option `entropy: true` (one registered name, `cdan`): each row's domain loss is
/// weighted by w = 1 + e^{−H(g)}, normalised to sum to 1 within the source rows and within the target
/// rows (the authors' normalisation; see `cdanDomainLoss` for the factor 2). The weights are detached
/// (as in Transfer-Learning-Library; the authors' code lets a reversed gradient flow through H).
///
/// Options: `layer` (features), `entropy` (false), `map` (auto | multilinear | randomized),
/// `randomDimension` (1024), `discriminatorHidden` (`DomainDiscriminator.defaultHidden` of the map's
/// width), `discriminatorDropout` (0.5, the authors' value; chosen over 0 by measurement, Papers.md "CDAN"). λ as a schedule like DANN (`dann` by default), inside the reversal.
/// Diagnostics: `domainAccuracy`, `lambda`.
public final class CDANStrategy: AdaptationStrategy {
    /// How the features and predictions are combined.
    public enum Map: String, CaseIterable, Sendable {
        /// f ⊗ g when d·C ≤ `multilinearLimit`, else the randomized map (the paper's rule).
        case auto
        case multilinear
        case randomized
    }

    /// The widest d·C that `auto` keeps as the full multilinear map (paper: 4096).
    public static let multilinearLimit = 4096

    /// The options with their defaults: the one place the defaults are written.
    public static let optionSpecs: [StrategyOptionSpec] = [
        StrategyOptionSpec("layer", default: .string("features"), "representation f that is conditioned on the predictions: extractor | features | logits",
            domain: .choice(FeatureLayer.allCases.map(\.rawValue))),
        StrategyOptionSpec("entropy", default: .bool(false), "CDAN+E: weight each row's domain loss by 1 + exp(−H(g)), normalised per domain",
            domain: .bool),
        StrategyOptionSpec("map", default: .string("auto"), "auto (f ⊗ g up to d·C = \(multilinearLimit), else randomized) | multilinear | randomized",
            domain: .choice(Map.allCases.map(\.rawValue))),
        StrategyOptionSpec("randomDimension", default: .number(1024), "width r of the randomized map", domain: .integer(1...65_536)),
        StrategyOptionSpec("discriminatorHidden", default: nil, "hidden sizes; default [1024, 1024] for a ≥ 256-wide map, else [max(2w, 16)]",
            domain: .layerWidths(width: 1...65_536, count: 0...16)),
        StrategyOptionSpec("discriminatorDropout", default: .number(0.5), "dropout after each hidden layer (0.5 as in the authors' code)",
            domain: .number(.halfOpen(0, 1))),
    ]

    public let name = "cdan"
    public let layer: FeatureLayer
    /// CDAN+E's entropy weighting.
    public let entropyConditioning: Bool
    /// R_f (r × d) and R_g (r × C) of the randomized map; nil for the full multilinear map.
    public let randomProjections: (features: Tensor, predictions: Tensor)?
    public let discriminator: DomainDiscriminator

    /// Whether `map` resolves to the randomized map for d = `featureSize`, C = `classCount`.
    public static func usesRandomizedMap(_ map: Map, featureSize: Int, classCount: Int) -> Bool {
        switch map {
        case .auto: return featureSize * classCount > multilinearLimit
        case .multilinear: return false
        case .randomized: return true
        }
    }

    /// Width of T(h): d·C, or r for the randomized map.
    public static func mapWidth(_ map: Map, featureSize: Int, classCount: Int, randomDimension: Int) -> Int {
        usesRandomizedMap(map, featureSize: featureSize, classCount: classCount) ? randomDimension : featureSize * classCount
    }

    /// `hidden` nil: `DomainDiscriminator.defaultHidden` of the map's width.
    public init(
        layer: FeatureLayer = .features, featureSize: Int, classCount: Int, entropy: Bool = false, map: Map = .auto,
        randomDimension: Int = Int(optionSpecs.defaultNumber("randomDimension")), hidden: [Int]? = nil, dropout: Float = Float(optionSpecs.defaultNumber("discriminatorDropout")),
        rng: inout SeededGenerator
    ) {
        precondition(featureSize > 0 && classCount > 0 && randomDimension > 0, "CDANStrategy: sizes must be positive")
        self.layer = layer
        entropyConditioning = entropy
        if Self.usesRandomizedMap(map, featureSize: featureSize, classCount: classCount) {
            // A fork, so the discriminator's initialisation does not depend on the map.
            var projectionRNG = rng.fork("cdan.randomizedMap")
            let rf = Tensor.normal([randomDimension, featureSize], rng: &projectionRNG)
            let rg = Tensor.normal([randomDimension, classCount], rng: &projectionRNG)
            randomProjections = (rf, rg)
        } else {
            randomProjections = nil
        }
        let width = Self.mapWidth(map, featureSize: featureSize, classCount: classCount, randomDimension: randomDimension)
        discriminator = DomainDiscriminator(
            inputSize: width, hidden: hidden ?? DomainDiscriminator.defaultHidden(featureSize: width), outputs: 1, dropout: dropout, rng: &rng)
    }

    public var parameters: [NamedParameter] { discriminator.parameters }
    public var lambdaPlacement: LambdaPlacement { .insideLoss }

    /// T(f, g) for rows of features and (constant) predictions.
    public func conditioning(features: Variable, predictions: Tensor) -> Variable {
        guard let projections = randomProjections else { return cdanMultilinearMap(features: features, predictions: predictions) }
        return cdanRandomizedMap(
            features: features, predictions: predictions, featureProjection: projections.features, predictionProjection: projections.predictions)
    }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let (fs, ft) = batch.representation(layer)
        let ns = fs.shape[0]
        let features = Variable.concatenate([fs, ft], axis: 0)
        // .value: the conditioning is a constant, no gradient reaches the classifier through it.
        let predictions = Tensor.concatenate([batch.sourceLogits.value, batch.targetLogits.value], axis: 0).softmax(axis: 1)
        let reversed = conditioning(features: features, predictions: predictions).gradientReversal(lambda: batch.lambda)
        let logits = discriminator(reversed, context: context)
        let rows = logits.shape[0]
        let ds = logits.slice(axis: 0, 0..<ns), dt = logits.slice(axis: 0, ns..<rows)
        let loss: Variable
        if entropyConditioning {
            loss = cdanDomainLoss(
                sourceDomainLogits: ds, targetDomainLogits: dt,
                sourceWeights: cdanEntropyWeights(predictions: predictions.slice(axis: 0, 0..<ns)),
                targetWeights: cdanEntropyWeights(predictions: predictions.slice(axis: 0, ns..<rows)))
        } else {
            loss = cdanDomainLoss(sourceDomainLogits: ds, targetDomainLogits: dt)
        }
        return StrategyLoss(
            loss, terms: ["domain": loss.value.scalar],
            diagnostics: ["domainAccuracy": domainAccuracy(sourceLogits: ds.value, targetLogits: dt.value), "lambda": Double(batch.lambda)])
    }

    private static func flag(_ key: String) -> Bool {
        guard case .bool(let b) = optionSpecs.defaultValue(key) else { preconditionFailure("CDAN option spec: '\(key)' is not a boolean") }
        return b
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "cdan",
            summary: "Conditional adversarial: discriminator on gradient-reversed f ⊗ softmax (detached), randomized above d·C = 4096; entropy: true gives CDAN+E.",
            paper: "Long, Cao, Wang & Jordan, NeurIPS 2018, 'Conditional Adversarial Domain Adaptation'",
            options: optionSpecs, defaultWeight: 1, defaultSchedule: .dannRamp(gamma: 10)
        ) { options, context in
            let layer = try layerOption(options, default: FeatureLayer(rawValue: optionSpecs.defaultString("layer"))!)
            let entropy = try options.bool("entropy", default: flag("entropy"))
            let map = Map(rawValue: try options.choice("map", default: optionSpecs.defaultString("map"), allowed: Map.allCases.map(\.rawValue)))!
            let r = try options.int("randomDimension", default: Int(optionSpecs.defaultNumber("randomDimension")))
            let d = context.size(of: layer)
            let width = mapWidth(map, featureSize: d, classCount: context.classCount, randomDimension: r)
            let (hidden, dropout) = try discriminatorOptions(
                options, inputSize: width, defaultDropout: Float(optionSpecs.defaultNumber("discriminatorDropout")))
            var rng = context.rng
            return CDANStrategy(
                layer: layer, featureSize: d, classCount: context.classCount, entropy: entropy, map: map, randomDimension: r,
                hidden: hidden, dropout: dropout, rng: &rng)
        }
    }
}
