import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore

/// Selection over the checkpoints of one run: the scores of every evaluated epoch, and an
/// in-memory copy of the model state (parameters and BatchNorm running statistics, `model.state`)
/// at the evaluation that `rule` scores best so far.
///
/// Ties keep the earlier epoch. An evaluation where the rule has no finite score (DEV without a
/// source validation split) is not a candidate; when none is, the pick is the last evaluation.
/// The oracle (highest target accuracy) is recorded for the report only: it never picks.
///
/// The best copy travels in `checkpoint.h5` (`RunCheckpoint`, under `/selected/`), so `--resume`
/// continues the selection where the stopped run left it.
struct CheckpointPicker {
    /// The picked model, in the run folder.
    static let fileName = "selected.h5"
    /// nil: `last`, nothing is copied.
    let rule: SelectionRecipe.Rule?
    private(set) var scores: [CheckpointScores] = []
    /// The best evaluation so far and the model state there (copies).
    private(set) var best: (entry: CheckpointScores, state: [NamedParameter])?

    init(rule: SelectionRecipe.Rule?) { self.rule = rule }

    /// Records the evaluation `entry` of `model` in its current state; copies the state when the rule prefers it.
    /// A resumed epoch that the stopped run had begun replaces its partial entry (a pick made there stays).
    mutating func record(_ entry: CheckpointScores, model: AdaptationModel) {
        scores.removeAll { $0.epoch >= entry.epoch }
        scores.append(entry)
        guard let rule, let score = rule.score(entry.scores) else { return }
        if let best, let bestScore = rule.score(best.entry.scores), !rule.prefers(score, over: bestScore) { return }
        best = (entry, model.state.map { NamedParameter(path: $0.path, parameter: Parameter($0.parameter.value)) })
    }

    /// Continues a stopped run's selection: its scores and its best state (`tensors`, by model
    /// path) at `step`; a best state that does not fit `model` is dropped.
    mutating func restore(scores earlier: [CheckpointScores], bestStep: Int?, tensors: [String: Tensor], model: AdaptationModel) {
        scores = earlier
        guard rule != nil, let bestStep, let entry = earlier.last(where: { $0.step == bestStep }) else { return }
        let state = model.state.compactMap { p in
            tensors[p.path].flatMap { $0.shape == p.parameter.shape ? NamedParameter(path: p.path, parameter: Parameter($0)) : nil }
        }
        if state.count == model.state.count { best = (entry, state) }
    }

    /// The model state at the pick; nil for `last` or before any scored evaluation.
    var pickedState: [NamedParameter]? { best?.state }

    /// The pick against the last evaluation and the oracle's; nil for `last` or without evaluations.
    var selection: CheckpointSelection? {
        guard let rule, let last = scores.last else { return nil }
        let picked = best?.entry ?? last
        let oracle = scores.filter { $0.targetAccuracy != nil }.max { $0.targetAccuracy! < $1.targetAccuracy! }
        return CheckpointSelection(
            rule: rule.rawValue, pickedEpoch: picked.epoch, pickedTargetAccuracy: picked.targetAccuracy, lastEpoch: last.epoch,
            lastTargetAccuracy: last.targetAccuracy, oracleEpoch: oracle?.epoch, oracleTargetAccuracy: oracle?.targetAccuracy)
    }
}

extension Runner {
    /// Scores the model at the evaluated epoch `evaluated` (`step` steps done) with the recipe's
    /// rules that train nothing, and records it in `picker`.
    func scoreCheckpoint(
        _ evaluated: EpochMetrics, step: Int, model: AdaptationModel, data: TrainingData, seed: UInt64, into picker: inout CheckpointPicker
    ) throws {
        var scores = try selectionScores(model, rules: recipe.selection.rules.filter { $0 != .reverseValidation }, data: data, seed: seed)
        // As for the final model: source validation is the evaluated source accuracy.
        scores.sourceValidation = evaluated.sourceAccuracy
        picker.record(
            CheckpointScores(epoch: evaluated.epoch, step: step, scores: scores, sourceAccuracy: evaluated.sourceAccuracy,
                targetAccuracy: evaluated.targetAccuracy),
            model: model)
    }

    /// Loads the picked checkpoint's state into `model`; false when there is none (`last`, or no scored evaluation).
    func loadPick(_ picker: CheckpointPicker, into model: AdaptationModel, events: (RunEvent) -> Void) throws -> Bool {
        guard let state = picker.pickedState, let pick = picker.selection else { return false }
        events(.phase("loading the checkpoint \(pick.rule) picked: epoch \(pick.pickedEpoch) of \(pick.lastEpoch)"))
        let saved = Dictionary(uniqueKeysWithValues: state.map { ($0.path, $0.parameter.value) })
        try Checkpoint.assign(saved, into: model.state, file: "the picked checkpoint")
        return true
    }

    /// `selected.h5`: the model (as `model` holds it now, the pick) with its description, in the
    /// layout of `checkpoint.h5`'s model part, written atomically.
    func writeSelected(_ model: AdaptationModel, info: CheckpointModelInfo, picker: CheckpointPicker, into output: URL) throws {
        guard let pick = picker.selection else { return }
        let step = picker.best?.entry.step ?? picker.scores.last?.step ?? 0
        try Checkpoint.save(
            model.state, to: output.appendingPathComponent(CheckpointPicker.fileName),
            metadata: info.metadata.merging([
                "recipe_hash": recipe.hash, "step": String(step), "epoch": String(pick.pickedEpoch), "selection_rule": pick.rule,
            ]) { described, _ in described })
    }
}
