import Adaptation
import Foundation
import NN

/// Where a recipe's data comes from.
public enum DataSource: Sendable, Equatable {
    /// A domain-dataset HDF5 file (`/source`, `/target`), resolved to an absolute path.
    case file(String)
    /// A built-in generator with its options (`moons`, `shifted`, `digits`).
    case generator(name: String, options: [String: OptionValue])
}

/// The `data:` section.
public struct DataRecipe: Sendable, Equatable {
    public var source: DataSource
    /// Replace the source labels with a fixed derangement of the classes: the source then solves an
    /// unrelated task, the far end of a negative-transfer sweep.
    public var permuteSourceLabels: Bool
    /// Labelled target samples per class granted for training (few-shot; 0 = unsupervised).
    public var targetLabelsPerClass: Int
    /// Use at most this many source / target training samples (0 = all).
    public var maxSourceSamples: Int
    public var maxTargetSamples: Int
    /// `streaming:` train from the data file through `StreamingDomainFile` (bounded memory) when
    /// true, in memory when false; nil (absent): streamed when its x datasets exceed 1 GiB.
    public var streaming: Bool? = nil
}

/// The `model:` section, plus the optional pretrained weights.
public struct ModelRecipe: Sendable, Equatable {
    public var spec: ModelSpec
    /// A checkpoint to start from (absolute path), loaded before training.
    public var pretrained: String?
    /// Parameter-path prefixes that are not trained (`features`, `features.0`).
    public var frozen: [String]
    /// Learning-rate multipliers by parameter-path prefix (`classifier: 10`).
    public var learningRateMultipliers: [String: Float]
}

/// One entry of `strategies:`.
public struct StrategyRecipe: Sendable, Equatable {
    public var name: String
    /// nil: the registry entry's default.
    public var weight: Float?
    public var schedule: WeightSchedule?
    public var options: [String: OptionValue]
    public var location: RecipeLocation
}

/// The `evaluation:` section.
public struct EvaluationRecipe: Sendable, Equatable {
    public enum Divergence: String, Sendable, CaseIterable { case mmd, coral, pad }
    /// Evaluate every N epochs (the last epoch always).
    public var every: Int
    /// Divergences between source and target features, measured before and after training.
    public var divergences: [Divergence]
    /// Samples per domain used for divergences (subsampled with a fixed seed).
    public var divergenceSamples: Int
    /// Also train a source-only model with the same seed and report its target accuracy.
    public var sourceOnlyBaseline: Bool
}

/// The `selection:` section: unsupervised model-selection scores recorded for `compare`.
public struct SelectionRecipe: Sendable, Equatable {
    public enum Rule: String, Sendable, CaseIterable {
        case sourceValidation = "source_validation", dev, entropy
    }
    public var rules: [Rule]
}

/// A validated experiment recipe. Build it with `Recipe.load(_:overrides:registry:)`; every
/// error names the file and line (or the `--set` argument) and the closest valid name.
public struct Recipe: Sendable {
    /// The recipe file as the user named it.
    public var file: String
    public var name: String
    /// The task compare groups runs by (default: the name).
    public var task: String
    public var description: String
    public var data: DataRecipe
    public var model: ModelRecipe
    public var strategies: [StrategyRecipe]
    public var optimizer: OptimizerConfiguration
    public var schedule: LearningRateSchedule
    public var epochs: Int
    public var batchSize: Int
    public var seeds: [UInt64]
    public var evaluation: EvaluationRecipe
    public var selection: SelectionRecipe
    /// Output folder (relative paths are relative to the working directory).
    public var output: String
    /// The recipe after overrides, as JSON (stored in reports).
    public var resolved: JSONValue
    /// SHA-256 of the canonical JSON of the resolved recipe without `output` and `seeds`: runs with
    /// the same hash and seed are the same experiment (checkpoints refuse to resume otherwise).
    public var hash: String
    /// Line of every dotted key path (`optimizer.lr`, `strategies.0.name`), for errors raised later.
    public var locations: [String: Int]

    /// `strategies` joined by `+` (`mmd+selfTraining`); `sourceOnly` when empty.
    public var strategyLabel: String {
        strategies.isEmpty ? "sourceOnly" : strategies.map(\.name).joined(separator: "+")
    }

