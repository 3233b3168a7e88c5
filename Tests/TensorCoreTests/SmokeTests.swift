import TensorCore
import TestSupport
import XCTest

final class SmokeTests: XCTestCase {
    func testMatmulAndSoftmaxGradients() {
        var rng = SeededGenerator(seed: 1)
        let a = Tensor.normal([3, 4], rng: &rng)
        let b = Tensor.normal([4, 5], rng: &rng)
        let bad = GradientCheck.mismatches(inputs: [a, b]) { v in
            Variable.matmul(v[0], v[1]).logSoftmax(axis: 1)
        }
        XCTAssertEqual(bad.count, 0, "\(bad.prefix(3))")
    }
}
