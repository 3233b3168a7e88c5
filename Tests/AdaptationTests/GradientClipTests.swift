import Adaptation
import HDF5Kit
import NN
import TensorCore
import XCTest

/// `optimizer: {clip_norm: X}`: the global L2 norm of the step's gradients, over every trained
/// parameter, is scaled down to X before the optimizer step; the direction is kept.
final class GradientClipTests: XCTestCase {
    /// Gradients (6, 0) and (0, 8): global norm 10, clipped to 1 → (0.6, 0) and (0, 0.8).
    func testNormTenClippedToOneByHand() {
        let a = Parameter(Tensor([1, 2])), b = Parameter(Tensor([3, 4]))
        var grads = Gradients()
        grads[a] = Tensor([6, 0])
        grads[b] = Tensor([0, 8])
        let norm = clipGradientNorm(&grads, groups: [ParameterGroup(name: "all", parameters: [a, b])], limit: 1)
        XCTAssertEqual(norm, 10, accuracy: 1e-9)
        XCTAssertEqual(grads[a]!.scalars[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(grads[a]!.scalars[1], 0)
        XCTAssertEqual(grads[b]!.scalars[0], 0)
        XCTAssertEqual(grads[b]!.scalars[1], 0.8, accuracy: 1e-6)

        // Below the limit: untouched.
        var small = Gradients()
        small[a] = Tensor([0.3, 0.4])
        XCTAssertEqual(clipGradientNorm(&small, groups: [ParameterGroup(name: "all", parameters: [a])], limit: 1), 0.5, accuracy: 1e-7)
        XCTAssertEqual(small[a]!.scalars, [0.3, 0.4])

        // A frozen parameter's gradient does not count towards the norm (it is not trained).
        let frozen = Parameter(Tensor([0]), isFrozen: true)
        var withFrozen = Gradients()
        withFrozen[a] = Tensor([0.6, 0.8])
        withFrozen[frozen] = Tensor([100])
        XCTAssertEqual(clipGradientNorm(&withFrozen, groups: [ParameterGroup(name: "all", parameters: [a, frozen])], limit: 1), 1, accuracy: 1e-7)
        XCTAssertEqual(withFrozen[a]!.scalars[0], 0.6, accuracy: 1e-7)
    }

    /// One full-batch SGD step (lr 1, no momentum) with and without clipping from the same
    /// initialisation: the clipped update is the unclipped one scaled by X/‖g‖ — same direction,
    /// length lr·X.
    func testClippedStepKeepsTheDirection() throws {
        func oneStep(clip: Float?) throws -> [Tensor] {
            let data = MoonsGenerator.make(samplesPerClass: 20, rotationDegrees: 30, testSamplesPerClass: 10, seed: 3)
            let model = Fixtures.model(seed: 3, hidden: [6])
            let before = model.parameters.map { $0.parameter.value }
            let configuration = TrainerConfiguration(
                epochs: 1, batchSize: 40, optimizer: OptimizerConfiguration(learningRate: 1, momentum: 0, clipNorm: clip), seed: 3)
            let result = try Trainer(model: model, dataset: data, configuration: configuration, strategies: [StrategyTerm(SourceOnlyStrategy())]).run()
            XCTAssertEqual(result.steps, 1)
            return zip(model.parameters, before).map { $0.parameter.value - $1 }
        }
        let free = try oneStep(clip: nil)
        let clipped = try oneStep(clip: 1e-3)
        func norm(_ ts: [Tensor]) -> Double { ts.flatMap(\.scalars).reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        let freeNorm = norm(free)
        XCTAssertGreaterThan(freeNorm, 1e-2, "the unclipped step is longer than the limit, so the test clips")
        XCTAssertEqual(norm(clipped), 1e-3, accuracy: 1e-6, "length lr · clip_norm")
        let dot = zip(free.flatMap(\.scalars), clipped.flatMap(\.scalars)).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(dot / (freeNorm * norm(clipped)), 1, accuracy: 1e-4, "same direction (cosine 1)")
    }

    /// The reported blow-up (issue 9): DANN on flat 8×8 digits with an MLP 64-128-64-10, SGD 0.05,
    /// momentum 0.9, the DANN schedules, batch 32, 20 epochs (`dakit run` with the same seed builds the
    /// same model and discriminator): the reversed gradient grows the features until they overflow.
    /// Which seeds stop depends on OpenBLAS's kernels (they round differently); on this project's VM
    /// seeds 0, 1, 3 and 6 stop without clipping under the AVX-512 kernels and seed 2 under the generic
    /// ones, so the test asks that at least one of these seeds stops unclipped and that every one trains
    /// through with clip_norm 10 and with the recipe default.
    func testDANNDigitsNoLongerStopsWithClipping() throws {
        func run(seed: UInt64, clip: Float?) throws -> Result<TrainingResult, Error> {
            let data = try DigitsGenerator.make(shift: .rotation, amount: 30, base: nil, seed: seed)
            let root = SeededGenerator(seed: seed)
            var rng = root.fork("model")
            let model = try AdaptationModel.make(inputShape: [1, 8, 8], classCount: 10, spec: ModelSpec(extractor: .mlp(hidden: [128, 64])), rng: &rng)
            let dann = try StrategyRegistry.builtIn.makeTerm("dann", context: StrategyContext(model: model, rng: root.fork("strategy.0.dann")))
            let configuration = TrainerConfiguration(
                epochs: 20, batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 0.05, momentum: 0.9, clipNorm: clip),
                learningRateSchedule: .dann, seed: seed, evaluationInterval: 20)
            return Result { try Trainer(model: model, dataset: data, configuration: configuration, strategies: [dann]).run() }
        }
        var stops: [UInt64] = []
        for seed: UInt64 in [0, 1, 2, 3, 6] {
            for limit in [10, OptimizerConfiguration.recipeClipNorm] {
                let clipped = try run(seed: seed, clip: limit).get()
                XCTAssertEqual(clipped.epochs.count, 20, "seed \(seed), clip_norm \(limit)")
                XCTAssertGreaterThan(try XCTUnwrap(clipped.finalTarget).accuracy, 0.2, "seed \(seed), clip_norm \(limit): it learns (chance is 0.1)")
            }
            if case .failure(let error) = try run(seed: seed, clip: nil) {
                guard case TrainingError.nonFinite = error else { return XCTFail("seed \(seed): unexpected \(error)") }
                stops.append(seed)
            }
        }
        XCTAssertFalse(stops.isEmpty, "without clipping some of these seeds stopped on a non-finite value; the test no longer reproduces the bug")
    }
}
