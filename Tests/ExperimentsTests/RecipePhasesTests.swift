import Adaptation
import Experiments
import Foundation
import XCTest

/// Recipes with `phases:` (a source phase, then SHOT's source-free target phase): chaining equals
/// running the source recipe and then a `pretrained.weights` recipe by hand; bad phases and a SHOT
/// recipe without starting weights are refused at their line; the report shows every phase.
final class RecipePhasesTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-phases-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The common part: small moons, evaluation without divergences or plots (speed).
    static let common = """
        task: moons-small
        data:
          generator: moons
          rotation: 35
          samples_per_class: 40
        model:
          architecture: mlp
          hidden: [15]
        evaluation:
          every: 2
          divergences: []
          plots: []
        """

    static let chained = common + """

        name: chained
        strategies: [sourceOnly]
        optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
        schedule: dann
        epochs: 6
        batch_size: 16
        phases:
          - name: source
          - name: target
            strategies:
              - name: shot
            epochs: 4
            optimizer: {name: sgd, lr: 0.01, momentum: 0.9}
            schedule: constant
        """

    static let source = common + """

        name: source
        strategies: [sourceOnly]
        optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
        schedule: dann
        epochs: 6
        batch_size: 16
        """

    static func target(weights: String) -> String {
        common + """

            name: target
            pretrained:
              weights: \(weights)
            strategies:
              - name: shot
            optimizer: {name: sgd, lr: 0.01, momentum: 0.9}
            schedule: constant
            epochs: 4
            batch_size: 16
            """
    }

    private func write(_ text: String, _ name: String) throws -> URL {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    private func load(_ text: String, _ name: String = "recipe.yaml", overrides: [String] = []) throws -> Recipe {
        try Recipe.load(try write(text, name), overrides: overrides, registry: .builtIn, displayName: name)
    }

    func testChainingEqualsSourceThenPretrainedRecipeByHand() throws {
        let chained = try load(Self.chained, "chained.yaml")
        XCTAssertEqual(chained.phases.map(\.name), ["source", "target"])
        XCTAssertEqual(chained.phases.map(\.epochs), [6, 4])
        XCTAssertEqual(chained.phases[0].optimizer.learningRate, 0.05)
        XCTAssertEqual(chained.strategyLabel, "shot")
        let report = try Runner(recipe: chained, registry: .builtIn).run(seed: 1, output: directory.appendingPathComponent("chained"))

        let sourceFolder = directory.appendingPathComponent("source")
        let sourceReport = try Runner(recipe: try load(Self.source, "source.yaml"), registry: .builtIn).run(seed: 1, output: sourceFolder)
        let weights = sourceFolder.appendingPathComponent("checkpoint.h5").path
        let targetReport = try Runner(recipe: try load(Self.target(weights: weights), "target.yaml"), registry: .builtIn)
            .run(seed: 1, output: directory.appendingPathComponent("target"))

        let phases = try XCTUnwrap(report.phases)
        XCTAssertEqual(phases.map(\.name), ["source", "target"])
        XCTAssertEqual(phases[0].targetAccuracy, sourceReport.targetAccuracy)
        XCTAssertEqual(phases[0].sourceAccuracy, sourceReport.sourceAccuracy)
        XCTAssertEqual(phases[0].strategy, "sourceOnly")
        XCTAssertEqual(report.targetAccuracy, targetReport.targetAccuracy)
        XCTAssertEqual(report.sourceAccuracy, targetReport.sourceAccuracy)
        XCTAssertEqual(phases[1].targetAccuracy, report.targetAccuracy)
        XCTAssertEqual(report.epochs.map(\.losses), targetReport.epochs.map(\.losses))
        XCTAssertNil(targetReport.phases, "a recipe without phases reports none")
        XCTAssertTrue(Runner.summary(report).contains("phases: source (sourceOnly, 6 epochs) target"), Runner.summary(report))
    }

    /// Stopped at the end of a target-phase epoch and resumed: the earlier phase is trained again
    /// (deterministic), the checkpoint replaces its weights, and the numbers equal an uninterrupted run's.
    func testPhasedRunStoppedAndResumedMatchesUninterruptedRun() throws {
        let runner = Runner(recipe: try load(Self.chained, "chained.yaml"), registry: .builtIn)
        let full = try runner.run(seed: 2, output: directory.appendingPathComponent("full"))
        let folder = directory.appendingPathComponent("stopped")
        var steps = 0
        // Polled after every step of both phases. 80 target rows in batches of 16: 5 steps per
        // target-phase epoch; stop after its epoch 2.
        let sourceSteps = try XCTUnwrap(full.phases?.first).steps
        let stopped = try runner.run(seed: 2, output: folder, shouldStop: {
            steps += 1
            return steps == sourceSteps + 10
        })
        XCTAssertEqual(stopped.status, "cancelled")
        XCTAssertEqual(stopped.steps, 10)
        let resumed = try runner.run(seed: 2, output: folder, resume: true)
        XCTAssertEqual(resumed.status, "completed")
        XCTAssertEqual(resumed.targetAccuracy, full.targetAccuracy)
        XCTAssertEqual(resumed.epochs.map(\.losses), full.epochs.map(\.losses))
        // The earlier phase's numbers (its wall time aside) are the uninterrupted run's.
        let (again, first) = (try XCTUnwrap(resumed.phases?.first), try XCTUnwrap(full.phases?.first))
        XCTAssertEqual(again.targetAccuracy, first.targetAccuracy)
        XCTAssertEqual(again.sourceAccuracy, first.sourceAccuracy)
        XCTAssertEqual(again.steps, first.steps)
    }

    /// A source phase that diverges (a learning rate of 10⁶, no clip) ends the run as a diverging
    /// last phase would: a failed report naming the phase and its step, the later phase untrained,
    /// the model finite (its last good step), a `PhaseTrainingError` (exit status 1 from `dakit run`).
    func testEarlierPhaseThatDivergesEndsTheRunWithAFailedReport() throws {
        let diverging = Self.chained.replacingOccurrences(
            of: "optimizer: {name: sgd, lr: 0.05, momentum: 0.9}", with: "optimizer: {name: sgd, lr: 1000000, momentum: 0.9, clip_norm: none}")
        XCTAssertNotEqual(diverging, Self.chained)
        let runner = Runner(recipe: try load(diverging, "diverging.yaml"), registry: .builtIn)
        let folder = directory.appendingPathComponent("diverging")
        XCTAssertThrowsError(try runner.run(seed: 3, output: folder)) { error in
            guard let stop = error as? PhaseTrainingError, case .nonFinite(let step, _, _) = stop.error else {
                return XCTFail("expected a PhaseTrainingError, got \(error)")
            }
            XCTAssertEqual(stop.phase, "source")
            XCTAssertTrue("\(stop)".hasPrefix("phase source: training stopped at step \(step)"), "\(stop)")
        }
        let report = try RunReport.load(folder.appendingPathComponent("report.json"))
        XCTAssertEqual(report.status, "failed")
        XCTAssertTrue(report.error?.hasPrefix("phase source: training stopped at step") == true, report.error ?? "no error")
        let phases = try XCTUnwrap(report.phases)
        XCTAssertEqual(phases.map(\.name), ["source"], "the target phase must not train")
        XCTAssertGreaterThan(phases[0].steps, 0)
        XCTAssertTrue(report.sourceAccuracy.isFinite)
        XCTAssertNil(report.sourceOnlyTargetAccuracy)
    }

    /// Ctrl-C during the source phase ends the run there (cancelled, the target phase untrained);
    /// `--resume` trains the source phase again and then the target phase: the uninterrupted run.
    func testRunStoppedInAnEarlierPhaseResumesToTheUninterruptedRun() throws {
        let runner = Runner(recipe: try load(Self.chained, "chained.yaml"), registry: .builtIn)
        let full = try runner.run(seed: 4, output: directory.appendingPathComponent("full"))
        let folder = directory.appendingPathComponent("stopped-early")
        var steps = 0
        let stopped = try runner.run(seed: 4, output: folder, shouldStop: {
            steps += 1
            return steps == 3
        })
        XCTAssertEqual(stopped.status, "cancelled")
        XCTAssertEqual(stopped.steps, 0, "the target phase must not start")
        XCTAssertEqual(stopped.phases ?? [], [], "no phase finished")
        XCTAssertNil(stopped.sourceOnlyTargetAccuracy)
        let resumed = try runner.run(seed: 4, output: folder, resume: true)
        XCTAssertEqual(resumed.status, "completed")
        XCTAssertEqual(resumed.targetAccuracy, full.targetAccuracy)
        XCTAssertEqual(resumed.epochs.map(\.losses), full.epochs.map(\.losses))
        XCTAssertEqual(resumed.phases?.map(\.name), ["source", "target"])
    }

    func testUnknownPhaseKeyIsRefusedAtItsLine() throws {
        let text = Self.chained.replacingOccurrences(of: "    epochs: 4", with: "    epoch: 4")
        XCTAssertThrowsError(try load(text)) { error in
            let message = "\(error)"
            let line = text.components(separatedBy: "\n").firstIndex { $0.contains("epoch: 4") }! + 1
            XCTAssertTrue(message.hasPrefix("recipe.yaml:\(line):"), message)
            XCTAssertTrue(message.contains("unknown key 'epoch' in a phase"), message)
            XCTAssertTrue(message.contains("did you mean 'epochs'"), message)
        }
        let duplicate = Self.chained.replacingOccurrences(of: "name: target", with: "name: source")
        XCTAssertThrowsError(try load(duplicate)) { error in XCTAssertTrue("\(error)".contains("phase names must be distinct"), "\(error)") }
        XCTAssertThrowsError(try load(Self.chained.replacingOccurrences(of: "name: shot", with: "name: shoot"))) { error in
            XCTAssertTrue("\(error)".contains("unknown strategy 'shoot'"), "\(error)")
        }
        XCTAssertThrowsError(try load(Self.chained + "\n  - 3\n")) { error in XCTAssertTrue("\(error)".contains("phases.2 must be a mapping"), "\(error)") }
    }

    func testHashCoversThePhases() throws {
        let a = try load(Self.chained)
        let b = try load(Self.chained, overrides: ["phases.1.epochs=5"])
        XCTAssertEqual(b.phases[1].epochs, 5)
        XCTAssertEqual(b.epochs, 5)
        XCTAssertNotEqual(a.hash, b.hash)
        XCTAssertEqual(a.hash, try load(Self.chained).hash)
    }

    func testSHOTWithoutStartingWeightsIsRefused() throws {
        // Only the target phase: nothing trains or loads the model before SHOT.
        let alone = Self.common + """

            name: alone
            strategies:
              - name: shot
            epochs: 2
            """
        let recipe = try load(alone)
        XCTAssertThrowsError(try Runner(recipe: recipe, registry: .builtIn).prepare(seed: 0)) { error in
            let message = "\(error)"
            XCTAssertTrue(error is RecipeError, message)
            XCTAssertTrue(message.hasPrefix("recipe.yaml:"), message)
            XCTAssertTrue(message.contains("pretrained.weights"), message)
        }
        // A phased recipe whose first phase is SHOT is refused the same way.
        let first = Self.chained.replacingOccurrences(of: "  - name: source\n", with: "  - name: source\n    strategies: [shot]\n")
        XCTAssertThrowsError(try Runner(recipe: try load(first), registry: .builtIn).prepare(seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("pretrained.weights"), "\(error)")
        }
        // SHOT combined with a source strategy is refused at the other strategy's line.
        let mixed = Self.chained.replacingOccurrences(of: "      - name: shot\n", with: "      - name: shot\n      - name: dann\n")
        XCTAssertThrowsError(try Runner(recipe: try load(mixed), registry: .builtIn).prepare(seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("dann uses source data"), "\(error)")
        }
    }

    /// The shipped digits recipe, one command: the target phase (SHOT with the paper's β = 0.3,
    /// shortened to 10 epochs) lifts the source phase's target accuracy, mean over seeds 0–2.
    func testDigitsSHOTRecipeBeatsItsSourcePhase() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let recipe = try Recipe.load(
            root.appendingPathComponent("Recipes/digits-shot.yaml"),
            overrides: ["phases.1.epochs=10", "evaluation.divergences=[]", "evaluation.plots=[]", "selection.rules=[entropy]"], registry: .builtIn)
        var before = 0.0, after = 0.0
        for seed: UInt64 in [0, 1, 2] {
            let report = try Runner(recipe: recipe, registry: .builtIn).run(seed: seed, output: directory.appendingPathComponent("digits-\(seed)"))
            let phases = try XCTUnwrap(report.phases)
            XCTAssertEqual(phases.map(\.name), ["source", "target"])
            before += try XCTUnwrap(phases[0].targetAccuracy) / 3
            after += try XCTUnwrap(phases[1].targetAccuracy) / 3
        }
        XCTAssertGreaterThan(after, before + 0.1, "shot \(after) vs its source phase \(before)")
    }
}
