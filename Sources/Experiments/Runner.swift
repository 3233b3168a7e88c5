import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore

/// Everything a run trains with, built from a recipe: data, model, strategy terms, configuration.
public struct PreparedRun {
    /// The data as training reads it: in memory, or streamed from the recipe's file.
    public let data: TrainingData
    public let model: AdaptationModel
    public let terms: [StrategyTerm]
    public let configuration: TrainerConfiguration
    /// The recipe's `data.standardize` transform as fitted on this run's training pools (nil for
    /// `none`); `data` is already transformed, and the checkpoint stores it for inference.
    public var standardization: InputStandardization? = nil
    /// The results of the phases trained before this one (a recipe with `phases`); empty otherwise.
    public var earlierPhases: [PhaseResult] = []
}

/// What the runner reports while it works (the CLI turns these into progress lines).
public enum RunEvent {
    case phase(String)
    case training(TrainingEvent)
    /// After every training step: steps done so far.
    case step(Int)
}

/// Builds runs from recipes and executes them: dataset, model and strategies from a recipe and a
/// `StrategyRegistry`, training with `Trainer`, then `report.json`, `checkpoint.h5` and
/// `summary.txt` in the output folder.
public struct Runner {
    public let recipe: Recipe
    public let registry: StrategyRegistry

    public init(recipe: Recipe, registry: StrategyRegistry) {
        self.recipe = recipe
        self.registry = registry
    }

    // MARK: Building

    /// The recipe's dataset for `seed` (generated, or read from its HDF5 file), after the recipe's
    /// subsampling and label permutation.
    public func dataset(seed: UInt64) throws -> DomainDataset {
        var data: DomainDataset
        switch recipe.data.source {
        case .generator(let name, let options):
            do {
                data = try DataGenerators.make(name, options: options, seed: seed)
            } catch let error as StrategyError {
                throw RecipeError(recipe.locationOf("data"), "\(error)")
            }
        case .file(let path):
            // A bad data file is bad input (exit 2), reported at the recipe's `data.file` line.
            do {
                data = try DataGenerators.load(file: URL(fileURLWithPath: path))
            } catch let error as RecipeError {
                throw error
            } catch {
                throw RecipeError(recipe.locationOf("data.file"), "\(error)")
            }
        }
        let root = SeededGenerator(seed: seed).fork("recipe-subsample")
        if recipe.data.maxSourceSamples > 0 && recipe.data.maxSourceSamples < data.source.count {
            var rng = root.fork("source")
            data.source = data.source.subset(Array(rng.permutation(data.source.count).prefix(recipe.data.maxSourceSamples)))
        }
        if recipe.data.maxTargetSamples > 0 && recipe.data.maxTargetSamples < data.target.count {
            var rng = root.fork("target")
            data.target = data.target.subset(Array(rng.permutation(data.target.count).prefix(recipe.data.maxTargetSamples)))
        }
        if recipe.data.permuteSourceLabels {
            // A fixed derangement (y → y + 1 mod K): no source class keeps its label, so the source
            // teaches an unrelated task with the same inputs.
            let k = data.classCount
            func permuted(_ split: DomainSplit) -> DomainSplit { DomainSplit(x: split.x, y: split.y.map { $0.map { ($0 + 1) % k } }) }
            data.source = permuted(data.source)
            data.sourceValidation = data.sourceValidation.map(permuted)
            data.shiftDescription += "; source labels permuted (y → y+1 mod \(k)): unrelated task"
        }
        // What training and the estimators need (samples per domain, classes), after subsampling.
        do {
            switch recipe.data.source {
            case .file(let path): try data.validateForTraining(file: path)
            case .generator(let name, _): try data.validateForTraining(file: "data from generator \(name)")
            }
        } catch {
            throw RecipeError(recipe.locationOf("data"), "\(error)")
        }
        return data
    }

