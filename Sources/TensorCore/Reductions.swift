import Foundation

extension Tensor {
    /// Normalises a possibly negative axis and checks it is in range.
    public func normalizedAxis(_ axis: Int, operation: String) -> Int {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "\(operation): axis \(axis) out of range for shape \(shape)")
        return a
    }

    /// (outer, length, inner) of a row-major tensor split around `axis`.
    @usableFromInline
    func split(around axis: Int) -> (outer: Int, length: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Reduces one axis with `combine`, starting from `initial`; the axis is kept with size 1.
    @inlinable
    internal func reduce(axis: Int, initial: Float, _ combine: (Float, Float) -> Float) -> Tensor {
        let (outer, length, inner) = split(around: axis)
        var out = [Float](repeating: initial, count: outer * inner)
        scalars.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                // Outputs split across threads; each combines its terms in the serial order.
                let byRows = outer >= inner
                ParallelKernels.forEachRange(byRows ? outer : inner, elementsPerItem: length * (byRows ? inner : outer)) { part in
                    let (rows, columns) = byRows ? (part, 0..<inner) : (0..<outer, part)
                    for i in rows {
                        for k in 0..<length {
                            let base = (i * length + k) * inner
                            for j in columns { o[i * inner + j] = combine(o[i * inner + j], p[base + j]) }
                        }
                    }
                }
            }
        }
        var newShape = shape
        newShape[axis] = 1
        return Tensor(shape: newShape, scalars: out)
    }

    private func dropping(_ axes: [Int], keepDims: Bool) -> Tensor {
        if keepDims { return self }
        let kept = shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        return reshaped(kept)
    }

    /// Sum of all elements: one running total per chunk of `ParallelKernels.reductionChunk`
    /// elements, the chunks' totals then added in order — the same number on any thread count
    /// (a tensor of up to one chunk is one running total).
    public func sum() -> Float {
        let chunk = ParallelKernels.reductionChunk
        let chunks = (count + chunk - 1) / chunk
        if chunks <= 1 {
            var total: Float = 0
            scalars.withUnsafeBufferPointer { p in for v in p { total += v } }
            return total
        }
        var partials = [Float](repeating: 0, count: chunks)
        scalars.withUnsafeBufferPointer { p in
            partials.withUnsafeMutableBufferPointer { partial in
                ParallelKernels.forEachChunk(chunks) { c in
                    var total: Float = 0
                    for i in c * chunk..<Swift.min(p.count, (c + 1) * chunk) { total += p[i] }
                    partial[c] = total
                }
            }
        }
        var total: Float = 0
        for v in partials { total += v }
        return total
    }

    /// Mean of all elements.
    public func mean() -> Float { count == 0 ? .nan : sum() / Float(count) }

    /// Sum along the given axes.
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let normalized = Set(axes.map { normalizedAxis($0, operation: "sum") }).sorted()
        var result = self
        for axis in normalized { result = result.reduce(axis: axis, initial: 0, +) }
        return result.dropping(normalized, keepDims: keepDims)
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean along the given axes.
    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let normalized = Set(axes.map { normalizedAxis($0, operation: "mean") })
        let n = normalized.reduce(1) { $0 * shape[$1] }
        return sum(axes: Array(normalized), keepDims: keepDims) / Float(n)
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Population variance (divides by n) along the given axes.
    public func variance(axes: [Int], keepDims: Bool = false) -> Tensor {
        let m = mean(axes: axes, keepDims: true)
        let centered = self - m
        return (centered * centered).mean(axes: axes, keepDims: keepDims)
    }

    /// Maximum along an axis.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = normalizedAxis(axis, operation: "max")
        precondition(shape[a] > 0, "max: axis \(axis) of shape \(shape) is empty")
        return reduce(axis: a, initial: -.infinity) { Swift.max($0, $1) }.dropping([a], keepDims: keepDims)
    }

    /// Minimum along an axis.
    public func min(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = normalizedAxis(axis, operation: "min")
        precondition(shape[a] > 0, "min: axis \(axis) of shape \(shape) is empty")
        return reduce(axis: a, initial: .infinity) { Swift.min($0, $1) }.dropping([a], keepDims: keepDims)
    }

    /// Largest element.
    public func max() -> Float { scalars.max() ?? -.infinity }
    /// Smallest element.
    public func min() -> Float { scalars.min() ?? .infinity }

    /// Index of the maximum along `axis` (first one on ties); the axis is removed.
    public func argmax(axis: Int = -1) -> [Int] {
        let a = normalizedAxis(axis, operation: "argmax")
        let (outer, length, inner) = split(around: a)
        precondition(length > 0, "argmax: axis \(axis) of shape \(shape) is empty")
        var result = [Int](repeating: 0, count: outer * inner)
        for i in 0..<outer {
            for j in 0..<inner {
                var best = -Float.infinity
                var bestIndex = 0
                for k in 0..<length {
                    let v = scalars[(i * length + k) * inner + j]
                    if k == 0 || v > best { best = v; bestIndex = k }
                }
                result[i * inner + j] = bestIndex
            }
        }
        return result
    }

    /// log Σ exp along an axis, computed stably by subtracting the maximum first.
    public func logSumExp(axis: Int = -1, keepDims: Bool = false) -> Tensor {
        let a = normalizedAxis(axis, operation: "logSumExp")
        let m = max(axis: a, keepDims: true).map { $0.isFinite ? $0 : 0 }
        let s = (self - m).exp().sum(axes: [a], keepDims: true).log() + m
        return keepDims ? s : s.reshaped(shape.enumerated().filter { $0.offset != a }.map(\.element))
    }

    /// log softmax along an axis: x − logΣexp(x), stable for large magnitudes.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let a = normalizedAxis(axis, operation: "logSoftmax")
        if a == rank - 1 {
            // Fast path over contiguous rows.
            let length = shape[a]
            let rows = length == 0 ? 0 : count / length
            var out = [Float](repeating: 0, count: count)
            scalars.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    ParallelKernels.forEachRange(rows, elementsPerItem: length * 8) { block in for r in block {
                        let base = r * length
                        var m = -Float.infinity
                        for j in 0..<length { m = Swift.max(m, p[base + j]) }
                        if !m.isFinite { m = 0 }
                        var s: Float = 0
                        for j in 0..<length { s += Foundation.exp(p[base + j] - m) }
                        // (x − m) − log s rather than x − (m + log s): exact where x ≈ m even when |m| is large.
                        let logS = Foundation.log(s)
                        for j in 0..<length { o[base + j] = (p[base + j] - m) - logS }
                    } }
                }
            }
            return Tensor(shape: shape, scalars: out)
        }
        let m = max(axis: a, keepDims: true).map { $0.isFinite ? $0 : 0 }
        let shifted = self - m
        return shifted - shifted.exp().sum(axes: [a], keepDims: true).log()
    }

    /// softmax along an axis.
    public func softmax(axis: Int = -1) -> Tensor { logSoftmax(axis: axis).exp() }
}
