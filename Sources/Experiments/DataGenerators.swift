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
    /// Open interval (exclusive bounds) a number must lie in, when limited.
    public let range: (Double, Double)?

    public init(_ name: String, _ kind: Kind, _ summary: String, range: (Double, Double)? = nil) {
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
        case (.number, .number(let v)): return range.map { v > $0.0 && v < $0.1 } ?? true
        case (.integer, .number(let v)): return v == v.rounded() && (range.map { v > $0.0 && v < $0.1 } ?? (v >= 0))
        case (.bool, .bool), (.string, .string): return true
        case (.choice(let names), .string(let s)): return names.contains(s)
        default: return false
        }
    }
}

/// The data generators a recipe can name in `data.generator`, with their options.
public enum DataGenerators {
    /// Options every generator understands.
    static let shared = [GeneratorOption("data_seed", .integer, "seed of the data draw (default: the run's seed)")]

    public static let options: [String: [GeneratorOption]] = [
        "moons": shared + [
            GeneratorOption("samples_per_class", .integer, "training samples per moon and domain (Ganin et al.: 150)"),
            GeneratorOption("rotation", .number, "target rotation in degrees (Ganin et al.: 35)"),
            GeneratorOption("noise", .number, "Gaussian noise standard deviation"),
            GeneratorOption("test_samples_per_class", .integer, "held-out samples per class for evaluation"),
        ],
        "shifted": shared + [
            GeneratorOption("shift", .choice(ShiftedGenerator.Shift.allCases.map(\.rawValue)), "kind of dataset shift"),
            GeneratorOption("samples", .integer, "training samples per domain", range: (0, 1e9)),
            GeneratorOption("test_samples", .integer, "held-out samples per domain"),
            GeneratorOption("classes", .integer, "number of classes (≥ 2)", range: (1, 1e6)),
            GeneratorOption("strength", .number, "size of the shift"),
            GeneratorOption("ratio", .number, "label shift: probability of class 0 in the target", range: (0, 1)),
            GeneratorOption("noise", .number, "blob standard deviation", range: (0, 1e9)),
        ],
        "digits": shared + [
            GeneratorOption("shift", .choice(DigitsGenerator.Shift.allCases.map(\.rawValue)), "shift applied to the target digits"),
            GeneratorOption("amount", .number, "size of the shift (degrees for rotation, σ for noise/blur, factor for scale)"),
            GeneratorOption("base", .string, "the 8×8 digits HDF5 file (default: Datasets/digits8x8.h5)"),
        ],
    ]

    public static var names: [String] { options.keys.sorted() }

    /// Draws the dataset of generator `name` with `options` (validated by the recipe).
    public static func make(_ name: String, options: [String: OptionValue], seed: UInt64) throws -> DomainDataset {
        let o = StrategyOptions(options, owner: "data generator \(name)")
        let dataSeed = UInt64(try o.int("data_seed", default: Int(seed)))
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
