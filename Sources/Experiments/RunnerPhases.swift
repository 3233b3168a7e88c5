import Adaptation
import Foundation
import NN
import TensorCore

/// What one phase of a run ended with (`RunReport.phases`): the last phase's numbers are the
/// report's own; the earlier ones are measured on the same evaluation splits when they end.
public struct PhaseResult: Sendable, Codable, Equatable {
    public var name: String
    /// The phase's strategies joined by `+`.
    public var strategy: String
    public var epochs: Int
    public var steps: Int
    public var sourceAccuracy: Double
    public var targetAccuracy: Double?
    public var trainSeconds: Double

    public init(name: String, strategy: String, epochs: Int, steps: Int, sourceAccuracy: Double, targetAccuracy: Double?, trainSeconds: Double) {
        self.name = name
        self.strategy = strategy
        self.epochs = epochs
        self.steps = steps
        self.sourceAccuracy = sourceAccuracy
        self.targetAccuracy = targetAccuracy
        self.trainSeconds = trainSeconds
    }
}

extension Runner {
    /// The strategy terms of `strategies`, seeded as a recipe with those strategies alone would seed
    /// them (`strategy.<i>.<name>` forks of the run's root), so that a phase trains exactly as the
    /// same recipe run on its own from the same weights.
    func terms(_ strategies: [StrategyRecipe], model: AdaptationModel, root: SeededGenerator) throws -> [StrategyTerm] {
        var terms: [StrategyTerm] = []
        for (i, spec) in strategies.enumerated() {
            do {
                let context = StrategyContext(model: model, rng: root.fork("strategy.\(i).\(spec.name)"))
                terms.append(
                    try registry.makeTerm(
                        spec.name, options: StrategyOptions(spec.options, owner: spec.name), weight: spec.weight, schedule: spec.schedule,
                        context: context))
            } catch let error as StrategyError {
                throw RecipeError(spec.location, "\(error)")
            }
        }
        return terms
    }

    /// Checks a phase with a source-free strategy (SHOT): it is not combined with a strategy that
    /// uses source data, the recipe grants no target labels, and, in the first phase, the recipe
    /// gives `pretrained.weights` (else it would adapt an untrained model).
    func checkSourceFree(_ terms: [StrategyTerm], strategies: [StrategyRecipe], phase: Int) throws {
        guard let i = terms.firstIndex(where: { !$0.strategy.usesSourceData }) else { return }
        if let j = terms.firstIndex(where: { $0.strategy.usesSourceData }) {
            throw RecipeError(
                strategies[j].location,
                "strategy \(strategies[j].name) uses source data and cannot be combined with \(strategies[i].name), which trains without it")
        }
        if recipe.data.targetLabelsPerClass > 0 {
            throw RecipeError(
                recipe.locationOf("data.target_labels_per_class"),
                "strategy \(strategies[i].name) adapts without target labels; remove data.target_labels_per_class")
        }
        guard phase == 0, recipe.model.pretrained == nil else { return }
        throw RecipeError(
            strategies[i].location,
            "strategy \(strategies[i].name) adapts a trained model without source data, but nothing gives it one: set pretrained.weights: FILE, "
                + "or put a phase that trains on the source before it in phases")
    }

    /// Trains every phase but the last on `model` (which holds the recipe's starting weights; `prepare`
    /// has checked every phase's strategies), each
    /// as its own recipe would with this seed: its strategies, optimizer, schedule, epochs and batch
    /// size, the recipe's frozen layers and multipliers, evaluated once at its end. Parameters a
    /// phase froze are thawed before the next one. Returns each phase's result (empty without phases).
    func trainEarlierPhases(model: AdaptationModel, data: TrainingData, seed: UInt64, events: (RunEvent) -> Void) throws -> [PhaseResult] {
        var results: [PhaseResult] = []
        let root = SeededGenerator(seed: seed)
        for (index, phase) in recipe.phases.dropLast().enumerated() {
            events(.phase("phase \(index + 1) of \(recipe.phases.count) (\(phase.name)): training \(phase.strategyLabel) for \(phase.epochs) epochs"))
            let terms = try terms(phase.strategies, model: model, root: root)
            let configuration = trainerConfiguration(
                epochs: phase.epochs, batchSize: phase.batchSize, optimizer: phase.optimizer, schedule: phase.schedule, seed: seed,
                evaluationInterval: phase.epochs)
            let result: TrainingResult
            do {
                result = try Trainer(model: model, data: data, configuration: configuration, strategies: terms).run()
            } catch let error as TrainingError {
                throw ExperimentError.invalid("phase \(phase.name): \(error)")
            }
            for parameter in model.parameters { parameter.parameter.isFrozen = false }
            results.append(
                PhaseResult(
                    name: phase.name, strategy: phase.strategyLabel, epochs: phase.epochs, steps: result.steps,
                    sourceAccuracy: result.finalSource.accuracy, targetAccuracy: result.finalTarget?.accuracy, trainSeconds: result.wallSeconds))
        }
        return results
    }

    /// The trainer configuration of one phase (or of the recipe): the recipe's frozen layers,
    /// learning-rate multipliers and granted target labels with the phase's training keys.
    func trainerConfiguration(
        epochs: Int, batchSize: Int, optimizer: OptimizerConfiguration, schedule: LearningRateSchedule, seed: UInt64, evaluationInterval: Int
    ) -> TrainerConfiguration {
        TrainerConfiguration(
            epochs: epochs, batchSize: batchSize, optimizer: optimizer, learningRateSchedule: schedule,
            learningRateMultipliers: recipe.model.learningRateMultipliers, frozenPrefixes: recipe.model.frozen, seed: seed,
            evaluationInterval: evaluationInterval,
            targetLabels: recipe.data.targetLabelsPerClass > 0 ? .perClass(recipe.data.targetLabelsPerClass) : .none)
    }

    /// The results of every phase of a phased run: the earlier phases' and the last one's (from the
    /// run's final reports); nil for a recipe without phases.
    func phaseResults(earlier: [PhaseResult], steps: Int, source: ClassificationReport, target: ClassificationReport?, trainSeconds: Double)
        -> [PhaseResult]?
    {
        guard let last = recipe.phases.last else { return nil }
        return earlier + [
            PhaseResult(
                name: last.name, strategy: last.strategyLabel, epochs: last.epochs, steps: steps, sourceAccuracy: source.accuracy,
                targetAccuracy: target?.accuracy, trainSeconds: trainSeconds)
        ]
    }
}
