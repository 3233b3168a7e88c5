import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore
import TestSupport
import XCTest

/// JAN: the joint MMD² by hand, its relation to MMD², finite-difference gradients w.r.t. features and
/// logits, identical batches, the registry entry, and the moons behaviour against source-only.
final class JANTests: XCTestCase {
    private let ln3 = Float(Foundation.log(3.0))

    /// A JAN with one fixed-σ Gaussian on the features (σ_z = 1), so the hand values need no bandwidth rule.
    private func fixedJAN(_ estimator: MMDEstimator, sigma: Float = 1) -> JANStrategy {
        JANStrategy(featureRule: .fixed(sigma: sigma), predictionSigma: 0.92, estimator: estimator)
    }

    private func batch(_ zs: Variable, _ zt: Variable, _ ls: Variable, _ lt: Variable) -> StrategyBatch {
        StrategyBatch(sourceFeatures: zs, targetFeatures: zt, sourceLogits: ls, targetLogits: lt, sourceLabels: Array(repeating: 0, count: zs.shape[0]))
    }

    // MARK: - By hand

    /// z_s = (0, 1), z_t = (2, 3) (one feature); logits s (0, 0), (ln 3, 0) → ŷ_s = (½, ½), (¾, ¼);
    /// t (0, ln 3), (0, 0) → ŷ_t = (¼, ¾), (½, ½). k_z = exp(−Δz²/2), k_ŷ = exp(−‖Δŷ‖²/(2 · 0.92²)).
    ///   Δz:    s0s1 1, t0t1 1, s0t0 2, s0t1 3, s1t0 1, s1t1 2 → k_z e^{−1/2} = 0.606531, e^{−2} = 0.135335, e^{−4.5} = 0.011109
    ///   ‖Δŷ‖²: s0s1 0.125, t0t1 0.125, s0t0 0.125, s0t1 0, s1t0 0.5, s1t1 0.125 → k_ŷ 0.928818 (0.125), 0.744257 (0.5), 1 (0)
    ///   product: Kss01 = Ktt01 = 0.606531·0.928818 = 0.563357;
    ///            Kst = [[0.135335·0.928818, 0.011109·1], [0.606531·0.744257, 0.135335·0.928818]]
    ///                = [[0.125702, 0.011109], [0.451415, 0.125702]], Σ Kst = 0.713928 (diagonals of Kss, Ktt: 1)
    ///   biased   2 · (2 + 2·0.563357)/4 − 2·0.713928/4 = 1.563357 − 0.356964 = 1.206393
    ///   unbiased 0.563357 + 0.563357 − 0.356964 = 0.769750
    ///   linear   (one quad-tuple) 0.563357 + 0.563357 − 0.011109 − 0.451415 = 0.664190
    /// With the sum k_z + k_ŷ instead of the product the biased value would be 1.290247.
    func testJointMMDByHand() {
        let zs = Variable(Tensor([[0], [1]])), zt = Variable(Tensor([[2], [3]]))
        let ls = Variable(Tensor([[0, 0], [ln3, 0]])), lt = Variable(Tensor([[0, ln3], [0, 0]]))
        for (estimator, expected) in [(MMDEstimator.biased, Float(1.206393)), (.unbiased, 0.769750), (.linear, 0.664190)] {
            let result = fixedJAN(estimator).loss(batch(zs, zt, ls, lt), context: .inference())
            XCTAssertEqual(result.value.value.scalar, expected, accuracy: 2e-5, "\(estimator)")
            XCTAssertEqual(result.terms["jmmd"]!, expected, accuracy: 2e-5, "\(estimator)")
        }
        // DAN's sum of the marginal MMD²s (the MMD² of the sum kernel k_z + k_ŷ) is 1.290247 here, not the joint value.
        let marginals = MMD.loss(source: zs, target: zt, kernel: .gaussian(.fixed(sigma: 1)), estimator: .biased).value.scalar
            + MMD.loss(source: ls.softmax(axis: 1), target: lt.softmax(axis: 1), kernel: .gaussian(.fixed(sigma: 0.92)), estimator: .biased).value.scalar
        XCTAssertEqual(marginals, 1.290247, accuracy: 2e-5)
    }

