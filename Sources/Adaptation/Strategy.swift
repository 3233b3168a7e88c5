@_exported import DomainData
import Foundation
import NN
import TensorCore

// MARK: - Results of a strategy

/// A strategy's loss at one step: the differentiable value, its named components (for logs and
/// for naming the culprit when a value is not finite) and diagnostics.
public struct StrategyLoss {
    public let value: Variable
    /// Named components, e.g. `["domain": 0.69]`; plain numbers for logging.
    public let terms: [String: Float]
    /// Anything worth reporting (discriminator accuracy, MMD value, kept pseudo-labels).
    public let diagnostics: [String: Double]

    public init(_ value: Variable, terms: [String: Float] = [:], diagnostics: [String: Double] = [:]) {
        precondition(value.value.count == 1, "StrategyLoss: the loss must be a scalar, got shape \(value.shape)")
        self.value = value
        self.terms = terms
        self.diagnostics = diagnostics
    }

    /// No loss (source-only training).
    public static var zero: StrategyLoss { StrategyLoss(Variable(Tensor(0))) }
}

/// An optimisation step a strategy takes on its own modules before the joint step (domain
/// confusion's discriminator update). The trainer differentiates `loss` with respect to
/// `parameters` only and applies an optimizer of the configured kind.
public struct InnerStep {
    public let loss: Variable
    public let parameters: [NamedParameter]
    public let diagnostics: [String: Double]

    public init(loss: Variable, parameters: [NamedParameter], diagnostics: [String: Double] = [:]) {
        precondition(loss.value.count == 1, "InnerStep: the loss must be a scalar, got shape \(loss.shape)")
        self.loss = loss
        self.parameters = parameters
        self.diagnostics = diagnostics
    }
}

/// How the trainer applies a strategy's λ(p).
public enum LambdaPlacement: String, Sendable, Codable {
    /// total += weight · λ(p) · loss (MMD, CORAL, entropy, confusion).
    case lossMultiplier
    /// total += weight · loss, and the strategy puts λ(p) inside its graph (DANN's gradient
    /// reversal: λ scales only the gradient into the feature extractor).
    case insideLoss
}

/// Which target labels a strategy needs.
public enum TargetLabelNeed: String, Sendable, Codable {
    /// None (unsupervised adaptation).
    case none
    /// Every target label (the target-only oracle): the trainer grants them all, as granted target batches.
    case all
    /// The labels the recipe grants (`TrainerConfiguration.targetLabels`), at least one.
    case granted
}

/// What a strategy may inspect once before training (check labels, freeze layers). Target labels
/// appear only as the grant: the pool itself is inputs only.
public struct TrainingSetup {
    public let model: AdaptationModel
    /// The labelled source domain.
    public let source: LabelledDomain
    /// The target pool, inputs only.
    public let target: TargetPool
    /// The target rows and labels granted to training (none, a few per class, or all for the oracle).
    public let granted: GrantedLabels

    public init(model: AdaptationModel, source: LabelledDomain, target: TargetPool, granted: GrantedLabels) {
        self.model = model
        self.source = source
        self.target = target
        self.granted = granted
    }
}

/// Passed to a strategy at the start of every epoch (self-training relabels the target pool).
public struct EpochBoundary {
    /// The epoch about to start (0-based).
    public let epoch: Int
    public let epochs: Int
    /// Progress p at the start of this epoch.
    public let progress: Float
    public let model: AdaptationModel
    /// The unlabelled target pool: inputs only.
    public let targetPool: TargetPool

    public init(epoch: Int, epochs: Int, progress: Float, model: AdaptationModel, targetPool: TargetPool) {
        self.epoch = epoch
        self.epochs = epochs
        self.progress = progress
        self.model = model
        self.targetPool = targetPool
    }
}

/// What a strategy reports at an epoch boundary: diagnostics, and the pseudo-labels it chose (target
/// row → label), which the evaluator, not the strategy, scores against the target labels where
/// they exist (`keptAccuracy` in the epoch's diagnostics).
public struct BoundaryReport: ExpressibleByDictionaryLiteral {
    public var diagnostics: [String: Double]
    public var pseudoLabels: [Int: Int]

    public init(diagnostics: [String: Double] = [:], pseudoLabels: [Int: Int] = [:]) {
        self.diagnostics = diagnostics
        self.pseudoLabels = pseudoLabels
    }

    public init(dictionaryLiteral elements: (String, Double)...) {
        self.init(diagnostics: Dictionary(uniqueKeysWithValues: elements))
    }

    /// Nothing happened at this boundary.
    public var isEmpty: Bool { diagnostics.isEmpty && pseudoLabels.isEmpty }
}

/// Sizes and randomness a factory needs to build a strategy's modules.
public struct StrategyContext {
    /// Width of `FeatureLayer.features` (the classifier's input).
    public let featureSize: Int
    /// Width of `FeatureLayer.extractor`.
    public let extractorSize: Int
    public let classCount: Int
    /// A generator for this strategy's initialisation (forked per strategy by the caller).
    public var rng: SeededGenerator

