import Adaptation
import Foundation
import TensorCore

/// Divergences between source and target representations.
public struct DivergenceValues: Sendable, Codable, Equatable {
    /// Unbiased MMD² with a Gaussian kernel at the median heuristic bandwidth.
    public var mmd: Double?
    /// Deep CORAL distance ‖C_S − C_T‖²_F / (4d²).
    public var coral: Double?
    /// Proxy A-distance 2(1 − 2ε), clipped to [0, 2].
    public var pad: Double?

    public init(mmd: Double? = nil, coral: Double? = nil, pad: Double? = nil) {
        self.mmd = mmd
        self.coral = coral
        self.pad = pad
    }
}

/// Divergences measured on the inputs, on the model's features before training and after.
public struct DivergenceReport: Sendable, Codable, Equatable {
    public var input: DivergenceValues
    public var before: DivergenceValues
    public var after: DivergenceValues
    /// Samples per domain used.
    public var samples: Int

    public init(input: DivergenceValues, before: DivergenceValues, after: DivergenceValues, samples: Int) {
        self.input = input
        self.before = before
        self.after = after
        self.samples = samples
    }
}

/// Unsupervised model-selection scores of the final model (no target label used).
public struct SelectionScores: Sendable, Codable, Equatable {
    /// Accuracy on held-out source samples (higher is better).
    public var sourceValidation: Double?
    /// Mean prediction entropy on the unlabelled target pool, in nats (lower is better).
    public var entropy: Double?
    /// Importance-weighted source validation risk with a control variate (You et al. 2019; lower is better).
    public var dev: Double?
    /// Soft Neighborhood Density of the target predictions (Saito et al. 2021; higher is better).
    public var snd: Double?
    /// Information maximisation H(p̄) − mean H(p_i) on the target pool, in nats (higher is better).
    public var im: Double?
    /// Importance-weighted source validation risk, DEV without the control variate (Sugiyama et al. 2007; lower is better).
    public var iwv: Double?
    /// Source-validation accuracy of a model trained on the target's pseudo-labels (Zhong et al. 2010; higher is better).
    public var reverseValidation: Double?

    public init(
        sourceValidation: Double? = nil, entropy: Double? = nil, dev: Double? = nil, snd: Double? = nil, im: Double? = nil,
        iwv: Double? = nil, reverseValidation: Double? = nil
    ) {
        self.sourceValidation = sourceValidation
        self.entropy = entropy
        self.dev = dev
        self.snd = snd
        self.im = im
        self.iwv = iwv
        self.reverseValidation = reverseValidation
    }
}

/// The selection scores of the model at one evaluated epoch (`selection.rules` but
/// `reverse_validation`, which trains a model), with that epoch's accuracies.
public struct CheckpointScores: Sendable, Codable, Equatable {
    /// 1-based epoch (a stopped run's last entry may be a partial epoch).
    public var epoch: Int
    /// Global steps done at the evaluation.
    public var step: Int
    /// No target label used.
    public var scores: SelectionScores
    public var sourceAccuracy: Double?
    /// Read by the oracle only (`CheckpointSelection.oracleEpoch`), never by a rule; nil without target labels.
    public var targetAccuracy: Double?

    public init(epoch: Int, step: Int, scores: SelectionScores, sourceAccuracy: Double?, targetAccuracy: Double?) {
        self.epoch = epoch
        self.step = step
        self.scores = scores
        self.sourceAccuracy = sourceAccuracy
        self.targetAccuracy = targetAccuracy
    }
}

/// Which evaluated epoch `selection.checkpoint` picked, against the last and the oracle's (the
/// epoch of highest target accuracy, which no rule may read). Target accuracies are those of the
/// evaluations (nil when the target has no labels).
public struct CheckpointSelection: Sendable, Codable, Equatable {
    /// The selection rule (`entropy`, `snd`, …).
    public var rule: String
    public var pickedEpoch: Int
    public var pickedTargetAccuracy: Double?
    public var lastEpoch: Int
    public var lastTargetAccuracy: Double?
    /// nil when the target has no labels.
    public var oracleEpoch: Int?
    public var oracleTargetAccuracy: Double?

