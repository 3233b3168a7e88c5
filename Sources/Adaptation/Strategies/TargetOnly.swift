import NN
import TensorCore

/// Cross-entropy on labelled target rows: (1/n) Σ_i −log softmax(z_i)_{y_i}.
public func targetOnlyLoss(logits: Variable, labels: [Int]) -> Variable {
    Loss.crossEntropy(logits: logits, labels: labels)
}

/// The target-only oracle ("train on target", the upper reference of Ganin et al. 2016, Table 2).
///
/// Equation as implemented: L = CE(target logits, target labels) over every target label (the
/// trainer grants them all and drops the source cross-entropy). Throws
/// `StrategyError.missingTargetLabels` before training when the dataset's target has no labels.
/// Batches draw from the whole target pool; the budget (epochs × steps) is the same as for the
/// other strategies.
public final class TargetOnlyStrategy: AdaptationStrategy {
    public let name = "targetOnly"
    public init() {}

    public var usesSourceLabels: Bool { false }
    public var targetLabelNeed: TargetLabelNeed { .all }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        guard let labelled = batch.labelledTarget else {
            preconditionFailure("targetOnly: the batch carries no labelled target rows (the trainer grants all target labels to this strategy)")
        }
        let ce = targetOnlyLoss(logits: labelled.outputs.logits, labels: labelled.labels)
        return StrategyLoss(ce, terms: ["crossEntropy": ce.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "targetOnly", summary: "Oracle: cross-entropy on every labelled target sample, no source term (needs target labels).",
            paper: "oracle ('train on target', Ganin et al., JMLR 2016, Table 2)", options: []
        ) { _, _ in TargetOnlyStrategy() }
    }
}
