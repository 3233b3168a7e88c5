import Foundation
import NN
import TensorCore

/// Cluster-and-match self-training: the target pool's own cluster structure supplies the
/// pseudo-labels, and the model's predictions only decide which cluster is which class.
///
/// At every epoch boundary from the end of the warm-up on:
///
/// 1. Cluster the target pool into C groups (C = classes) by spectral clustering (Ng, Jordan &
///    Weiss, NIPS 2001): the symmetric K-nearest-neighbour graph W = (A + Aᵀ)/2 of the rows (Euclidean,
///    in `space`), the C leading eigenvectors of D^(−1/2) W D^(−1/2) with rows scaled to unit length,
///    k-means++ on them (10 restarts, seeded).
/// 2. Match clusters to classes one-to-one (the Hungarian algorithm) by the model's softmax
///    predictions P on the pool: with M_ac = Σ_{i ∈ a} p_ic, maximise Σ_a M_a,σ(a) / Σ_b M_b,σ(a).
/// 3. Every target row takes its cluster's class: ŷ_i = σ(cluster(i)).
///
/// Loss on each target batch (B rows, after the warm-up; zero before):
///
///     term = weight · λ · (1/B) Σ_i CE(z_i, ŷ_i)
///
/// This is cluster-then-label (Chapelle, Weston & Schölkopf, NIPS 2003) used as domain-adaptation
/// self-training, like SHOT's centroid labels (Liang et al. 2020) and CAN's target clustering (Kang
/// et al., CVPR 2019), with a graph clustering that follows non-convex classes (the two moons) and
/// a one-to-one matching that stops two clusters from taking the same class. It is DAKit's
/// combination, not one paper's method: Papers.md ("Cluster-and-match") says so and gives the
/// measurements that chose the defaults.
///
/// Where it fails: when the target's classes are not separate clusters in `space` (overlapping
/// classes), the cluster labels are wrong however good the predictions are; when the number of
/// clusters differs from the number of classes, the one-to-one matching cannot hold.
///
/// Cost: the graph and the eigen-decomposition are dense, O(N²) memory (three N × N arrays of
/// Double: about 1.5 GB at the 8000-row limit) and O(N³) time in the rows clustered. Pools larger than `maxRows` are clustered on `maxRows` evenly spaced rows, and every
/// other row takes the label of its nearest clustered row. In `space: input` the clusters are
/// computed once and only the matching is refreshed; in a learned space both are refreshed.
public final class ClusterMatchStrategy: AdaptationStrategy {
    /// Where the rows are clustered.
    public enum Space: String, CaseIterable, Sendable {
        /// The target inputs, flattened (standardised when the recipe standardises).
        case input
        case extractor, features, logits
    }

    /// The options with their defaults: the one place the defaults are written.
    public static let optionSpecs: [StrategyOptionSpec] = [
        StrategyOptionSpec("neighbours", default: .number(5), "K of the K-nearest-neighbour graph", domain: .integer(1...1024)),
        StrategyOptionSpec("space", default: .string("input"), "where rows are clustered: input | extractor | features | logits",
            domain: .choice(Space.allCases.map(\.rawValue))),
        StrategyOptionSpec("warmup", default: .number(0.3), "share of training before the first labels (source training only)",
            domain: .number(.halfOpen(0, 1))),
        StrategyOptionSpec("maxRows", default: .number(2000), "most rows clustered (the rest take their nearest clustered row's label; memory ≈ 24·maxRows² bytes)",
            domain: .integer(2...8000)),
    ]
    @usableFromInline static func number(_ key: String) -> Double { optionSpecs.defaultNumber(key) }

    public let name = "clusterMatch"
    public let neighbours: Int
    public let space: Space
    public let warmup: Float
    public let maxRows: Int
    /// The strategy's generator: k-means++ draws from it directly in `space: input` (one clustering)
    /// and from a fork named after the epoch in a learned space, so that a resumed run draws what the
    /// uninterrupted run drew at that epoch.
    private let rng: SeededGenerator
    /// Each target-pool row's cluster (reused in `space: input`); empty before the first labels.
    public private(set) var clusters: [Int] = []
    /// Each target-pool row's pseudo-label; empty before the first labels.
    public private(set) var pseudoLabels: [Int] = []

    public init(
        neighbours: Int = Int(number("neighbours")), space: Space = .input, warmup: Float = Float(number("warmup")),
        maxRows: Int = Int(number("maxRows")), rng: SeededGenerator = SeededGenerator(seed: 0)
    ) {
        precondition(neighbours >= 1, "ClusterMatchStrategy: neighbours \(neighbours) must be ≥ 1")
        precondition(warmup >= 0 && warmup < 1, "ClusterMatchStrategy: warmup \(warmup) must lie in [0, 1)")
        precondition(maxRows >= 2, "ClusterMatchStrategy: maxRows \(maxRows) must be ≥ 2")
        self.neighbours = neighbours
        self.space = space
        self.warmup = warmup
        self.maxRows = maxRows
        self.rng = rng
    }

