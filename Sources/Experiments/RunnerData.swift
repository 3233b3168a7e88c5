import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore

extension Runner {
    /// The recipe's data for `seed` as training reads it: streamed from its file when the recipe
    /// says `streaming: true`, or, when it says nothing, when the file's `x` datasets exceed
    /// `StreamingDomainFile.memoryBudgetBytes` (1 GiB as Float32) and no option needs the data in
    /// memory; otherwise `dataset(seed:)` in memory.
    public func trainingData(seed: UInt64) throws -> TrainingData {
        guard case .file(let path) = recipe.data.source, try streams(path) else { return TrainingData(try dataset(seed: seed)) }
        do {
            return try StreamingDomainFile.open(URL(fileURLWithPath: path))
        } catch {
            throw RecipeError(recipe.locationOf("data.file"), "\(error)")
        }
    }

    /// Whether the data file at `path` is streamed (see `trainingData(seed:)`).
    func streams(_ path: String) throws -> Bool {
        let needsMemory = recipe.data.maxSourceSamples > 0 || recipe.data.maxTargetSamples > 0 || recipe.data.permuteSourceLabels
        if recipe.data.streaming == true && needsMemory {
            throw RecipeError(recipe.locationOf("data.streaming"),
                "streaming reads the file as it is; max_source_samples, max_target_samples and permute_source_labels need it in memory")
        }
        if let asked = recipe.data.streaming { return asked }
        guard !needsMemory else { return false }
        do {
            return try StreamingDomainFile.inMemoryBytes(URL(fileURLWithPath: path)) > StreamingDomainFile.memoryBudgetBytes
        } catch {
            throw RecipeError(recipe.locationOf("data.file"), "\(error)")
        }
    }

    /// Accuracy and macro-F1 of `model` on `set`, read in chunks.
    static func report(_ model: AdaptationModel, _ set: EvaluationSet, batchSize: Int = 512) throws -> ClassificationReport? {
        guard !set.labels.isEmpty else { return nil }
        return ClassificationReport(predictions: try model.predict(set.inputs, batchSize: batchSize), labels: set.labels, classCount: model.classCount)
    }

    /// Unsupervised selection scores; no target label is used. Entropy and IM read the whole target
    /// pool; SND reads `2 · divergence_samples` seeded target rows (it is quadratic in their number);
    /// DEV and IWV read `2 · divergence_samples` rows of each split.
    func selectionScores(_ model: AdaptationModel, rules: [SelectionRecipe.Rule], data: TrainingData, seed: UInt64) throws -> SelectionScores {
        var selection = SelectionScores()
        if rules.contains(.entropy) || rules.contains(.im) {
            let logits = try model.logits(data.target)
            if rules.contains(.entropy) { selection.entropy = ModelSelection.meanEntropy(logits: logits) }
            if rules.contains(.im) { selection.im = ModelSelection.informationMaximization(logits: logits) }
        }
        let samples = recipe.evaluation.divergenceSamples
        if rules.contains(.snd), data.target.count >= 2 {
            var rng = SeededGenerator(seed: seed).fork("snd-samples")
            let rows = Array(rng.permutation(data.target.count).prefix(2 * samples))
            selection.snd = ModelSelection.softNeighborhoodDensity(logits: model.logits(try data.target.inputs(rows: rows)))
        }
        if rules.contains(.reverseValidation) { selection.reverseValidation = try reverseValidation(model, data: data, seed: seed) }
        let validation = data.sourceEvaluation
        guard rules.contains(.dev) || rules.contains(.iwv), validation.name == "sourceValidation", validation.labels.count >= 2 else {
            return selection
        }
        var rng = SeededGenerator(seed: seed).fork("dev-samples")
        let trainRows = Array(rng.permutation(data.source.count).prefix(2 * samples))
        let targetRows = Array(rng.permutation(data.target.count).prefix(2 * samples))
        let validationRows = Array(rng.permutation(validation.inputs.count).prefix(2 * samples))
        let validationX = try validation.inputs.inputs(rows: validationRows)
        let dev = ModelSelection.deepEmbeddedValidation(
            sourceTrainingFeatures: model.representation(try data.source.inputs(rows: trainRows)),
            sourceValidationFeatures: model.representation(validationX), sourceValidationLogits: model.logits(validationX),
            sourceValidationLabels: validationRows.map { validation.labels[$0] },
            targetFeatures: model.representation(try data.target.inputs(rows: targetRows)))
        if rules.contains(.dev) { selection.dev = dev.risk }
        if rules.contains(.iwv) { selection.iwv = dev.weightedRisk }
        return selection
    }