    /// Dataset (standardised as `data.standardize` says, fitted on the training pools), model (with
    /// pretrained weights), strategy terms and trainer configuration. With `phases`, these are the
    /// last phase's; every phase's strategies are built and checked here, but the earlier phases
    /// are trained by `run` (`trainEarlierPhases`), so preparing stays cheap.
    public func prepare(seed: UInt64) throws -> PreparedRun {
        let (data, standardization) = try trainingData(seed: seed).standardized(recipe.data.standardize)
        let root = SeededGenerator(seed: seed)
        var rng = root.fork("model")
        let model: AdaptationModel
        do {
            model = try AdaptationModel.make(inputShape: data.sampleShape, classCount: data.classCount, spec: recipe.model.spec, rng: &rng)
        } catch let error as ModelSpecError {
            throw RecipeError(recipe.locationOf("model.\(error.field)"), "\(error)")
        }
        if let weights = recipe.model.pretrained {
            do {
                try Checkpoint.load(into: model.state, from: URL(fileURLWithPath: weights), strict: false)
            } catch {
                throw RecipeError(recipe.locationOf("pretrained.weights"), "cannot load pretrained weights: \(error)")
            }
        }
        // The last phase's terms are built (and so checked) before any earlier phase trains.
        for (index, phase) in recipe.phases.dropLast().enumerated() {
            try checkSourceFree(try terms(phase.strategies, model: model, root: root), strategies: phase.strategies, phase: index)
        }
        let terms = try terms(recipe.strategies, model: model, root: root)
        try checkSourceFree(terms, strategies: recipe.strategies, phase: Swift.max(0, recipe.phases.count - 1))
        let configuration = trainerConfiguration(
            epochs: recipe.epochs, batchSize: recipe.batchSize, optimizer: recipe.optimizer, schedule: recipe.schedule, seed: seed,
            evaluationInterval: recipe.evaluation.every)
        return PreparedRun(data: data, model: model, terms: terms, configuration: configuration, standardization: standardization)
    }

    // MARK: Running

