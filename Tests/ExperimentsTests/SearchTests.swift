import Experiments
import Foundation
import XCTest

/// A grid file's `search:` section: the configurations it yields, how `compare` labels the
/// variants, and the summary rows they become.
final class SearchTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-search-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let recipe = CommandLineTests.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: 2")
        try recipe.write(to: directory.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func grid(_ search: String, name: String = "g.yaml") throws -> String {
        try "name: search-test\nrecipes: [tiny.yaml]\nseeds: 1\n\(search)\n".write(
            to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return name
    }

    func load(_ search: String) throws -> SearchSpace {
        let name = try grid(search)
        let cwd = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(directory.path)
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        guard let space = try GridFile.load(name).search else { throw XCTSkip("no search section read") }
        return space
    }

    func testGridIsTheProductInKeyOrderLastKeyFastest() throws {
        let space = try load("search:\n  optimizer.lr: [0.01, 0.1]\n  strategies.0.weight: [0.3, 1]\n  model.hidden: [[4], [8, 8]]")
        let configurations = space.configurations()
        XCTAssertEqual(configurations.count, 8)
        XCTAssertEqual(configurations[0], ["optimizer.lr=0.01", "strategies.0.weight=0.3", "model.hidden=[4]"])
        XCTAssertEqual(configurations[1], ["optimizer.lr=0.01", "strategies.0.weight=0.3", "model.hidden=[8,8]"])
        XCTAssertEqual(configurations[7], ["optimizer.lr=0.1", "strategies.0.weight=1", "model.hidden=[8,8]"])
    }

    func testRandomSearchIsSeededAndStaysInItsRanges() throws {
        let text = "search:\n  optimizer.lr: {loguniform: [1e-3, 1e-1]}\n  optimizer.momentum: {uniform: [0.5, 0.9]}\n"
            + "  epochs: {int: [2, 4]}\n  model.hidden: {choice: [[4], [8]]}\n  trials: 200\n  seed: 7"
        let a = try load(text).configurations()
        let b = try load(text).configurations()
        XCTAssertEqual(a, b, "the same file gives the same trials")
        XCTAssertEqual(a.count, 200)
        func values(_ key: String) -> [String] { a.map { $0.first { $0.hasPrefix(key + "=") }!.dropFirst(key.count + 1) }.map(String.init) }
        let lrs = values("optimizer.lr").map { Double($0)! }
        XCTAssertTrue(lrs.allSatisfy { $0 >= 1e-3 * 0.9999 && $0 <= 1e-1 * 1.0001 }, "\(lrs.min()!)…\(lrs.max()!)")
        // Log-uniform: about half the draws below the geometric midpoint 1e-2.
        let below = lrs.filter { $0 < 1e-2 }.count
        XCTAssertTrue((70...130).contains(below), "\(below) of 200 below 1e-2")
        XCTAssertTrue(values("optimizer.momentum").map { Double($0)! }.allSatisfy { (0.5...0.9).contains($0) })
        XCTAssertEqual(Set(values("epochs")), ["2", "3", "4"])
        XCTAssertEqual(Set(values("model.hidden")), ["[4]", "[8]"])
        let other = try load(text.replacingOccurrences(of: "seed: 7", with: "seed: 8")).configurations()
        XCTAssertNotEqual(a, other, "another seed, other trials")
    }

    func testBadSearchSectionsNameTheKeyAndTheFix() throws {
        let cases: [(String, String)] = [
            ("search:\n  optimizer.lr: {loguniform: [1e-3, 1e-1]}", "needs a random search (add trials: N"),
            ("search:\n  optimizer.lr: {logunifrom: [1e-3, 1e-1]}\n  trials: 3", "unknown distribution 'logunifrom'"),
            ("search:\n  optimizer.lr: {loguniform: [0, 1]}\n  trials: 3", "loguniform needs 0 < low"),
            ("search:\n  optimizer.lr: 0.1", "a single value belongs in set:"),
            ("search:\n  trials: 3", "search needs at least one key"),
            ("search:\n  optimizer.lr: []", "must list 1 to"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try load(text), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text): \(error)")
                XCTAssertTrue("\(error)".contains("g.yaml:"), "names the file and line: \(error)")
            }
        }
    }

    func testPlanLabelsVariantsByTheValuesInWhichTheyDiffer() throws {
        let name = try grid("search:\n  optimizer.lr: [0.01, 0.1]\n  strategies.0.weight: [1]")
        let result = try DakitProcess.run(CommandLineTests.dakit(), ["compare", "--grid", name, "--plan", "--out", "p"], in: directory)
        XCTAssertEqual(result.status, 0, result.stderr)
        let plan = try ResultJSON.decoder().decode(ComparisonPlan.self, from: Data(contentsOf: directory.appendingPathComponent("p/plan.json")))
        XCTAssertEqual(
            Set(plan.jobs.map(\.strategy)), ["dann (optimizer.lr=0.01)", "dann (optimizer.lr=0.1)", "sourceOnly", "targetOnly"],
            "the weight is the same in both variants, so it is not in the label; baselines once, without the search values")
        let baseline = try XCTUnwrap(plan.jobs.first { $0.strategy == "sourceOnly" })
        XCTAssertFalse(baseline.overrides.contains { $0.hasPrefix("optimizer.lr") }, "\(baseline.overrides)")
        XCTAssertEqual(Set(plan.jobs.map(\.output)).count, plan.jobs.count, "one folder per run")
    }

    func testTwoRecipesWithTheSameStrategyOnOneTaskAreTwoLabelledRows() throws {
        let other = CommandLineTests.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: 2").replacingOccurrences(of: "lr: 0.05", with: "lr: 0.02")
        try other.write(to: directory.appendingPathComponent("tiny-slow.yaml"), atomically: true, encoding: .utf8)
        let result = try DakitProcess.run(
            CommandLineTests.dakit(), ["compare", "tiny.yaml", "tiny-slow.yaml", "--seeds", "1", "--jobs", "2", "--out", "two", "--no-baselines"],
            in: directory)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let summary = try ResultJSON.decoder().decode(
            ComparisonSummary.self, from: Data(contentsOf: directory.appendingPathComponent("two/summary.json")))
        XCTAssertEqual(Set(summary.strategies), ["dann (optimizer.lr=0.02)", "dann (optimizer.lr=0.05)"])
        XCTAssertEqual(summary.rows.count, 2)
        // The same recipe twice is still refused: it would be one experiment counted twice.
        let twice = try DakitProcess.run(CommandLineTests.dakit(), ["compare", "tiny.yaml", "tiny.yaml", "--plan", "--out", "dup"], in: directory)
        XCTAssertEqual(twice.status, 2, twice.stderr)
        XCTAssertTrue(twice.stderr.contains("already has this exact configuration"), twice.stderr)
    }
}
