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
    /// `dst[0..<count] = src[0..<count]` eight floats at a time. The runs im2col copies are short
    /// (an output row, e.g. 24 or 8 floats): a plain loop spent most of its time on its set-up
    /// (overlap checks, trip counts), a memmove call more.
    @inline(__always)
    static func copyRun(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
        var j = 0
        while j + 8 <= count {
            UnsafeMutableRawPointer(dst + j).storeBytes(
                of: UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            j += 8
        }
        while j < count {
            dst[j] = src[j]
            j += 1
        }
    }

    /// `dst[0..<count] += src[0..<count]` eight floats at a time (each element one addition, as in
    /// a plain loop).
    @inline(__always)
    static func addRun(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
        var j = 0
        while j + 8 <= count {
            let sum = UnsafeRawPointer(dst + j).loadUnaligned(as: SIMD8<Float>.self)
                + UnsafeRawPointer(src + j).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(dst + j).storeBytes(of: sum, as: SIMD8<Float>.self)
            j += 8
        }
        while j < count {
            dst[j] += src[j]
            j += 1
        }
    }

    /// im2col of one image: writes the (C·KH·KW) × (OH·OW) matrix whose column (oh, ow) is the
    /// receptive field of that output position (zeros where it falls in the padding) to `out`,
    /// rows `rowStride` apart (several images' matrices side by side make a block's matrix).
    static func im2col(
        image x: UnsafePointer<Float>, _ g: ConvGeometry, into out: UnsafeMutablePointer<Float>, rowStride: Int
    ) {
        let (oh, ow, s, p) = (g.outHeight, g.outWidth, g.stride, g.padding)
        let (h, w, kh, kw) = (g.height, g.width, g.kernelHeight, g.kernelWidth)
        let positions = rowStride
        for c in 0..<g.channels {
            let plane = x + c * h * w
            for u in 0..<kh {
                let rows = g.validRange(offset: u, size: h, outputs: oh)
                for v in 0..<kw {
                    let cols = g.validRange(offset: v, size: w, outputs: ow)
                    let dst = out + ((c * kh + u) * kw + v) * positions
                    if s == 1 && p == 0 {
                        // Every position is valid: the row is OH runs of OW inputs.
                        for i in 0..<oh { copyRun(dst + i * ow, plane + (i + u) * w + v, ow) }
                        continue
                    }
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
                            copyRun(line + cols.lowerBound, src + cols.lowerBound, cols.count)
                        } else {
                            for j in cols { line[j] = src[j * s] }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col(image:)`: adds every entry of one image's (C·KH·KW) × (OH·OW)
    /// matrix back into the C×H×W image it came from (which the caller has zeroed).
    static func col2im(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, addingInto image: UnsafeMutablePointer<Float>) {
        let (oh, ow, s, p) = (g.outHeight, g.outWidth, g.stride, g.padding)
        let (h, w, kh, kw) = (g.height, g.width, g.kernelHeight, g.kernelWidth)
        for c in 0..<g.channels {
            let plane = image + c * h * w
            for u in 0..<kh {
                let rows = g.validRange(offset: u, size: h, outputs: oh)
                for v in 0..<kw {
                    let colRange = g.validRange(offset: v, size: w, outputs: ow)
                    if colRange.isEmpty { continue }
                    let src = cols + ((c * kh + u) * kw + v) * g.positions
                    for i in rows {
                        let line = src + i * ow
                        let dst = plane + (i * s - p + u) * w - p + v
                        if s == 1 {
                            addRun(dst + colRange.lowerBound, line + colRange.lowerBound, colRange.count)
                        } else {
                            for j in colRange { dst[j * s] += line[j] }
                        }
                    }
                }
            }
        }
    }

    /// Images per block of a convolution: the unit of work a thread takes, and the unit of the
    /// weight gradient's partial sums. Fixed (not chosen by thread count), so that the sums, and
    /// with them every result, are the same on any number of threads.
    public static let convolutionBlockImages = 8

    /// Calls `body(images)` for the batch in blocks of `convolutionBlockImages` images, in parallel
    /// when the convolution's multiply-adds (`work`) repay waking the pool.
    static func forEachConvolutionBlock(batch: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let size = convolutionBlockImages
        let blocks = (batch + size - 1) / size
        if work < 1 << 20 || ParallelKernels.threadCount == 1 {
            for b in 0..<blocks { body(b * size..<Swift.min(batch, (b + 1) * size)) }
        } else {
            ParallelKernels.forEachChunk(blocks) { b in body(b * size..<Swift.min(batch, (b + 1) * size)) }
        }
    }

    /// Calls `body(planes)` over `0..<planes` in blocks, in parallel when `planes × elementsPerPlane`
    /// is large enough.
    static func forEachPlaneBlock(_ planes: Int, elementsPerPlane: Int, _ body: (Range<Int>) -> Void) {
        ParallelKernels.forEachRange(planes, elementsPerItem: elementsPerPlane, body)
    }

    /// 2-D cross-correlation (what deep-learning libraries call convolution), plus a bias per
    /// output channel when given.
    ///
    /// By blocks of `convolutionBlockImages` images, each block on one of the pool's threads: the
    /// block's im2col matrix (C·KH·KW × images·OH·OW, a few hundred KiB that stay in cache), then
    /// per image one product `weight · columns` written straight into its O×OH×OW output, then the
    /// bias added to each output plane. Nothing is kept for the backward pass but the input: it
    /// builds each block's im2col matrix again, which costs less than writing one of megabytes for
    /// the whole batch and reading it back (as an earlier version did).
    /// - Parameters:
    ///   - input: N×C×H×W.
    ///   - weight: O×C×KH×KW.
    ///   - bias: O values, or nil.
    /// - Returns: the N×O×OH×OW output, and what `conv2dBackward` needs of the forward pass (the
    ///   input's scalars).
    public static func conv2d(
        _ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0
    ) -> (output: Tensor, saved: [Float]) {
        precondition(weight.rank == 4, "conv2d: weight must be O×C×KH×KW, got shape \(weight.shape)")
        let g = ConvGeometry(
            input: input.shape, kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
            stride: stride, padding: padding, operation: "conv2d")
        precondition(
            weight.shape[1] == g.channels,
            "conv2d: input of shape \(input.shape) has \(g.channels) channels but weight \(weight.shape) expects \(weight.shape[1])")
        let outChannels = weight.shape[0]
        let biasValues = bias?.scalars ?? []
        if bias != nil {
            precondition(
                biasValues.count == outChannels, "conv2d: bias of shape \(bias!.shape) for \(outChannels) output channels")
        }
        tuneAllocatorForTraining()
        let (patch, positions) = (g.patchSize, g.positions)
        let imageSize = g.channels * g.height * g.width
        let output = input.scalars.withUnsafeBufferPointer { px in
            weight.scalars.withUnsafeBufferPointer { pw in
                uninitializedScalars(g.batch * outChannels * positions) { out in
                    forEachConvolutionBlock(batch: g.batch, work: g.batch * outChannels * patch * positions) { images in
                        let rowStride = images.count * positions
                        let cols = UnsafeMutablePointer<Float>.allocate(capacity: patch * rowStride)
                        defer { cols.deallocate() }
                        for n in images {
                            let offset = (n - images.lowerBound) * positions
                            im2col(image: px.baseAddress! + n * imageSize, g, into: cols + offset, rowStride: rowStride)
                            let outN = out + n * outChannels * positions
                            // [O × CKK] · [CKK × P] = [O × P], this image's output.
                            gemm(
                                transposeA: false, transposeB: false, m: outChannels, n: positions, k: patch,
                                a: pw.baseAddress!, lda: patch, b: cols + offset, ldb: rowStride, c: outN, ldc: positions,
                                beta: 0)
                            for o in 0..<biasValues.count {
                                let b = biasValues[o]
                                let plane = outN + o * positions
                                for q in 0..<positions { plane[q] += b }
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(shape: [g.batch, outChannels, g.outHeight, g.outWidth], scalars: output), input.scalars)
    }

    /// Gradients of `conv2d` with respect to its input, weight and bias; `saved` is what `conv2d`
    /// returned with the output. With `computeInputGradient` false (the input is data that needs
    /// no gradient, e.g. the first layer) the input gradient is skipped and `input` is nil.
    ///
    /// Per block of `convolutionBlockImages` images: the block's im2col matrix again, its output
    /// gradient as one O × images·OH·OW matrix, and one product for the block's weight gradient;
    /// its bias gradient; per image dXₙ = col2im(Wᵀ · dYₙ). The blocks' weight and bias gradients
    /// are added in block order: the same sums on any number of threads.
    public static func conv2dBackward(
        outputGradient: Tensor, input inputShape: [Int], weight: Tensor, saved: [Float], stride: Int, padding: Int,
        computeInputGradient: Bool = true
    ) -> (input: Tensor?, weight: Tensor, bias: Tensor) {
        let g = ConvGeometry(
            input: inputShape, kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
            stride: stride, padding: padding, operation: "conv2d backward")
        let outChannels = weight.shape[0]
        precondition(
            outputGradient.shape == [g.batch, outChannels, g.outHeight, g.outWidth],
            "conv2d backward: output gradient of shape \(outputGradient.shape) for an output of shape \([g.batch, outChannels, g.outHeight, g.outWidth])")
        let (patch, positions) = (g.patchSize, g.positions)
        let imageSize = g.channels * g.height * g.width
        precondition(saved.count == g.batch * imageSize, "conv2d backward: \(saved.count) saved values for an input of shape \(inputShape)")
        // At least one (zero) block, so that an empty batch gets zero gradients.
        let blocks = Swift.max(1, (g.batch + convolutionBlockImages - 1) / convolutionBlockImages)
        let weightSize = outChannels * patch
        // Per block: its weight gradient (O·CKK), then its bias gradient (O).
        let partialSize = weightSize + outChannels
        var partials = [Float](repeating: 0, count: blocks * partialSize)
        var dInput: [Float] = computeInputGradient ? [Float](repeating: 0, count: g.batch * imageSize) : []
        outputGradient.scalars.withUnsafeBufferPointer { pg in
            saved.withUnsafeBufferPointer { px in
                weight.scalars.withUnsafeBufferPointer { pw in
                    partials.withUnsafeMutableBufferPointer { pp in
                        dInput.withUnsafeMutableBufferPointer { pdx in
                            let work = g.batch * outChannels * patch * positions * (computeInputGradient ? 2 : 1)
                            forEachConvolutionBlock(batch: g.batch, work: work) { images in
                                let block = images.lowerBound / convolutionBlockImages
                                let dW = pp.baseAddress! + block * partialSize
                                let dB = dW + weightSize
                                let rowStride = images.count * positions
                                let cols = UnsafeMutablePointer<Float>.allocate(capacity: patch * rowStride)
                                let dYBlock = UnsafeMutablePointer<Float>.allocate(capacity: outChannels * rowStride)
                                let dCols = UnsafeMutablePointer<Float>.allocate(capacity: computeInputGradient ? patch * positions : 0)
                                defer {
                                    cols.deallocate()
                                    dYBlock.deallocate()
                                    dCols.deallocate()
                                }
                                for n in images {
                                    let offset = (n - images.lowerBound) * positions
                                    im2col(image: px.baseAddress! + n * imageSize, g, into: cols + offset, rowStride: rowStride)
                                    let dY = pg.baseAddress! + n * outChannels * positions
                                    for o in 0..<outChannels {
                                        (dYBlock + o * rowStride + offset).update(from: dY + o * positions, count: positions)
                                    }
                                    guard computeInputGradient else { continue }
                                    // [CKK × O] · [O × P] = this image's im2col gradient.
                                    gemm(
                                        transposeA: true, transposeB: false, m: patch, n: positions, k: outChannels,
                                        a: pw.baseAddress!, lda: patch, b: dY, ldb: positions, c: dCols, ldc: positions, beta: 0)
                                    col2im(dCols, g, addingInto: pdx.baseAddress! + n * imageSize)
                                }
                                // [O × images·P] · [images·P × CKK]: the block's weight gradient.
                                gemm(
                                    transposeA: false, transposeB: true, m: outChannels, n: patch, k: rowStride,
                                    a: dYBlock, lda: rowStride, b: cols, ldb: rowStride, c: dW, ldc: patch, beta: 0)
                                for o in 0..<outChannels {
                                    let row = dYBlock + o * rowStride
                                    var total: Float = 0
                                    for q in 0..<rowStride { total += row[q] }
                                    dB[o] = total
                                }
                            }
                        }
                    }
                }
            }
        }
        // The blocks' sums, in block order.
        var dWeight = [Float](partials[0..<weightSize])
        var dBias = [Float](partials[weightSize..<partialSize])
        for b in 1..<blocks {
            let base = b * partialSize
            for i in 0..<weightSize { dWeight[i] += partials[base + i] }
            for o in 0..<outChannels { dBias[o] += partials[base + weightSize + o] }
        }
        return (
            computeInputGradient ? Tensor(shape: inputShape, scalars: dInput) : nil,
            Tensor(shape: weight.shape, scalars: dWeight), Tensor(shape: [outChannels], scalars: dBias)
        )
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
