import Foundation
import TensorCore

/// Loss functions on logits. Each returns a rank-0 `Variable` (the batch mean unless stated).
public enum Loss {
    /// Cross-entropy from logits (N×K) and integer labels (N):
    /// ℓ_i = −Σ_k q_ik log softmax(z_i)_k with q_i the one-hot label, or with label smoothing ε,
    /// q_i = (1 − ε)·onehot + ε/K. With per-sample `weights`, returns (1/N) Σ_i w_i ℓ_i.
    public static func crossEntropy(
        logits: Variable, labels: [Int], weights: [Float]? = nil, labelSmoothing: Float = 0
    ) -> Variable {
        precondition(
            logits.value.rank == 2 && logits.shape[0] == labels.count,
            "crossEntropy: logits of shape \(logits.shape) for \(labels.count) labels")
        precondition(labelSmoothing >= 0 && labelSmoothing < 1, "crossEntropy: label smoothing \(labelSmoothing) outside [0, 1)")
        let classes = logits.shape[1]
        for (i, y) in labels.enumerated() {
            precondition(y >= 0 && y < classes, "crossEntropy: label \(y) at index \(i) is outside 0..<\(classes)")
        }
        var targets = Tensor.oneHot(labels, classCount: classes)
        if labelSmoothing > 0 { targets = targets * (1 - labelSmoothing) + labelSmoothing / Float(classes) }
        return softCrossEntropy(logits: logits, targets: targets, weights: weights)
    }

    /// Cross-entropy against target distributions (N×K rows summing to 1):
    /// (1/N) Σ_i w_i · (−Σ_k t_ik log softmax(z_i)_k).
    public static func softCrossEntropy(logits: Variable, targets: Tensor, weights: [Float]? = nil) -> Variable {
        precondition(
            logits.shape == targets.shape,
            "softCrossEntropy: logits of shape \(logits.shape) and targets of shape \(targets.shape) differ")
        let n = Float(logits.shape[0])
        let perSample = -(logits.logSoftmax(axis: 1) * targets).sum(axes: [1])
        if let weights {
            precondition(weights.count == logits.shape[0], "crossEntropy: \(weights.count) weights for \(logits.shape[0]) samples")
            return (perSample * Tensor(weights)).sum() / n
        }
        return perSample.sum() / n
    }

    /// Binary cross-entropy from logits z and targets t ∈ [0, 1] of the same shape, averaged:
    /// ℓ = max(z, 0) − z·t + log(1 + exp(−|z|)) (stable for large |z|); ∂ℓ/∂z = σ(z) − t.
    public static func binaryCrossEntropy(logits: Variable, targets: Tensor) -> Variable {
        precondition(
            logits.value.count == targets.count,
            "binaryCrossEntropy: logits of shape \(logits.shape) and targets of shape \(targets.shape) differ")
        let z = logits.value
        let t = targets.reshaped(z.shape)
        let n = Float(max(z.count, 1))
        var total: Float = 0
        for i in 0..<z.count {
            let zi = z.scalars[i]
            total += max(zi, 0) - zi * t.scalars[i] + Foundation.log1p(Foundation.exp(-Swift.abs(zi)))
        }
        return Variable(value: Tensor(total / n), operation: "binaryCrossEntropy", inputs: [logits]) { g in
            [(z.sigmoid() - t) * (g.scalar / n)]
        }
    }

    /// Mean squared error (1/n) Σ (a − b)².
    public static func meanSquaredError(_ prediction: Variable, _ target: Tensor) -> Variable {
        precondition(
            prediction.value.count == target.count,
            "meanSquaredError: prediction of shape \(prediction.shape) and target of shape \(target.shape) differ")
        return (prediction - target.reshaped(prediction.shape)).square().mean()
    }

    /// Mean prediction entropy H = −(1/N) Σ_i Σ_k p_ik log p_ik, with p = softmax(logits).
    public static func entropy(logits: Variable) -> Variable {
        let logP = logits.logSoftmax(axis: 1)
        return -(logP.exp() * logP).sum() / Float(logits.shape[0])
    }
}
