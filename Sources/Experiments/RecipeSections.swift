import Adaptation
import Foundation
import NN

/// Reading the recipe's sections, one function each, in the order `Recipe.init(tree:file:directory:registry:)` calls them.
extension Recipe {
    /// The `data:` section: a file (optionally streamed) or a generator with its options, label permutation,
    /// few-shot labels, sample caps.
    static func data(_ section: Section, directory: URL) throws -> DataRecipe {
        let generatorNames = DataGenerators.names
        let fileValue = try section.string("file")
        let generatorValue = try section.string("generator")
        let common = [
            "file", "generator", "permute_source_labels", "target_labels_per_class", "max_source_samples", "max_target_samples", "standardize",
        ]
        let source: DataSource
        switch (fileValue, generatorValue) {
        case (let path?, nil):
            try section.checkKeys(common + ["streaming"])
            source = .file(try resolveFile(path, at: section.location(of: "file"), what: "data file", directory: directory))
        case (nil, let generator?):
            guard let schema = DataGenerators.options[generator] else {
                throw RecipeError(section.location(of: "generator"), "unknown data generator '\(generator)' (known: \(generatorNames.joined(separator: ", ")))",
                    suggestion: closestName(to: generator, among: generatorNames))
            }
            try section.checkKeys(common + schema.map(\.name), context: "data with generator \(generator)")
            source = .generator(name: generator, options: try generatorOptions(section, generator: generator, schema: schema))
        case (nil, nil):
            throw RecipeError(section.location, "data needs either 'file' (an HDF5 domain dataset) or 'generator' (\(generatorNames.joined(separator: ", ")))")
        case (_?, _?):
            throw RecipeError(section.location(of: "generator"), "data has both 'file' and 'generator'; give one")
        }
        return DataRecipe(
            source: source, permuteSourceLabels: try section.bool("permute_source_labels") ?? false,
            targetLabelsPerClass: try section.int("target_labels_per_class", 0...RecipeLimits.maxSamples) ?? 0,
            maxSourceSamples: try section.sampleCap("max_source_samples"), maxTargetSamples: try section.sampleCap("max_target_samples"),
            streaming: try section.bool("streaming"),
            standardize: try section.choice("standardize", what: "standardization") ?? DataRecipe.defaultStandardization)
    }

    /// A generator's options from the `data:` section, each checked against the generator's schema.
    static func generatorOptions(_ section: Section, generator: String, schema: [GeneratorOption]) throws -> [String: OptionValue] {
        var options: [String: OptionValue] = [:]
        for spec in schema {
            guard let value = try section.option(spec.name) else { continue }
            guard spec.accepts(value) else {
                var suggestion: String?
                if case .choice(let names) = spec.kind, case .string(let given) = value { suggestion = closestName(to: given, among: names) }
                let bounds = spec.range.map { " in \($0)" } ?? ""
                throw RecipeError(section.location(of: spec.name), "data.\(spec.name) must be \(spec.expected)\(bounds), got \(value.kind) (\(value))",
                    suggestion: suggestion)
            }
            options[spec.name] = value
        }
        if let (key, problem) = DataGenerators.problem(generator, options: options) {
            throw RecipeError(section.location(of: key), "data.\(key) \(problem)")
        }
        return options
    }

    /// The `model:` section: the extractor (`mlp` or `lenet`), the bottleneck and the classifier head.
    static func modelSpec(_ section: Section) throws -> ModelSpec {
        let architecture = try section.string("architecture") ?? "mlp"
        let extractor: ExtractorSpec
        let common = ["architecture", "bottleneck", "classifier_hidden"]
        switch architecture {
        case "mlp":
            try section.checkKeys(common + ["hidden", "dropout", "batchnorm"], context: "model mlp")
            let hidden = try section.ints("hidden", 1...RecipeLimits.maxWidth, count: 1...RecipeLimits.maxLayers) ?? [15]
            let dropout = try section.float("dropout", .halfOpen(0, 1)) ?? 0
            extractor = .mlp(hidden: hidden, batchNorm: try section.bool("batchnorm") ?? false, dropout: dropout)
        case "lenet":
            try section.checkKeys(common + ["channels", "features"], context: "model lenet")
            let channels = try section.ints("channels", 1...RecipeLimits.maxWidth, count: 2...2) ?? [6, 16]
            extractor = .lenet(
                channels1: channels[0], channels2: channels[1], featureSize: try section.int("features", 1...RecipeLimits.maxWidth) ?? 120)
        default:
            throw RecipeError(section.location(of: "architecture"), "unknown architecture '\(architecture)' (known: mlp, lenet)",
                suggestion: closestName(to: architecture, among: ["mlp", "lenet"]))
        }
        return ModelSpec(
            extractor: extractor, bottleneck: try section.int("bottleneck", 1...RecipeLimits.maxWidth),
            classifierHidden: try section.int("classifier_hidden", 1...RecipeLimits.maxWidth))
    }

