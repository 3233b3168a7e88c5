import Foundation

// Each differentiable primitive: its forward value and, beside it, its backward rule.
// Broadcasting is undone in one place, `Tensor.unbroadcast(to:)`.

// MARK: - Arithmetic

extension Variable {
    public static func + (a: Variable, b: Variable) -> Variable {
        Variable(value: a.value + b.value, operation: "add", inputs: [a, b]) { g in
            [g.unbroadcast(to: a.shape), g.unbroadcast(to: b.shape)]
        }
    }

    public static func - (a: Variable, b: Variable) -> Variable {
        Variable(value: a.value - b.value, operation: "subtract", inputs: [a, b]) { g in
            [g.unbroadcast(to: a.shape), (-g).unbroadcast(to: b.shape)]
        }
    }

    public static func * (a: Variable, b: Variable) -> Variable {
        Variable(value: a.value * b.value, operation: "multiply", inputs: [a, b]) { g in
            [
                a.requiresGradient ? (g * b.value).unbroadcast(to: a.shape) : nil,
                b.requiresGradient ? (g * a.value).unbroadcast(to: b.shape) : nil,
            ]
        }
    }

    public static func / (a: Variable, b: Variable) -> Variable {
        Variable(value: a.value / b.value, operation: "divide", inputs: [a, b]) { g in
            [
                a.requiresGradient ? (g / b.value).unbroadcast(to: a.shape) : nil,
                b.requiresGradient ? (-g * a.value / (b.value * b.value)).unbroadcast(to: b.shape) : nil,
            ]
        }
    }

    public static prefix func - (a: Variable) -> Variable {
        Variable(value: -a.value, operation: "negate", inputs: [a]) { g in [-g] }
    }

    public static func + (a: Variable, s: Float) -> Variable {
        Variable(value: a.value + s, operation: "add scalar", inputs: [a]) { g in [g] }
    }
    public static func - (a: Variable, s: Float) -> Variable { a + (-s) }
    public static func + (s: Float, a: Variable) -> Variable { a + s }
    public static func - (s: Float, a: Variable) -> Variable { -a + s }

    public static func * (a: Variable, s: Float) -> Variable {
        Variable(value: a.value * s, operation: "scale", inputs: [a]) { g in [g * s] }
    }
    public static func * (s: Float, a: Variable) -> Variable { a * s }
    public static func / (a: Variable, s: Float) -> Variable { a * (1 / s) }

    public static func + (a: Variable, b: Tensor) -> Variable { a + Variable(b) }
    public static func - (a: Variable, b: Tensor) -> Variable { a - Variable(b) }
    public static func * (a: Variable, b: Tensor) -> Variable { a * Variable(b) }
}

// MARK: - Element-wise functions

extension Variable {
    public func exp() -> Variable {
        let y = value.exp()
        return Variable(value: y, operation: "exp", inputs: [self]) { g in [g * y] }
    }

    public func log() -> Variable {
        let x = value
        return Variable(value: x.log(), operation: "log", inputs: [self]) { g in [g / x] }
    }

    public func sqrt() -> Variable {
        let y = value.sqrt()
        return Variable(value: y, operation: "sqrt", inputs: [self]) { g in [g / (y * 2)] }
    }

    public func pow(_ exponent: Float) -> Variable {
        let x = value
        return Variable(value: x.pow(exponent), operation: "pow", inputs: [self]) { g in
            [g * x.pow(exponent - 1) * exponent]
        }
    }

    public func square() -> Variable {
        let x = value
        return Variable(value: x * x, operation: "square", inputs: [self]) { g in [g * x * 2] }
    }

    public func abs() -> Variable {
        let x = value
        return Variable(value: x.abs(), operation: "abs", inputs: [self]) { g in
            [Tensor.zip(g, x, operation: "abs backward") { gi, xi in xi > 0 ? gi : (xi < 0 ? -gi : 0) }]
        }
    }

    public func relu() -> Variable {
        let x = value
        return Variable(value: x.relu(), operation: "relu", inputs: [self]) { g in
            [Tensor.zipElements(g, x, operation: "relu backward", ElementFunction.ReLUBackward())]
        }
    }

    public func leakyRelu(slope: Float = 0.01) -> Variable {
        let x = value
        return Variable(value: x.leakyRelu(slope: slope), operation: "leakyRelu", inputs: [self]) { g in
            [Tensor.zipElements(g, x, operation: "leakyRelu backward", ElementFunction.LeakyReLUBackward(slope: slope))]
        }
    }

    public func sigmoid() -> Variable {
        let y = value.sigmoid()
        return Variable(value: y, operation: "sigmoid", inputs: [self]) { g in
            [Tensor.zipElements(g, y, operation: "sigmoid backward", ElementFunction.SigmoidBackward())]
        }
    }

    public func tanh() -> Variable {
        let y = value.tanh()
        return Variable(value: y, operation: "tanh", inputs: [self]) { g in
            [Tensor.zipElements(g, y, operation: "tanh backward", ElementFunction.TanhBackward())]
        }
    }

