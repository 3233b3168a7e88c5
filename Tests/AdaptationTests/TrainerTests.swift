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
