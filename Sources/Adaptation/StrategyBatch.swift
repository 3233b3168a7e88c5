import Foundation
import NN
import TensorCore

// MARK: - Batch

/// Where in the model a strategy reads representations.
public enum FeatureLayer: String, Sendable, CaseIterable, Codable {
    /// Output of the feature extractor (before the bottleneck, if any).
    case extractor
    /// The classifier's input: the bottleneck output when there is one, else the extractor output.
    case features
    /// Class logits.
    case logits
}

/// The model's outputs for one domain's batch, all in one autodiff graph.
public struct DomainOutputs {
    public let extractor: Variable
    public let features: Variable
    public let logits: Variable

    public init(extractor: Variable, features: Variable, logits: Variable) {
        self.extractor = extractor
        self.features = features
        self.logits = logits
    }

    public subscript(layer: FeatureLayer) -> Variable {
        switch layer {
        case .extractor: return extractor
        case .features: return features
        case .logits: return logits
        }
    }
}

/// Labelled target samples the recipe grants (few-shot fine-tuning, or the target-only oracle).
public struct LabelledTargetBatch {
    public let outputs: DomainOutputs
    public let labels: [Int]
    /// Rows of the target pool.
    public let indices: [Int]

    public init(outputs: DomainOutputs, labels: [Int], indices: [Int]) {
        precondition(outputs.logits.shape[0] == labels.count, "LabelledTargetBatch: \(outputs.logits.shape[0]) rows for \(labels.count) labels")
        self.outputs = outputs
        self.labels = labels
        self.indices = indices
    }
}

/// What a strategy sees at one training step: source and target outputs at every layer, the
/// source labels, which target rows were drawn, any granted target labels, the progress p ∈ [0, 1]
/// and the λ(p) of this strategy's schedule.
public struct StrategyBatch {
    public let source: DomainOutputs
    public let target: DomainOutputs
    public let sourceLabels: [Int]
    /// Rows of the target pool (`dataset.target`) in this batch, in order.
    public let targetIndices: [Int]
    /// Granted target labels, when the recipe or the strategy asks for them; nil otherwise.
    public let labelledTarget: LabelledTargetBatch?
    /// Training progress p ∈ [0, 1): steps done / total steps.
    public let progress: Float
    /// λ(p) of this strategy's weight schedule (see `AdaptationStrategy.lambdaPlacement`).
    public var lambda: Float
    /// Global step index (0-based).
    public let step: Int

    public init(
        source: DomainOutputs, target: DomainOutputs, sourceLabels: [Int], targetIndices: [Int],
        labelledTarget: LabelledTargetBatch? = nil, progress: Float, lambda: Float = 1, step: Int = 0
    ) {
        precondition(
            source.logits.shape[0] == sourceLabels.count,
            "StrategyBatch: \(source.logits.shape[0]) source rows for \(sourceLabels.count) labels")
        precondition(
            target.logits.shape[0] == targetIndices.count,
            "StrategyBatch: \(target.logits.shape[0]) target rows for \(targetIndices.count) indices")
        self.source = source
        self.target = target
        self.sourceLabels = sourceLabels
        self.targetIndices = targetIndices
        self.labelledTarget = labelledTarget
        self.progress = progress
        self.lambda = lambda
        self.step = step
    }

    /// A batch from features and logits only (no bottleneck): for tests and simple callers.
    public init(
        sourceFeatures: Variable, targetFeatures: Variable, sourceLogits: Variable, targetLogits: Variable,
        sourceLabels: [Int], targetIndices: [Int]? = nil, progress: Float = 0, lambda: Float = 1
    ) {
        self.init(
            source: DomainOutputs(extractor: sourceFeatures, features: sourceFeatures, logits: sourceLogits),
            target: DomainOutputs(extractor: targetFeatures, features: targetFeatures, logits: targetLogits),
            sourceLabels: sourceLabels, targetIndices: targetIndices ?? Array(0..<targetLogits.shape[0]),
            progress: progress, lambda: lambda)
    }

    public var sourceFeatures: Variable { source.features }
    public var targetFeatures: Variable { target.features }
    public var sourceLogits: Variable { source.logits }
    public var targetLogits: Variable { target.logits }

    /// Source and target representations at `layer`.
    public func representation(_ layer: FeatureLayer) -> (source: Variable, target: Variable) {
        (source[layer], target[layer])
    }
}
