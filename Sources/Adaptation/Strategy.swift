import Foundation
import HDF5Kit
import NN
import TensorCore

// MARK: - Options

/// One option value as a recipe gives it (YAML scalars and lists).
public enum OptionValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case bool(Bool)
    case list([OptionValue])

    public var description: String {
        switch self {
        case .number(let v): return v == v.rounded() && Swift.abs(v) < 1e15 ? String(Int64(v)) : String(v)
        case .string(let s): return s
        case .bool(let b): return String(b)
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// The kind of value, for error messages.
    public var kind: String {
        switch self {
        case .number: return "a number"
        case .string: return "a string"
        case .bool: return "a boolean"
        case .list: return "a list"
        }
    }
}

/// An interval of finite numbers with open or closed ends, for recipe values and options.
public struct NumberRange: Sendable, Equatable, CustomStringConvertible {
    public var lower: Double
    public var upper: Double
    public var lowerInclusive: Bool
    public var upperInclusive: Bool

    public init(_ lower: Double, _ upper: Double, lowerInclusive: Bool = true, upperInclusive: Bool = true) {
        self.lower = lower
        self.upper = upper
        self.lowerInclusive = lowerInclusive
        self.upperInclusive = upperInclusive
    }

    /// [a, b]
    public static func closed(_ a: Double, _ b: Double) -> NumberRange { NumberRange(a, b) }
    /// [a, b)
    public static func halfOpen(_ a: Double, _ b: Double) -> NumberRange { NumberRange(a, b, upperInclusive: false) }
    /// (a, b]
    public static func aboveUpTo(_ a: Double, _ b: Double) -> NumberRange { NumberRange(a, b, lowerInclusive: false) }
    /// (a, b)
    public static func open(_ a: Double, _ b: Double) -> NumberRange { NumberRange(a, b, lowerInclusive: false, upperInclusive: false) }

    /// Whether `v` is finite and inside, also after rounding to Float (0.999999999 is 1 as a Float).
    public func contains(_ v: Double) -> Bool {
        func inside(_ x: Double) -> Bool {
            x.isFinite && (lowerInclusive ? x >= lower : x > lower) && (upperInclusive ? x <= upper : x < upper)
        }
        return inside(v) && inside(Double(Float(v)))
    }

    /// `[0, 1)`, `(0, 1e+06]`.
    public var description: String {
        func number(_ x: Double) -> String { OptionValue.number(x).description }
        return (lowerInclusive ? "[" : "(") + number(lower) + ", " + number(upper) + (upperInclusive ? "]" : ")")
    }
}

/// The values an option accepts. A list option also takes a lone scalar as a one-item list.
public enum OptionDomain: Sendable, Equatable, CustomStringConvertible {
    case number(NumberRange)
    case integer(ClosedRange<Int>)
    case choice([String])
    /// Any string (a path, a prefix).
    case string
    case bool
    case numbers(NumberRange, count: ClosedRange<Int>)
    case choices([String], count: ClosedRange<Int>)
    case strings(count: ClosedRange<Int>)
    /// Widths of dense hidden layers that read one of the model's representations (a domain
    /// discriminator): each in `width`; recipe validation adds their parameters to the model's.
    case layerWidths(width: ClosedRange<Int>, count: ClosedRange<Int>)

    public var description: String {
        func ints(_ r: ClosedRange<Int>) -> String { "[\(r.lowerBound), \(r.upperBound)]" }
        func count(_ r: ClosedRange<Int>) -> String {
            r.lowerBound == r.upperBound ? "\(r.lowerBound)" : r.upperBound == Int.max ? "at least \(r.lowerBound)" : "\(r.lowerBound) to \(r.upperBound)"
        }
        switch self {
        case .number(let r): return "a number in \(r)"
        case .integer(let r): return "an integer in \(ints(r))"
        case .choice(let names): return "one of \(names.joined(separator: ", "))"
        case .string: return "a string"
        case .bool: return "true or false"
        case .numbers(let r, let c): return "a list of \(count(c)) numbers in \(r)"
        case .choices(let names, let c): return "a list of \(count(c)) of \(names.joined(separator: ", "))"
        case .strings(let c): return "a list of \(count(c)) strings"
        case .layerWidths(let w, let c): return "a list of \(count(c)) layer widths in \(ints(w))"
        }
    }

    /// Whether `value` (or each item of a list) has the kind the domain holds: numbers, strings or
    /// booleans. A value of the wrong kind is a type error rather than a value out of range.
    public func hasKind(of value: OptionValue) -> Bool {
        let items: [OptionValue]
        if case .list(let list) = value { items = list } else { items = [value] }
        return items.allSatisfy { item in
            switch (self, item) {
            case (.number, .number), (.integer, .number), (.numbers, .number), (.layerWidths, .number): return true
            case (.choice, .string), (.string, .string), (.choices, .string), (.strings, .string): return true
            case (.bool, .bool): return true
            default: return false
            }
        }
    }

    /// Why `value` is outside the domain (`must be a number in [0, 1], got 2`), or nil when it is inside.
    public func problem(with value: OptionValue) -> String? {
        func fail() -> String { "must be \(self), got \(value.kind) (\(value))" }
        func items() -> [OptionValue] {
            if case .list(let list) = value { return list }
            return [value]
        }
        func isInteger(_ v: Double, in r: ClosedRange<Int>) -> Bool {
            v.isFinite && v == v.rounded() && v >= Double(r.lowerBound) && v <= Double(r.upperBound)
        }
        switch self {
        case .number(let r):
            guard case .number(let v) = value, r.contains(v) else { return fail() }
        case .integer(let r):
            guard case .number(let v) = value, isInteger(v, in: r) else { return fail() }
        case .choice(let names):
            guard case .string(let s) = value else { return fail() }
            guard names.contains(s) else { return fail() + (closestName(to: s, among: names).map { " (did you mean '\($0)'?)" } ?? "") }
        case .string:
            guard case .string = value else { return fail() }
        case .bool:
            guard case .bool = value else { return fail() }
        case .numbers(let r, let c):
            let list = items()
            guard c.contains(list.count), list.allSatisfy({ if case .number(let v) = $0 { return r.contains(v) } else { return false } }) else { return fail() }
        case .choices(let names, let c):
            let list = items()
            guard c.contains(list.count), list.allSatisfy({ if case .string(let s) = $0 { return names.contains(s) } else { return false } }) else { return fail() }
        case .strings(let c):
            let list = items()
            guard c.contains(list.count), list.allSatisfy({ if case .string = $0 { return true } else { return false } }) else { return fail() }
        case .layerWidths(let w, let c):
            let list = items()
            guard c.contains(list.count), list.allSatisfy({ if case .number(let v) = $0 { return isInteger(v, in: w) } else { return false } }) else { return fail() }
        }
        return nil
    }
}

/// Errors raised while building or running a strategy from a recipe.
public enum StrategyError: Error, CustomStringConvertible, Equatable {
    /// An option has the wrong type (`expected` says what was wanted).
    case wrongType(strategy: String, key: String, expected: String, got: String)
    /// An option key the strategy does not document; `suggestion` is the closest valid name.
    case unknownOption(strategy: String, key: String, suggestion: String?)
    /// No strategy of that name is registered.
    case unknownStrategy(name: String, suggestion: String?)
    /// An option has a value outside its domain.
    case invalidValue(strategy: String, key: String, message: String)
    /// The strategy needs target labels that the dataset or recipe does not provide.
    case missingTargetLabels(strategy: String, message: String)
    /// A required option was not given.
    case missingOption(strategy: String, key: String)

    public var description: String {
        switch self {
        case .wrongType(let s, let key, let expected, let got):
            return "strategy \(s): option '\(key)' must be \(expected), got \(got)"
        case .unknownOption(let s, let key, let suggestion):
            return "strategy \(s): unknown option '\(key)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
        case .unknownStrategy(let name, let suggestion):
            return "unknown strategy '\(name)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
        case .invalidValue(let s, let key, let message):
            return "strategy \(s): option '\(key)' \(message)"
        case .missingTargetLabels(let s, let message):
            return "strategy \(s): \(message)"
        case .missingOption(let s, let key):
            return "strategy \(s): option '\(key)' is required"
        }
    }
}

/// Typed access to the key/values a recipe gives a strategy.
///
/// Each accessor returns the default when the key is absent and throws
/// `StrategyError.wrongType` when it is present with the wrong type — never silently coerces a
/// string to a number. `unknownKeys(validKeys:)` reports keys that no accessor knows, with the
/// closest valid name.
public struct StrategyOptions: Sendable, Equatable {
    public var values: [String: OptionValue]
    /// The strategy these options belong to (for error messages).
    public var owner: String

    public init(_ values: [String: OptionValue] = [:], owner: String = "strategy") {
        self.values = values
        self.owner = owner
    }

    public var keys: [String] { values.keys.sorted() }
    public func contains(_ key: String) -> Bool { values[key] != nil }

    private func wrong(_ key: String, _ expected: String, _ value: OptionValue) -> StrategyError {
        .wrongType(strategy: owner, key: key, expected: expected, got: "\(value.kind) (\(value))")
    }

    public func double(_ key: String, default fallback: Double) throws -> Double {
        guard let value = values[key] else { return fallback }
        guard case .number(let v) = value else { throw wrong(key, "a number", value) }
        return v
    }

    public func float(_ key: String, default fallback: Float) throws -> Float {
        Float(try double(key, default: Double(fallback)))
    }

    public func int(_ key: String, default fallback: Int) throws -> Int {
        guard let value = values[key] else { return fallback }
        guard case .number(let v) = value, v == v.rounded(), Swift.abs(v) < 1e15 else { throw wrong(key, "an integer", value) }
        return Int(v)
    }

    public func string(_ key: String, default fallback: String) throws -> String {
        guard let value = values[key] else { return fallback }
        guard case .string(let s) = value else { throw wrong(key, "a string", value) }
        return s
    }

    /// A string that must be one of `allowed`.
    public func choice(_ key: String, default fallback: String, allowed: [String]) throws -> String {
        let s = try string(key, default: fallback)
        guard allowed.contains(s) else {
            throw StrategyError.invalidValue(
                strategy: owner, key: key,
                message: "must be one of \(allowed.joined(separator: ", ")), got '\(s)'"
                    + (closestName(to: s, among: allowed).map { " (did you mean '\($0)'?)" } ?? ""))
        }
        return s
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = values[key] else { return fallback }
        guard case .bool(let b) = value else { throw wrong(key, "a boolean", value) }
        return b
    }

    /// A list of numbers; a single number is accepted as a one-element list.
    public func doubles(_ key: String, default fallback: [Double]) throws -> [Double] {
        guard let value = values[key] else { return fallback }
        switch value {
        case .number(let v): return [v]
        case .list(let items):
            return try items.map { item in
                guard case .number(let v) = item else { throw wrong(key, "a list of numbers", value) }
                return v
            }
        default: throw wrong(key, "a list of numbers", value)
        }
    }

    /// A list of integers; a single integer is accepted as a one-element list.
    public func ints(_ key: String, default fallback: [Int]) throws -> [Int] {
        guard values[key] != nil else { return fallback }
        let numbers = try doubles(key, default: [])
        guard numbers.allSatisfy({ $0 == $0.rounded() && Swift.abs($0) < 1e15 }) else {
            throw wrong(key, "a list of integers", values[key]!)
        }
        return numbers.map { Int($0) }
    }

    /// A list of strings; a single string is accepted as a one-element list.
    public func strings(_ key: String, default fallback: [String]) throws -> [String] {
        guard let value = values[key] else { return fallback }
        switch value {
        case .string(let s): return [s]
        case .list(let items):
            return try items.map { item in
                guard case .string(let s) = item else { throw wrong(key, "a list of strings", value) }
                return s
            }
        default: throw wrong(key, "a list of strings", value)
        }
    }

    /// Throws `StrategyError.unknownOption` for the first key (in sorted order) not in `validKeys`.
    public func checkKnown(_ validKeys: [String]) throws {
        for key in keys where !validKeys.contains(key) {
            throw StrategyError.unknownOption(strategy: owner, key: key, suggestion: closestName(to: key, among: validKeys))
        }
    }
}

/// The candidate nearest to `name` by edit distance (case-insensitive), if it is close enough
/// (at most a third of the name's length, at least 2 edits allowed).
public func closestName(to name: String, among candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
    let lowered = Array(name.lowercased())
    var best: (name: String, distance: Int)? = nil
    for candidate in candidates.sorted() {
        let d = distance(lowered, Array(candidate.lowercased()))
        if best == nil || d < best!.distance { best = (candidate, d) }
    }
    guard let best, best.distance <= Swift.max(2, name.count / 3) else { return nil }
    return best.name
}

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
    /// Every target label (the target-only oracle); the trainer grants them all.
    case all
    /// The labels the recipe grants (`TrainerConfiguration.targetLabels`), at least one.
    case granted
}

