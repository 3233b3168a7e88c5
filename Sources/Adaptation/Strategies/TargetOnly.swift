import NN
import TensorCore

/// The target-only oracle ("train on target", the upper reference of Ganin et al. 2016, Table 2).
///
/// Modelled as a grant of every target label: `targetLabelNeed == .all` (also stated in its
/// registry entry) makes the trainer grant them all, drawn as granted target batches like any
/// few-shot grant. Equation as implemented: L = CE(granted target logits, their labels) over
/// batches drawn from the whole labelled target pool — the trainer's one granted target
/// cross-entropy — with the source cross-entropy dropped and no term of its own. Throws
/// `StrategyError.missingTargetLabels` before training when the dataset's target has no labels.
/// The budget (epochs × steps) is the same as for the other strategies.
public final class TargetOnlyStrategy: AdaptationStrategy {
    public let name = "targetOnly"
    public init() {}

    public var usesSourceLabels: Bool { false }
    public var targetLabelNeed: TargetLabelNeed { .all }

    /// No term of its own: the trainer's granted target cross-entropy is the oracle's loss.
    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss { .zero }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "targetOnly", summary: "Oracle: cross-entropy on every labelled target sample, no source term (needs target labels).",
            paper: "oracle ('train on target', Ganin et al., JMLR 2016, Table 2)", options: [], targetLabels: .all
        ) { _, _ in TargetOnlyStrategy() }
    }
}
