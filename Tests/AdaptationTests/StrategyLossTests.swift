import Adaptation
import NN
import TensorCore
import XCTest

/// Every strategy loss against values computed by hand on tiny inputs.
final class StrategyLossTests: XCTestCase {
    private let ln2 = Float(log(2.0))
    private let ln3 = Float(log(3.0))

    func testDANNDomainLossIsSumOfPerDomainMeans() {
        // Source (label 0): BCE(0, 0) = ln 2, BCE(ln 3, 0) = −ln(1 − 3/4) = ln 4 → mean 1.5 ln 2.
        // Target (label 1): BCE(0, 1) = ln 2. Sum: 2.5 ln 2.
        let loss = dannDomainLoss(
            sourceDomainLogits: Variable(Tensor([[0], [ln3]])), targetDomainLogits: Variable(Tensor([[0]])))
        XCTAssertEqual(loss.value.scalar, 2.5 * ln2, accuracy: 1e-5)
    }

    func testDomainClassifierAndConfusionLosses() {
        let s = Variable(Tensor([[0, 0]])), t = Variable(Tensor([[0, ln3]]))
        // True domains: source row → −log ½ = ln 2; target row (domain 1, q = ¾) → ln(4/3).
        let classifier = domainClassifierLoss(sourceDomainLogits: s, targetDomainLogits: t)
        XCTAssertEqual(classifier.value.scalar, (ln2 + Float(log(4.0 / 3.0))) / 2, accuracy: 1e-5)
        // Uniform target: row 1 → ln 2; row 2 → −½(log ¼ + log ¾) = ½(ln 4 + ln 4/3).
        let confusion = domainConfusionLoss(sourceDomainLogits: s, targetDomainLogits: t)
        let row2 = (Float(log(4.0)) + Float(log(4.0 / 3.0))) / 2
        XCTAssertEqual(confusion.value.scalar, (ln2 + row2) / 2, accuracy: 1e-5)
        // Minimal (ln 2) exactly when the discriminator cannot tell the domains apart.
        let confused = domainConfusionLoss(sourceDomainLogits: Variable(Tensor([[1, 1]])), targetDomainLogits: Variable(Tensor([[-2, -2]])))
        XCTAssertEqual(confused.value.scalar, ln2, accuracy: 1e-6)
    }

    func testMMDAdaptationLossSumsLayers() {
        // Linear kernel, biased: ‖mean S − mean T‖². Layer 1: means (1, 0) and (1, 2) → 4.
        // Layer 2: means 2 and 0 → 4. Sum 8.
        let (total, perLayer) = mmdAdaptationLoss(
            source: [Variable(Tensor([[0, 0], [2, 0]])), Variable(Tensor([[1], [3]]))],
            target: [Variable(Tensor([[1, 1], [1, 3]])), Variable(Tensor([[0], [0]]))], kernel: .linear, estimator: .biased)
        XCTAssertEqual(total.value.scalar, 8, accuracy: 1e-5)
        XCTAssertEqual(perLayer.map(\.value.scalar), [4, 4])
        // One Gaussian kernel σ = 1 between single points 0 and 1: 1 + 1 − 2e^{−½}.
        let gaussian = mmdAdaptationLoss(
            source: [Variable(Tensor([[0]]))], target: [Variable(Tensor([[1]]))], kernel: .gaussian(.fixed(sigma: 1)), estimator: .biased)
        XCTAssertEqual(gaussian.total.value.scalar, 2 - 2 * Float(exp(-0.5)), accuracy: 1e-5)
    }

    func testMMDStrategyReadsTheChosenLayers() throws {
        let strategy = try StrategyRegistry.builtIn.make(
            "mmd", options: StrategyOptions(["kernel": .string("linear"), "estimator": .string("biased"), "layers": .list([.string("logits")])]),
            context: StrategyContext(featureSize: 2, classCount: 1, rng: SeededGenerator(seed: 0)))
        let batch = StrategyBatch(
            sourceFeatures: Variable(Tensor([[9, 9], [9, 9]])), targetFeatures: Variable(Tensor([[0, 0], [0, 0]])),
            sourceLogits: Variable(Tensor([[1], [3]])), targetLogits: Variable(Tensor([[0], [0]])), sourceLabels: [0, 0])
        let loss = strategy.loss(batch, context: .inference())
        XCTAssertEqual(loss.value.value.scalar, 4, accuracy: 1e-5, "only the logits (means 2 vs 0) count")
        XCTAssertEqual(loss.terms["logits"], 4)
    }

