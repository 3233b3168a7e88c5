import Adaptation
import NN
import TensorCore

/// Mean matching: the squared distance between the mean source and mean target representation,
///
///     ℓ = ‖ mean_i f(x_i^S) − mean_j f(x_j^T) ‖²,
///
/// i.e. MMD² with a linear kernel (the first moment only). The whole strategy is this file: a
/// class that conforms to `AdaptationStrategy` and a registry entry with its documented options.
final class MeanMatching: AdaptationStrategy {
    let name = "meanMatching"
    let layer: FeatureLayer

    init(layer: FeatureLayer) { self.layer = layer }

    func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let (source, target) = batch.representation(layer)
        let gap = source.mean(axis: 0) - target.mean(axis: 0)
        let loss = gap.square().sum()
        return StrategyLoss(loss, terms: ["meanGap": loss.value.scalar])
    }

    /// What recipes name (`- name: meanMatching`), with its options and their defaults.
    static var entry: StrategyEntry {
        StrategyEntry(
            name: "meanMatching", summary: "Squared distance between source and target feature means (linear-kernel MMD).",
            paper: "Example strategy (linear-kernel MMD; Gretton et al., JMLR 2012)",
            options: [StrategyOptionSpec("layer", default: .string("features"), "extractor | features | logits")],
            defaultSchedule: .dannRamp(gamma: 10)
        ) { options, _ in
            let name = try options.choice("layer", default: "features", allowed: FeatureLayer.allCases.map(\.rawValue))
            return MeanMatching(layer: FeatureLayer(rawValue: name)!)
        }
    }
}