    /// Trains with `seed` and writes `report.json`, `checkpoint.h5`, `summary.txt`, `summary.md`
    /// (`RunMarkdown`), `metrics.csv` (`MetricsCSV`, also rewritten with every checkpoint), the
    /// diagnostic plots and, last, `report.html` (`ReportPage`, inlining the plots) into `output`.
    ///
    /// Data, model and strategies are built (and so validated) before anything is written; then
    /// the output folder is locked (`OutputLock`: a second writer is refused) and temporary files
    /// a killed writer left there are removed. `checkpoint.h5` (`RunCheckpoint`: weights, optimizer
    /// state and progress in one atomically renamed file) is written after every evaluated epoch,
    /// at a stop and before a non-finite stop.
    ///
    /// With `resume`, training continues from `output/checkpoint.h5` (an earlier run of the same
    /// recipe hash and seed) at the step where it stopped, with the same progress p, batch order and
    /// dropout masks as an uninterrupted run (`TrainerConfiguration.startStep`); when the folder has
    /// no checkpoint yet (the run was killed before its first one) it starts at step 0.
    ///
    /// With `selection.checkpoint` naming a rule, every evaluated epoch is also scored by the
    /// recipe's selection rules but reverse validation (`RunReport.checkpointScores`; not with
    /// `last`, the default, where the scoring would only cost time), and the model state at
    /// the evaluation it scores best is kept (in memory and in `checkpoint.h5`'s `/selected/` group,
    /// so `--resume` continues the selection) and, after training, loaded before the final
    /// evaluation: report.json's accuracies, per-class results, divergences after, selection scores
    /// and plots describe the picked checkpoint, which is written as `selected.h5` (the model part of
    /// a checkpoint: `dakit predict` and `evaluate` read it). `checkpoint.h5` stays the last step.
    /// A non-finite loss writes a report with status `failed` and rethrows the `TrainingError` (a
    /// `PhaseTrainingError` when a phase before the last stopped).
    public func run(
        seed: UInt64, output: URL, overrides: [String] = [], resume: Bool = false, shouldStop: @escaping () -> Bool = { false },
        events: (RunEvent) -> Void = { _ in }
    ) throws -> RunReport {
        let clock = ContinuousClock()
        let started = clock.now
        events(.phase("building data, model and strategies"))
        var prepared = try prepare(seed: seed)
        let lock = try OutputLock.acquire(output)
        defer { lock.release() }
        // A phased recipe: the phases before the last train first (again on --resume, whose
        // checkpoint then replaces their weights: their numbers are the report's).
        // A phase that stops on a non-finite loss (failed, see PhaseTrainingError) or by Ctrl-C
        // (cancelled) ends the run there.
        let (earlierPhases, phaseFailure, phaseCancelled) = try trainEarlierPhases(
            model: prepared.model, data: prepared.data, seed: seed, shouldStop: shouldStop, events: events)
        prepared.earlierPhases = earlierPhases
        let phaseEnded = phaseFailure != nil || phaseCancelled
        let checkpointURL = output.appendingPathComponent("checkpoint.h5")
        var picker = CheckpointPicker(rule: recipe.selection.checkpoint)
        let (earlier, stepOffset, trained) =
            phaseEnded
            ? ([], 0, true) : try resumeIfAsked(resume, checkpoint: checkpointURL, prepared: &prepared, picker: &picker, events: events)

        let data = prepared.data
        let measure = try DivergenceMeasure(runner: self, data: data, seed: seed)
        if measure.wanted { events(.phase("measuring divergences before training")) }
        let inputDivergence = try measure.input()
        let beforeDivergence = try measure.features(prepared.model)
        let plots = try RunPlots.Inputs(recipe.evaluation, data: data, seed: seed, before: prepared.model)

        let modelInfo = CheckpointModelInfo(
            spec: recipe.model.spec, inputShape: data.sampleShape, classNames: data.classNames, recipeHash: recipe.hash,
            standardization: prepared.standardization)
        let trainer = Trainer(model: prepared.model, data: data, configuration: prepared.configuration, strategies: prepared.terms)
        var thisCall: [EpochMetrics] = []
        var stepCount = 0
        var scoredEpoch = 0
        if !phaseEnded { events(.phase("training")) }
        var failure: Error? = phaseFailure
        var result: TrainingResult?
        do {
            // A run killed after its last checkpoint (while writing its reports) only needs the reports.
            if !trained { result = try trainer.run(
                shouldStop: {
                    stepCount += 1
                    events(.step(stepOffset + stepCount))
                    return shouldStop()
                },
                observer: { event in
                    if case .epochFinished(let metrics) = event { thisCall.append(metrics) }
                    events(.training(event))
                },
                checkpoint: { snapshot in
                    // An evaluation of the model as it is now, unless this is a non-finite stop (no new evaluated epoch).
                    if picker.rule != nil, let evaluated = snapshot.epochs.last, evaluated.sourceAccuracy != nil, evaluated.epoch > scoredEpoch {
                        scoredEpoch = evaluated.epoch
                        try scoreCheckpoint(evaluated, step: snapshot.step, model: prepared.model, data: data, seed: seed, into: &picker)
                    }
                    var state = RunCheckpoint.State(
                        recipeHash: recipe.hash, seed: seed, epochsDone: snapshot.epochs.last?.epoch ?? earlier.last?.epoch ?? 0,
                        steps: snapshot.step, epochs: Runner.merged(earlier, snapshot.epochs), finished: snapshot.finished)
                    state.checkpointScores = picker.scores
                    state.selectedStep = picker.best?.entry.step
                    try RunCheckpoint.save(snapshot, state: state, model: modelInfo, selected: picker.pickedState ?? [], to: checkpointURL)
                    try MetricsCSV.write(state.epochs, into: output)
                }) }
        } catch let error as TrainingError {
            failure = error
        }

        // Final evaluation (also after a failure: the model holds the last good step), of the picked checkpoint when there is one.
        let model = prepared.model
        let picked = try loadPick(picker, into: model, events: events)
        let batchSize = prepared.configuration.evaluationBatchSize
        let sourceReport = try (picked ? nil : result?.finalSource) ?? Runner.report(model, data.sourceEvaluation, batchSize: batchSize)!
        let targetReport = try (picked || result == nil)
            ? data.targetEvaluation.flatMap { try Runner.report(model, $0, batchSize: batchSize) } : result!.finalTarget
        if picker.selection != nil { try writeSelected(model, info: modelInfo, picker: picker, into: output) }
        if measure.wanted { events(.phase("measuring divergences after training")) }
        let afterDivergence = try measure.features(model)
        var selection = try selectionScores(model, rules: recipe.selection.rules, data: data, seed: seed)
        selection.sourceValidation = sourceReport.accuracy
        let baseline = failure == nil && !phaseCancelled ? try sourceOnlyBaseline(seed: seed, shouldStop: shouldStop, events: events) : nil

        let status = failure != nil ? "failed" : (phaseCancelled || result?.cancelled == true ? "cancelled" : "completed")
        var runReport = RunReport(
            dakitVersion: DAKitVersion.string, recipe: recipe.file, recipeName: recipe.name, recipeHash: recipe.hash, task: recipe.task,
            strategy: recipe.strategyLabel, seed: seed, overrides: overrides, status: status, error: failure.map { "\($0)" },
            sourceAccuracy: sourceReport.accuracy, targetAccuracy: targetReport?.accuracy, sourceMacroF1: sourceReport.macroF1,
            targetMacroF1: targetReport?.macroF1, source: sourceReport, target: targetReport, sourceOnlyTargetAccuracy: baseline,
            epochs: Runner.merged(earlier, thisCall), steps: result?.steps ?? stepOffset + stepCount,
            divergences: measure.wanted
                ? DivergenceReport(input: inputDivergence, before: beforeDivergence, after: afterDivergence, samples: measure.samples)
                : nil,
            selection: selection,
            dataset: RunReport.DatasetSummary(
                shift: data.shiftDescription, classNames: data.classNames, sourceCount: data.source.count, targetCount: data.target.count,
                sourceEvaluation: result?.sourceEvaluationSplit ?? data.sourceEvaluation.name,
                targetEvaluation: result?.targetEvaluationSplit ?? data.targetEvaluation?.name ?? (data.targetTest == nil ? "target" : "targetTest"),
                grantedTargetLabels: result?.grantedTargetLabels ?? 0),
            wallSeconds: seconds(started.duration(to: clock.now)), trainSeconds: result?.wallSeconds ?? 0, resolvedRecipe: recipe.resolved,
            checkpointScores: picker.scores, checkpointSelection: picker.selection)
        runReport.phases = phaseResults(
            earlier: prepared.earlierPhases, steps: runReport.steps, source: sourceReport, target: targetReport, trainSeconds: runReport.trainSeconds,
            stopped: phaseFailure, cancelledEarlier: phaseCancelled)
        try plots.write(report: runReport, after: model, into: output)
        try writeAtomically(try runReport.jsonData(), to: output.appendingPathComponent("report.json"))
        try writeAtomically(Data(Runner.summary(runReport).utf8), to: output.appendingPathComponent("summary.txt"))
        try MetricsCSV.write(runReport.epochs, into: output)
        try RunMarkdown.write(runReport, into: output)
        try ReportPage.writeRun(runReport, into: output)  // last: it inlines the folder's plots
        if let failure { throw failure }
        return runReport
    }

