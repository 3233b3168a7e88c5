import NN
import TensorCore

/// Source-only training: the baseline every adaptation method is compared to.
///
/// Equation as implemented: L = CE(source logits, source labels); this strategy adds nothing
/// (its loss is the constant 0), so a recipe with `sourceOnly` trains the same network with the
/// same budget and no adaptation term.
public final class SourceOnlyStrategy: AdaptationStrategy {
    public let name = "sourceOnly"
    public init() {}

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss { .zero }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "sourceOnly", summary: "No adaptation: cross-entropy on the labelled source only (the baseline).",
            paper: "baseline (e.g. 'source only' rows of Ganin et al., JMLR 2016, Table 2)", options: []
        ) { _, _ in SourceOnlyStrategy() }
    }
}
