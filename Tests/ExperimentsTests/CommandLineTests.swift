import Adaptation
import Experiments
import Foundation
import HDF5Kit
import TensorCore
import XCTest

/// Runs the built `dakit` binary on tiny recipes and checks exit codes, files and numbers.
final class CommandLineTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The `dakit` executable next to the test bundle (same build folder).
    static func dakit() throws -> URL {
        var candidates: [URL] = []
        for base in [Bundle.main.executableURL, Bundle.main.bundleURL, Bundle(for: CommandLineTests.self).bundleURL].compactMap({ $0 }) {
            var folder = base.deletingLastPathComponent()
            for _ in 0..<3 {
                candidates.append(folder.appendingPathComponent("dakit"))
                folder = folder.deletingLastPathComponent()
            }
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("dakit binary not found next to the tests (looked at \(candidates.map(\.path)))")
        }
        return found
    }

    typealias Output = DakitProcess.Output

    func dakit(_ arguments: [String]) throws -> Output { try run(Self.dakit(), arguments) }

    /// Runs `executable` in the test's folder and collects its status and output.
    func run(_ executable: URL, _ arguments: [String]) throws -> Output {
        try DakitProcess.run(executable, arguments, in: directory)
    }

    static let tiny = """
        name: tiny-dann
        task: tiny-moons
        data:
          generator: moons
          rotation: 30
          samples_per_class: 40
          test_samples_per_class: 60
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
          every: 2
          divergence_samples: 60
        output: out/tiny
        """

    func write(_ text: String, _ name: String) throws -> String {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return name
    }

    /// Keys of a result file that are not snake_case (`ResultJSON`), as dotted paths; the values of
    /// `losses`, `diagnostics` and `resolved_recipe` are data (loss names, recipe keys), not fields.
    static func nonSnakeKeys(_ value: Any, path: String = "") -> [String] {
        if let array = value as? [Any] { return array.flatMap { nonSnakeKeys($0, path: path + "[]") } }
        guard let object = value as? [String: Any] else { return [] }
        return object.keys.sorted().flatMap { key -> [String] in
            let here = path.isEmpty ? key : path + "." + key
            let snake = key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }
            let nested = ["losses", "diagnostics", "resolved_recipe"].contains(key) ? [] : nonSnakeKeys(object[key]!, path: here)
            return (snake ? [] : [here]) + nested
        }
    }

    func testRunWritesReportCheckpointAndSummaryWithConsistentNumbers() throws {
        let recipe = try write(Self.tiny, "tiny.yaml")
        let result = try dakit(["run", recipe, "--seed", "3", "--out", "run1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let folder = directory.appendingPathComponent("run1")
        for file in ["report.json", "checkpoint.h5", "summary.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), file)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("report.json"))) as! [String: Any]
        XCTAssertEqual(json["strategy"] as? String, "dann")
        XCTAssertEqual(json["seed"] as? Int, 3)
        XCTAssertEqual(json["recipe"] as? String, "tiny.yaml")
        XCTAssertNotNil(json["divergences"])
        XCTAssertEqual(Self.nonSnakeKeys(json), [], "report.json keys follow ResultJSON's snake_case convention")
        let report = try RunReport.load(folder.appendingPathComponent("report.json"))
        XCTAssertEqual(report.status, "completed")
        XCTAssertEqual(report.epochs.count, 6)
        XCTAssertEqual(report.epochs.compactMap(\.sourceAccuracy).count, 3, "evaluated every 2 epochs")
        XCTAssertEqual(report.steps, 6 * 4, "max(80, 80) samples / batch 20 = 4 steps per epoch")
        // Top-level numbers agree with the confusion matrices.
        let target = try XCTUnwrap(report.target)
        let correct = (0..<target.confusion.count).map { target.confusion[$0][$0] }.reduce(0, +)
        XCTAssertEqual(report.targetAccuracy!, Double(correct) / Double(target.confusion.joined().reduce(0, +)), accuracy: 1e-12)
        XCTAssertEqual(target.confusion.joined().reduce(0, +), 120, "2 classes × 60 test samples")
        XCTAssertEqual(report.sourceAccuracy, report.source.accuracy)
        XCTAssertEqual(report.epochs.last?.targetAccuracy, report.targetAccuracy)
        XCTAssertGreaterThan(report.sourceAccuracy, 0.6, "six epochs on moons learn the source")
        XCTAssertEqual(report.dataset.sourceCount, 80)
        // The checkpoint holds the model and the discriminator.
        let saved = try Checkpoint.readAll(from: folder.appendingPathComponent("checkpoint.h5"))
        XCTAssertNotNil(saved.tensors["features.0.weight"])
        XCTAssertEqual(saved.tensors["features.0.weight"]?.shape, [8, 2], "Dense(2 → 8) stores out × in")
        XCTAssertTrue(saved.order.contains { $0.hasPrefix("strategies.dann.") }, "\(saved.order)")
        XCTAssertTrue(result.stdout.contains("tiny-dann · strategy dann · seed 3"), result.stdout)

        // The same seed gives the same numbers.
        let again = try dakit(["run", recipe, "--seed", "3", "--out", "run2"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let second = try RunReport.load(directory.appendingPathComponent("run2/report.json"))
        XCTAssertEqual(second.targetAccuracy, report.targetAccuracy)
        XCTAssertEqual(second.epochs.map(\.losses), report.epochs.map(\.losses))
    }

    /// An environment variable of DAKit's set to a value it ignores gets a warning naming it (the
    /// command still runs); valid values print nothing.
    func testEnvironmentValuesThatAreIgnoredAreNamedInAWarning() throws {
        let bad = try DakitProcess.run(
            Self.dakit(), ["--version"], in: directory, environment: ["DAKIT_SPIN_US": "fast", "DAKIT_BLAS_CORE": "skylake"])
        XCTAssertEqual(bad.status, 0)
        XCTAssertEqual(bad.stderrLines.filter { $0.hasPrefix("warning: DAKIT_SPIN_US=fast ") }.count, 1, bad.stderr)
        XCTAssertEqual(bad.stderrLines.filter { $0.hasPrefix("warning: DAKIT_BLAS_CORE=skylake ") }.count, 1, bad.stderr)
        let good = try DakitProcess.run(Self.dakit(), ["--version"], in: directory, environment: ["DAKIT_SPIN_US": "200", "DAKIT_BLAS_CORE": "keep"])
        XCTAssertEqual(good.status, 0)
        XCTAssertEqual(good.stderr, "")
        XCTAssertEqual(environmentWarnings(["DAKIT_SPIN_US": "100001"]).count, 1)
        XCTAssertEqual(environmentWarnings(["DAKIT_SPIN_US": "0", "DAKIT_BLAS_CORE": "KEEP"]), [])
    }

    func testBadRecipeExitsWithTwoAndOneLineNamingFileAndLine() throws {
        let recipe = try write(Self.tiny.replacingOccurrences(of: "name: dann", with: "name: dan_n"), "broken.yaml")
        let result = try dakit(["run", recipe])
        XCTAssertEqual(result.status, 2)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.hasPrefix("error: broken.yaml:11:11: unknown strategy 'dan_n'"), result.stderr)
        XCTAssertTrue(result.stderr.contains("did you mean"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("out").path), "nothing ran")
    }

    func testCheckOnlyValidates() throws {
        let recipe = try write(Self.tiny, "tiny.yaml")
        let ok = try dakit(["run", "--check", recipe])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("tiny.yaml: ok"), ok.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("out").path))
        let bad = try dakit(["run", "--check", recipe, "--set", "optimizer.momentum=1.5"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--set optimizer.momentum=1.5"), bad.stderr)
    }

    /// A strategy that refuses its setting when training starts (clusterMatch with more neighbours
    /// than the target pool has rows) is bad input: exit 2, one line naming the strategy and option.
    func testStrategyRefusingItsSettingAtTheStartExitsWithTwo() throws {
        let recipe = try write(Self.tiny.replacingOccurrences(of: "name: dann", with: "name: clusterMatch"), "tiny.yaml")
        let result = try dakit(["run", recipe, "--out", "refused", "--set", "strategies.0.options.neighbours=1000"])
        XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("clusterMatch: option 'neighbours' is 1000"), result.stderr)
    }

    func testNonFiniteLossExitsWithOneAndWritesFailedReport() throws {
        let recipe = try write(Self.tiny, "tiny.yaml")
        let result = try dakit(["run", recipe, "--out", "nan", "--set", "optimizer.lr=1e6", "--set", "optimizer.momentum=0", "--set", "optimizer.clip_norm=none"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("not finite"), result.stderr)
        let report = try RunReport.load(directory.appendingPathComponent("nan/report.json"))
        XCTAssertEqual(report.status, "failed")
    }

    func testCompareRunsSeedsAndBaselinesInParallel() throws {
        let recipe = try write(Self.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: 2"), "tiny.yaml")
        let result = try dakit(["compare", recipe, "--seeds", "2", "--jobs", "2", "--out", "cmp", "--set", "evaluation.divergences=[mmd]"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let folder = directory.appendingPathComponent("cmp")
        for file in ["summary.md", "summary.csv", "summary.json", "accuracy.svg", "plan.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), file)
        }
        let summaryData = try Data(contentsOf: folder.appendingPathComponent("summary.json"))
        XCTAssertEqual(Self.nonSnakeKeys(try JSONSerialization.jsonObject(with: summaryData)), [], "summary.json is snake_case")
        let planJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("plan.json")))
        XCTAssertEqual(Self.nonSnakeKeys(planJSON), [], "plan.json is snake_case")
        let summary = try ResultJSON.decoder().decode(ComparisonSummary.self, from: summaryData)
        XCTAssertEqual(Set(summary.strategies), ["sourceOnly", "targetOnly", "dann"])
        XCTAssertEqual(summary.runCount, 6)
        let dann = try XCTUnwrap(summary.row(task: "tiny-moons", strategy: "dann"))
        XCTAssertEqual(dann.seeds, [0, 1])
        // Mean over the two seeds equals the mean of the two reports.
        let reports = try (0..<2).map { try RunReport.load(folder.appendingPathComponent("runs/tiny-moons/dann/seed-\($0)/report.json")) }
        XCTAssertEqual(dann.targetAccuracy!.mean, (reports[0].targetAccuracy! + reports[1].targetAccuracy!) / 2, accuracy: 1e-12)
        let sourceOnly = try XCTUnwrap(summary.row(task: "tiny-moons", strategy: "sourceOnly"))
        XCTAssertEqual(dann.gainOverSourceOnly!, dann.targetAccuracy!.mean - sourceOnly.targetAccuracy!.mean, accuracy: 1e-12)

        // --plan prints one self-contained command per run.
        let plan = try dakit(["compare", recipe, "--seeds", "2", "--plan", "--out", "cmp2"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        let commands = plan.stdout.split(separator: "\n")
        XCTAssertEqual(commands.count, 6)
        let recipePath = directory.appendingPathComponent("tiny.yaml").standardizedFileURL.path
        XCTAssertTrue(commands.allSatisfy { $0.hasPrefix("/") && $0.contains(" run \(recipePath) --seed ") && $0.contains("--out /") }, plan.stdout)
        XCTAssertTrue(commands.allSatisfy { $0.hasSuffix("/log.txt") && $0.contains(" --log /") }, plan.stdout)
        XCTAssertTrue(commands.allSatisfy { $0.contains(" --plots learning_curves,confusion,decision_boundary ") }, "compare skips the t-SNE plot: \(plan.stdout)")
        // The runs of the compare above drew every plot but the feature plot.
        let dannRun = folder.appendingPathComponent("runs/tiny-moons/dann/seed-0")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dannRun.appendingPathComponent("learning-curves.svg").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dannRun.appendingPathComponent("features.svg").path))
        // --plots on a single run: none, and a bad name refused with exit 2.
        let noPlots = try dakit(["run", recipe, "--out", "noplots", "--plots", "none"])
        XCTAssertEqual(noPlots.status, 0, noPlots.stderr)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("noplots").path).contains { $0.hasSuffix(".svg") })
        let badPlots = try dakit(["run", recipe, "--plots", "learning_curves,tsne"])
        XCTAssertEqual(badPlots.status, 2)
        XCTAssertTrue(badPlots.stderr.contains("unknown plot 'tsne'"), badPlots.stderr)
        XCTAssertTrue(commands.contains { $0.contains("--set 'strategies=[{name: targetOnly}]'") }, plan.stdout)
    }

    /// `--plan` lines run from any directory (here `/`), through GNU parallel when the machine has
    /// it (else one shell per line), and `--collect` then gives the same numbers as a local compare.
    func testPlanLinesRunFromAnyDirectoryAndCollectMatchesALocalCompare() throws {
        let recipe = try write(Self.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: 2"), "tiny.yaml")
        let local = try dakit(["compare", recipe, "--seeds", "1", "--jobs", "1", "--out", "local", "--set", "evaluation.divergences=[mmd]"])
        XCTAssertEqual(local.status, 0, local.stdout + local.stderr)
        let plan = try dakit(["compare", recipe, "--seeds", "1", "--plan", "--out", "planned", "--set", "evaluation.divergences=[mmd]"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        let jobs = directory.appendingPathComponent("planned.jobs")
        try plan.stdout.write(to: jobs, atomically: true, encoding: .utf8)
        let root = URL(fileURLWithPath: "/")
        let parallel = ["/usr/bin/parallel", "/usr/local/bin/parallel"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if let parallel {
            let ran = try DakitProcess.run(URL(fileURLWithPath: parallel), ["-j", "2", "--halt", "now,fail=1", "::::", jobs.path], in: root)
            XCTAssertEqual(ran.status, 0, "GNU parallel: " + ran.stdout + ran.stderr)
        } else {
            for line in plan.stdout.split(separator: "\n") {
                let ran = try DakitProcess.run(URL(fileURLWithPath: "/bin/sh"), ["-c", String(line)], in: root)
                XCTAssertEqual(ran.status, 0, "\(line): " + ran.stdout + ran.stderr)
            }
        }
        let dann = directory.appendingPathComponent("planned/runs/tiny-moons/dann/seed-0")
        XCTAssertTrue(try String(contentsOf: dann.appendingPathComponent("log.txt"), encoding: .utf8).contains("tiny-dann · strategy dann · seed 0"))
        let collect = try dakit(["compare", "--collect", "planned"])
        XCTAssertEqual(collect.status, 0, collect.stdout + collect.stderr)
        func summary(_ folder: String) throws -> ComparisonSummary {
            try ResultJSON.decoder().decode(ComparisonSummary.self, from: Data(contentsOf: directory.appendingPathComponent("\(folder)/summary.json")))
        }
        let (a, b) = (try summary("local"), try summary("planned"))
        XCTAssertEqual(b.runCount, 3)
        for strategy in ["sourceOnly", "targetOnly", "dann"] {
            XCTAssertEqual(a.row(task: "tiny-moons", strategy: strategy)?.targetAccuracy, b.row(task: "tiny-moons", strategy: strategy)?.targetAccuracy, strategy)
        }
    }

    // The command line is a library (`DAKitCLI.main(registry:)`): whatever the executable is called,
    // it has dakit's commands, help, version and exit codes, under its own name.

    /// Runs `dakit` as `name` (through a symbolic link, so that argv[0] ends in `name`).
    func run(as name: String, _ arguments: [String]) throws -> Output {
        let link = directory.appendingPathComponent(name)
        if !FileManager.default.fileExists(atPath: link.path) {
            try FileManager.default.createSymbolicLink(at: link, withDestinationURL: try Self.dakit())
        }
        return try run(link, arguments)
    }

    func testHelpNamesTheExecutable() throws {
        for name in ["dakit", "my-dakit"] {
            let help = try run(as: name, ["--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            XCTAssertTrue(help.stdout.contains("USAGE: \(name) <subcommand>"), help.stdout)
            XCTAssertTrue(help.stdout.contains("See '\(name) help <subcommand>' for detailed help."), help.stdout)
            for command in ["demo", "data", "weights", "bench", "run", "compare", "divergence", "strategies", "tables"] {
                XCTAssertTrue(help.stdout.contains("\n  \(command) "), "\(name) --help lists \(command)")
            }
            let runHelp = try run(as: name, ["run", "--help"])
            XCTAssertEqual(runHelp.status, 0, runHelp.stderr)
            XCTAssertTrue(runHelp.stdout.contains("USAGE: \(name) run <recipe> [--seed <seed>]"), runHelp.stdout)
            let words = runHelp.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            XCTAssertTrue(words.contains("another \(name) process holds"), runHelp.stdout)
        }
    }

    func testVersionIsDAKits() throws {
        for name in ["dakit", "my-dakit"] {
            let version = try run(as: name, ["--version"])
            XCTAssertEqual(version.status, 0, version.stderr)
            XCTAssertEqual(version.stdout, DAKitVersion.string + "\n")
        }
    }

    func testStrategiesShowsOnlyTheNamedOne() throws {
        let one = try run(as: "my-dakit", ["strategies", "dann"])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.hasPrefix("dann\n"), one.stdout)
        XCTAssertFalse(one.stdout.contains("\nmmd\n"), one.stdout)
        let unknown = try run(as: "my-dakit", ["strategies", "dannn"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertEqual(unknown.stderr.split(separator: "\n").count, 1, unknown.stderr)
        XCTAssertTrue(unknown.stderr.hasPrefix("my-dakit strategies: unknown strategy 'dannn' (did you mean 'dann'?)"), unknown.stderr)
    }

    /// A usage error exits 2 with one line that points at the executable's own help.
    func testUsageErrorIsOneLineNamingTheExecutable() throws {
        let result = try run(as: "my-dakit", ["run", "--seed", "x", "r.yaml"])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        XCTAssertTrue(result.stderr.hasPrefix("error: "), result.stderr)
        XCTAssertTrue(result.stderr.hasSuffix("(see 'my-dakit run --help')\n"), result.stderr)
        let unknown = try run(as: "my-dakit", ["frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.hasSuffix("(see 'my-dakit --help')\n"), unknown.stderr)
    }
}