    public init(featureSize: Int, extractorSize: Int? = nil, classCount: Int, rng: SeededGenerator) {
        self.featureSize = featureSize
        self.extractorSize = extractorSize ?? featureSize
        self.classCount = classCount
        self.rng = rng
    }

    public init(model: AdaptationModel, rng: SeededGenerator) {
        self.init(featureSize: model.featureSize, extractorSize: model.extractorSize, classCount: model.classCount, rng: rng)
    }

    /// Width of a layer's representation.
    public func size(of layer: FeatureLayer) -> Int {
        switch layer {
        case .extractor: return extractorSize
        case .features: return featureSize
        case .logits: return classCount
        }
    }
}

// MARK: - Protocol

/// A domain-adaptation strategy: one term of the training objective
/// L = CE(source) + CE(granted target) + Σ_i weight_i · λ_i(p) · strategy_i.loss(batch).
///
/// What a strategy receives carries source labels, target inputs without labels, and granted
/// target labels as their own input (`StrategyBatch.labelledTarget`, `TrainingSetup.granted`):
/// no value it is handed leads to the other target labels. A strategy that trains on target
/// labels says so with `targetLabelNeed`; the trainer then grants them and adds the one granted
/// target cross-entropy to the objective.
///
/// A strategy owns its extra modules (a discriminator) and lists their parameters; it returns
/// its loss with diagnostics and keeps no per-step side fields. Optional parts have defaults:
/// no inner step, nothing at epoch boundaries, λ as a loss multiplier, source labels used, no
/// target labels needed.
public protocol AdaptationStrategy: AnyObject {
    /// The registry name (`dann`).
    var name: String { get }
    /// Every trainable tensor the strategy owns (saved with checkpoints), paths relative to it.
    var parameters: [NamedParameter] { get }
    /// The parameters the trainer's joint step updates from the total loss (default: all of
    /// `parameters`). Domain confusion returns none: its discriminator learns only in its inner step.
    var jointParameters: [NamedParameter] { get }
    var lambdaPlacement: LambdaPlacement { get }
    /// Whether the source cross-entropy stays in the objective (false for the target-only oracle
    /// and for fine-tuning on granted target labels).
    var usesSourceLabels: Bool { get }
    /// Whether the strategy trains with source data at all (default true). False (SHOT's target
    /// phase): the run is source-free: the trainer draws no source batch (the batch's source
    /// outputs have no rows), adds no source cross-entropy, grants no target labels, and refuses
    /// to combine the strategy with one that uses source data.
    var usesSourceData: Bool { get }
    var targetLabelNeed: TargetLabelNeed { get }
    /// Learning-rate multipliers by parameter-path prefix that this strategy asks for (fine-tuning's
    /// head × 10); the recipe's own multipliers take precedence.
    var learningRateMultipliers: [String: Float] { get }

    /// Called once before training: check requirements, freeze layers.
    func prepare(_ setup: TrainingSetup) throws
    /// The strategy's loss on one batch.
    func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss
    /// An optional update of the strategy's own modules, taken before the joint step.
    func innerStep(_ batch: StrategyBatch, context: ForwardContext) -> InnerStep?
    /// Called at the start of every epoch; returns diagnostics and chosen pseudo-labels (empty
    /// when nothing happened).
    func epochBoundary(_ boundary: EpochBoundary) throws -> BoundaryReport
}

extension AdaptationStrategy {
    public var parameters: [NamedParameter] { [] }
    public var jointParameters: [NamedParameter] { parameters }
    public var lambdaPlacement: LambdaPlacement { .lossMultiplier }
    public var usesSourceLabels: Bool { true }
    public var usesSourceData: Bool { true }
    public var targetLabelNeed: TargetLabelNeed { .none }
    public var learningRateMultipliers: [String: Float] { [:] }
    public func prepare(_ setup: TrainingSetup) throws {}
    public func innerStep(_ batch: StrategyBatch, context: ForwardContext) -> InnerStep? { nil }
    public func epochBoundary(_ boundary: EpochBoundary) throws -> BoundaryReport { [:] }
}

/// One term of the objective: a strategy, its weight and its λ(p) schedule.
public struct StrategyTerm {
    public let strategy: any AdaptationStrategy
    public var weight: Float
    public var schedule: WeightSchedule
    /// Unique label in logs and errors (defaults to the strategy name).
    public var label: String

    public init(_ strategy: any AdaptationStrategy, weight: Float = 1, schedule: WeightSchedule = .constant, label: String? = nil) {
        precondition(weight.isFinite && weight >= 0, "StrategyTerm \(strategy.name): weight \(weight) must be finite and ≥ 0")
        self.strategy = strategy
        self.weight = weight
        self.schedule = schedule
        self.label = label ?? strategy.name
    }
}