    // MARK: Loading

    /// Reads, overrides and validates a recipe file.
    public static func load(_ url: URL, overrides: [String] = [], registry: StrategyRegistry, displayName: String? = nil) throws -> Recipe {
        let name = displayName ?? url.relativePath
        var tree = try RecipeTree.load(url, displayName: name)
        for override in overrides { tree = try tree.applying(override: override, file: name) }
        return try Recipe(tree: tree, file: name, directory: url.deletingLastPathComponent(), registry: registry)
    }

    /// Validates a parsed tree. Relative file paths are resolved against `directory` first, then
    /// the working directory.
    public init(tree: RecipeTree, file: String, directory: URL, registry: StrategyRegistry) throws {
        let root = try Section(tree, path: "top level")
        try root.checkKeys([
            "name", "task", "description", "data", "model", "pretrained", "strategies", "optimizer", "schedule", "epochs",
            "batch_size", "seeds", "seed", "evaluation", "selection", "output",
        ])
        self.file = file
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        name = try root.nonBlankString("name") ?? stem
        task = try root.nonBlankString("task") ?? name
        description = try root.string("description") ?? ""

        func resolveFile(_ path: String, at location: RecipeLocation, what: String) throws -> String {
            let candidates = path.hasPrefix("/") ? [URL(fileURLWithPath: path)]
                : [directory.appendingPathComponent(path), URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)]
            for candidate in candidates where FileManager.default.fileExists(atPath: candidate.path) {
                return candidate.standardizedFileURL.path
            }
            throw RecipeError(location, "\(what) '\(path)' does not exist (looked in \(candidates.map { $0.deletingLastPathComponent().standardizedFileURL.path }.joined(separator: " and ")))")
        }

        // data
        let dataSection = try root.section("data", required: true)!
        let generatorNames = DataGenerators.names
        let fileValue = try dataSection.string("file")
        let generatorValue = try dataSection.string("generator")
        let common = ["file", "generator", "permute_source_labels", "target_labels_per_class", "max_source_samples", "max_target_samples"]
        let dataSource: DataSource
        switch (fileValue, generatorValue) {
        case (let path?, nil):
            try dataSection.checkKeys(common)
            dataSource = .file(try resolveFile(path, at: dataSection.location(of: "file"), what: "data file"))
        case (nil, let generator?):
            guard let schema = DataGenerators.options[generator] else {
                throw RecipeError(dataSection.location(of: "generator"), "unknown data generator '\(generator)' (known: \(generatorNames.joined(separator: ", ")))",
                    suggestion: closestName(to: generator, among: generatorNames))
            }
            try dataSection.checkKeys(common + schema.map(\.name), context: "data with generator \(generator)")
            var options: [String: OptionValue] = [:]
            for spec in schema {
                if let value = try dataSection.option(spec.name) {
                    guard spec.accepts(value) else {
                        var suggestion: String?
                        if case .choice(let names) = spec.kind, case .string(let given) = value { suggestion = closestName(to: given, among: names) }
                        let bounds = spec.range.map { " in \($0)" } ?? ""
                        throw RecipeError(dataSection.location(of: spec.name), "data.\(spec.name) must be \(spec.expected)\(bounds), got \(value.kind) (\(value))",
                            suggestion: suggestion)
                    }
                    options[spec.name] = value
                }
            }
            if let (key, problem) = DataGenerators.problem(generator, options: options) {
                throw RecipeError(dataSection.location(of: key), "data.\(key) \(problem)")
            }
            dataSource = .generator(name: generator, options: options)
        case (nil, nil):
            throw RecipeError(dataSection.location, "data needs either 'file' (an HDF5 domain dataset) or 'generator' (\(generatorNames.joined(separator: ", ")))")
        case (_?, _?):
            throw RecipeError(dataSection.location(of: "generator"), "data has both 'file' and 'generator'; give one")
        }
        data = DataRecipe(
            source: dataSource, permuteSourceLabels: try dataSection.bool("permute_source_labels") ?? false,
            targetLabelsPerClass: try dataSection.int("target_labels_per_class", 0...RecipeLimits.maxSamples) ?? 0,
            maxSourceSamples: try dataSection.sampleCap("max_source_samples"), maxTargetSamples: try dataSection.sampleCap("max_target_samples"))

