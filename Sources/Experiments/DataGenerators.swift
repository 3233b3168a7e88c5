import Adaptation
import Foundation
import HDF5Kit
import TensorCore

/// One documented option of a data generator.
public struct GeneratorOption: Sendable {
    public enum Kind: Sendable { case number, integer, bool, string, choice([String]) }
    public let name: String
    public let kind: Kind
    public let summary: String
    /// The interval a number or integer must lie in (every numeric option has one).
    public let range: NumberRange?

    public init(_ name: String, _ kind: Kind, _ summary: String, range: NumberRange? = nil) {
        self.name = name
        self.kind = kind
        self.summary = summary
        self.range = range
    }

    var expected: String {
        switch kind {
        case .number: return "a number"
        case .integer: return "an integer"
        case .bool: return "a boolean"
        case .string: return "a string"
        case .choice(let names): return "one of \(names.joined(separator: ", "))"
        }
    }

    func accepts(_ value: OptionValue) -> Bool {
        switch (kind, value) {
        case (.number, .number(let v)): return range.map { $0.contains(v) } ?? v.isFinite
        case (.integer, .number(let v)): return v == v.rounded() && (range.map { $0.contains(v) } ?? (v >= 0 && v <= 1e9))
        case (.bool, .bool), (.string, .string): return true
        case (.choice(let names), .string(let s)): return names.contains(s)
        default: return false
        }
    }
}

/// The data generators a recipe can name in `data.generator`, with their options.
public enum DataGenerators {
    /// Most samples per class or domain a generator draws (a recipe cannot ask for more).
    public static let maxSamples = 1_000_000

    /// Options every generator understands (integers below 10¹⁵ are exact as recipe numbers).
    static let shared = [GeneratorOption("data_seed", .integer, "seed of the data draw (default: the run's seed)", range: .closed(0, 999_999_999_999_999))]

    static let samples = NumberRange.closed(1, Double(maxSamples))
    static let testSamples = NumberRange.closed(0, Double(maxSamples))

    public static let options: [String: [GeneratorOption]] = [
        "moons": shared + [
            GeneratorOption("samples_per_class", .integer, "training samples per moon and domain (Ganin et al.: 150)", range: samples),
            GeneratorOption("rotation", .number, "target rotation in degrees (Ganin et al.: 35)", range: .closed(-360, 360)),
            GeneratorOption("noise", .number, "Gaussian noise standard deviation", range: .closed(0, 100)),
            GeneratorOption("test_samples_per_class", .integer, "held-out samples per class for evaluation", range: testSamples),
        ],
        "shifted": shared + [
            GeneratorOption("shift", .choice(ShiftedGenerator.Shift.allCases.map(\.rawValue)), "kind of dataset shift"),
            GeneratorOption("samples", .integer, "training samples per domain", range: .closed(2, Double(maxSamples))),
            GeneratorOption("test_samples", .integer, "held-out samples per domain", range: testSamples),
            GeneratorOption("classes", .integer, "number of classes (≥ 2)", range: .closed(2, 100)),
            GeneratorOption("strength", .number, "size of the shift", range: .closed(-1000, 1000)),
            GeneratorOption("ratio", .number, "label shift: probability of class 0 in the target", range: .open(0, 1)),
            GeneratorOption("noise", .number, "blob standard deviation", range: .aboveUpTo(0, 100)),
        ],
        "digits": shared + [
            GeneratorOption("shift", .choice(DigitsGenerator.Shift.allCases.map(\.rawValue)), "shift applied to the target digits"),
            GeneratorOption(
                "amount", .number, "size of the shift (degrees for rotation in [-360, 360], σ in [0, 10] for noise/blur, factor in (0, 10] for scale)",
                range: .closed(-360, 360)),
            GeneratorOption("base", .string, "the 8×8 digits HDF5 file (default: Datasets/digits8x8.h5)"),
        ],
    ]

    public static var names: [String] { options.keys.sorted() }