    /// Reverse validation (Zhong, Fan, Yang, Verscheure, Ren, ECML PKDD 2010, "Cross Validation
    /// Framework to Choose amongst Models and Datasets for Transfer Learning"; Ganin et al., JMLR 2016,
    /// §5.1.2): pseudo-label the target pool with `model`, ŷ_j = argmax_k f(x_j)_k; train a fresh model
    /// of the recipe's architecture (random initialisation, no pretrained weights, nothing frozen) on
    /// {(x_j, ŷ_j)} with the recipe's optimizer, learning-rate schedule and batch size, no strategy, for
    /// half the recipe's epochs (at least one), seeded by a fork of `seed`; then
    ///
    ///     RV = (1/n) Σ_i [argmax_k f_rev(x_i)_k = y_i]   over the labelled source validation split
    ///
    /// (higher is better): a model whose target labelling is consistent with the source's transfers
    /// back. The reverse model's unlabelled pool is the target itself (a source-only loop never reads
    /// it). Reads the whole target pool into memory. nil without a source validation split or when
    /// the reverse training diverges.
    func reverseValidation(_ model: AdaptationModel, data: TrainingData, seed: UInt64) throws -> Double? {
        let validation = data.sourceEvaluation
        guard validation.name == "sourceValidation", !validation.labels.isEmpty, data.target.count > 0 else { return nil }
        let targetX = try data.target.inputs(rows: Array(0..<data.target.count))
        let reverseData = TrainingData(
            source: LabelledDomain(inputs: InMemorySource(targetX), labels: model.predict(targetX)), target: InMemorySource(targetX),
            targetLabels: nil, classNames: data.classNames, shiftDescription: "reverse validation: the target with pseudo-labels")
        var rng = SeededGenerator(seed: seed).fork("reverse-validation")
        let reverse = try AdaptationModel.make(inputShape: data.sampleShape, classCount: data.classCount, spec: recipe.model.spec, rng: &rng)
        let epochs = max(1, recipe.epochs / 2)
        let configuration = TrainerConfiguration(
            epochs: epochs, batchSize: recipe.batchSize, optimizer: recipe.optimizer, learningRateSchedule: recipe.schedule,
            seed: rng.next(), evaluationInterval: epochs)
        do {
            _ = try Trainer(model: reverse, data: reverseData, configuration: configuration, strategies: []).run()
        } catch TrainingError.nonFinite {
            return nil
        }
        return try Runner.report(reverse, validation)?.accuracy
    }

    /// The target accuracy of the same recipe without strategies, when the recipe asks for it.
    func sourceOnlyBaseline(seed: UInt64, shouldStop: @escaping () -> Bool, events: (RunEvent) -> Void) throws -> Double? {
        guard recipe.evaluation.sourceOnlyBaseline && !recipe.strategies.isEmpty else { return nil }
        events(.phase("training the source-only baseline"))
        var plain = recipe
        plain.strategies = []
        let base = try Runner(recipe: plain, registry: registry).prepare(seed: seed)
        let result = try Trainer(model: base.model, data: base.data, configuration: base.configuration, strategies: []).run(shouldStop: shouldStop)
        return result.finalTarget?.accuracy
    }
}

/// Divergences between `divergence_samples` rows of each domain's evaluation split (held-out
/// source, else source; target test, else the target pool), on the inputs and on the model's
/// features: the same rows before and after training, drawn once from the seed.
struct DivergenceMeasure {
    let recipe: Recipe
    let wanted: Bool
    let seed: UInt64
    let sourceSample: Tensor
    let targetSample: Tensor
    var samples: Int { Swift.min(sourceSample.shape[0], targetSample.shape[0]) }

    init(runner: Runner, data: TrainingData, seed: UInt64) throws {
        recipe = runner.recipe
        wanted = !recipe.evaluation.divergences.isEmpty
        self.seed = seed
        let samples = recipe.evaluation.divergenceSamples
        let source = data.sourceEvaluation.inputs
        let target = data.targetTest ?? data.target
        var rng = SeededGenerator(seed: seed).fork("divergence-samples")
        let sourceRows = Array(rng.permutation(source.count).prefix(samples))
        let targetRows = Array(rng.permutation(target.count).prefix(samples))
        sourceSample = try source.inputs(rows: sourceRows)
        targetSample = try target.inputs(rows: targetRows)
    }

    /// On the inputs (empty when the recipe asks for none).
    func input() throws -> DivergenceValues { wanted ? values(sourceSample, targetSample) : DivergenceValues() }

    /// On `model`'s features.
    func features(_ model: AdaptationModel) throws -> DivergenceValues {
        guard wanted else { return DivergenceValues() }
        return values(model.representation(sourceSample, layer: .features), model.representation(targetSample, layer: .features))
    }

    private func values(_ source: Tensor, _ target: Tensor) -> DivergenceValues {
        let s = source.rank > 2 ? source.reshaped([source.shape[0], source.count / source.shape[0]]) : source
        let t = target.rank > 2 ? target.reshaped([target.shape[0], target.count / target.shape[0]]) : target
        var values = DivergenceValues()
        let kinds = Set(recipe.evaluation.divergences)
        if kinds.contains(.mmd) {
            values.mmd = Double(MMD.value(source: s, target: t, kernel: .gaussian(.median(multipliers: [1])), estimator: .unbiased))
        }
        if kinds.contains(.coral) { values.coral = Double(CORAL.distance(source: s, target: t)) }
        if kinds.contains(.pad) { values.pad = ProxyADistance.estimate(source: s, target: t, seed: seed).distance }
        return values
    }
}
