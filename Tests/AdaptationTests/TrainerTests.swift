import Adaptation
import HDF5Kit
import NN
import TensorCore
import XCTest

final class TrainerTests: XCTestCase {
    private func sourceOnlyRun(seed: UInt64, epochs: Int = 20) throws -> TrainingResult {
        let data = Fixtures.moons(seed: seed)
        let model = Fixtures.model(seed: seed)
        let configuration = TrainerConfiguration(
            epochs: epochs, batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 0.05, momentum: 0.9), seed: seed)
        let trainer = Trainer(model: model, dataset: data, configuration: configuration, strategies: [StrategyTerm(SourceOnlyStrategy())])
        return try trainer.run()
    }

    func testSourceOnlyLearnsMoons() throws {
        let result = try sourceOnlyRun(seed: 1)
        XCTAssertEqual(result.epochs.count, 20)
        XCTAssertEqual(result.steps, 20 * 10)
        XCTAssertEqual(result.sourceEvaluationSplit, "sourceValidation")
        XCTAssertEqual(result.targetEvaluationSplit, "targetTest")
        XCTAssertGreaterThan(result.finalSource.accuracy, 0.95, "source-only should fit the source moons")
        XCTAssertNotNil(result.finalTarget)
        let first = result.epochs.first!.losses["source.crossEntropy"]!
        let last = result.epochs.last!.losses["source.crossEntropy"]!
        XCTAssertLessThan(last, first * 0.5)
    }

    func testSameSeedSameNumbers() throws {
        let a = try sourceOnlyRun(seed: 3, epochs: 5)
        let b = try sourceOnlyRun(seed: 3, epochs: 5)
        XCTAssertEqual(a.epochs.map(\.losses), b.epochs.map(\.losses))
        XCTAssertEqual(a.finalTarget, b.finalTarget)
        let c = try sourceOnlyRun(seed: 4, epochs: 5)
        XCTAssertNotEqual(a.epochs.map(\.losses), c.epochs.map(\.losses))
    }
}

/// A strategy whose loss becomes NaN at a given step (tests the non-finite stop).
private final class PoisonStrategy: AdaptationStrategy {
    let name = "poison"
    let step: Int
    init(step: Int) { self.step = step }
    func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let value: Float = batch.step >= step ? .nan : 0.1
        let loss = batch.targetFeatures.mean() * 0 + value
        return StrategyLoss(loss, terms: ["bad": value])
    }
}