/// What a strategy may inspect once before training (load weights, check labels).
public struct TrainingSetup {
    public let model: AdaptationModel
    public let dataset: DomainDataset
    /// Target rows whose labels are granted for training.
    public let grantedTargetIndices: [Int]

    public init(model: AdaptationModel, dataset: DomainDataset, grantedTargetIndices: [Int]) {
        self.model = model
        self.dataset = dataset
        self.grantedTargetIndices = grantedTargetIndices
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
    /// The unlabelled target pool; `targetPool.y`, when present, is for evaluation diagnostics only.
    public let targetPool: DomainSplit

    public init(epoch: Int, epochs: Int, progress: Float, model: AdaptationModel, targetPool: DomainSplit) {
        self.epoch = epoch
        self.epochs = epochs
        self.progress = progress
        self.model = model
        self.targetPool = targetPool
    }
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
/// L = CE(source) + Σ_i weight_i · λ_i(p) · strategy_i.loss(batch).
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
    var targetLabelNeed: TargetLabelNeed { get }
    /// Learning-rate multipliers by parameter-path prefix that this strategy asks for (fine-tuning's
    /// head × 10); the recipe's own multipliers take precedence.
    var learningRateMultipliers: [String: Float] { get }

    /// Called once before training: check requirements, load weights, freeze layers.
    func prepare(_ setup: TrainingSetup) throws
    /// The strategy's loss on one batch.
    func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss
    /// An optional update of the strategy's own modules, taken before the joint step.
    func innerStep(_ batch: StrategyBatch, context: ForwardContext) -> InnerStep?
    /// Called at the start of every epoch; returns diagnostics (empty when nothing happened).
    func epochBoundary(_ boundary: EpochBoundary) throws -> [String: Double]
}

extension AdaptationStrategy {
    public var parameters: [NamedParameter] { [] }
    public var jointParameters: [NamedParameter] { parameters }
    public var lambdaPlacement: LambdaPlacement { .lossMultiplier }
    public var usesSourceLabels: Bool { true }
    public var targetLabelNeed: TargetLabelNeed { .none }
    public var learningRateMultipliers: [String: Float] { [:] }
    public func prepare(_ setup: TrainingSetup) throws {}
    public func innerStep(_ batch: StrategyBatch, context: ForwardContext) -> InnerStep? { nil }
    public func epochBoundary(_ boundary: EpochBoundary) throws -> [String: Double] { [:] }
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
