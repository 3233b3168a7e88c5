import Foundation
import TensorCore

/// Which estimate of MMD² (Gretton et al., JMLR 2012, "A Kernel Two-Sample Test") to compute.
public enum MMDEstimator: String, Sendable, CaseIterable {
    /// V-statistic (Gretton et al. 2012, eq. 5): mean K_ss + mean K_tt − 2 mean K_st, with the
    /// diagonals of K_ss and K_tt included. Always ≥ 0 for a positive-definite kernel; biased upward.
    case biased
    /// U-statistic (eq. 3, extended to n_s ≠ n_t): the within-domain means exclude the diagonal,
    /// Σ_{i≠j} K_ss,ij / (n_s(n_s − 1)) + Σ_{i≠j} K_tt,ij / (n_t(n_t − 1)) − 2 mean K_st.
    /// Unbiased, so it can be negative when the distributions match; it is neither clipped nor
    /// shifted. Needs at least 2 samples per domain.
    case unbiased
    /// Linear-time estimate (Gretton et al. 2012, Lemma 14; used by DAN, Long et al. 2015): with
    /// m = min(n_s, n_t) rounded down to an even number, only the first m rows of each batch are
    /// used, grouped into quad-tuples (s_{2i}, s_{2i+1}, t_{2i}, t_{2i+1}), i = 0 … m/2 − 1:
    /// (2/m) Σ_i [k(s_{2i}, s_{2i+1}) + k(t_{2i}, t_{2i+1}) − k(s_{2i}, t_{2i+1}) − k(s_{2i+1}, t_{2i})].
    /// Unbiased, can be negative, higher variance. Needs m ≥ 2.
    case linear
}

/// Maximum mean discrepancy between two samples (rows of feature matrices).
///
/// Used as a loss by DDC (Tzeng et al. 2014, one layer, one kernel) and DAN (Long et al., ICML
/// 2015, multi-kernel, several layers), and as a divergence measure by `dakit divergence`.
/// Inputs with more than two axes (N×C×H×W) are flattened to N×F.
public enum MMD {
    /// Differentiable MMD² between two feature batches (rows), Variable in → rank-0 Variable out.
    ///
    /// Kernel matrices are built from primitives (matmul for the pairwise squared distances
    /// ‖x‖² + ‖y‖² − 2xᵀy), so gradients reach both inputs. Bandwidths chosen by a rule are
    /// computed from detached values.
    public static func loss(source: Variable, target: Variable, kernel: MMDKernel, estimator: MMDEstimator) -> Variable {
        let s = asMatrix(source, name: "source")
        let t = asMatrix(target, name: "target")
        precondition(
            s.shape[1] == t.shape[1],
            "MMD: source features of shape \(source.shape) and target features of shape \(target.shape) differ in width")
        let ns = s.shape[0], nt = t.shape[0]
        switch estimator {
        case .biased, .unbiased:
            let minimum = estimator == .biased ? 1 : 2
            precondition(
                ns >= minimum && nt >= minimum,
                "MMD (\(estimator.rawValue)): needs at least \(minimum) samples per domain, got \(ns) and \(nt)")
            let kss: Variable, ktt: Variable, kst: Variable
            switch kernel {
            case .linear:
                kss = Variable.matmul(s, s, transposeB: true)
                ktt = Variable.matmul(t, t, transposeB: true)
                kst = Variable.matmul(s, t, transposeB: true)
            case .gaussian(let rule):
                // The distances serve both the bandwidth rule (as detached values) and the kernels.
                let dss = Kernels.pairwiseSquaredDistances(s, s)
                let dtt = Kernels.pairwiseSquaredDistances(t, t)
                let dst = Kernels.pairwiseSquaredDistances(s, t)
                let sigma2 = Kernels.squaredBandwidths(rule: rule, within: [dss.value, dtt.value], between: [dst.value])
                kss = Kernels.gaussianSum(squaredDistances: dss, squaredBandwidths: sigma2)
                ktt = Kernels.gaussianSum(squaredDistances: dtt, squaredBandwidths: sigma2)
                kst = Kernels.gaussianSum(squaredDistances: dst, squaredBandwidths: sigma2)
            }
            let between = sum(kst, skippingDiagonal: false) / Float(ns * nt)
            if estimator == .biased {
                return sum(kss, skippingDiagonal: false) / Float(ns * ns) + sum(ktt, skippingDiagonal: false) / Float(nt * nt)
                    - 2 * between
            }
            return sum(kss, skippingDiagonal: true) / Float(ns * (ns - 1))
                + sum(ktt, skippingDiagonal: true) / Float(nt * (nt - 1)) - 2 * between
        case .linear:
            var sigma2: [Float] = []
            if case .gaussian(let rule) = kernel {
                sigma2 = Kernels.squaredBandwidths(source: s.value, target: t.value, rule: rule)
            }
            let m = linearTimeSampleCount(sourceCount: ns, targetCount: nt)
            precondition(
                m >= 2, "MMD (linear): needs at least 2 samples per domain, got \(ns) and \(nt)")
            let even = Array(stride(from: 0, to: m, by: 2))
            let odd = even.map { $0 + 1 }
            let s0 = s.gathering(rows: even), s1 = s.gathering(rows: odd)
            let t0 = t.gathering(rows: even), t1 = t.gathering(rows: odd)
            let h =
                Kernels.rowwise(s0, s1, kernel: kernel, squaredBandwidths: sigma2)
                + Kernels.rowwise(t0, t1, kernel: kernel, squaredBandwidths: sigma2)
                - Kernels.rowwise(s0, t1, kernel: kernel, squaredBandwidths: sigma2)
                - Kernels.rowwise(s1, t0, kernel: kernel, squaredBandwidths: sigma2)
            return sum(h, skippingDiagonal: false) / Float(h.shape[0])
        }
    }

