import Foundation
import TensorCore

/// Two-dimensional embeddings of feature vectors for plots: principal components and exact t-SNE,
/// written out here (no dependency) over contiguous row-major `[Double]` buffers.
///
/// Both are deterministic: the same input (and seed) gives the same coordinates, bit for bit, on
/// the same machine.
public enum Embedding {
    /// The result of `pca`: coordinates of every row on the leading principal axes.
    public struct PCA: Sendable, Equatable {
        /// Row-major n × `components` scores (x − mean) · axisₖ; zero on axes past the data's rank.
        public var coordinates: [Double]
        public var components: Int
        /// The unit principal axes, largest variance first; each axis's largest-magnitude entry is
        /// positive (a fixed sign, so that equal data give equal plots).
        public var axes: [[Double]]
        /// Variance along each axis (sample covariance, divisor n − 1).
        public var variances: [Double]
        /// Total variance (trace of the covariance), for "explained variance" shares.
        public var totalVariance: Double

        /// Share of the total variance on axis `k` (0 when the data do not vary).
        public func explainedShare(_ k: Int) -> Double { totalVariance > 0 ? variances[k] / totalVariance : 0 }
    }

    /// Principal component analysis of the rows of `x` (row-major, `dimension` columns).
    ///
    /// Centres the rows, then finds the leading eigenvectors of the sample covariance
    /// C = XᵀX / (n − 1) by subspace iteration with a Rayleigh–Ritz step (deterministic start,
    /// stops when the axes move less than 1e-12 or after 1000 iterations). Non-finite entries are
    /// read as 0. With fewer rows than 2 or a constant input every coordinate is 0.
    public static func pca(_ x: [Double], dimension: Int, components: Int = 2) -> PCA {
        precondition(dimension >= 1 && x.count % dimension == 0, "Embedding.pca: \(x.count) values are not rows of \(dimension)")
        precondition(components >= 1, "Embedding.pca: components must be at least 1")
        let n = x.count / dimension
        let d = dimension
        var centred = x.map { $0.isFinite ? $0 : 0 }
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += centred[i * d + j] } }
        for j in 0..<d { mean[j] /= Double(max(n, 1)) }
        for i in 0..<n { for j in 0..<d { centred[i * d + j] -= mean[j] } }
        let covariance = covarianceMatrix(centred, rows: n, dimension: d)
        let total = (0..<d).reduce(0.0) { $0 + covariance[$1 * d + $1] }
        let k = min(components, d)
        var (axes, variances) = leadingEigenvectors(covariance, dimension: d, count: k)
        if !(total > 0) { variances = variances.map { _ in 0 } }
        var coordinates = [Double](repeating: 0, count: n * components)
        for (a, axis) in axes.enumerated() where variances[a] > 0 {
            for i in 0..<n {
                var s = 0.0
                for j in 0..<d { s += centred[i * d + j] * axis[j] }
                coordinates[i * components + a] = s
            }
        }
        while axes.count < components {
            axes.append([Double](repeating: 0, count: d))
            variances.append(0)
        }
        return PCA(coordinates: coordinates, components: components, axes: axes, variances: variances, totalVariance: max(total, 0))
    }

    /// XᵀX / (n − 1) of centred rows, d × d row-major.
    private static func covarianceMatrix(_ centred: [Double], rows n: Int, dimension d: Int) -> [Double] {
        var c = [Double](repeating: 0, count: d * d)
        centred.withUnsafeBufferPointer { x in
            c.withUnsafeMutableBufferPointer { c in
                for i in 0..<n {
                    let row = x.baseAddress! + i * d
                    for a in 0..<d {
                        let va = row[a]
                        if va == 0 { continue }
                        let out = c.baseAddress! + a * d
                        for b in a..<d { out[b] += va * row[b] }
                    }
                }
            }
        }
        let scale = 1 / Double(max(n - 1, 1))
        for a in 0..<d {
            for b in a..<d {
                c[a * d + b] *= scale
                c[b * d + a] = c[a * d + b]
            }
        }
        return c
    }

    /// The `count` leading eigenpairs of the symmetric d × d matrix `m`, by orthogonal iteration
    /// followed by a Rayleigh–Ritz rotation (Jacobi on the small projected matrix) that orders them.
    private static func leadingEigenvectors(_ m: [Double], dimension d: Int, count k: Int) -> ([[Double]], [Double]) {
        var rng = SeededGenerator(seed: 0x9CA)
        var basis = (0..<k).map { _ in (0..<d).map { _ in Double(rng.nextNormal()) } }
        orthonormalise(&basis)
        for _ in 0..<1000 {
            var next = basis.map { multiply(m, $0, dimension: d) }
            orthonormalise(&next)
            // The span has settled when every new vector lies in the old span.
            var moved = 0.0
            for v in next {
                var projected = v
                for u in basis {
                    let p = dot(u, v)
                    for j in 0..<d { projected[j] -= p * u[j] }
                }
                moved = max(moved, dot(projected, projected))
            }
            basis = next
            if moved < 1e-24 { break }
        }
        // Rayleigh–Ritz: H = Bᵀ M B, H = W Λ Wᵀ, axes = B W.
        let mb = basis.map { multiply(m, $0, dimension: d) }
        var h = [Double](repeating: 0, count: k * k)
        for a in 0..<k { for b in 0..<k { h[a * k + b] = dot(basis[a], mb[b]) } }
        let (values, vectors) = jacobiEigen(h, size: k)
        let order = (0..<k).sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        var axes: [[Double]] = []
        for e in order {
            var axis = [Double](repeating: 0, count: d)
            for a in 0..<k {
                let w = vectors[a * k + e]
                for j in 0..<d { axis[j] += w * basis[a][j] }
            }
            let norm = sqrt(dot(axis, axis))
            if norm > 0 { axis = axis.map { $0 / norm } }
            if let big = axis.indices.max(by: { abs(axis[$0]) < abs(axis[$1]) }), axis[big] < 0 { axis = axis.map { -$0 } }
            axes.append(axis)
        }
        return (axes, order.map { max(values[$0], 0) })
    }

    /// Eigenvalues and eigenvectors (columns of the returned row-major matrix) of a small symmetric
    /// matrix, by cyclic Jacobi rotations.
    private static func jacobiEigen(_ matrix: [Double], size k: Int) -> ([Double], [Double]) {
        var a = matrix
        var v = [Double](repeating: 0, count: k * k)
        for i in 0..<k { v[i * k + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for p in 0..<k { for q in (p + 1)..<max(k, p + 1) { off += a[p * k + q] * a[p * k + q] } }
            if off < 1e-30 { break }
            for p in 0..<k {
                for q in (p + 1)..<max(k, p + 1) where a[p * k + q] != 0 {
                    let theta = (a[q * k + q] - a[p * k + p]) / (2 * a[p * k + q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + sqrt(theta * theta + 1))
                    let c = 1 / sqrt(t * t + 1), s = t * c
                    for r in 0..<k {
                        let (arp, arq) = (a[r * k + p], a[r * k + q])
                        a[r * k + p] = c * arp - s * arq
                        a[r * k + q] = s * arp + c * arq
                    }
                    for r in 0..<k {
                        let (apr, aqr) = (a[p * k + r], a[q * k + r])
                        a[p * k + r] = c * apr - s * aqr
                        a[q * k + r] = s * apr + c * aqr
                    }
                    for r in 0..<k {
                        let (vrp, vrq) = (v[r * k + p], v[r * k + q])
                        v[r * k + p] = c * vrp - s * vrq
                        v[r * k + q] = s * vrp + c * vrq
                    }
                }
            }
        }
        return ((0..<k).map { a[$0 * k + $0] }, v)
    }

    private static func multiply(_ m: [Double], _ v: [Double], dimension d: Int) -> [Double] {
        var out = [Double](repeating: 0, count: d)
        m.withUnsafeBufferPointer { m in
            for a in 0..<d {
                var s = 0.0
                let row = m.baseAddress! + a * d
                for b in 0..<d { s += row[b] * v[b] }
                out[a] = s
            }
        }
        return out
    }

    private static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s += a[i] * b[i] }
        return s
    }

    /// Modified Gram–Schmidt; a vector that vanishes (rank below k) becomes 0.
    private static func orthonormalise(_ vectors: inout [[Double]]) {
        for a in vectors.indices {
            for b in 0..<a {
                let p = dot(vectors[b], vectors[a])
                for j in vectors[a].indices { vectors[a][j] -= p * vectors[b][j] }
            }
            let norm = sqrt(dot(vectors[a], vectors[a]))
            vectors[a] = norm > 1e-150 ? vectors[a].map { $0 / norm } : vectors[a].map { _ in 0 }
        }
    }

    // MARK: t-SNE

    /// Exact t-SNE (van der Maaten & Hinton 2008, "Visualizing Data using t-SNE", JMLR 9) of the
    /// rows of `x` (row-major, `dimension` columns) into two dimensions; returns n × 2 row-major
    /// coordinates.
    ///
    /// Input affinities p_{j|i} ∝ exp(−β_i ‖x_i − x_j‖²), with β_i found by bisection so that the
    /// perplexity 2^H(P_i) equals `perplexity` (capped at (n − 1)/3 for small n), symmetrised
    /// p_ij = (p_{j|i} + p_{i|j}) / 2n. Output affinities q_ij ∝ (1 + ‖y_i − y_j‖²)⁻¹. Gradient
    /// descent on KL(P‖Q), ∂C/∂y_i = 4 Σ_j (α p_ij − q_ij)(1 + ‖y_i − y_j‖²)⁻¹ (y_i − y_j), with the
    /// reference implementation's schedule: early exaggeration α = 12 and momentum 0.5 for the first
    /// quarter of `iterations` (at most 250), then α = 1 and momentum 0.8; per-coordinate gains
    /// (+0.2 / ×0.8, floor 0.01); learning rate max(n / α / 4, 50) (Belkina et al. 2019). The start
    /// is N(0, 10⁻⁴ I) drawn from `SeededGenerator(seed: seed)`.
    ///
    /// Cost O(n² · (dimension + iterations)) time and O(n²) memory: meant for at most a few
    /// thousand points (in a release build on one core: 1000 points of 64 values about 1 s,
    /// 2000 points about 4 s, for 500 iterations).
    /// Non-finite entries are read as 0; fewer than 3 points are placed on a line.
    public static func tsne(
        _ x: [Double], dimension: Int, perplexity: Double = 30, iterations: Int = 500, seed: UInt64
    ) -> [Double] {
        precondition(dimension >= 1 && x.count % dimension == 0, "Embedding.tsne: \(x.count) values are not rows of \(dimension)")
        precondition(perplexity > 0 && iterations >= 0, "Embedding.tsne: perplexity must be positive, iterations non-negative")
        let n = x.count / dimension
        guard n >= 3 else { return (0..<n).flatMap { [Double($0), 0] } }
        let p = jointProbabilities(x.map { $0.isFinite ? $0 : 0 }, rows: n, dimension: dimension, perplexity: min(perplexity, Double(n - 1) / 3)).map { Float($0) }
        var rng = SeededGenerator(seed: seed)
        var ys = (0..<n).map { _ in 1e-2 * Double(rng.nextNormal()) }
        var yy = (0..<n).map { _ in 1e-2 * Double(rng.nextNormal()) }
        let exaggeration = 12.0
        let exaggerated = min(250, iterations / 4)
        let learningRate = max(Double(n) / exaggeration / 4, 50)
        var (vx, vy) = ([Double](repeating: 0, count: n), [Double](repeating: 0, count: n))
        var (gainX, gainY) = ([Double](repeating: 1, count: n), [Double](repeating: 1, count: n))
        var (gx, gy) = ([Double](repeating: 0, count: n), [Double](repeating: 0, count: n))
        for iteration in 0..<iterations {
            let alpha = iteration < exaggerated ? exaggeration : 1
            let momentum = iteration < exaggerated ? 0.5 : 0.8
            gradient(p, ys, yy, alpha: alpha, gx: &gx, gy: &gy)
            update(&ys, gradient: gx, velocity: &vx, gains: &gainX, momentum: momentum, learningRate: learningRate)
            update(&yy, gradient: gy, velocity: &vy, gains: &gainY, momentum: momentum, learningRate: learningRate)
            // Keep the embedding centred (the objective is translation invariant).
            let (mx, my) = (ys.reduce(0, +) / Double(n), yy.reduce(0, +) / Double(n))
            for i in 0..<n {
                ys[i] -= mx
                yy[i] -= my
            }
        }
        var out = [Double](repeating: 0, count: 2 * n)
        for i in 0..<n {
            out[2 * i] = ys[i].isFinite ? ys[i] : 0
            out[2 * i + 1] = yy[i].isFinite ? yy[i] : 0
        }
        return out
    }

    /// Squared Euclidean distances between all rows, n × n row-major.
    static func squaredDistances(_ x: [Double], rows n: Int, dimension d: Int) -> [Double] {
        var distances = [Double](repeating: 0, count: n * n)
        x.withUnsafeBufferPointer { x in
            distances.withUnsafeMutableBufferPointer { out in
                for i in 0..<n {
                    let a = x.baseAddress! + i * d
                    for j in (i + 1)..<max(n, i + 1) {
                        let b = x.baseAddress! + j * d
                        var s = 0.0
                        for k in 0..<d {
                            let diff = a[k] - b[k]
                            s += diff * diff
                        }
                        out[i * n + j] = s
                        out[j * n + i] = s
                    }
                }
            }
        }
        return distances
    }

    /// Symmetrised input affinities P (n × n row-major, zero diagonal, summing to 1).
    static func jointProbabilities(_ x: [Double], rows n: Int, dimension d: Int, perplexity: Double) -> [Double] {
        let distances = squaredDistances(x, rows: n, dimension: d)
        let targetEntropy = log(perplexity)
        var conditional = [Double](repeating: 0, count: n * n)
        var row = [Double](repeating: 0, count: n)
        distances.withUnsafeBufferPointer { dist in
            for i in 0..<n {
                let di = dist.baseAddress! + i * n
                // Distances relative to the nearest neighbour keep exp() away from underflow.
                var nearest = Double.infinity
                for j in 0..<n where j != i { nearest = min(nearest, di[j]) }
                var (beta, lo, hi) = (1.0, 0.0, Double.infinity)
                var spread = 0.0
                for j in 0..<n where j != i { spread = max(spread, di[j] - nearest) }
                // Start near the right order of magnitude.
                if spread > 0 { beta = 1 / spread }
                for _ in 0..<200 {
                    var sum = 0.0, weighted = 0.0
                    // Two ranges around the point itself, so that the loops stay branch-free.
                    for range in [0..<i, (i + 1)..<n] {
                        for j in range {
                            let shifted = di[j] - nearest
                            let e = exp(-beta * shifted)
                            row[j] = e
                            sum += e
                            weighted += e * shifted
                        }
                    }
                    row[i] = 0
                    // H = log Σ + β Σ d·e / Σ (natural log).
                    let entropy = log(sum) + beta * weighted / sum
                    if abs(entropy - targetEntropy) < 1e-5 { break }
                    if entropy > targetEntropy {
                        lo = beta
                        beta = hi.isFinite ? (beta + hi) / 2 : beta * 2
                    } else {
                        hi = beta
                        beta = (beta + lo) / 2
                    }
                }
                let sum = row.reduce(0, +)
                for j in 0..<n { conditional[i * n + j] = sum > 0 ? row[j] / sum : (j == i ? 0 : 1 / Double(n - 1)) }
            }
        }
        var p = [Double](repeating: 0, count: n * n)
        let norm = 1 / (2 * Double(n))
        for i in 0..<n {
            for j in 0..<n where j != i {
                p[i * n + j] = max((conditional[i * n + j] + conditional[j * n + i]) * norm, 1e-12)
            }
        }
        return p
    }

    /// ∂KL/∂y into `gx`, `gy` in one pass over the pairs: with k_ij = (1 + ‖y_i − y_j‖²)⁻¹ and
    /// Z = Σ_{i≠j} k_ij, ∂C/∂y_i = 4 (Σ_j α p_ij k_ij (y_i − y_j) − Z⁻¹ Σ_j k_ij² (y_i − y_j)), so Z
    /// is needed only after the sums (no n × n buffer; the i = j term adds 0 to both sums).
    ///
    /// The pair loop runs in Float on explicit 8-lane vectors (the compiler does not reorder a
    /// floating-point sum, so a plain loop would stay scalar); the lanes are added in a fixed order,
    /// so the result is deterministic. Float is ample for a plot's coordinates.
    private static func gradient(_ p: [Float], _ ysDouble: [Double], _ yyDouble: [Double], alpha: Double, gx: inout [Double], gy: inout [Double]) {
        typealias V = SIMD8<Float>
        let n = ysDouble.count
        let ys = ysDouble.map { Float($0) }, yy = yyDouble.map { Float($0) }
        let alpha = Float(alpha)
        var (repelX, repelY) = ([Double](repeating: 0, count: n), [Double](repeating: 0, count: n))
        // Each row's sums are its own; rows run in parallel on TensorCore's pool and Z is added up
        // in row order afterwards, so the result does not depend on the thread count.
        var rowZ = [Double](repeating: 0, count: n)
        p.withUnsafeBufferPointer { p in
            ys.withUnsafeBufferPointer { ys in
                yy.withUnsafeBufferPointer { yy in
                    let (px, py, pp) = (UnsafeRawPointer(ys.baseAddress!), UnsafeRawPointer(yy.baseAddress!), UnsafeRawPointer(p.baseAddress!))
                    let (ysp, yyp, ppp) = (ys.baseAddress!, yy.baseAddress!, p.baseAddress!)
                    let stride = MemoryLayout<Float>.stride
                    gx.withUnsafeMutableBufferPointer { gxb in gy.withUnsafeMutableBufferPointer { gyb in
                    repelX.withUnsafeMutableBufferPointer { rxb in repelY.withUnsafeMutableBufferPointer { ryb in
                    rowZ.withUnsafeMutableBufferPointer { zb in
                    let (gxp, gyp, rxp, ryp, zp) = (gxb.baseAddress!, gyb.baseAddress!, rxb.baseAddress!, ryb.baseAddress!, zb.baseAddress!)
                    ParallelKernels.forEachRange(n, elementsPerItem: n) { rows in
                        for i in rows {
                            let (xi, yi) = (ysp[i], yyp[i])
                            let (vxi, vyi) = (V(repeating: xi), V(repeating: yi))
                            var (rowSum, ax, ay, bx, by) = (V(), V(), V(), V(), V())
                            var j = 0
                            while j + 8 <= n {
                                let dx = vxi - px.loadUnaligned(fromByteOffset: j * stride, as: V.self)
                                let dy = vyi - py.loadUnaligned(fromByteOffset: j * stride, as: V.self)
                                let k = 1 / (1 + dx * dx + dy * dy)
                                rowSum += k
                                let attract = alpha * pp.loadUnaligned(fromByteOffset: (i * n + j) * stride, as: V.self) * k
                                ax += attract * dx
                                ay += attract * dy
                                let repel = k * k
                                bx += repel * dx
                                by += repel * dy
                                j += 8
                            }
                            var (sum, sax, say, sbx, sby) = (rowSum.sum(), ax.sum(), ay.sum(), bx.sum(), by.sum())
                            while j < n {
                                let dx = xi - ysp[j], dy = yi - yyp[j]
                                let k = 1 / (1 + dx * dx + dy * dy)
                                sum += k
                                let attract = alpha * ppp[i * n + j] * k
                                sax += attract * dx
                                say += attract * dy
                                sbx += k * k * dx
                                sby += k * k * dy
                                j += 1
                            }
                            // The diagonal term (k = 1) is not a pair.
                            zp[i] = Double(sum) - 1
                            gxp[i] = Double(sax)
                            gyp[i] = Double(say)
                            rxp[i] = Double(sbx)
                            ryp[i] = Double(sby)
                        }
                    }
                    } } } } }
                }
            }
        }
        var z = 0.0
        for i in 0..<n { z += rowZ[i] }
        let inverseZ = 1 / max(z, 1e-300)
        for i in 0..<n {
            gx[i] = 4 * (gx[i] - repelX[i] * inverseZ)
            gy[i] = 4 * (gy[i] - repelY[i] * inverseZ)
        }
    }

    /// One momentum step with delta-bar-delta gains (Jacobs 1988), as in the reference t-SNE.
    private static func update(
        _ y: inout [Double], gradient: [Double], velocity: inout [Double], gains: inout [Double], momentum: Double, learningRate: Double
    ) {
        for i in y.indices {
            let sameSign = (gradient[i] > 0) == (velocity[i] > 0)
            gains[i] = max(sameSign ? gains[i] * 0.8 : gains[i] + 0.2, 0.01)
            velocity[i] = momentum * velocity[i] - learningRate * gains[i] * gradient[i]
            y[i] += velocity[i]
        }
    }
}
