import Adaptation
import Foundation
import NN

/// One phase of a recipe with `phases:`: what it trains with. Each phase is the recipe's own
/// training keys with the phase's values in their place, and starts from the weights the phase
/// before it ended with (the first: from `pretrained.weights`, or from the seeded initialisation).
public struct PhaseRecipe: Sendable, Equatable {
    /// The phase's name (`source`, `target`), unique in the recipe; `phase1`, `phase2`, … when not given.
    public var name: String
    public var strategies: [StrategyRecipe]
    public var optimizer: OptimizerConfiguration
    public var schedule: LearningRateSchedule
    public var epochs: Int
    public var batchSize: Int
    /// The phase's line in the recipe.
    public var location: RecipeLocation

    /// `strategies` joined by `+` (`sourceOnly` when empty), as `Recipe.strategyLabel`.
    public var strategyLabel: String { Recipe.label(of: strategies) }
}

extension Recipe {
    /// The keys a phase may set; each replaces the top-level key of the same name for that phase.
    static let phaseKeys = ["name", "strategies", "optimizer", "schedule", "epochs", "batch_size"]
    /// Most phases in one recipe.
    static let maxPhases = 16

    /// The `phases:` list (absent: no phases, the recipe is one phase). Every phase starts from the
    /// top-level `strategies`, `optimizer`, `schedule`, `epochs` and `batch_size` (`defaults`) and
    /// replaces the ones it gives. Unknown keys, duplicate names and an empty list are refused at
    /// their line.
    static func phases(_ root: Section, defaults: PhaseRecipe, registry: StrategyRegistry) throws -> [PhaseRecipe] {
        guard let items = try root.list("phases") else { return [] }
        guard (1...maxPhases).contains(items.count) else {
            throw RecipeError(root.location(of: "phases"), "phases must list 1 to \(maxPhases) phases, got \(items.count)")
        }
        var phases: [PhaseRecipe] = []
        for (i, item) in items.enumerated() {
            let section = try Section(item, path: "phases.\(i)")
            try section.checkKeys(phaseKeys, context: "a phase")
            var phase = defaults
            phase.location = item.location
            phase.name = try section.nonBlankString("name") ?? "phase\(i + 1)"
            if phases.contains(where: { $0.name == phase.name }) {
                throw RecipeError(section.location(of: "name"), "phases.\(i).name '\(phase.name)' names an earlier phase too; phase names must be distinct")
            }
            if section.has("strategies") { phase.strategies = try Recipe.strategies(section, registry: registry) }
            if let optimizer = try section.section("optimizer") { phase.optimizer = try Recipe.optimizer(optimizer) }
            phase.schedule = try section.learningRateSchedule("schedule") ?? phase.schedule
            phase.epochs = try section.int("epochs", 1...RecipeLimits.maxEpochs) ?? phase.epochs
            phase.batchSize = try section.int("batch_size", 2...RecipeLimits.maxBatchSize) ?? phase.batchSize
            phases.append(phase)
        }
        return phases
    }
}
