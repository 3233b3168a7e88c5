import Adaptation
import Foundation
import TensorCore
import TestSupport
import XCTest

final class DivergenceCORALTests: XCTestCase {
    func testOneDimensionalHandComputed() {
        // Var{0, 1, 2} = 1, Var{1, 2, 4} = 7/3 (n − 1): (1 − 7/3)² / (4·1²) = 4/9.
        let s = Tensor(shape: [3, 1], scalars: [0, 1, 2])
        let t = Tensor(shape: [3, 1], scalars: [1, 2, 4])
        XCTAssertEqual(CORAL.distance(source: s, target: t), 4.0 / 9, accuracy: 1e-6)
    }

    func testTwoDimensionalHandComputed() {
        // C_S = [[1, 0], [0, 1/3]], C_T = [[1, 1], [1, 1]]: ‖C_S − C_T‖²_F = 0 + 1 + 1 + 4/9 = 22/9,
        // divided by 4·2² → 11/72.
        let s = Tensor([[0, 0], [1, 1], [2, 0]])
        let t = Tensor([[0, 0], [1, 1], [2, 2]])
        XCTAssertEqual(CORAL.covariance(Variable(s)).value.scalars, [1, 0, 0, 1.0 / 3], accuracy: 1e-6)
        XCTAssertEqual(CORAL.distance(source: s, target: t), 11.0 / 72, accuracy: 1e-6)
        XCTAssertEqual(CORAL.distance(source: s, target: s + 5), 0, accuracy: 1e-6)  // a shift of the mean is invisible
    }

    func testGradientsMatchFiniteDifferences() {
        var rng = SeededGenerator(seed: 4)
        let a = Tensor.normal([6, 3], rng: &rng)
        let b = Tensor.normal([5, 3], std: 2, rng: &rng)
        let bad = GradientCheck.mismatches(inputs: [a, b]) { v in CORAL.loss(source: v[0], target: v[1]) }
        XCTAssertTrue(bad.isEmpty, "\(bad.prefix(3))")
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
