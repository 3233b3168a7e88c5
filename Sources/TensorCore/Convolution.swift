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

extension ConvGeometry {
    /// The output indices j whose input index j·stride − padding + k falls inside 0..<size: every
    /// other output index reads padding. Lets the kernels run without a bounds test per element.
    @inlinable
    func validRange(offset k: Int, size: Int, outputs: Int) -> Range<Int> {
        let lowNumerator = padding - k
        let low = lowNumerator <= 0 ? 0 : (lowNumerator + stride - 1) / stride
        let highNumerator = size - 1 + padding - k
        let high = highNumerator < 0 ? 0 : Swift.min(outputs, highNumerator / stride + 1)
        return low < high ? low..<high : low..<low
    }
}

extension Tensor {
    /// im2col over the whole batch: a (C·KH·KW) × (N·OH·OW) matrix whose column (n, oh, ow) is
    /// the receptive field of that output position (zeros where it falls in the padding).
    static func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry) -> [Float] {
        let columns = g.batch * g.positions
        let (oh, ow, s, p) = (g.outHeight, g.outWidth, g.stride, g.padding)
        let (h, w, kh, kw) = (g.height, g.width, g.kernelHeight, g.kernelWidth)
        return uninitializedScalars(g.patchSize * columns) { out in
            // Each image writes its own block of columns in every row: images split across threads.
            forEachImageBlock(g) { n in
                for c in 0..<g.channels {
                    let plane = x + (n * g.channels + c) * h * w
                    for u in 0..<kh {
                        let rows = g.validRange(offset: u, size: h, outputs: oh)
                        for v in 0..<kw {
                            let cols = g.validRange(offset: v, size: w, outputs: ow)
                            let row = (c * kh + u) * kw + v
                            let dst = out + row * columns + n * g.positions
                            for i in 0..<oh {
                                let line = dst + i * ow
                                guard rows.contains(i) else {
                                    line.update(repeating: 0, count: ow)
                                    continue
                                }
                                if cols.lowerBound > 0 { line.update(repeating: 0, count: cols.lowerBound) }
                                if cols.upperBound < ow { (line + cols.upperBound).update(repeating: 0, count: ow - cols.upperBound) }
                                let src = plane + (i * s - p + u) * w - p + v
                                if s == 1 {
                                    // Rows are short (an output row): an inline loop beats a memmove call.
                                    for j in cols { line[j] = src[j] }
                                } else {
                                    for j in cols { line[j] = src[j * s] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds every column entry back into the N×C×H×W image it came from.
    static func col2im(_ cols: UnsafePointer<Float>, _ g: ConvGeometry) -> [Float] {
        let columns = g.batch * g.positions
        let (oh, ow, s, p) = (g.outHeight, g.outWidth, g.stride, g.padding)
        let (h, w, kh, kw) = (g.height, g.width, g.kernelHeight, g.kernelWidth)
        var image = [Float](repeating: 0, count: g.batch * g.channels * h * w)
        image.withUnsafeMutableBufferPointer { buffer in
            guard let img = buffer.baseAddress else { return }
            // Image-major order: one N·C plane stays in cache while every kernel offset adds into it.
            // Images are disjoint, so they split across threads without changing any sum.
            forEachImageBlock(g) { n in
                for c in 0..<g.channels {
                    let plane = img + (n * g.channels + c) * h * w
                    for u in 0..<kh {
                        let rows = g.validRange(offset: u, size: h, outputs: oh)
                        for v in 0..<kw {
                            let colRange = g.validRange(offset: v, size: w, outputs: ow)
                            if colRange.isEmpty { continue }
                            let row = (c * kh + u) * kw + v
                            let src = cols + row * columns + n * g.positions
                            for i in rows {
                                let line = src + i * ow
                                let dst = plane + (i * s - p + u) * w - p + v
                                if s == 1 {
                                    for j in colRange { dst[j] += line[j] }
                                } else {
                                    for j in colRange { dst[j * s] += line[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return image
    }

    /// Calls `body(n)` for every image of the batch, blocks of images in parallel when the
    /// im2col matrix is large enough to repay waking the pool.
    static func forEachImageBlock(_ g: ConvGeometry, _ body: (Int) -> Void) {
        let work = g.patchSize * g.positions * g.batch
        let threads = ParallelKernels.threadCount
        guard work >= ParallelKernels.minimumParallelElements, threads > 1, g.batch > 1 else {
            for n in 0..<g.batch { body(n) }
            return
        }
        let blocks = Swift.min(g.batch, threads * 4)
        let perBlock = (g.batch + blocks - 1) / blocks
        ParallelKernels.forEachChunk((g.batch + perBlock - 1) / perBlock) { b in
            for n in b * perBlock..<Swift.min(g.batch, (b + 1) * perBlock) { body(n) }
        }
    }

    /// Calls `body(planes)` over `0..<planes` in blocks, in parallel when `planes × elementsPerPlane`
    /// is large enough.
    static func forEachPlaneBlock(_ planes: Int, elementsPerPlane: Int, _ body: (Range<Int>) -> Void) {
        ParallelKernels.forEachRange(planes, elementsPerItem: elementsPerPlane, body)
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
        tuneAllocatorForTraining()
        let cols = input.scalars.withUnsafeBufferPointer { im2col($0.baseAddress!, g) }
        let columns = g.batch * g.positions
        // [O × CKK] · [CKK × N·P] = [O × N·P]
        let product = weight.scalars.withUnsafeBufferPointer { pw in
            cols.withUnsafeBufferPointer { pc in
                uninitializedScalars(outChannels * columns) { out in
                    gemm(
                        transposeA: false, transposeB: false, m: outChannels, n: columns, k: g.patchSize,
                        a: pw.baseAddress!, lda: g.patchSize, b: pc.baseAddress!, ldb: columns, c: out, ldc: columns,
                        beta: 0)
                }
            }
        }
        let output = regroup(product, outer: outChannels, middle: g.batch, inner: g.positions)
        return (Tensor(shape: [g.batch, outChannels, g.outHeight, g.outWidth], scalars: output), cols)
    }

    /// Gradients of `conv2d` with respect to its input and weight. With `computeInputGradient`
    /// false (the input is data that needs no gradient, e.g. the first layer) the input gradient —
    /// a large GEMM and a col2im — is skipped and `input` is nil.
    public static func conv2dBackward(
        outputGradient: Tensor, input inputShape: [Int], weight: Tensor, columns: [Float], stride: Int, padding: Int,
        computeInputGradient: Bool
    ) -> (input: Tensor?, weight: Tensor) {
        let g = ConvGeometry(
            input: inputShape, kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
            stride: stride, padding: padding, operation: "conv2d backward")
        let outChannels = weight.shape[0]
        precondition(
            outputGradient.shape == [g.batch, outChannels, g.outHeight, g.outWidth],
            "conv2d backward: output gradient of shape \(outputGradient.shape) for an output of shape \([g.batch, outChannels, g.outHeight, g.outWidth])")
        let total = g.batch * g.positions
        // N×O×P → O×(N·P)
        let dOut = regroup(outputGradient.scalars, outer: g.batch, middle: outChannels, inner: g.positions)
        let dWeight = dOut.withUnsafeBufferPointer { pd in
            columns.withUnsafeBufferPointer { pc in
                uninitializedScalars(outChannels * g.patchSize) { out in
                    gemm(
                        transposeA: false, transposeB: true, m: outChannels, n: g.patchSize, k: total,
                        a: pd.baseAddress!, lda: total, b: pc.baseAddress!, ldb: total, c: out, ldc: g.patchSize,
                        beta: 0)
                }
            }
        }
        guard computeInputGradient else { return (nil, Tensor(shape: weight.shape, scalars: dWeight)) }
        let dCols = weight.scalars.withUnsafeBufferPointer { pw in
            dOut.withUnsafeBufferPointer { pd in
                uninitializedScalars(g.patchSize * total) { out in
                    gemm(
                        transposeA: true, transposeB: false, m: g.patchSize, n: total, k: outChannels,
                        a: pw.baseAddress!, lda: g.patchSize, b: pd.baseAddress!, ldb: total, c: out, ldc: total,
                        beta: 0)
                }
            }
        }
        let dInput = dCols.withUnsafeBufferPointer { col2im($0.baseAddress!, g) }
        return (Tensor(shape: inputShape, scalars: dInput), Tensor(shape: weight.shape, scalars: dWeight))
    }

    /// Gradients of `conv2d` with respect to its input and weight.
    public static func conv2dBackward(
        outputGradient: Tensor, input inputShape: [Int], weight: Tensor, columns: [Float], stride: Int, padding: Int
    ) -> (input: Tensor, weight: Tensor) {
        let (dx, dw) = conv2dBackward(
            outputGradient: outputGradient, input: inputShape, weight: weight, columns: columns, stride: stride,
            padding: padding, computeInputGradient: true)
        return (dx!, dw)
    }

    /// Swaps the two outer groups of a [A × B × P] buffer into [B × A × P].
    static func regroup(_ source: [Float], outer a: Int, middle b: Int, inner p: Int) -> [Float] {
        precondition(source.count == a * b * p, "regroup: \(source.count) elements for \(a)×\(b)×\(p)")
        return source.withUnsafeBufferPointer { s in
            uninitializedScalars(source.count) { o in
                forEachPlaneBlock(a, elementsPerPlane: b * p) { rows in
                    for i in rows {
                        for j in 0..<b {
                            (o + (j * a + i) * p).update(from: s.baseAddress! + (i * b + j) * p, count: p)
                        }
                    }
                }
            }
        }
    }

    /// Max pooling over N×C×H×W windows. Returns the output and, per output element, the flat index
    /// of the input element that won (for the backward pass).
    public static func maxPool2d(_ input: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> (output: Tensor, argmax: [Int]) {
        let g = ConvGeometry(
            input: input.shape, kernelHeight: kernel, kernelWidth: kernel, stride: stride ?? kernel,
            padding: padding, operation: "maxPool2d")
        let planes = g.batch * g.channels
        let total = planes * g.positions
        var winners = [Int](repeating: -1, count: total)
        let (oh, ow, s, p, h, w) = (g.outHeight, g.outWidth, g.stride, g.padding, g.height, g.width)
        let rowRanges = (0..<oh).map { i in Swift.max(0, i * s - p)..<Swift.min(h, i * s - p + kernel) }
        let colRanges = (0..<ow).map { j in Swift.max(0, j * s - p)..<Swift.min(w, j * s - p + kernel) }
        let out = input.scalars.withUnsafeBufferPointer { xb in
            winners.withUnsafeMutableBufferPointer { wb in
                uninitializedScalars(total) { o in
                    guard let x = xb.baseAddress else { return }
                    if kernel == 2 && s == 2 && p == 0 {
                        // The common 2×2/2 window without padding: four candidates, first wins ties.
                        forEachPlaneBlock(planes, elementsPerPlane: h * w) { block in for plane in block {
                            let base = plane * h * w
                            for i in 0..<oh {
                                for j in 0..<ow {
                                    let topLeft = base + 2 * i * w + 2 * j
                                    var index = topLeft
                                    var best = x[topLeft]
                                    if x[topLeft + 1] > best { best = x[topLeft + 1]; index = topLeft + 1 }
                                    if x[topLeft + w] > best { best = x[topLeft + w]; index = topLeft + w }
                                    if x[topLeft + w + 1] > best { best = x[topLeft + w + 1]; index = topLeft + w + 1 }
                                    let k = plane * g.positions + i * ow + j
                                    o[k] = best
                                    wb[k] = index
                                }
                            }
                        } }
                        return
                    }
                    forEachPlaneBlock(planes, elementsPerPlane: h * w) { block in for plane in block {
                        let base = plane * h * w
                        for i in 0..<oh {
                            let rows = rowRanges[i]
                            for j in 0..<ow {
                                let cols = colRanges[j]
                                var best = -Float.infinity
                                var bestIndex = -1
                                for ih in rows {
                                    let line = base + ih * w
                                    for iw in cols where bestIndex < 0 || x[line + iw] > best {
                                        best = x[line + iw]
                                        bestIndex = line + iw
                                    }
                                }
                                let k = plane * g.positions + i * ow + j
                                o[k] = best
                                wb[k] = bestIndex
                            }
                        }
                    } }
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
        input.scalars.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { out in
            forEachPlaneBlock(planes, elementsPerPlane: g.height * g.width) { block in for plane in block {
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
            } }
        } }
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
        // Windows never cross planes: planes split across threads without changing any sum.
        outputGradient.scalars.withUnsafeBufferPointer { dy in dx.withUnsafeMutableBufferPointer { dx in
        forEachPlaneBlock(planes, elementsPerPlane: g.height * g.width) { block in for plane in block {
            let base = plane * g.height * g.width
            for i in 0..<g.outHeight {
                for j in 0..<g.outWidth {
                    let grad = dy[plane * g.positions + i * g.outWidth + j] * scale
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
        } }
        } }
        return Tensor(shape: inputShape, scalars: dx)
    }
}
