import Adaptation
import Foundation
import TensorCore
import XCTest

final class MetricsNegativeTransferTests: XCTestCase {
    func testArithmetic() {
        XCTAssertEqual(NegativeTransfer.gap(transferTargetError: 0.3, targetOnlyTargetError: 0.2), 0.1, accuracy: 1e-12)
        XCTAssertEqual(NegativeTransfer.gain(adaptedTargetAccuracy: 0.8, sourceOnlyTargetAccuracy: 0.6), 0.2, accuracy: 1e-12)
        XCTAssertEqual(NegativeTransfer.forgetting(sourceAccuracyBefore: 0.95, sourceAccuracyAfter: 0.9), 0.05, accuracy: 1e-12)
        // Adapted 0.7 on target; target-only 0.9 → errors 0.3 − 0.1: negative transfer of 0.2.
        let n = NegativeTransfer(
            adaptedTargetAccuracy: 0.7, targetOnlyTargetAccuracy: 0.9, sourceOnlyTargetAccuracy: 0.55,
            sourceAccuracyBefore: 0.98, sourceAccuracyAfter: 0.96)
        XCTAssertEqual(n.negativeTransferGap!, 0.2, accuracy: 1e-12)
        XCTAssertEqual(n.gainOverSourceOnly!, 0.15, accuracy: 1e-12)
        XCTAssertEqual(n.forgetting!, 0.02, accuracy: 1e-12)
        let partial = NegativeTransfer(adaptedTargetAccuracy: 0.7, sourceOnlyTargetAccuracy: 0.75)
        XCTAssertNil(partial.negativeTransferGap)
        XCTAssertNil(partial.forgetting)
        XCTAssertEqual(partial.gainOverSourceOnly!, -0.05, accuracy: 1e-12)
    }
}

final class MetricsModelSelectionTests: XCTestCase {
    func testDEVWithUnitWeightsIsThePlainMean() {
        let dev = ModelSelection.deepEmbeddedValidation(losses: [1, 2, 3, 6], weights: [1, 1, 1, 1])
        XCTAssertEqual(dev.risk, 3, accuracy: 1e-12)
        XCTAssertEqual(dev.eta, 0)
        XCTAssertEqual(dev.meanWeight, 1)
    }

    func testDEVHandComputed() {
        // L = w·ℓ = [0.5, 2, 4.5, 8], mean 3.75; mean W = 1.25; Cov(L, W) = 6.25/3, Var(W) = 1.25/3
        // → η = −5; R = 3.75 − 5·1.25 + 5 = 2.5.
        let dev = ModelSelection.deepEmbeddedValidation(losses: [1, 2, 3, 4], weights: [0.5, 1, 1.5, 2])
        XCTAssertEqual(dev.weightedRisk, 3.75, accuracy: 1e-12)
        XCTAssertEqual(dev.meanWeight, 1.25, accuracy: 1e-12)
        XCTAssertEqual(dev.eta, -5, accuracy: 1e-12)
        XCTAssertEqual(dev.risk, 2.5, accuracy: 1e-12)
    }

    func testImportanceWeightsFollowTheDensityRatio() {
        // Source N(0, 1), target N(1, 1): p_T/p_S (x) = exp(x − 1/2), and n_s/n_t = 2 is undone.
        var rng = SeededGenerator(seed: 31)
        let s = Tensor.normal([4000, 1], rng: &rng)
        let t = Tensor.normal([2000, 1], mean: 1, rng: &rng)
        let w = ModelSelection.importanceWeights(
            sourceTrainingFeatures: s, targetFeatures: t, sourceValidationFeatures: Tensor(shape: [2, 1], scalars: [0, 1]),
            options: .init(iterations: 400, learningRate: 0.05, l2: 0))
        XCTAssertEqual(Foundation.log(w[0]), -0.5, accuracy: 0.1)
        XCTAssertEqual(Foundation.log(w[1]), 0.5, accuracy: 0.1)
    }

    func testEntropyCrossEntropyAndChoice() {
        let logits = Tensor([[0, 0], [100, 0]])
        XCTAssertEqual(ModelSelection.meanEntropy(logits: logits), Foundation.log(2) / 2, accuracy: 1e-6)
        let ce = ModelSelection.perSampleCrossEntropy(logits: logits, labels: [0, 1])
        XCTAssertEqual(ce[0], Foundation.log(2), accuracy: 1e-6)
        XCTAssertEqual(ce[1], 100, accuracy: 1e-3)
        XCTAssertEqual(ModelSelection.sourceValidationAccuracy(logits: logits, labels: [0, 1]), 0.5)
        let choice = ModelSelection.choose([
            .init(sourceValidationAccuracy: 0.9, devRisk: 0.5, targetEntropy: 0.2, oracleTargetAccuracy: 0.6),
            .init(sourceValidationAccuracy: 0.8, devRisk: 0.3, targetEntropy: 0.4, oracleTargetAccuracy: 0.7),
        ])
        XCTAssertEqual(choice, ModelSelection.Choice(bySourceValidation: 0, byDEV: 1, byEntropy: 0, byOracle: 1))
    }
}
