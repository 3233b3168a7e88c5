import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore
import TestSupport
import XCTest

/// Cluster-and-match self-training and its parts: the symmetric eigen-decomposition, the
/// k-nearest-neighbour graph, k-means, spectral clustering, the Hungarian matching (against every
/// permutation), the column-normalised cluster → class matching by hand, the strategy's labels,
/// loss and gradient, and the strategy beating source-only on moons rotated by 50°.
final class ClusterMatchTests: XCTestCase {
    // MARK: - Parts

    func testEigenvectorsOfATwoByTwoMatrixByHand() throws {
        // [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvector of 3 is (1, 1)/√2 (up to sign).
        let (values, vectors) = try symmetricEigenvectors([2, 1, 1, 2], n: 2, largest: 1)
        XCTAssertEqual(values.count, 1)
        XCTAssertEqual(values[0], 3, accuracy: 1e-12)
        XCTAssertEqual(abs(vectors[0]), 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(vectors[0], vectors[1], accuracy: 1e-12)
        let both = try symmetricEigenvectors([2, 1, 1, 2], n: 2, largest: 2)
        XCTAssertEqual(both.values[0], 1, accuracy: 1e-12)
        XCTAssertEqual(both.values[1], 3, accuracy: 1e-12)
    }

    func testEigenvectorsSatisfyTheirEquationOnARandomMatrix() throws {
        let n = 7, k = 3
        var rng = SeededGenerator(seed: 3)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n { let v = Double.random(in: -1...1, using: &rng); a[i * n + j] = v; a[j * n + i] = v } }
        let (values, vectors) = try symmetricEigenvectors(a, n: n, largest: k)
        XCTAssertEqual(values, values.sorted(), "ascending")
        for c in 0..<k {
            var norm = 0.0
            for i in 0..<n {
                var av = 0.0
                for j in 0..<n { av += a[i * n + j] * vectors[j * k + c] }
                XCTAssertEqual(av, values[c] * vectors[i * k + c], accuracy: 1e-9, "A v = λ v, row \(i) of vector \(c)")
                norm += vectors[i * k + c] * vectors[i * k + c]
            }
            XCTAssertEqual(norm, 1, accuracy: 1e-9)
        }
        // The largest: no eigenvalue of A exceeds them (the trace check: all n values sum to the trace).
        let all = try symmetricEigenvectors(a, n: n, largest: n)
        XCTAssertEqual(all.values.reduce(0, +), (0..<n).reduce(0) { $0 + a[$1 * n + $1] }, accuracy: 1e-9)
        for (x, y) in zip(all.values.suffix(k), values) { XCTAssertEqual(x, y, accuracy: 1e-9) }
    }

    func testNearestNeighbourAffinityByHand() {
        // Points 0, 1, 3, 10 on a line, one neighbour each: 0→1, 1→0, 3→1, 10→3.
        let points = Tensor(shape: [4, 1], scalars: [0, 1, 3, 10])
        let w = nearestNeighbourAffinity(points: points, neighbours: 1)
        let expected: [Double] = [
            0, 1, 0, 0,
            1, 0, 0.5, 0,
            0, 0.5, 0, 0.5,
            0, 0, 0.5, 0,
        ]
        XCTAssertEqual(w, expected)
        // A tie (1 is as far from 0 as from 2) goes to the lower index.
        let tie = nearestNeighbourAffinity(points: Tensor(shape: [3, 1], scalars: [0, 1, 2]), neighbours: 1)
        XCTAssertEqual(tie[1 * 3 + 0], 1, "1 → 0 (and 0 → 1)")
        XCTAssertEqual(tie[1 * 3 + 2], 0.5, "only 2 → 1")
    }

