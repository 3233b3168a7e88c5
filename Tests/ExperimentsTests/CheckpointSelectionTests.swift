import Adaptation
import Experiments
import Foundation
import HDF5Kit
import XCTest

/// `selection: {checkpoint: RULE}`: scores at every evaluated epoch, the picked epoch reported and
/// written as `selected.h5`, `last` as before, resume, refused rules, and compare's gain and regret.
final class CheckpointSelectionTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-checkpoint-selection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func dakit(_ arguments: [String]) throws -> DakitProcess.Output {
        try DakitProcess.run(CommandLineTests.dakit(), arguments, in: directory)
    }

    /// Generated data of the size of `makeData()`'s file.
    static let generated = "generator: moons\n  rotation: 30\n  samples_per_class: 40\n  test_samples_per_class: 60"

    /// A tiny DANN recipe evaluated every epoch; `selection` is the recipe's selection line (or none).
    static func recipe(data: String = "file: moons.h5", selection: String?) -> String {
        """
        name: checkpoint-selection
        task: tiny-moons
        data:
          \(data)
        model:
          hidden: [8]
        strategies:
          - name: dann
            schedule: dann
        optimizer:
          lr: 0.05
        schedule: dann
        epochs: 6
        batch_size: 20
        seeds: [0]
        evaluation:
          every: 1
          divergence_samples: 40
        output: out/checkpoint
        """ + (selection.map { "\n" + $0 } ?? "")
    }

    func makeData() throws {
        let made = try dakit(["data", "make", "moons", "-o", "moons.h5", "--samples", "40", "--test-samples", "60", "--rotation", "30"])
        XCTAssertEqual(made.status, 0, made.stderr)
    }

    /// Runs `recipe` as `name.yaml` into the folder `name`; its report.
    func run(_ recipe: String, _ name: String) throws -> RunReport {
        try recipe.write(to: directory.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
        let result = try dakit(["run", "\(name).yaml", "--seed", "1", "--out", name])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try RunReport.load(directory.appendingPathComponent("\(name)/report.json"))
    }

    func testEntropyPicksTheLowestEntropyEpochAndWritesSelectedWeights() throws {
        try makeData()
        let report = try run(Self.recipe(selection: "selection: {checkpoint: entropy}"), "entropy")
        let entropies = try report.checkpointScores.map { try XCTUnwrap($0.scores.entropy) }
        let best = report.checkpointScores[entropies.indices.min { entropies[$0] < entropies[$1] }!]
        try checkPick(report, rule: "entropy", best: best, folder: "entropy")
    }

    /// SND (higher is better) picks an early epoch on this data: the reported model is not the last one.
    func testSNDPicksAnEarlierEpochThanTheLast() throws {
        try makeData()
        let report = try run(Self.recipe(selection: "selection: {checkpoint: snd}"), "snd")
        let snd = try report.checkpointScores.map { try XCTUnwrap($0.scores.snd) }
        let best = report.checkpointScores[snd.indices.max { snd[$0] < snd[$1] }!]
        XCTAssertLessThan(best.epoch, 6, "this test needs a pick before the last epoch")
        XCTAssertNotEqual(best.targetAccuracy, report.checkpointScores.last?.targetAccuracy)
        try checkPick(report, rule: "snd", best: best, folder: "snd")
    }

    /// The run reports the evaluation `best` as the pick of `rule`, describes it and writes it as selected.h5.
    func checkPick(_ report: RunReport, rule: String, best: CheckpointScores, folder: String) throws {
        XCTAssertEqual(report.checkpointScores.map(\.epoch), Array(1...6), "one entry per evaluated epoch")
        XCTAssertEqual(report.checkpointScores.map(\.targetAccuracy), report.epochs.map(\.targetAccuracy))
        XCTAssertEqual(report.checkpointScores.map(\.step), (1...6).map { $0 * 4 }, "4 steps per epoch")
        XCTAssertTrue(report.checkpointScores.allSatisfy { $0.scores.entropy != nil && $0.scores.snd != nil && $0.scores.reverseValidation == nil })

        let pick = try XCTUnwrap(report.checkpointSelection)
        XCTAssertEqual(pick.rule, rule)
        XCTAssertEqual(pick.pickedEpoch, best.epoch)
        XCTAssertEqual(pick.pickedTargetAccuracy, best.targetAccuracy)
        XCTAssertEqual(pick.lastEpoch, 6)
        XCTAssertEqual(pick.lastTargetAccuracy, report.checkpointScores.last?.targetAccuracy)
        let oracle = report.checkpointScores.max { $0.targetAccuracy! < $1.targetAccuracy! }!
        XCTAssertEqual(pick.oracleEpoch, oracle.epoch)
        XCTAssertEqual(pick.oracleTargetAccuracy, oracle.targetAccuracy)

        // The report describes the picked checkpoint.
        XCTAssertEqual(report.targetAccuracy, best.targetAccuracy)
        XCTAssertEqual(report.sourceAccuracy, best.sourceAccuracy)
        XCTAssertEqual(report.selection.entropy!, best.scores.entropy!, accuracy: 1e-9)
        let summary = try String(contentsOf: directory.appendingPathComponent("\(folder)/summary.txt"), encoding: .utf8)
        XCTAssertTrue(summary.contains("checkpoint: \(rule) picked epoch \(best.epoch) (target "), summary)
        XCTAssertTrue(summary.contains(", last epoch 6 ("), summary)
        let markdown = try String(contentsOf: directory.appendingPathComponent("\(folder)/summary.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("| picked (\(rule)) | \(best.epoch) |"), markdown)
        let page = try String(contentsOf: directory.appendingPathComponent("\(folder)/report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains("id=\"checkpoint-selection\""), "the run page's checkpoint table")
        XCTAssertTrue(page.contains("id=\"checkpoint-scores\""), "the run page's per-evaluation scores")

        // selected.h5 is the picked model; checkpoint.h5 stays the last step.
        let selected = try dakit(["evaluate", "\(folder)/selected.h5", "moons.h5", "--split", "targetTest"])
        XCTAssertEqual(selected.status, 0, selected.stderr)
        let expected = String(format: "accuracy %.4f   macro-F1 %.4f", report.targetAccuracy!, report.targetMacroF1!)
        XCTAssertTrue(selected.stdout.contains(expected), "\(expected) in\n\(selected.stdout)")
        let last = try dakit(["evaluate", "\(folder)/checkpoint.h5", "moons.h5", "--split", "targetTest"])
        XCTAssertEqual(last.status, 0, last.stderr)
        XCTAssertTrue(last.stdout.contains(String(format: "accuracy %.4f", pick.lastTargetAccuracy!)), last.stdout)
        let metadata = try Checkpoint.readAll(from: directory.appendingPathComponent("\(folder)/selected.h5")).metadata
        XCTAssertEqual(metadata["epoch"], String(best.epoch))
        XCTAssertEqual(metadata["step"], String(best.step))
        XCTAssertEqual(metadata["selection_rule"], rule)
        let predicted = try dakit(["predict", "\(folder)/selected.h5", "moons.h5", "-o", "p.csv"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
    }

    /// `last` (the default) reports what a run without the key reports; picking changes no training.
    func testLastChangesNothing() throws {
        try makeData()
        let picked = try run(Self.recipe(selection: "selection: {checkpoint: snd}"), "snd")
        let plain = try run(Self.recipe(selection: nil), "plain")
        let lastRun = try run(Self.recipe(selection: "selection: {checkpoint: last}"), "last")
        for other in [plain, lastRun] {
            XCTAssertNil(other.checkpointSelection)
            XCTAssertEqual(other.checkpointScores, [], "no per-evaluation scoring without a rule: it would only cost time")
            XCTAssertEqual(other.epochs.map(\.targetAccuracy), picked.epochs.map(\.targetAccuracy))
            XCTAssertEqual(other.targetAccuracy, picked.checkpointSelection?.lastTargetAccuracy)
            XCTAssertEqual(other.targetAccuracy, other.epochs.last?.targetAccuracy)
            XCTAssertEqual(other.target, plain.target)
        }
        XCTAssertEqual(lastRun.selection, plain.selection)
        for folder in ["plain", "last"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("\(folder)/selected.h5").path))
            let summary = try String(contentsOf: directory.appendingPathComponent("\(folder)/summary.txt"), encoding: .utf8)
            XCTAssertFalse(summary.contains("checkpoint:"), summary)
        }
    }

    func testOracleReverseValidationAndUnknownRulesAreRefused() throws {
        for (rule, message) in [
            ("oracle", "selection.checkpoint cannot be 'oracle'"), ("reverse_validation", "selection.checkpoint cannot be 'reverse_validation'"),
            ("entropie", "unknown checkpoint selection rule 'entropie'"),
        ] {
            try Self.recipe(data: "generator: moons", selection: "selection: {checkpoint: \(rule)}")
                .write(to: directory.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
            let result = try dakit(["run", "bad.yaml"])
            XCTAssertEqual(result.status, 2, result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.hasPrefix("error: bad.yaml:20:"), result.stderr)
            XCTAssertTrue(result.stderr.contains(message), result.stderr)
            if rule == "entropie" { XCTAssertTrue(result.stderr.contains("(did you mean 'entropy'?)"), result.stderr) }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("out").path))
    }

    func testRuleNamedOnlyInCheckpointIsAddedToTheRules() throws {
        let file = directory.appendingPathComponent("r.yaml")
        try Self.recipe(data: "generator: moons", selection: "selection: {rules: [dev], checkpoint: snd}")
            .write(to: file, atomically: true, encoding: .utf8)
        let recipe = try Recipe.load(file, registry: .builtIn)
        XCTAssertEqual(recipe.selection.rules, [.dev, .snd])
        XCTAssertEqual(recipe.selection.checkpoint, .snd)
        try Self.recipe(data: "generator: moons", selection: nil).write(to: file, atomically: true, encoding: .utf8)
        XCTAssertNil(try Recipe.load(file, registry: .builtIn).selection.checkpoint)
    }

    /// The best state so far travels in checkpoint.h5 (`/selected/`): a stopped and resumed run
    /// picks and reports what the uninterrupted run does.
    func testResumedRunKeepsTheSelection() throws {
        let file = directory.appendingPathComponent("r.yaml")
        let text = Self.recipe(data: Self.generated, selection: "selection: {checkpoint: snd}")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let runner = Runner(recipe: try Recipe.load(file, registry: .builtIn), registry: .builtIn)
        let full = try runner.run(seed: 2, output: directory.appendingPathComponent("full"))

        let folder = directory.appendingPathComponent("stopped")
        var steps = 0
        let stopped = try runner.run(seed: 2, output: folder, shouldStop: {
            steps += 1
            return steps == 16  // the end of epoch 4: no partial epoch to redo
        })
        XCTAssertEqual(stopped.status, "cancelled")
        let saved = try Checkpoint.readAll(from: folder.appendingPathComponent("checkpoint.h5"))
        XCTAssertTrue(saved.order.contains { $0.hasPrefix("selected.features.") }, "\(saved.order)")
        let resumed = try runner.run(seed: 2, output: folder, resume: true)

        XCTAssertEqual(resumed.checkpointScores.map(\.epoch), Array(1...6))
        XCTAssertEqual(resumed.checkpointScores.map(\.targetAccuracy), full.checkpointScores.map(\.targetAccuracy))
        XCTAssertEqual(resumed.checkpointSelection, full.checkpointSelection)
        XCTAssertEqual(resumed.targetAccuracy, full.targetAccuracy)
        XCTAssertEqual(resumed.target, full.target)
    }

    /// Reports written before checkpoint scores existed decode with none; compare shows gain and
    /// regret columns only when some run picked its checkpoint.
    func testOlderReportsAndCompareColumns() throws {
        let file = directory.appendingPathComponent("r.yaml")
        try Self.recipe(data: Self.generated, selection: "selection: {checkpoint: entropy}").write(to: file, atomically: true, encoding: .utf8)
        let runner = Runner(recipe: try Recipe.load(file, registry: .builtIn), registry: .builtIn)
        let report = try runner.run(seed: 0, output: directory.appendingPathComponent("run"))
        XCTAssertNotNil(report.checkpointSelection)

        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        XCTAssertNotNil(json["checkpoint_scores"], "snake_case key")
        json["checkpoint_scores"] = nil
        json["checkpoint_selection"] = nil
        let older = directory.appendingPathComponent("older.json")
        try JSONSerialization.data(withJSONObject: json).write(to: older)
        let decoded = try RunReport.load(older)
        XCTAssertEqual(decoded.checkpointScores, [])
        XCTAssertNil(decoded.checkpointSelection)

        var a = report, b = report
        b.seed = 1
        a.checkpointSelection = CheckpointSelection(
            rule: "entropy", pickedEpoch: 2, pickedTargetAccuracy: 0.80, lastEpoch: 6, lastTargetAccuracy: 0.75, oracleEpoch: 3, oracleTargetAccuracy: 0.90)
        b.checkpointSelection = CheckpointSelection(
            rule: "entropy", pickedEpoch: 6, pickedTargetAccuracy: 0.70, lastEpoch: 6, lastTargetAccuracy: 0.70, oracleEpoch: 4, oracleTargetAccuracy: 0.72)
        let summary = Comparison.summarize([(a, nil), (b, nil)], title: "t")
        XCTAssertEqual(summary.rows[0].checkpointGain!, (0.05 + 0) / 2, accuracy: 1e-12)
        XCTAssertEqual(summary.rows[0].checkpointRegret!, (0.10 + 0.02) / 2, accuracy: 1e-12)
        XCTAssertTrue(summary.markdown.contains("| checkpoint gain | checkpoint regret |"), summary.markdown)
        XCTAssertTrue(summary.markdown.contains("| +2.5 | +6.0 |\n"), summary.markdown)

        let without = Comparison.summarize([(decoded, nil)], title: "t")
        XCTAssertNil(without.rows[0].checkpointGain)
        XCTAssertFalse(without.markdown.contains("checkpoint gain"), without.markdown)
    }
}
