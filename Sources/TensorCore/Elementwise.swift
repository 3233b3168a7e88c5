import Foundation

// MARK: - Broadcasting

extension Tensor {
    /// The shape that `a` and `b` broadcast to (NumPy rules), or a precondition failure naming
    /// the operation and both shapes.
    public static func broadcastShape(_ a: [Int], _ b: [Int], operation: String = "broadcast") -> [Int] {
        if a == b { return a }
        if let message = validateBroadcast(a, b, operation: operation) { preconditionFailure(message) }
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            result[i] = da == 1 ? db : da
        }
        return result
    }

    /// nil when `a` and `b` broadcast together; otherwise the message `broadcastShape` fails with
    /// (`"add: shapes [2, 3] and [2] cannot be broadcast together"`). Lets callers check first.
    public static func validateBroadcast(_ a: [Int], _ b: [Int], operation: String = "broadcast") -> String? {
        let rank = Swift.max(a.count, b.count)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if !(da == db || da == 1 || db == 1) {
                return "\(operation): shapes \(a) and \(b) cannot be broadcast together"
            }
        }
        return nil
    }

    /// Strides of `shape` viewed inside the broadcast shape `target` (0 on stretched axes).
    @usableFromInline
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = Tensor.strides(of: shape)
        let offset = target.count - shape.count
        return (0..<target.count).map { i in
            i < offset || shape[i - offset] == 1 ? 0 : own[i - offset]
        }
    }

    /// An array of `count` elements written by `body`, which must set every one of them (skips the
    /// zero-fill of `Array(repeating:count:)`).
    @inlinable
    static func uninitializedScalars(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { body(buffer.baseAddress!) }
            initialized = count
        }
    }

    /// When `small` broadcast to `big` varies along one contiguous run of axes only, its layout
    /// inside `big` as (outer, middle, inner): element (o, m, i) of `big`, in row-major order, reads
    /// element m of `small`. Covers bias rows ([N, F] with [F]), columns ([N, 1]) and channel
    /// biases ([N, C, H, W] with [1, C, 1, 1]). nil when the varying axes are not contiguous.
    @usableFromInline
    static func blockLayout(of small: [Int], in big: [Int]) -> (outer: Int, middle: Int, inner: Int)? {
        let offset = big.count - small.count
        guard offset >= 0 else { return nil }
        var first = -1
        var last = -1
        for (k, size) in small.enumerated() where size != 1 {
            guard size == big[k + offset] else { return nil }
            if first < 0 { first = k + offset }
            guard last < 0 || last == k + offset - 1 else { return nil }
            last = k + offset
        }
        guard first >= 0 else { return (big.reduce(1, *), 1, 1) }
        let outer = big[..<first].reduce(1, *)
        let middle = big[first...last].reduce(1, *)
        let inner = big[(last + 1)...].reduce(1, *)
        return (outer, middle, inner)
    }

    /// Combines two tensors element-wise with broadcasting.
    @inlinable
    public static func zip(_ a: Tensor, _ b: Tensor, operation: String, _ f: (Float, Float) -> Float) -> Tensor {
        withoutActuallyEscaping(f) { zipElements(a, b, operation: operation, BinaryClosure($0)) }
    }

    /// `zip` with a function whose type is known, so that every chunk's loop inlines it (see
    /// `UnaryElementFunction`).
    @inlinable
    static func zipElements<F: BinaryElementFunction>(_ a: Tensor, _ b: Tensor, operation: String, _ f: F) -> Tensor {
        if a.shape == b.shape {
            let out = a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    uninitializedScalars(pa.count) { po in
                        ParallelKernels.forEachRange(pa.count) { r in for i in r { po[i] = f(pa[i], pb[i]) } }
                    }
                }
            }
            return Tensor(shape: a.shape, scalars: out)
        }
        let shape = broadcastShape(a.shape, b.shape, operation: operation)
        let count = shape.reduce(1, *)
        if b.count == 1 && a.count == count {
            let s = b.scalars[0]
            let out = a.scalars.withUnsafeBufferPointer { pa in
                uninitializedScalars(count) { po in ParallelKernels.forEachRange(count) { r in for i in r { po[i] = f(pa[i], s) } } }
            }
            return Tensor(shape: shape, scalars: out)
        }
        if a.count == 1 && b.count == count {
            let s = a.scalars[0]
            let out = b.scalars.withUnsafeBufferPointer { pb in
                uninitializedScalars(count) { po in ParallelKernels.forEachRange(count) { r in for i in r { po[i] = f(s, pb[i]) } } }
            }
            return Tensor(shape: shape, scalars: out)
        }
        // Block fast paths: one operand is full, the other varies along one contiguous run of axes.
        if a.count == count, let (outer, middle, inner) = blockLayout(of: b.shape, in: shape) {
            let out = a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    uninitializedScalars(count) { po in
                        ParallelKernels.forEachRange(outer, elementsPerItem: middle * inner) { rows in
                            var base = rows.lowerBound * middle * inner
                            for _ in rows {
                                for m in 0..<middle {
                                    let bv = pb[m]
                                    for i in 0..<inner { po[base + i] = f(pa[base + i], bv) }
                                    base += inner
                                }
                            }
                        }
                    }
                }
            }
            return Tensor(shape: shape, scalars: out)
        }
        if b.count == count, let (outer, middle, inner) = blockLayout(of: a.shape, in: shape) {
            let out = a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    uninitializedScalars(count) { po in
                        ParallelKernels.forEachRange(outer, elementsPerItem: middle * inner) { rows in
                            var base = rows.lowerBound * middle * inner
                            for _ in rows {
                                for m in 0..<middle {
                                    let av = pa[m]
                                    for i in 0..<inner { po[base + i] = f(av, pb[base + i]) }
                                    base += inner
                                }
                            }
                        }
                    }
                }
            }
            return Tensor(shape: shape, scalars: out)
        }
        // Outer combinations: a column [n, 1] with a row [1, m] or [m], either way round, as in
        // pairwise distances (|a_i|² + |b_j|²). Element (i, j) is f of the same two values as in the
        // general loop below, which walked it one element at a time.
        if shape.count == 2, let (column, row, columnFirst) = outerOperands(a, b, shape: shape) {
            let (n, m) = (shape[0], shape[1])
            let out = column.scalars.withUnsafeBufferPointer { pc in
                row.scalars.withUnsafeBufferPointer { pr in
                    uninitializedScalars(count) { po in
                        ParallelKernels.forEachRange(n, elementsPerItem: m) { rows in
                            for i in rows {
                                let ci = pc[i]
                                let line = po + i * m
                                if columnFirst {
                                    for j in 0..<m { line[j] = f(ci, pr[j]) }
                                } else {
                                    for j in 0..<m { line[j] = f(pr[j], ci) }
                                }
                            }
                        }
                    }
                }
            }
            return Tensor(shape: shape, scalars: out)
        }
        let sa = broadcastStrides(a.shape, to: shape)
        let sb = broadcastStrides(b.shape, to: shape)
        let rank = shape.count
        var index = [Int](repeating: 0, count: rank)
        var out = [Float](repeating: 0, count: count)
        a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    var ia = 0
                    var ib = 0
                    for i in 0..<count {
                        po[i] = f(pa[ia], pb[ib])
                        // Advance the multi-index like an odometer.
                        var axis = rank - 1
                        while axis >= 0 {
                            index[axis] += 1
                            ia += sa[axis]
                            ib += sb[axis]
                            if index[axis] < shape[axis] { break }
                            ia -= sa[axis] * shape[axis]
                            ib -= sb[axis] * shape[axis]
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// For a result of shape [n, m]: (the [n, 1] operand, the [1, m] or [m] operand, whether the
    /// column is `a`), or nil when the operands are not a column and a row.
    @usableFromInline
    static func outerOperands(_ a: Tensor, _ b: Tensor, shape: [Int]) -> (column: Tensor, row: Tensor, columnFirst: Bool)? {
        let (n, m) = (shape[0], shape[1])
        func isColumn(_ t: Tensor) -> Bool { t.shape == [n, 1] }
        func isRow(_ t: Tensor) -> Bool { t.shape == [1, m] || t.shape == [m] }
        if isColumn(a) && isRow(b) { return (a, b, true) }
        if isRow(a) && isColumn(b) { return (b, a, false) }
        return nil
    }

    /// True when `small`, stripped of leading 1s, equals the trailing axes of `big`.
    @usableFromInline
    static func isTrailingBlock(_ small: [Int], of big: [Int]) -> Bool {
        let trimmed = Array(small.drop(while: { $0 == 1 }))
        guard trimmed.count <= big.count else { return false }
        return Array(big.suffix(trimmed.count)) == trimmed
    }

    /// Applies `f` to every element.
    @inlinable
    public func map(_ f: (Float) -> Float) -> Tensor {
        withoutActuallyEscaping(f) { mapElements(UnaryClosure($0)) }
    }

    /// `map` with a function whose type is known, so that every chunk's loop inlines it (see
    /// `UnaryElementFunction`).
    @inlinable
    func mapElements<F: UnaryElementFunction>(_ f: F) -> Tensor {
        let out = scalars.withUnsafeBufferPointer { p in
            Tensor.uninitializedScalars(p.count) { o in
                ParallelKernels.forEachRange(p.count) { r in for i in r { o[i] = f(p[i]) } }
            }
        }
        return Tensor(shape: shape, scalars: out)
    }

    /// Sums a broadcast result back down to `target` — the one place where broadcasting is undone
    /// (used by every backward rule of a broadcasting operation).
    public func unbroadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        precondition(
            Tensor.validateBroadcast(target, shape, operation: "unbroadcast") == nil
                && Tensor.broadcastShape(target, shape, operation: "unbroadcast") == shape,
            "unbroadcast: shape \(target) does not broadcast to \(shape)")
        let targetCount = target.reduce(1, *)
        if targetCount == count { return reshaped(target) }
        if let (outer, middle, inner) = Tensor.blockLayout(of: target, in: shape) {
            var out = [Float](repeating: 0, count: targetCount)
            scalars.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    // Each output element m adds its terms in the same order whichever thread owns
                    // it: the outputs split across threads, the sums do not.
                    ParallelKernels.forEachRange(middle, elementsPerItem: outer * inner) { ms in
                        for row in 0..<outer {
                            let base = row * middle * inner
                            if inner == 1 {
                                for m in ms { o[m] += p[base + m] }
                                continue
                            }
                            for m in ms {
                                var total: Float = 0
                                for i in 0..<inner { total += p[base + m * inner + i] }
                                o[m] += total
                            }
                        }
                    }
                }
            }
            return Tensor(shape: target, scalars: out)
        }
        var out = [Float](repeating: 0, count: targetCount)
        let st = Tensor.broadcastStrides(target, to: shape)
        let rank = shape.count
        var index = [Int](repeating: 0, count: rank)
        var it = 0
        scalars.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<p.count {
                    o[it] += p[i]
                    var axis = rank - 1
                    while axis >= 0 {
                        index[axis] += 1
                        it += st[axis]
                        if index[axis] < shape[axis] { break }
                        it -= st[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return Tensor(shape: target, scalars: out)
    }
}

// MARK: - Arithmetic and element-wise functions

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, operation: "add", ElementFunction.Add()) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, operation: "subtract", ElementFunction.Subtract()) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, operation: "multiply", ElementFunction.Multiply()) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { zipElements(a, b, operation: "divide", ElementFunction.Divide()) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.mapElements(ElementFunction.AddScalar(s)) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.mapElements(ElementFunction.AddScalar(-s)) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.mapElements(ElementFunction.MultiplyScalar(s)) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.mapElements(ElementFunction.DivideBy(s)) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.mapElements(ElementFunction.MultiplyScalar(s)) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.mapElements(ElementFunction.SubtractFromScalar(s)) }
    public static prefix func - (a: Tensor) -> Tensor { a.mapElements(ElementFunction.Negate()) }

    public static func += (a: inout Tensor, b: Tensor) {
        if a.shape == b.shape {
            a.scalars.withUnsafeMutableBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    ParallelKernels.forEachRange(pa.count) { r in for i in r { pa[i] += pb[i] } }
                }
            }
        } else {
            a = a + b
        }
    }

    public func exp() -> Tensor { mapElements(ElementFunction.Exp()) }
    public func log() -> Tensor { mapElements(ElementFunction.Log()) }
    public func sqrt() -> Tensor { mapElements(ElementFunction.SquareRoot()) }
    public func pow(_ exponent: Float) -> Tensor {
        if exponent == 2 { return mapElements(ElementFunction.Square()) }
        return map { Foundation.pow($0, exponent) }
    }
    public func abs() -> Tensor { mapElements(ElementFunction.Absolute()) }
    public func relu() -> Tensor { mapElements(ElementFunction.ReLU()) }
    public func leakyRelu(slope: Float = 0.01) -> Tensor { mapElements(ElementFunction.LeakyReLU(slope: slope)) }
    public func sigmoid() -> Tensor { mapElements(ElementFunction.Sigmoid()) }
    public func tanh() -> Tensor { mapElements(ElementFunction.Tanh()) }
    public func clamped(min lo: Float, max hi: Float) -> Tensor { mapElements(ElementFunction.Clamp(lower: lo, upper: hi)) }

    // Comparisons give 0/1 masks (broadcasting).
    public func greater(_ other: Tensor) -> Tensor { Tensor.zip(self, other, operation: "greater") { $0 > $1 ? 1 : 0 } }
    public func less(_ other: Tensor) -> Tensor { Tensor.zip(self, other, operation: "less") { $0 < $1 ? 1 : 0 } }
    public func equal(_ other: Tensor) -> Tensor { Tensor.zip(self, other, operation: "equal") { $0 == $1 ? 1 : 0 } }
    public func greater(_ s: Float) -> Tensor { map { $0 > s ? 1 : 0 } }
    public func less(_ s: Float) -> Tensor { map { $0 < s ? 1 : 0 } }
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor { zipElements(a, b, operation: "maximum", ElementFunction.Maximum()) }
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor { zipElements(a, b, operation: "minimum", ElementFunction.Minimum()) }
}