        // model
        let modelSection = try root.section("model", required: true)!
        let architecture = try modelSection.string("architecture") ?? "mlp"
        let extractor: ExtractorSpec
        let modelCommon = ["architecture", "bottleneck", "classifier_hidden"]
        switch architecture {
        case "mlp":
            try modelSection.checkKeys(modelCommon + ["hidden", "dropout", "batchnorm"], context: "model mlp")
            let hidden = try modelSection.ints("hidden", 1...RecipeLimits.maxWidth, count: 1...RecipeLimits.maxLayers) ?? [15]
            let dropout = try modelSection.float("dropout", .halfOpen(0, 1)) ?? 0
            extractor = .mlp(hidden: hidden, batchNorm: try modelSection.bool("batchnorm") ?? false, dropout: dropout)
        case "lenet":
            try modelSection.checkKeys(modelCommon + ["channels", "features"], context: "model lenet")
            let channels = try modelSection.ints("channels", 1...RecipeLimits.maxWidth, count: 2...2) ?? [6, 16]
            extractor = .lenet(
                channels1: channels[0], channels2: channels[1], featureSize: try modelSection.int("features", 1...RecipeLimits.maxWidth) ?? 120)
        default:
            throw RecipeError(modelSection.location(of: "architecture"), "unknown architecture '\(architecture)' (known: mlp, lenet)",
                suggestion: closestName(to: architecture, among: ["mlp", "lenet"]))
        }
        let spec = ModelSpec(
            extractor: extractor, bottleneck: try modelSection.int("bottleneck", 1...RecipeLimits.maxWidth),
            classifierHidden: try modelSection.int("classifier_hidden", 1...RecipeLimits.maxWidth))
        let modelSize = try Recipe.checkModel(spec, data: dataSource, section: modelSection)
        var pretrained: String?
        var frozen: [String] = []
        var multipliers: [String: Float] = [:]
        if let section = try root.section("pretrained") {
            try section.checkKeys(["weights", "frozen", "lr_multipliers"])
            if let path = try section.string("weights") {
                pretrained = try resolveFile(path, at: section.location(of: "weights"), what: "pretrained weights file")
            }
            frozen = try section.strings("frozen") ?? []
            let prefixes = ["features", "bottleneck", "classifier"]
            for (i, prefix) in frozen.enumerated() {
                let head = String(prefix.split(separator: ".").first ?? "")
                guard prefixes.contains(head) else {
                    throw RecipeError(section.elementLocation("frozen", i), "frozen layer '\(prefix)' must start with features, bottleneck or classifier",
                        suggestion: closestName(to: head, among: prefixes))
                }
            }
            if let m = try section.section("lr_multipliers") {
                for key in m.keys {
                    let head = String(key.split(separator: ".").first ?? "")
                    guard prefixes.contains(head) else {
                        throw RecipeError(m.location(of: key), "lr multiplier for '\(key)' must name features, bottleneck or classifier",
                            suggestion: closestName(to: head, among: prefixes))
                    }
                    if let value = try m.float(key, .closed(0, RecipeLimits.maxFactor)) { multipliers[key] = value }
                }
            }
        }
        model = ModelRecipe(spec: spec, pretrained: pretrained, frozen: frozen, learningRateMultipliers: multipliers)

        // strategies
        var strategies: [StrategyRecipe] = []
        for item in try root.list("strategies") ?? [] {
            strategies.append(try Recipe.strategy(item, registry: registry))
        }
        self.strategies = strategies
        try Recipe.checkStrategyModules(strategies, registry: registry, model: modelSize)

