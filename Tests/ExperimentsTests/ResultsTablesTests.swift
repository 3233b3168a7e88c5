import Experiments
import Foundation
import XCTest

/// The generated tables of README.md and Papers.md match the committed result files they name,
/// and the generator notices a number typed by hand.
final class ResultsTablesTests: XCTestCase {
    /// The repository root (this file is Tests/ExperimentsTests/ResultsTablesTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testReadmeAndPapersTablesAreUpToDate() throws {
        for name in ["README.md", "Papers.md"] {
            let text = try String(contentsOf: Self.root.appendingPathComponent(name), encoding: .utf8)
            let updated = try ResultsTables.update(text, root: Self.root)
            XCTAssertEqual(updated, text, "\(name) has stale tables: run `dakit tables` at the repository root and commit the result")
        }
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains("<!-- table: accuracy Recipes/results/moons-negative-transfer.csv -->"), "README's tables are generated")
    }

    /// The side-by-side table with skada (issue 9) is generated in README.md and Papers.md from the
    /// committed results of Benchmarks/peers/run.sh, one row per dataset and DAKit strategy.
    func testPeersTableIsGeneratedFromTheCommittedPeerResults() throws {
        let marker = "<!-- table: peers Benchmarks/peers/results -->"
        for name in ["README.md", "Papers.md"] {
            let text = try String(contentsOf: Self.root.appendingPathComponent(name), encoding: .utf8)
            XCTAssertTrue(text.contains(marker), "\(name) shows DAKit against skada from \(marker)")
        }
        let table = try ResultsTables.render(kind: "peers", file: Self.root.appendingPathComponent("Benchmarks/peers/results"))
        for dataset in ["moons-35", "moons-50", "shifted-covariate", "shifted-conditional", "digits-rotation-30"] {
            for (strategy, method) in [("sourceOnly", "SourceOnly"), ("dann", "DANN"), ("dan", "DAN"), ("coral", "DeepCoral"), ("selfTraining", "SelfTrainingClassifier")] {
                XCTAssertTrue(table.contains("| \(dataset) | \(strategy) | "), "\(dataset) \(strategy) has a DAKit row")
                XCTAssertTrue(table.contains("| \(method) | "), "\(method) has a skada column")
            }
        }
    }

    func testPeersTablePairsEachStrategyWithItsSkadaMethod() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-peers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("dakit-a"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
            dataset,method,seed,target_accuracy,fit_seconds
            a,SourceOnly,0,0.8,1
            a,SourceOnly,1,0.9,3
            a,DANN,0,0.7,2
            a,OtherMethod,0,0.5,4

            """.write(to: folder.appendingPathComponent("skada.csv"), atomically: true, encoding: .utf8)
        try """
            task,severity,strategy,seeds,target_accuracy_mean,target_accuracy_std,fit_seconds_mean
            a,,sourceOnly,0 1,0.85,0.05,0.5
            a,,dann,0 1,0.9,0.01,
            a,,mmd,0,0.6,0,0.25

            """.write(to: folder.appendingPathComponent("dakit-a/summary.csv"), atomically: true, encoding: .utf8)
        XCTAssertEqual(
            try ResultsTables.render(kind: "peers", file: folder),
            "| dataset | strategy | DAKit target acc. (%) | skada method | skada target acc. (%) | seeds (DAKit / skada) | DAKit s / fit | skada s / fit |\n"
                + "|---|---|---|---|---|---|---|---|\n"
                + "| a | sourceOnly | 85.0 ± 5.0 | SourceOnly | 85.0 ± 7.1 | 2 / 2 | 0.50 | 2.00 |\n"
                + "| a | dann | 90.0 ± 1.0 | DANN | 70.0 ± 0.0 | 2 / 1 | — | 2.00 |\n"
                + "| a | mmd | 60.0 ± 0.0 | — | — | 1 / 0 | 0.25 | — |\n"
                + "| a | — | — | OtherMethod | 50.0 ± 0.0 | — / 1 | — | 4.00 |\n",
            "skada's std over seeds is the sample std (n − 1); a method without a DAKit strategy gets its own row")
        try "dataset,method,seed,target_accuracy,fit_seconds\nb,DANN,0,0.7,2\n".write(
            to: folder.appendingPathComponent("skada.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultsTables.render(kind: "peers", file: folder)) { error in
            XCTAssertTrue("\(error)".contains("dakit-b/summary.csv: cannot read"), "\(error)")
        }
        try "dataset,method,seed,target_accuracy,fit_seconds\na,DANN,0,high,2\n".write(
            to: folder.appendingPathComponent("skada.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultsTables.render(kind: "peers", file: folder)) { error in
            XCTAssertTrue("\(error)".contains("skada.csv: line 2"), "\(error)")
        }
        try "dataset,method\n".write(to: folder.appendingPathComponent("skada.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultsTables.render(kind: "peers", file: folder)) { error in
            XCTAssertTrue("\(error)".contains("not a skada_peers.py CSV"), "\(error)")
        }
    }

    /// `stability`: tasks as rows, baselines first, mean ± std in %, stops counted per cell and per task.
    func testStabilityTableCountsStopsPerCell() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-stability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = """
            task,strategy,completed_runs,failed_runs,target_accuracy_mean,target_accuracy_std
            moons,dann,9,1,0.904,0.0312
            moons,sourceOnly,10,0,0.75,0.05
            digits,dann,0,3,,
            digits,sourceOnly,3,0,0.5,
            """
        let file = folder.appendingPathComponent("summary.csv")
        try csv.write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ResultsTables.render(kind: "stability", file: file), """
            | task | sourceOnly | dann | failed runs |
            |---|---|---|---|
            | moons | 75 ± 5 | 90 ± 3 (1 stop) | 1 of 20 |
            | digits | 50 | — (3 stops) | 3 of 6 |

            """)
        try "task,strategy\nmoons,dann\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ResultsTables.render(kind: "stability", file: file)) { error in
            XCTAssertTrue("\(error)".contains("not a summary.csv"), "\(error)")
        }
    }

    func testAHandTypedNumberIsReplacedByTheFilesAndBadMarkersAreNamed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-tables-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
            task,severity,strategy,target_accuracy_mean
            near,0,sourceOnly,0.7
            near,0,dann,0.8
            far,90,sourceOnly,0.5
            far,90,dann,0.497
            "odd, task (x)",,sourceOnly,0.1
            "odd, task (x)",,dann,0.05

            """.write(to: folder.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        let stale = "intro\n<!-- table: accuracy s.csv -->\n| strategy | typed by hand |\n<!-- /table -->\nafter"
        let updated = try ResultsTables.update(stale, root: folder)
        XCTAssertEqual(
            updated,
            "intro\n<!-- table: accuracy s.csv -->\n| strategy | 0° | 90° | odd, task |\n|---|---|---|---|\n"
                + "| sourceOnly | 70.0 | 50.0 | 10.0 |\n| dann | 80.0 ▲ | 49.7 | 5.0 ▼ |\n<!-- /table -->\nafter",
            "▲/▼ only beyond half a point from source-only")
        XCTAssertEqual(try ResultsTables.update(updated, root: folder), updated, "idempotent")
        XCTAssertThrowsError(try ResultsTables.update("<!-- table: accuracy s.csv -->\n| x |", root: folder)) { error in
            XCTAssertTrue("\(error)".contains("no <!-- /table -->"), "\(error)")
        }
        XCTAssertThrowsError(try ResultsTables.update("<!-- table: chart s.csv -->\n<!-- /table -->", root: folder)) { error in
            XCTAssertTrue("\(error)".contains("unknown table kind 'chart'"), "\(error)")
        }
        XCTAssertThrowsError(try ResultsTables.update("<!-- table: accuracy missing.csv -->\n<!-- /table -->", root: folder)) { error in
            XCTAssertTrue("\(error)".contains("missing.csv: cannot read"), "\(error)")
        }
    }
}
