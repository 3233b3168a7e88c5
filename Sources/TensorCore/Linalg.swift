import CBLAS

extension Tensor {
    /// Matrix product of rank-2 tensors through `cblas_sgemm`: op(a) · op(b), where op transposes
    /// when asked. Transposes are passed to BLAS as flags; nothing is copied.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(
            a.rank == 2 && b.rank == 2,
            "matmul: expects rank-2 tensors, got shapes \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition(
            k == kb,
            "matmul: inner sizes differ for shapes \(a.shape)\(transposeA ? "ᵀ" : "") and \(b.shape)\(transposeB ? "ᵀ" : "")")
        tuneAllocatorForTraining()
        if k == 0 { return Tensor.zeros([m, n]) }
        // beta = 0: BLAS writes every element of C, so it needs no zero fill.
        let out = a.scalars.withUnsafeBufferPointer { pa in
            b.scalars.withUnsafeBufferPointer { pb in
                uninitializedScalars(m * n) { pc in
                    gemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                        a: pa.baseAddress!, lda: a.shape[1], b: pb.baseAddress!, ldb: b.shape[1], c: pc, ldc: n,
                        beta: 0)
                }
            }
        }
        return Tensor(shape: [m, n], scalars: out)
    }

    /// C = op(A)·op(B) + beta·C on raw row-major buffers.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float
    ) {
        let panels = productPanels(m: m, n: n, k: k)
        if panels.count == 1 {
            cblas_sgemm(
                CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        // Each panel is an independent one-thread OpenBLAS call on a block of C's rows (or columns).
        ParallelKernels.forEachChunk(panels.count) { p in
            let start = p * panels.size
            let end = Swift.min(panels.splitsRows ? m : n, start + panels.size)
            if panels.splitsRows {
                let pa = transposeA ? a + start : a + start * lda
                cblas_sgemm(
                    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(end - start), Int32(n), Int32(k), 1, pa, Int32(lda), b, Int32(ldb), beta, c + start * ldc, Int32(ldc))
            } else {
                let pb = transposeB ? b + start * ldb : b + start
                cblas_sgemm(
                    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(end - start), Int32(k), 1, a, Int32(lda), pb, Int32(ldb), beta, c + start, Int32(ldc))
            }
        }
    }

    /// How a product is split: along C's longer side (rows when m ≥ n), into `count` panels of
    /// `size` rows or columns (a multiple of 16, OpenBLAS's widest micro-tile), a power of two of
    /// at most 8 panels of at least 128 rows (columns) and `minimumPanelMultiplyAdds` each. The split depends on the shape
    /// only, never on the thread count: OpenBLAS picks its kernels by the size of each call (on
    /// AVX-512 cores "small" and "direct" kernels below about 7.3 M multiply-adds, and its Haswell
    /// kernels round differently for different panel widths), so a split chosen by thread count
    /// would make a product's last bits, and a training run's numbers, depend on `--threads` and
    /// on `compare --jobs`. The threads only decide who computes which panel.
    static func productPanels(m: Int, n: Int, k: Int) -> (count: Int, size: Int, splitsRows: Bool) {
        let splitsRows = m >= n
        let side = splitsRows ? m : n
        // Few, wide panels: each call packs the whole other operand again (measured on one thread:
        // 16 panels of a 1024³ product cost 30 %, 4 panels of the MLP's 256×784×256 25 %).
        let limit = Swift.min(8, side / 128, m * n * k / ParallelKernels.minimumPanelMultiplyAdds)
        guard limit >= 2 else { return (1, side, splitsRows) }
        var count = 1
        while count * 2 <= limit { count *= 2 }
        let size = ((side + count - 1) / count + 15) / 16 * 16
        return ((side + size - 1) / size, size, splitsRows)
    }

    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: [Float], lda: Int, b: [Float], ldb: Int, c: inout [Float], beta: Float
    ) {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    gemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                        a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                        c: pc.baseAddress!, ldc: n, beta: beta)
                }
            }
        }
    }
}

/// Sets the threads for matrix products and DAKit's kernels (0 keeps the current count, every
/// core by default). Products run as panels on TensorCore's pool with OpenBLAS at one thread
/// each (see `ParallelKernels`); this is `setThreadCount` under its old name.
public func setBLASThreadCount(_ count: Int) {
    if count > 0 { setThreadCount(count) }
}

/// The threads matrix products use (TensorCore's pool; OpenBLAS itself runs one per panel).
public func blasThreadCount() -> Int { threadCount() }

/// OpenBLAS's name for the kernels it selected at load time (`SkylakeX`, `Haswell`, …). A CPU
/// that OpenBLAS does not know gets its generic `Prescott` kernels, several times slower; the
/// environment variable `OPENBLAS_CORETYPE` overrides the choice.
public func blasCoreName() -> String {
    guard let name = openblas_get_corename() else { return "unknown" }
    return String(cString: name)
}

/// Direct access to BLAS, for benchmarks and kernels that manage their own buffers.
public enum BLAS {
    /// C = op(A)·op(B) + beta·C on raw row-major buffers (`cblas_sgemm` with alpha = 1), where op
    /// transposes when asked; `lda`, `ldb`, `ldc` are the row lengths of A, B and C as stored.
    public static func sgemm(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        Tensor.gemm(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
            c: c, ldc: ldc, beta: beta)
    }
}

/// Keeps large freed buffers in the process heap instead of returning them to the kernel.
///
/// A training step allocates and frees the same large buffers every time (im2col matrices,
/// activations, gradients). With glibc's defaults, blocks above the mmap threshold are mapped
/// fresh on every allocation and unmapped on free, so each step pays a page fault and a page
/// clear for every 4 KiB it touches — measured at about 45 % of a LeNet training step. Raising
/// the mmap and trim thresholds lets malloc reuse those blocks, as the caching allocators of other
/// frameworks do. Applied once, automatically, by the first matmul or convolution; a process can
/// apply it earlier by calling `tuneAllocatorForTraining()`. No effect where glibc is not the C
/// library.
public func tuneAllocatorForTraining() {
    _ = allocatorTuned
}

private let allocatorTuned: Bool = {
    // Blocks up to 1 GiB come from the heap; up to 1 GiB of free heap top is kept.
    dakit_retain_freed_memory(1 << 30)
    return true
}()
