import Foundation
import TensorCore
import XCTest

/// Kernels against naive reference loops on random shapes, odd sizes included.
final class KernelTests: XCTestCase {
    private var rng = SeededGenerator(seed: 99)

    private func normal(_ shape: [Int]) -> Tensor { Tensor.normal(shape, rng: &rng) }

    private func assertClose(
        _ a: Tensor, _ b: Tensor, tolerance: Float = 1e-4, _ message: String = "", file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertEqual(a.shape, b.shape, message, file: file, line: line)
        guard a.shape == b.shape else { return }
        let scale = max(1, b.abs().max())
        XCTAssertLessThanOrEqual(a.maxAbsDifference(b), tolerance * scale, message, file: file, line: line)
    }

    /// Row-major flat index → multi-index.
    private func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return index
    }

    private func flatIndex(_ index: [Int], _ shape: [Int]) -> Int {
        zip(index, shape).reduce(0) { $0 * $1.1 + $1.0 }
    }

    // MARK: matmul

    private func naiveMatmul(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool) -> Tensor {
        let m = ta ? a.shape[1] : a.shape[0]
        let k = ta ? a.shape[0] : a.shape[1]
        let n = tb ? b.shape[0] : b.shape[1]
        var out = Tensor.zeros([m, n])
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k {
                    let av = ta ? a[p, i] : a[i, p]
                    let bv = tb ? b[j, p] : b[p, j]
                    s += Double(av) * Double(bv)
                }
                out[i, j] = Float(s)
            }
        }
        return out
    }

    func testMatmulAllTransposesOddSizes() {
        for (m, k, n) in [(1, 1, 1), (7, 13, 5), (1, 9, 3), (17, 1, 11), (33, 65, 31), (64, 3, 1)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = normal(ta ? [k, m] : [m, k])
                    let b = normal(tb ? [n, k] : [k, n])
                    assertClose(
                        Tensor.matmul(a, b, transposeA: ta, transposeB: tb), naiveMatmul(a, b, ta, tb),
                        "m=\(m) k=\(k) n=\(n) ta=\(ta) tb=\(tb)")
                }
            }
        }
    }

    func testMatmulEmptyInnerSizeGivesZeros() {
        let c = Tensor.matmul(Tensor.zeros([3, 0]), Tensor.zeros([0, 2]))
        XCTAssertEqual(c, Tensor.zeros([3, 2]))
    }

    func testDirectSgemmHelperAccumulatesWithBeta() {
        let a = normal([4, 3]), b = normal([3, 5])
        var c = normal([4, 5]).scalars
        let before = Tensor(shape: [4, 5], scalars: c)
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(
                        m: 4, n: 5, k: 3, a: pa.baseAddress!, lda: 3, b: pb.baseAddress!, ldb: 5, beta: 2,
                        c: pc.baseAddress!, ldc: 5)
                }
            }
        }
        assertClose(Tensor(shape: [4, 5], scalars: c), naiveMatmul(a, b, false, false) + before * 2)
    }

    // MARK: convolution and pooling

    private func naiveConv(_ x: Tensor, _ w: Tensor, stride s: Int, padding p: Int) -> Tensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = (h + 2 * p - kh) / s + 1
        let ow = (wd + 2 * p - kw) / s + 1
        var out = Tensor.zeros([n, o, oh, ow])
        for b in 0..<n {
            for oc in 0..<o {
                for i in 0..<oh {
                    for j in 0..<ow {
                        var total: Double = 0
                        for ic in 0..<c {
                            for u in 0..<kh {
                                for v in 0..<kw {
                                    let (y, xx) = (i * s - p + u, j * s - p + v)
                                    if y < 0 || y >= h || xx < 0 || xx >= wd { continue }
                                    total += Double(x[b, ic, y, xx]) * Double(w[oc, ic, u, v])
                                }
                            }
                        }
                        out[b, oc, i, j] = Float(total)
                    }
                }
            }
        }
        return out
    }

    func testConv2dAgainstNaiveLoops() {
        let cases: [(x: [Int], w: [Int], stride: Int, padding: Int)] = [
            ([2, 3, 7, 9], [4, 3, 3, 3], 1, 0),
            ([2, 3, 7, 9], [4, 3, 3, 3], 1, 1),
            ([1, 2, 11, 8], [5, 2, 3, 2], 2, 1),
            ([3, 1, 28, 28], [6, 1, 5, 5], 1, 0),
            ([2, 4, 6, 6], [3, 4, 1, 1], 1, 0),
            ([1, 2, 5, 5], [2, 2, 5, 5], 3, 2),
            ([2, 2, 9, 7], [3, 2, 4, 4], 3, 0),
        ]
        for c in cases {
            let x = normal(c.x), w = normal(c.w)
            let (y, _) = Tensor.conv2d(x, weight: w, stride: c.stride, padding: c.padding)
            assertClose(y, naiveConv(x, w, stride: c.stride, padding: c.padding), "\(c)")
        }
    }

    func testConv2dWithBiasEqualsConvolutionPlusBroadcastBias() {
        // 19 images: blocks of `convolutionBlockImages` and a partial last block.
        let x = normal([19, 2, 9, 8]), w = normal([4, 2, 3, 3]), b = normal([4])
        let (y, saved) = Tensor.conv2d(x, weight: w, bias: b, stride: 1, padding: 1)
        assertClose(y, naiveConv(x, w, stride: 1, padding: 1) + b.reshaped([1, 4, 1, 1]), "with bias")
        let g = normal(y.shape)
        let (dx, dw, db) = Tensor.conv2dBackward(
            outputGradient: g, input: x.shape, weight: w, saved: saved, stride: 1, padding: 1)
        // Against the adjoint identities and the plain sums.
        let inner = (naiveConv(x, w, stride: 1, padding: 1) * g).sum()
        XCTAssertEqual((dx! * x).sum(), inner, accuracy: 1e-3 * max(1, abs(inner)))
        XCTAssertEqual((dw * w).sum(), inner, accuracy: 1e-3 * max(1, abs(inner)))
        assertClose(db, g.sum(axes: [0, 2, 3]), "bias gradient")
        let (skipped, dwAgain, _) = Tensor.conv2dBackward(
            outputGradient: g, input: x.shape, weight: w, saved: saved, stride: 1, padding: 1, computeInputGradient: false)
        XCTAssertNil(skipped)
        XCTAssertEqual(dwAgain.scalars, dw.scalars)
    }

    func testConv2dBackwardIsTheAdjointOfTheForward() {
        // ⟨conv(x, w), g⟩ is bilinear: its gradients are ⟨dx, x⟩ = ⟨dw, w⟩ = ⟨y, g⟩.
        let x = normal([2, 3, 8, 7]), w = normal([4, 3, 3, 3])
        let (y, saved) = Tensor.conv2d(x, weight: w, stride: 2, padding: 1)
        let g = normal(y.shape)
        let (dx, dw, _) = Tensor.conv2dBackward(outputGradient: g, input: x.shape, weight: w, saved: saved, stride: 2, padding: 1)
        let inner = (y * g).sum()
        XCTAssertEqual((dx! * x).sum(), inner, accuracy: 1e-3 * max(1, abs(inner)))
        XCTAssertEqual((dw * w).sum(), inner, accuracy: 1e-3 * max(1, abs(inner)))
    }

    private func naivePool(_ x: Tensor, kernel k: Int, stride s: Int, padding p: Int, max isMax: Bool) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        var out = Tensor.zeros([n, c, oh, ow])
        for b in 0..<n {
            for ch in 0..<c {
                for i in 0..<oh {
                    for j in 0..<ow {
                        var best = -Float.infinity
                        var total: Float = 0
                        for u in 0..<k {
                            for v in 0..<k {
                                let (y, xx) = (i * s - p + u, j * s - p + v)
                                if y < 0 || y >= h || xx < 0 || xx >= w { continue }
                                best = max(best, x[b, ch, y, xx])
                                total += x[b, ch, y, xx]
                            }
                        }
                        out[b, ch, i, j] = isMax ? best : total / Float(k * k)
                    }
                }
            }
        }
        return out
    }

    func testPoolingAgainstNaiveLoops() {
        let cases: [(shape: [Int], kernel: Int, stride: Int?, padding: Int)] = [
            ([2, 3, 8, 8], 2, nil, 0),
            ([1, 2, 7, 9], 2, nil, 0),  // odd sizes: the last row/column is dropped
            ([2, 1, 9, 7], 3, 2, 0),
            ([1, 2, 6, 5], 3, 2, 1),
            ([1, 1, 5, 5], 2, 1, 1),
        ]
        for c in cases {
            let x = normal(c.shape)
            let s = c.stride ?? c.kernel
            let (mx, winners) = Tensor.maxPool2d(x, kernel: c.kernel, stride: c.stride, padding: c.padding)
            assertClose(mx, naivePool(x, kernel: c.kernel, stride: s, padding: c.padding, max: true), "max \(c)")
            for (o, i) in winners.enumerated() { XCTAssertEqual(x.scalars[i], mx.scalars[o]) }
            let avg = Tensor.avgPool2d(x, kernel: c.kernel, stride: c.stride, padding: c.padding)
            assertClose(avg, naivePool(x, kernel: c.kernel, stride: s, padding: c.padding, max: false), "avg \(c)")
        }
    }

    // MARK: reductions

    private func naiveReduce(_ x: Tensor, axis: Int, initial: Float, _ f: (Float, Float) -> Float) -> Tensor {
        var shape = x.shape
        shape[axis] = 1
        var out = Tensor(repeating: initial, shape: shape)
        for flat in 0..<x.count {
            var index = multiIndex(flat, x.shape)
            index[axis] = 0
            let o = flatIndex(index, shape)
            out.scalars[o] = f(out.scalars[o], x.scalars[flat])
        }
        return out
    }

    func testReductionsAlongEveryAxis() {
        for shape in [[3, 5, 7], [2, 1, 4, 3], [9], [1, 6]] {
            let x = normal(shape)
            for axis in 0..<shape.count {
                let sum = naiveReduce(x, axis: axis, initial: 0, +)
                assertClose(x.sum(axis: axis, keepDims: true), sum, "sum \(shape) axis \(axis)")
                var dropped = shape
                dropped.remove(at: axis)
                XCTAssertEqual(x.sum(axis: axis).shape, dropped)
                XCTAssertEqual(x.sum(axis: axis - shape.count).shape, dropped, "negative axis")
                assertClose(x.mean(axis: axis, keepDims: true), sum / Float(shape[axis]), "mean \(shape) axis \(axis)")
                assertClose(x.max(axis: axis, keepDims: true), naiveReduce(x, axis: axis, initial: -.infinity, Swift.max))
                assertClose(x.min(axis: axis, keepDims: true), naiveReduce(x, axis: axis, initial: .infinity, Swift.min))
                let mean = sum / Float(shape[axis])
                let sq = naiveReduce((x - mean) * (x - mean), axis: axis, initial: 0, +) / Float(shape[axis])
                assertClose(x.variance(axes: [axis], keepDims: true), sq, "variance \(shape) axis \(axis)")
                // argmax: the index of the maximum, first one on ties.
                let arg = x.argmax(axis: axis)
                let mx = x.max(axis: axis)
                for (o, k) in arg.enumerated() {
                    var index = multiIndex(o, dropped)
                    index.insert(k, at: axis)
                    XCTAssertEqual(x.scalars[flatIndex(index, shape)], mx.scalars[o])
                }
            }
            XCTAssertEqual(x.sum(), x.scalars.reduce(0, +), accuracy: 1e-4)
            XCTAssertEqual(x.max(), x.scalars.max()!)
            XCTAssertEqual(x.sum(axes: Array(0..<shape.count)).shape, [])
        }
    }

    func testArgmaxTakesFirstOnTies() {
        let x = Tensor([[1, 3, 3], [2, 2, 2], [-1, -5, -1]])
        XCTAssertEqual(x.argmax(axis: 1), [1, 0, 0])
        XCTAssertEqual(x.argmax(axis: 0), [1, 0, 0])
    }

    func testSoftmaxFamilyIsStableForLargeMagnitudes() {
        let x = Tensor([[1000, 999, -1000], [-1000, -1001, -1002], [0, 0, 0]])
        let ls = x.logSoftmax(axis: 1)
        XCTAssertTrue(ls.isFinite, "\(ls)")
        let lse0 = log(1 + exp(Float(-1)))
        XCTAssertEqual(ls[0, 0], -lse0, accuracy: 1e-5)
        XCTAssertEqual(ls[0, 1], -1 - lse0, accuracy: 1e-5)
        XCTAssertEqual(ls[0, 2], -2000 - lse0, accuracy: 1e-2)
        let lse1 = x.logSumExp(axis: 1)
        XCTAssertEqual(lse1[0], 1000 + lse0, accuracy: 1e-3)
        XCTAssertEqual(lse1[1], -1000 + log(1 + exp(-1) + exp(-2)), accuracy: 1e-3)
        XCTAssertEqual(lse1[2], log(3), accuracy: 1e-6)
        let sm = x.softmax(axis: 1)
        XCTAssertTrue(sm.isFinite)
        assertClose(sm.sum(axis: 1), Tensor.ones([3]), tolerance: 1e-6)
        // Along axis 0 (the non-contiguous path) as well.
        let ls0 = x.logSoftmax(axis: 0)
        XCTAssertTrue(ls0.isFinite)
        assertClose(ls0, x.transposed().logSoftmax(axis: 1).transposed(), tolerance: 1e-5)
        assertClose(x.softmax(axis: 0).sum(axis: 0), Tensor.ones([3]), tolerance: 1e-6)
        // −inf entries get probability 0; a row of −inf stays NaN-free in softmax sums elsewhere.
        let masked = Tensor([[0, -.infinity, 0]]).softmax(axis: 1)
        XCTAssertEqual(masked.scalars, [0.5, 0, 0.5])
    }

    func testSoftmaxMatchesDefinitionOnRandomRank3() {
        let x = normal([3, 4, 5]) * 5
        for axis in 0..<3 {
            let e = x.exp()
            assertClose(x.softmax(axis: axis), e / e.sum(axis: axis, keepDims: true), tolerance: 1e-5, "axis \(axis)")
            assertClose(x.logSumExp(axis: axis), e.sum(axis: axis).log(), tolerance: 1e-5, "axis \(axis)")
        }
    }

    // MARK: shapes

    func testTransposePermutationsAgainstIndexing() {
        for shape in [[3, 5], [2, 3, 4], [2, 1, 3, 5], [4, 3, 2, 3]] {
            let x = normal(shape)
            for _ in 0..<4 {
                let perm = rng.permutation(shape.count)
                let y = x.transposed(perm)
                XCTAssertEqual(y.shape, perm.map { shape[$0] })
                for flat in 0..<y.count {
                    let out = multiIndex(flat, y.shape)
                    var src = [Int](repeating: 0, count: shape.count)
                    for (i, p) in perm.enumerated() { src[p] = out[i] }
                    XCTAssertEqual(y.scalars[flat], x.scalars[flatIndex(src, shape)], "perm \(perm) of \(shape)")
                }
            }
        }
        XCTAssertEqual(normal([3, 4]).transposed().shape, [4, 3])
    }

    func testBroadcastingAgainstIndexing() {
        let pairs: [([Int], [Int])] = [
            ([3, 4], [4]), ([3, 4], [3, 1]), ([1, 4], [3, 1]), ([2, 3, 4, 5], [1, 3, 1, 1]), ([2, 3, 4, 5], [3, 1, 5]),
            ([5], [2, 3, 5]), ([2, 1, 3], [4, 1]), ([3, 4], []), ([], [2, 2]), ([1, 1], [3, 5]), ([2, 3], [2, 3]),
            // Outer combinations of a column and a row, both ways round (their own fast path).
            ([3, 1], [1, 4]), ([5, 1], [4]), ([4], [5, 1]), ([1, 1], [1, 6]), ([6, 1], [1, 1]),
        ]
        for (sa, sb) in pairs {
            let a = normal(sa), b = normal(sb)
            let shape = Tensor.broadcastShape(sa, sb)
            let sum = a + b, product = a * b, quotient = a / b, diff = b - a
            XCTAssertEqual(sum.shape, shape)
            for flat in 0..<shape.reduce(1, *) {
                let index = multiIndex(flat, shape)
                func pick(_ t: Tensor) -> Float {
                    let offset = shape.count - t.rank
                    let own = (0..<t.rank).map { t.shape[$0] == 1 ? 0 : index[$0 + offset] }
                    return t.scalars[flatIndex(own, t.shape)]
                }
                XCTAssertEqual(sum.scalars[flat], pick(a) + pick(b), "\(sa) + \(sb)")
                XCTAssertEqual(product.scalars[flat], pick(a) * pick(b), "\(sa) * \(sb)")
                XCTAssertEqual(quotient.scalars[flat], pick(a) / pick(b), "\(sa) / \(sb)")
                XCTAssertEqual(diff.scalars[flat], pick(b) - pick(a), "\(sb) - \(sa)")
            }
            // unbroadcast is the adjoint: ⟨unbroadcast(g), b⟩ = ⟨g, broadcast(b)⟩.
            let g = normal(shape)
            let reduced = g.unbroadcast(to: sb)
            XCTAssertEqual(reduced.shape, sb)
            let broadcastB = Tensor.zeros(shape) + b
            XCTAssertEqual((reduced * b).sum(), (g * broadcastB).sum(), accuracy: 1e-3)
        }
    }

    func testBroadcastShapeRules() {
        XCTAssertEqual(Tensor.broadcastShape([2, 1, 3], [4, 1]), [2, 4, 3])
        XCTAssertEqual(Tensor.broadcastShape([], [3]), [3])
        XCTAssertEqual(Tensor.broadcastShape([5, 1], [1]), [5, 1])
        XCTAssertNil(Tensor.validateBroadcast([2, 3], [3]))
        let message = Tensor.validateBroadcast([2, 3], [2], operation: "add")
        XCTAssertEqual(message, "add: shapes [2, 3] and [2] cannot be broadcast together")
    }

    func testElementwiseFunctionsMatchScalarMath() {
        let x = normal([4, 7]) * 3
        let p = x.abs() + 0.1
        for i in 0..<x.count {
            let v = x.scalars[i]
            XCTAssertEqual(x.exp().scalars[i], exp(v), accuracy: 1e-5 * max(1, exp(v)))
            XCTAssertEqual(p.log().scalars[i], log(p.scalars[i]), accuracy: 1e-6)
            XCTAssertEqual(p.sqrt().scalars[i], p.scalars[i].squareRoot(), accuracy: 1e-6)
            XCTAssertEqual(p.pow(1.5).scalars[i], pow(p.scalars[i], 1.5), accuracy: 1e-4)
            XCTAssertEqual(x.relu().scalars[i], max(v, 0))
            XCTAssertEqual(x.leakyRelu(slope: 0.1).scalars[i], v > 0 ? v : 0.1 * v, accuracy: 1e-7)
            XCTAssertEqual(x.sigmoid().scalars[i], 1 / (1 + exp(-v)), accuracy: 1e-6)
            XCTAssertEqual(x.tanh().scalars[i], tanh(v), accuracy: 1e-6)
            XCTAssertEqual(x.abs().scalars[i], abs(v))
            XCTAssertEqual(x.clamped(min: -1, max: 1).scalars[i], min(max(v, -1), 1))
        }
        XCTAssertEqual(Tensor([-1000, 1000]).sigmoid().scalars, [0, 1])
        XCTAssertEqual(Tensor([1, 2, 3]).greater(Tensor([2])).scalars, [0, 0, 1])
        XCTAssertEqual(Tensor([1, 2, 3]).less(2).scalars, [1, 0, 0])
        XCTAssertEqual(Tensor.maximum(Tensor([1, 5]), Tensor([3])).scalars, [3, 5])
    }

    func testConcatenateSliceGatherAgainstIndexing() {
        let a = normal([2, 3, 4]), b = normal([2, 1, 4])
        let c = Tensor.concatenate([a, b], axis: 1)
        XCTAssertEqual(c.shape, [2, 4, 4])
        for i in 0..<2 {
            for k in 0..<4 {
                for j in 0..<3 { XCTAssertEqual(c[i, j, k], a[i, j, k]) }
                XCTAssertEqual(c[i, 3, k], b[i, 0, k])
            }
        }
        XCTAssertEqual(c.slice(axis: 1, 0..<3), a)
        XCTAssertEqual(c.slice(axis: 1, 3..<4), b)
        XCTAssertEqual(c.slice(axis: -1, 1..<3).shape, [2, 4, 2])
        XCTAssertEqual(Tensor.concatenate([a, a], axis: -1).slice(axis: 2, 4..<8), a)
        let g = a.gathering(rows: [1, 1, 0])
        XCTAssertEqual(g.slice(axis: 0, 0..<1), a.slice(axis: 0, 1..<2))
        XCTAssertEqual(g.slice(axis: 0, 2..<3), a.slice(axis: 0, 0..<1))
        let scattered = g.scatteringAdd(rows: [1, 1, 0], rowCount: 3)
        XCTAssertEqual(scattered.slice(axis: 0, 1..<2), a.slice(axis: 0, 1..<2) * 2)
        XCTAssertEqual(scattered.slice(axis: 0, 2..<3), Tensor.zeros([1, 3, 4]))
        XCTAssertEqual(Tensor([[1, 2], [3, 4]]).picking(columns: [1, 0]), Tensor([2, 3]))
        XCTAssertEqual(Tensor.oneHot([2, 0], classCount: 3), Tensor([[0, 0, 1], [1, 0, 0]]))
    }

    func testReshapeInfersAndKeepsOrder() {
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(x.reshaped([3, -1]).shape, [3, 2])
        XCTAssertEqual(x.reshaped([-1]).scalars, x.scalars)
        XCTAssertEqual(x[1, 2], 6)
    }
}
