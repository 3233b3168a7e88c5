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
        var out = [Float](repeating: 0, count: m * n)
        if m > 0 && n > 0 && k > 0 {
            gemm(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                a: a.scalars, lda: a.shape[1], b: b.scalars, ldb: b.shape[1], c: &out, beta: 0)
        }
        return Tensor(shape: [m, n], scalars: out)
    }

    /// C = op(A)·op(B) + beta·C on raw row-major buffers.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float
    ) {
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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

/// Sets the number of threads OpenBLAS uses (0 keeps its default).
public func setBLASThreadCount(_ count: Int) {
    if count > 0 { openblas_set_num_threads(Int32(count)) }
}

/// The number of threads OpenBLAS currently uses.
public func blasThreadCount() -> Int { Int(openblas_get_num_threads()) }

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
