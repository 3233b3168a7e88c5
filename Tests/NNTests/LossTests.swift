import Foundation
import NN
import TensorCore
import TestSupport
import XCTest

/// Every loss: a hand-computed value (cross-checked with PyTorch's functional losses) and a
/// finite-difference gradient check.
final class LossTests: XCTestCase {
    private var rng = SeededGenerator(seed: 31)
    private let logits = Tensor([[2, 1, 0], [0, 0, 0]])

    private func checkGradients(
        _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line, _ f: ([Variable]) -> Variable
    ) {
        let bad = GradientCheck.mismatches(inputs: inputs, f)
        XCTAssertTrue(bad.isEmpty, "\(bad.count) mismatches, e.g. \(bad.prefix(3))", file: file, line: line)
    }

    func testCrossEntropyValues() {
        // ℓ0 = log(1 + e⁻¹ + e⁻²), ℓ1 = log 3.
        XCTAssertEqual(Loss.crossEntropy(logits: Variable(logits), labels: [0, 2]).value.scalar, 0.753_109_1, accuracy: 1e-6)
        XCTAssertEqual(
            Loss.crossEntropy(logits: Variable(logits), labels: [0, 2], weights: [2, 0.5]).value.scalar, 0.682_259_0,
            accuracy: 1e-6)
        XCTAssertEqual(
            Loss.crossEntropy(logits: Variable(logits), labels: [0, 2], labelSmoothing: 0.3).value.scalar, 0.903_109_1,
            accuracy: 1e-6)
        // Stable for huge logits: a confident right answer costs ~0, a confident wrong one ~1000.
        let huge = Tensor([[1000, -1000], [1000, -1000]])
        let ce = Loss.crossEntropy(logits: Variable(huge), labels: [0, 1]).value.scalar
        XCTAssertEqual(ce, 1000, accuracy: 1e-2)
    }

    func testCrossEntropyGradients() {
        let z = Tensor.normal([4, 5], rng: &rng) * 2
        let labels = [0, 4, 2, 2]
        checkGradients([z]) { Loss.crossEntropy(logits: $0[0], labels: labels) }
        checkGradients([z]) { Loss.crossEntropy(logits: $0[0], labels: labels, weights: [1, 0, 2.5, 0.3]) }
        checkGradients([z]) { Loss.crossEntropy(logits: $0[0], labels: labels, labelSmoothing: 0.1) }
        checkGradients([z]) { Loss.crossEntropy(logits: $0[0], labels: labels, weights: [1, 2, 3, 4], labelSmoothing: 0.2) }
        // The analytic gradient: (softmax − onehot)/N.
        let v = Variable(z, requiresGradient: true)
        let g = gradients(of: Loss.crossEntropy(logits: v, labels: labels), withRespectTo: [v])[0]
        let expected = (z.softmax(axis: 1) - Tensor.oneHot(labels, classCount: 5)) / 4
        XCTAssertLessThan(g.maxAbsDifference(expected), 1e-6)
    }

    func testSoftCrossEntropyMatchesHardLabelsAndChecksGradient() {
        let z = Tensor.normal([3, 4], rng: &rng)
        let hard = Loss.crossEntropy(logits: Variable(z), labels: [1, 3, 0]).value.scalar
        let soft = Loss.softCrossEntropy(logits: Variable(z), targets: Tensor.oneHot([1, 3, 0], classCount: 4)).value.scalar
        XCTAssertEqual(hard, soft, accuracy: 1e-6)
        let targets = Tensor.uniform([3, 4], low: 0.1, high: 1, rng: &rng)
        let normalized = targets / targets.sum(axis: 1, keepDims: true)
        checkGradients([z]) { Loss.softCrossEntropy(logits: $0[0], targets: normalized) }
    }

    func testBinaryCrossEntropy() {
        let z = Tensor([0, 2, -3, 1000, -1000])
        let t = Tensor([1, 0, 1, 1, 0])
        let loss = Loss.binaryCrossEntropy(logits: Variable(z), targets: t)
        XCTAssertEqual(loss.value.scalar, 1.173_732_5, accuracy: 1e-5)
        // Gradient (σ(z) − t)/n, finite even at ±1000.
        let v = Variable(z, requiresGradient: true)
        let g = gradients(of: Loss.binaryCrossEntropy(logits: v, targets: t), withRespectTo: [v])[0]
        XCTAssertTrue(g.isFinite)
        XCTAssertLessThan(g.maxAbsDifference((z.sigmoid() - t) / 5), 1e-7)
        let z2 = Tensor.normal([3, 2], rng: &rng) * 3
        let t2 = Tensor.uniform([3, 2], rng: &rng)
        checkGradients([z2]) { Loss.binaryCrossEntropy(logits: $0[0], targets: t2) }
        // Targets may be given flat for N×1 logits.
        checkGradients([Tensor.normal([4, 1], rng: &rng)]) { Loss.binaryCrossEntropy(logits: $0[0], targets: Tensor([1, 0, 0, 1])) }
        // A scaled upstream gradient is respected.
        checkGradients([z2]) { Loss.binaryCrossEntropy(logits: $0[0], targets: t2) * 3 }
    }

    func testMeanSquaredError() {
        XCTAssertEqual(Loss.meanSquaredError(Variable(Tensor([1, 2, 3])), Tensor([0, 2, 5])).value.scalar, 5.0 / 3, accuracy: 1e-6)
        let x = Tensor.normal([3, 2], rng: &rng), y = Tensor.normal([3, 2], rng: &rng)
        checkGradients([x]) { Loss.meanSquaredError($0[0], y) }
    }

    func testEntropy() {
        let z = Tensor([[0, 0], [Float(log(3.0)), 0]])
        XCTAssertEqual(Loss.entropy(logits: Variable(z)).value.scalar, 0.627_741_2, accuracy: 1e-6)
        checkGradients([Tensor.normal([4, 3], rng: &rng)]) { Loss.entropy(logits: $0[0]) }
        // Maximal for uniform logits: log K.
        XCTAssertEqual(Loss.entropy(logits: Variable(Tensor.zeros([2, 5]))).value.scalar, Float(log(5.0)), accuracy: 1e-6)
    }

    func testGradientReversalInsideALoss() {
        // A domain loss through gradient reversal: the gradient reaching the features is −λ times
        // the gradient without reversal.
        let features = Tensor.normal([4, 3], rng: &rng)
        let w = Tensor.normal([3, 1], rng: &rng)
        let domains = Tensor([0, 1, 0, 1])
        func featureGradient(_ reversed: Bool) -> Tensor {
            let f = Variable(features, requiresGradient: true)
            let input = reversed ? f.gradientReversal(lambda: 0.5) : f
            let loss = Loss.binaryCrossEntropy(logits: Variable.matmul(input, Variable(w)), targets: domains)
            return gradients(of: loss, withRespectTo: [f])[0]
        }
        let plain = featureGradient(false)
        XCTAssertGreaterThan(plain.abs().max(), 0)
        XCTAssertLessThan(featureGradient(true).maxAbsDifference(plain * -0.5), 1e-7)
    }
}
