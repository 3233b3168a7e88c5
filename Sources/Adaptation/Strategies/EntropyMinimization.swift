import NN
import TensorCore

/// Mean prediction entropy of target logits: H = −(1/n) Σ_i Σ_k p_ik log p_ik, p = softmax(z).
public func targetEntropyLoss(targetLogits: Variable) -> Variable {
    Loss.entropy(logits: targetLogits)
}

/// Entropy minimisation on the unlabelled target (Grandvalet & Bengio, NIPS 2004,
/// "Semi-supervised Learning by Entropy Minimization"; used for domain adaptation e.g. by
/// Long et al., NIPS 2016, RTN).
///
/// Equation as implemented: term = weight · λ · H(softmax(target logits)), the mean entropy over
/// the target batch. Default weight 0.1 (our choice: the papers tune it; at 1 it tends to collapse
/// predictions onto one class early), λ constant.
public final class EntropyMinimizationStrategy: AdaptationStrategy {
    public let name = "entropyMinimization"
    public init() {}

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let h = targetEntropyLoss(targetLogits: batch.targetLogits)
        return StrategyLoss(h, terms: ["entropy": h.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "entropyMinimization", summary: "Minimise the mean softmax entropy of target predictions.",
            paper: "Grandvalet & Bengio, NIPS 2004, 'Semi-supervised Learning by Entropy Minimization'", options: [],
            defaultWeight: 0.1
        ) { _, _ in EntropyMinimizationStrategy() }
    }
}