    func testOneLayerJointMMDIsMMD() {
        let s = Variable(Fixtures.tensor([5, 3], seed: 1)), t = Variable(Fixtures.tensor([4, 3], seed: 2, scale: 2))
        for kernel in [MMDKernel.linear, .gaussian(.mean(multipliers: JANStrategy.janMultipliers)), .gaussian(.median(multipliers: [1, 2]))] {
            for estimator in MMDEstimator.allCases {
                let joint = jointMMDLoss(source: [s], target: [t], kernels: [kernel], estimator: estimator).value.scalar
                let plain = MMD.loss(source: s, target: t, kernel: kernel, estimator: estimator).value.scalar
                XCTAssertEqual(joint, plain, accuracy: 1e-6, "\(kernel) \(estimator)")
            }
        }
    }

    /// Identical source and target batches: the biased and linear estimates are exactly 0; the
    /// unbiased one is 2(S − n²d)/(n²(n − 1)) with S = Σ_ij K_ij ∈ [n d, n² d], d = K_ii = 5 (the sum of the
    /// five feature Gaussians times the prediction Gaussian, each 1 on the diagonal), so it lies in
    /// [−2d/(n − 1), 0] (tllib adds 2/(n − 1) to it; we do not).
    func testIdenticalBatchesHaveNoDiscrepancy() {
        let z = Fixtures.tensor([6, 4], seed: 3), logits = Fixtures.tensor([6, 3], seed: 4, scale: 2)
        let jan = JANStrategy()
        for estimator in [MMDEstimator.biased, .linear] {
            let value = JANStrategy(estimator: estimator).jointDiscrepancy(
                sourceFeatures: Variable(z), targetFeatures: Variable(z), sourceLogits: Variable(logits), targetLogits: Variable(logits))
            XCTAssertEqual(value.value.scalar, 0, accuracy: 1e-6, "\(estimator)")
        }
        let unbiased = jan.jointDiscrepancy(sourceFeatures: Variable(z), targetFeatures: Variable(z), sourceLogits: Variable(logits), targetLogits: Variable(logits))
        let n: Float = 6, d = Float(JANStrategy.janMultipliers.count)
        XCTAssertLessThan(unbiased.value.scalar, 0)
        XCTAssertGreaterThanOrEqual(unbiased.value.scalar, -2 * d / (n - 1) - 1e-5)
    }

    // MARK: - Gradients

    /// Features and logits against central differences, for every estimator. Bandwidths chosen by a
    /// rule move with the inputs but are detached (no gradient, as in tllib), so the check holds the
    /// feature kernel fixed; the prediction kernel is fixed anyway.
    func testGradientsWithRespectToFeaturesAndLogitsMatchFiniteDifferences() {
        let zs = Fixtures.tensor([4, 3], seed: 5), zt = Fixtures.tensor([4, 3], seed: 6, scale: 1.5)
        let ls = Fixtures.tensor([4, 3], seed: 7, scale: 2), lt = Fixtures.tensor([4, 3], seed: 8, scale: 2)
        for estimator in MMDEstimator.allCases {
            let jan = fixedJAN(estimator, sigma: 1.5)
            let bad = GradientCheck.mismatches(inputs: [zs, zt, ls, lt], step: 1e-2, rtol: 3e-2, atol: 2e-3) { v in
                jan.loss(self.batch(v[0], v[1], v[2], v[3]), context: .inference()).value
            }
            XCTAssertTrue(bad.isEmpty, "\(estimator): \(bad.prefix(4))")
        }
        // Unequal batch sizes (quadratic estimators) and the gradient reaches both inputs.
        let jan = fixedJAN(.unbiased, sigma: 1.5)
        let zs3 = Fixtures.tensor([3, 3], seed: 9), ls3 = Fixtures.tensor([3, 3], seed: 10, scale: 2)
        let bad = GradientCheck.mismatches(inputs: [zs3, zt, ls3, lt], step: 1e-2, rtol: 3e-2, atol: 2e-3) { v in
            jan.loss(self.batch(v[0], v[1], v[2], v[3]), context: .inference()).value
        }
        XCTAssertTrue(bad.isEmpty, "\(bad.prefix(4))")
        let inputs = [zs3, zt, ls3, lt].map { Variable($0, requiresGradient: true) }
        let g = gradients(of: jan.loss(batch(inputs[0], inputs[1], inputs[2], inputs[3]), context: .inference()).value, withRespectTo: inputs)
        for (i, gi) in g.enumerated() { XCTAssertGreaterThan(gi.abs().sum(), 1e-5, "input \(i) gets a gradient") }
    }

