import Adaptation
import Foundation
import TensorCore
import TestSupport
import XCTest

/// MMD against values worked out by hand on S = {0, 1, 2}, T = {1, 2, 4} (1-D points, rows).
final class DivergenceMMDTests: XCTestCase {
    let s = Tensor(shape: [3, 1], scalars: [0, 1, 2])
    let t = Tensor(shape: [3, 1], scalars: [1, 2, 4])
    /// Gaussian kernel value at squared distance a for σ = 1.
    func e(_ a: Float) -> Float { Foundation.exp(-a / 2) }

    func testLinearKernelHandComputed() {
        // Biased: (mean S − mean T)² = (1 − 7/3)² = 16/9.
        XCTAssertEqual(MMD.value(source: s, target: t, kernel: .linear, estimator: .biased), 16.0 / 9, accuracy: 1e-5)
        // Unbiased: Σ_{i≠j} s_i s_j / 6 = (9 − 5)/6, Σ_{i≠j} t_i t_j / 6 = (49 − 21)/6, mean st = 21/9.
        XCTAssertEqual(
            MMD.value(source: s, target: t, kernel: .linear, estimator: .unbiased),
            4.0 / 6 + 28.0 / 6 - 2 * 21.0 / 9, accuracy: 1e-5)
        // Linear-time: one quad-tuple (0, 1, 1, 2): 0·1 + 1·2 − 0·2 − 1·1 = 1 (the third rows are left out).
        XCTAssertEqual(MMD.value(source: s, target: t, kernel: .linear, estimator: .linear), 1, accuracy: 1e-6)
    }

    func testGaussianKernelHandComputed() {
        let kernel = MMDKernel.gaussian(.fixed(sigma: 1))
        // Squared distances: ss {1, 4, 1}, tt {1, 9, 4}, st {1, 4, 16, 0, 1, 9, 1, 0, 4}.
        let kss = (3 + 4 * e(1) + 2 * e(4)) / 9
        let ktt = (3 + 2 * e(1) + 2 * e(9) + 2 * e(4)) / 9
        let kst = (2 + 3 * e(1) + 2 * e(4) + e(9) + e(16)) / 9
        XCTAssertEqual(kss + ktt - 2 * kst, (2 - 2 * e(16)) / 9, accuracy: 1e-6)  // the algebra above
        XCTAssertEqual(MMD.value(source: s, target: t, kernel: kernel, estimator: .biased), (2 - 2 * e(16)) / 9, accuracy: 1e-5)
        let unbiased = (4 * e(1) + 2 * e(4)) / 6 + (2 * e(1) + 2 * e(9) + 2 * e(4)) / 6 - 2 * kst
        XCTAssertEqual(MMD.value(source: s, target: t, kernel: kernel, estimator: .unbiased), unbiased, accuracy: 1e-5)
        // Quad-tuple (0, 1, 1, 2): k(0,1) + k(1,2) − k(0,2) − k(1,1).
        XCTAssertEqual(
            MMD.value(source: s, target: t, kernel: kernel, estimator: .linear), 2 * e(1) - e(4) - 1, accuracy: 1e-5)
        // σ = 2 scales every exponent by 1/4.
        XCTAssertEqual(
            MMD.value(source: s, target: t, kernel: .gaussian(.fixed(sigma: 2)), estimator: .biased),
            (2 - 2 * e(4)) / 9, accuracy: 1e-5)
    }

    /// Above 1 023 pairs the median is found by counting bit patterns, not by quickselect: it must
    /// be the median of the sorted pairs exactly, for odd and even counts, with repeated points
    /// (zero distances) and integer-valued distances that tie.
    func testMedianBandwidthOfManyPairsIsTheSortedMedian() {
        var rng = SeededGenerator(seed: 11)
        for (n, m) in [(46, 40), (45, 40), (60, 3)] {
            var source = Tensor.normal([n, 3], rng: &rng)
            let target = Tensor.normal([m, 3], rng: &rng).map { ($0 * 2).rounded() }
            source.scalars.replaceSubrange(0..<6, with: source.scalars[6..<12])  // points 0 and 1 repeat point 2 and 3
            let within = [
                Kernels.pairwiseSquaredDistances(Variable(source), Variable(source)).value,
                Kernels.pairwiseSquaredDistances(Variable(target), Variable(target)).value,
            ]
            var pairs: [Float] = []
            for d in within {
                let k = d.shape[0]
                for i in 0..<k { for j in (i + 1)..<k { pairs.append(Swift.max(0, d.scalars[i * k + j])) } }
            }
            pairs += Kernels.pairwiseSquaredDistances(Variable(source), Variable(target)).value.scalars.map { Swift.max(0, $0) }
            XCTAssertGreaterThanOrEqual(pairs.count, 1024)
            pairs.sort()
            let middle = pairs.count / 2
            let expected = pairs.count % 2 == 1 ? pairs[middle] : Float((Double(pairs[middle - 1]) + Double(pairs[middle])) / 2)
            XCTAssertEqual(
                Kernels.squaredBandwidths(source: source, target: target, rule: .median(multipliers: [1])), [expected],
                "\(n) + \(m) points, \(pairs.count) pairs")
        }
    }