    /// With `resume` and a checkpoint in the folder: the stopped run's epochs and step, with
    /// `prepared` set to continue there (weights, optimizer state, start step); else nothing.
    /// `picker` continues the stopped run's checkpoint selection.
    private func resumeIfAsked(
        _ resume: Bool, checkpoint: URL, prepared: inout PreparedRun, picker: inout CheckpointPicker, events: (RunEvent) -> Void
    ) throws -> (epochs: [EpochMetrics], steps: Int, trained: Bool) {
        guard resume else { return ([], 0, false) }
        guard FileManager.default.fileExists(atPath: checkpoint.path) else {
            events(.phase("--resume: no checkpoint in \(checkpoint.deletingLastPathComponent().path) yet (stopped before its first one); starting at step 0"))
            return ([], 0, false)
        }
        let saved = try resumePoint(checkpoint, prepared: prepared)
        var configuration = prepared.configuration
        if !saved.finished {
            configuration.startStep = saved.steps
            configuration.initialOptimizerState = saved.optimizerState
        }
        prepared = PreparedRun(
            data: prepared.data, model: prepared.model, terms: prepared.terms, configuration: configuration, standardization: prepared.standardization,
            earlierPhases: prepared.earlierPhases)
        picker.restore(scores: saved.checkpointScores, bestStep: saved.selectedStep, tensors: saved.selected, model: prepared.model)
        if saved.finished {
            events(.phase("the run finished training (step \(saved.steps)) but stopped before its reports; writing them"))
        } else {
            events(.phase("resuming at step \(saved.steps) (after epoch \(saved.epochsDone) of \(recipe.epochs))"))
        }
        return (saved.epochs, saved.steps, saved.finished)
    }