    public func prepare(_ setup: TrainingSetup) throws {
        let classes = setup.model.classCount
        let rows = Swift.min(setup.target.count, maxRows)
        guard rows > Swift.max(neighbours, classes) else {
            throw StrategyError.invalidValue(strategy: name, key: "neighbours",
                message: "is \(neighbours), but the clustered target rows (\(rows) of \(setup.target.count); at most maxRows \(maxRows)) must outnumber both the neighbours and the \(classes) classes")
        }
        clusters = []
        pseudoLabels = []
    }

    /// The rows clustered: all of them, or `maxRows` evenly spaced ones.
    public func clusteredRows(count: Int) -> [Int] {
        count <= maxRows ? Array(0..<count) : (0..<maxRows).map { $0 * count / maxRows }
    }

    /// The pool's rows in `space` (N × d).
    func points(_ boundary: EpochBoundary) throws -> Tensor {
        var parts: [Tensor] = []
        try boundary.targetPool.forEachChunk(size: 4096) { _, x in
            switch space {
            case .input: parts.append(x.reshaped([x.shape[0], x.count / Swift.max(x.shape[0], 1)]))
            case .extractor: parts.append(boundary.model.representation(x, layer: .extractor))
            case .features: parts.append(boundary.model.representation(x, layer: .features))
            case .logits: parts.append(boundary.model.representation(x, layer: .logits))
            }
        }
        return parts.count == 1 ? parts[0] : Tensor.concatenate(parts, axis: 0)
    }

    /// Clusters the pool (`maxRows` of it; the other rows join their nearest clustered row's cluster).
    func cluster(_ points: Tensor, classes: Int, epoch: Int) throws -> [Int] {
        let n = points.shape[0]
        let rows = clusteredRows(count: n)
        let sample = rows.count == n ? points : points.gathering(rows: rows)
        var generator = space == .input ? rng : rng.fork("clusterMatch epoch \(epoch)")
        let sampleLabels = try spectralClustering(points: sample, clusters: classes, neighbours: neighbours, rng: &generator)
        guard rows.count < n else { return sampleLabels }
        // Nearest clustered row of every row, in chunks of 1024 rows.
        var labels = [Int](repeating: 0, count: n)
        for start in stride(from: 0, to: n, by: 1024) {
            let chunk = Array(start..<Swift.min(n, start + 1024))
            let distances = Kernels.pairwiseSquaredDistances(Variable(points.gathering(rows: chunk)), Variable(sample)).value
            for (c, i) in chunk.enumerated() {
                var best = 0, bestDistance = Float.infinity
                for r in 0..<rows.count {
                    let distance = distances.scalars[c * rows.count + r]
                    if distance < bestDistance { (best, bestDistance) = (r, distance) }
                }
                labels[i] = sampleLabels[best]
            }
        }
        return labels
    }

    public func epochBoundary(_ boundary: EpochBoundary) throws -> BoundaryReport {
        guard boundary.progress >= warmup else { return [:] }
        let model = boundary.model
        let classes = model.classCount
        if clusters.isEmpty || space != .input {
            do {
                clusters = try cluster(points(boundary), classes: classes, epoch: boundary.epoch)
            } catch let error as EigenDecompositionError {
                throw StrategyError.invalidValue(strategy: name, key: "neighbours", message: "spectral clustering failed: \(error)")
            }
        }
        let probabilities = try model.probabilities(boundary.targetPool)
        let classOfCluster = matchClustersToClasses(clusters: clusters, clusterCount: classes, probabilities: probabilities)
        let labels = clusters.map { classOfCluster[$0] }
        let predicted = probabilities.argmax(axis: 1)
        let changed = pseudoLabels.count == labels.count
            ? Double(zip(pseudoLabels, labels).filter { $0 != $1 }.count) / Double(Swift.max(labels.count, 1)) : 1
        pseudoLabels = labels
        var sizes = [Int](repeating: 0, count: classes)
        for c in clusters { sizes[c] += 1 }
        return BoundaryReport(
            diagnostics: [
                "changed": changed,
                "agreement": Double(zip(labels, predicted).filter { $0 == $1 }.count) / Double(Swift.max(labels.count, 1)),
                "smallestCluster": Double(sizes.min() ?? 0),
            ],
            pseudoLabels: Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.offset, $0.element) }))
    }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        guard !pseudoLabels.isEmpty else { return .zero }
        let ce = Loss.crossEntropy(logits: batch.targetLogits, labels: batch.targetIndices.map { pseudoLabels[$0] })
        return StrategyLoss(ce, terms: ["clusterLabel": ce.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "clusterMatch",
            summary: "Spectral clusters of the target pool matched one-to-one to classes by the model's predictions (Hungarian); CE on the cluster labels.",
            paper: "DAKit's cluster-then-label self-training: Ng, Jordan & Weiss, NIPS 2001 (spectral clustering); Kuhn 1955 (Hungarian matching)",
            options: optionSpecs, defaultWeight: 1
        ) { options, context in
            let space = try options.string("space", default: optionSpecs.defaultString("space"))
            return ClusterMatchStrategy(
                neighbours: try options.int("neighbours", default: Int(number("neighbours"))),
                space: Space(rawValue: space) ?? .input,
                warmup: try options.float("warmup", default: Float(number("warmup"))),
                maxRows: try options.int("maxRows", default: Int(number("maxRows"))),
                rng: context.rng)
        }
    }
}