    func testMultiKernelIsTheSumOfKernels() {
        // Pooled pairwise squared distances {0,0,1,1,1,1,1,1,4,4,4,4,9,9,16}: median 1, mean 56/15.
        XCTAssertEqual(Kernels.squaredBandwidths(source: s, target: t, rule: .median(multipliers: [1, 2])), [1, 2])
        let meanRule = Kernels.squaredBandwidths(source: s, target: t, rule: .mean(multipliers: [1, 0.5]))
        XCTAssertEqual(meanRule[0], 56.0 / 15, accuracy: 1e-5)
        XCTAssertEqual(meanRule[1], 28.0 / 15, accuracy: 1e-5)
        // Odd and even counts of pairs: S = {0, 1}, T = {3} → {1, 9, 4}, median 4;
        // S = {0, 1}, T = {3, 7} → {1, 16, 9, 49, 4, 36}, median (9 + 16)/2.
        let s2 = Tensor(shape: [2, 1], scalars: [0, 1])
        XCTAssertEqual(
            Kernels.squaredBandwidths(source: s2, target: Tensor(shape: [1, 1], scalars: [3]), rule: .median(multipliers: [1])), [4])
        XCTAssertEqual(
            Kernels.squaredBandwidths(source: s2, target: Tensor(shape: [2, 1], scalars: [3, 7]), rule: .median(multipliers: [2])),
            [25])
        for estimator in MMDEstimator.allCases {
            let multi = MMD.value(source: s, target: t, kernel: .gaussian(.median(multipliers: [1, 4])), estimator: estimator)
            let one = MMD.value(source: s, target: t, kernel: .gaussian(.fixed(sigma: 1)), estimator: estimator)
            let two = MMD.value(source: s, target: t, kernel: .gaussian(.fixed(sigma: 2)), estimator: estimator)
            XCTAssertEqual(multi, one + two, accuracy: 1e-5, "\(estimator)")
        }
    }

    func testUnbiasedCanBeNegative() {
        // S = {0, 2}, T = {1, 1}: linear kernel 0 + 1 − 2·1 = −1; Gaussian σ=1: e(4) + 1 − 2 e(1) < 0.
        let a = Tensor(shape: [2, 1], scalars: [0, 2])
        let b = Tensor(shape: [2, 1], scalars: [1, 1])
        XCTAssertEqual(MMD.value(source: a, target: b, kernel: .linear, estimator: .unbiased), -1, accuracy: 1e-6)
        let g = MMD.value(source: a, target: b, kernel: .gaussian(.fixed(sigma: 1)), estimator: .unbiased)
        XCTAssertEqual(g, e(4) + 1 - 2 * e(1), accuracy: 1e-6)
        XCTAssertLessThan(g, 0)
    }

    func testNearZeroForSameDistributionAndGrowsWithShift() {
        var rng = SeededGenerator(seed: 11)
        let a = Tensor.normal([300, 3], rng: &rng)
        let b = Tensor.normal([300, 3], rng: &rng)
        let kernel = MMDKernel.gaussian(.median(multipliers: BandwidthRule.danMultipliers))
        XCTAssertEqual(MMD.value(source: a, target: a, kernel: kernel, estimator: .biased), 0, accuracy: 1e-5)
        for estimator in MMDEstimator.allCases {
            var previous = MMD.value(source: a, target: b, kernel: kernel, estimator: estimator)
            XCTAssertEqual(previous, 0, accuracy: estimator == .linear ? 0.15 : 0.03, "\(estimator) same distribution")
            for shift: Float in [0.5, 1, 2] {
                let value = MMD.value(source: a, target: b + shift, kernel: kernel, estimator: estimator)
                XCTAssertGreaterThan(value, previous, "\(estimator) shift \(shift)")
                previous = value
            }
        }
    }

