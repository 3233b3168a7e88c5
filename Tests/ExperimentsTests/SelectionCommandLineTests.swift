import Adaptation
import Experiments
import Foundation
import XCTest

/// The selection scores end to end: `dakit run` writes SND, IM and IWV into report.json (and
/// reverse validation only when the recipe names it), and `dakit compare` picks by them.
final class SelectionCommandLineTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-selection-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func dakit(_ arguments: [String]) throws -> DakitProcess.Output {
        try DakitProcess.run(try CommandLineTests.dakit(), arguments, in: directory)
    }

    func writeRecipe(epochs: Int) throws -> String {
        try CommandLineTests.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: \(epochs)")
            .write(to: directory.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
        return "tiny.yaml"
    }

    func testRunReportsTheCheapScoresByDefault() throws {
        let recipe = try writeRecipe(epochs: 6)
        let result = try dakit(["run", recipe, "--out", "run"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let url = directory.appendingPathComponent("run/report.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let selection = try XCTUnwrap(json["selection"] as? [String: Any])
        for key in ["source_validation", "entropy", "dev", "snd", "im", "iwv"] {
            XCTAssertNotNil(selection[key] as? Double, "selection.\(key) in \(selection)")
        }
        XCTAssertNil(selection["reverse_validation"], "reverse validation trains a second model: off unless named")

        let report = try RunReport.load(url)
        let s = report.selection
        // SND reads at most 2 · divergence_samples = 120 target rows: at most log 119.
        XCTAssertGreaterThan(s.snd!, 0)
        XCTAssertLessThanOrEqual(s.snd!, Foundation.log(119) + 1e-9)
        XCTAssertGreaterThanOrEqual(s.im!, -1e-9)
        XCTAssertLessThanOrEqual(s.im!, Foundation.log(2) + 1e-9)
        XCTAssertLessThanOrEqual(s.im!, Foundation.log(2) - s.entropy! + 1e-6, "IM = H(p̄) − mean H(p_i) ≤ log K − entropy")
        XCTAssertGreaterThan(s.iwv!, 0)
        XCTAssertTrue(result.stdout.contains(", SND "), result.stdout)
        let summary = try String(contentsOf: directory.appendingPathComponent("run/summary.txt"), encoding: .utf8)
        XCTAssertTrue(summary.contains("IM \(String(format: "%.4f", s.im!))"), summary)

        // Naming rules computes only those.
        let only = try dakit(["run", recipe, "--out", "only", "--set", "selection.rules=[snd, iwv]"])
        XCTAssertEqual(only.status, 0, only.stdout + only.stderr)
        let picked = try RunReport.load(directory.appendingPathComponent("only/report.json")).selection
        XCTAssertNotNil(picked.snd)
        XCTAssertNotNil(picked.iwv)
        XCTAssertNil(picked.im)
        XCTAssertNil(picked.dev)
        XCTAssertNil(picked.entropy)
        XCTAssertEqual(picked.snd!, s.snd!, accuracy: 1e-12, "same seed, same rows")
        XCTAssertEqual(picked.iwv!, s.iwv!, accuracy: 1e-12)

        let bad = try dakit(["run", "--check", recipe, "--set", "selection.rules=[snt]"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("unknown selection rule 'snt'"), bad.stderr)
    }

    func testReverseValidationRunsOnlyWhenNamedAndIsSeeded() throws {
        let recipe = try writeRecipe(epochs: 20)
        var values: [Double] = []
        for out in ["rv1", "rv2"] {
            let result = try dakit(["run", recipe, "--out", out, "--set", "selection.rules=[reverse_validation]"])
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
            XCTAssertTrue(result.stdout.contains(", reverse validation "), result.stdout)
            let report = try RunReport.load(directory.appendingPathComponent("\(out)/report.json"))
            let rv = try XCTUnwrap(report.selection.reverseValidation)
            XCTAssertTrue((0...1).contains(rv), "an accuracy: \(rv)")
            XCTAssertNil(report.selection.snd)
            values.append(rv)
        }
        XCTAssertEqual(values[0], values[1], "the reverse model is seeded by a fork of the run's seed")
        // 20 epochs fit the source (about 83 % on its validation split) and the target (88 %); ten
        // epochs on those pseudo-labels learn the source moons back (82.5 % with this seed).
        XCTAssertGreaterThan(values[0], 0.7)
    }

    func testComparePicksByTheNewScores() throws {
        let recipe = try writeRecipe(epochs: 2)
        let result = try dakit(["compare", recipe, "--seeds", "1", "--jobs", "2", "--out", "cmp", "--set", "evaluation.divergences=[mmd]"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let folder = directory.appendingPathComponent("cmp")
        let summary = try ResultJSON.decoder().decode(ComparisonSummary.self, from: Data(contentsOf: folder.appendingPathComponent("summary.json")))
        let candidates = summary.rows.filter { $0.strategy != "targetOnly" }
        XCTAssertEqual(Set(candidates.map(\.strategy)), ["sourceOnly", "dann"])
        func picked(_ rule: String) -> String? { summary.selections.first { $0.rule == rule }?.picked }
        func best(_ score: (StrategySummary) -> Double?, higher: Bool) throws -> String {
            let scored = try candidates.map { ($0.strategy, try XCTUnwrap(score($0))) }
            return scored.min { higher ? $0.1 > $1.1 : $0.1 < $1.1 }!.0
        }
        XCTAssertEqual(picked("snd"), try best(\.selectionSnd, higher: true))
        XCTAssertEqual(picked("im"), try best(\.selectionIm, higher: true))
        XCTAssertEqual(picked("iwv"), try best(\.selectionIwv, higher: false))
        XCTAssertNil(picked("reverse_validation"))
        let markdown = try String(contentsOf: folder.appendingPathComponent("summary.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("| dev | entropy | snd | im | iwv | oracle |"), markdown)
        let csvHeader = try String(contentsOf: folder.appendingPathComponent("summary.csv"), encoding: .utf8).split(separator: "\n")[0]
        XCTAssertTrue(csvHeader.contains("selection_snd,selection_im,selection_iwv"), String(csvHeader))
    }
}
