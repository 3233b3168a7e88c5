import Adaptation
import Foundation
import NN

/// Where a recipe's data comes from.
public enum DataSource: Sendable, Equatable {
    /// A domain-dataset HDF5 file (`/source`, `/target`), resolved to an absolute path.
    case file(String)
    /// A built-in generator with its options (`moons`, `shifted`, `digits`).
    case generator(name: String, options: [String: OptionValue])
}

/// The `data:` section.
public struct DataRecipe: Sendable, Equatable {
    public var source: DataSource
    /// Replace the source labels with a fixed derangement of the classes: the source then solves an
    /// unrelated task, the far end of a negative-transfer sweep.
    public var permuteSourceLabels: Bool
    /// Labelled target samples per class granted for training (few-shot; 0 = unsupervised).
    public var targetLabelsPerClass: Int
    /// Use at most this many source / target training samples (0 = all).
    public var maxSourceSamples: Int
    public var maxTargetSamples: Int
    /// `streaming:` train from the data file through `StreamingDomainFile` (bounded memory) when
    /// true, in memory when false; nil (absent): streamed when its x datasets exceed 1 GiB.
    public var streaming: Bool? = nil
    /// `standardize:` per-feature (per-channel for images) standardisation of the inputs, fitted on
    /// the training pools only and stored in the run's checkpoint (`InputStandardization`).
    public var standardize: StandardizationMode = DataRecipe.defaultStandardization
    /// The one place of the default.
    public static let defaultStandardization = StandardizationMode.none
}

/// The `model:` section, plus the optional pretrained weights.
public struct ModelRecipe: Sendable, Equatable {
    public var spec: ModelSpec
    /// A checkpoint to start from (absolute path), loaded before training.
    public var pretrained: String?
    /// Parameter-path prefixes that are not trained (`features`, `features.0`).
    public var frozen: [String]
    /// Learning-rate multipliers by parameter-path prefix (`classifier: 10`).
    public var learningRateMultipliers: [String: Float]
}

/// One entry of `strategies:`.
public struct StrategyRecipe: Sendable, Equatable {
    public var name: String
    /// nil: the registry entry's default.
    public var weight: Float?
    public var schedule: WeightSchedule?
    public var options: [String: OptionValue]
    public var location: RecipeLocation
}

/// The `evaluation:` section.
public struct EvaluationRecipe: Sendable, Equatable {
    public enum Divergence: String, Sendable, CaseIterable { case mmd, coral, pad }
    /// Evaluate every N epochs (the last epoch always).
    public var every: Int
    /// Divergences between source and target features, measured before and after training.
    public var divergences: [Divergence]
    /// Samples per domain used for divergences (subsampled with a fixed seed).
    public var divergenceSamples: Int
    /// Also train a source-only model with the same seed and report its target accuracy.
    public var sourceOnlyBaseline: Bool
    /// The SVG plots a run writes into its folder (`RunPlots`; default: all).
    public var plots: [RunPlots.Kind] = RunPlots.Kind.allCases
    /// Points per domain in the feature and decision-boundary plots (drawn with a fixed seed).
    public var plotSamples: Int = 500
}

/// The `selection:` section: unsupervised model-selection scores recorded for `compare`.
public struct SelectionRecipe: Sendable, Equatable {
    public enum Rule: String, Sendable, CaseIterable {
        case sourceValidation = "source_validation", dev, entropy, snd, im, iwv
        /// Trains a second model per run, so only when named.
        case reverseValidation = "reverse_validation"
    }
    /// The rules computed when the recipe names none: every rule that costs no extra training.
    public static let defaultRules = Rule.allCases.filter { $0 != .reverseValidation }
    public var rules: [Rule]
    /// `checkpoint:` the rule that picks, among the run's evaluated epochs, the model the run reports
    /// and writes as `selected.h5` (`CheckpointPicker`); nil (`last`, the default): the last epoch.
    /// Never `reverse_validation` (a model trained per evaluation) and never the oracle.
    public var checkpoint: Rule? = nil
}

extension SelectionRecipe.Rule {
    /// Whether a larger score means a better model (accuracies, SND, IM) or a smaller one (entropy, risks).
    public var higherIsBetter: Bool {
        switch self {
        case .sourceValidation, .snd, .im, .reverseValidation: return true
        case .dev, .entropy, .iwv: return false
        }
    }

    /// The rule's score among `scores`; nil when it was not computed (or is not a number).
    public func score(_ scores: SelectionScores) -> Double? {
        let value: Double?
        switch self {
        case .sourceValidation: value = scores.sourceValidation
        case .dev: value = scores.dev
        case .entropy: value = scores.entropy
        case .snd: value = scores.snd
        case .im: value = scores.im
        case .iwv: value = scores.iwv
        case .reverseValidation: value = scores.reverseValidation
        }
        return value.flatMap { $0.isFinite ? $0 : nil }
    }

    /// Whether `a` scores better than `b` under this rule (a tie is not better: the earlier keeps it).
    public func prefers(_ a: Double, over b: Double) -> Bool { higherIsBetter ? a > b : a < b }
}

