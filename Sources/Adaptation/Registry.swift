import Foundation
import NN
import TensorCore

/// One documented option of a strategy.
public struct StrategyOptionSpec: Sendable {
    public let name: String
    /// The default as a recipe would write it; nil when the option is required.
    public let defaultValue: OptionValue?
    /// Free text: what it does and its allowed values.
    public let summary: String
    /// The values a recipe may give, checked when the recipe is validated and again by
    /// `StrategyRegistry.make`; nil: any value of the default's kind.
    public let domain: OptionDomain?

    public init(_ name: String, default defaultValue: OptionValue?, _ summary: String, domain: OptionDomain? = nil) {
        self.name = name
        self.defaultValue = defaultValue
        self.summary = summary
        self.domain = domain
    }
}

/// A registered strategy: a name that recipes use, its documentation and a factory.
public struct StrategyEntry {
    public typealias Factory = (StrategyOptions, StrategyContext) throws -> any AdaptationStrategy

    public let name: String
    public let summary: String
    /// Citation (authors, venue, year).
    public let paper: String
    public let options: [StrategyOptionSpec]
    /// The most target labels the strategy trains on: `.none` (unsupervised), `.granted` (the labels
    /// the recipe grants) or `.all` (the target-only oracle: every label, granted by the trainer).
    public let targetLabels: TargetLabelNeed
    /// The weight the term gets when the recipe does not give one.
    public let defaultWeight: Float
    /// The λ(p) schedule the term gets when the recipe does not give one.
    public let defaultSchedule: WeightSchedule
    public let factory: Factory

    public init(
        name: String, summary: String, paper: String, options: [StrategyOptionSpec] = [], targetLabels: TargetLabelNeed = .none,
        defaultWeight: Float = 1,
        defaultSchedule: WeightSchedule = .constant, factory: @escaping Factory
    ) {
        self.name = name
        self.summary = summary
        self.paper = paper
        self.options = options
        self.targetLabels = targetLabels
        self.defaultWeight = defaultWeight
        self.defaultSchedule = defaultSchedule
        self.factory = factory
    }
}

/// Strategies by name. A value, not a global: callers start from `builtIn` and register their own.
///
/// ```swift
/// var registry = StrategyRegistry.builtIn
/// registry.register(StrategyEntry(name: "myLoss", summary: "…", paper: "…") { options, context in
///     try MyLoss(options: options, context: context)
/// })
/// ```
public struct StrategyRegistry {
    public private(set) var entries: [String: StrategyEntry] = [:]

    public init() {}

    /// Adds (or replaces) an entry.
    public mutating func register(_ entry: StrategyEntry) {
        precondition(!entry.name.isEmpty, "StrategyRegistry.register: empty strategy name")
        entries[entry.name] = entry
    }

    /// Registered names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// The entry for `name`, or `StrategyError.unknownStrategy` with the closest name.
    public func entry(named name: String) throws -> StrategyEntry {
        guard let entry = entries[name] else {
            throw StrategyError.unknownStrategy(name: name, suggestion: closestName(to: name, among: names))
        }
        return entry
    }

    /// Builds strategy `name` from recipe options, rejecting undocumented keys.
    public func make(_ name: String, options: StrategyOptions, context: StrategyContext) throws -> any AdaptationStrategy {
        let entry = try entry(named: name)
        var owned = options
        owned.owner = name
        try owned.checkKnown(entry.options.map(\.name))
        for spec in entry.options {
            guard let value = owned.values[spec.name], let domain = spec.domain, let problem = domain.problem(with: value) else { continue }
            guard domain.hasKind(of: value) else {
                throw StrategyError.wrongType(strategy: name, key: spec.name, expected: "\(domain)", got: "\(value.kind) (\(value))")
            }
            throw StrategyError.invalidValue(strategy: name, key: spec.name, message: problem)
        }
        return try entry.factory(owned, context)
    }

