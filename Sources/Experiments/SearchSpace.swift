import Adaptation
import Foundation
import TensorCore

/// The `search:` section of a grid file: hyper-parameter configurations that `compare` runs as
/// variants of each recipe, on every task and seed.
///
/// ```yaml
/// search:
///   strategies.0.weight: [0.1, 0.3, 1]          # a list: these values
///   optimizer.lr: {loguniform: [1e-3, 1e-1]}    # or a distribution (random search only)
///   model.hidden: {choice: [[15], [32, 32]]}    # choice: values that are themselves lists
///   trials: 20                                  # random search: this many seeded draws
///   seed: 0                                     # the draws' seed (default 0)
/// ```
///
/// Without `trials` the configurations are the grid: every combination of the lists, the last
/// key varying fastest. With `trials` each configuration draws every key independently: a list
/// uniformly, `uniform: [a, b]`, `loguniform: [a, b]` (a > 0) and `int: [a, b]` (inclusive) as
/// named, from `SeededGenerator(seed:).fork("search")`, so the same file gives the same trials.
/// Each configuration is a list of `key=value` overrides (the `--set` form). A run of a
/// configuration is labelled by its strategy and the values in which it differs from the other
/// variants of that strategy on the task (`ComparisonLabels`).
public struct SearchSpace: Sendable, Equatable {
    public enum Dimension: Sendable, Equatable {
        /// Values as `--set` text (YAML flow).
        case values([String])
        case uniform(Double, Double)
        case logUniform(Double, Double)
        case integer(Int, Int)
    }

    public var keys: [String]
    public var dimensions: [Dimension]
    /// Random search with this many draws; nil: the grid.
    public var trials: Int?
    public var seed: UInt64

    /// Most configurations a search may produce.
    public static let maxConfigurations = 10_000

    /// The override lists, one per configuration.
    public func configurations() -> [[String]] {
        guard let trials else {
            var grid: [[String]] = [[]]
            for (key, dimension) in zip(keys, dimensions) {
                guard case .values(let values) = dimension else { continue }
                grid = grid.flatMap { prefix in values.map { prefix + ["\(key)=\($0)"] } }
            }
            return grid
        }
        var rng = SeededGenerator(seed: seed).fork("search")
        return (0..<trials).map { _ in
            zip(keys, dimensions).map { key, dimension in "\(key)=\(Self.draw(dimension, &rng))" }
        }
    }

    static func draw(_ dimension: Dimension, _ rng: inout SeededGenerator) -> String {
        // 53-bit uniform in [0, 1).
        func unit() -> Double { Double(rng.next() >> 11) * (1.0 / 9_007_199_254_740_992.0) }
        func text(_ v: Double) -> String { String(format: "%.4g", v) }
        switch dimension {
        case .values(let values): return values[rng.nextInt(below: values.count)]
        case .uniform(let a, let b): return text(a + (b - a) * unit())
        case .logUniform(let a, let b): return text(Foundation.exp(Foundation.log(a) + (Foundation.log(b) - Foundation.log(a)) * unit()))
        case .integer(let a, let b): return String(a + rng.nextInt(below: b - a + 1))
        }
    }

    /// Reads the section; `file` names the grid file in messages.
    static func parse(_ tree: RecipeTree) throws -> SearchSpace {
        let section = try Section(tree, path: "search")
        var space = SearchSpace(keys: [], dimensions: [], trials: try section.int("trials", 1...maxConfigurations), seed: 0)
        if let seed = try section.int("seed", 0...Int.max) { space.seed = UInt64(seed) }
        for pair in section.pairs where pair.key != "trials" && pair.key != "seed" {
            let key = pair.key
            guard key.split(separator: ".").allSatisfy({ !$0.isEmpty }), !key.contains("=") else {
                throw RecipeError(pair.keyLocation, "search key '\(key)' must be a recipe key path such as optimizer.lr or strategies.0.weight")
            }
            space.keys.append(key)
            space.dimensions.append(try dimension(pair.value, key: key, random: space.trials != nil))
        }
        guard !space.keys.isEmpty else {
            throw RecipeError(section.location, "search needs at least one key to vary (e.g. optimizer.lr: [0.01, 0.1])")
        }
        if space.trials == nil {
            var count = 1
            for case .values(let values) in space.dimensions {
                count *= values.count
                guard count <= maxConfigurations else {
                    throw RecipeError(section.location, "the search grid has more than \(maxConfigurations) configurations; use trials: N for a random search")
                }
            }
        }
        return space
    }

