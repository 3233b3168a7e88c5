import CYaml
import Foundation
import Yams

/// A YAML scalar's resolved type.
public enum ScalarKind: String, Sendable {
    case string, int, float, bool, null
}

/// A recipe as a tree of YAML values, each with its location. Overrides edit this tree before
/// the typed recipe is read from it, so an override is validated exactly like a line of the file.
public indirect enum RecipeTree: Sendable {
    case scalar(String, ScalarKind, RecipeLocation)
    /// Keys in file order.
    case mapping([(key: String, keyLocation: RecipeLocation, value: RecipeTree)], RecipeLocation)
    case sequence([RecipeTree], RecipeLocation)

    public var location: RecipeLocation {
        switch self {
        case .scalar(_, _, let l), .mapping(_, let l), .sequence(_, let l): return l
        }
    }

    /// A short description of the value's type, for "expected X, got Y" messages.
    public var kindDescription: String {
        switch self {
        case .scalar(let s, let kind, _):
            switch kind {
            case .string: return "the string '\(s)'"
            case .int: return "the integer \(s)"
            case .float: return "the number \(s)"
            case .bool: return "the boolean \(s)"
            case .null: return "null"
            }
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    // MARK: Parsing

    /// Parses YAML text; `file` names the recipe in locations.
    public static func parse(yaml: String, file: String) throws -> RecipeTree {
        try checkLimits(yaml) { line, column in RecipeLocation(file: file, line: line, column: column) }
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw RecipeError(RecipeLocation(file: file, line: Self.line(of: error), column: 1), "not valid YAML: \(Self.problem(of: error))")
        }
        guard let node else { throw RecipeError(RecipeLocation(file: file, line: 1), "the recipe is empty") }
        var budget = RecipeLimits.maxNodes
        return try convert(node, file: file, override: nil, budget: &budget)
    }

    /// Refuses text beyond `RecipeLimits` before Yams composes it: Yams expands aliases into
    /// shared nodes and composes recursively, so an alias bomb or deep nesting must be stopped
    /// here. libyaml's scanner (iterative) gives the tokens; block and flow collection starts
    /// and ends bound the depth. Scanner errors are left for the parser to report.
    static func checkLimits(_ text: String, at location: (_ line: Int, _ column: Int) -> RecipeLocation) throws {
        let bytes = Array(text.utf8)
        guard bytes.count <= RecipeLimits.maxDocumentBytes else {
            throw RecipeError(location(1, 1), "the YAML is \(bytes.count) bytes, more than the limit of \(RecipeLimits.maxDocumentBytes)")
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var depth = 0
            var aliases = 0
            while true {
                var token = yaml_token_t()
                guard yaml_parser_scan(&parser, &token) == 1 else { return }
                defer { yaml_token_delete(&token) }
                let (line, column) = (Int(token.start_mark.line) + 1, Int(token.start_mark.column) + 1)
                switch token.type {
                case YAML_STREAM_END_TOKEN, YAML_NO_TOKEN:
                    return
                case YAML_BLOCK_SEQUENCE_START_TOKEN, YAML_BLOCK_MAPPING_START_TOKEN, YAML_FLOW_SEQUENCE_START_TOKEN, YAML_FLOW_MAPPING_START_TOKEN:
                    depth += 1
                    guard depth <= RecipeLimits.maxDepth else {
                        throw RecipeError(location(line, column), "the YAML nests deeper than \(RecipeLimits.maxDepth) levels")
                    }
                case YAML_BLOCK_END_TOKEN, YAML_FLOW_SEQUENCE_END_TOKEN, YAML_FLOW_MAPPING_END_TOKEN:
                    depth -= 1
                case YAML_ALIAS_TOKEN:
                    aliases += 1
                    guard aliases <= RecipeLimits.maxAliases else {
                        throw RecipeError(location(line, column), "the YAML uses more than \(RecipeLimits.maxAliases) aliases (*name)")
                    }
                default:
                    break
                }
            }
        }
    }

    /// Reads and parses a recipe file.
    public static func load(_ url: URL, displayName: String? = nil) throws -> RecipeTree {
        let name = displayName ?? url.path
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw RecipeError(RecipeLocation(file: name, line: 0), "cannot read the recipe file (missing or not UTF-8)")
        }
        return try parse(yaml: text, file: name)
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 1
        }
    }

    private static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
            return (context.map { "\($0.text), " } ?? "") + problem
        default: return "\(error)".replacingOccurrences(of: "\n", with: " ")
        }
    }

    /// `budget`: values still allowed (`RecipeLimits.maxNodes`); aliases count at every use.
    private static func convert(_ node: Node, file: String, override: String?, budget: inout Int) throws -> RecipeTree {
        func location(_ mark: Mark?) -> RecipeLocation {
            RecipeLocation(file: file, line: override == nil ? (mark?.line ?? 0) : 0, column: mark?.column ?? 1, override: override)
        }
        budget -= 1
        guard budget >= 0 else {
            throw RecipeError(location(node.mark), "the YAML expands to more than \(RecipeLimits.maxNodes) values (aliases included)")
        }
        switch node {
        case .scalar(let scalar):
            let kind: ScalarKind
            switch node.tag.description {
            case Tag.Name.int.rawValue: kind = Int(scalar.string) == nil ? .float : .int
            case Tag.Name.float.rawValue: kind = .float
            case Tag.Name.bool.rawValue: kind = .bool
            case Tag.Name.null.rawValue: kind = .null
            default: kind = .string
            }
            return .scalar(scalar.string, kind, location(scalar.mark))
        case .sequence(let sequence):
            var items: [RecipeTree] = []
            for item in sequence { items.append(try convert(item, file: file, override: override, budget: &budget)) }
            return .sequence(items, location(sequence.mark))
        case .mapping(let mapping):
            var pairs: [(key: String, keyLocation: RecipeLocation, value: RecipeTree)] = []
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let key) = keyNode else {
                    throw RecipeError(location(keyNode.mark), "mapping keys must be plain names")
                }
                if pairs.contains(where: { $0.key == key.string }) {
                    throw RecipeError(location(keyNode.mark), "duplicate key '\(key.string)'")
                }
                pairs.append((key.string, location(keyNode.mark), try convert(valueNode, file: file, override: override, budget: &budget)))
            }
            return .mapping(pairs, location(mapping.mark))
        }
    }

    // MARK: Overrides

    /// Applies `key.path=value` (the value is YAML: `0.1`, `dann`, `[10, 20]`, `{name: dann}`).
    /// List elements are addressed by index (`strategies.0.weight`). Missing mapping keys are
    /// created, so a misspelt key is reported by validation like one in the file.
    public func applying(override: String, file: String) throws -> RecipeTree {
        let at = RecipeLocation(file: file, line: 0, override: override)
        guard let eq = override.firstIndex(of: "=") else {
            throw RecipeError(at, "an override must look like key.path=value")
        }
        let path = override[..<eq].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else { throw RecipeError(at, "empty key in the override path") }
        guard path.count <= RecipeLimits.maxDepth else { throw RecipeError(at, "the key path is deeper than \(RecipeLimits.maxDepth) levels") }
        let text = String(override[override.index(after: eq)...])
        guard !text.allSatisfy(\.isWhitespace) else {
            throw RecipeError(at, "no value after '='; write \(override[..<eq])=null to use the default")
        }
        try Self.checkLimits(text) { _, _ in at }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw RecipeError(at, "the value '\(text)' is not valid YAML")
        }
        var budget = RecipeLimits.maxNodes
        let value = try node.map { try RecipeTree.convert($0, file: file, override: override, budget: &budget) } ?? .scalar("", .null, at)
        return try replacing(path[...], with: value, at: at)
    }

    private func replacing(_ path: ArraySlice<String>, with value: RecipeTree, at: RecipeLocation) throws -> RecipeTree {
        guard let head = path.first else { return value }
        let rest = path.dropFirst()
        switch self {
        case .mapping(var pairs, let location):
            if let i = pairs.firstIndex(where: { $0.key == head }) {
                pairs[i].value = try pairs[i].value.replacing(rest, with: value, at: at)
            } else {
                let empty = RecipeTree.mapping([], at)
                pairs.append((head, at, try empty.replacing(rest, with: value, at: at)))
            }
            return .mapping(pairs, location)
        case .sequence(var items, let location):
            guard let index = Int(head), items.indices.contains(index) else {
                throw RecipeError(at, "'\(head)' is not an index of the list at \(location) (it has \(items.count) items)")
            }
            items[index] = try items[index].replacing(rest, with: value, at: at)
            return .sequence(items, location)
        case .scalar:
            throw RecipeError(at, "cannot set '\(path.joined(separator: "."))' inside \(kindDescription) at \(location)")
        }
    }

    // MARK: Access

    public subscript(key: String) -> RecipeTree? {
        guard case .mapping(let pairs, _) = self else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    /// Every dotted key path below this value (`optimizer.lr`, `strategies.0.name`) with its value,
    /// in file order (a value before the values inside it).
    public var keyPaths: [(path: String, value: RecipeTree)] {
        var paths: [(path: String, value: RecipeTree)] = []
        func walk(_ node: RecipeTree, _ path: String) {
            if !path.isEmpty { paths.append((path, node)) }
            switch node {
            case .mapping(let pairs, _): for pair in pairs { walk(pair.value, path.isEmpty ? pair.key : "\(path).\(pair.key)") }
            case .sequence(let items, _): for (i, item) in items.enumerated() { walk(item, "\(path).\(i)") }
            case .scalar: break
            }
        }
        walk(self, "")
        return paths
    }

    /// The value at a dotted path (`data.rotation`), if present.
    public func value(at path: String) -> RecipeTree? {
        var node: RecipeTree? = self
        for part in path.split(separator: ".") {
            switch node {
            case .mapping?: node = node?[String(part)]
            case .sequence(let items, _)?:
                guard let i = Int(part), items.indices.contains(i) else { return nil }
                node = items[i]
            default: return nil
            }
        }
        return node
    }

    // MARK: JSON

    /// The tree as a JSON-compatible value (numbers as Double, keys sorted on encoding).
    public var json: JSONValue {
        switch self {
        case .scalar(let s, let kind, _):
            switch kind {
            case .int, .float: return Double(s).map(JSONValue.number) ?? .string(s)
            case .bool: return .bool(["true", "yes", "on"].contains(s.lowercased()))
            case .null: return .null
            case .string: return .string(s)
            }
        case .mapping(let pairs, _): return .object(Dictionary(pairs.map { ($0.key, $0.value.json) }, uniquingKeysWith: { a, _ in a }))
        case .sequence(let items, _): return .array(items.map(\.json))
        }
    }
}