    /// Epochs of the run so far: an interrupted run's, then this call's (a resumed epoch that the
    /// interrupted run had begun replaces its partial entry).
    static func merged(_ earlier: [EpochMetrics], _ later: [EpochMetrics]) -> [EpochMetrics] {
        guard let first = later.first?.epoch else { return earlier }
        return earlier.filter { $0.epoch < first } + later
    }

    /// Where `--resume` continues: the checkpoint's progress (checked against this recipe and seed),
    /// its weights loaded into the prepared model and strategies, its optimizer state.
    private func resumePoint(_ url: URL, prepared: PreparedRun) throws -> (
        epochs: [EpochMetrics], steps: Int, epochsDone: Int, optimizerState: [String: Tensor], checkpointScores: [CheckpointScores],
        selectedStep: Int?, selected: [String: Tensor], finished: Bool
    ) {
        let saved: RunCheckpoint.Loaded
        do {
            saved = try RunCheckpoint.load(url)
        } catch let error as HDF5Error {
            throw ExperimentError.invalid("--resume: cannot read the checkpoint: \(error)")
        }
        let state = saved.state
        guard state.recipeHash == recipe.hash, state.seed == UInt64(prepared.configuration.seed) else {
            throw ExperimentError.invalid(
                "--resume: \(url.path) holds a run of recipe hash \(state.recipeHash) seed \(state.seed), not \(recipe.hash) seed \(prepared.configuration.seed) "
                    + "(the recipe or a --set differs from the stopped run's)")
        }
        // Finished training: nothing to resume when its completed report is there; else (killed while
        // writing its reports) the weights are loaded and the reports written.
        let report = try? RunReport.load(url.deletingLastPathComponent().appendingPathComponent("report.json"))
        if state.finished, let report, report.status == "completed", report.recipeHash == recipe.hash, report.seed == state.seed {
            throw ExperimentError.invalid("--resume: the run in \(url.deletingLastPathComponent().path) already finished all \(recipe.epochs) epochs")
        }
        let trainer = Trainer(model: prepared.model, data: prepared.data, configuration: prepared.configuration, strategies: prepared.terms)
        do {
            try Checkpoint.assign(saved.parameters, into: trainer.state, file: url.path)
        } catch let error as HDF5Error {
            throw ExperimentError.invalid("--resume: the checkpoint does not fit this recipe's model: \(error)")
        }
        return (
            state.epochs, state.steps, state.epochsDone, saved.optimizerState, state.checkpointScores ?? [], state.selectedStep, saved.selected,
            state.finished
        )
    }

    private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

    // MARK: Summary

