import NN
import TensorCore

/// The information-maximisation loss on target logits Z (B × C), p_i = softmax(z_i),
/// p̄ = (1/B) Σ_i p_i:
///
///     L_IM = (1/B) Σ_i H(p_i) − diversityWeight · H_ε(p̄),   H_ε(p̄) = −Σ_k p̄_k log(p̄_k + ε)
///
/// Minimising it makes every prediction confident (first term) and the predictions of the batch
/// diverse (second term: the batch-mean prediction as spread out as possible). ε keeps the log
/// finite for a class no row predicts (1e-5 in the SHOT authors' code); the per-sample entropy is
/// computed from log-softmax and needs none.
public func informationMaximizationLoss(targetLogits: Variable, diversityWeight: Float = 1, epsilon: Float = 1e-5) -> Variable {
    precondition(targetLogits.value.rank == 2 && targetLogits.shape[0] > 0, "informationMaximizationLoss: expects B×C logits with B > 0, got \(targetLogits.shape)")
    precondition(epsilon >= 0, "informationMaximizationLoss: epsilon \(epsilon) must be ≥ 0")
    let entropy = Loss.entropy(logits: targetLogits)
    guard diversityWeight != 0 else { return entropy }
    return entropy - diversityWeight * predictionDiversity(targetLogits: targetLogits, epsilon: epsilon)
}

/// H_ε(p̄) = −Σ_k p̄_k log(p̄_k + ε), p̄ the batch mean of softmax(Z): the entropy of the mean
/// prediction (the diversity that information maximisation rewards).
public func predictionDiversity(targetLogits: Variable, epsilon: Float = 1e-5) -> Variable {
    let mean = targetLogits.softmax(axis: 1).mean(axis: 0)
    return -(mean * (mean + epsilon).log()).sum()
}

/// Information maximisation (Liang, Hu, Feng, ICML 2020, "Do We Really Need to Access the Source
/// Data? Source Hypothesis Transfer for Unsupervised Domain Adaptation", §3.2; after Krause,
/// Perona, Gomes, NIPS 2010, "Discriminative Clustering by Regularized Information Maximization").
///
/// Equation as implemented, on the target batch only (B rows):
///
///     term = weight · λ · [ (1/B) Σ_i H(softmax(z_i)) − diversityWeight · H_ε(p̄) ],
///     p̄ = (1/B) Σ_i softmax(z_i),   H_ε(p̄) = −Σ_k p̄_k log(p̄_k + ε)
///
/// Defaults from the authors' code (`ent_par` 1, `gent` on, ε = 1e-5): weight 1, diversityWeight 1,
/// λ constant. The loss is negative whenever the predictions are more diverse than they are
/// uncertain; no constant is added. It reads the target logits only, so it composes with any other
/// strategy (`[dann, informationMaximization]`) and keeps the source cross-entropy; the source-free
/// SHOT target phase is `shot`, which contains this term.
public final class InformationMaximizationStrategy: AdaptationStrategy {
    /// The options with their defaults: the one place the defaults are written.
    public static let optionSpecs: [StrategyOptionSpec] = [
        StrategyOptionSpec("diversityWeight", default: .number(1), "weight of the diversity term H(mean prediction) (0: entropy minimisation)",
            domain: .number(.closed(0, 1e6))),
        StrategyOptionSpec("epsilon", default: .number(1e-5), "ε in log(p̄ + ε) of the diversity term", domain: .number(.closed(0, 1))),
    ]

    public let name = "informationMaximization"
    public let diversityWeight: Float
    public let epsilon: Float

    public init(
        diversityWeight: Float = Float(optionSpecs.defaultNumber("diversityWeight")), epsilon: Float = Float(optionSpecs.defaultNumber("epsilon"))
    ) {
        precondition(diversityWeight >= 0 && diversityWeight.isFinite, "InformationMaximizationStrategy: diversityWeight \(diversityWeight) must be finite and ≥ 0")
        precondition(epsilon >= 0, "InformationMaximizationStrategy: epsilon \(epsilon) must be ≥ 0")
        self.diversityWeight = diversityWeight
        self.epsilon = epsilon
    }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let entropy = Loss.entropy(logits: batch.targetLogits)
        let diversity = predictionDiversity(targetLogits: batch.targetLogits, epsilon: epsilon)
        let im = diversityWeight == 0 ? entropy : entropy - diversityWeight * diversity
        return StrategyLoss(im, terms: ["entropy": entropy.value.scalar, "diversity": diversity.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "informationMaximization",
            summary: "Information maximisation on target predictions: mean entropy minus the entropy of the mean prediction.",
            paper: "Liang, Hu & Feng, ICML 2020, 'Do We Really Need to Access the Source Data?' (IM loss, after Krause et al., NIPS 2010)",
            options: optionSpecs, defaultWeight: 1
        ) { options, _ in
            InformationMaximizationStrategy(
                diversityWeight: try options.float("diversityWeight", default: Float(optionSpecs.defaultNumber("diversityWeight"))),
                epsilon: try options.float("epsilon", default: Float(optionSpecs.defaultNumber("epsilon"))))
        }
    }
}
