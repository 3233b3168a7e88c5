import Foundation

/// Bounds on recipe, grid and `--set` YAML, checked before a tree is built, so that no input can
/// exhaust memory or the stack (alias bombs, pathological nesting).
public enum RecipeLimits {
    /// Largest recipe or grid file, in bytes of UTF-8 (1 MiB).
    public static let maxDocumentBytes = 1 << 20
    /// Deepest nesting of mappings and lists (block or flow), counted from libyaml's tokens.
    public static let maxDepth = 64
    /// Most alias references (`*name`) in one document.
    public static let maxAliases = 64
    /// Most values (scalars, lists, mappings) in one document after aliases are expanded.
    public static let maxNodes = 100_000

    /// Ranges of the recipe's counts (each also names a key of the recipe).
    public static let maxEpochs = 100_000
    /// `batch_size` is in [2, maxBatchSize]: one row has no batch statistics (CORAL, MMD, BatchNorm).
    public static let maxBatchSize = 1_000_000
    /// `max_source_samples`, `max_target_samples`, `target_labels_per_class`.
    public static let maxSamples = 1_000_000_000
    /// Most seeds in one recipe.
    public static let maxSeeds = 1_000
    /// Widest layer (`hidden`, `channels`, `features`, `bottleneck`, `classifier_hidden`) and most hidden layers.
    public static let maxWidth = 1_000_000
    public static let maxLayers = 64
    /// Most trainable parameters of the model and the strategies' modules together, checked before allocating.
    public static let maxParameters = 500_000_000
    /// Largest factor a recipe may give (weights, multipliers, σ, schedule constants).
    public static let maxFactor = 1e6
}

/// Where a value of a recipe came from: a line of a recipe file, or a `--set` override.
public struct RecipeLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line; 0 when the value came from the command line.
    public var line: Int
    public var column: Int
    /// The `--set key=value` argument, when the value came from the command line.
    public var override: String?

    public init(file: String, line: Int, column: Int = 1, override: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.override = override
    }

    public var description: String {
        if let override { return "\(file): --set \(override)" }
        return "\(file):\(line):\(column)"
    }
}

/// An error in a recipe, naming the file and line and, where one exists, the closest valid name.
///
/// `description` is one line: `Recipes/x.yaml:12:3: unknown key 'strategys' at top level (did you mean 'strategies'?)`.
public struct RecipeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: RecipeLocation
    public var message: String
    public var suggestion: String?

    public init(_ location: RecipeLocation, _ message: String, suggestion: String? = nil) {
        self.location = location
        self.message = message
        self.suggestion = suggestion
    }

    public var description: String {
        "\(location): \(message)" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
    }
}