final class TrainerBehaviourTests: XCTestCase {
    private let config = TrainerConfiguration(epochs: 3, batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 0.05), seed: 5)

    func testNonFiniteLossStopsAndKeepsLastGoodCheckpoint() throws {
        let model = Fixtures.model(seed: 0)
        let trainer = Trainer(model: model, dataset: Fixtures.moons(), configuration: config, strategies: [StrategyTerm(PoisonStrategy(step: 15))])
        var last: TrainingSnapshot?
        XCTAssertThrowsError(try trainer.run(checkpoint: { last = $0 })) { error in
            XCTAssertEqual(error as? TrainingError, .nonFinite(step: 15, strategy: "poison", term: "bad"))
            XCTAssertTrue("\(error)".contains("step 15"))
        }
        XCTAssertTrue(model.parameters.allSatisfy { $0.parameter.value.isFinite })
        // The last snapshot holds exactly the model's current (last good) state, at the failing step.
        let saved = try XCTUnwrap(last)
        XCTAssertEqual(saved.step, 15)
        XCTAssertEqual(saved.reason, "non-finite loss")
        let values = Dictionary(uniqueKeysWithValues: saved.parameters.map { ($0.path, $0.parameter.value) })
        for p in model.parameters { XCTAssertEqual(values[p.path], p.parameter.value, p.path) }
    }

    func testCompositionAddsWeightedTerms() throws {
        let model = Fixtures.model(seed: 1)
        let context = Fixtures.context(model)
        let registry = StrategyRegistry.builtIn
        let terms = [
            try registry.makeTerm("mmd", weight: 0.5, schedule: .constant, context: context),
            try registry.makeTerm("entropyMinimization", weight: 0.2, context: context),
            try registry.makeTerm("mmd", options: StrategyOptions(["kernel": .string("linear")]), weight: 0.1, context: context),
        ]
        let result = try Trainer(model: model, dataset: Fixtures.moons(), configuration: config, strategies: terms).run()
        for epoch in result.epochs {
            let l = epoch.losses
            let expected = l["source.crossEntropy"]! + 0.5 * l["mmd"]! + 0.2 * l["entropyMinimization"]! + 0.1 * l["mmd#2"]!
            XCTAssertEqual(l["total"]!, expected, accuracy: 1e-5 * max(1, abs(expected)))
        }
    }

    func testSelfTrainingComposesWithMMDAndReportsPseudoLabels() throws {
        let model = Fixtures.model(seed: 2, hidden: [32])
        let context = Fixtures.context(model)
        let registry = StrategyRegistry.builtIn
        var configuration = config
        configuration.epochs = 10
        var boundaries: [[String: Double]] = []
        let terms = [
            try registry.makeTerm("mmd", context: context),
            try registry.makeTerm("selfTraining", options: StrategyOptions(["rounds": .number(2), "warmup": .number(0.5)]), context: context),
        ]
        let result = try Trainer(model: model, dataset: Fixtures.moons(), configuration: configuration, strategies: terms).run(observer: { event in
            if case .boundary(_, let name, let diagnostics) = event, name == "selfTraining" { boundaries.append(diagnostics) }
        })
        XCTAssertEqual(boundaries.count, 2, "two rounds after a half-training warm-up")
        XCTAssertEqual(boundaries.map { $0["round"]! }, [1, 2])
        XCTAssertGreaterThan(boundaries[0]["kept"]!, 0)
        XCTAssertNotNil(boundaries[0]["keptAccuracy"], "moons targets have labels, for evaluation")
        XCTAssertNil(result.epochs[0].losses["selfTraining.pseudoLabel"], "no pseudo-labels during warm-up")
        XCTAssertNotNil(result.epochs.last!.losses["selfTraining.pseudoLabel"])
        XCTAssertNotNil(result.epochs.last!.losses["mmd"])
    }

    func testTargetOnlyNeedsTargetLabelsAndUsesThem() throws {
        var data = Fixtures.moons()
        let model = Fixtures.model(seed: 3)
        var longer = config
        longer.epochs = 10
        let result = try Trainer(model: model, dataset: data, configuration: longer, strategies: [StrategyTerm(TargetOnlyStrategy())]).run()
        XCTAssertEqual(result.grantedTargetLabels, data.target.count)
        XCTAssertNil(result.epochs[0].losses["source.crossEntropy"], "the oracle has no source term")
        XCTAssertGreaterThan(result.finalTarget!.accuracy, 0.9)
        data.target = DomainSplit(x: data.target.x, y: nil)
        XCTAssertThrowsError(try Trainer(model: model, dataset: data, configuration: config, strategies: [StrategyTerm(TargetOnlyStrategy())]).run()) {
            error in
            guard case .missingTargetLabels(let name, _)? = error as? StrategyError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "targetOnly")
        }
    }

    func testFineTuneFreezesAndTrainsOnGrantedTargetLabels() throws {
        // Pretrained weights are loaded by the caller (the runner's `pretrained:`), not by the strategy.
        let pretrained = Fixtures.model(seed: 4)
        _ = try Trainer(model: pretrained, dataset: Fixtures.moons(), configuration: config, strategies: []).run()
        let model = Fixtures.model(seed: 5)
        for (into, from) in zip(model.state, pretrained.state) { into.parameter.value = from.parameter.value }
        let head = model.classifier.parameters.map(\.parameter.value)
        var configuration = config
        configuration.targetLabels = .perClass(5)
        let strategy = try StrategyRegistry.builtIn.make(
            "fineTune", options: StrategyOptions(["freeze": .list([.string("features")])]), context: Fixtures.context(model))
        let result = try Trainer(model: model, dataset: Fixtures.moons(), configuration: configuration, strategies: [StrategyTerm(strategy)]).run()
        XCTAssertEqual(result.grantedTargetLabels, 10)
        XCTAssertNil(result.epochs[0].losses["source.crossEntropy"])
        XCTAssertNotNil(result.epochs[0].losses["target.crossEntropy"], "the one granted target cross-entropy")
        for (a, b) in zip(model.featureExtractor.parameters, pretrained.featureExtractor.parameters) {
            XCTAssertEqual(a.parameter.value, b.parameter.value, "frozen: \(a.path)")
        }
        XCTAssertNotEqual(model.classifier.parameters.map(\.parameter.value), head, "the head trains")
        XCTAssertThrowsError(
            try StrategyRegistry.builtIn.make("fineTune", options: StrategyOptions(["checkpoint": .string("w.h5")]), context: Fixtures.context(model)),
            "weights load in one place: the recipe's pretrained")

        var none = config
        none.targetLabels = .none
        XCTAssertThrowsError(try Trainer(model: Fixtures.model(seed: 6), dataset: Fixtures.moons(), configuration: none, strategies: [StrategyTerm(FineTuneStrategy())]).run())
    }

    func testGrantedTargetLabelsJoinTheObjective() throws {
        var configuration = config
        configuration.targetLabels = .perClass(3)
        let model = Fixtures.model(seed: 9)
        let term = try StrategyRegistry.builtIn.makeTerm("mmd", weight: 0.5, schedule: .constant, context: Fixtures.context(model))
        let result = try Trainer(model: model, dataset: Fixtures.moons(), configuration: configuration, strategies: [term]).run()
        XCTAssertEqual(result.grantedTargetLabels, 6)
        for epoch in result.epochs {
            let l = epoch.losses
            XCTAssertEqual(l["total"]!, l["source.crossEntropy"]! + l["target.crossEntropy"]! + 0.5 * l["mmd"]!, accuracy: 1e-5)
        }
        var unlabelled = Fixtures.moons()
        unlabelled.target = DomainSplit(x: unlabelled.target.x, y: nil)
        XCTAssertThrowsError(try Trainer(model: model, dataset: unlabelled, configuration: configuration, strategies: []).run())
    }

    func testCancellationStopsCleanly() throws {
        var polls = 0
        let result = try Trainer(model: Fixtures.model(seed: 7), dataset: Fixtures.moons(), configuration: config, strategies: []).run(shouldStop: {
            polls += 1
            return polls >= 4
        })
        XCTAssertTrue(result.cancelled)
        XCTAssertEqual(result.steps, 4)
        XCTAssertEqual(result.epochs.count, 1)
    }

    func testAdversarialRunsAreDeterministic() throws {
        func run() throws -> TrainingResult {
            let model = Fixtures.model(seed: 8)
            let context = Fixtures.context(model, seed: 8)
            let registry = StrategyRegistry.builtIn
            let terms = [
                try registry.makeTerm("dann", context: context), try registry.makeTerm("domainConfusion", context: context),
                try registry.makeTerm("selfTraining", options: StrategyOptions(["rounds": .number(1)]), context: context),
            ]
            var configuration = config
            configuration.learningRateSchedule = .dann
            return try Trainer(model: model, dataset: Fixtures.moons(seed: 8), configuration: configuration, strategies: terms).run()
        }
        let a = try run(), b = try run()
        XCTAssertEqual(a.epochs.map(\.losses), b.epochs.map(\.losses))
        XCTAssertEqual(a.epochs.map(\.diagnostics), b.epochs.map(\.diagnostics))
        XCTAssertEqual(a.finalTarget, b.finalTarget)
        XCTAssertNotNil(a.epochs.last!.diagnostics["dann.domainAccuracy"])
        XCTAssertNotNil(a.epochs.last!.diagnostics["domainConfusion.domainAccuracy"])
    }
}
