import Adaptation
import NN
import TensorCore
import TestSupport
import XCTest

/// Finite-difference checks of every strategy loss, and the direction of the adversarial gradients.
final class StrategyGradientTests: XCTestCase {
    private let fs = Fixtures.tensor([4, 3], seed: 1)
    private let ft = Fixtures.tensor([4, 3], seed: 2, scale: 1.5) + 0.5
    private let zs = Fixtures.tensor([4, 2], seed: 3)
    private let zt = Fixtures.tensor([4, 2], seed: 4)

    /// A batch whose features and logits are the given Variables.
    private func batch(_ v: [Variable], lambda: Float = 1) -> StrategyBatch {
        StrategyBatch(
            sourceFeatures: v[0], targetFeatures: v[1], sourceLogits: v[2], targetLogits: v[3], sourceLabels: [0, 1, 1, 0],
            targetIndices: [0, 1, 2, 3], progress: 0.5, lambda: lambda)
    }

    private func assertGradientsMatch(
        _ strategy: any AdaptationStrategy, lambda: Float = 1, file: StaticString = #filePath, line: UInt = #line
    ) {
        let mismatches = GradientCheck.mismatches(inputs: [fs, ft, zs, zt], step: 1e-2, rtol: 3e-2, atol: 3e-3) { v in
            strategy.loss(self.batch(v, lambda: lambda), context: .inference()).value
        }
        XCTAssertTrue(mismatches.isEmpty, "\(strategy.name): \(mismatches.prefix(4))", file: file, line: line)
    }

    /// Central finite differences of `loss()` with respect to each element of `parameter`.
    private func parameterMismatches(_ parameter: Parameter, _ loss: () -> Variable) -> [String] {
        let (_, grads) = valueWithGradients { loss() }
        guard let analytic = grads[parameter] else { return ["no gradient"] }
        var found: [String] = []
        let h: Float = 1e-2
        for i in 0..<parameter.value.count {
            let original = parameter.value.scalars[i]
            parameter.value.scalars[i] = original + h
            let plus = loss().value.scalar
            parameter.value.scalars[i] = original - h
            let minus = loss().value.scalar
            parameter.value.scalars[i] = original
            let numeric = (plus - minus) / (2 * h)
            if abs(numeric - analytic.scalars[i]) > 3e-3 + 3e-2 * abs(numeric) {
                found.append("element \(i): autodiff \(analytic.scalars[i]) vs \(numeric)")
            }
        }
        return found
    }

    private func dann(hidden: [Int]) -> DANNStrategy {
        var rng = SeededGenerator(seed: 11)
        return DANNStrategy(layer: .features, inputSize: 3, hidden: hidden, rng: &rng)
    }

    func testDANNGradientMatchesFiniteDifferencesWithoutReversal() {
        // λ = −1 turns the reversal layer into the identity backward, so autodiff must equal the
        // finite-difference gradient of the domain loss.
        assertGradientsMatch(dann(hidden: []), lambda: -1)
        let pure = GradientCheck.mismatches(inputs: [Tensor([[0.3], [-1.2]]), Tensor([[0.7]])]) { v in
            dannDomainLoss(sourceDomainLogits: v[0], targetDomainLogits: v[1])
        }
        XCTAssertTrue(pure.isEmpty, "\(pure)")
    }

    func testDANNReversesTheFeatureGradientAndScalesItByLambda() {
        let strategy = dann(hidden: [8])
        let inputs = [fs, ft, zs, zt].map { Variable($0, requiresGradient: true) }
        func featureGradient(lambda: Float) -> [Tensor] {
            let loss = strategy.loss(batch(inputs, lambda: lambda), context: .inference()).value
            return gradients(of: loss, withRespectTo: [inputs[0], inputs[1]])
        }
        // What the discriminator's own objective sends into the features (no reversal layer).
        let n = inputs[0].shape[0]
        let logits = strategy.discriminator(Variable.concatenate([inputs[0], inputs[1]], axis: 0), context: .inference())
        let direct = dannDomainLoss(
            sourceDomainLogits: logits.slice(axis: 0, 0..<n), targetDomainLogits: logits.slice(axis: 0, n..<logits.shape[0]))
        let plain = gradients(of: direct, withRespectTo: [inputs[0], inputs[1]])
        let reversed = featureGradient(lambda: 0.5)
        for (p, r) in zip(plain, reversed) {
            XCTAssertGreaterThan(p.abs().sum(), 1e-4, "the gradient reaching the features is non-zero")
            XCTAssertLessThan((r - p * -0.5).abs().max(), 1e-6, "reversed in sign and scaled by λ")
        }
        // The discriminator's own gradient is not reversed: it is the same for every λ.
        let d = strategy.discriminator.network.parameters[0].parameter
        let (_, g1) = valueWithGradients { strategy.loss(batch(inputs, lambda: 0.5), context: .inference()).value }
        let (_, g2) = valueWithGradients { strategy.loss(batch(inputs, lambda: 0.9), context: .inference()).value }
        XCTAssertGreaterThan(g1[d]!.abs().sum(), 1e-4)
        XCTAssertEqual(g1[d]!, g2[d]!)
    }

