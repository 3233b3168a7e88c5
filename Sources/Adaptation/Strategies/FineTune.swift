import Foundation
import HDF5Kit
import NN
import TensorCore

/// Fine-tuning from loaded weights (Yosinski et al., NIPS 2014, "How transferable are features in
/// deep neural networks?"; Donahue et al., ICML 2014, DeCAF, for frozen feature extraction).
///
/// Before training, loads the parameters under `load` (default `features`, the extractor; the
/// head keeps its fresh initialisation) from the HDF5 checkpoint `checkpoint` with
/// `Checkpoint.load(only:)`, then freezes every parameter under `freeze` (`[features]` = feature
/// extraction: only the head trains). The classifier trains at `headMultiplier` × the base
/// learning rate (default 10, the usual choice for a new head); a recipe's own
/// `learningRateMultipliers` override it.
///
/// Equation as implemented, by `data`:
/// - `target` (default): L = CE(granted target logits, granted target labels). The source
///   cross-entropy is dropped; training uses only the target labels the recipe grants
///   (`targetLabels: perClass k | fraction f | all`) and throws if it grants none.
/// - `both`: L = CE(source) + CE(granted target).
/// - `source`: L = CE(source) (fine-tuning a pretrained network on the source, then evaluating on
///   the target).
/// With `checkpoint` empty nothing is loaded: the model's current weights are the starting point
/// (a caller that loaded them itself).
public final class FineTuneStrategy: AdaptationStrategy {
    public enum DataSource: String, CaseIterable { case target, both, source }

    public let name = "fineTune"
    public let checkpoint: String
    public let loadPrefixes: [String]
    public let freezePrefixes: [String]
    public let data: DataSource
    public let headMultiplier: Float

    public init(checkpoint: String = "", loadPrefixes: [String] = ["features"], freezePrefixes: [String] = [], data: DataSource = .target, headMultiplier: Float = 10) {
        self.checkpoint = checkpoint
        self.loadPrefixes = loadPrefixes
        self.freezePrefixes = freezePrefixes
        self.data = data
        self.headMultiplier = headMultiplier
    }

    public var usesSourceLabels: Bool { data != .target }
    public var targetLabelNeed: TargetLabelNeed { data == .source ? .none : .granted }
    public var learningRateMultipliers: [String: Float] { headMultiplier == 1 ? [:] : ["classifier": headMultiplier] }

    public func prepare(_ setup: TrainingSetup) throws {
        if !checkpoint.isEmpty {
            try Checkpoint.load(into: setup.model.state, from: URL(fileURLWithPath: checkpoint), only: loadPrefixes, strict: true)
        }
        for prefix in freezePrefixes where setup.model.freeze(prefixes: [prefix]).isEmpty {
            throw StrategyError.invalidValue(
                strategy: name, key: "freeze", message: "prefix '\(prefix)' matches no parameter (paths start with features, bottleneck, classifier)")
        }
    }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        guard data != .source else { return .zero }
        guard let labelled = batch.labelledTarget else {
            preconditionFailure("fineTune: data '\(data.rawValue)' needs granted target labels in every batch")
        }
        let ce = targetOnlyLoss(logits: labelled.outputs.logits, labels: labelled.labels)
        return StrategyLoss(ce, terms: ["targetCrossEntropy": ce.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "fineTune",
            summary: "Start from checkpoint weights, freeze chosen layers, train (head ×10 lr) on granted target labels (or source).",
            paper: "Yosinski et al., NIPS 2014; Donahue et al., ICML 2014 (DeCAF feature extraction)",
            options: [
                StrategyOptionSpec("checkpoint", default: .string(""), "HDF5 checkpoint to load; empty: keep the model's current weights", domain: .string),
                StrategyOptionSpec("load", default: .list([.string("features")]), "path prefixes loaded from the checkpoint", domain: .strings(count: 0...64)),
                StrategyOptionSpec("freeze", default: .list([]), "path prefixes frozen ([features] = feature extraction)", domain: .strings(count: 0...64)),
                StrategyOptionSpec("data", default: .string("target"), "target (granted target labels only) | both | source",
                    domain: .choice(DataSource.allCases.map(\.rawValue))),
                StrategyOptionSpec("headMultiplier", default: .number(10), "learning-rate multiplier of classifier.*", domain: .number(.closed(0, 1e6))),
            ]
        ) { options, _ in
            let data = try options.choice("data", default: "target", allowed: DataSource.allCases.map(\.rawValue))
            let head = try options.float("headMultiplier", default: 10)
            guard head >= 0 else { throw StrategyError.invalidValue(strategy: "fineTune", key: "headMultiplier", message: "must be ≥ 0, got \(head)") }
            return FineTuneStrategy(
                checkpoint: try options.string("checkpoint", default: ""), loadPrefixes: try options.strings("load", default: ["features"]),
                freezePrefixes: try options.strings("freeze", default: []), data: DataSource(rawValue: data)!, headMultiplier: head)
        }
    }
}
