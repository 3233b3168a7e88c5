import Adaptation
import NN
import TensorCore
import XCTest

/// Target labels are out of a strategy's reach by type.
///
/// Compile-time part (what the compiler enforces; kept here as documentation, since a test cannot
/// assert that code fails to compile): everything a strategy receives is built from types without
/// target labels.
/// - `StrategyBatch`: `source`, `target` (model outputs), `sourceLabels`, `targetIndices`, and the
///   granted labels as their own input, `labelledTarget` (`LabelledTargetBatch`).
/// - `TrainingSetup`: `model`, `source` (`LabelledDomain`: source inputs and labels), `target`
///   (`TargetPool`), `granted` (`GrantedLabels`).
/// - `EpochBoundary`: `targetPool` (`TargetPool`): `count`, `sampleShape`, `inputs(rows:)`,
///   `forEachChunk`; its source is internal to DomainData, so not even a cast reaches a file or split.
///   `boundary.targetPool.y` or `setup.target.labels` do not compile: there is no such member.
/// Only `TrainingData` (held by the trainer, never passed on) and `EvaluationSet` (read by the
/// trainer's evaluator) hold target labels.
///
/// Run-time part (this test): a strategy that walks every value it is handed, stored properties
/// all the way down, finds the granted labels and nothing else of the target's labels.
final class TargetLabelReachabilityTests: XCTestCase {
    /// Every `[Int]` reachable from `value` through stored properties (Mirror), a few levels deep.
    static func integerArrays(in value: Any, depth: Int = 0, into found: inout [[Int]]) {
        guard depth < 8 else { return }
        if let ints = value as? [Int] { found.append(ints); return }
        if let optionals = value as? [Int?] { found.append(optionals.compactMap { $0 }); return }
        if value is Tensor || value is Variable || value is AdaptationModel || value is [Float] { return }
        for child in Mirror(reflecting: value).children { integerArrays(in: child.value, depth: depth + 1, into: &found) }
    }

    final class Probe: AdaptationStrategy {
        let name = "probe"
        var seen: [[Int]] = []
        func prepare(_ setup: TrainingSetup) throws { TargetLabelReachabilityTests.integerArrays(in: setup, into: &seen) }
        func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
            TargetLabelReachabilityTests.integerArrays(in: batch, into: &seen)
            return .zero
        }
        func epochBoundary(_ boundary: EpochBoundary) throws -> BoundaryReport {
            TargetLabelReachabilityTests.integerArrays(in: boundary, into: &seen)
            return [:]
        }
    }

    func testAStrategySeesGrantedTargetLabelsOnly() throws {
        var rng = SeededGenerator(seed: 11)
        func split(_ n: Int, labels: [Int]) -> DomainSplit {
            DomainSplit(x: Tensor(shape: [n, 2], scalars: (0..<(2 * n)).map { _ in rng.uniform(-1, 1) }), y: labels)
        }
        // Target labels in a seeded random order, so that no other array of the run can equal them.
        let targetLabels = (0..<30).map { _ in Int(rng.nextInt(below: 2)) }
        let data = DomainDataset(
            source: split(40, labels: (0..<40).map { $0 % 2 }), target: split(30, labels: targetLabels), classNames: ["a", "b"],
            shiftDescription: "none")
        var configuration = TrainerConfiguration(epochs: 2, batchSize: 8, optimizer: OptimizerConfiguration(learningRate: 0.05), seed: 3)
        configuration.targetLabels = .perClass(2)
        let probe = Probe()
        let result = try Trainer(model: Fixtures.model(seed: 1), dataset: data, configuration: configuration, strategies: [StrategyTerm(probe)]).run()
        XCTAssertEqual(result.grantedTargetLabels, 4)
        XCTAssertNotNil(result.finalTarget, "the evaluator reads the target labels")
        XCTAssertFalse(probe.seen.isEmpty)
        let labelArrays = probe.seen.filter { $0.count >= 8 && $0.allSatisfy { $0 == 0 || $0 == 1 } }
        XCTAssertFalse(labelArrays.contains(targetLabels), "the target's labels reached a strategy")
        // The longest label-like array a strategy holds: source labels (40) or a granted batch (≤ 4 rows).
        XCTAssertTrue(probe.seen.allSatisfy { $0 != targetLabels })
        XCTAssertTrue(probe.seen.contains { $0 == (0..<40).map { $0 % 2 } }, "source labels are reachable (the walk works)")
    }
}
