import Foundation
import NN
import TensorCore

/// Which optimizer the trainer uses, with its settings.
public struct OptimizerConfiguration: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// SGD with (optional Nesterov) momentum and L2 weight decay.
        case sgd
        /// Adam with L2 weight decay.
        case adam
        /// Adam with decoupled weight decay (Loshchilov & Hutter 2019).
        case adamw
    }

    public var kind: Kind
    /// Base learning rate μ0; the schedule scales it by progress.
    public var learningRate: Float
    public var momentum: Float
    public var nesterov: Bool
    public var weightDecay: Float
    public var beta1: Float
    public var beta2: Float
    /// Gradient-norm clipping (`optimizer: {clip_norm: X}`): before every update the gradients of all
    /// the parameters that step trains are scaled by min(1, X/‖g‖₂), ‖g‖₂ the global L2 norm over
    /// them (PyTorch's `clip_grad_norm_`); the direction is kept. nil: no clipping.
    public var clipNorm: Float?

    public init(
        kind: Kind = .sgd, learningRate: Float = 0.01, momentum: Float = 0.9, nesterov: Bool = false, weightDecay: Float = 0,
        beta1: Float = 0.9, beta2: Float = 0.999, clipNorm: Float? = nil
    ) {
        precondition(clipNorm.map { $0 > 0 && $0.isFinite } ?? true, "OptimizerConfiguration: clip norm \(clipNorm!) must be positive and finite")
        self.kind = kind
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.clipNorm = clipNorm
    }

    /// The clip norm a recipe gets when its `optimizer` section names none (`clip_norm: none` turns
    /// it off). Healthy steps on the shipped recipes have global gradient norms of about 1–3
    /// (`gradient.norm` in the per-epoch diagnostics), so it acts only on the spikes that otherwise
    /// grow into a non-finite stop (DANN/CDAN on the digits LeNet under SGD 0.05; see Papers.md and
    /// `Recipes/sweeps/stability-*.yaml`). The Swift initialiser's default stays nil (no clipping).
    public static let recipeClipNorm: Float = 5

    /// Ganin et al. 2016: SGD, μ0 = 0.01, momentum 0.9 (use with `LearningRateSchedule.dann`).
    public static let dann = OptimizerConfiguration(kind: .sgd, learningRate: 0.01, momentum: 0.9)

    /// A fresh optimizer (no state) with these settings.
    public func make() -> any Optimizer {
        switch kind {
        case .sgd: return SGD(learningRate: learningRate, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
        case .adam: return Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, weightDecay: weightDecay)
        case .adamw:
            return Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, weightDecay: weightDecay, decoupledWeightDecay: true)
        }
    }
}

/// Everything about a training run except the model, data and strategies.
public struct TrainerConfiguration {
    public var epochs: Int
    /// Samples per domain per step: each step draws `batchSize` source and `batchSize` target
    /// samples (half source, half target, as in Ganin et al.).
    public var batchSize: Int
    public var optimizer: OptimizerConfiguration
    /// Learning rate as a function of progress p (`.dann` = μ0/(1 + 10p)^0.75).
    public var learningRateSchedule: LearningRateSchedule
    /// Learning-rate multipliers by parameter-path prefix: `["classifier": 10]`. The longest
    /// matching prefix wins. Strategy parameters have paths `strategies.<label>.…`.
    public var learningRateMultipliers: [String: Float]
    /// Parameter-path prefixes to freeze (`features` = feature extraction).
    public var frozenPrefixes: [String]
    /// Seeds batch order, dropout, target-label grants and pseudo-label draws.
    public var seed: UInt64
    /// Evaluate every this many epochs (and always after the last).
    public var evaluationInterval: Int
    /// Target labels granted to training (beyond what a strategy such as `targetOnly` asks for).
    /// Each step draws a batch of granted rows; a strategy that needs them (fineTune) uses them,
    /// otherwise the trainer adds CE on them to the objective (semi-supervised adaptation).
    public var targetLabels: TargetLabelGrant
    /// Batch size for evaluation passes.
    public var evaluationBatchSize: Int
    /// Global step to start at (0: a fresh run); `epochs` stays the run's total. Set it, load the
    /// weights of a run stopped after `startStep` steps (and `initialOptimizerState`), and training
    /// continues as the uninterrupted run would have: progress p = step / total steps (so the
    /// learning rate and every λ(p) carry on), the batch streams are replayed from the seed to the
    /// same position, dropout masks come from a generator forked per step, epochs are numbered and
    /// evaluated as in the full run.
    public var startStep: Int
    /// Optimizer state to start from: `TrainingSnapshot.optimizerState` of the run being resumed,
    /// taken at step `startStep` (the caller checks that); nil: fresh optimizers.
    public var initialOptimizerState: [String: Tensor]?

