import Adaptation
import HDF5Kit
import NN
import TensorCore
import XCTest

/// Shared helpers for the strategy and trainer tests.
enum Fixtures {
    /// Ganin et al.'s moons (150 per class, target rotated 35°) with a smaller held-out test set.
    static func moons(seed: UInt64 = 0, rotation: Float = 35) -> DomainDataset {
        MoonsGenerator.make(samplesPerClass: 150, rotationDegrees: rotation, testSamplesPerClass: 250, seed: seed)
    }

    static func model(seed: UInt64, hidden: [Int] = [15], classCount: Int = 2, inputSize: Int = 2) -> AdaptationModel {
        var rng = SeededGenerator(seed: seed).fork("init")
        return AdaptationModel.build(
            inputShape: [inputSize], classCount: classCount, spec: ModelSpec(extractor: .mlp(hidden: hidden)), rng: &rng)
    }

    static func context(_ model: AdaptationModel, seed: UInt64 = 0) -> StrategyContext {
        StrategyContext(model: model, rng: SeededGenerator(seed: seed).fork("strategy"))
    }

    /// Tiny random tensor.
    static func tensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor.normal(shape, std: scale, rng: &rng)
    }
}
