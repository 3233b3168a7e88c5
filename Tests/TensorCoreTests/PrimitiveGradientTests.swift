import TensorCore
import TestSupport
import XCTest

/// Finite-difference checks of every differentiable primitive in Primitives.swift.
final class PrimitiveGradientTests: XCTestCase {
    private var rng = SeededGenerator(seed: 2024)

    private func normal(_ shape: [Int]) -> Tensor { Tensor.normal(shape, rng: &rng) }

    /// Normal values pushed at least `gap` away from zero (for kinks at 0: relu, abs).
    private func awayFromZero(_ shape: [Int], gap: Float = 0.1) -> Tensor {
        normal(shape).map { $0 >= 0 ? $0 + gap : $0 - gap }
    }

    /// Positive values in [low, high) (for log, sqrt, pow, division).
    private func positive(_ shape: [Int], low: Float = 0.5, high: Float = 2) -> Tensor {
        Tensor.uniform(shape, low: low, high: high, rng: &rng)
    }

    /// Distinct values, well separated, in random order (for max / max pooling, whose winner must
    /// not change under a finite-difference step).
    private func distinct(_ shape: [Int], spacing: Float = 0.1) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: rng.permutation(n).map { Float($0) * spacing - Float(n) * spacing / 2 })
    }

    private func check(
        _ inputs: [Tensor], rtol: Float = 2e-2, atol: Float = 2e-3, file: StaticString = #filePath, line: UInt = #line,
        _ f: ([Variable]) -> Variable
    ) {
        let bad = GradientCheck.mismatches(inputs: inputs, rtol: rtol, atol: atol, f)
        XCTAssertTrue(bad.isEmpty, "\(bad.count) mismatches, e.g. \(bad.prefix(3))", file: file, line: line)
    }

    // MARK: Arithmetic with broadcasting corners

    /// Shape pairs covering equal shapes, row, column, scalar, rank-0, lower rank and rank-4 bias.
    private let broadcastPairs: [([Int], [Int])] = [
        ([3, 4], [3, 4]),
        ([3, 4], [1, 4]),  // row
        ([3, 4], [3, 1]),  // column
        ([3, 4], [4]),  // lower rank
        ([3, 4], []),  // rank-0 scalar
        ([3, 4], [1, 1]),  // scalar as a matrix
        ([1, 4], [3, 1]),  // both stretched (outer product)
        ([2, 3, 4, 5], [1, 3, 1, 1]),  // rank-4 channel bias
        ([2, 3, 4, 5], [3, 1, 5]),  // interior stretch, lower rank
        ([1, 3], [2, 3, 4, 3]),  // the smaller operand first
    ]

    func testAddSubtractBroadcasting() {
        for (sa, sb) in broadcastPairs {
            check([normal(sa), normal(sb)]) { $0[0] + $0[1] }
            check([normal(sa), normal(sb)]) { $0[0] - $0[1] }
            check([normal(sb), normal(sa)]) { $0[0] - $0[1] }
        }
    }

    func testMultiplyDivideBroadcasting() {
        for (sa, sb) in broadcastPairs {
            check([normal(sa), normal(sb)]) { $0[0] * $0[1] }
            check([normal(sa), positive(sb)]) { $0[0] / $0[1] }
            check([positive(sb), normal(sa)].reversed()) { $0[0] / $0[1] }
        }
    }

    func testScalarArithmetic() {
        let x = normal([3, 5])
        check([x]) { -$0[0] }
        check([x]) { $0[0] + 2.5 }
        check([x]) { 2.5 - $0[0] }
        check([x]) { $0[0] - 1 }
        check([x]) { $0[0] * -3 }
        check([x]) { 0.5 * $0[0] }
        check([x]) { $0[0] / 4 }
        let constant = normal([1, 5])
        check([x]) { $0[0] + constant }
        check([x]) { $0[0] - constant }
        check([x]) { $0[0] * constant }
    }

    func testConstantOperandGetsNoGradientButOtherDoes() {
        let a = Variable(normal([2, 3]), requiresGradient: true)
        let b = Variable(normal([2, 3]))
        let grads = gradients(of: (a * b).sum(), withRespectTo: [a, b])
        XCTAssertEqual(grads[0], b.value)
        XCTAssertEqual(grads[1], Tensor.zeros([2, 3]))
    }

    // MARK: Element-wise functions

    func testElementwiseFunctions() {
        check([normal([4, 3])]) { $0[0].exp() }
        check([positive([4, 3])]) { $0[0].log() }
        check([positive([4, 3])]) { $0[0].sqrt() }
        check([positive([4, 3])]) { $0[0].pow(3) }
        check([positive([4, 3])]) { $0[0].pow(-0.5) }
        check([positive([4, 3])]) { $0[0].pow(2) }
        check([normal([4, 3])]) { $0[0].square() }
        check([awayFromZero([4, 3])]) { $0[0].abs() }
        check([awayFromZero([4, 3])]) { $0[0].relu() }
        check([awayFromZero([4, 3])]) { $0[0].leakyRelu(slope: 0.2) }
        check([normal([4, 3]) * 3]) { $0[0].sigmoid() }
        check([normal([4, 3]) * 2]) { $0[0].tanh() }
    }

    func testGradientReversalIsIdentityForwardAndNegatedScaledBackward() {
        let x = normal([3, 4])
        let v = Variable(x, requiresGradient: true)
        let reversed = v.gradientReversal(lambda: 0.7)
        XCTAssertEqual(reversed.value, x)
        let seed = normal([3, 4])
        let g = gradients(of: reversed, withRespectTo: [v], seed: seed)[0]
        XCTAssertLessThan(g.maxAbsDifference(seed * -0.7), 1e-7)
        // Through a function: d/dx Σ seed·GRL(x)² = −λ·2x·seed.
        let through = gradients(of: v.gradientReversal(lambda: 0.7).square(), withRespectTo: [v], seed: seed)[0]
        XCTAssertLessThan(through.maxAbsDifference(x * seed * (-0.7 * 2)), 1e-5)
        let plain = GradientCheck.mismatches(inputs: [x]) { $0[0].gradientReversal(lambda: 0.7).square() }
        XCTAssertEqual(plain.count, x.count, "every element's gradient must be reversed")
        let zero = gradients(of: v.gradientReversal(lambda: 0).sum(), withRespectTo: [v])[0]
        XCTAssertEqual(zero.abs().max(), 0)
    }

    // MARK: Reductions

    func testWholeReductions() {
        check([normal([3, 4, 2])]) { $0[0].sum() }
        check([normal([3, 4, 2])]) { $0[0].mean() }
        check([normal([5])]) { $0[0].sum() * $0[0].mean() }
    }

    func testAxisReductionsEveryAxis() {
        let x = normal([2, 3, 4])
        for axis in [0, 1, 2, -1] {
            for keep in [false, true] {
                check([x]) { $0[0].sum(axis: axis, keepDims: keep) }
                check([x]) { $0[0].mean(axis: axis, keepDims: keep) }
                check([x]) { $0[0].logSumExp(axis: axis, keepDims: keep) }
            }
            check([x]) { $0[0].logSoftmax(axis: axis) }
            check([x]) { $0[0].softmax(axis: axis) }
            check([distinct([2, 3, 4])]) { $0[0].max(axis: axis) }
            check([distinct([2, 3, 4])]) { $0[0].max(axis: axis, keepDims: true) }
        }
        check([x]) { $0[0].sum(axes: [0, 2]) }
        check([x]) { $0[0].mean(axes: [2, 0], keepDims: true) }
        check([x]) { $0[0].sum(axes: [0, 1, 2]) }
    }

    func testLogSoftmaxGradientWithLargeMagnitudes() {
        // Float finite differences are meaningless at |x| ≈ 1000, so use shift invariance: the
        // gradients at x + 1000·(row constant) equal those at x, which the finite differences check.
        let x = normal([3, 5]) * 3
        check([x]) { $0[0].logSoftmax(axis: 1) }
        check([x]) { $0[0].logSumExp(axis: 1) }
        let shift = Tensor([[1000], [-1000], [995]])
        let seed = normal([3, 5])
        for f in [{ (v: Variable) in v.logSoftmax(axis: 1) }, { (v: Variable) in v.softmax(axis: 1) }] {
            let small = Variable(x, requiresGradient: true)
            let large = Variable(x + shift, requiresGradient: true)
            let g0 = gradients(of: f(small), withRespectTo: [small], seed: seed)[0]
            let g1 = gradients(of: f(large), withRespectTo: [large], seed: seed)[0]
            XCTAssertTrue(g1.isFinite)
            XCTAssertLessThan(g1.maxAbsDifference(g0), 2e-3)
        }
        let small = Variable(x, requiresGradient: true)
        let large = Variable(x + shift, requiresGradient: true)
        let g0 = gradients(of: small.logSumExp(axis: 1), withRespectTo: [small], seed: Tensor([1, 2, 3]))[0]
        let g1 = gradients(of: large.logSumExp(axis: 1), withRespectTo: [large], seed: Tensor([1, 2, 3]))[0]
        XCTAssertLessThan(g1.maxAbsDifference(g0), 2e-3)
    }

    // MARK: Linear algebra and shapes

    func testMatmulAllTransposes() {
        let (m, k, n) = (3, 5, 4)
        for ta in [false, true] {
            for tb in [false, true] {
                let a = normal(ta ? [k, m] : [m, k])
                let b = normal(tb ? [n, k] : [k, n])
                check([a, b]) { Variable.matmul($0[0], $0[1], transposeA: ta, transposeB: tb) }
            }
        }
        // A matrix times itself transposed: both operands are the same variable.
        check([normal([3, 4])]) { Variable.matmul($0[0], $0[0], transposeB: true) }
    }

    func testShapeOps() {
        check([normal([2, 3, 4])]) { $0[0].reshaped([4, 6]) }
        check([normal([2, 3, 4])]) { $0[0].reshaped([-1, 2]) }
        check([normal([2, 3, 2, 2])]) { $0[0].flattened() }
        check([normal([3, 5])]) { $0[0].transposed() }
        for perm in [[0, 2, 1], [2, 0, 1], [1, 2, 0], [2, 1, 0]] {
            check([normal([2, 3, 4])]) { $0[0].transposed(perm) }
        }
        check([normal([2, 3, 4, 5])]) { $0[0].transposed([0, 2, 3, 1]) }
    }

    func testConcatenateSliceGather() {
        for axis in [0, 1, 2] {
            var a = [2, 3, 2], b = [2, 3, 2], c = [2, 3, 2]
            b[axis] = 1
            c[axis] = 3
            check([normal(a), normal(b), normal(c)]) { Variable.concatenate($0, axis: axis) }
            a[axis] = 5
            check([normal(a)]) { $0[0].slice(axis: axis, 1..<4) }
            check([normal(a)]) { $0[0].slice(axis: axis, 0..<5) }
            check([normal(a)]) { $0[0].slice(axis: axis, 4..<5) }
        }
        check([normal([3, 2])]) { Variable.concatenate([$0[0], $0[0]], axis: 1) }
        check([normal([5, 3])]) { $0[0].gathering(rows: [4, 0, 0, 2, 4, 4]) }
        check([normal([4, 2, 3])]) { $0[0].gathering(rows: [3, 1]) }
        check([normal([4, 3])]) { $0[0].picking(columns: [2, 0, 0, 1]) }
    }

    // MARK: Convolution and pooling

    func testConv2dStridesAndPadding() {
        for (stride, padding) in [(1, 0), (1, 1), (2, 0), (2, 1), (3, 2)] {
            let x = normal([2, 3, 7, 6])
            let w = normal([4, 3, 3, 3]) * 0.5
            check([x, w]) { Variable.conv2d($0[0], weight: $0[1], stride: stride, padding: padding) }
        }
        // Non-square kernel, single channel.
        check([normal([1, 1, 5, 5]), normal([2, 1, 2, 3])]) { Variable.conv2d($0[0], weight: $0[1], padding: 1) }
    }

    func testConv2dWithBiasThroughBroadcast() {
        let x = normal([2, 2, 5, 5])
        let w = normal([3, 2, 3, 3]) * 0.5
        let b = normal([3])
        check([x, w, b]) { Variable.conv2d($0[0], weight: $0[1], padding: 1) + $0[2].reshaped([1, 3, 1, 1]) }
    }

    func testConv2dWithFusedBias() {
        // Ten images: two blocks of the weight gradient's fixed-size partial sums.
        for (stride, padding) in [(1, 1), (2, 0)] {
            let x = normal([10, 2, 5, 5])
            let w = normal([3, 2, 3, 3]) * 0.5
            let b = normal([3])
            check([x, w, b]) { Variable.conv2d($0[0], weight: $0[1], bias: $0[2], stride: stride, padding: padding) }
        }
    }

    func testMaxPool() {
        check([distinct([2, 2, 6, 6])]) { $0[0].maxPool2d(kernel: 2) }
        check([distinct([1, 2, 7, 5])]) { $0[0].maxPool2d(kernel: 3, stride: 2) }
        check([distinct([1, 2, 5, 5])]) { $0[0].maxPool2d(kernel: 2, stride: 1, padding: 1) }
    }

    func testAvgPool() {
        check([normal([2, 2, 6, 6])]) { $0[0].avgPool2d(kernel: 2) }
        check([normal([1, 2, 7, 5])]) { $0[0].avgPool2d(kernel: 3, stride: 2) }
        check([normal([1, 2, 5, 5])]) { $0[0].avgPool2d(kernel: 3, stride: 2, padding: 1) }
    }

    // MARK: Graph structure

    func testSharedSubexpressionsAccumulate() {
        // y = x·x + exp(x) uses x three times; z = y reused twice.
        check([normal([3, 3])]) { v in
            let y = v[0] * v[0] + v[0].exp()
            return (y * y).sum(axis: 1) + y.mean(axis: 1)
        }
    }

    func testDeepChainDoesNotOverflow() {
        let x = Variable(Tensor([1, 2, 3]), requiresGradient: true)
        var y = x
        for _ in 0..<20_000 { y = y + 0 }
        let g = gradients(of: y.sum(), withRespectTo: [x])[0]
        XCTAssertEqual(g, Tensor.ones([3]))
    }

    func testUnusedVariableGetsZeroGradient() {
        let x = Variable(Tensor([1, 2]), requiresGradient: true)
        let unused = Variable(Tensor([[1, 2], [3, 4]]), requiresGradient: true)
        let grads = gradients(of: x.square().sum(), withRespectTo: [x, unused])
        XCTAssertEqual(grads[0], Tensor([2, 4]))
        XCTAssertEqual(grads[1], Tensor.zeros([2, 2]))
    }

    func testValueWithGradientsSumsParameterUsesAndSkipsFrozen() {
        let w = Parameter(Tensor([1, -2, 3]))
        let frozen = Parameter(Tensor([5, 5, 5]), isFrozen: true)
        let (value, grads) = valueWithGradients {
            let a = Variable(w)
            let b = Variable(w)  // a second read of the same parameter
            return (a * Variable(frozen) + b.square()).sum()
        }
        XCTAssertEqual(value.scalar, 5 * 2 + 14)
        XCTAssertEqual(grads[w], Tensor([5 + 2, 5 - 4, 5 + 6]))
        XCTAssertNil(grads[frozen])
        XCTAssertEqual(grads.count, 1)
    }
}