    func testKMeansSeparatesTwoGroupsAndRepeatsWithTheSameSeed() {
        let rows: [Double] = [0, 0, 0.1, 0, 0, 0.1, 5, 5, 5.1, 5, 5, 5.1]
        var rng = SeededGenerator(seed: 1)
        let (labels, inertia) = kMeans(rows, n: 6, d: 2, clusters: 2, rng: &rng)
        XCTAssertEqual(Set(labels[0..<3]).count, 1)
        XCTAssertEqual(Set(labels[3..<6]).count, 1)
        XCTAssertNotEqual(labels[0], labels[3])
        // Each group: centre (1/30, 1/30) from its corner; squared distances 2/900 + 2·(5/900).
        XCTAssertEqual(inertia, 2 * (2.0 / 900 + 2 * 5.0 / 900), accuracy: 1e-12)
        var again = SeededGenerator(seed: 1)
        XCTAssertEqual(kMeans(rows, n: 6, d: 2, clusters: 2, rng: &again).labels, labels)
    }

    func testSpectralClusteringFollowsTheMoonsWhereKMeansCannot() throws {
        let moons = MoonsGenerator.make(samplesPerClass: 150, rotationDegrees: 50, testSamplesPerClass: 10, seed: 0)
        let x = moons.target.x, y = moons.target.y!
        var rng = SeededGenerator(seed: 0)
        let clusters = try spectralClustering(points: x, clusters: 2, neighbours: 5, rng: &rng)
        func purity(_ labels: [Int]) -> Double {
            let same = zip(labels, y).filter { $0 == $1 }.count
            return Double(Swift.max(same, labels.count - same)) / Double(labels.count)
        }
        XCTAssertEqual(purity(clusters), 1, "each moon is one cluster")
        var rows = [Double](repeating: 0, count: x.count)
        for i in 0..<x.count { rows[i] = Double(x.scalars[i]) }
        var rng2 = SeededGenerator(seed: 0)
        XCTAssertLessThan(purity(kMeans(rows, n: x.shape[0], d: 2, clusters: 2, rng: &rng2).labels), 0.95, "k-means on the inputs cuts the moons")
    }

    func testHungarianAssignmentMatchesEveryPermutation() {
        func permutations(_ n: Int) -> [[Int]] {
            guard n > 0 else { return [[]] }
            return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
        }
        var rng = SeededGenerator(seed: 11)
        for n in 1...6 {
            for _ in 0..<20 {
                let cost = (0..<n).map { _ in (0..<n).map { _ in Double(Int.random(in: 0..<5, using: &rng)) } }
                let assignment = hungarianAssignment(cost: cost)
                XCTAssertEqual(Set(assignment).count, n, "one-to-one")
                let total = assignment.enumerated().reduce(0) { $0 + cost[$1.offset][$1.element] }
                let best = permutations(n).map { p in p.enumerated().reduce(0) { $0 + cost[$1.offset][$1.element] } }.min()!
                XCTAssertEqual(total, best, "cost \(cost)")
            }
        }
        XCTAssertEqual(hungarianAssignment(cost: [[4, 1, 3], [2, 0, 5], [3, 2, 2]]), [1, 0, 2])
    }

    func testClusterMatchingIsOneToOneAndNormalisedPerClass() {
        // Cluster 0: rows (0.9, 0.1), (0.8, 0.2); cluster 1: rows (0.6, 0.4), (0.7, 0.3). Both clusters
        // predict class 0 most. Masses: cluster 0 (1.7, 0.3), cluster 1 (1.3, 0.7); per class:
        // class 0 → (1.7/3, 1.3/3), class 1 → (0.3, 0.7). Identity 1.7/3 + 0.7 = 1.267 beats the swap
        // 0.3 + 1.3/3 = 0.733.
        let p = Tensor(shape: [4, 2], scalars: [0.9, 0.1, 0.8, 0.2, 0.6, 0.4, 0.7, 0.3])
        XCTAssertEqual(matchClustersToClasses(clusters: [0, 0, 1, 1], clusterCount: 2, probabilities: p), [0, 1])
        XCTAssertEqual(matchClustersToClasses(clusters: [1, 1, 0, 0], clusterCount: 2, probabilities: p), [1, 0])
        // Per-class normalisation decides: masses cluster 0 (1.0, 1.0), cluster 1 (1.8, 0.2); per class
        // class 0 → (1/2.8, 1.8/2.8), class 1 → (1/1.2, 0.2/1.2). The swap 0.833 + 0.643 beats the
        // identity 0.357 + 0.167, so the cluster where class 1 has most of its mass is class 1.
        let q = Tensor(shape: [4, 2], scalars: [0.5, 0.5, 0.5, 0.5, 0.9, 0.1, 0.9, 0.1])
        XCTAssertEqual(matchClustersToClasses(clusters: [0, 0, 1, 1], clusterCount: 2, probabilities: q), [1, 0])
    }

