import Adaptation
import Foundation
import NN

extension OptionValue {
    /// Whether two values have the same kind; a one-element list stands for a scalar of its kind.
    static func sameKind(_ expected: OptionValue, _ value: OptionValue) -> Bool {
        switch (expected, value) {
        case (.number, .number), (.string, .string), (.bool, .bool), (.list, .list): return true
        case (.list(let items), let scalar): return items.first.map { sameKind($0, scalar) } ?? true
        default: return false
        }
    }
}

// MARK: - Reading one mapping with locations

/// A mapping of the recipe being read: typed accessors that throw `RecipeError`s at the value's line.
struct Section {
    let pairs: [(key: String, keyLocation: RecipeLocation, value: RecipeTree)]
    let location: RecipeLocation
    /// `data`, `optimizer`, … for messages.
    let path: String

    init(_ tree: RecipeTree, path: String) throws {
        guard case .mapping(let pairs, let location) = tree else {
            throw RecipeError(tree.location, "\(path) must be a mapping of keys to values, got \(tree.kindDescription)")
        }
        self.pairs = pairs
        self.location = location
        self.path = path
    }

    var keys: [String] { pairs.map(\.key) }
    /// Whether `key` has a value; `key: null` counts as absent, as everywhere in a recipe.
    func has(_ key: String) -> Bool { value(key) != nil }
    func value(_ key: String) -> RecipeTree? {
        pairs.first { $0.key == key }.flatMap { pair in
            if case .scalar(_, .null, _) = pair.value { return nil }
            return pair.value
        }
    }
    func location(of key: String) -> RecipeLocation { pairs.first { $0.key == key }?.value.location ?? location }
    func elementLocation(_ key: String, _ index: Int) -> RecipeLocation {
        if case .sequence(let items, _)? = value(key), items.indices.contains(index) { return items[index].location }
        return location(of: key)
    }
    private func name(_ key: String) -> String { path == "top level" ? key : "\(path).\(key)" }

    func checkKeys(_ allowed: [String], context: String? = nil) throws {
        for pair in pairs where !allowed.contains(pair.key) {
            throw RecipeError(pair.keyLocation, "unknown key '\(pair.key)' in \(context ?? path) (allowed: \(allowed.joined(separator: ", ")))",
                suggestion: closestName(to: pair.key, among: allowed))
        }
    }

    func section(_ key: String, required: Bool = false) throws -> Section? {
        guard let v = value(key) else {
            if required { throw RecipeError(location, "missing required section '\(name(key))'") }
            return nil
        }
        return try Section(v, path: name(key))
    }