    public init(
        rule: String, pickedEpoch: Int, pickedTargetAccuracy: Double?, lastEpoch: Int, lastTargetAccuracy: Double?, oracleEpoch: Int?,
        oracleTargetAccuracy: Double?
    ) {
        self.rule = rule
        self.pickedEpoch = pickedEpoch
        self.pickedTargetAccuracy = pickedTargetAccuracy
        self.lastEpoch = lastEpoch
        self.lastTargetAccuracy = lastTargetAccuracy
        self.oracleEpoch = oracleEpoch
        self.oracleTargetAccuracy = oracleTargetAccuracy
    }

    /// picked − last target accuracy: what picking gained over keeping the last epoch.
    public var gain: Double? { pickedTargetAccuracy.flatMap { p in lastTargetAccuracy.map { p - $0 } } }
    /// oracle − picked target accuracy: what the rule left on the table.
    public var regret: Double? { oracleTargetAccuracy.flatMap { o in pickedTargetAccuracy.map { o - $0 } } }
}

/// A list that decodes as empty when its key is absent (reports written before the list existed),
/// without a hand-written `init(from:)` for the whole report.
@propertyWrapper
public struct EmptyWhenAbsent<Element: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: [Element]

    public init(wrappedValue: [Element]) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws { wrappedValue = try decoder.singleValueContainer().decode([Element].self) }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension KeyedDecodingContainer {
    /// The synthesized decoders call this for an `@EmptyWhenAbsent` property: absent means empty.
    func decode<Element>(_ type: EmptyWhenAbsent<Element>.Type, forKey key: Key) throws -> EmptyWhenAbsent<Element> {
        try decodeIfPresent(type, forKey: key) ?? EmptyWhenAbsent(wrappedValue: [])
    }
}

/// What one `dakit run` writes to `report.json`.
public struct RunReport: Sendable, Codable, Equatable {
    public var dakitVersion: String
    /// The recipe file as given.
    public var recipe: String
    public var recipeName: String
    public var recipeHash: String
    public var task: String
    /// Strategies joined by `+`; `sourceOnly` when none.
    public var strategy: String
    public var seed: UInt64
    public var overrides: [String]
    /// `completed`, `cancelled` (Ctrl-C; the checkpoint holds the last evaluated epoch) or `failed`.
    public var status: String
    public var error: String?
    public var sourceAccuracy: Double
    public var targetAccuracy: Double?
    public var sourceMacroF1: Double
    public var targetMacroF1: Double?
    public var source: ClassificationReport
    public var target: ClassificationReport?
    /// Target accuracy of a source-only model trained with the same seed, when the recipe asks for it.
    public var sourceOnlyTargetAccuracy: Double?
    public var epochs: [EpochMetrics]
    public var steps: Int
    public var divergences: DivergenceReport?
    public var selection: SelectionScores
    public var dataset: DatasetSummary
    public var wallSeconds: Double
    public var trainSeconds: Double
    public var resolvedRecipe: JSONValue
    /// The selection scores at every evaluated epoch (empty in reports written before they existed).
    @EmptyWhenAbsent public var checkpointScores: [CheckpointScores]
    /// The epoch `selection.checkpoint` picked, when the recipe names a rule (nil for `last`).
    public var checkpointSelection: CheckpointSelection?
    /// Threads the run's products and kernels used (`dakit run --threads`; nil in older reports).
    public var threads: Int?
    /// OpenBLAS's kernels the run's products used (`blasCoreName()`; nil in older reports): kernels
    /// round differently, so two runs agree to the last digit only on the same kernels.
    public var blasCore: String? = blasCoreName()
    /// Every phase's final numbers, for a recipe with `phases` (nil otherwise); the last is this report's.
    public var phases: [PhaseResult]? = nil

