import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore
import XCTest

/// `TrainerConfiguration.startStep` + the last `TrainingSnapshot`: a run stopped and resumed ends
/// with the same weights, to the bit, as a run that never stopped.
final class TrainerResumeTests: XCTestCase {
    /// A trainer over dropout MLP + DANN (joint discriminator, λ inside, ramped) + domain confusion
    /// (inner step with its own optimizer), annealed learning rate: every piece of state a resume can lose.
    private func makeTrainer(optimizer: OptimizerConfiguration, epochs: Int = 4) -> Trainer {
        let seed: UInt64 = 7
        let data = MoonsGenerator.make(samplesPerClass: 60, rotationDegrees: 30, testSamplesPerClass: 50, seed: seed)  // 120 / 32 → 4 steps
        var rng = SeededGenerator(seed: seed).fork("init")
        let model = AdaptationModel.build(
            inputShape: [2], classCount: 2, spec: ModelSpec(extractor: .mlp(hidden: [12], dropout: 0.2)), rng: &rng)
        var strategyRNG = SeededGenerator(seed: seed).fork("strategies")
        let dann = DANNStrategy(inputSize: model.featureSize, hidden: [8], dropout: 0.1, rng: &strategyRNG)
        let confusion = DomainConfusionStrategy(inputSize: model.featureSize, hidden: [8], rng: &strategyRNG)
        let configuration = TrainerConfiguration(
            epochs: epochs, batchSize: 32, optimizer: optimizer, learningRateSchedule: .dann, seed: seed, evaluationInterval: 1)
        return Trainer(
            model: model, dataset: data, configuration: configuration,
            strategies: [StrategyTerm(dann, schedule: .dannRamp(gamma: 10)), StrategyTerm(confusion, weight: 0.3, schedule: .dannRamp(gamma: 10))])
    }

    private func weights(_ trainer: Trainer) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: trainer.state.map { ($0.path, $0.parameter.value.scalars) })
    }

    /// Stops after `stopAfter` steps, then resumes from the last snapshot in a fresh trainer.
    private func stoppedAndResumed(_ optimizer: OptimizerConfiguration, stopAfter: Int) throws -> (Trainer, TrainingResult) {
        let first = makeTrainer(optimizer: optimizer)
        var steps = 0
        var last: TrainingSnapshot?
        let partial = try first.run(
            shouldStop: {
                steps += 1
                return steps == stopAfter
            }, checkpoint: { last = $0 })
        XCTAssertTrue(partial.cancelled)
        XCTAssertEqual(partial.steps, stopAfter)
        let saved = try XCTUnwrap(last)
        XCTAssertEqual(saved.step, stopAfter)
        XCTAssertEqual(saved.reason, "stopped")
        XCTAssertFalse(saved.finished)

        var second = makeTrainer(optimizer: optimizer)
        try Checkpoint.assign(
            Dictionary(uniqueKeysWithValues: saved.parameters.map { ($0.path, $0.parameter.value) }), into: second.state, file: "snapshot")
        var configuration = second.configuration
        configuration.startStep = stopAfter
        configuration.initialOptimizerState = saved.optimizerState
        second = Trainer(model: second.model, data: second.data, configuration: configuration, strategies: second.terms)
        return (second, try second.run())
    }

    private func checkExactContinuation(_ optimizer: OptimizerConfiguration, stopAfter: Int) throws {
        let full = makeTrainer(optimizer: optimizer)
        let uninterrupted = try full.run()
        let (resumed, result) = try stoppedAndResumed(optimizer, stopAfter: stopAfter)

        XCTAssertEqual(result.steps, uninterrupted.steps, "global step count")
        XCTAssertEqual(result.epochs.last?.epoch, 4, "epochs keep their numbers")
        XCTAssertEqual(result.epochs.last?.progress, 1)
        XCTAssertEqual(result.epochs.last?.learningRate, uninterrupted.epochs.last?.learningRate, "the schedule carries on")
        XCTAssertEqual(result.epochs.last?.losses, uninterrupted.epochs.last?.losses, "same batches, masks and λ in the last epoch")
        let a = weights(full), b = weights(resumed)
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for path in a.keys.sorted() { XCTAssertEqual(a[path], b[path], "\(optimizer.kind) weights of \(path)") }
        XCTAssertEqual(result.finalTarget, uninterrupted.finalTarget)
        XCTAssertEqual(result.finalSource, uninterrupted.finalSource)
    }

    func testResumeMidEpochWithSGDMomentumIsExact() throws {
        try checkExactContinuation(OptimizerConfiguration(kind: .sgd, learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4), stopAfter: 6)
    }

    func testResumeAtEpochBoundaryWithAdamIsExact() throws {
        try checkExactContinuation(OptimizerConfiguration(kind: .adam, learningRate: 0.01, weightDecay: 1e-4), stopAfter: 8)
    }

    func testSnapshotHoldsJointAndInnerMomentsAndEveryEpoch() throws {
        let trainer = makeTrainer(optimizer: OptimizerConfiguration(kind: .adam, learningRate: 0.01), epochs: 2)
        var snapshots: [TrainingSnapshot] = []
        _ = try trainer.run(checkpoint: { snapshots.append($0) })
        XCTAssertEqual(snapshots.map(\.step), [4, 8])
        XCTAssertEqual(snapshots.map(\.finished), [false, true])
        XCTAssertEqual(snapshots.map { $0.epochs.map(\.epoch) }, [[1], [1, 2]])
        let saved = snapshots[0].optimizerState
        XCTAssertEqual(saved["joint.features.0.weight.m"]?.shape, [12, 2])
        XCTAssertEqual(saved["joint.features.0.weight.t"]?.scalars, [4])
        XCTAssertTrue(saved.keys.contains { $0.hasPrefix("inner.domainConfusion.") }, "\(saved.keys.sorted())")
        XCTAssertTrue(saved.keys.contains { $0.hasPrefix("joint.strategies.dann.") }, "\(saved.keys.sorted())")
        // Copies: training on does not change what the first snapshot holds.
        XCTAssertNotEqual(snapshots[0].parameters[0].parameter.value, snapshots[1].parameters[0].parameter.value)
    }

    func testStartStepOutsideTheRunIsRejected() throws {
        let later = makeTrainer(optimizer: OptimizerConfiguration(kind: .sgd, learningRate: 0.05, momentum: 0.9))
        var configuration = later.configuration
        configuration.startStep = 16
        configuration.initialOptimizerState = nil
        XCTAssertThrowsError(
            try Trainer(model: later.model, data: later.data, configuration: configuration, strategies: later.terms).run()
        ) { error in
            XCTAssertTrue("\(error)".contains("startStep 16 is outside 0..<16"), "\(error)")
        }
    }
}