        // optimizer
        let optimizerSection = try root.section("optimizer")
        try optimizerSection?.checkKeys(["name", "lr", "momentum", "nesterov", "weight_decay", "beta1", "beta2"])
        let kindName = try optimizerSection?.string("name") ?? "sgd"
        guard let kind = OptimizerConfiguration.Kind(rawValue: kindName) else {
            throw RecipeError(optimizerSection!.location(of: "name"), "unknown optimizer '\(kindName)' (known: sgd, adam, adamw)",
                suggestion: closestName(to: kindName, among: OptimizerConfiguration.Kind.allCases.map(\.rawValue)))
        }
        let momentum = try optimizerSection?.double("momentum", .halfOpen(0, 1)) ?? (kind == .sgd ? 0.9 : 0)
        let lr = try optimizerSection?.double("lr", .aboveUpTo(0, RecipeLimits.maxFactor)) ?? (kind == .sgd ? 0.01 : 0.001)
        let nesterov = try optimizerSection?.bool("nesterov") ?? false
        if let s = optimizerSection, nesterov, kind != .sgd || momentum == 0 {
            throw RecipeError(s.location(of: "nesterov"), "optimizer.nesterov needs sgd with momentum > 0")
        }
        optimizer = OptimizerConfiguration(
            kind: kind, learningRate: Float(lr), momentum: Float(momentum), nesterov: nesterov,
            weightDecay: try optimizerSection?.float("weight_decay", .closed(0, RecipeLimits.maxFactor)) ?? (kind == .adamw ? 0.01 : 0),
            beta1: try optimizerSection?.float("beta1", .halfOpen(0, 1)) ?? 0.9, beta2: try optimizerSection?.float("beta2", .halfOpen(0, 1)) ?? 0.999)

        schedule = try root.learningRateSchedule("schedule") ?? .constant
        epochs = try root.int("epochs", 1...RecipeLimits.maxEpochs) ?? 10
        batchSize = try root.int("batch_size", 2...RecipeLimits.maxBatchSize) ?? 32
        if root.has("seed") && root.has("seeds") {
            throw RecipeError(root.location(of: "seed"), "give 'seed' or 'seeds', not both")
        }
        if let one = try root.int("seed", 0...Int.max) {
            seeds = [UInt64(one)]
        } else {
            let list = try root.ints("seeds", 0...Int.max, count: 1...RecipeLimits.maxSeeds) ?? [0]
            if let i = list.indices.first(where: { list[..<$0].contains(list[$0]) }) {
                throw RecipeError(root.elementLocation("seeds", i), "seeds must be distinct; \(list[i]) appears twice")
            }
            seeds = list.map { UInt64($0) }
        }

        let evaluationSection = try root.section("evaluation")
        try evaluationSection?.checkKeys(["every", "divergences", "divergence_samples", "source_only_baseline"])
        var divergences: [EvaluationRecipe.Divergence] = [.mmd, .coral, .pad]
        if let names = try evaluationSection?.strings("divergences") {
            divergences = try names.enumerated().map { i, name in
                guard let d = EvaluationRecipe.Divergence(rawValue: name) else {
                    throw RecipeError(evaluationSection!.elementLocation("divergences", i), "unknown divergence '\(name)' (known: mmd, coral, pad)",
                        suggestion: closestName(to: name, among: EvaluationRecipe.Divergence.allCases.map(\.rawValue)))
                }
                return d
            }
        }
        evaluation = EvaluationRecipe(
            every: try evaluationSection?.int("every", 1...RecipeLimits.maxEpochs) ?? max(1, epochs / 10), divergences: divergences,
            divergenceSamples: try evaluationSection?.int("divergence_samples", 4...RecipeLimits.maxBatchSize) ?? 500,
            sourceOnlyBaseline: try evaluationSection?.bool("source_only_baseline") ?? false)

        let selectionSection = try root.section("selection")
        try selectionSection?.checkKeys(["rules"])
        var rules = SelectionRecipe.Rule.allCases
        if let names = try selectionSection?.strings("rules") {
            rules = try names.enumerated().map { i, name in
                guard let rule = SelectionRecipe.Rule(rawValue: name) else {
                    throw RecipeError(selectionSection!.elementLocation("rules", i), "unknown selection rule '\(name)' (known: source_validation, dev, entropy)",
                        suggestion: closestName(to: name, among: SelectionRecipe.Rule.allCases.map(\.rawValue)))
                }
                return rule
            }
        }
        selection = SelectionRecipe(rules: rules)
        output = try root.nonBlankString("output") ?? "runs/\(name)"

