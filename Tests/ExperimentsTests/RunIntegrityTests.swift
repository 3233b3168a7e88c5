import Experiments
import Foundation
import HDF5Kit
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Results that are never stale or lost: bad data exits 2 before anything is written, one writer per
/// output folder, a killed run always resumes from a consistent checkpoint, `compare` never shows a
/// result of another recipe and passes Ctrl-C on to its runs.
final class RunIntegrityTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-integrity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    typealias Output = DakitProcess.Output

    func start(_ arguments: [String]) throws -> DakitProcess { try DakitProcess(CommandLineTests.dakit(), arguments, in: directory) }

    func finish(_ started: DakitProcess) -> Output { started.finish() }

    func dakit(_ arguments: [String]) throws -> Output { finish(try start(arguments)) }

    func write(_ text: String, _ name: String) throws -> String {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        return name
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: directory.appendingPathComponent(path).path) }

    /// Files under `folder` whose names mark an unfinished atomic write.
    func temporaryFiles(under folder: URL) -> [String] {
        let walker = FileManager.default.enumerator(atPath: folder.path)
        var found: [String] = []
        while let name = walker?.nextObject() as? String {
            if URL(fileURLWithPath: name).lastPathComponent.contains(".tmp-") { found.append(name) }
        }
        return found
    }

    // MARK: Bad data files

    func testBadDataFileExitsTwoWithOneLineAndWritesNothing() throws {
        let notHDF5 = directory.appendingPathComponent("notes.h5")
        try "not an HDF5 file".write(to: notHDF5, atomically: true, encoding: .utf8)
        let noTarget = directory.appendingPathComponent("no-target.h5")
        try HDF5File.writeAtomically(to: noTarget) { file in
            try file.root.write(.init(shape: [4, 2], scalars: [0, 1, 2, 3, 4, 5, 6, 7]), to: "source/x")
            try file.root.write(integers: [0, 1, 0, 1], to: "source/y")
        }
        let nan = directory.appendingPathComponent("nan.h5")
        try HDF5File.writeAtomically(to: nan) { file in
            try file.root.write(.init(shape: [4, 2], scalars: [0, 1, 2, .nan, 4, 5, 6, 7]), to: "source/x")
            try file.root.write(integers: [0, 1, 0, 1], to: "source/y")
            try file.root.write(.init(shape: [2, 2], scalars: [0, 1, 2, 3]), to: "target/x")
        }
        let truncated = directory.appendingPathComponent("truncated.h5")
        let whole = try Data(contentsOf: noTarget)
        try whole.prefix(whole.count / 2).write(to: truncated)
        let recipe = CommandLineTests.tiny.replacingOccurrences(
            of: "  generator: moons\n  rotation: 30\n  samples_per_class: 40\n  test_samples_per_class: 60\n", with: "  file: DATA\n")
        XCTAssertTrue(recipe.contains("file: DATA"))
        for (file, fragment) in [(notHDF5, "not an HDF5 file"), (noTarget, "target"), (nan, "non-finite"), (truncated, "truncated.h5")] {
            let name = try write(recipe.replacingOccurrences(of: "DATA", with: file.path), "data-\(file.lastPathComponent).yaml")
            for check in [true, false] {
                let result = try dakit(["run", name] + (check ? ["--check"] : []) + ["--out", "out-\(file.lastPathComponent)"])
                XCTAssertEqual(result.status, 2, "\(file.lastPathComponent) check=\(check): \(result.stderr)")
                XCTAssertEqual(result.stderrLines.count, 1, result.stderr)
                XCTAssertTrue(result.stderr.hasPrefix("error: \(name):"), result.stderr)
                XCTAssertTrue(result.stderr.contains(fragment), "\(fragment): \(result.stderr)")
                XCTAssertFalse(exists("out-\(file.lastPathComponent)"), "nothing written for \(file.lastPathComponent)")
            }
        }
    }

    func testUnwritableOutputIsOnePlainLine() throws {
        let recipe = try write(CommandLineTests.tiny, "tiny.yaml")
        let blocker = try write("a file, not a folder", "blocker")
        let result = try dakit(["run", recipe, "--out", "\(blocker)/run"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertEqual(result.stderrLines.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("cannot create the output folder"), result.stderr)
        XCTAssertFalse(result.stderr.contains("NSCocoaErrorDomain"), result.stderr)
        XCTAssertFalse(result.stderr.contains("Code="), result.stderr)
    }

    // MARK: One writer per folder

    func testSecondWriterIsRefusedNamingTheHolder() throws {
        let recipe = try write(CommandLineTests.tiny, "tiny.yaml")
        let folder = directory.appendingPathComponent("busy")
        let held = try OutputLock.acquire(folder)
        let result = try dakit(["run", recipe, "--out", "busy"])
        XCTAssertEqual(result.status, 2, result.stdout + result.stderr)
        XCTAssertEqual(result.stderrLines.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("is in use by another dakit process (pid \(getpid())"), result.stderr)
        XCTAssertFalse(exists("busy/report.json"))
        held.release()
        let after = try dakit(["run", recipe, "--out", "busy"])
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertTrue(exists("busy/report.json"))
    }

    // MARK: Killed runs

    /// A run killed with SIGKILL at arbitrary moments, resumed each time, ends with the weights of a
    /// run that never stopped, and leaves no temporary file behind.
    func testRunKilledAtRandomMomentsResumesToTheUninterruptedWeights() throws {
        let recipe = try write(
            CommandLineTests.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: 400")
                .replacingOccurrences(of: "every: 2", with: "every: 1")
                .replacingOccurrences(of: "  divergence_samples: 60\n", with: "  divergence_samples: 60\n  divergences: []\n"),
            "long.yaml")
        let full = try dakit(["run", recipe, "--out", "full", "--set", "batch_size=10"])
        XCTAssertEqual(full.status, 0, full.stderr)

        var rng = SystemRandomNumberGenerator()
        var kills = 0
        var resumedFromCheckpoint = 0
        var finished = false
        for attempt in 0..<12 {
            let running = try start(["run", recipe, "--out", "killed", "--set", "batch_size=10"] + (attempt == 0 ? [] : ["--resume"]))
            if attempt == 0 {
                // On a loaded machine start-up alone can take longer than the kill window: let the first
                // attempt reach its first checkpoint, so that a later one has something to resume.
                let checkpoint = directory.appendingPathComponent("killed/checkpoint.h5").path
                for _ in 0..<600 where running.process.isRunning && !FileManager.default.fileExists(atPath: checkpoint) { usleep(50_000) }
            }
            usleep(UInt32.random(in: 150_000...900_000, using: &rng))
            if running.process.isRunning {
                kill(running.process.processIdentifier, SIGKILL)
                kills += 1
            }
            let result = finish(running)
            if result.stdout.contains("resuming at step") { resumedFromCheckpoint += 1 }
            if result.status == 0 {
                finished = true
                break
            }
            // Killed, never refused: every resume finds a consistent checkpoint (or none yet).
            XCTAssertFalse(result.stderr.contains("error:"), "attempt \(attempt): \(result.stderr)")
        }
        if !finished {
            let last = try dakit(["run", recipe, "--out", "killed", "--set", "batch_size=10", "--resume"])
            XCTAssertEqual(last.status, 0, last.stderr)
        }
        XCTAssertGreaterThan(kills, 0, "the machine was too fast to kill anything")
        XCTAssertGreaterThan(resumedFromCheckpoint, 0, "no attempt resumed from a checkpoint")
        let a = try Checkpoint.readAll(from: directory.appendingPathComponent("full/checkpoint.h5"))
        let b = try Checkpoint.readAll(from: directory.appendingPathComponent("killed/checkpoint.h5"))
        XCTAssertEqual(a.order, b.order)
        for path in a.order { XCTAssertEqual(a.tensors[path], b.tensors[path], path) }
        XCTAssertEqual(a.metadata["recipe_hash"], b.metadata["recipe_hash"])
        XCTAssertEqual(a.metadata["recipe_hash"]?.count, 16, "checkpoints carry the recipe hash")
        let reportA = try RunReport.load(directory.appendingPathComponent("full/report.json"))
        let reportB = try RunReport.load(directory.appendingPathComponent("killed/report.json"))
        XCTAssertEqual(reportA.targetAccuracy, reportB.targetAccuracy)
        XCTAssertEqual(reportB.epochs.map(\.epoch), Array(1...400))
        XCTAssertEqual(temporaryFiles(under: directory.appendingPathComponent("killed")), [])
    }

    func testResumeHintKeepsTheOverrides() {
        let options = RunToolOptions(recipe: "Recipes/my recipe.yaml", overrides: ["epochs=10", "strategies=[{name: dann}]"])
        let command = RunTool.resumeCommand(options, seed: 4, output: URL(fileURLWithPath: "/tmp/out"))
        XCTAssertTrue(
            command.hasSuffix(
                " run 'Recipes/my recipe.yaml' --seed 4 --out /tmp/out --set epochs=10 --set 'strategies=[{name: dann}]' --resume"), command)
    }

    // MARK: compare

    func testCompareRefusesSeedAndJobCountsOutOfRange() throws {
        let recipe = try write(CommandLineTests.tiny, "tiny.yaml")
        for (flag, value) in [("--seeds", "0"), ("--seeds", "-3"), ("--seeds", "10000000000"), ("--jobs", "0")] {
            let result = try dakit(["compare", recipe, flag, value, "--out", "cmp"])
            XCTAssertEqual(result.status, 2, "\(flag) \(value): \(result.stderr)")
            XCTAssertEqual(result.stderrLines.count, 1, result.stderr)
            XCTAssertFalse(exists("cmp"), "\(flag) \(value) wrote nothing")
        }
    }

    func testCompareRunsAgainWhenTheRecipeChangesAndNeverShowsStaleNumbers() throws {
        let recipe = try write(CommandLineTests.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: 2"), "tiny.yaml")
        let first = try dakit(["compare", recipe, "--seeds", "1", "--no-baselines", "--out", "cmp"])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        let again = try dakit(["compare", recipe, "--seeds", "1", "--no-baselines", "--out", "cmp"])
        XCTAssertTrue(again.stdout.contains("already done"), again.stdout)

        let changed = try dakit(["compare", recipe, "--seeds", "1", "--no-baselines", "--out", "cmp", "--set", "epochs=4"])
        XCTAssertEqual(changed.status, 0, changed.stdout + changed.stderr)
        XCTAssertFalse(changed.stdout.contains("already done"), changed.stdout)
        XCTAssertTrue(changed.stdout.contains("running again"), changed.stdout)
        let report = try RunReport.load(directory.appendingPathComponent("cmp/runs/tiny-moons/dann/seed-0/report.json"))
        XCTAssertEqual(report.epochs.count, 4)
        XCTAssertEqual(report.overrides, ["epochs=4"])

        // A planned folder holding another recipe's report is left out of the summary.
        let plan = try ResultJSON.decoder().decode(ComparisonPlan.self, from: Data(contentsOf: directory.appendingPathComponent("cmp/plan.json")))
        XCTAssertEqual(plan.jobs.first?.recipeHash, report.recipeHash)
        var stale = plan
        stale.jobs[0].recipeHash = "0000000000000000"
        try ResultJSON.encoder().encode(stale).write(to: directory.appendingPathComponent("cmp/plan.json"))
        let collected = try dakit(["compare", "--collect", "cmp"])
        XCTAssertEqual(collected.status, 2, collected.stdout + collected.stderr)
        XCTAssertTrue(collected.stderr.contains("left out 1 report(s)"), collected.stderr)
        XCTAssertTrue(collected.stderr.contains("no report.json of this plan's runs"), collected.stderr)
    }

    /// Ctrl-C on compare reaches its runs: they save and stop, compare writes what finished and exits
    /// 130, no run is left behind, and the same command afterwards resumes the stopped runs.
    func testInterruptedCompareStopsItsRunsAndResumesThemNextTime() throws {
        let recipe = try write(
            CommandLineTests.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: 300")
                .replacingOccurrences(of: "  divergence_samples: 60\n", with: "  divergence_samples: 60\n  divergences: []\n"),
            "slow.yaml")
        let arguments = ["compare", recipe, "--seeds", "2", "--jobs", "2", "--no-baselines", "--out", "cmp", "--set", "batch_size=10"]
        let running = try start(arguments)
        // Wait until both runs have written a checkpoint, then interrupt compare alone.
        let deadline = Date().addingTimeInterval(60)
        let checkpoints = (0..<2).map { directory.appendingPathComponent("cmp/runs/tiny-moons/dann/seed-\($0)/checkpoint.h5").path }
        while Date() < deadline, !checkpoints.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) { usleep(50_000) }
        XCTAssertTrue(running.process.isRunning, "the runs finished before the interrupt: make them longer")
        kill(running.process.processIdentifier, SIGINT)
        let stopped = finish(running)
        XCTAssertEqual(stopped.status, 130, stopped.stdout + stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("stopped; resumes on the next compare"), stopped.stdout)
        XCTAssertTrue(stopped.stderr.contains("interrupted: 0 of 2 runs complete"), stopped.stderr)
        // No run is still writing: each folder's lock is free.
        for seed in 0..<2 {
            let folder = directory.appendingPathComponent("cmp/runs/tiny-moons/dann/seed-\(seed)")
            XCTAssertNoThrow(try OutputLock.acquire(folder).release(), "seed \(seed) still held")
            let report = try RunReport.load(folder.appendingPathComponent("report.json"))
            XCTAssertEqual(report.status, "cancelled")
        }
        let resumed = try dakit(arguments)
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        XCTAssertEqual(resumed.stdout.components(separatedBy: "resuming at step").count - 1, 2, resumed.stdout)
        let report = try RunReport.load(directory.appendingPathComponent("cmp/runs/tiny-moons/dann/seed-0/report.json"))
        XCTAssertEqual(report.status, "completed")
        XCTAssertEqual(report.epochs.map(\.epoch), Array(1...300))
    }
}
