import Adaptation
import Experiments
import Foundation
import XCTest

/// `compare --collect` on hand-made reports: means, standard deviations, gains, NTG, forgetting
/// and selections checked against values worked out by hand.
final class ComparisonTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-compare-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A report whose accuracies are exactly `target` and `source` (on 100 samples each).
    func report(task: String, strategy: String, seed: UInt64, target: Double, source: Double, entropy: Double, status: String = "completed") -> RunReport {
        func classification(_ accuracy: Double) -> ClassificationReport {
            let correct = Int((accuracy * 100).rounded())
            let labels = (0..<100).map { $0 % 2 }
            let predictions = labels.enumerated().map { $0.offset < correct ? $0.element : 1 - $0.element }
            return ClassificationReport(predictions: predictions, labels: labels, classCount: 2)
        }
        let t = classification(target), s = classification(source)
        return RunReport(
            dakitVersion: "test", recipe: "r.yaml", recipeName: strategy, recipeHash: "h", task: task, strategy: strategy, seed: seed, overrides: [],
            status: status, error: nil, sourceAccuracy: s.accuracy, targetAccuracy: t.accuracy, sourceMacroF1: s.macroF1, targetMacroF1: t.macroF1,
            source: s, target: t, sourceOnlyTargetAccuracy: nil, epochs: [], steps: 10,
            divergences: DivergenceReport(input: DivergenceValues(mmd: 0.5), before: DivergenceValues(mmd: 0.4, pad: 1), after: DivergenceValues(mmd: Double(seed) / 10, pad: 0.5), samples: 10),
            selection: SelectionScores(sourceValidation: s.accuracy, entropy: entropy, dev: nil),
            dataset: .init(shift: "test", classNames: ["a", "b"], sourceCount: 100, targetCount: 100, sourceEvaluation: "sourceValidation", targetEvaluation: "targetTest", grantedTargetLabels: 0),
            wallSeconds: 1, trainSeconds: 1, resolvedRecipe: .object(["data": .object(["rotation": .number(task == "far" ? 90 : 30)])]))
    }

    func save(_ r: RunReport) throws {
        let url = directory.appendingPathComponent("runs/\(r.task)/\(r.strategy)/seed-\(r.seed)/report.json")
        try writeAtomically(try r.jsonData(), to: url)
    }

    /// A phased recipe listed first for its task: the baselines drop its phases (they train the
    /// top-level, source-phase keys), so no baseline runs a later phase's strategy under its label.
    func testBaselinesOfAPhasedRecipeDropItsPhases() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shot = root.appendingPathComponent("Recipes/moons-shot.yaml").path
        let (plan, _) = try CompareTool.plan(
            CompareToolOptions(recipes: [shot], seeds: 1, output: directory.path), registry: .builtIn)
        let baselines = plan.jobs.filter { $0.strategy != "shot" }
        XCTAssertEqual(baselines.map(\.strategy).sorted(), ["sourceOnly", "targetOnly"])
        for job in baselines {
            XCTAssertTrue(job.overrides.contains("phases=null"), "\(job.strategy): \(job.overrides)")
            let recipe = try Recipe.load(URL(fileURLWithPath: job.recipe), overrides: job.overrides, registry: .builtIn)
            XCTAssertTrue(recipe.phases.isEmpty)
            XCTAssertEqual(recipe.strategyLabel, job.strategy)
        }
        let plain = try CompareTool.plan(
            CompareToolOptions(recipes: [root.appendingPathComponent("Recipes/moons-mcc.yaml").path], seeds: 1, output: directory.path), registry: .builtIn)
        XCTAssertFalse(plain.0.jobs.contains { $0.overrides.contains("phases=null") }, "recipes without phases keep their baseline overrides")
    }

    func testCollectAggregatesSeedsByHand() throws {
        // task "near": dann 0.80, 0.90, 1.00 → mean 0.90, std 0.10; sourceOnly 0.70, 0.74 → 0.72;
        // targetOnly 0.95, 0.97 → 0.96. Source accuracies: dann 0.90 each, sourceOnly 0.98, 0.96 → 0.97.
        for (seed, acc) in [0.80, 0.90, 1.00].enumerated() {
            try save(report(task: "near", strategy: "dann", seed: UInt64(seed), target: acc, source: 0.90, entropy: 0.2))
        }
        for (seed, acc) in [0.70, 0.74].enumerated() {
            try save(report(task: "near", strategy: "sourceOnly", seed: UInt64(seed), target: acc, source: [0.98, 0.96][seed], entropy: 0.4))
        }
        for (seed, acc) in [0.95, 0.97].enumerated() {
            try save(report(task: "near", strategy: "targetOnly", seed: UInt64(seed), target: acc, source: 0.5, entropy: 0.01))
        }
        // A failed run is counted but not averaged.
        try save(report(task: "near", strategy: "dann", seed: 9, target: 0.0, source: 0.0, entropy: 9, status: "failed"))

        let summary = try CompareTool.collect(directory)
        let dann = try XCTUnwrap(summary.row(task: "near", strategy: "dann"))
        XCTAssertEqual(dann.seeds, [0, 1, 2])
        XCTAssertEqual(dann.incompleteRuns, 1)
        XCTAssertEqual(dann.targetAccuracy!.mean, 0.90, accuracy: 1e-12)
        XCTAssertEqual(dann.targetAccuracy!.std, 0.10, accuracy: 1e-12, "sample standard deviation (n − 1)")
        XCTAssertEqual(dann.gainOverSourceOnly!, 0.90 - 0.72, accuracy: 1e-12)
        XCTAssertEqual(dann.negativeTransferGap!, (1 - 0.90) - (1 - 0.96), accuracy: 1e-12, "NTG = ε(dann) − ε(targetOnly)")
        XCTAssertEqual(dann.forgetting!, 0.97 - 0.90, accuracy: 1e-12)
        XCTAssertEqual(dann.divergenceAfter.mmd!, 0.1, accuracy: 1e-12, "mean of 0.0, 0.1, 0.2")
        XCTAssertEqual(dann.divergenceBefore.pad!, 1, accuracy: 1e-12)
        let sourceOnly = try XCTUnwrap(summary.row(task: "near", strategy: "sourceOnly"))
        XCTAssertEqual(sourceOnly.targetAccuracy!.std, (0.0008 as Double).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(sourceOnly.gainOverSourceOnly!, 0, accuracy: 1e-12)
        XCTAssertNil(summary.row(task: "near", strategy: "targetOnly")!.forgetting)

        // Selection: source validation prefers sourceOnly (0.97 > 0.90), entropy prefers dann
        // (0.2 < 0.4; the oracle targetOnly is no candidate), the oracle picks dann.
        func pick(_ rule: String) -> String? { summary.selections.first { $0.task == "near" && $0.rule == rule }?.picked }
        XCTAssertEqual(pick("source_validation"), "sourceOnly")
        XCTAssertEqual(pick("entropy"), "dann")
        XCTAssertEqual(pick("oracle"), "dann")
        XCTAssertNil(pick("dev"), "no run has a DEV score")

        // Files: the CSV row carries the same numbers.
        try summary.write(to: directory)
        let csv = try String(contentsOf: directory.appendingPathComponent("summary.csv"), encoding: .utf8)
        let header = csv.split(separator: "\n")[0].split(separator: ",").map(String.init)
        let row = try XCTUnwrap(csv.split(separator: "\n").first { $0.hasPrefix("near,,dann,") }).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(Double(row[header.firstIndex(of: "target_accuracy_mean")!])!, 0.9, accuracy: 1e-6)
        XCTAssertEqual(Double(row[header.firstIndex(of: "target_accuracy_std")!])!, 0.1, accuracy: 1e-6)
        XCTAssertEqual(row[header.firstIndex(of: "failed_runs")!], "1")
        XCTAssertEqual(row[header.firstIndex(of: "fit_seconds_mean")!], "1", "mean RunReport.trainSeconds of the completed runs")
        let markdown = try String(contentsOf: directory.appendingPathComponent("summary.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("| near | dann | 3 (+1 failed) | 90.0 ± 10.0 |"), markdown)
        let svg = try String(contentsOf: directory.appendingPathComponent("accuracy.svg"), encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg"), svg)
        XCTAssertTrue(svg.contains(">dann</text>"))
    }

    func testNewSelectionScoresAreAveragedAndPickedInTheirDirection() throws {
        // Per strategy (snd ↑, im ↑, iwv ↓, reverse validation ↑): dann (1.8 and 2.2 → 2.0, 0.1, 0.9, 0.7),
        // cdan (1.5, 0.5, 0.6, 0.8), sourceOnly (1.0, 0.3, 0.4, 0.75); targetOnly has the best of each but
        // is no candidate. So SND picks dann, IM cdan, IWV sourceOnly, reverse validation cdan (source
        // validation sourceOnly, entropy cdan, oracle cdan).
        let scores: [(String, UInt64, SelectionScores)] = [
            ("dann", 0, SelectionScores(snd: 1.8, im: 0.1, iwv: 0.9, reverseValidation: 0.7)),
            ("dann", 1, SelectionScores(snd: 2.2, im: 0.1, iwv: 0.9, reverseValidation: 0.7)),
            ("cdan", 0, SelectionScores(snd: 1.5, im: 0.5, iwv: 0.6, reverseValidation: 0.8)),
            ("sourceOnly", 0, SelectionScores(snd: 1.0, im: 0.3, iwv: 0.4, reverseValidation: 0.75)),
            ("targetOnly", 0, SelectionScores(snd: 9, im: 9, iwv: 0, reverseValidation: 1)),
        ]
        for (strategy, seed, selection) in scores {
            let entropy = ["cdan": 0.2, "dann": 0.3][strategy] ?? 0.4
            var r = report(task: "t", strategy: strategy, seed: seed, target: strategy == "cdan" ? 0.8 : 0.7, source: 0.9, entropy: entropy)
            r.selection = selection
            r.selection.sourceValidation = strategy == "sourceOnly" ? 0.95 : 0.9
            r.selection.entropy = entropy
            try save(r)
        }
        let summary = try CompareTool.collect(directory)
        let dann = try XCTUnwrap(summary.row(task: "t", strategy: "dann"))
        XCTAssertEqual(dann.selectionSnd!, 2.0, accuracy: 1e-12, "mean over seeds")
        XCTAssertEqual(dann.selectionIm!, 0.1, accuracy: 1e-12)
        XCTAssertEqual(dann.selectionIwv!, 0.9, accuracy: 1e-12)
        XCTAssertEqual(dann.selectionReverseValidation!, 0.7, accuracy: 1e-12)
        func pick(_ rule: String) -> String? { summary.selections.first { $0.task == "t" && $0.rule == rule }?.picked }
        XCTAssertEqual(pick("snd"), "dann")
        XCTAssertEqual(pick("im"), "cdan")
        XCTAssertEqual(pick("iwv"), "sourceOnly")
        XCTAssertEqual(pick("reverse_validation"), "cdan")
        XCTAssertNil(pick("dev"))

        try summary.write(to: directory)
        let csv = try String(contentsOf: directory.appendingPathComponent("summary.csv"), encoding: .utf8)
        let header = csv.split(separator: "\n")[0].split(separator: ",").map(String.init)
        let row = try XCTUnwrap(csv.split(separator: "\n").first { $0.hasPrefix("t,,dann,") }).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for (column, value) in [("selection_snd", 2.0), ("selection_im", 0.1), ("selection_iwv", 0.9), ("selection_reverse_validation", 0.7)] {
            let index = try XCTUnwrap(header.firstIndex(of: column), column)
            XCTAssertEqual(Double(row[index])!, value, accuracy: 1e-6, column)
        }
        XCTAssertEqual(row.count, header.count)
        let markdown = try String(contentsOf: directory.appendingPathComponent("summary.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("| task | source validation | entropy | snd | im | iwv | reverse validation | oracle |"), markdown)
        XCTAssertTrue(markdown.contains("| t | sourceOnly (70.0) | cdan (80.0) | dann (70.0) | cdan (80.0) | sourceOnly (70.0) | cdan (80.0) | cdan (80.0) |"), markdown)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("summary.json"))) as! [String: Any]
        let firstRow = try XCTUnwrap((json["rows"] as? [[String: Any]])?.first)
        for key in ["selection_snd", "selection_im", "selection_iwv", "selection_reverse_validation"] { XCTAssertNotNil(firstRow[key], key) }
    }

    func testSweepSeverityComesFromThePlanAndDrawsTheSweepPlot() throws {
        for task in ["near", "far"] {
            for strategy in ["sourceOnly", "dann"] {
                try save(report(task: task, strategy: strategy, seed: 0, target: task == "near" ? 0.9 : 0.5, source: 0.9, entropy: 0.3))
            }
        }
        let plan = ComparisonPlan(title: "sweep", sweepKey: "data.rotation", sweepLabel: "rotation", jobs: [
            ComparisonJob(recipe: "r.yaml", overrides: [], seed: 0, task: "near", strategy: "dann", severity: 30,
                output: directory.appendingPathComponent("runs/near/dann/seed-0").path),
        ])
        try writeAtomically(try JSONEncoder().encode(plan), to: directory.appendingPathComponent("plan.json"))
        let summary = try CompareTool.collect(directory)
        XCTAssertEqual(summary.row(task: "near", strategy: "dann")?.severity, 30, "from plan.json")
        XCTAssertEqual(summary.row(task: "far", strategy: "dann")?.severity, 90, "not in the plan: read from the resolved recipe")
        XCTAssertEqual(summary.tasks, ["near", "far"])
        let files = try summary.write(to: directory).map(\.lastPathComponent)
        XCTAssertTrue(files.contains("sweep.svg"))
        let svg = try String(contentsOf: directory.appendingPathComponent("sweep.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("<polyline"), "one line per strategy")
        XCTAssertTrue(svg.contains("stroke-dasharray"), "source-only is dashed")
    }
}