        resolved = tree.json
        var lines: [String: Int] = [:]
        func walk(_ node: RecipeTree, _ path: String) {
            if !path.isEmpty { lines[path] = node.location.line }
            switch node {
            case .mapping(let pairs, _): for pair in pairs { walk(pair.value, path.isEmpty ? pair.key : "\(path).\(pair.key)") }
            case .sequence(let items, _): for (i, item) in items.enumerated() { walk(item, "\(path).\(i)") }
            case .scalar: break
            }
        }
        walk(tree, "")
        locations = lines
        var hashed = resolved
        if case .object(var o) = hashed {
            o["output"] = nil
            o["seeds"] = nil
            o["seed"] = nil
            hashed = .object(o)
        }
        hash = String(SHA256.hex(Array(hashed.canonicalString.utf8)).prefix(16))
    }

    /// Checks that the model can be built for the data's samples (`lenet` needs C×H×W images) and
    /// stays under `RecipeLimits.maxParameters`, before anything is allocated. The sample shape is
    /// known for generators and read from the header of a data file; nil when it cannot be read
    /// (the run then reports the file's problem).
    static func checkModel(_ spec: ModelSpec, data: DataSource, section: Section) throws -> ModelSpec.Size? {
        guard let (shape, classes) = DataGenerators.sampleShape(of: data) else { return nil }
        do {
            return try spec.check(inputShape: shape, classCount: classes, maxWidth: RecipeLimits.maxWidth, maxParameters: RecipeLimits.maxParameters)
        } catch let error as ModelSpecError {
            throw RecipeError(section.location(of: error.field), "model.\(error.field): \(error.message)")
        }
    }

    /// Adds the parameters of the strategies' own layers (`OptionDomain.layerWidths`: a
    /// discriminator) to the model's and refuses a total above `RecipeLimits.maxParameters`.
    static func checkStrategyModules(_ strategies: [StrategyRecipe], registry: StrategyRegistry, model: ModelSpec.Size?) throws {
        guard let model else { return }
        var total = model.parameters
        let input = max(model.extractorSize, model.featureSize, model.classCount)
        for strategy in strategies {
            for spec in registry.entries[strategy.name]?.options ?? [] {
                guard case .layerWidths? = spec.domain, let value = strategy.options[spec.name] else { continue }
                let widths: [Int]
                switch value {
                case .number(let v): widths = [Int(v)]
                case .list(let items): widths = items.compactMap { if case .number(let v) = $0 { return Int(v) } else { return nil } }
                default: widths = []
                }
                var width = input
                for w in widths + [2] {
                    total += width * w + w
                    width = w
                }
                guard total <= RecipeLimits.maxParameters else {
                    throw RecipeError(strategy.location, "strategy \(strategy.name): option '\(spec.name)' \(value) brings the parameters to \(total), more than the limit of \(RecipeLimits.maxParameters)")
                }
            }
        }
    }

    private static func strategy(_ tree: RecipeTree, registry: StrategyRegistry) throws -> StrategyRecipe {
        // A bare name is allowed: `- dann`.
        var section: Section
        if case .scalar(let name, .string, let location) = tree {
            section = try Section(.mapping([("name", location, tree)], location), path: "strategy")
        } else {
            section = try Section(tree, path: "strategy")
        }
        try section.checkKeys(["name", "weight", "schedule", "options"], context: "a strategy")
        guard let name = try section.string("name") else {
            throw RecipeError(tree.location, "a strategy needs a 'name' (known: \(registry.names.joined(separator: ", ")))")
        }
        guard let entry = registry.entries[name] else {
            throw RecipeError(section.location(of: "name"), "unknown strategy '\(name)' (known: \(registry.names.joined(separator: ", ")))",
                suggestion: closestName(to: name, among: registry.names))
        }
        let weight = try section.float("weight", .closed(0, RecipeLimits.maxFactor))
        var options: [String: OptionValue] = [:]
        if let optionSection = try section.section("options") {
            let documented = entry.options.map(\.name)
            for key in optionSection.keys {
                guard let spec = entry.options.first(where: { $0.name == key }) else {
                    throw RecipeError(optionSection.location(of: key), "strategy \(name) has no option '\(key)' (documented: \(documented.isEmpty ? "none" : documented.joined(separator: ", ")))",
                        suggestion: closestName(to: key, among: documented))
                }
                // null: the option's default.
                guard let value = try optionSection.option(key) else { continue }
                if let expected = spec.defaultValue, !OptionValue.sameKind(expected, value) {
                    throw RecipeError(optionSection.location(of: key), "strategy \(name): option '\(key)' must be \(expected.kind) like its default \(expected), got \(value.kind) (\(value))")
                }
                if let problem = spec.domain?.problem(with: value) {
                    throw RecipeError(optionSection.location(of: key), "strategy \(name): option '\(key)' \(problem)")
                }
                options[key] = value
            }
        }
        return StrategyRecipe(
            name: name, weight: weight, schedule: try section.weightSchedule("schedule"), options: options,
            location: tree.location)
    }
}

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

    /// `schedule: cosine` or `{name: step, milestones: [0.5, 0.75], gamma: 0.1}`.
    func learningRateSchedule(_ key: String) throws -> LearningRateSchedule? {
        guard let v = value(key) else { return nil }
        let known = ["constant", "step", "cosine", "dann"]
        let s: Section
        if case .scalar(let n, .string, let l) = v { s = try Section(.mapping([("name", l, .scalar(n, .string, l))], l), path: name(key)) }
        else { s = try Section(v, path: name(key)) }
        guard let kind = try s.string("name") else { throw RecipeError(v.location, "\(name(key)) needs a name (\(known.joined(separator: ", ")))") }
        switch kind {
        case "constant":
            try s.checkKeys(["name"])
            return .constant
        case "step":
            try s.checkKeys(["name", "milestones", "gamma"])
            let milestones = try s.doubles("milestones", .closed(0, 1), count: 0...RecipeLimits.maxLayers) ?? [0.5, 0.75]
            return .step(milestones: milestones.map { Float($0) }, gamma: try s.float("gamma", .closed(0, RecipeLimits.maxFactor)) ?? 0.1)
        case "cosine":
            try s.checkKeys(["name", "minimum_factor"])
            return .cosine(minimumFactor: try s.float("minimum_factor", .closed(0, 1)) ?? 0)
        case "dann":
            try s.checkKeys(["name", "alpha", "beta"])
            return .dannAnnealing(
                alpha: try s.float("alpha", .closed(0, RecipeLimits.maxFactor)) ?? 10, beta: try s.float("beta", .closed(0, RecipeLimits.maxFactor)) ?? 0.75)
        default:
            throw RecipeError(s.location(of: "name"), "unknown learning-rate schedule '\(kind)' (known: \(known.joined(separator: ", ")))",
                suggestion: closestName(to: kind, among: known))
        }
    }

    /// `schedule: dann` or `{name: linear, ramp: 0.3}` for a strategy's λ(p).
    func weightSchedule(_ key: String) throws -> WeightSchedule? {
        guard let v = value(key) else { return nil }
        let known = ["constant", "dann", "linear"]
        let s: Section
        if case .scalar(let n, .string, let l) = v { s = try Section(.mapping([("name", l, .scalar(n, .string, l))], l), path: name(key)) }
        else { s = try Section(v, path: name(key)) }
        guard let kind = try s.string("name") else { throw RecipeError(v.location, "\(name(key)) needs a name (\(known.joined(separator: ", ")))") }
        switch kind {
        case "constant":
            try s.checkKeys(["name"])
            return .constant
        case "dann":
            try s.checkKeys(["name", "gamma"])
            return .dannRamp(gamma: try s.float("gamma", .closed(0, RecipeLimits.maxFactor)) ?? 10)
        case "linear":
            try s.checkKeys(["name", "ramp"])
            return .linearRamp(rampFraction: try s.float("ramp", .aboveUpTo(0, 1)) ?? 0.3)
        default:
            throw RecipeError(s.location(of: "name"), "unknown λ schedule '\(kind)' (known: \(known.joined(separator: ", ")))",
                suggestion: closestName(to: kind, among: known))
        }
    }
}