    /// Builds a term with the entry's default weight and schedule unless given.
    public func makeTerm(
        _ name: String, options: StrategyOptions = StrategyOptions(), weight: Float? = nil, schedule: WeightSchedule? = nil,
        context: StrategyContext, label: String? = nil
    ) throws -> StrategyTerm {
        let entry = try entry(named: name)
        if let weight, !(weight.isFinite && weight >= 0) {
            throw StrategyError.invalidValue(strategy: name, key: "weight", message: "must be finite and ≥ 0, got \(weight)")
        }
        let strategy = try make(name, options: options, context: context)
        return StrategyTerm(strategy, weight: weight ?? entry.defaultWeight, schedule: schedule ?? entry.defaultSchedule, label: label)
    }

    /// Every strategy DAKit ships.
    public static var builtIn: StrategyRegistry {
        var registry = StrategyRegistry()
        for entry in builtInEntries { registry.register(entry) }
        return registry
    }
}

extension StrategyRegistry {
    /// Human-readable documentation of `names` (default: all): summary, paper, default weight and
    /// λ(p), and every option with its default — what `dakit strategies` prints. `brief`: one line each.
    public func documentation(names: [String]? = nil, brief: Bool = false) -> String {
        var lines: [String] = []
        for name in names ?? self.names {
            guard let entry = entries[name] else { continue }
            if brief {
                lines.append("\(entry.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(entry.summary)")
                continue
            }
            lines.append(entry.name)
            lines.append("  \(entry.summary)")
            lines.append("  paper:    \(entry.paper)")
            lines.append("  weight:   \(entry.defaultWeight)   λ(p): \(Self.describe(entry.defaultSchedule))")
            switch entry.targetLabels {
            case .none: break
            case .granted: lines.append("  target labels: the recipe's grant (granted target batches; the trainer adds their cross-entropy)")
            case .all: lines.append("  target labels: all, granted by the trainer as granted target batches (an oracle)")
            }
            if entry.options.isEmpty {
                lines.append("  options:  none")
            } else {
                lines.append("  options:")
                let width = entry.options.map(\.name.count).max() ?? 0
                for option in entry.options {
                    let value = option.defaultValue.map { "\($0)" } ?? "(derived)"
                    let domain = option.domain.map { " [\($0)]" } ?? ""
                    lines.append("    \(option.name.padding(toLength: width, withPad: " ", startingAt: 0))  = \(value)  — \(option.summary)\(domain)")
                }
            }
            lines.append("")
        }
        return lines.joined(separator: "\n") + (brief ? "\n" : "")
    }

    /// λ(p) as a formula.
    public static func describe(_ schedule: WeightSchedule) -> String {
        switch schedule {
        case .constant: return "constant 1"
        case .dannRamp(let gamma): return "2/(1+exp(−\(gamma)·p)) − 1"
        case .linearRamp(let fraction): return "min(1, p/\(fraction))"
        }
    }
}

/// The entries of `StrategyRegistry.builtIn`, one per file under `Strategies/`.
var builtInEntries: [StrategyEntry] {
    [
        SourceOnlyStrategy.entry, TargetOnlyStrategy.entry, FineTuneStrategy.entry, DANNStrategy.entry,
        DomainConfusionStrategy.entry, MMDStrategy.mmdEntry, MMDStrategy.ddcEntry, MMDStrategy.danEntry,
        SelfTrainingStrategy.entry, CORALStrategy.entry, EntropyMinimizationStrategy.entry, CDANStrategy.entry,
        MCCStrategy.entry,
        InformationMaximizationStrategy.entry, SHOTStrategy.entry,
        JANStrategy.entry, ClusterMatchStrategy.entry,
    ]
}

extension Array where Element == StrategyOptionSpec {
    /// The default of option `name` as the spec writes it: the one place a strategy's defaults are
    /// written, read by its init's default arguments and its factory alike.
    public func defaultValue(_ name: String) -> OptionValue {
        guard let spec = first(where: { $0.name == name }), let value = spec.defaultValue else {
            preconditionFailure("option spec: no default for '\(name)'")
        }
        return value
    }

    /// The numeric default of option `name`.
    public func defaultNumber(_ name: String) -> Double {
        guard case .number(let v) = defaultValue(name) else { preconditionFailure("option spec: '\(name)' is not a number") }
        return v
    }

    /// The string default of option `name`.
    public func defaultString(_ name: String) -> String {
        guard case .string(let s) = defaultValue(name) else { preconditionFailure("option spec: '\(name)' is not a string") }
        return s
    }
}