    static func dimension(_ tree: RecipeTree, key: String, random: Bool) throws -> Dimension {
        let what = "search.\(key)"
        switch tree {
        case .sequence(let items, _):
            guard !items.isEmpty, items.count <= maxConfigurations else {
                throw RecipeError(tree.location, "\(what) must list 1 to \(maxConfigurations) values")
            }
            return .values(items.map(flowText))
        case .mapping(let pairs, _):
            guard pairs.count == 1, let (name, value) = pairs.first.map({ ($0.key, $0.value) }) else {
                throw RecipeError(tree.location, "\(what) must be a list of values or one of {uniform|loguniform|int|choice: …}")
            }
            if name == "choice" {
                guard case .sequence(let items, _) = value, !items.isEmpty, items.count <= maxConfigurations else {
                    throw RecipeError(value.location, "\(what).choice must list 1 to \(maxConfigurations) values")
                }
                return .values(items.map(flowText))
            }
            guard ["uniform", "loguniform", "int"].contains(name) else {
                throw RecipeError(
                    pairs[0].keyLocation, "unknown distribution '\(name)' in \(what) (allowed: uniform, loguniform, int, choice)",
                    suggestion: closestName(to: name, among: ["uniform", "loguniform", "int", "choice"]))
            }
            guard random else {
                throw RecipeError(value.location, "\(what): a \(name) distribution needs a random search (add trials: N to search)")
            }
            guard case .sequence(let bounds, _) = value, bounds.count == 2 else {
                throw RecipeError(value.location, "\(what).\(name) must be [low, high]")
            }
            if name == "int" {
                let range = -1_000_000_000...1_000_000_000
                let (a, b) = (try Section.integer(bounds[0], what: "\(what).int low", range), try Section.integer(bounds[1], what: "\(what).int high", range))
                guard a <= b else { throw RecipeError(value.location, "\(what).int needs low ≤ high, got [\(a), \(b)]") }
                return .integer(a, b)
            }
            let (a, b) = (try Section.number(bounds[0], what: "\(what).\(name) low"), try Section.number(bounds[1], what: "\(what).\(name) high"))
            guard a < b, abs(a) <= 1e12, abs(b) <= 1e12 else { throw RecipeError(value.location, "\(what).\(name) needs low < high (within ±1e12), got [\(a), \(b)]") }
            if name == "loguniform" {
                guard a > 0 else { throw RecipeError(value.location, "\(what).loguniform needs 0 < low, got \(a)") }
                return .logUniform(a, b)
            }
            return .uniform(a, b)
        case .scalar:
            throw RecipeError(tree.location, "\(what) must be a list of values or a distribution, got \(tree.kindDescription) (a single value belongs in set:)")
        }
    }

    /// A value as `--set` text: a scalar as written, anything else as JSON (valid YAML flow).
    static func flowText(_ tree: RecipeTree) -> String {
        if case .scalar(let s, _, _) = tree { return s }
        return tree.json.canonicalString
    }
}

/// Labels of the variants of one strategy on one task: the strategy followed by the recipe values
/// in which the variants differ, e.g. `dann (optimizer.lr=0.01, strategies.0.weight=0.3)`.
enum ComparisonLabels {
    /// Keys that name or place a run rather than configure it.
    static let ignored: Set<String> = ["name", "description", "output", "seeds", "task"]

    /// One label per resolved recipe, in order; `strategy` alone when there is one variant.
    static func labels(strategy: String, resolved: [JSONValue]) -> [String] {
        guard resolved.count > 1 else { return resolved.map { _ in strategy } }
        let flat = resolved.map(flatten)
        let keys = Set(flat.flatMap(\.keys)).sorted()
        let differing = keys.filter { key in Set(flat.map { $0[key] ?? "—" }).count > 1 }
        return flat.map { values in
            "\(strategy) (" + differing.map { "\($0)=\(values[$0] ?? "—")" }.joined(separator: ", ") + ")"
        }
    }

    /// Leaf values by dotted path (list items by index); numbers written as the recipe would.
    static func flatten(_ value: JSONValue) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ v: JSONValue, _ path: String) {
            switch v {
            case .object(let o):
                for (k, child) in o where !(path.isEmpty && ignored.contains(k)) { walk(child, path.isEmpty ? k : "\(path).\(k)") }
            case .array(let items) where items.allSatisfy({ if case .object = $0 { return false } else { return true } }):
                out[path] = v.canonicalString
            case .array(let items):
                for (i, item) in items.enumerated() { walk(item, "\(path).\(i)") }
            case .string(let s): out[path] = s
            case .number(let n): out[path] = n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(format: "%g", n)
            default: out[path] = v.canonicalString
            }
        }
        walk(value, "")
        return out
    }
}