    func testPrecisionAgainstADoubleReferenceOnLargeSamples() {
        // MMD² near 0 is a small difference of means of millions of kernel values: the sums must
        // not lose it (a Float running sum is off by ~1e−5 here).
        var rng = SeededGenerator(seed: 12)
        let n = 1500
        let a = Tensor.normal([n, 2], rng: &rng)
        let b = Tensor.normal([n, 2], rng: &rng)
        func k(_ x: Tensor, _ i: Int, _ y: Tensor, _ j: Int) -> Double {
            let d0 = Double(x.scalars[2 * i]) - Double(y.scalars[2 * j])
            let d1 = Double(x.scalars[2 * i + 1]) - Double(y.scalars[2 * j + 1])
            return Foundation.exp(-(d0 * d0 + d1 * d1) / 2)
        }
        var ss = 0.0, tt = 0.0, st = 0.0
        for i in 0..<n {
            for j in 0..<n {
                if i != j {
                    ss += k(a, i, a, j)
                    tt += k(b, i, b, j)
                }
                st += k(a, i, b, j)
            }
        }
        let reference = ss / Double(n * (n - 1)) + tt / Double(n * (n - 1)) - 2 * st / Double(n * n)
        let value = MMD.value(source: a, target: b, kernel: .gaussian(.fixed(sigma: 1)), estimator: .unbiased)
        XCTAssertEqual(Double(value), reference, accuracy: 2e-6)
    }

    func testRejectsNothingSilently() {
        // Rank-4 inputs are flattened to N×F: the value equals that of the flattened matrices.
        var rng = SeededGenerator(seed: 3)
        let a = Tensor.normal([4, 2, 2, 1], rng: &rng)
        let b = Tensor.normal([5, 2, 2, 1], rng: &rng)
        XCTAssertEqual(
            MMD.value(source: a, target: b, kernel: .linear, estimator: .unbiased),
            MMD.value(source: a.reshaped([4, 4]), target: b.reshaped([5, 4]), kernel: .linear, estimator: .unbiased),
            accuracy: 1e-6)
        XCTAssertEqual(MMD.linearTimeSampleCount(sourceCount: 7, targetCount: 10), 6)
    }

    func testGradientsMatchFiniteDifferences() {
        var rng = SeededGenerator(seed: 5)
        let a = Tensor.normal([5, 3], rng: &rng)
        let b = Tensor.normal([4, 3], mean: 0.5, rng: &rng)
        for kernel in [MMDKernel.linear, .gaussian(.fixed(sigma: 1.5))] {
            for estimator in MMDEstimator.allCases {
                let bad = GradientCheck.mismatches(inputs: [a, b]) { v in
                    MMD.loss(source: v[0], target: v[1], kernel: kernel, estimator: estimator)
                }
                XCTAssertTrue(bad.isEmpty, "\(kernel) \(estimator): \(bad.prefix(3))")
            }
        }
    }

    func testBandwidthRuleIsDetached() {
        // With a data-driven rule the bandwidth carries no gradient: the gradient equals that of the
        // fixed kernel at the bandwidth the rule picked.
        var rng = SeededGenerator(seed: 9)
        let a = Tensor.normal([6, 2], rng: &rng)
        let b = Tensor.normal([6, 2], mean: 1, rng: &rng)
        let sigma = Kernels.squaredBandwidths(source: a, target: b, rule: .median(multipliers: [1]))[0].squareRoot()
        for estimator in MMDEstimator.allCases {
            let x1 = Variable(a, requiresGradient: true), y1 = Variable(b, requiresGradient: true)
            let ruled = MMD.loss(source: x1, target: y1, kernel: .gaussian(.median(multipliers: [1])), estimator: estimator)
            let x2 = Variable(a, requiresGradient: true), y2 = Variable(b, requiresGradient: true)
            let fixed = MMD.loss(source: x2, target: y2, kernel: .gaussian(.fixed(sigma: sigma)), estimator: estimator)
            XCTAssertEqual(ruled.value.scalar, fixed.value.scalar, accuracy: 1e-5)
            let g1 = gradients(of: ruled, withRespectTo: [x1, y1])
            let g2 = gradients(of: fixed, withRespectTo: [x2, y2])
            XCTAssertLessThan(g1[0].maxAbsDifference(g2[0]), 1e-5)
            XCTAssertLessThan(g1[1].maxAbsDifference(g2[1]), 1e-5)
            XCTAssertGreaterThan(g1[0].abs().max(), 1e-3)
        }
    }
}
