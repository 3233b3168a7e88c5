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