    /// The one-screen summary printed at the end of `dakit run`.
    public static func summary(_ r: RunReport) -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", $0 * 100) } ?? "—" }
        func num(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "—" }
        var lines: [String] = []
        lines.append("\(r.recipeName) · strategy \(r.strategy) · seed \(r.seed) · recipe \(r.recipeHash) · \(r.status)")
        lines.append("data: \(r.dataset.shift); \(r.dataset.sourceCount) source / \(r.dataset.targetCount) target training samples")
        lines.append("")
        lines.append("            accuracy   macro-F1")
        lines.append("  source" + pct(r.sourceAccuracy).leftPadded(12) + num(r.sourceMacroF1).leftPadded(11) + "   (\(r.dataset.sourceEvaluation))")
        lines.append("  target" + pct(r.targetAccuracy).leftPadded(12) + num(r.targetMacroF1).leftPadded(11) + "   (\(r.dataset.targetEvaluation ?? "no labels"))")
        if let base = r.sourceOnlyTargetAccuracy {
            let gain = r.targetAccuracy.map { String(format: "%+.1f points", ($0 - base) * 100) } ?? "—"
            lines.append("  source-only baseline, target: \(pct(base))  → gain \(gain)")
        }
        lines += perClassLines(r)
        if let d = r.divergences {
            lines.append("")
            lines.append("  divergence   input    before   after  (features, \(d.samples) samples per domain)")
            for (name, pick) in [("MMD²", \DivergenceValues.mmd), ("CORAL", \DivergenceValues.coral), ("PAD", \DivergenceValues.pad)] {
                guard d.input[keyPath: pick] != nil else { continue }
                lines.append("  " + name.padding(toLength: 10, withPad: " ", startingAt: 0) + num(d.input[keyPath: pick]).leftPadded(8)
                    + num(d.before[keyPath: pick]).leftPadded(9) + num(d.after[keyPath: pick]).leftPadded(8))
            }
        }
        lines.append("")
        lines.append("  selection: source validation \(pct(r.selection.sourceValidation)), target entropy \(num(r.selection.entropy))"
            + [("DEV", r.selection.dev), ("SND", r.selection.snd), ("IM", r.selection.im), ("IWV", r.selection.iwv)]
                .compactMap { name, v in v.map { ", \(name) \(String(format: "%.4f", $0))" } }.joined()
            + (r.selection.reverseValidation.map { ", reverse validation \(pct($0))" } ?? ""))
        if let c = r.checkpointSelection { lines.append("  " + Runner.checkpointLine(c)) }
        if let phases = r.phases {
            lines.append("  phases: " + phases.map { "\($0.name) (\($0.strategy), \($0.epochs) epochs) target \(pct($0.targetAccuracy)), source \(pct($0.sourceAccuracy))" }
                .joined(separator: " → "))
        }
        lines.append(String(format: "  %d epochs, %d steps, %.1f s (training %.1f s)", r.epochs.count, r.steps, r.wallSeconds, r.trainSeconds))
        if let error = r.error { lines.append("  error: \(error)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Runner {
    /// `checkpoint: snd picked epoch 40 (target 91.2 %), last epoch 100 (89.0 %), oracle epoch 60 (92.5 %)`.
    static func checkpointLine(_ c: CheckpointSelection) -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f %%", $0 * 100) } ?? "—" }
        return "checkpoint: \(c.rule) picked epoch \(c.pickedEpoch)" + (c.pickedTargetAccuracy.map { " (target \(pct($0)))" } ?? "")
            + ", last epoch \(c.lastEpoch)" + (c.lastTargetAccuracy.map { " (\(pct($0)))" } ?? "")
            + (c.oracleEpoch.map { epoch in ", oracle epoch \(epoch) (\(pct(c.oracleTargetAccuracy)))" } ?? "")
    }

    /// Classes listed per class in the summary; more are left to report.json.
    static let summaryClassLimit = 30

    /// Per-class accuracy (recall) and F1 on the source and target evaluation splits, under the
    /// class names: a class the model fails shows here even when the overall accuracy hides it.
    static func perClassLines(_ r: RunReport) -> [String] {
        let names = r.dataset.classNames
        guard names.count == r.source.perClassF1.count else { return [] }
        let width = max(5, names.prefix(summaryClassLimit).map(\.count).max() ?? 5)
        func pct(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
        func num(_ v: Double) -> String { String(format: "%.4f", v) }
        var lines = ["", "  " + "class".padding(toLength: width, withPad: " ", startingAt: 0) + "   source acc  source F1"
            + (r.target != nil ? "   target acc  target F1" : "")]
        for (c, name) in names.enumerated().prefix(summaryClassLimit) {
            var line = "  " + name.padding(toLength: width, withPad: " ", startingAt: 0)
                + pct(r.source.perClassAccuracy[c]).leftPadded(13) + num(r.source.perClassF1[c]).leftPadded(11)
            if let target = r.target, c < target.perClassF1.count {
                line += pct(target.perClassAccuracy[c]).leftPadded(13) + num(target.perClassF1[c]).leftPadded(11)
            }
            lines.append(line)
        }
        if names.count > summaryClassLimit { lines.append("  … \(names.count - summaryClassLimit) more classes in report.json") }
        return lines
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

extension Recipe {
    /// The location of a dotted key in the recipe, for errors raised after validation.
    func locationOf(_ path: String) -> RecipeLocation {
        RecipeLocation(file: file, line: locations[path] ?? 0)
    }
}
