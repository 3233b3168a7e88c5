import NN
import TensorCore

/// The strategies' own optimisation steps (domain confusion's discriminator), taken before the
/// joint step: one optimizer of the configured kind per strategy label, made at its first step.
struct InnerSteps {
    var optimizers: [String: (optimizer: any Optimizer, parameters: [NamedParameter])] = [:]
    /// Optimizer state from `TrainerConfiguration.initialOptimizerState`, imported when each optimizer is made.
    var pendingState: [String: [String: Tensor]] = [:]

    /// Lets every strategy of `terms` take its inner step on `batch` (λ set to its schedule at `p`).
    mutating func run(
        _ terms: [StrategyTerm], batch: inout StrategyBatch, progress p: Float, context: ForwardContext, learningRate: Float,
        configuration: TrainerConfiguration, stats: inout EpochStats
    ) throws {
        for term in terms {
            batch.lambda = term.schedule.value(progress: p)
            guard let inner = term.strategy.innerStep(batch, context: context) else { continue }
            let (value, computed) = valueWithGradients { inner.loss }
            var grads = computed
            let group = [ParameterGroup(name: "inner", parameters: inner.parameters.map(\.parameter))]
            guard value.scalar.isFinite, firstNonFiniteGradient(grads, groups: group, names: { inner.parameters }) == nil else {
                throw NonFiniteTerm(strategy: term.label, term: value.scalar.isFinite ? "innerGradient" : "innerLoss", reason: "non-finite inner step")
            }
            if let limit = configuration.optimizer.clipNorm { clipGradientNorm(&grads, groups: group, limit: limit) }
            let optimizer = try self.optimizer(for: term.label, parameters: inner.parameters, configuration: configuration)
            let multipliers = configuration.learningRateMultipliers.merging(term.strategy.learningRateMultipliers) { recipe, _ in recipe }
            optimizer.learningRate = learningRate * Trainer.multiplier(for: "strategies.\(term.label)", in: multipliers)
            optimizer.step(inner.parameters.map(\.parameter), gradients: grads)
            stats.add(loss: "\(term.label).inner", value.scalar)
            stats.add(diagnostics: inner.diagnostics, prefix: term.label)
        }
    }

    private mutating func optimizer(for label: String, parameters: [NamedParameter], configuration: TrainerConfiguration) throws -> any Optimizer {
        if let existing = optimizers[label] { return existing.optimizer }
        let optimizer = configuration.optimizer.make()
        if let pending = pendingState.removeValue(forKey: label) {
            do {
                try optimizer.importState(pending, parameters: parameters)
            } catch let error as OptimizerStateError {
                throw TrainingError.invalidConfiguration("optimizer state: inner.\(label).\(error)")
            }
        }
        optimizers[label] = (optimizer, parameters)
        return optimizer
    }
}