    public init(
        epochs: Int = 100, batchSize: Int = 32, optimizer: OptimizerConfiguration = OptimizerConfiguration(),
        learningRateSchedule: LearningRateSchedule = .constant, learningRateMultipliers: [String: Float] = [:],
        frozenPrefixes: [String] = [], seed: UInt64 = 0, evaluationInterval: Int = 1,
        targetLabels: TargetLabelGrant = .none, evaluationBatchSize: Int = 512,
        startStep: Int = 0, initialOptimizerState: [String: Tensor]? = nil
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.optimizer = optimizer
        self.learningRateSchedule = learningRateSchedule
        self.learningRateMultipliers = learningRateMultipliers
        self.frozenPrefixes = frozenPrefixes
        self.seed = seed
        self.evaluationInterval = evaluationInterval
        self.targetLabels = targetLabels
        self.evaluationBatchSize = evaluationBatchSize
        self.startStep = startStep
        self.initialOptimizerState = initialOptimizerState
    }
}

/// Why training stopped with an error.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// A loss term (or the gradient) was NaN or infinite at `step`; the model keeps the parameters
    /// of the last good step (it is never updated from a non-finite value).
    case nonFinite(step: Int, strategy: String, term: String)
    /// The configuration, data or strategy list cannot train.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .nonFinite(let step, let strategy, let term):
            return "training stopped at step \(step): term '\(term)' of '\(strategy)' is not finite (NaN or Inf); "
                + "the model keeps the parameters of the last good step"
        case .invalidConfiguration(let message):
            return "training configuration: \(message)"
        }
    }
}

/// Metrics of one epoch.
public struct EpochMetrics: Sendable, Codable, Equatable {
    /// 1-based, counted from the start of the whole run (a resumed run continues the numbering).
    public var epoch: Int
    /// Progress p at the end of the epoch.
    public var progress: Double
    /// Learning rate of the epoch's last step.
    public var learningRate: Double
    /// Mean over the epoch's steps of every loss term: `total`, `source.crossEntropy`, `<label>`
    /// (the strategy's loss before weight and λ), `<label>.<component>`.
    public var losses: [String: Double]
    /// Mean over steps of each strategy's diagnostics (`dann.domainAccuracy`), plus what the
    /// strategies reported at the epoch's start (`selfTraining.kept`).
    public var diagnostics: [String: Double]
    /// Accuracy on held-out source (`sourceValidation`, else the training source), when evaluated.
    public var sourceAccuracy: Double?
    /// Accuracy on `targetTest` (else `target`) where labels exist, when evaluated; evaluation only.
    public var targetAccuracy: Double?
    public var seconds: Double
}

/// What a training run produced.
public struct TrainingResult: Sendable, Codable, Equatable {
    public var epochs: [EpochMetrics]
    /// Global step count at the end (`startStep` plus the steps taken by this call).
    public var steps: Int
    /// On held-out source (`sourceEvaluationSplit` names which).
    public var finalSource: ClassificationReport
    /// On `targetTest`, else `target`; nil when the target has no labels.
    public var finalTarget: ClassificationReport?
    /// `sourceValidation` or `source`.
    public var sourceEvaluationSplit: String
    /// `targetTest`, `target`, or nil.
    public var targetEvaluationSplit: String?
    /// Number of target labels granted to training.
    public var grantedTargetLabels: Int
    /// True when the cancellation check stopped training early.
    public var cancelled: Bool
    public var wallSeconds: Double
}

/// What a checkpoint stores, handed to the `checkpoint` sink of `Trainer.run` at the end of every
/// evaluated epoch, when training is stopped early, and before a non-finite stop (then it holds
/// the last good step: the model is never updated from a non-finite value). The trainer writes no
/// file itself: the caller stores the whole snapshot at once, so weights, optimizer state and
/// progress can never disagree.
public struct TrainingSnapshot {
    /// Global steps done.
    public var step: Int
    /// `epoch 3`, `stopped`, `non-finite loss`, …
    public var reason: String
    /// The epochs this call completed (numbered from the start of the whole run), this one included.
    public var epochs: [EpochMetrics]
    /// True once the run's last epoch is complete.
    public var finished: Bool
    /// Copies of the model's and the strategies' parameters (`Trainer.state`).
    public var parameters: [NamedParameter]
    /// Every optimizer's state: `joint.<parameter path>.<slot>` and `inner.<strategy label>.<parameter
    /// path>.<slot>` (slots: `velocity`; `m`, `v`, `t`); what `initialOptimizerState` takes back.
    public var optimizerState: [String: Tensor]
}

/// Progress reports for a CLI or a log.
public enum TrainingEvent {
    case started(totalSteps: Int, stepsPerEpoch: Int)
    /// A strategy reported something at an epoch boundary (self-training relabelled the pool).
    case boundary(epoch: Int, strategy: String, diagnostics: [String: Double])
    case epochFinished(EpochMetrics)
    case cancelled(step: Int)
}