    public init(
        dakitVersion: String, recipe: String, recipeName: String, recipeHash: String, task: String, strategy: String, seed: UInt64,
        overrides: [String], status: String, error: String?, sourceAccuracy: Double, targetAccuracy: Double?, sourceMacroF1: Double,
        targetMacroF1: Double?, source: ClassificationReport, target: ClassificationReport?, sourceOnlyTargetAccuracy: Double?,
        epochs: [EpochMetrics], steps: Int, divergences: DivergenceReport?, selection: SelectionScores, dataset: DatasetSummary,
        wallSeconds: Double, trainSeconds: Double, resolvedRecipe: JSONValue, checkpointScores: [CheckpointScores] = [],
        checkpointSelection: CheckpointSelection? = nil, threads: Int? = ParallelKernels.threadCount
    ) {
        self.threads = threads
        self.checkpointScores = checkpointScores
        self.checkpointSelection = checkpointSelection
        self.dakitVersion = dakitVersion
        self.recipe = recipe
        self.recipeName = recipeName
        self.recipeHash = recipeHash
        self.task = task
        self.strategy = strategy
        self.seed = seed
        self.overrides = overrides
        self.status = status
        self.error = error
        self.sourceAccuracy = sourceAccuracy
        self.targetAccuracy = targetAccuracy
        self.sourceMacroF1 = sourceMacroF1
        self.targetMacroF1 = targetMacroF1
        self.source = source
        self.target = target
        self.sourceOnlyTargetAccuracy = sourceOnlyTargetAccuracy
        self.epochs = epochs
        self.steps = steps
        self.divergences = divergences
        self.selection = selection
        self.dataset = dataset
        self.wallSeconds = wallSeconds
        self.trainSeconds = trainSeconds
        self.resolvedRecipe = resolvedRecipe
    }

    public struct DatasetSummary: Sendable, Codable, Equatable {
        public var shift: String
        public var classNames: [String]
        public var sourceCount: Int
        public var targetCount: Int
        public var sourceEvaluation: String
        public var targetEvaluation: String?
        public var grantedTargetLabels: Int

        public init(
            shift: String, classNames: [String], sourceCount: Int, targetCount: Int, sourceEvaluation: String, targetEvaluation: String?,
            grantedTargetLabels: Int
        ) {
            self.shift = shift
            self.classNames = classNames
            self.sourceCount = sourceCount
            self.targetCount = targetCount
            self.sourceEvaluation = sourceEvaluation
            self.targetEvaluation = targetEvaluation
            self.grantedTargetLabels = grantedTargetLabels
        }
    }

    /// Pretty JSON with sorted snake_case keys (`ResultJSON`).
    public func jsonData() throws -> Data { try ResultJSON.encoder().encode(self) }

    public static func load(_ url: URL) throws -> RunReport {
        do {
            return try ResultJSON.decoder().decode(RunReport.self, from: Data(contentsOf: url))
        } catch let error as DecodingError {
            throw ExperimentError.badReport(url.path, "\(error)")
        }
    }
}

/// Errors of the runner and of compare.
public enum ExperimentError: Error, CustomStringConvertible {
    case badReport(String, String)
    case io(String, String)
    case invalid(String)

    public var description: String {
        switch self {
        case .badReport(let path, let why): return "\(path): not a DAKit run report (\(why.replacingOccurrences(of: "\n", with: " ")))"
        case .io(let path, let why): return "\(path): \(why)"
        case .invalid(let why): return why
        }
    }
}

/// Writes `data` to `url` through a temporary file in the same folder and a rename, so readers never see half a file.
public func writeAtomically(_ data: Data, to url: URL) throws {
    if let reason = makeFolders(url.deletingLastPathComponent()) {
        throw ExperimentError.io(url.path, "cannot create its folder: \(reason)")
    }
    try AtomicWrite.write(data, to: url)
}