    func testCORALStrategy() {
        // 1-D: unbiased variances 2 (source 0, 2) and 8 (target 0, 4); (2 − 8)² / (4·1²) = 9.
        let batch = StrategyBatch(
            sourceFeatures: Variable(Tensor([[0], [2]])), targetFeatures: Variable(Tensor([[0], [4]])),
            sourceLogits: Variable(Tensor([[0], [2]])), targetLogits: Variable(Tensor([[0], [4]])), sourceLabels: [0, 0])
        XCTAssertEqual(CORALStrategy(layer: .features).loss(batch, context: .inference()).value.value.scalar, 9, accuracy: 1e-5)
        XCTAssertEqual(CORALStrategy().loss(batch, context: .inference()).value.value.scalar, 9, accuracy: 1e-5, "default layer: logits")
    }

    func testEntropyLoss() {
        // Rows: uniform → ln 2; (¼, ¾) → −(¼ ln ¼ + ¾ ln ¾).
        let h = targetEntropyLoss(targetLogits: Variable(Tensor([[0, 0], [0, ln3]])))
        let row2 = -(0.25 * Float(log(0.25)) + 0.75 * Float(log(0.75)))
        XCTAssertEqual(h.value.scalar, (ln2 + row2) / 2, accuracy: 1e-5)
    }

    func testPseudoLabelLossDividesByBatchSize() {
        // Kept rows 0 (label 0: ln 2) and 1 (label 1: −log ¾); row 2 unlabelled; divided by 3.
        let loss = pseudoLabelLoss(targetLogits: Variable(Tensor([[0, 0], [0, ln3], [5, 5]])), pseudoLabels: [0, 1, nil])
        XCTAssertEqual(loss.value.scalar, (ln2 + Float(log(4.0 / 3.0))) / 3, accuracy: 1e-5)
        XCTAssertEqual(pseudoLabelLoss(targetLogits: Variable(Tensor([[1, 2]])), pseudoLabels: [nil]).value.scalar, 0)
    }

    func testTargetOnlyLoss() {
        XCTAssertEqual(grantedTargetCrossEntropy(logits: Variable(Tensor([[0, ln3]])), labels: [0]).value.scalar, Float(log(4.0)), accuracy: 1e-5)
    }

    func testPseudoLabelSelection() {
        let p = Tensor([[0.95, 0.05], [0.6, 0.4], [0.02, 0.98], [0.7, 0.3]])
        XCTAssertEqual(thresholdPseudoLabels(probabilities: p, threshold: 0.9), [0: 0, 2: 1])
        // Class 0 is predicted for rows 0 (.95), 3 (.7), 1 (.6): ⌈0.5·3⌉ = 2 kept → rows 0, 3.
        // Class 1 for row 2 only: ⌈0.5·1⌉ = 1 → row 2.
        XCTAssertEqual(classBalancedPseudoLabels(probabilities: p, fraction: 0.5), [0: 0, 3: 0, 2: 1])
        XCTAssertEqual(classBalancedPseudoLabels(probabilities: p, fraction: 0), [:])
    }

    func testSelfTrainingRoundSchedule() {
        let strategy = SelfTrainingStrategy(rounds: 10, warmup: 0.3, selection: .classBalanced, initialFraction: 0.2, fractionStep: 0.2, maxFraction: 0.8)
        XCTAssertEqual(strategy.round(at: 0.29), -1)
        XCTAssertEqual(strategy.round(at: 0.3), 0)
        XCTAssertEqual(strategy.round(at: 0.38), 1)
        XCTAssertEqual(strategy.round(at: 0.999), 9)
        XCTAssertEqual(strategy.fraction(round: 0), 0.2, accuracy: 1e-6)
        XCTAssertEqual(strategy.fraction(round: 2), 0.6, accuracy: 1e-6)
        XCTAssertEqual(strategy.fraction(round: 9), 0.8, accuracy: 1e-6)
    }

    func testSourceOnlyAddsNothing() {
        let batch = StrategyBatch(
            sourceFeatures: Variable(Tensor([[1]])), targetFeatures: Variable(Tensor([[2]])), sourceLogits: Variable(Tensor([[1, 0]])),
            targetLogits: Variable(Tensor([[0, 1]])), sourceLabels: [0])
        XCTAssertEqual(SourceOnlyStrategy().loss(batch, context: .inference()).value.value.scalar, 0)
    }
}
