import Foundation
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
