import Adaptation
import Experiments
import Foundation
import HDF5Kit
import XCTest

/// `dakit run --resume` (through `Runner.run(resume:)`): stopped mid-run and resumed, a run ends
/// with the weights, accuracies and epoch history of the run that never stopped.
final class ResumeTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-resume-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    static let recipe = """
        name: resume-dann
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
          name: sgd
          lr: 0.05
          momentum: 0.9
        schedule: dann
        epochs: 6
        batch_size: 20
        seeds: [0]
        evaluation:
          every: 1
          divergence_samples: 40
        output: out/resume
        """

    func testStoppedAndResumedRunMatchesUninterruptedRun() throws {
        let file = directory.appendingPathComponent("resume.yaml")
        try Self.recipe.write(to: file, atomically: true, encoding: .utf8)
        let registry = StrategyRegistry.builtIn
        let runner = Runner(recipe: try Recipe.load(file, registry: registry), registry: registry)

        let fullFolder = directory.appendingPathComponent("full")
        let full = try runner.run(seed: 3, output: fullFolder)

        // 4 steps per epoch: stop inside epoch 3 (after step 10), then resume twice to be sure
        // a finished run is refused.
        let folder = directory.appendingPathComponent("stopped")
        var steps = 0
        let stopped = try runner.run(seed: 3, output: folder, shouldStop: {
            steps += 1
            return steps == 10
        })
        XCTAssertEqual(stopped.status, "cancelled")
        XCTAssertEqual(stopped.steps, 10)
        // One file holds weights, optimizer state and progress, all at the stop step.
        let saved = try Checkpoint.readAll(from: folder.appendingPathComponent("checkpoint.h5"))
        XCTAssertEqual(saved.metadata["step"], "10")
        XCTAssertTrue(saved.order.contains { $0.hasPrefix("optimizer.joint.") }, "\(saved.order)")
        XCTAssertTrue(saved.metadata["run_state"]?.contains("\"steps\":10") ?? false, saved.metadata["run_state"] ?? "no run_state")
        let resumed = try runner.run(seed: 3, output: folder, resume: true)

        XCTAssertEqual(resumed.status, "completed")
        XCTAssertEqual(resumed.steps, full.steps)
        XCTAssertEqual(resumed.epochs.map(\.epoch), [1, 2, 3, 4, 5, 6], "the partial epoch 3 is replaced, not repeated")
        XCTAssertEqual(resumed.epochs.suffix(3).map(\.losses), full.epochs.suffix(3).map(\.losses))
        XCTAssertEqual(resumed.epochs.map(\.learningRate), full.epochs.map(\.learningRate))
        XCTAssertEqual(resumed.targetAccuracy, full.targetAccuracy)
        XCTAssertEqual(resumed.target, full.target)
        let a = try Checkpoint.readAll(from: fullFolder.appendingPathComponent("checkpoint.h5"))
        let b = try Checkpoint.readAll(from: folder.appendingPathComponent("checkpoint.h5"))
        XCTAssertEqual(a.order, b.order)
        for path in a.order { XCTAssertEqual(a.tensors[path]?.scalars, b.tensors[path]?.scalars, path) }

        XCTAssertThrowsError(try runner.run(seed: 3, output: folder, resume: true)) { error in
            XCTAssertTrue("\(error)".contains("already finished all 6 epochs"), "\(error)")
        }

        // Killed after its last checkpoint, while writing its reports: --resume trains nothing and
        // writes the reports of the finished weights.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("report.json"))
        let reported = try runner.run(seed: 3, output: folder, resume: true)
        XCTAssertEqual(reported.status, "completed")
        XCTAssertEqual(reported.steps, full.steps)
        XCTAssertEqual(reported.target, full.target)
        XCTAssertEqual(reported.epochs.map(\.epoch), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try RunReport.load(folder.appendingPathComponent("report.json")).targetAccuracy, full.targetAccuracy)
        let after = try Checkpoint.readAll(from: folder.appendingPathComponent("checkpoint.h5"))
        for path in a.order { XCTAssertEqual(a.tensors[path]?.scalars, after.tensors[path]?.scalars, path) }
    }
}