    /// What is wrong with options that each lie in their own range but not together (the digits
    /// `amount` depends on the `shift`), or any option outside its range: the key and a message
    /// (`must be in (0, 10] for shift scale, got 0`); nil when the options are usable.
    public static func problem(_ name: String, options: [String: OptionValue]) -> (key: String, message: String)? {
        guard let schema = Self.options[name] else { return ("generator", "is not a known data generator") }
        for spec in schema {
            if let value = options[spec.name], !spec.accepts(value) {
                return (spec.name, "must be \(spec.expected)\(spec.range.map { " in \($0)" } ?? ""), got \(value.kind) (\(value))")
            }
        }
        if name == "digits", case .number(let amount)? = options["amount"] {
            let shift = options["shift"].flatMap { if case .string(let s) = $0 { return DigitsGenerator.Shift(rawValue: s) } else { return nil } } ?? .rotation
            let range: NumberRange
            switch shift {
            case .rotation, .inversion: range = .closed(-360, 360)
            case .noise, .blur: range = .closed(0, 10)
            case .scale: range = .aboveUpTo(0, 10)
            }
            if !range.contains(amount) { return ("amount", "must be in \(range) for shift \(shift.rawValue), got \(OptionValue.number(amount))") }
        }
        return nil
    }

    /// The sample shape and class count of a recipe's data, without drawing it: fixed for the
    /// generators, read from a file's header (`/source/x`, `/source/y`); nil when the file cannot be read.
    public static func sampleShape(of source: DataSource) -> (shape: [Int], classes: Int)? {
        switch source {
        case .generator(let name, let options):
            switch name {
            case "moons": return ([2], 2)
            case "shifted":
                if case .number(let k)? = options["classes"], k >= 2, k <= 100 { return ([2], Int(k)) }
                return ([2], 2)
            case "digits": return ([1, 8, 8], 10)
            default: return nil
            }
        case .file(let path):
            guard let file = try? HDF5File(reading: URL(fileURLWithPath: path)), let x = try? file.dataset("/source/x") else { return nil }
            let shape = Array(x.shape.dropFirst())
            guard !shape.isEmpty else { return nil }
            // The class count only sizes the classifier head; labels are checked when the file is loaded.
            return (shape, 2)
        }
    }

    /// Draws the dataset of generator `name` with `options` (validated by the recipe; checked
    /// again here for callers that bypass it).
    public static func make(_ name: String, options: [String: OptionValue], seed: UInt64) throws -> DomainDataset {
        if let (key, message) = problem(name, options: options) {
            throw StrategyError.invalidValue(strategy: "data generator \(name)", key: key, message: message)
        }
        let o = StrategyOptions(options, owner: "data generator \(name)")
        let dataSeed = o.contains("data_seed") ? UInt64(try o.int("data_seed", default: 0)) : seed
        switch name {
        case "moons":
            return MoonsGenerator.make(
                samplesPerClass: try o.int("samples_per_class", default: 150), rotationDegrees: try o.float("rotation", default: 35),
                noise: try o.float("noise", default: 0.1), testSamplesPerClass: try o.int("test_samples_per_class", default: 500),
                seed: dataSeed)
        case "shifted":
            return ShiftedGenerator.make(
                shift: ShiftedGenerator.Shift(rawValue: try o.string("shift", default: "covariate"))!, samples: try o.int("samples", default: 200),
                testSamples: try o.int("test_samples", default: 500), classes: try o.int("classes", default: 2),
                strength: try o.float("strength", default: 1), ratio: try o.float("ratio", default: 0.9), noise: try o.float("noise", default: 0.6),
                seed: dataSeed)
        case "digits":
            let base = try o.string("base", default: "")
            return try DigitsGenerator.make(
                shift: DigitsGenerator.Shift(rawValue: try o.string("shift", default: "rotation"))!,
                amount: o.contains("amount") ? try o.float("amount", default: 0) : nil, base: base.isEmpty ? nil : URL(fileURLWithPath: base),
                seed: dataSeed)
        default:
            throw RecipeError(RecipeLocation(file: "data", line: 0), "unknown data generator '\(name)'", suggestion: closestName(to: name, among: names))
        }
    }
}

extension DataGenerators {
    /// Reads a domain dataset (`/source`, `/target`) from an HDF5 file.
    public static func load(file url: URL) throws -> DomainDataset {
        try DomainDatasetFile.load(url)
    }
}
