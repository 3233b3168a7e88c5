/// Geometry of a 2-D convolution or pooling window over N×C×H×W inputs.
public struct ConvGeometry: Sendable, Equatable {
    public var batch, channels, height, width: Int
    public var kernelHeight, kernelWidth: Int
    public var stride, padding: Int
    public var outHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Rows of the im2col matrix: C·KH·KW.
    public var patchSize: Int { channels * kernelHeight * kernelWidth }
    /// Output positions per image: OH·OW.
    public var positions: Int { outHeight * outWidth }

    public init(input: [Int], kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int, operation: String) {
        precondition(input.count == 4, "\(operation): expects an N×C×H×W input, got shape \(input)")
        precondition(stride >= 1 && padding >= 0, "\(operation): stride \(stride) must be ≥ 1 and padding \(padding) ≥ 0")
        (batch, channels, height, width) = (input[0], input[1], input[2], input[3])
        (self.kernelHeight, self.kernelWidth, self.stride, self.padding) = (kernelHeight, kernelWidth, stride, padding)
        precondition(
            height + 2 * padding >= kernelHeight && width + 2 * padding >= kernelWidth,
            "\(operation): kernel \(kernelHeight)×\(kernelWidth) is larger than the padded input of shape \(input)")
    }
}

extension Tensor {
    /// im2col over the whole batch: a (C·KH·KW) × (N·OH·OW) matrix whose column (n, oh, ow) is
    /// the receptive field of that output position (zeros where it falls in the padding).
    static func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry) -> [Float] {
        let columns = g.batch * g.positions
        var cols = [Float](repeating: 0, count: g.patchSize * columns)
        let (oh, ow, s, p) = (g.outHeight, g.outWidth, g.stride, g.padding)
        cols.withUnsafeMutableBufferPointer { out in
            for c in 0..<g.channels {
                for kh in 0..<g.kernelHeight {
                    for kw in 0..<g.kernelWidth {
                        let row = (c * g.kernelHeight + kh) * g.kernelWidth + kw
                        let rowBase = row * columns
                        for n in 0..<g.batch {
                            let plane = x + (n * g.channels + c) * g.height * g.width
                            let colBase = rowBase + n * g.positions
                            for i in 0..<oh {
                                let ih = i * s - p + kh
                                if ih < 0 || ih >= g.height { continue }
                                let src = plane + ih * g.width
                                let dst = colBase + i * ow
                                for j in 0..<ow {
                                    let iw = j * s - p + kw
                                    if iw >= 0 && iw < g.width { out[dst + j] = src[iw] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return cols
    }

    /// The adjoint of `im2col`: adds every column entry back into the N×C×H×W image it came from.
    static func col2im(_ cols: UnsafePointer<Float>, _ g: ConvGeometry) -> [Float] {
        let columns = g.batch * g.positions
        var image = [Float](repeating: 0, count: g.batch * g.channels * g.height * g.width)
        let (oh, ow, s, p) = (g.outHeight, g.outWidth, g.stride, g.padding)
        image.withUnsafeMutableBufferPointer { img in
            for c in 0..<g.channels {
                for kh in 0..<g.kernelHeight {
                    for kw in 0..<g.kernelWidth {
                        let row = (c * g.kernelHeight + kh) * g.kernelWidth + kw
                        for n in 0..<g.batch {
                            let planeBase = (n * g.channels + c) * g.height * g.width
                            let colBase = row * columns + n * g.positions
                            for i in 0..<oh {
                                let ih = i * s - p + kh
                                if ih < 0 || ih >= g.height { continue }
                                for j in 0..<ow {
                                    let iw = j * s - p + kw
                                    if iw >= 0 && iw < g.width { img[planeBase + ih * g.width + iw] += cols[colBase + i * ow + j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return image
    }

    /// 2-D cross-correlation (what deep-learning libraries call convolution).
    /// - Parameters:
    ///   - input: N×C×H×W.
    ///   - weight: O×C×KH×KW.
    /// - Returns: the N×O×OH×OW output and the im2col matrix (kept for the backward pass).
    public static func conv2d(_ input: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0) -> (output: Tensor, columns: [Float]) {
        precondition(weight.rank == 4, "conv2d: weight must be O×C×KH×KW, got shape \(weight.shape)")
        let g = ConvGeometry(
            input: input.shape, kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
            stride: stride, padding: padding, operation: "conv2d")
        precondition(
            weight.shape[1] == g.channels,
            "conv2d: input of shape \(input.shape) has \(g.channels) channels but weight \(weight.shape) expects \(weight.shape[1])")
        let outChannels = weight.shape[0]
        let cols = input.scalars.withUnsafeBufferPointer { im2col($0.baseAddress!, g) }
        let columns = g.batch * g.positions
        // [O × CKK] · [CKK × N·P] = [O × N·P]
        var product = [Float](repeating: 0, count: outChannels * columns)
        gemm(
            transposeA: false, transposeB: false, m: outChannels, n: columns, k: g.patchSize,
            a: weight.scalars, lda: g.patchSize, b: cols, ldb: columns, c: &product, beta: 0)
        let output = regroup(product, outer: outChannels, middle: g.batch, inner: g.positions)
        return (Tensor(shape: [g.batch, outChannels, g.outHeight, g.outWidth], scalars: output), cols)
    }

    /// Gradients of `conv2d` with respect to its input and weight.
    public static func conv2dBackward(
        outputGradient: Tensor, input inputShape: [Int], weight: Tensor, columns: [Float], stride: Int, padding: Int
    ) -> (input: Tensor, weight: Tensor) {
        let g = ConvGeometry(
            input: inputShape, kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
            stride: stride, padding: padding, operation: "conv2d backward")
        let outChannels = weight.shape[0]
        let total = g.batch * g.positions
        // N×O×P → O×(N·P)
        let dOut = regroup(outputGradient.scalars, outer: g.batch, middle: outChannels, inner: g.positions)
        var dWeight = [Float](repeating: 0, count: outChannels * g.patchSize)
        gemm(
            transposeA: false, transposeB: true, m: outChannels, n: g.patchSize, k: total,
            a: dOut, lda: total, b: columns, ldb: total, c: &dWeight, beta: 0)
        var dCols = [Float](repeating: 0, count: g.patchSize * total)
        gemm(
            transposeA: true, transposeB: false, m: g.patchSize, n: total, k: outChannels,
            a: weight.scalars, lda: g.patchSize, b: dOut, ldb: total, c: &dCols, beta: 0)
        let dInput = dCols.withUnsafeBufferPointer { col2im($0.baseAddress!, g) }
        return (Tensor(shape: inputShape, scalars: dInput), Tensor(shape: weight.shape, scalars: dWeight))
    }

    /// Swaps the two outer groups of a [A × B × P] buffer into [B × A × P].
    static func regroup(_ source: [Float], outer a: Int, middle b: Int, inner p: Int) -> [Float] {
        var out = [Float](repeating: 0, count: source.count)
        source.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<a {
                    for j in 0..<b {
                        let src = (i * b + j) * p
                        let dst = (j * a + i) * p
                        for k in 0..<p { o[dst + k] = s[src + k] }
                    }
                }
            }
        }
        return out
    }

    /// Max pooling over N×C×H×W windows. Returns the output and, per output element, the flat index
    /// of the input element that won (for the backward pass).
    public static func maxPool2d(_ input: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> (output: Tensor, argmax: [Int]) {
        let g = ConvGeometry(
            input: input.shape, kernelHeight: kernel, kernelWidth: kernel, stride: stride ?? kernel,
            padding: padding, operation: "maxPool2d")
        let planes = g.batch * g.channels
        var out = [Float](repeating: 0, count: planes * g.positions)
        var winners = [Int](repeating: 0, count: planes * g.positions)
        input.scalars.withUnsafeBufferPointer { x in
            for plane in 0..<planes {
                let base = plane * g.height * g.width
                for i in 0..<g.outHeight {
                    for j in 0..<g.outWidth {
                        var best = -Float.infinity
                        var bestIndex = -1
                        for kh in 0..<kernel {
                            let ih = i * g.stride - g.padding + kh
                            if ih < 0 || ih >= g.height { continue }
                            for kw in 0..<kernel {
                                let iw = j * g.stride - g.padding + kw
                                if iw < 0 || iw >= g.width { continue }
                                let idx = base + ih * g.width + iw
                                if bestIndex < 0 || x[idx] > best { best = x[idx]; bestIndex = idx }
                            }
                        }
                        let o = plane * g.positions + i * g.outWidth + j
                        out[o] = best
                        winners[o] = bestIndex
                    }
                }
            }
        }
        return (Tensor(shape: [g.batch, g.channels, g.outHeight, g.outWidth], scalars: out), winners)
    }

    /// Average pooling over N×C×H×W windows (padding counts as zeros in the average).
    public static func avgPool2d(_ input: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let g = ConvGeometry(
            input: input.shape, kernelHeight: kernel, kernelWidth: kernel, stride: stride ?? kernel,
            padding: padding, operation: "avgPool2d")
        let planes = g.batch * g.channels
        let scale = 1 / Float(kernel * kernel)
        var out = [Float](repeating: 0, count: planes * g.positions)
        input.scalars.withUnsafeBufferPointer { x in
            for plane in 0..<planes {
                let base = plane * g.height * g.width
                for i in 0..<g.outHeight {
                    for j in 0..<g.outWidth {
                        var total: Float = 0
                        for kh in 0..<kernel {
                            let ih = i * g.stride - g.padding + kh
                            if ih < 0 || ih >= g.height { continue }
                            for kw in 0..<kernel {
                                let iw = j * g.stride - g.padding + kw
                                if iw >= 0 && iw < g.width { total += x[base + ih * g.width + iw] }
                            }
                        }
                        out[plane * g.positions + i * g.outWidth + j] = total * scale
                    }
                }
            }
        }
        return Tensor(shape: [g.batch, g.channels, g.outHeight, g.outWidth], scalars: out)
    }

    /// Gradient of `avgPool2d` with respect to its input.
    public static func avgPool2dBackward(_ outputGradient: Tensor, inputShape: [Int], kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let g = ConvGeometry(
            input: inputShape, kernelHeight: kernel, kernelWidth: kernel, stride: stride ?? kernel,
            padding: padding, operation: "avgPool2d backward")
        let planes = g.batch * g.channels
        let scale = 1 / Float(kernel * kernel)
        var dx = [Float](repeating: 0, count: inputShape.reduce(1, *))
        for plane in 0..<planes {
            let base = plane * g.height * g.width
            for i in 0..<g.outHeight {
                for j in 0..<g.outWidth {
                    let grad = outputGradient.scalars[plane * g.positions + i * g.outWidth + j] * scale
                    for kh in 0..<kernel {
                        let ih = i * g.stride - g.padding + kh
                        if ih < 0 || ih >= g.height { continue }
                        for kw in 0..<kernel {
                            let iw = j * g.stride - g.padding + kw
                            if iw >= 0 && iw < g.width { dx[base + ih * g.width + iw] += grad }
                        }
                    }
                }
            }
        }
        return Tensor(shape: inputShape, scalars: dx)
    }
}
