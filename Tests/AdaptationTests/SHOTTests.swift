import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore
import TestSupport
import XCTest

/// A source whose reads are counted: a source-free phase must never read it.
private final class CountingSource: BatchSource {
    let x: Tensor
    private(set) var reads = 0
    init(_ x: Tensor) { self.x = x }
    var count: Int { x.shape[0] }
    var sampleShape: [Int] { Array(x.shape.dropFirst()) }
    var blockRows: Int { count }
    func inputs(rows: [Int]) throws -> Tensor {
        reads += 1
        return x.gathering(rows: rows)
    }
}

/// Information maximisation and SHOT (Liang, Hu, Feng, ICML 2020): hand-computed IM value and
/// gradient, finite differences, the centroid pseudo-labels on a tiny example, the source-free
/// trainer (no source row read, classifier unchanged), and SHOT beating source-only on moons.
final class SHOTTests: XCTestCase {
    private let ln3 = Float(Foundation.log(3.0))

    // MARK: - Information maximisation by hand

    func testInformationMaximizationByHand() {
        // Rows (ln 3, 0) → p = (0.75, 0.25), (0, 0) → (0.5, 0.5).
        // H(p1) = −(0.75 ln 0.75 + 0.25 ln 0.25) = 0.562335, H(p2) = ln 2 = 0.693147: mean 0.627741.
        // p̄ = (0.625, 0.375): H(p̄) = −(0.625 ln 0.625 + 0.375 ln 0.375) = 0.661563.
        // L = 0.627741 − 0.661563 = −0.033822 (ε = 0); with ε = 1e-5, H_ε(p̄) = 0.661543, L = −0.033802.
        let z = Variable(Tensor([[ln3, 0], [0, 0]]))
        XCTAssertEqual(informationMaximizationLoss(targetLogits: z, epsilon: 0).value.scalar, -0.033822, accuracy: 1e-5)
        XCTAssertEqual(informationMaximizationLoss(targetLogits: z).value.scalar, -0.033802, accuracy: 1e-5)
        XCTAssertEqual(predictionDiversity(targetLogits: z, epsilon: 0).value.scalar, 0.661563, accuracy: 1e-5)
        // diversityWeight 0 is entropy minimisation.
        XCTAssertEqual(informationMaximizationLoss(targetLogits: z, diversityWeight: 0).value.scalar, 0.627741, accuracy: 1e-5)

        let strategy = InformationMaximizationStrategy(epsilon: 0)
        let batch = StrategyBatch(
            sourceFeatures: Variable(Tensor([[1, 2]])), targetFeatures: Variable(Tensor([[0, 1], [1, 0]])),
            sourceLogits: Variable(Tensor([[0, 0]])), targetLogits: z, sourceLabels: [0])
        let result = strategy.loss(batch, context: .inference())
        XCTAssertEqual(result.value.value.scalar, -0.033822, accuracy: 1e-5)
        XCTAssertEqual(result.terms["entropy"]!, 0.627741, accuracy: 1e-5)
        XCTAssertEqual(result.terms["diversity"]!, 0.661563, accuracy: 1e-5)
    }

