import CBLAS
import Foundation

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
        BLASCore.ensureSelected()
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

/// OpenBLAS's name for the kernels products run on (`SkylakeX`, `Haswell`, …), after DAKit's
/// correction of a generic fallback (see `BLASCore`).
public func blasCoreName() -> String {
    BLASCore.ensureSelected()
    return BLASCore.currentName()
}

/// Which OpenBLAS kernels DAKit's products run on.
///
/// OpenBLAS (DYNAMIC_ARCH builds such as Debian's) picks its kernels when the library loads, by
/// CPU model. A model newer than the library (e.g. Emerald Rapids under OpenBLAS 0.3.21) gets its
/// generic `Prescott` kernels: sgemm at a fifth of the speed of the AVX-512 ones the CPU can run.
/// So, before the first product (and before `blasCoreName()` answers), DAKit checks: when
/// OpenBLAS fell back to `Prescott` on a CPU whose flags (`/proc/cpuinfo`) have AVX-512
/// (F, CD, BW, DQ, VL) it switches to `Cooperlake` (with AVX512-BF16) or `SkylakeX`; with AVX2
/// and FMA to `Haswell`. It sets `OPENBLAS_CORETYPE` (child processes then load with it) and
/// re-runs OpenBLAS's own dispatch (`gotoblas_dynamic_quit`/`gotoblas_dynamic_init`, looked up
/// by name: a BLAS without them is left as it is).
///
/// Left alone when the environment sets `OPENBLAS_CORETYPE` (OpenBLAS then used it at load) or
/// `DAKIT_BLAS_CORE=keep`. Kernels round differently, so a product's last bits (and a run's
/// numbers in their last digits) depend on the kernels; `report.json` records them (`blasCore`).
public enum BLASCore {
    /// The kernels OpenBLAS chose at load time, and whether DAKit replaced them.
    public struct Selection: Sendable, Equatable {
        /// OpenBLAS's choice at load time.
        public var loaded: String
        /// The kernels in use.
        public var active: String
        /// Why they are in use: `"openblas"` (OpenBLAS's choice, nothing to correct),
        /// `"OPENBLAS_CORETYPE"`, `"DAKIT_BLAS_CORE=keep"`, or `"dakit"` (replaced a generic fallback).
        public var reason: String
    }

    /// The selection, made once per process (the first product, `blasCoreName()` or this).
    public static var selection: Selection { selected }

    /// Makes the selection if it is not made yet. Cheap after the first call.
    @inline(__always)
    static func ensureSelected() { _ = selected }

    private static let selected: Selection = select(
        environment: ProcessInfo.processInfo.environment, cpuFlags: cpuFlags())

    static func currentName() -> String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The kernels worth switching to on a CPU with `flags`, when OpenBLAS loaded `loaded`
    /// (nil: keep). Only OpenBLAS's generic fallback is replaced.
    public static func preferredCore(loaded: String, flags: Set<String>, hasCooperlake: Bool = true) -> String? {
        guard loaded.lowercased() == "prescott" else { return nil }
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) {
            return hasCooperlake && flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The CPU's feature flags from `/proc/cpuinfo` (empty where there is none: nothing is changed).
    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    private static func select(environment: [String: String], cpuFlags: Set<String>) -> Selection {
        let loaded = currentName()
        var selection = Selection(loaded: loaded, active: loaded, reason: "openblas")
        if environment["OPENBLAS_CORETYPE"] != nil {
            selection.reason = "OPENBLAS_CORETYPE"
            return selection
        }
        if environment["DAKIT_BLAS_CORE"]?.lowercased() == "keep" {
            selection.reason = "DAKIT_BLAS_CORE=keep"
            return selection
        }
        typealias Call = @convention(c) () -> Void
        let library = UnsafeMutableRawPointer(bitPattern: 0)
        guard
            let core = preferredCore(
                loaded: loaded, flags: cpuFlags, hasCooperlake: dlsym(library, "gotoblas_COOPERLAKE") != nil),
            let quit = dlsym(library, "gotoblas_dynamic_quit"), let initialise = dlsym(library, "gotoblas_dynamic_init")
        else { return selection }
        // OpenBLAS's dispatch reads OPENBLAS_CORETYPE; quit clears the table pointer so that init
        // chooses again (init falls back to its CPU-model choice if the name is unknown).
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsafeBitCast(quit, to: Call.self)()
        unsafeBitCast(initialise, to: Call.self)()
        selection.active = currentName()
        selection.reason = "dakit"
        return selection
    }
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