    /// The model with the `pretrained:` section: weights to start from, frozen layers, learning-rate multipliers.
    static func model(_ spec: ModelSpec, pretrained section: Section?, directory: URL) throws -> ModelRecipe {
        var model = ModelRecipe(spec: spec, pretrained: nil, frozen: [], learningRateMultipliers: [:])
        guard let section else { return model }
        try section.checkKeys(["weights", "frozen", "lr_multipliers"])
        if let path = try section.string("weights") {
            model.pretrained = try resolveFile(path, at: section.location(of: "weights"), what: "pretrained weights file", directory: directory)
        }
        model.frozen = try section.strings("frozen") ?? []
        for (i, prefix) in model.frozen.enumerated() {
            try checkModelPart(prefix, at: section.elementLocation("frozen", i), "frozen layer '\(prefix)' must start with features, bottleneck or classifier")
        }
        if let m = try section.section("lr_multipliers") {
            for key in m.keys {
                try checkModelPart(key, at: m.location(of: key), "lr multiplier for '\(key)' must name features, bottleneck or classifier")
                if let value = try m.float(key, .closed(0, RecipeLimits.maxFactor)) { model.learningRateMultipliers[key] = value }
            }
        }
        return model
    }

    /// Refuses a parameter path (`features.0`) outside the model's three parts, with `message`.
    static func checkModelPart(_ path: String, at location: RecipeLocation, _ message: String) throws {
        let parts = ["features", "bottleneck", "classifier"]
        let head = String(path.split(separator: ".").first ?? "")
        guard parts.contains(head) else { throw RecipeError(location, message, suggestion: closestName(to: head, among: parts)) }
    }

    /// The `strategies:` list, each entry checked against the registry.
    static func strategies(_ root: Section, registry: StrategyRegistry) throws -> [StrategyRecipe] {
        try (root.list("strategies") ?? []).map { try strategy($0, registry: registry) }
    }

    /// The `optimizer:` section (absent: SGD with its defaults).
    static func optimizer(_ section: Section?) throws -> OptimizerConfiguration {
        try section?.checkKeys(["name", "lr", "momentum", "nesterov", "weight_decay", "beta1", "beta2", "clip_norm"])
        let kind: OptimizerConfiguration.Kind = try section?.choice("name", what: "optimizer") ?? .sgd
        let momentum = try section?.double("momentum", .halfOpen(0, 1)) ?? (kind == .sgd ? 0.9 : 0)
        let lr = try section?.double("lr", .aboveUpTo(0, RecipeLimits.maxFactor)) ?? (kind == .sgd ? 0.01 : 0.001)
        let nesterov = try section?.bool("nesterov") ?? false
        if let section, nesterov, kind != .sgd || momentum == 0 {
            throw RecipeError(section.location(of: "nesterov"), "optimizer.nesterov needs sgd with momentum > 0")
        }
        return OptimizerConfiguration(
            kind: kind, learningRate: Float(lr), momentum: Float(momentum), nesterov: nesterov,
            weightDecay: try section?.float("weight_decay", .closed(0, RecipeLimits.maxFactor)) ?? (kind == .adamw ? 0.01 : 0),
            beta1: try section?.float("beta1", .halfOpen(0, 1)) ?? 0.9, beta2: try section?.float("beta2", .halfOpen(0, 1)) ?? 0.999,
            clipNorm: try clipNorm(section))
    }

    /// `optimizer.clip_norm`: absent → `OptimizerConfiguration.recipeClipNorm` (issue 9: the shipped
    /// settings stopped on a non-finite loss without it), a positive number, or `none` (no clipping).
    static func clipNorm(_ section: Section?) throws -> Float? {
        guard let section, section.has("clip_norm") else { return OptimizerConfiguration.recipeClipNorm }
        if case .scalar(let text, let kind, _)? = section.value("clip_norm"), kind == .string || kind == .bool {
            guard kind == .string, text == "none" else {
                throw RecipeError(section.location(of: "clip_norm"), "optimizer.clip_norm must be a positive number or 'none', got '\(text)'")
            }
            return nil
        }
        return try section.float("clip_norm", .aboveUpTo(0, RecipeLimits.maxFactor))
    }