    // MARK: - The strategy

    private func boundary(_ model: AdaptationModel, pool: Tensor, progress: Float, epoch: Int = 0) -> EpochBoundary {
        EpochBoundary(epoch: epoch, epochs: 10, progress: progress, model: model, targetPool: TargetPool(InMemorySource(pool)))
    }

    /// In a learned space the clusters are recomputed every epoch from a generator named after the
    /// epoch: a run resumed at epoch 5 clusters as the uninterrupted run did at epoch 5.
    func testLearnedSpaceClustersDependOnlyOnTheEpochAndTheModel() throws {
        let data = Fixtures.moons(seed: 1, rotation: 50)
        let model = Fixtures.model(seed: 1)
        let setup = TrainingSetup(
            model: model, source: LabelledDomain(inputs: InMemorySource(data.source.x), labels: data.source.y!),
            target: TargetPool(InMemorySource(data.target.x)), granted: GrantedLabels.none)
        func strategy() throws -> ClusterMatchStrategy {
            let s = ClusterMatchStrategy(space: .features, warmup: 0, rng: SeededGenerator(seed: 4))
            try s.prepare(setup)
            return s
        }
        let uninterrupted = try strategy(), resumed = try strategy()
        for epoch in 3...5 { _ = try uninterrupted.epochBoundary(boundary(model, pool: data.target.x, progress: Float(epoch) / 10, epoch: epoch)) }
        _ = try resumed.epochBoundary(boundary(model, pool: data.target.x, progress: 0.5, epoch: 5))
        XCTAssertEqual(resumed.clusters, uninterrupted.clusters)
        XCTAssertEqual(resumed.pseudoLabels, uninterrupted.pseudoLabels)
    }

    func testNoLabelsBeforeTheWarmupThenClusterLabelsMatchedToThePredictions() throws {
        let data = Fixtures.moons(seed: 0, rotation: 50)
        let model = Fixtures.model(seed: 0)
        let strategy = ClusterMatchStrategy(warmup: 0.3, rng: SeededGenerator(seed: 0))
        try strategy.prepare(TrainingSetup(
            model: model, source: LabelledDomain(inputs: InMemorySource(data.source.x), labels: data.source.y!),
            target: TargetPool(InMemorySource(data.target.x)), granted: GrantedLabels.none))
        XCTAssertTrue(try strategy.epochBoundary(boundary(model, pool: data.target.x, progress: 0.2)).isEmpty)
        XCTAssertTrue(strategy.pseudoLabels.isEmpty)
        let report = try strategy.epochBoundary(boundary(model, pool: data.target.x, progress: 0.3))
        XCTAssertEqual(strategy.pseudoLabels.count, data.target.x.shape[0])
        XCTAssertEqual(report.pseudoLabels.count, data.target.x.shape[0])
        XCTAssertEqual(report.diagnostics["changed"], 1)
        // The labels are the clusters renamed by the matching of this model's predictions.
        let classOfCluster = matchClustersToClasses(
            clusters: strategy.clusters, clusterCount: 2, probabilities: model.probabilities(data.target.x))
        XCTAssertEqual(strategy.pseudoLabels, strategy.clusters.map { classOfCluster[$0] })
        // Each moon is one cluster: the labels agree with the truth or with its swap everywhere.
        let agree = zip(strategy.pseudoLabels, data.target.y!).filter { $0 == $1 }.count
        XCTAssertTrue(agree == 0 || agree == data.target.y!.count, "\(agree) of \(data.target.y!.count)")
        // In input space the clusters are kept; a second boundary only re-matches.
        let clusters = strategy.clusters
        let second = try strategy.epochBoundary(boundary(model, pool: data.target.x, progress: 0.4))
        XCTAssertEqual(strategy.clusters, clusters)
        XCTAssertEqual(second.diagnostics["changed"], 0)
    }