    /// Same value on plain tensors.
    public static func value(source: Tensor, target: Tensor, kernel: MMDKernel, estimator: MMDEstimator) -> Float {
        loss(source: Variable(source), target: Variable(target), kernel: kernel, estimator: estimator).value.scalar
    }

    /// The number of rows of each domain the linear-time estimator uses: min(n_s, n_t) rounded
    /// down to an even number (the rest of the larger and the odd last row are left out).
    public static func linearTimeSampleCount(sourceCount: Int, targetCount: Int) -> Int {
        let m = Swift.min(sourceCount, targetCount)
        return m - m % 2
    }

    /// Rows of a rank-2 input, or a rank > 2 input flattened to N×F.
    static func asMatrix(_ x: Variable, name: String) -> Variable {
        precondition(x.value.rank >= 2, "MMD: \(name) features must be N×F (or N×C×H×W), got shape \(x.shape)")
        return x.value.rank == 2 ? x : x.flattened()
    }

    /// Σ_ij x_ij of a matrix (or Σ_i x_i of a vector), without the diagonal when asked, as a
    /// rank-0 Variable. Accumulated in Double: MMD² is a small difference of means of millions of
    /// kernel values near 1/2, and a Float running sum would put errors of order 1e−4 into it at
    /// n = 3000 (measured against a Float64 reference). The backward pass sends g to every summed entry.
    static func sum(_ x: Variable, skippingDiagonal: Bool) -> Variable {
        let shape = x.shape
        precondition(
            !skippingDiagonal || (shape.count == 2 && shape[0] == shape[1]),
            "MMD sum: skipping the diagonal needs a square matrix, got shape \(shape)")
        let columns = shape.count == 2 ? shape[1] : 1
        let rows = columns == 0 ? 0 : x.value.count / columns
        var total = 0.0
        x.value.scalars.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                var rowTotal = 0.0
                for c in 0..<columns { rowTotal += Double(p[r * columns + c]) }
                if skippingDiagonal { rowTotal -= Double(p[r * columns + r]) }
                total += rowTotal
            }
        }
        return Variable(value: Tensor(Float(total)), operation: "MMD sum", inputs: [x]) { g in
            var dx = Tensor(repeating: g.scalar, shape: shape)
            if skippingDiagonal {
                for i in 0..<Swift.min(shape[0], columns) { dx.scalars[i * columns + i] = 0 }
            }
            return [dx]
        }
    }
}
