import Adaptation
import Foundation
import NN
import TensorCore
import TestSupport
import XCTest

/// CDAN, CDAN+E and MCC: hand-computed losses, finite-difference gradients, the detached
/// conditioning, and composition with DANN in the trainer.
final class CDANMCCTests: XCTestCase {
    private let ln3 = Float(Foundation.log(3.0))

    private func assertClose(_ a: [Float], _ b: [Float], accuracy: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, "\(a) vs \(b)", file: file, line: line) }
    }

    /// A logistic-regression discriminator D(h) = w·h (bias 0).
    private func cdan(entropy: Bool = false, weights: [Float]) -> CDANStrategy {
        var rng = SeededGenerator(seed: 0)
        let strategy = CDANStrategy(featureSize: 2, classCount: 2, entropy: entropy, hidden: [], rng: &rng)
        let parameters = strategy.discriminator.network.parameters
        parameters[0].parameter.value = Tensor([weights])
        parameters[1].parameter.value = .zeros([1])
        return strategy
    }

    private func batch(_ fs: Variable, _ ft: Variable, _ zs: Tensor, _ zt: Tensor, lambda: Float = 1) -> StrategyBatch {
        StrategyBatch(
            sourceFeatures: fs, targetFeatures: ft, sourceLogits: Variable(zs), targetLogits: Variable(zt),
            sourceLabels: Array(repeating: 0, count: fs.shape[0]), lambda: lambda)
    }

    // MARK: - CDAN by hand

    func testMultilinearMapByHand() {
        // Source f = (1, 2), g = (0.75, 0.25); target f = (−2, 4), g = (0.5, 0.5).
        // h = f ⊗ g class-major, [g0 f0, g0 f1, g1 f0, g1 f1]:
        //   source [0.75·1, 0.75·2, 0.25·1, 0.25·2] = [0.75, 1.5, 0.25, 0.5]
        //   target [0.5·−2, 0.5·4, 0.5·−2, 0.5·4]   = [−1, 2, −1, 2]
        let h = cdanMultilinearMap(features: Variable(Tensor([[1, 2], [-2, 4]])), predictions: Tensor([[0.75, 0.25], [0.5, 0.5]]))
        XCTAssertEqual(h.shape, [2, 4])
        assertClose(h.value.scalars, [0.75, 1.5, 0.25, 0.5, -1, 2, -1, 2])
    }

    func testCDANLossByHand() {
        // Logits (ln 3, 0) → softmax (0.75, 0.25); (0, 0) → (0.5, 0.5): h as in the map test.
        // D(h) = h_0 − h_3: source 0.75 − 0.5 = 0.25, target −1 − 2 = −3.
        // L = BCE(0.25, 0) + BCE(−3, 1) = log(1 + e^0.25) + log(1 + e^3) = 0.825939 + 3.048587 = 3.874527.
        let strategy = cdan(weights: [1, 0, 0, -1])
        XCTAssertNil(strategy.randomProjections, "d·C = 4 ≤ 4096: the full multilinear map")
        let result = strategy.loss(
            batch(Variable(Tensor([[1, 2]])), Variable(Tensor([[-2, 4]])), Tensor([[ln3, 0]]), Tensor([[0, 0]]), lambda: 0.3),
            context: .inference())
        XCTAssertEqual(result.value.value.scalar, 3.874527, accuracy: 1e-5)
        XCTAssertEqual(result.terms["domain"]!, 3.874527, accuracy: 1e-5)
        // D says target for the source row (0.25 > 0) and source for the target row: both wrong.
        XCTAssertEqual(result.diagnostics["domainAccuracy"], 0)
        XCTAssertEqual(result.diagnostics["lambda"]!, 0.3, accuracy: 1e-7)
    }

    func testCDANEntropyWeightsByHand() {
        // H(0.75, 0.25) = −(0.75 ln 0.75 + 0.25 ln 0.25) = 0.562335; H(0.5, 0.5) = ln 2 = 0.693147.
        // w = 1 + e^{−H}: 1.569877 and 1.5; normalised within the domain (sum 3.069877): 0.511381, 0.488619.
        let w = cdanEntropyWeights(predictions: Tensor([[0.75, 0.25], [0.5, 0.5]]))
        XCTAssertEqual(w.shape, [2, 1])
        assertClose(w.scalars, [0.511381, 0.488619])
        // A one-hot row is the most certain (w = 2), a uniform one the least (w = 1 + 1/C).
        assertClose(cdanEntropyWeights(predictions: Tensor([[1, 0], [0.5, 0.5]])).scalars, [2 / 3.5, 1.5 / 3.5])
    }

    func testCDANELossByHand() {
        // Two rows per domain, D(h) = h_0 − h_3:
        //   source f (1, 2), g (0.75, 0.25): h [0.75, 1.5, 0.25, 0.5] → D 0.25;  f (0, 1), g (0.5, 0.5): h [0, 0.5, 0, 0.5] → D −0.5
        //   target f (−2, 4), g (0.5, 0.5): h [−1, 2, −1, 2] → D −3;           f (1, 0), g (0.75, 0.25): h [0.75, 0, 0.25, 0] → D 0.75
        // BCE: source softplus(0.25) = 0.825939, softplus(−0.5) = 0.474077; target softplus(3) = 3.048587, softplus(−0.75) = 0.386871.
        // Weights per domain (previous test): source (0.511381, 0.488619), target (0.488619, 0.511381).
        // CDAN+E: 0.511381·0.825939 + 0.488619·0.474077 + 0.488619·3.048587 + 0.511381·0.386871 = 2.341449
        // CDAN (per-domain means): (0.825939 + 0.474077)/2 + (3.048587 + 0.386871)/2 = 2.367737
        let fs = Variable(Tensor([[1, 2], [0, 1]])), ft = Variable(Tensor([[-2, 4], [1, 0]]))
        let zs = Tensor([[ln3, 0], [0, 0]]), zt = Tensor([[0, 0], [ln3, 0]])
        let weighted = cdan(entropy: true, weights: [1, 0, 0, -1]).loss(batch(fs, ft, zs, zt), context: .inference())
        XCTAssertEqual(weighted.value.value.scalar, 2.341449, accuracy: 1e-5)
        let plain = cdan(entropy: false, weights: [1, 0, 0, -1]).loss(batch(fs, ft, zs, zt), context: .inference())
        XCTAssertEqual(plain.value.value.scalar, 2.367737, accuracy: 1e-5)
        XCTAssertEqual(plain.diagnostics["domainAccuracy"], 0.5, "source −0.5 and target 0.75 are right")
    }

    func testRandomizedMapByHandShapeAndDeterminism() {
        // R_f = [[1, 0], [0, 1], [1, 1]], R_g = [[1, 0], [0, 1], [1, −1]], r = 3; f = (1, 2), g = (0.75, 0.25):
        // R_f f = (1, 2, 3), R_g g = (0.75, 0.25, 0.5); (1/√3)(0.75, 0.5, 1.5) = (0.433013, 0.288675, 0.866025).
        let t = cdanRandomizedMap(
            features: Variable(Tensor([[1, 2]])), predictions: Tensor([[0.75, 0.25]]),
            featureProjection: Tensor([[1, 0], [0, 1], [1, 1]]), predictionProjection: Tensor([[1, 0], [0, 1], [1, -1]]))
        XCTAssertEqual(t.shape, [1, 3])
        assertClose(t.value.scalars, [0.433013, 0.288675, 0.866025])

        // The paper's rule: randomized above d·C = 4096.
        XCTAssertFalse(CDANStrategy.usesRandomizedMap(.auto, featureSize: 2048, classCount: 2))
        XCTAssertTrue(CDANStrategy.usesRandomizedMap(.auto, featureSize: 2049, classCount: 2))
        XCTAssertEqual(CDANStrategy.mapWidth(.auto, featureSize: 2049, classCount: 2, randomDimension: 1024), 1024)

        func make(seed: UInt64) -> CDANStrategy {
            var rng = SeededGenerator(seed: seed)
            return CDANStrategy(featureSize: 5, classCount: 3, map: .randomized, randomDimension: 16, hidden: [], rng: &rng)
        }
        let a = make(seed: 4), b = make(seed: 4), c = make(seed: 5)
        XCTAssertEqual(a.randomProjections?.features.shape, [16, 5])
        XCTAssertEqual(a.randomProjections?.predictions.shape, [16, 3])
        XCTAssertEqual(a.randomProjections?.features, b.randomProjections?.features, "same seed, same R_f")
        XCTAssertEqual(a.randomProjections?.predictions, b.randomProjections?.predictions, "same seed, same R_g")
        XCTAssertNotEqual(a.randomProjections?.features, c.randomProjections?.features)
        XCTAssertEqual(a.discriminator.inputSize, 16)
        let f = Variable(Fixtures.tensor([4, 5], seed: 1)), g = Fixtures.tensor([4, 3], seed: 2).softmax(axis: 1)
        XCTAssertEqual(a.conditioning(features: f, predictions: g).shape, [4, 16])
        XCTAssertEqual(a.conditioning(features: f, predictions: g).value, b.conditioning(features: f, predictions: g).value)
        // R is Gaussian with unit variance: E[R_ij²] = 1.
        let rf = a.randomProjections!.features.scalars
        XCTAssertEqual(rf.map { $0 * $0 }.reduce(0, +) / Float(rf.count), 1, accuracy: 0.35)
    }

    // MARK: - CDAN gradients

    private let fs = Fixtures.tensor([3, 2], seed: 1)
    private let ft = Fixtures.tensor([3, 2], seed: 2, scale: 1.5) + 0.5
    private let zs = Fixtures.tensor([3, 2], seed: 3)
    private let zt = Fixtures.tensor([3, 2], seed: 4)

    func testCDANGradientWithRespectToFeaturesMatchesFiniteDifferences() {
        for (entropy, map) in [(false, CDANStrategy.Map.multilinear), (true, .multilinear), (false, .randomized), (true, .randomized)] {
            var rng = SeededGenerator(seed: 9)
            let strategy = CDANStrategy(featureSize: 2, classCount: 2, entropy: entropy, map: map, randomDimension: 6, hidden: [], rng: &rng)
            // λ = −1 makes the reversal the identity backward: autodiff must equal finite differences.
            let bad = GradientCheck.mismatches(inputs: [fs, ft], step: 1e-2, rtol: 3e-2, atol: 3e-3) { v in
                strategy.loss(self.batch(v[0], v[1], self.zs, self.zt, lambda: -1), context: .inference()).value
            }
            XCTAssertTrue(bad.isEmpty, "entropy \(entropy), \(map): \(bad.prefix(4))")
        }
        let pure = GradientCheck.mismatches(inputs: [Tensor([[0.3], [-1.2]]), Tensor([[0.7], [2.0]])]) { v in
            cdanDomainLoss(
                sourceDomainLogits: v[0], targetDomainLogits: v[1], sourceWeights: Tensor([[0.3], [0.7]]), targetWeights: Tensor([[0.6], [0.4]]))
        }
        XCTAssertTrue(pure.isEmpty, "\(pure)")
    }

    func testCDANReversesTheFeatureGradientAndTrainsTheDiscriminator() {
        var rng = SeededGenerator(seed: 10)
        let strategy = CDANStrategy(featureSize: 2, classCount: 2, entropy: true, hidden: [8], rng: &rng)
        let inputs = [fs, ft].map { Variable($0, requiresGradient: true) }
        func featureGradient(lambda: Float) -> [Tensor] {
            gradients(of: strategy.loss(batch(inputs[0], inputs[1], zs, zt, lambda: lambda), context: .inference()).value, withRespectTo: inputs)
        }
        let plain = featureGradient(lambda: -1)  // identity backward: the discriminator's own gradient
        let reversed = featureGradient(lambda: 0.5)
        for (p, r) in zip(plain, reversed) {
            XCTAssertGreaterThan(p.abs().sum(), 1e-4, "the gradient reaching the features is non-zero")
            XCTAssertLessThan((r - p * -0.5).abs().max(), 1e-6, "reversed in sign and scaled by λ")
        }
        let d = strategy.discriminator.network.parameters[0].parameter
        let (_, g1) = valueWithGradients { strategy.loss(batch(inputs[0], inputs[1], zs, zt, lambda: 0.5), context: .inference()).value }
        let (_, g2) = valueWithGradients { strategy.loss(batch(inputs[0], inputs[1], zs, zt, lambda: 0.9), context: .inference()).value }
        XCTAssertGreaterThan(g1[d]!.abs().sum(), 1e-4)
        XCTAssertEqual(g1[d]!, g2[d]!, "the discriminator's gradient is not reversed")
    }

    func testTheConditioningSendsNoGradientIntoTheClassifier() throws {
        let model = Fixtures.model(seed: 3)
        let data = Fixtures.moons(seed: 3)
        for entropy in [false, true] {
            let strategy = try StrategyRegistry.builtIn.make(
                "cdan", options: StrategyOptions(["entropy": .bool(entropy)]), context: Fixtures.context(model)) as! CDANStrategy
            let rows = Array(0..<8)
            let source = model.forward(Variable(data.source.x.gathering(rows: rows)), context: .inference())
            let target = model.forward(Variable(data.target.x.gathering(rows: rows)), context: .inference())
            let batch = StrategyBatch(
                source: source, target: target, sourceLabels: rows.map { data.source.y![$0] }, targetIndices: rows, progress: 0.5,
                lambda: 0.7)
            let (_, grads) = valueWithGradients { strategy.loss(batch, context: .inference()).value }
            let head = model.parameters.filter { $0.path.hasPrefix("classifier") }
            let extractor = model.parameters.filter { $0.path.hasPrefix("features") }
            XCTAssertFalse(head.isEmpty)
            for p in head { XCTAssertEqual(grads[p.parameter]?.abs().sum() ?? 0, 0, "\(p.path): the softmax in f ⊗ g is detached") }
            XCTAssertGreaterThan(extractor.map { grads[$0.parameter]?.abs().sum() ?? 0 }.reduce(0, +), 1e-6, "the features do get a gradient")
        }
    }

    // MARK: - MCC

    func testMCCByHand() {
        // T = 2.5, logits (2.5 ln 3, 0) and (0, 0): Ŷ = [[0.75, 0.25], [0.5, 0.5]].
        // 1 + e^{−H}: 1.569877, 1.5 (as for CDAN+E); W = 2·(1.569877, 1.5)/3.069877 = (1.022762, 0.977238).
        // C = Σ_i W_i Ŷ_iᵀ Ŷ_i:
        //   C00 = 1.022762·0.5625 + 0.977238·0.25 = 0.819613
        //   C01 = C10 = 1.022762·0.1875 + 0.977238·0.25 = 0.436077
        //   C11 = 1.022762·0.0625 + 0.977238·0.25 = 0.308232
        // C̃01 = 0.436077 / (0.819613 + 0.436077) = 0.347281;  C̃10 = 0.436077 / (0.436077 + 0.308232) = 0.585882
        // L = (0.347281 + 0.585882) / 2 = 0.466581
        let logits = Tensor([[2.5 * ln3, 0], [0, 0]])
        let probabilities = (logits / 2.5).softmax(axis: 1)
        assertClose(probabilities.scalars, [0.75, 0.25, 0.5, 0.5])
        assertClose(mccEntropyWeights(probabilities: probabilities).scalars, [1.022762, 0.977238])
        XCTAssertEqual(minimumClassConfusionLoss(targetLogits: Variable(logits), temperature: 2.5).value.scalar, 0.466581, accuracy: 1e-5)
        let strategy = MCCStrategy()
        XCTAssertEqual(strategy.temperature, 2.5)
        let result = strategy.loss(
            batch(Variable(Tensor([[0, 0]])), Variable(Tensor([[0, 0], [0, 0]])), Tensor([[5, -5]]), logits), context: .inference())
        XCTAssertEqual(result.value.value.scalar, 0.466581, accuracy: 1e-5, "target logits only")
        XCTAssertEqual(result.terms["classConfusion"]!, 0.466581, accuracy: 1e-5)
        // No confusion for one-hot, disagreeing rows; uniform rows: C̃ = 1/C everywhere, L = (C − 1)/C.
        XCTAssertEqual(classConfusionLoss(probabilities: Variable(Tensor([[1, 0], [0, 1]])), weights: Tensor([[1], [1]])).value.scalar, 0)
        let uniform = Tensor(repeating: 1.0 / 3, shape: [4, 3])
        XCTAssertEqual(classConfusionLoss(probabilities: Variable(uniform), weights: .ones([4, 1])).value.scalar, 2.0 / 3, accuracy: 1e-6)
    }

    func testMCCGradientWithRespectToLogitsMatchesFiniteDifferences() {
        let logits = Fixtures.tensor([5, 3], seed: 21, scale: 2)
        let temperature: Float = 2.5
        // The weights are detached (authors' code): check the rest of the chain with them held fixed …
        let weights = mccEntropyWeights(probabilities: (logits / temperature).softmax(axis: 1))
        let bad = GradientCheck.mismatches(inputs: [logits], step: 1e-2, rtol: 3e-2, atol: 1e-3) { v in
            classConfusionLoss(probabilities: (v[0] / temperature).softmax(axis: 1), weights: weights)
        }
        XCTAssertTrue(bad.isEmpty, "\(bad.prefix(4))")
        // … and the full loss's gradient is exactly that one: no gradient through the weights.
        let z = Variable(logits, requiresGradient: true)
        let full = gradients(of: minimumClassConfusionLoss(targetLogits: z, temperature: temperature), withRespectTo: [z])[0]
        let fixed = gradients(of: classConfusionLoss(probabilities: (z / temperature).softmax(axis: 1), weights: weights), withRespectTo: [z])[0]
        XCTAssertGreaterThan(full.abs().sum(), 1e-4)
        XCTAssertLessThan((full - fixed).abs().max(), 1e-6)
    }

    // MARK: - Registry and composition

    func testRegistryEntries() throws {
        let registry = StrategyRegistry.builtIn
        let cdan = try registry.entry(named: "cdan")
        XCTAssertEqual(cdan.defaultSchedule, .dannRamp(gamma: 10))
        XCTAssertTrue(cdan.paper.contains("NeurIPS 2018"))
        let mcc = try registry.entry(named: "mcc")
        XCTAssertEqual(mcc.defaultSchedule, .constant)
        XCTAssertTrue(mcc.paper.contains("ECCV 2020"))
        let docs = registry.documentation(names: ["cdan", "mcc"])
        for text in ["entropy", "randomDimension", "= 1024", "temperature", "= 2.5", "Conditional Adversarial Domain Adaptation"] {
            XCTAssertTrue(docs.contains(text), "\(text) missing from:\n\(docs)")
        }
        let context = StrategyContext(featureSize: 15, classCount: 2, rng: SeededGenerator(seed: 0))
        let made = try registry.make("cdan", options: StrategyOptions(), context: context) as! CDANStrategy
        XCTAssertFalse(made.entropyConditioning)
        XCTAssertEqual(made.discriminator.inputSize, 30, "f ⊗ g: 15 × 2")
        XCTAssertEqual(made.discriminator.hidden, [60])
        XCTAssertThrowsError(try registry.make("mcc", options: StrategyOptions(["temperature": .number(0)]), context: context))
        XCTAssertThrowsError(try registry.make("cdan", options: StrategyOptions(["map": .string("bilinear")]), context: context))
        let hot = try registry.make("mcc", options: StrategyOptions(["temperature": .number(1)]), context: context) as! MCCStrategy
        XCTAssertEqual(hot.temperature, 1)
    }

    func testMCCComposesWithDANNAndCDANTrains() throws {
        let model = Fixtures.model(seed: 1)
        let context = Fixtures.context(model)
        let registry = StrategyRegistry.builtIn
        let configuration = TrainerConfiguration(
            epochs: 3, batchSize: 32, optimizer: OptimizerConfiguration(learningRate: 0.05, momentum: 0.9), seed: 1)
        let terms = [try registry.makeTerm("dann", context: context), try registry.makeTerm("mcc", weight: 0.5, context: context)]
        let result = try Trainer(model: model, dataset: Fixtures.moons(), configuration: configuration, strategies: terms).run()
        for epoch in result.epochs {
            let l = epoch.losses
            // dann puts λ inside its graph (factor = weight = 1); mcc's λ is constant 1.
            let expected = l["source.crossEntropy"]! + l["dann"]! + 0.5 * l["mcc"]!
            XCTAssertEqual(l["total"]!, expected, accuracy: 1e-5 * max(1, abs(expected)))
            XCTAssertNotNil(l["mcc.classConfusion"])
        }
        let cdanModel = Fixtures.model(seed: 2)
        let cdanTerms = [
            try registry.makeTerm("cdan", options: StrategyOptions(["entropy": .bool(true)]), context: Fixtures.context(cdanModel))
        ]
        let cdanResult = try Trainer(model: cdanModel, dataset: Fixtures.moons(), configuration: configuration, strategies: cdanTerms).run()
        XCTAssertNotNil(cdanResult.epochs.last!.losses["cdan.domain"])
        XCTAssertTrue(cdanResult.finalTarget!.accuracy.isFinite)
    }
}