    func testInformationMaximizationGradientByHand() {
        // ∂L/∂z_ij = (1/B) [ −p_ij (log p_ij + H_i) + p_ij (log p̄_j − Σ_k p_ik log p̄_k) ]   (ε = 0)
        // Row 1: p = (0.75, 0.25), H = 0.562335, log p̄ = (−0.470004, −0.980829), Σ_k p_k log p̄_k = −0.597710:
        //   entropy part  −0.75 (−0.287682 + 0.562335) = −0.205990 (and +0.205990)
        //   diversity part 0.75 (−0.470004 + 0.597710) =  0.095780 (and −0.095780)
        //   → (−0.110210, 0.110210) / 2 = (−0.055105, 0.055105)
        // Row 2: p = (0.5, 0.5): entropy part 0; diversity 0.5 (−0.470004 + 0.725417) = 0.127706 → (0.063853, −0.063853).
        let z = Variable(Tensor([[ln3, 0], [0, 0]]), requiresGradient: true)
        let g = gradients(of: informationMaximizationLoss(targetLogits: z, epsilon: 0), withRespectTo: [z])[0]
        for (a, b) in zip(g.scalars, [-0.055105, 0.055105, 0.063853, -0.063853] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testInformationMaximizationGradientMatchesFiniteDifferences() {
        let logits = Fixtures.tensor([6, 3], seed: 31, scale: 1.5)
        let bad = GradientCheck.mismatches(inputs: [logits], step: 1e-2, rtol: 3e-2, atol: 1e-3) { v in
            informationMaximizationLoss(targetLogits: v[0])
        }
        XCTAssertTrue(bad.isEmpty, "\(bad.prefix(4))")
        let shot = SHOTStrategy()
        let bad2 = GradientCheck.mismatches(inputs: [logits], step: 1e-2, rtol: 3e-2, atol: 1e-3) { v in
            shot.loss(
                StrategyBatch(
                    sourceFeatures: Variable(.zeros([0, 3])), targetFeatures: v[0], sourceLogits: Variable(.zeros([0, 3])), targetLogits: v[0],
                    sourceLabels: []),
                context: .inference()
            ).value
        }
        XCTAssertTrue(bad2.isEmpty, "\(bad2.prefix(4))")
    }

    // MARK: - Centroid pseudo-labels by hand

    func testCentroidPseudoLabelsByHand() {
        // 1-D features f = −2, −1, 1, 2 → f̂ = [f, 1]/‖·‖: (−0.894427, 0.447214), (−0.707107, 0.707107),
        // (0.707107, 0.707107), (0.894427, 0.447214). The classifier says class 0 for the third row (0.55).
        // Soft centroids c_k = Σ_i P_ik f̂_i / Σ_i P_ik: c0 = (−0.349254, 0.586226), c1 = (0.405890, 0.566624).
        // Cosine distances of row 3: to c0 0.754441, to c1 0.013385 → class 1 (the feature geometry
        // overrules the classifier). Labels (0, 0, 1, 1); hard centroids (∓0.800767, 0.577160) keep them.
        let features = Tensor([[-2], [-1], [1], [2]])
        let probabilities = Tensor([[0.9, 0.1], [0.6, 0.4], [0.55, 0.45], [0.1, 0.9]])
        XCTAssertEqual(probabilities.argmax(axis: 1), [0, 0, 0, 1])
        XCTAssertEqual(shotCentroidPseudoLabels(features: features, probabilities: probabilities), [0, 0, 1, 1])
    }

    func testCentroidPseudoLabelsUseOnlyPredictedClassesAndRefine() {
        // Five rows, three classes; no row predicts class 2 (arg-max), so it is not a candidate (the
        // authors' labelset). Without that rule, the fifth row (f = 0, f̂ = (0, 1)) would go to class 2,
        // whose soft centroid (0.033672, 0.766039) is nearest (distance 0.000965); with it, its
        // distances are 0.124352 (class 0) and 0.209554 (class 1) → 0. Refinement: hard centroids
        // c0 = mean of rows 1, 2, 5 = (−0.533845, 0.718107), c1 = (0.800767, 0.577160); labels unchanged.
        let features = Tensor([[-2], [-1], [1], [2], [0]])
        let probabilities = Tensor([[0.9, 0.05, 0.05], [0.6, 0.1, 0.3], [0.45, 0.2, 0.35], [0.1, 0.85, 0.05], [0.3, 0.4, 0.3]])
        XCTAssertEqual(shotCentroidPseudoLabels(features: features, probabilities: probabilities), [0, 0, 1, 1, 0])
    }

    func testCentroidPseudoLabelsOnRandomDataStayAmongPredictedClasses() {
        // 40 random rows, 4 classes: every label is a class some row predicts, and the labels are
        // (nearly) a fixed point of one more hard-centroid round, as the refinement intends.
        var rng = SeededGenerator(seed: 5)
        let features = Tensor.normal([40, 3], std: 1, rng: &rng)
        let probabilities = Tensor.normal([40, 4], std: 2, rng: &rng).softmax(axis: 1)
        let labels = shotCentroidPseudoLabels(features: features, probabilities: probabilities)
        XCTAssertEqual(labels.count, 40)
        let predicted = Set(probabilities.argmax(axis: 1))
        XCTAssertTrue(Set(labels).isSubset(of: predicted), "labels only among predicted classes")
        let again = shotCentroidPseudoLabels(features: features, probabilities: Tensor.oneHot(labels, classCount: 4))
        XCTAssertGreaterThanOrEqual(zip(labels, again).filter { $0 == $1 }.count, 36)
    }

    // MARK: - Source-free trainer

    /// Moons with the training source behind a counting source, a held-out source for evaluation.
    private func sourceFreeData(seed: UInt64) -> (TrainingData, CountingSource) {
        let moons = Fixtures.moons(seed: seed)
        let counting = CountingSource(moons.source.x)
        let data = TrainingData(
            source: LabelledDomain(inputs: counting, labels: moons.source.y!), target: InMemorySource(moons.target.x),
            targetLabels: moons.target.y,
            sourceValidation: LabelledDomain(inputs: InMemorySource(moons.source.x), labels: moons.source.y!),
            targetTest: moons.targetTest.map { (InMemorySource($0.x), $0.y) }, classNames: moons.classNames, shiftDescription: "test")
        return (data, counting)
    }

    func testSHOTReadsNoSourceBatchAndKeepsTheClassifier() throws {
        let (data, counting) = sourceFreeData(seed: 0)
        let model = Fixtures.model(seed: 0)
        let classifierBefore = model.parameters.filter { $0.path.hasPrefix("classifier") }.map { $0.parameter.value }
        let featuresBefore = model.parameters.filter { $0.path.hasPrefix("features") }.map { $0.parameter.value }
        let configuration = TrainerConfiguration(
            epochs: 3, batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 0.05, momentum: 0.9), seed: 0)
        let term = try StrategyRegistry.builtIn.makeTerm("shot", context: Fixtures.context(model))
        var boundaries: [[String: Double]] = []
        let result = try Trainer(model: model, data: data, configuration: configuration, strategies: [term]).run(observer: { event in
            if case .boundary(_, _, let diagnostics) = event { boundaries.append(diagnostics) }
        })
        XCTAssertEqual(counting.reads, 0, "a source-free run reads no source row")
        XCTAssertEqual(result.steps, 3 * ((data.target.count + 31) / 32), "an epoch is one pass over the target pool")
        let classifierAfter = model.parameters.filter { $0.path.hasPrefix("classifier") }.map { $0.parameter.value }
        XCTAssertEqual(classifierAfter, classifierBefore, "the classifier is frozen")
        let featuresAfter = model.parameters.filter { $0.path.hasPrefix("features") }.map { $0.parameter.value }
        XCTAssertNotEqual(featuresAfter, featuresBefore, "the feature extractor trains")
        for epoch in result.epochs {
            XCTAssertNil(epoch.losses["source.crossEntropy"])
            XCTAssertNotNil(epoch.losses["shot.pseudoLabel"])
            XCTAssertEqual(epoch.losses["total"]!, epoch.losses["shot"]!, accuracy: 1e-5)
        }
        // Pseudo-labels every epoch, scored by the evaluator.
        XCTAssertEqual(boundaries.count, 3)
        XCTAssertNotNil(boundaries.first?["keptAccuracy"])
        XCTAssertEqual(boundaries.first?["changed"], 1)
    }

    func testSourceFreeRunRefusesSourceStrategiesAndGrants() throws {
        let model = Fixtures.model(seed: 0)
        let registry = StrategyRegistry.builtIn
        let configuration = TrainerConfiguration(epochs: 1, batchSize: 32, seed: 0)
        let terms = [try registry.makeTerm("shot", context: Fixtures.context(model)), try registry.makeTerm("dann", context: Fixtures.context(model))]
        XCTAssertThrowsError(try Trainer(model: model, dataset: Fixtures.moons(), configuration: configuration, strategies: terms).run()) { error in
            XCTAssertTrue("\(error)".contains("dann uses source data"), "\(error)")
        }
        var granting = configuration
        granting.targetLabels = .perClass(2)
        let shot = [try registry.makeTerm("shot", context: Fixtures.context(model))]
        XCTAssertThrowsError(try Trainer(model: model, dataset: Fixtures.moons(), configuration: granting, strategies: shot).run())
        // IM alone keeps the source cross-entropy (it is not source-free).
        let im = [try registry.makeTerm("informationMaximization", context: Fixtures.context(model))]
        let result = try Trainer(model: model, dataset: Fixtures.moons(), configuration: configuration, strategies: im).run()
        XCTAssertNotNil(result.epochs[0].losses["source.crossEntropy"])
        XCTAssertNotNil(result.epochs[0].losses["informationMaximization.diversity"])
    }

    func testRegistryEntries() throws {
        let registry = StrategyRegistry.builtIn
        let docs = registry.documentation(names: ["informationMaximization", "shot"])
        for text in ["beta", "= 0.3", "diversityWeight", "ICML 2020"] { XCTAssertTrue(docs.contains(text), "\(text) missing from:\n\(docs)") }
        let context = StrategyContext(featureSize: 15, classCount: 2, rng: SeededGenerator(seed: 0))
        let shot = try registry.make("shot", options: StrategyOptions(), context: context) as! SHOTStrategy
        XCTAssertEqual(shot.beta, 0.3)
        XCTAssertFalse(shot.usesSourceData)
        XCTAssertThrowsError(try registry.make("shot", options: StrategyOptions(["beta": .number(-1)]), context: context))
        XCTAssertTrue(try registry.make("informationMaximization", options: StrategyOptions(), context: context).usesSourceData)
    }

    // MARK: - Moons

    /// Source-only (100 epochs, as in StrategyMoonsTests), then SHOT's target phase from those
    /// weights (source-free, head frozen), 30 epochs; mean target accuracy over seeds 0–4.
    ///
    /// On moons the centroid pseudo-labels fail: the two moons are not convex clusters, and nearest
    /// cosine centroid in the 15-unit ReLU features labels about a third of the target correctly
    /// (a numpy reimplementation on the same checkpoint agrees), so β = 0.3 pulls the model below
    /// source-only. The information-maximisation part alone (β = 0) is what helps here; digits,
    /// where classes do cluster, is checked with the paper's β in RecipePhasesTests.
    private func moonsAccuracies(beta: Float) throws -> (sourceOnly: Double, shot: Double) {
        var before = 0.0, after = 0.0
        let seeds: [UInt64] = [0, 1, 2, 3, 4]
        for seed in seeds {
            let data = MoonsGenerator.make(samplesPerClass: 150, rotationDegrees: 35, testSamplesPerClass: 250, seed: seed)
            let model = Fixtures.model(seed: seed, hidden: [32])
            let source = try StrategyRegistry.builtIn.makeTerm("sourceOnly", context: Fixtures.context(model, seed: seed))
            let sgd = OptimizerConfiguration(learningRate: 0.02, momentum: 0.9)
            let sourceResult = try Trainer(
                model: model, dataset: data, configuration: TrainerConfiguration(epochs: 100, batchSize: 32, optimizer: sgd, seed: seed, evaluationInterval: 100),
                strategies: [source]
            ).run()
            let shot = try StrategyRegistry.builtIn.makeTerm(
                "shot", options: StrategyOptions(["beta": .number(Double(beta))]), context: Fixtures.context(model, seed: seed))
            let shotResult = try Trainer(
                model: model, dataset: data,
                configuration: TrainerConfiguration(
                    epochs: 30, batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 0.01, momentum: 0.9), seed: seed, evaluationInterval: 30),
                strategies: [shot]
            ).run()
            before += sourceResult.finalTarget!.accuracy / Double(seeds.count)
            after += shotResult.finalTarget!.accuracy / Double(seeds.count)
        }
        return (before, after)
    }

    func testSHOTInformationMaximizationBeatsSourceOnlyOnRotatedMoons() throws {
        let (sourceOnly, shot) = try moonsAccuracies(beta: 0)
        XCTAssertGreaterThan(shot, sourceOnly + 0.03, "shot (β = 0) \(shot) vs source-only \(sourceOnly)")
    }

    func testSHOTCentroidPseudoLabelsHurtOnMoons() throws {
        // The known failure above, kept visible: if it starts to pass the other way, the docs must change.
        let (sourceOnly, shot) = try moonsAccuracies(beta: 0.3)
        XCTAssertLessThan(shot, sourceOnly, "shot (β = 0.3) \(shot) vs source-only \(sourceOnly)")
    }
}
