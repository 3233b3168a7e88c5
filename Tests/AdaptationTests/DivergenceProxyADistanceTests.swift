import Adaptation
import Foundation
import TensorCore
import XCTest

final class DivergenceProxyADistanceTests: XCTestCase {
    func testNearZeroForSameDistribution() {
        var rng = SeededGenerator(seed: 21)
        let a = Tensor.normal([400, 4], rng: &rng)
        let b = Tensor.normal([500, 4], rng: &rng)
        let pad = ProxyADistance.estimate(source: a, target: b, seed: 1)
        XCTAssertEqual(pad.trainingCountPerDomain, 200)
        XCTAssertEqual(pad.testCountPerDomain, 200)
        XCTAssertEqual(pad.heldOutError, 0.5, accuracy: 0.07)
        XCTAssertEqual(pad.rawDistance, 2 * (1 - 2 * pad.heldOutError), accuracy: 1e-12)
        XCTAssertEqual(pad.distance, Swift.min(2, Swift.max(0, pad.rawDistance)), accuracy: 1e-12)
        XCTAssertLessThan(pad.distance, 0.3)
        XCTAssertEqual(ProxyADistance.estimate(source: a, target: b, seed: 1), pad)  // seeded
    }

    func testNearTwoForSeparatedDomainsAndGrowsWithShift() {
        var rng = SeededGenerator(seed: 22)
        let a = Tensor.normal([300, 4], rng: &rng)
        let b = Tensor.normal([300, 4], rng: &rng)
        let far = ProxyADistance.estimate(source: a, target: b + 4, seed: 2)
        XCTAssertGreaterThan(far.distance, 1.95)
        XCTAssertLessThan(far.heldOutError, 0.0125)
        let near = ProxyADistance.estimate(source: a, target: b + 0.5, seed: 2)
        XCTAssertGreaterThan(near.distance, 0.5)
        XCTAssertLessThan(near.distance, far.distance)
    }

    func testMaxSamplesAndFlattening() {
        var rng = SeededGenerator(seed: 23)
        let a = Tensor.normal([50, 2, 2, 2], rng: &rng)
        let b = Tensor.normal([60, 2, 2, 2], mean: 3, rng: &rng)
        let pad = ProxyADistance.estimate(source: a, target: b, seed: 3, maxSamplesPerDomain: 21)
        XCTAssertEqual(pad.trainingCountPerDomain, 10)
        XCTAssertEqual(pad.testCountPerDomain, 11)
        XCTAssertGreaterThan(pad.distance, 1.5)
    }

    func testMLPSeesWhatALinearClassifierCannot() {
        // Source on a circle of radius 1, target on a ring of radius 3, same centre: no hyperplane
        // separates them, one hidden layer does.
        var rng = SeededGenerator(seed: 25)
        func ring(_ radius: Float, _ n: Int) -> Tensor {
            Tensor(shape: [n, 2], scalars: (0..<n).flatMap { _ -> [Float] in
                let angle = rng.uniform(0, 2 * Float.pi), r = radius + 0.1 * rng.nextNormal()
                return [r * Foundation.cos(angle), r * Foundation.sin(angle)]
            })
        }
        let s = ring(1, 300), t = ring(3, 300)
        let linear = ProxyADistance.estimate(source: s, target: t, seed: 4)
        let mlp = ProxyADistance.estimate(
            source: s, target: t, seed: 4, options: .init(iterations: 500, learningRate: 0.01, l2: 1e-4, hiddenUnits: 16))
        XCTAssertLessThan(linear.distance, 0.5)
        XCTAssertGreaterThan(mlp.distance, 1.8)
    }

    func testDomainClassifierLearnsTheLogOdds() {
        // Source N(0, 1), target N(1, 1) in 1-D: log p_T/p_S = x − 1/2, linear, so logistic
        // regression is well specified.
        var rng = SeededGenerator(seed: 24)
        let s = Tensor.normal([3000, 1], rng: &rng)
        let t = Tensor.normal([3000, 1], mean: 1, rng: &rng)
        let classifier = DomainClassifier(source: s, target: t, options: .init(iterations: 400, learningRate: 0.05, l2: 0))
        let logits = classifier.logits(Tensor(shape: [3, 1], scalars: [-1, 0, 2]))
        XCTAssertEqual(logits[0], -1.5, accuracy: 0.12)
        XCTAssertEqual(logits[1], -0.5, accuracy: 0.08)
        XCTAssertEqual(logits[2], 1.5, accuracy: 0.15)
    }
}
