import Foundation
import TensorCore

/// Correlation alignment distance (Sun & Saenko, ECCV Workshops 2016, "Deep CORAL: Correlation
/// Alignment for Deep Domain Adaptation", eq. 1–3):
///
///     ℓ_CORAL = ‖C_S − C_T‖²_F / (4 d²),   C = (X − 1 x̄ᵀ)ᵀ (X − 1 x̄ᵀ) / (n − 1)
///
/// with d the feature width and C the unbiased feature covariance of each batch (rows are
/// samples). The paper's eq. 2 writes C = (XᵀX − (1ᵀX)ᵀ(1ᵀX)/n)/(n − 1), which is the same matrix;
/// centring first is the numerically safer form. Inputs with more than two axes are flattened.
public enum CORAL {
    /// Deep CORAL: ‖C_S − C_T‖²_F / (4 d²), unbiased covariances (n − 1). Differentiable in both inputs.
    public static func loss(source: Variable, target: Variable) -> Variable {
        let s = MMD.asMatrix(source, name: "source")
        let t = MMD.asMatrix(target, name: "target")
        precondition(
            s.shape[1] == t.shape[1],
            "CORAL: source features of shape \(source.shape) and target features of shape \(target.shape) differ in width")
        precondition(
            s.shape[0] >= 2 && t.shape[0] >= 2,
            "CORAL: covariances need at least 2 samples per domain, got \(s.shape[0]) and \(t.shape[0])")
        let d = Float(s.shape[1])
        let difference = covariance(s) - covariance(t)
        return (difference * difference).sum() / (4 * d * d)
    }

    /// Same value on plain tensors.
    public static func distance(source: Tensor, target: Tensor) -> Float {
        loss(source: Variable(source), target: Variable(target)).value.scalar
    }

    /// Unbiased covariance of the rows of an n×d matrix: (X − x̄)ᵀ(X − x̄)/(n − 1), d×d.
    public static func covariance(_ x: Variable) -> Variable {
        precondition(x.value.rank == 2 && x.shape[0] >= 2, "CORAL.covariance: needs an n×d matrix with n ≥ 2, got \(x.shape)")
        let centred = x - x.mean(axis: 0, keepDims: true)
        return Variable.matmul(centred, centred, transposeA: true) / Float(x.shape[0] - 1)
    }
}
