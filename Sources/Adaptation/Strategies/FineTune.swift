import Foundation
import NN
import TensorCore

/// Fine-tuning pretrained weights (Yosinski et al., NIPS 2014, "How transferable are features in
/// deep neural networks?"; Donahue et al., ICML 2014, DeCAF, for frozen feature extraction).
///
/// The starting weights are the recipe's `pretrained: {weights: …}`, loaded by the runner before
/// any strategy is built (the one place weights are loaded). Before training, this strategy
/// freezes every parameter under `freeze` (`[features]` = feature extraction: only the head
/// trains); the classifier trains at `headMultiplier` × the base learning rate (default 10, the
/// usual choice for a new head); a recipe's own `learningRateMultipliers` override it.
///
/// Equation as implemented, by `data` (the trainer computes both cross-entropies; this strategy
/// adds no term of its own):
/// - `target` (default): L = CE(granted target logits, granted target labels). The source
///   cross-entropy is dropped; training uses only the target labels the recipe grants
///   (`targetLabels: perClass k | fraction f | all`) and throws if it grants none.
/// - `both`: L = CE(source) + CE(granted target).
/// - `source`: L = CE(source) (fine-tuning a pretrained network on the source, then evaluating on
///   the target).
public final class FineTuneStrategy: AdaptationStrategy {
    public enum DataSource: String, CaseIterable { case target, both, source }

    /// The options with their defaults: the one place the defaults are written.
    public static let optionSpecs: [StrategyOptionSpec] = [
        StrategyOptionSpec("freeze", default: .list([]), "path prefixes frozen ([features] = feature extraction)", domain: .strings(count: 0...64)),
        StrategyOptionSpec("data", default: .string("target"), "target (granted target labels only) | both | source",
            domain: .choice(DataSource.allCases.map(\.rawValue))),
        StrategyOptionSpec("headMultiplier", default: .number(10), "learning-rate multiplier of classifier.*", domain: .number(.closed(0, 1e6))),
    ]

    public let name = "fineTune"
    public let freezePrefixes: [String]
    public let data: DataSource
    public let headMultiplier: Float

    public init(
        freezePrefixes: [String] = [], data: DataSource = DataSource(rawValue: optionSpecs.defaultString("data"))!,
        headMultiplier: Float = Float(optionSpecs.defaultNumber("headMultiplier"))
    ) {
        self.freezePrefixes = freezePrefixes
        self.data = data
        self.headMultiplier = headMultiplier
    }

    public var usesSourceLabels: Bool { data != .target }
    public var targetLabelNeed: TargetLabelNeed { data == .source ? .none : .granted }
    public var learningRateMultipliers: [String: Float] { headMultiplier == 1 ? [:] : ["classifier": headMultiplier] }

    public func prepare(_ setup: TrainingSetup) throws {
        for prefix in freezePrefixes where setup.model.freeze(prefixes: [prefix]).isEmpty {
            throw StrategyError.invalidValue(
                strategy: name, key: "freeze", message: "prefix '\(prefix)' matches no parameter (paths start with features, bottleneck, classifier)")
        }
    }

    /// No term of its own: the trainer's granted target cross-entropy is the fine-tuning loss.
    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss { .zero }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "fineTune",
            summary: "From the recipe's pretrained weights: freeze chosen layers, train (head ×10 lr) on granted target labels (or source).",
            paper: "Yosinski et al., NIPS 2014; Donahue et al., ICML 2014 (DeCAF feature extraction)",
            options: optionSpecs, targetLabels: .granted
        ) { options, _ in
            let data = try options.choice("data", default: optionSpecs.defaultString("data"), allowed: DataSource.allCases.map(\.rawValue))
            let head = try options.float("headMultiplier", default: Float(optionSpecs.defaultNumber("headMultiplier")))
            guard head >= 0 else { throw StrategyError.invalidValue(strategy: "fineTune", key: "headMultiplier", message: "must be ≥ 0, got \(head)") }
            return FineTuneStrategy(
                freezePrefixes: try options.strings("freeze", default: []), data: DataSource(rawValue: data)!, headMultiplier: head)
        }
    }
}
