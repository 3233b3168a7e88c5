import NN
import TensorCore

/// Deep CORAL (Sun & Saenko, ECCV Workshops 2016, "Deep CORAL: Correlation Alignment for Deep
/// Domain Adaptation").
///
/// Equation as implemented: term = weight · λ · ‖C_S − C_T‖²_F / (4 d²) on the representation at
/// `layer`, C the unbiased (n − 1) batch covariance (`CORAL.loss` of the measures module). The
/// paper applies it to the last layer (fc8, the class scores): default `layer: logits`, weight 1,
/// λ constant (the paper picks λ so that the two losses end up of similar size).
public final class CORALStrategy: AdaptationStrategy {
    public let name = "coral"
    public let layer: FeatureLayer

    public init(layer: FeatureLayer = .logits) { self.layer = layer }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let (s, t) = batch.representation(layer)
        let loss = CORAL.loss(source: s, target: t)
        return StrategyLoss(loss, terms: ["coral": loss.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "coral", summary: "Deep CORAL: ‖C_S − C_T‖²_F / (4d²) of batch covariances at one layer (default logits).",
            paper: "Sun & Saenko, ECCV Workshops 2016, 'Deep CORAL: Correlation Alignment for Deep Domain Adaptation'",
            options: [StrategyOptionSpec("layer", default: .string("logits"), "extractor | features | logits", domain: .choice(FeatureLayer.allCases.map(\.rawValue)))]
        ) { options, _ in CORALStrategy(layer: try layerOption(options, default: .logits)) }
    }
}