    func testDANNDiscriminatorGradientMatchesFiniteDifferences() {
        let strategy = dann(hidden: [])
        let v = [fs, ft, zs, zt].map { Variable($0) }
        for p in strategy.parameters {
            let bad = parameterMismatches(p.parameter) { strategy.loss(batch(v, lambda: 0.7), context: .inference()).value }
            XCTAssertTrue(bad.isEmpty, "\(p.path): \(bad.prefix(3))")
        }
    }

    func testDomainConfusionGradients() {
        var rng = SeededGenerator(seed: 12)
        let strategy = DomainConfusionStrategy(inputSize: 3, hidden: [], rng: &rng)
        assertGradientsMatch(strategy)
        // The confusion loss sends a non-zero gradient into the features …
        let inputs = [fs, ft, zs, zt].map { Variable($0, requiresGradient: true) }
        let confusion = strategy.loss(batch(inputs), context: .inference()).value
        for g in gradients(of: confusion, withRespectTo: [inputs[0], inputs[1]]) { XCTAssertGreaterThan(g.abs().sum(), 1e-4) }
        // … and is never used to update the discriminator (its joint parameters are empty).
        XCTAssertTrue(strategy.jointParameters.isEmpty)
        // The inner (discriminator) step reads detached features: no gradient reaches them,
        // and its gradient for the discriminator matches finite differences.
        let inner = strategy.innerStep(batch(inputs), context: .inference())!
        for g in gradients(of: inner.loss, withRespectTo: [inputs[0], inputs[1]]) { XCTAssertEqual(g.abs().sum(), 0) }
        let plain = [fs, ft, zs, zt].map { Variable($0) }
        for p in inner.parameters {
            let bad = parameterMismatches(p.parameter) { strategy.innerStep(batch(plain), context: .inference())!.loss }
            XCTAssertTrue(bad.isEmpty, "\(p.path): \(bad.prefix(3))")
        }
        let pure = GradientCheck.mismatches(inputs: [zs, zt]) { v in domainConfusionLoss(sourceDomainLogits: v[0], targetDomainLogits: v[1]) }
        XCTAssertTrue(pure.isEmpty, "\(pure)")
    }

    func testMMDVariantsGradients() throws {
        let registry = StrategyRegistry.builtIn
        let context = StrategyContext(featureSize: 3, classCount: 2, rng: SeededGenerator(seed: 0))
        // Fixed bandwidths only: the median/mean rules compute σ from detached values, so a finite
        // difference (which moves σ with the data) and autodiff (which holds it) differ by design.
        let fixed: [String: OptionValue] = ["bandwidthRule": .string("fixed"), "sigma": .number(1.5)]
        for (name, options) in [
            ("mmd", fixed), ("mmd", fixed.merging(["estimator": .string("biased")]) { $1 }),
            ("mmd", fixed.merging(["estimator": .string("linear")]) { $1 }), ("ddc", [:]), ("dan", fixed),
            ("mmd", ["kernel": .string("linear"), "estimator": .string("unbiased"), "layers": .list([.string("features"), .string("logits")])]),
        ] as [(String, [String: OptionValue])] {
            assertGradientsMatch(try registry.make(name, options: StrategyOptions(options), context: context))
        }
    }

    func testCORALEntropyAndTargetLossGradients() {
        assertGradientsMatch(CORALStrategy(layer: .features))
        assertGradientsMatch(CORALStrategy())
        assertGradientsMatch(EntropyMinimizationStrategy())
        let pseudo = GradientCheck.mismatches(inputs: [zt]) { v in pseudoLabelLoss(targetLogits: v[0], pseudoLabels: [1, nil, 0, 0]) }
        XCTAssertTrue(pseudo.isEmpty, "\(pseudo)")
        let target = GradientCheck.mismatches(inputs: [zt]) { v in grantedTargetCrossEntropy(logits: v[0], labels: [1, 0, 0, 1]) }
        XCTAssertTrue(target.isEmpty, "\(target)")
    }
}