    /// `seed: N` or `seeds: [distinct N, …]` (default: seed 0).
    static func seeds(_ root: Section) throws -> [UInt64] {
        if root.has("seed") && root.has("seeds") {
            throw RecipeError(root.location(of: "seed"), "give 'seed' or 'seeds', not both")
        }
        if let one = try root.int("seed", 0...Int.max) { return [UInt64(one)] }
        let list = try root.ints("seeds", 0...Int.max, count: 1...RecipeLimits.maxSeeds) ?? [0]
        if let i = list.indices.first(where: { list[..<$0].contains(list[$0]) }) {
            throw RecipeError(root.elementLocation("seeds", i), "seeds must be distinct; \(list[i]) appears twice")
        }
        return list.map { UInt64($0) }
    }

    /// The `evaluation:` section; evaluation runs about ten times over `epochs` unless `every` is given.
    static func evaluation(_ section: Section?, epochs: Int) throws -> EvaluationRecipe {
        try section?.checkKeys(["every", "divergences", "divergence_samples", "source_only_baseline", "plots", "plot_samples"])
        let divergences = try section?.choices("divergences", what: "divergence") ?? EvaluationRecipe.Divergence.allCases
        return EvaluationRecipe(
            every: try section?.int("every", 1...RecipeLimits.maxEpochs) ?? max(1, epochs / 10), divergences: divergences,
            divergenceSamples: try section?.int("divergence_samples", 4...RecipeLimits.maxBatchSize) ?? 500,
            sourceOnlyBaseline: try section?.bool("source_only_baseline") ?? false,
            plots: try section?.choices("plots", what: "plot") ?? RunPlots.Kind.allCases,
            plotSamples: try section?.int("plot_samples", 10...1000) ?? 500)
    }

    /// The `selection:` section (absent: every rule but `reverse_validation`, and the last checkpoint).
    /// `checkpoint: RULE` names an unsupervised rule that scores without training (or `last`); a rule
    /// it names that `rules` leaves out is added to them.
    static func selection(_ section: Section?) throws -> SelectionRecipe {
        try section?.checkKeys(["rules", "checkpoint"])
        var rules = try section?.choices("rules", what: "selection rule") ?? SelectionRecipe.defaultRules
        guard let section, let name = try section.string("checkpoint"), name != "last" else { return SelectionRecipe(rules: rules) }
        let location = section.location(of: "checkpoint")
        let known = ["last"] + SelectionRecipe.Rule.allCases.filter { $0 != .reverseValidation }.map(\.rawValue)
        let knownText = "known: \(known.joined(separator: ", "))"
        switch name {
        case "oracle":
            throw RecipeError(location, "selection.checkpoint cannot be 'oracle': it would pick the epoch by target labels (\(knownText))")
        case SelectionRecipe.Rule.reverseValidation.rawValue:
            throw RecipeError(location, "selection.checkpoint cannot be 'reverse_validation': it trains a second model at every evaluation (\(knownText))")
        default:
            guard let rule = SelectionRecipe.Rule(rawValue: name) else {
                throw RecipeError(location, "unknown checkpoint selection rule '\(name)' (\(knownText))", suggestion: closestName(to: name, among: known))
            }
            if !rules.contains(rule) { rules.append(rule) }
            return SelectionRecipe(rules: rules, checkpoint: rule)
        }
    }

    /// An existing file named by the recipe: absolute, or relative to the recipe's folder, then to the working directory.
    static func resolveFile(_ path: String, at location: RecipeLocation, what: String, directory: URL) throws -> String {
        let candidates = path.hasPrefix("/") ? [URL(fileURLWithPath: path)]
            : [directory.appendingPathComponent(path), URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path)]
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate.path) {
            return candidate.standardizedFileURL.path
        }
        throw RecipeError(location, "\(what) '\(path)' does not exist (looked in \(candidates.map { $0.deletingLastPathComponent().standardizedFileURL.path }.joined(separator: " and ")))")
    }

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
        let section = try Section.named(tree, path: "strategy")
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