    func testLossIsTheCrossEntropyToTheBatchRowsLabelsWithItsGradient() throws {
        let pool = Tensor(shape: [6, 1], scalars: [0, 0.1, 0.2, 5, 5.1, 5.2])
        let model = Fixtures.model(seed: 0, inputSize: 1)
        let strategy = ClusterMatchStrategy(neighbours: 2, warmup: 0, rng: SeededGenerator(seed: 0))
        try strategy.prepare(TrainingSetup(
            model: model, source: LabelledDomain(inputs: InMemorySource(pool), labels: [0, 0, 0, 1, 1, 1]),
            target: TargetPool(InMemorySource(pool)), granted: GrantedLabels.none))
        func batch(_ logits: Variable, rows: [Int]) -> StrategyBatch {
            StrategyBatch(
                sourceFeatures: Variable(.zeros([0, 2])), targetFeatures: logits, sourceLogits: Variable(.zeros([0, 2])), targetLogits: logits,
                sourceLabels: [], targetIndices: rows)
        }
        let z = Tensor(shape: [2, 2], scalars: [Float(Foundation.log(3.0)), 0, 0, 0])
        XCTAssertEqual(strategy.loss(batch(Variable(z), rows: [0, 3]), context: .inference()).value.value.scalar, 0, "no labels yet: no loss")
        _ = try strategy.epochBoundary(boundary(model, pool: pool, progress: 0))
        let labels = strategy.pseudoLabels
        XCTAssertEqual(Set(labels[0..<3]).count, 1)
        XCTAssertEqual(Set(labels[3..<6]).count, 1)
        XCTAssertNotEqual(labels[0], labels[3])
        // Row 0: logits (ln 3, 0) → softmax (3/4, 1/4); row 3: (0, 0) → (1/2, 1/2).
        let expected = (-Foundation.log(labels[0] == 0 ? 0.75 : 0.25) + Foundation.log(2.0)) / 2
        let loss = strategy.loss(batch(Variable(z), rows: [0, 3]), context: .inference())
        XCTAssertEqual(Double(loss.value.value.scalar), expected, accuracy: 1e-6)
        XCTAssertNotNil(loss.terms["clusterLabel"])
        let bad = GradientCheck.mismatches(inputs: [Fixtures.tensor([4, 2], seed: 5, scale: 1.5)], step: 1e-2, rtol: 3e-2, atol: 1e-3) { v in
            strategy.loss(batch(v[0], rows: [0, 2, 4, 5]), context: .inference()).value
        }
        XCTAssertTrue(bad.isEmpty, "\(bad.prefix(4))")
    }

    func testPoolsLargerThanMaxRowsAreClusteredOnASampleAndEveryRowIsLabelled() throws {
        // Two blobs of 30 rows each, 10 clustered: the other rows take their nearest clustered row's cluster.
        var scalars: [Float] = []
        for i in 0..<60 { scalars += [i < 30 ? Float(i) * 0.01 : 10 + Float(i) * 0.01, 0] }
        let pool = Tensor(shape: [60, 2], scalars: scalars)
        let model = Fixtures.model(seed: 0)
        let strategy = ClusterMatchStrategy(neighbours: 3, warmup: 0, maxRows: 10, rng: SeededGenerator(seed: 0))
        XCTAssertEqual(strategy.clusteredRows(count: 60), [0, 6, 12, 18, 24, 30, 36, 42, 48, 54])
        try strategy.prepare(TrainingSetup(
            model: model, source: LabelledDomain(inputs: InMemorySource(pool), labels: [Int](repeating: 0, count: 60)),
            target: TargetPool(InMemorySource(pool)), granted: GrantedLabels.none))
        _ = try strategy.epochBoundary(boundary(model, pool: pool, progress: 0))
        XCTAssertEqual(Set(strategy.clusters[0..<30]).count, 1)
        XCTAssertEqual(Set(strategy.clusters[30..<60]).count, 1)
        XCTAssertNotEqual(strategy.clusters[0], strategy.clusters[30])
    }

