import NN
import TensorCore

/// The discriminator's loss in domain confusion: softmax cross-entropy of two domain logits on the
/// true domains (source → 0, target → 1), the mean over all n_s + n_t rows:
/// L_D = −(1/(n_s + n_t)) Σ_i log q_{i, d_i}.
public func domainClassifierLoss(sourceDomainLogits: Variable, targetDomainLogits: Variable) -> Variable {
    let ns = sourceDomainLogits.shape[0], nt = targetDomainLogits.shape[0]
    let logits = Variable.concatenate([sourceDomainLogits, targetDomainLogits], axis: 0)
    return Loss.crossEntropy(logits: logits, labels: [Int](repeating: 0, count: ns) + [Int](repeating: 1, count: nt))
}

/// The confusion loss of Tzeng et al. (ICCV 2015, eq. 3): cross-entropy of the domain prediction
/// against the uniform distribution over the D = 2 domains, the mean over all rows:
/// L_conf = −(1/(n_s + n_t)) Σ_i Σ_d (1/D) log q_{i,d}. Minimal (log 2) when D cannot tell the domains apart.
public func domainConfusionLoss(sourceDomainLogits: Variable, targetDomainLogits: Variable) -> Variable {
    let logits = Variable.concatenate([sourceDomainLogits, targetDomainLogits], axis: 0)
    let domains = logits.shape[1]
    return Loss.softCrossEntropy(logits: logits, targets: Tensor(repeating: 1 / Float(domains), shape: logits.shape))
}

/// Domain confusion (Tzeng, Hoffman, Darrell & Saenko, ICCV 2015, "Simultaneous Deep Transfer
/// Across Domains and Tasks"), the domain-confusion part (the soft-label task transfer is not included).
///
/// Equations as implemented, alternating at every step:
/// 1. inner step (the discriminator D, two logits, on *detached* features):
///    minimise `domainClassifierLoss` L_D over D's parameters only;
/// 2. joint step (features): term = weight · λ · L_conf(D(f_s), D(f_t)) (`domainConfusionLoss`),
///    over the model only — D is not in `jointParameters`, so the confusion gradient never
///    reaches it. No gradient reversal.
/// D is updated with the trainer's optimizer kind at the current learning rate (× the recipe's
/// `strategies.<label>` multiplier). Default weight 1, λ constant.
/// Options: `layer` (features), `discriminatorHidden`, `discriminatorDropout` (as for `dann`).
/// Diagnostics: `domainAccuracy` of D (before its update, on this batch).
public final class DomainConfusionStrategy: AdaptationStrategy {
    public let name = "domainConfusion"
    public let layer: FeatureLayer
    public let discriminator: DomainDiscriminator

    public init(layer: FeatureLayer = .features, inputSize: Int, hidden: [Int], dropout: Float = 0, rng: inout SeededGenerator) {
        self.layer = layer
        discriminator = DomainDiscriminator(inputSize: inputSize, hidden: hidden, outputs: 2, dropout: dropout, rng: &rng)
    }

    public var parameters: [NamedParameter] { discriminator.parameters }
    public var jointParameters: [NamedParameter] { [] }

    private func domainLogits(_ fs: Variable, _ ft: Variable, context: ForwardContext) -> (Variable, Variable) {
        let ns = fs.shape[0]
        let logits = discriminator(Variable.concatenate([fs, ft], axis: 0), context: context)
        return (logits.slice(axis: 0, 0..<ns), logits.slice(axis: 0, ns..<logits.shape[0]))
    }

    public func innerStep(_ batch: StrategyBatch, context: ForwardContext) -> InnerStep? {
        let (fs, ft) = batch.representation(layer)
        let (ds, dt) = domainLogits(fs.detached(), ft.detached(), context: context)
        let loss = domainClassifierLoss(sourceDomainLogits: ds, targetDomainLogits: dt)
        return InnerStep(
            loss: loss, parameters: discriminator.parameters,
            diagnostics: ["domainAccuracy": domainAccuracy(sourceLogits: ds.value, targetLogits: dt.value)])
    }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let (fs, ft) = batch.representation(layer)
        let (ds, dt) = domainLogits(fs, ft, context: context)
        let loss = domainConfusionLoss(sourceDomainLogits: ds, targetDomainLogits: dt)
        return StrategyLoss(loss, terms: ["confusion": loss.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "domainConfusion",
            summary: "Alternating: discriminator minimises CE on true domains (detached features); features minimise CE to the uniform domain distribution.",
            paper: "Tzeng, Hoffman, Darrell & Saenko, ICCV 2015, 'Simultaneous Deep Transfer Across Domains and Tasks'",
            options: [
                StrategyOptionSpec("layer", default: .string("features"), "representation the discriminator reads: extractor | features | logits",
                    domain: .choice(FeatureLayer.allCases.map(\.rawValue))),
                StrategyOptionSpec("discriminatorHidden", default: nil, "hidden sizes; default [1024, 1024] for ≥ 256-wide features, else [max(2d, 16)]",
                    domain: .layerWidths(width: 1...65_536, count: 0...16)),
                StrategyOptionSpec("discriminatorDropout", default: .number(0), "dropout after each hidden layer", domain: .number(.halfOpen(0, 1))),
            ]
        ) { options, context in
            let layer = try layerOption(options, default: .features)
            let size = context.size(of: layer)
            let (hidden, dropout) = try discriminatorOptions(options, inputSize: size)
            var rng = context.rng
            return DomainConfusionStrategy(layer: layer, inputSize: size, hidden: hidden, dropout: dropout, rng: &rng)
        }
    }
}
