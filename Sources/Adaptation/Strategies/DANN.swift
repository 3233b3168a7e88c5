import NN
import TensorCore

/// DANN's domain loss on discriminator logits (one logit per row), with source → 0 and target → 1:
///
///     L_d = (1/n_s) Σ_i BCE(d_i^s, 0) + (1/n_t) Σ_j BCE(d_j^t, 1),   BCE(z, y) = −y log σ(z) − (1 − y) log(1 − σ(z))
///
/// the sum of the two per-domain means, as in Ganin et al. (JMLR 2016, eq. 18). (Some libraries
/// average the two means instead, which halves the domain term.)
public func dannDomainLoss(sourceDomainLogits: Variable, targetDomainLogits: Variable) -> Variable {
    precondition(
        sourceDomainLogits.value.rank == 2 && sourceDomainLogits.shape[1] == 1 && targetDomainLogits.value.rank == 2
            && targetDomainLogits.shape[1] == 1,
        "dannDomainLoss: expects N×1 logits, got \(sourceDomainLogits.shape) and \(targetDomainLogits.shape)")
    let s = Loss.binaryCrossEntropy(logits: sourceDomainLogits, targets: .zeros(sourceDomainLogits.shape))
    let t = Loss.binaryCrossEntropy(logits: targetDomainLogits, targets: .ones(targetDomainLogits.shape))
    return s + t
}

/// Domain-adversarial training with gradient reversal (Ganin et al., JMLR 2016,
/// "Domain-Adversarial Training of Neural Networks").
///
/// Equation as implemented: a discriminator D (one logit) reads the features f through a gradient
/// reversal layer R_λ (identity forward, −λ·gradient backward):
///
///     term = weight · L_d(D(R_λ(f_s)), D(R_λ(f_t))),   λ(p) = 2 / (1 + exp(−γ p)) − 1, γ = 10
///
/// with `dannDomainLoss` (source → 0, target → 1) and p the training progress. λ(p) sits inside
/// the reversal layer (`lambdaPlacement = .insideLoss`): D descends ∂L_d at weight 1 while the
/// feature extractor receives −λ(p)·∂L_d, so it ascends the domain loss. The λ ramp is the term's
/// schedule (`WeightSchedule.dannRamp(gamma: 10)` by default; `constant` gives the fixed-λ variant
/// of skada / pytorch-adapt). The paper's learning-rate annealing μ_p = 0.01/(1 + 10p)^0.75 with
/// SGD momentum 0.9 is `LearningRateSchedule.dann` + `OptimizerConfiguration.dann` in the trainer.
///
/// Options: `layer` (features), `discriminatorHidden` (default `DomainDiscriminator.defaultHidden`:
/// [1024, 1024] for ≥ 256-wide features as in the paper's deep setting, else one layer of
/// max(2d, 16) units), `discriminatorDropout` (0). Diagnostics: `domainAccuracy` of D.
public final class DANNStrategy: AdaptationStrategy {
    public let name = "dann"
    public let layer: FeatureLayer
    public let discriminator: DomainDiscriminator

    public init(layer: FeatureLayer = .features, inputSize: Int, hidden: [Int], dropout: Float = 0, rng: inout SeededGenerator) {
        self.layer = layer
        discriminator = DomainDiscriminator(inputSize: inputSize, hidden: hidden, outputs: 1, dropout: dropout, rng: &rng)
    }

    public var parameters: [NamedParameter] { discriminator.parameters }
    public var lambdaPlacement: LambdaPlacement { .insideLoss }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let (fs, ft) = batch.representation(layer)
        let ns = fs.shape[0]
        let reversed = Variable.concatenate([fs, ft], axis: 0).gradientReversal(lambda: batch.lambda)
        let logits = discriminator(reversed, context: context)
        let ds = logits.slice(axis: 0, 0..<ns), dt = logits.slice(axis: 0, ns..<logits.shape[0])
        let loss = dannDomainLoss(sourceDomainLogits: ds, targetDomainLogits: dt)
        return StrategyLoss(
            loss, terms: ["domain": loss.value.scalar],
            diagnostics: ["domainAccuracy": domainAccuracy(sourceLogits: ds.value, targetLogits: dt.value), "lambda": Double(batch.lambda)])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "dann",
            summary: "Domain-adversarial training: discriminator on gradient-reversed features, BCE (source 0, target 1), λ(p) ramp in the reversal.",
            paper: "Ganin et al., JMLR 2016, 'Domain-Adversarial Training of Neural Networks'",
            options: [
                StrategyOptionSpec("layer", default: .string("features"), "representation the discriminator reads: extractor | features | logits",
                    domain: .choice(FeatureLayer.allCases.map(\.rawValue))),
                StrategyOptionSpec("discriminatorHidden", default: nil, "hidden sizes; default [1024, 1024] for ≥ 256-wide features, else [max(2d, 16)]",
                    domain: .layerWidths(width: 1...65_536, count: 0...16)),
                StrategyOptionSpec("discriminatorDropout", default: .number(0), "dropout after each hidden layer (paper's deep setting: 0.5)",
                    domain: .number(.halfOpen(0, 1))),
            ],
            defaultWeight: 1, defaultSchedule: .dannRamp(gamma: 10)
        ) { options, context in
            let layer = try layerOption(options, default: .features)
            let size = context.size(of: layer)
            let (hidden, dropout) = try discriminatorOptions(options, inputSize: size)
            var rng = context.rng
            return DANNStrategy(layer: layer, inputSize: size, hidden: hidden, dropout: dropout, rng: &rng)
        }
    }
}