    func testRegistryEntryOptionsAndATooSmallPool() throws {
        let registry = StrategyRegistry.builtIn
        let docs = registry.documentation(names: ["clusterMatch"])
        for text in ["neighbours", "= 5", "space", "= input", "warmup", "maxRows", "Ng, Jordan & Weiss"] {
            XCTAssertTrue(docs.contains(text), "\(text) missing from:\n\(docs)")
        }
        let context = StrategyContext(featureSize: 15, classCount: 2, rng: SeededGenerator(seed: 0))
        let made = try registry.make("clusterMatch", options: StrategyOptions(["space": .string("features"), "neighbours": .number(7)]), context: context)
        let strategy = try XCTUnwrap(made as? ClusterMatchStrategy)
        XCTAssertEqual(strategy.space, .features)
        XCTAssertEqual(strategy.neighbours, 7)
        XCTAssertTrue(strategy.usesSourceData)
        XCTAssertThrowsError(try registry.make("clusterMatch", options: StrategyOptions(["space": .string("pixels")]), context: context))
        XCTAssertThrowsError(try registry.make("clusterMatch", options: StrategyOptions(["warmup": .number(1)]), context: context))
        XCTAssertThrowsError(try registry.make("clusterMatch", options: StrategyOptions(["neighbours": .number(0)]), context: context))
        // A pool of 4 rows cannot have 5 neighbours per row: a clear error before training.
        let model = Fixtures.model(seed: 0)
        let tiny = Tensor(shape: [4, 2], scalars: [0, 0, 1, 0, 0, 1, 1, 1])
        let small = ClusterMatchStrategy(rng: SeededGenerator(seed: 0))
        XCTAssertThrowsError(try small.prepare(TrainingSetup(
            model: model, source: LabelledDomain(inputs: InMemorySource(tiny), labels: [0, 1, 0, 1]),
            target: TargetPool(InMemorySource(tiny)), granted: GrantedLabels.none))) { error in
            XCTAssertTrue("\(error)".contains("neighbours"), "\(error)")
        }
    }

    /// Moons rotated by 50° (the hardest moons of the peers benchmark): the 2-15-2 ReLU net, SGD
    /// 0.05 momentum 0.9, 60 epochs of batches of 32, seeds 0–2. Source-only stays near 60 %;
    /// cluster-and-match labels each moon as a whole.
    func testClusterMatchBeatsSourceOnlyOnMoonsRotatedBy50Degrees() throws {
        func mean(_ name: String) throws -> Double {
            var total = 0.0
            let seeds: [UInt64] = [0, 1, 2]
            for seed in seeds {
                let data = Fixtures.moons(seed: seed, rotation: 50)
                let model = Fixtures.model(seed: seed)
                let term = try StrategyRegistry.builtIn.makeTerm(name, context: Fixtures.context(model, seed: seed))
                let configuration = TrainerConfiguration(
                    epochs: 60, batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 0.05, momentum: 0.9), seed: seed, evaluationInterval: 60)
                total += try Trainer(model: model, dataset: data, configuration: configuration, strategies: [term]).run().finalTarget!.accuracy
            }
            return total / Double(seeds.count)
        }
        let sourceOnly = try mean("sourceOnly"), clusterMatch = try mean("clusterMatch")
        XCTAssertGreaterThan(clusterMatch, 0.95, "clusterMatch \(clusterMatch)")
        XCTAssertGreaterThan(clusterMatch, sourceOnly + 0.15, "clusterMatch \(clusterMatch) vs source-only \(sourceOnly)")
    }
}