/// A validated experiment recipe. Build it with `Recipe.load(_:overrides:registry:)`; every
/// error names the file and line (or the `--set` argument) and the closest valid name.
public struct Recipe: Sendable {
    /// The recipe file as the user named it.
    public var file: String
    public var name: String
    /// The task compare groups runs by (default: the name).
    public var task: String
    public var description: String
    public var data: DataRecipe
    public var model: ModelRecipe
    /// The strategies, optimizer, schedule, epochs and batch size of the last phase (of the recipe
    /// itself when it has no `phases`): the phase the run's report describes.
    public var strategies: [StrategyRecipe]
    public var optimizer: OptimizerConfiguration
    public var schedule: LearningRateSchedule
    public var epochs: Int
    public var batchSize: Int
    public var seeds: [UInt64]
    /// `phases:` trained one after the other, each from the weights the one before ended with; the
    /// last one's keys are also the fields above. Empty: the recipe is one phase.
    public var phases: [PhaseRecipe] = []
    public var evaluation: EvaluationRecipe
    public var selection: SelectionRecipe
    /// Output folder (relative paths are relative to the working directory).
    public var output: String
    /// The recipe after overrides, as JSON (stored in reports).
    public var resolved: JSONValue
    /// SHA-256 of the canonical JSON of the resolved recipe without `output` and `seeds`: runs with
    /// the same hash and seed are the same experiment (checkpoints refuse to resume otherwise).
    public var hash: String
    /// Line of every dotted key path (`optimizer.lr`, `strategies.0.name`), for errors raised later.
    public var locations: [String: Int]

    /// `strategies` (of the last phase) joined by `+` (`mmd+selfTraining`); `sourceOnly` when empty.
    public var strategyLabel: String { Recipe.label(of: strategies) }

    /// Strategies joined by `+`; `sourceOnly` when there are none.
    static func label(of strategies: [StrategyRecipe]) -> String {
        strategies.isEmpty ? "sourceOnly" : strategies.map(\.name).joined(separator: "+")
    }

    // MARK: Loading

    /// Reads, overrides and validates a recipe file.
    public static func load(_ url: URL, overrides: [String] = [], registry: StrategyRegistry, displayName: String? = nil) throws -> Recipe {
        let name = displayName ?? url.relativePath
        var tree = try RecipeTree.load(url, displayName: name)
        for override in overrides { tree = try tree.applying(override: override, file: name) }
        return try Recipe(tree: tree, file: name, directory: url.deletingLastPathComponent(), registry: registry)
    }

    /// Validates a parsed tree. Relative file paths are resolved against `directory` first, then
    /// the working directory. The sections are read in a fixed order, one function each, so that a
    /// recipe with several errors always reports the same first one.
    public init(tree: RecipeTree, file: String, directory: URL, registry: StrategyRegistry) throws {
        let root = try Section(tree, path: "top level")
        try root.checkKeys([
            "name", "task", "description", "data", "model", "pretrained", "strategies", "optimizer", "schedule", "epochs",
            "batch_size", "seeds", "seed", "evaluation", "selection", "output", "phases",
        ])
        self.file = file
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        name = try root.nonBlankString("name") ?? stem
        task = try root.nonBlankString("task") ?? name
        description = try root.string("description") ?? ""

        data = try Recipe.data(root.section("data", required: true)!, directory: directory)
        let modelSection = try root.section("model", required: true)!
        let spec = try Recipe.modelSpec(modelSection)
        let modelSize = try Recipe.checkModel(spec, data: data.source, section: modelSection)
        model = try Recipe.model(spec, pretrained: root.section("pretrained"), directory: directory)
        strategies = try Recipe.strategies(root, registry: registry)
        try Recipe.checkStrategyModules(strategies, registry: registry, model: modelSize)
        optimizer = try Recipe.optimizer(root.section("optimizer"))
        schedule = try root.learningRateSchedule("schedule") ?? .constant
        epochs = try root.int("epochs", 1...RecipeLimits.maxEpochs) ?? 10
        batchSize = try root.int("batch_size", 2...RecipeLimits.maxBatchSize) ?? 32
        seeds = try Recipe.seeds(root)
        phases = try Recipe.phases(
            root, defaults: PhaseRecipe(
                name: "main", strategies: strategies, optimizer: optimizer, schedule: schedule, epochs: epochs, batchSize: batchSize,
                location: root.location),
            registry: registry)
        for phase in phases { try Recipe.checkStrategyModules(phase.strategies, registry: registry, model: modelSize) }
        if let last = phases.last {
            (strategies, optimizer, schedule, epochs, batchSize) = (last.strategies, last.optimizer, last.schedule, last.epochs, last.batchSize)
        }
        evaluation = try Recipe.evaluation(root.section("evaluation"), epochs: epochs)
        selection = try Recipe.selection(root.section("selection"))
        output = try root.nonBlankString("output") ?? "runs/\(name)"

        resolved = tree.json
        locations = Recipe.lines(of: tree)
        hash = Recipe.hash(of: resolved)
    }

    /// The line of every dotted key path of `tree`.
    static func lines(of tree: RecipeTree) -> [String: Int] {
        Dictionary(tree.keyPaths.map { ($0.path, $0.value.location.line) }, uniquingKeysWith: { _, last in last })
    }

    /// The recipe hash: SHA-256 (16 hex digits) of the canonical JSON without `output`, `seeds` and `seed`.
    static func hash(of resolved: JSONValue) -> String {
        var hashed = resolved
        if case .object(var o) = hashed {
            o["output"] = nil
            o["seeds"] = nil
            o["seed"] = nil
            hashed = .object(o)
        }
        return String(SHA256.hex(Array(hashed.canonicalString.utf8)).prefix(16))
    }
}