    func list(_ key: String) throws -> [RecipeTree]? {
        guard let v = value(key) else { return nil }
        guard case .sequence(let items, _) = v else {
            throw RecipeError(v.location, "\(name(key)) must be a list, got \(v.kindDescription)")
        }
        return items
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s, .string, _) = v else { throw RecipeError(v.location, "\(name(key)) must be a string, got \(v.kindDescription)") }
        return s
    }

    /// A string with at least one non-space character.
    func nonBlankString(_ key: String) throws -> String? {
        guard let s = try string(key) else { return nil }
        guard !s.allSatisfy(\.isWhitespace) else { throw RecipeError(location(of: key), "\(name(key)) must not be empty") }
        guard !s.contains("\0") else { throw RecipeError(location(of: key), "\(name(key)) must not contain a NUL character") }
        return s
    }

    /// `max_source_samples` / `max_target_samples`: 0 (all) or at least 2 (a batch needs two rows).
    func sampleCap(_ key: String) throws -> Int {
        let n = try int(key, 0...RecipeLimits.maxSamples) ?? 0
        guard n != 1 else { throw RecipeError(location(of: key), "\(name(key)) must be 0 (all) or at least 2, got 1") }
        return n
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .scalar(let s, .bool, _) = v else { throw RecipeError(v.location, "\(name(key)) must be true or false, got \(v.kindDescription)") }
        return ["true", "yes", "on"].contains(s.lowercased())
    }

    /// The finite number a scalar holds. `.nan`, `.inf`, `1e400` are refused as not finite; `1_0`,
    /// `0x1A`, `1:30` (YAML 1.1 notations) as not decimal, so that every number means what it reads.
    static func number(_ t: RecipeTree, what: String) throws -> Double {
        guard case .scalar(let s, let kind, _) = t, kind == .int || kind == .float else {
            throw RecipeError(t.location, "\(what) must be a number, got \(t.kindDescription)")
        }
        let lowered = s.lowercased()
        let decimal = Set("0123456789+-.e")
        guard !lowered.contains("inf") && !lowered.contains("nan") else {
            throw RecipeError(t.location, "\(what) must be a finite number, got \(s)")
        }
        guard lowered.allSatisfy({ decimal.contains($0) }), let d = Double(lowered) else {
            throw RecipeError(t.location, "\(what) must be a number in decimal notation, got \(s)")
        }
        guard d.isFinite else { throw RecipeError(t.location, "\(what) must be a finite number, got \(s)") }
        return d
    }

    /// An integer in `range`; an integral number in decimal notation (`1e3`) counts.
    static func integer(_ t: RecipeTree, what: String, _ range: ClosedRange<Int>) throws -> Int {
        let bounds = range.upperBound == Int.max ? "≥ \(range.lowerBound)" : "in [\(range.lowerBound), \(range.upperBound)]"
        guard case .scalar(let s, let kind, _) = t, kind == .int || kind == .float else {
            throw RecipeError(t.location, "\(what) must be an integer, got \(t.kindDescription)")
        }
        if kind == .int, let i = Int(s) {
            guard range.contains(i) else { throw RecipeError(t.location, "\(what) must be an integer \(bounds), got \(s)") }
            return i
        }
        let d = try number(t, what: what)
        guard d == d.rounded(.towardZero), let i = Int(exactly: d), range.contains(i) else {
            throw RecipeError(t.location, "\(what) must be an integer \(bounds), got \(s)")
        }
        return i
    }

    /// A number in `range` (checked also after rounding to Float).
    static func number(_ t: RecipeTree, what: String, _ range: NumberRange) throws -> Double {
        let d = try number(t, what: what)
        guard range.contains(d) else {
            guard case .scalar(let s, _, _) = t else { throw RecipeError(t.location, "\(what) must be a number in \(range)") }
            throw RecipeError(t.location, "\(what) must be a number in \(range), got \(s)")
        }
        return d
    }

    func double(_ key: String, _ range: NumberRange) throws -> Double? {
        guard let v = value(key) else { return nil }
        return try Section.number(v, what: name(key), range)
    }

    func float(_ key: String, _ range: NumberRange) throws -> Float? {
        try double(key, range).map { Float($0) }
    }

    func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
        guard let v = value(key) else { return nil }
        return try Section.integer(v, what: name(key), range)
    }

    func int(_ key: String, min: Int = Int.min) throws -> Int? { try int(key, min...Int.max) }

    /// A list of `count` integers in `range`; a single integer is a one-element list.
    func ints(_ key: String, _ range: ClosedRange<Int>, count: ClosedRange<Int> = 0...Int.max) throws -> [Int]? {
        guard let items = listItems(key) else { return nil }
        guard count.contains(items.count) else { throw RecipeError(location(of: key), "\(name(key)) must list \(Section.describe(count)) integers, got \(items.count)") }
        return try items.map { item in
            guard case .scalar = item else { throw RecipeError(item.location, "\(name(key)) must be a list of integers, got \(item.kindDescription)") }
            return try Section.integer(item, what: "\(name(key)) entries", range)
        }
    }

    func ints(_ key: String, min: Int = Int.min) throws -> [Int]? { try ints(key, min...Int.max) }

    /// `3`, `1 to 64`, `at least 1`.
    static func describe(_ count: ClosedRange<Int>) -> String {
        count.lowerBound == count.upperBound ? "\(count.lowerBound)"
            : count.upperBound == Int.max ? "at least \(count.lowerBound)" : "\(count.lowerBound) to \(count.upperBound)"
    }

    /// The entries under `key`: a list's items, or a lone scalar as a one-item list; nil when absent.
    private func listItems(_ key: String) -> [RecipeTree]? {
        guard let v = value(key) else { return nil }
        if case .sequence(let list, _) = v { return list }
        return [v]
    }

    func doubles(_ key: String, _ range: NumberRange, count: ClosedRange<Int> = 0...Int.max) throws -> [Double]? {
        guard let items = listItems(key) else { return nil }
        guard count.contains(items.count) else { throw RecipeError(location(of: key), "\(name(key)) must list \(Section.describe(count)) numbers, got \(items.count)") }
        return try items.map { item in
            guard case .scalar = item else { throw RecipeError(item.location, "\(name(key)) must be a list of numbers, got \(item.kindDescription)") }
            return try Section.number(item, what: "\(name(key)) entries", range)
        }
    }

    func strings(_ key: String) throws -> [String]? {
        guard let items = listItems(key) else { return nil }
        return try items.map { item in
            guard case .scalar(let s, .string, _) = item else {
                throw RecipeError(item.location, "\(name(key)) must be a list of names, got \(item.kindDescription)")
            }
            return s
        }
    }

    /// Any scalar or list of scalars, as a strategy or generator option.
    func option(_ key: String) throws -> OptionValue? {
        guard let v = value(key) else { return nil }
        func convert(_ t: RecipeTree) throws -> OptionValue {
            switch t {
            case .scalar(let s, let kind, _):
                switch kind {
                case .int, .float: return .number(try Section.number(t, what: name(key)))
                case .bool: return .bool(["true", "yes", "on"].contains(s.lowercased()))
                case .string: return .string(s)
                case .null: throw RecipeError(t.location, "\(name(key)) must not be null")
                }
            case .sequence(let items, _): return .list(try items.map(convert))
            case .mapping: throw RecipeError(t.location, "\(name(key)) must be a value or a list, got a mapping")
            }
        }
        return try convert(v)
    }

    /// A mapping read where a bare name is allowed too: `dann` stands for `{name: dann}`.
    static func named(_ tree: RecipeTree, path: String) throws -> Section {
        if case .scalar(let name, .string, let location) = tree {
            return try Section(.mapping([("name", location, .scalar(name, .string, location))], location), path: path)
        }
        return try Section(tree, path: path)
    }

    /// The case of `Value` whose raw value `key` holds; `what` names the kind in messages (`optimizer`).
    func choice<Value: RawRepresentable & CaseIterable>(_ key: String, what: String) throws -> Value? where Value.RawValue == String {
        guard let name = try string(key) else { return nil }
        return try Section.choice(name, what: what, at: location(of: key))
    }

    /// The cases of `Value` that the list (or lone name) under `key` names, in order.
    func choices<Value: RawRepresentable & CaseIterable>(_ key: String, what: String) throws -> [Value]? where Value.RawValue == String {
        try strings(key)?.enumerated().map { i, name in try Section.choice(name, what: what, at: elementLocation(key, i)) }
    }

    private static func choice<Value: RawRepresentable & CaseIterable>(_ name: String, what: String, at location: RecipeLocation) throws -> Value
    where Value.RawValue == String {
        let known = Value.allCases.map(\.rawValue)
        guard let value = Value(rawValue: name) else {
            throw RecipeError(location, "unknown \(what) '\(name)' (known: \(known.joined(separator: ", ")))", suggestion: closestName(to: name, among: known))
        }
        return value
    }

    /// A schedule named from `table`: `schedule: cosine` or `{name: step, milestones: [0.5, 0.75], gamma: 0.1}`;
    /// `what` names the kind in messages (`learning-rate schedule`).
    func schedule<Schedule>(_ key: String, what: String, from table: [NamedSchedule<Schedule>]) throws -> Schedule? {
        guard let v = value(key) else { return nil }
        let known = table.map(\.name)
        let s = try Section.named(v, path: name(key))
        guard let kind = try s.string("name") else { throw RecipeError(v.location, "\(name(key)) needs a name (\(known.joined(separator: ", ")))") }
        guard let entry = table.first(where: { $0.name == kind }) else {
            throw RecipeError(s.location(of: "name"), "unknown \(what) '\(kind)' (known: \(known.joined(separator: ", ")))",
                suggestion: closestName(to: kind, among: known))
        }
        try s.checkKeys(["name"] + entry.keys)
        return try entry.build(s)
    }

    /// The optimizer's learning-rate schedule, a function of training progress.
    func learningRateSchedule(_ key: String) throws -> LearningRateSchedule? {
        try schedule(key, what: "learning-rate schedule", from: Section.learningRateSchedules)
    }

    /// A strategy's λ(p): `schedule: dann` or `{name: linear, ramp: 0.3}`.
    func weightSchedule(_ key: String) throws -> WeightSchedule? {
        try schedule(key, what: "λ schedule", from: Section.weightSchedules)
    }

    static let learningRateSchedules: [NamedSchedule<LearningRateSchedule>] = [
        NamedSchedule("constant") { _ in .constant },
        NamedSchedule("step", keys: ["milestones", "gamma"]) { s in
            let milestones = try s.doubles("milestones", .closed(0, 1), count: 0...RecipeLimits.maxLayers) ?? [0.5, 0.75]
            return .step(milestones: milestones.map { Float($0) }, gamma: try s.float("gamma", .closed(0, RecipeLimits.maxFactor)) ?? 0.1)
        },
        NamedSchedule("cosine", keys: ["minimum_factor"]) { s in
            .cosine(minimumFactor: try s.float("minimum_factor", .closed(0, 1)) ?? 0)
        },
        NamedSchedule("dann", keys: ["alpha", "beta"]) { s in
            .dannAnnealing(
                alpha: try s.float("alpha", .closed(0, RecipeLimits.maxFactor)) ?? 10, beta: try s.float("beta", .closed(0, RecipeLimits.maxFactor)) ?? 0.75)
        },
    ]

    static let weightSchedules: [NamedSchedule<WeightSchedule>] = [
        NamedSchedule("constant") { _ in .constant },
        NamedSchedule("dann", keys: ["gamma"]) { s in .dannRamp(gamma: try s.float("gamma", .closed(0, RecipeLimits.maxFactor)) ?? 10) },
        NamedSchedule("linear", keys: ["ramp"]) { s in .linearRamp(rampFraction: try s.float("ramp", .aboveUpTo(0, 1)) ?? 0.3) },
    ]
}

/// One schedule a recipe may name: the keys it takes besides `name`, and how it is built from them.
struct NamedSchedule<Schedule>: Sendable {
    let name: String
    let keys: [String]
    let build: @Sendable (Section) throws -> Schedule

    init(_ name: String, keys: [String] = [], build: @escaping @Sendable (Section) throws -> Schedule) {
        self.name = name
        self.keys = keys
        self.build = build
    }
}
