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

/// A phase before the last stopped on a non-finite loss. The run ends there, as a run whose last
/// phase stops does: its report has status `failed` and this message, its final evaluation is of
/// the model as the phase's last good step left it, and the later phases do not train.
public struct PhaseTrainingError: Error, CustomStringConvertible, Equatable {
    public let phase: String
    public let error: TrainingError

    public init(phase: String, error: TrainingError) {
        self.phase = phase
        self.error = error
    }

    public var description: String { "phase \(phase): \(error)" }
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
    /// phase froze are thawed before the next one. `shouldStop` (Ctrl-C) is polled after every step,
    /// as in the last phase. Returns each finished phase's result (empty without phases) and, when a
    /// phase stopped on a non-finite loss or was stopped, that stop or `cancelled` (no later phase
    /// trains; `--resume` trains the earlier phases again, to the same weights).
    func trainEarlierPhases(
        model: AdaptationModel, data: TrainingData, seed: UInt64, shouldStop: () -> Bool = { false }, events: (RunEvent) -> Void
    ) throws -> (results: [PhaseResult], failure: PhaseTrainingError?, cancelled: Bool) {
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
                result = try Trainer(model: model, data: data, configuration: configuration, strategies: terms).run(shouldStop: shouldStop)
            } catch let error as TrainingError {
                guard case .nonFinite = error else { throw ExperimentError.invalid("phase \(phase.name): \(error)") }
                for parameter in model.parameters { parameter.parameter.isFrozen = false }
                return (results, PhaseTrainingError(phase: phase.name, error: error), false)
            }
            for parameter in model.parameters { parameter.parameter.isFrozen = false }
            if result.cancelled { return (results, nil, true) }
            results.append(
                PhaseResult(
                    name: phase.name, strategy: phase.strategyLabel, epochs: phase.epochs, steps: result.steps,
                    sourceAccuracy: result.finalSource.accuracy, targetAccuracy: result.finalTarget?.accuracy, trainSeconds: result.wallSeconds))
        }
        return (results, nil, false)
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
    /// run's final reports); nil for a recipe without phases. After an earlier phase stopped
    /// (`stopped`), the list ends with that phase, its steps those up to the stop and its accuracies
    /// the final reports'; after one was cancelled (`cancelledEarlier`), it holds the finished ones.
    func phaseResults(
        earlier: [PhaseResult], steps: Int, source: ClassificationReport, target: ClassificationReport?, trainSeconds: Double,
        stopped: PhaseTrainingError? = nil, cancelledEarlier: Bool = false
    ) -> [PhaseResult]? {
        guard let last = recipe.phases.last else { return nil }
        if cancelledEarlier { return earlier }
        var phase = last
        var phaseSteps = steps
        if let stopped, let failed = recipe.phases.first(where: { $0.name == stopped.phase }) {
            phase = failed
            if case .nonFinite(let step, _, _) = stopped.error { phaseSteps = step }
        }
        return earlier + [
            PhaseResult(
                name: phase.name, strategy: phase.strategyLabel, epochs: phase.epochs, steps: phaseSteps, sourceAccuracy: source.accuracy,
                targetAccuracy: target?.accuracy, trainSeconds: stopped == nil ? trainSeconds : 0)
        ]
    }
}
