import CBLAS
import Foundation

/// Why a symmetric eigen-decomposition returned nothing.
public struct EigenDecompositionError: Error, CustomStringConvertible {
    public let description: String
}

/// The `count` largest eigenvalues of the symmetric n × n matrix `matrix` (row-major; only the
/// upper triangle is read) and their unit eigenvectors, through LAPACK's `dsyevr` (MRRR).
///
/// Returns the eigenvalues in ascending order and the eigenvectors as an n × count row-major
/// array: column j is the eigenvector of `values[j]`. Eigenvectors are unique only up to sign (and
/// up to a rotation within a repeated eigenvalue); callers must not depend on either.
/// Throws when LAPACK reports a failure to converge.
public func symmetricEigenvectors(_ matrix: [Double], n: Int, largest count: Int) throws -> (values: [Double], vectors: [Double]) {
    precondition(n >= 1 && matrix.count == n * n, "symmetricEigenvectors: expects an n×n matrix with n ≥ 1, got \(matrix.count) values for n = \(n)")
    precondition(count >= 1 && count <= n, "symmetricEigenvectors: count \(count) must lie in 1…\(n)")
    // Row-major upper = column-major lower of the same buffer; the matrix is symmetric, so either
    // triangle is the matrix. LAPACK overwrites the array it reads.
    var a = matrix
    var nn = Int32(n), lda = Int32(n), il = Int32(n - count + 1), iu = Int32(n), ldz = Int32(n)
    var vl = 0.0, vu = 0.0, abstol = 0.0
    var found: Int32 = 0, info: Int32 = 0
    var values = [Double](repeating: 0, count: n)
    var z = [Double](repeating: 0, count: n * count)
    var support = [Int32](repeating: 0, count: 2 * Swift.max(1, count))
    var jobz = CChar(UInt8(ascii: "V")), range = CChar(UInt8(ascii: "I")), uplo = CChar(UInt8(ascii: "L"))
    // Workspace query, then the call.
    var workSize = 0.0, iworkSize: Int32 = 0, query: Int32 = -1
    dsyevr_(&jobz, &range, &uplo, &nn, &a, &lda, &vl, &vu, &il, &iu, &abstol, &found, &values, &z, &ldz, &support,
        &workSize, &query, &iworkSize, &query, &info, 1, 1, 1)
    guard info == 0 else { throw EigenDecompositionError(description: "dsyevr workspace query failed (info \(info))") }
    var lwork = Int32(workSize.rounded(.up)), liwork = iworkSize
    var work = [Double](repeating: 0, count: Int(lwork))
    var iwork = [Int32](repeating: 0, count: Int(liwork))
    dsyevr_(&jobz, &range, &uplo, &nn, &a, &lda, &vl, &vu, &il, &iu, &abstol, &found, &values, &z, &ldz, &support,
        &work, &lwork, &iwork, &liwork, &info, 1, 1, 1)
    guard info == 0, Int(found) == count else {
        throw EigenDecompositionError(description: "dsyevr did not converge (info \(info), \(found) of \(count) eigenvalues)")
    }
    // z is column-major n × count: column j at z[j·n ..< (j+1)·n]. Return it row-major.
    var vectors = [Double](repeating: 0, count: n * count)
    for j in 0..<count {
        for i in 0..<n { vectors[i * count + j] = z[j * n + i] }
    }
    return (Array(values.prefix(count)), vectors)
}