    /// Gradient reversal (Ganin et al. 2016): the identity forward; the backward pass multiplies
    /// the incoming gradient by −λ.
    public func gradientReversal(lambda: Float) -> Variable {
        Variable(value: value, operation: "gradientReversal", inputs: [self]) { g in [g * (-lambda)] }
    }
}

// MARK: - Reductions

extension Variable {
    /// Sum of all elements (a rank-0 result).
    public func sum() -> Variable {
        let shape = self.shape
        return Variable(value: Tensor(value.sum()), operation: "sum", inputs: [self]) { g in
            [Tensor(repeating: g.scalar, shape: shape)]
        }
    }

    /// Mean of all elements (a rank-0 result).
    public func mean() -> Variable {
        let shape = self.shape
        let n = Float(value.count)
        return Variable(value: Tensor(value.mean()), operation: "mean", inputs: [self]) { g in
            [Tensor(repeating: g.scalar / n, shape: shape)]
        }
    }

    public func sum(axes: [Int], keepDims: Bool = false) -> Variable {
        let shape = self.shape
        let kept = value.sum(axes: axes, keepDims: true)
        return Variable(
            value: keepDims ? kept : value.sum(axes: axes), operation: "sum(axes:)", inputs: [self]
        ) { g in
            [Tensor.zeros(shape) + g.reshaped(kept.shape)]
        }
    }

    public func sum(axis: Int, keepDims: Bool = false) -> Variable { sum(axes: [axis], keepDims: keepDims) }

    public func mean(axes: [Int], keepDims: Bool = false) -> Variable {
        let n = Set(axes.map { value.normalizedAxis($0, operation: "mean") }).reduce(1) { $0 * shape[$1] }
        return sum(axes: axes, keepDims: keepDims) / Float(n)
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Variable { mean(axes: [axis], keepDims: keepDims) }

    /// log softmax along an axis. Backward: g − softmax · Σ g.
    public func logSoftmax(axis: Int = -1) -> Variable {
        let a = value.normalizedAxis(axis, operation: "logSoftmax")
        let y = value.logSoftmax(axis: a)
        return Variable(value: y, operation: "logSoftmax", inputs: [self]) { g in
            [g - y.exp() * g.sum(axes: [a], keepDims: true)]
        }
    }

    public func softmax(axis: Int = -1) -> Variable { logSoftmax(axis: axis).exp() }

    /// log Σ exp along an axis. Backward: g · softmax.
    public func logSumExp(axis: Int = -1, keepDims: Bool = false) -> Variable {
        let a = value.normalizedAxis(axis, operation: "logSumExp")
        let kept = value.logSumExp(axis: a, keepDims: true)
        let x = value
        return Variable(
            value: keepDims ? kept : value.logSumExp(axis: a), operation: "logSumExp", inputs: [self]
        ) { g in
            [(x - kept).exp() * g.reshaped(kept.shape)]
        }
    }

    /// Maximum along an axis; the gradient goes to the (first) maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> Variable {
        let a = value.normalizedAxis(axis, operation: "max")
        let kept = value.max(axis: a, keepDims: true)
        let (outer, length, inner) = value.split(around: a)
        let winners = value.argmax(axis: a)
        let shape = self.shape
        return Variable(value: keepDims ? kept : value.max(axis: a), operation: "max", inputs: [self]) { g in
            var dx = [Float](repeating: 0, count: outer * length * inner)
            for i in 0..<outer {
                for j in 0..<inner {
                    dx[(i * length + winners[i * inner + j]) * inner + j] = g.scalars[i * inner + j]
                }
            }
            return [Tensor(shape: shape, scalars: dx)]
        }
    }
}

// MARK: - Linear algebra and shapes

