import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore
import XCTest

/// `TrainerConfiguration.startStep` + saved optimizer state: a run stopped and resumed ends with
/// the same weights, to the bit, as a run that never stopped.
final class TrainerResumeTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A trainer over dropout MLP + DANN (joint discriminator, λ inside, ramped) + domain confusion
    /// (inner step with its own optimizer), annealed learning rate: every piece of state a resume can lose.
    private func makeTrainer(optimizer: OptimizerConfiguration, folder: String, epochs: Int = 4) -> Trainer {
        let seed: UInt64 = 7
        let data = MoonsGenerator.make(samplesPerClass: 60, rotationDegrees: 30, testSamplesPerClass: 50, seed: seed)  // 120 / 32 → 4 steps
        var rng = SeededGenerator(seed: seed).fork("init")
        let model = AdaptationModel.build(
            inputShape: [2], classCount: 2, spec: ModelSpec(extractor: .mlp(hidden: [12], dropout: 0.2)), rng: &rng)
        var strategyRNG = SeededGenerator(seed: seed).fork("strategies")
        let dann = DANNStrategy(inputSize: model.featureSize, hidden: [8], dropout: 0.1, rng: &strategyRNG)
        let confusion = DomainConfusionStrategy(inputSize: model.featureSize, hidden: [8], rng: &strategyRNG)
        let out = directory.appendingPathComponent(folder)
        try? FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let configuration = TrainerConfiguration(
            epochs: epochs, batchSize: 32, optimizer: optimizer, learningRateSchedule: .dann, seed: seed, evaluationInterval: 1,
            checkpointPath: out.appendingPathComponent("checkpoint.h5"), optimizerStatePath: out.appendingPathComponent("optimizer.h5"))
        return Trainer(
            model: model, dataset: data, configuration: configuration,
            strategies: [StrategyTerm(dann, schedule: .dannRamp(gamma: 10)), StrategyTerm(confusion, weight: 0.3, schedule: .dannRamp(gamma: 10))])
    }

    private func weights(_ trainer: Trainer) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: trainer.state.map { ($0.path, $0.parameter.value.scalars) })
    }

    /// Stops after `stopAfter` steps, then resumes from the files in a fresh trainer.
    private func stoppedAndResumed(_ optimizer: OptimizerConfiguration, stopAfter: Int) throws -> (Trainer, TrainingResult) {
        let first = makeTrainer(optimizer: optimizer, folder: "stopped")
        var steps = 0
        let partial = try first.run(shouldStop: {
            steps += 1
            return steps == stopAfter
        })
        XCTAssertTrue(partial.cancelled)
        XCTAssertEqual(partial.steps, stopAfter)

        var second = makeTrainer(optimizer: optimizer, folder: "stopped")
        let folder = directory.appendingPathComponent("stopped")
        let metadata = try Checkpoint.load(into: second.state, from: folder.appendingPathComponent("checkpoint.h5"))
        XCTAssertEqual(metadata["step"], String(stopAfter))
        var configuration = second.configuration
        configuration.startStep = stopAfter
        configuration.initialOptimizerState = folder.appendingPathComponent("optimizer.h5")
        second = Trainer(model: second.model, dataset: second.dataset, configuration: configuration, strategies: second.terms)
        return (second, try second.run())
    }

    private func checkExactContinuation(_ optimizer: OptimizerConfiguration, stopAfter: Int) throws {
        let full = makeTrainer(optimizer: optimizer, folder: "full")
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

    func testOptimizerStateFileHoldsJointAndInnerMoments() throws {
        let trainer = makeTrainer(optimizer: OptimizerConfiguration(kind: .adam, learningRate: 0.01), folder: "files", epochs: 1)
        _ = try trainer.run()
        let saved = try Checkpoint.readAll(from: directory.appendingPathComponent("files/optimizer.h5"))
        XCTAssertEqual(saved.metadata["step"], "4")
        XCTAssertEqual(saved.tensors["joint.features.0.weight.m"]?.shape, [12, 2])
        XCTAssertEqual(saved.tensors["joint.features.0.weight.t"]?.scalars, [4])
        XCTAssertTrue(saved.order.contains { $0.hasPrefix("inner.domainConfusion.") }, "\(saved.order)")
        XCTAssertTrue(saved.order.contains { $0.hasPrefix("joint.strategies.dann.") }, "\(saved.order)")
    }

    func testMismatchedOptimizerStateStepIsRejected() throws {
        let optimizer = OptimizerConfiguration(kind: .sgd, learningRate: 0.05, momentum: 0.9)
        _ = try makeTrainer(optimizer: optimizer, folder: "early", epochs: 1).run()  // optimizer.h5 at step 4
        let later = makeTrainer(optimizer: optimizer, folder: "later")
        var configuration = later.configuration
        configuration.startStep = 5
        configuration.initialOptimizerState = directory.appendingPathComponent("early/optimizer.h5")
        let trainer = Trainer(model: later.model, dataset: later.dataset, configuration: configuration, strategies: later.terms)
        XCTAssertThrowsError(try trainer.run()) { error in
            XCTAssertTrue("\(error)".contains("written at step 4, but the run starts at step 5"), "\(error)")
        }
        configuration.startStep = 16
        configuration.initialOptimizerState = nil
        XCTAssertThrowsError(
            try Trainer(model: later.model, dataset: later.dataset, configuration: configuration, strategies: later.terms).run()
        ) { error in
            XCTAssertTrue("\(error)".contains("startStep 16 is outside 0..<16"), "\(error)")
        }
    }
}
