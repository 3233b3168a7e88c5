import Adaptation
import Foundation
import HDF5Kit
import TensorCore

/// One documented option of a data generator.
public struct GeneratorOption: Sendable {
    public enum Kind: Sendable { case number, integer, bool, string }
    public let name: String
    public let kind: Kind
    public let summary: String

    public init(_ name: String, _ kind: Kind, _ summary: String) {
        self.name = name
        self.kind = kind
        self.summary = summary
    }

    var expected: String {
        switch kind {
        case .number: return "a number"
        case .integer: return "an integer"
        case .bool: return "a boolean"
        case .string: return "a string"
        }
    }

    func accepts(_ value: OptionValue) -> Bool {
        switch (kind, value) {
        case (.number, .number), (.bool, .bool), (.string, .string): return true
        case (.integer, .number(let v)): return v == v.rounded() && v >= 0
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