extension Variable {
    /// Matrix product op(a)·op(b) through BLAS.
    public static func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        let y = Tensor.matmul(a.value, b.value, transposeA: transposeA, transposeB: transposeB)
        return Variable(value: y, operation: "matmul", inputs: [a, b]) { g in
            // y = A·B → dA = g·Bᵀ, dB = Aᵀ·g, with the transposes folded into BLAS flags.
            let da: Tensor? =
                a.requiresGradient
                ? (transposeA
                    ? Tensor.matmul(b.value, g, transposeA: transposeB, transposeB: true)
                    : Tensor.matmul(g, b.value, transposeB: !transposeB))
                : nil
            let db: Tensor? =
                b.requiresGradient
                ? (transposeB
                    ? Tensor.matmul(g, a.value, transposeA: true, transposeB: transposeA)
                    : Tensor.matmul(a.value, g, transposeA: !transposeA))
                : nil
            return [da, db]
        }
    }

    public func reshaped(_ shape: [Int]) -> Variable {
        let original = self.shape
        return Variable(value: value.reshaped(shape), operation: "reshape", inputs: [self]) { g in
            [g.reshaped(original)]
        }
    }

    /// Flattens every axis after the first: N×… → N×F.
    public func flattened() -> Variable { reshaped([shape[0], -1]) }

    public func transposed(_ permutation: [Int]? = nil) -> Variable {
        let perm = permutation ?? Array((0..<value.rank).reversed())
        var inverse = [Int](repeating: 0, count: perm.count)
        for (i, p) in perm.enumerated() { inverse[p] = i }
        return Variable(value: value.transposed(perm), operation: "transpose", inputs: [self]) { g in
            [g.transposed(inverse)]
        }
    }

    public static func concatenate(_ parts: [Variable], axis: Int = 0) -> Variable {
        let y = Tensor.concatenate(parts.map(\.value), axis: axis)
        let a = y.normalizedAxis(axis, operation: "concatenate")
        let sizes = parts.map { $0.shape[a] }
        return Variable(value: y, operation: "concatenate", inputs: parts) { g in
            var start = 0
            return sizes.map { size in
                defer { start += size }
                return g.slice(axis: a, start..<(start + size))
            }
        }
    }

    public func slice(axis: Int = 0, _ range: Range<Int>) -> Variable {
        let shape = self.shape
        let a = value.normalizedAxis(axis, operation: "slice")
        return Variable(value: value.slice(axis: a, range), operation: "slice", inputs: [self]) { g in
            var parts: [Tensor] = []
            var before = shape, after = shape
            before[a] = range.lowerBound
            after[a] = shape[a] - range.upperBound
            if range.lowerBound > 0 { parts.append(.zeros(before)) }
            parts.append(g)
            if after[a] > 0 { parts.append(.zeros(after)) }
            return [Tensor.concatenate(parts, axis: a)]
        }
    }

    public func gathering(rows indices: [Int]) -> Variable {
        let rowCount = shape[0]
        return Variable(value: value.gathering(rows: indices), operation: "gather", inputs: [self]) { g in
            [g.scatteringAdd(rows: indices, rowCount: rowCount)]
        }
    }

    /// `result[i] = self[i, columns[i]]` for a rank-2 input.
    public func picking(columns: [Int]) -> Variable {
        let shape = self.shape
        return Variable(value: value.picking(columns: columns), operation: "pick", inputs: [self]) { g in
            var dx = Tensor.zeros(shape)
            for (i, j) in columns.enumerated() { dx.scalars[i * shape[1] + j] = g.scalars[i] }
            return [dx]
        }
    }
}

// MARK: - Convolution and pooling

extension Variable {
    /// 2-D convolution of an N×C×H×W input with an O×C×KH×KW weight (im2col + sgemm, image by
    /// image; see `Tensor.conv2d`), plus a bias of O values per output channel when given.
    public static func conv2d(
        _ input: Variable, weight: Variable, bias: Variable? = nil, stride: Int = 1, padding: Int = 0
    ) -> Variable {
        let (y, saved) = Tensor.conv2d(input.value, weight: weight.value, bias: bias?.value, stride: stride, padding: padding)
        let inputShape = input.shape
        return Variable(value: y, operation: "conv2d", inputs: [input, weight] + (bias.map { [$0] } ?? [])) { g in
            let (dx, dw, db) = Tensor.conv2dBackward(
                outputGradient: g, input: inputShape, weight: weight.value, saved: saved,
                stride: stride, padding: padding, computeInputGradient: input.requiresGradient)
            let gradients = [dx, weight.requiresGradient ? dw : nil]
            guard let bias else { return gradients }
            return gradients + [bias.requiresGradient ? db.reshaped(bias.shape) : nil]
        }
    }

    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Variable {
        let (y, winners) = Tensor.maxPool2d(value, kernel: kernel, stride: stride, padding: padding)
        let shape = self.shape
        return Variable(value: y, operation: "maxPool2d", inputs: [self]) { g in
            var dx = [Float](repeating: 0, count: shape.reduce(1, *))
            dx.withUnsafeMutableBufferPointer { d in
                g.scalars.withUnsafeBufferPointer { gb in
                    winners.withUnsafeBufferPointer { wb in
                        // A window's winner lies in its own N·C plane: planes split across threads
                        // without changing any sum.
                        let positions = y.shape[2] * y.shape[3]
                        Tensor.forEachPlaneBlock(shape[0] * shape[1], elementsPerPlane: positions) { planes in
                            for o in planes.lowerBound * positions..<planes.upperBound * positions where wb[o] >= 0 {
                                d[wb[o]] += gb[o]
                            }
                        }
                    }
                }
            }
            return [Tensor(shape: shape, scalars: dx)]
        }
    }

    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Variable {
        let shape = self.shape
        return Variable(
            value: Tensor.avgPool2d(value, kernel: kernel, stride: stride, padding: padding), operation: "avgPool2d",
            inputs: [self]
        ) { g in
            [Tensor.avgPool2dBackward(g, inputShape: shape, kernel: kernel, stride: stride, padding: padding)]
        }
    }
}