    // MARK: - Registry

    func testRegistryEntryDefaultsAndErrors() throws {
        let registry = StrategyRegistry.builtIn
        XCTAssertTrue(registry.names.contains("jan"))
        let entry = try registry.entry(named: "jan")
        XCTAssertEqual(entry.defaultSchedule, .dannRamp(gamma: 10))
        XCTAssertEqual(entry.defaultWeight, 1)
        let context = StrategyContext(featureSize: 15, classCount: 2, rng: SeededGenerator(seed: 0))
        let jan = try registry.make("jan", options: StrategyOptions(), context: context) as! JANStrategy
        XCTAssertEqual(jan.featureKernel, .gaussian(.mean(multipliers: [0.125, 0.25, 0.5, 1, 2])))
        XCTAssertEqual(jan.predictionSigma, 0.92)
        XCTAssertEqual(jan.estimator, .unbiased)
        XCTAssertEqual(jan.layer, .features)
        let fixed = try registry.make(
            "jan", options: StrategyOptions(["bandwidthRule": .string("fixed"), "sigma": .number(2), "estimator": .string("linear")]), context: context)
            as! JANStrategy
        XCTAssertEqual(fixed.featureKernel, .gaussian(.fixed(sigma: 2)))
        XCTAssertEqual(fixed.estimator, .linear)
        XCTAssertThrowsError(try registry.make("jan", options: StrategyOptions(["predictionSigma": .number(-1)]), context: context)) { error in
            guard case .invalidValue(let s, let key, _)? = error as? StrategyError else { return XCTFail("\(error)") }
            XCTAssertEqual([s, key], ["jan", "predictionSigma"])
        }
        XCTAssertTrue(registry.documentation(names: ["jan"]).contains("predictionSigma"))
    }

    // MARK: - Moons

    /// Ganin et al.'s moons (150 per class, target rotated 35°), the budget and network of
    /// `StrategyMoonsTests`: JAN with its registry defaults beats source-only in mean target accuracy.
    func testJANBeatsSourceOnlyOnRotatedMoons() throws {
        func meanTargetAccuracy(_ name: String) throws -> Double {
            var total = 0.0
            let seeds: [UInt64] = [0, 1, 2]
            for seed in seeds {
                let data = MoonsGenerator.make(samplesPerClass: 150, rotationDegrees: 35, testSamplesPerClass: 250, seed: seed)
                let model = Fixtures.model(seed: seed, hidden: [32])
                let term = try StrategyRegistry.builtIn.makeTerm(name, context: Fixtures.context(model, seed: seed))
                let configuration = TrainerConfiguration(
                    epochs: 100, batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 0.02, momentum: 0.9), seed: seed,
                    evaluationInterval: 100)
                total += try Trainer(model: model, dataset: data, configuration: configuration, strategies: [term]).run().finalTarget!.accuracy
            }
            return total / Double(seeds.count)
        }
        let baseline = try meanTargetAccuracy("sourceOnly")
        let jan = try meanTargetAccuracy("jan")
        XCTAssertGreaterThan(jan, baseline + 0.03, "jan: mean target accuracy \(jan) vs sourceOnly \(baseline)")
    }
}
