import Adaptation
import Experiments
import Foundation
import HDF5Kit
import TensorCore
import XCTest

/// `data: {standardize: source | per_domain | none}` and `optimizer: {clip_norm: X}` (issue 9):
/// statistics by hand, fitted on training data only, stored in the checkpoint and applied by
/// `dakit evaluate`; the reported CORAL blow-up gone with either.
final class StandardizeClipTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-standardize-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func dakit(_ arguments: [String]) throws -> DakitProcess.Output {
        try DakitProcess.run(CommandLineTests.dakit(), arguments, in: directory)
    }

    /// Source x = (0, 10), (2, 10), (4, 10); target x = (10, 0), (12, 2); a source validation split far
    /// from both, which must not move the statistics.
    static func tiny() -> TrainingData {
        TrainingData(DomainDataset(
            source: DomainSplit(x: Tensor(shape: [3, 2], scalars: [0, 10, 2, 10, 4, 10]), y: [0, 1, 0]),
            target: DomainSplit(x: Tensor(shape: [2, 2], scalars: [10, 0, 12, 2]), y: [1, 0]),
            sourceValidation: DomainSplit(x: Tensor(shape: [2, 2], scalars: [100, -100, 300, 500]), y: [0, 1]),
            targetTest: DomainSplit(x: Tensor(shape: [1, 2], scalars: [11, 1]), y: [1]),
            classNames: ["a", "b"], shiftDescription: "tiny"))
    }

    func assertScalars(_ t: Tensor, _ expected: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(t.scalars.count, expected.count, file: file, line: line)
        for (a, b) in zip(t.scalars, expected) { XCTAssertEqual(a, b, accuracy: 1e-4, "\(t.scalars) vs \(expected)", file: file, line: line) }
    }

    func testStatisticsByHandSourceOnly() throws {
        let (data, fitted) = try Self.tiny().standardized(.source)
        let transform = try XCTUnwrap(fitted)
        // Feature 0: mean 2, population std √(8/3); feature 1: constant 10, std floored at 1e-6.
        XCTAssertEqual(transform.source.mean, [2, 10])
        XCTAssertEqual(transform.source.std[0], (8.0 / 3.0).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(transform.source.std[1], 1e-6)
        XCTAssertEqual(transform.target, transform.source, "mode source: one transform for both domains")
        let s = Float((8.0 / 3.0).squareRoot())
        assertScalars(try data.source.inputs(rows: [0, 1, 2]), [-2 / s, 0, 0, 0, 2 / s, 0])
        assertScalars(try data.target.inputs(rows: [0, 1]), [8 / s, -1e7, 10 / s, -8e6])
        assertScalars(try data.sourceEvaluation.inputs.inputs(rows: [0]), [98 / s, -1.1e8])
        XCTAssertEqual(data.sourceEvaluation.name, "sourceValidation")
        XCTAssertEqual(data.targetEvaluation?.name, "targetTest")
        XCTAssertEqual(data.targetEvaluation?.labels, [1])
        XCTAssertEqual(data.source.labels, [0, 1, 0])
    }

    func testStatisticsByHandPerDomain() throws {
        let (data, fitted) = try Self.tiny().standardized(.perDomain)
        let transform = try XCTUnwrap(fitted)
        XCTAssertEqual(transform.mode, .perDomain)
        XCTAssertEqual(transform.source.mean, [2, 10])
        // The target pool (labels unread): mean (11, 1), std (1, 1).
        XCTAssertEqual(transform.target.mean, [11, 1])
        XCTAssertEqual(transform.target.std, [1, 1])
        assertScalars(try data.target.inputs(rows: [0, 1]), [-1, -1, 1, 1])
        assertScalars(try XCTUnwrap(data.targetEvaluation).inputs.inputs(rows: [0]), [0, 0])
        XCTAssertNil(try Self.tiny().standardized(.none).transform)
    }

    /// Image inputs: one mean and std per channel over N·H·W.
    func testPerChannelForImages() throws {
        // 2 samples × 2 channels × 1×2 pixels: channel 0 holds 1, 3, 5, 7; channel 1 holds 10 four times.
        let x = Tensor(shape: [2, 2, 1, 2], scalars: [1, 3, 10, 10, 5, 7, 10, 10])
        let stats = try FeatureStandardization.fit(InMemorySource(x), chunkRows: 1)
        XCTAssertEqual(stats.mean, [4, 10])
        XCTAssertEqual(stats.std[0], Float(5.0).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(stats.std[1], 1e-6)
        let r = Float(5.0).squareRoot()
        assertScalars(stats.apply(x), [-3 / r, -1 / r, 0, 0, 1 / r, 3 / r, 0, 0])
    }

    /// A checkpoint without `input_standardization` (older DAKit, or `none`) takes inputs as they are.
    func testOlderCheckpointMeansNone() throws {
        let info = CheckpointModelInfo(spec: ModelSpec(extractor: .mlp(hidden: [4])), inputShape: [2], classNames: ["a", "b"])
        XCTAssertNil(info.metadata["input_standardization"])
        XCTAssertNil(try CheckpointModelInfo(metadata: info.metadata, file: "old.h5").standardization)
        let stored = CheckpointModelInfo(
            spec: ModelSpec(extractor: .mlp(hidden: [4])), inputShape: [2], classNames: ["a", "b"],
            standardization: InputStandardization(
                mode: .source, source: FeatureStandardization(mean: [1, 2], std: [3, 4]), target: FeatureStandardization(mean: [1, 2], std: [3, 4])))
        XCTAssertEqual(try CheckpointModelInfo(metadata: stored.metadata, file: "new.h5"), stored, "round trip")
        var wrongWidth = stored.metadata
        wrongWidth["input_shape"] = "[3]"
        XCTAssertThrowsError(try CheckpointModelInfo(metadata: wrongWidth, file: "bad.h5"))
    }

    /// The covariate-shift blobs of the CORAL report: noise 1.5, target moved by 3 (input std ≈ 1.5–2.5).
    static func coralRecipe(data: String = "file: blobs.h5", clipNorm: String? = nil) -> String {
        """
        name: coral-blobs
        task: blobs
        data:
          \(data)
        model:
          hidden: [15]
        strategies:
          - name: coral
        optimizer:
          lr: 0.05
          momentum: 0.9\(clipNorm.map { "\n  clip_norm: \($0)" } ?? "")
        schedule: dann
        epochs: 30
        batch_size: 32
        seeds: [2]
        evaluation:
          every: 10
          divergences: []
          plots: []
        selection: {rules: []}
        output: out
        """
    }

    func makeBlobs() throws {
        let made = try dakit(["data", "make", "shifted", "-o", "blobs.h5", "--shift", "covariate", "--noise", "1.5", "--strength", "3", "--seed", "2"])
        XCTAssertEqual(made.status, 0, made.stderr)
    }

    /// Runs `recipe` as `name.yaml` with seed 2; the process output.
    func run(_ recipe: String, _ name: String) throws -> DakitProcess.Output {
        try recipe.write(to: directory.appendingPathComponent("\(name).yaml"), atomically: true, encoding: .utf8)
        return try dakit(["run", "\(name).yaml", "--seed", "2", "--out", name])
    }

    /// The reported CORAL stop (step 5 at lr 0.05 on the unstandardised blobs, with clipping turned
    /// off) and the fixes, the recipe default (`clip_norm` 5 when the recipe names none) among them.
    func testCORALBlowUpGoneWithStandardizationOrClipping() throws {
        try makeBlobs()
        let raw = try run(Self.coralRecipe(clipNorm: "none"), "raw")
        XCTAssertNotEqual(raw.status, 0, "unstandardised and unclipped, this run is expected to stop; the test no longer reproduces the bug")
        XCTAssertTrue(raw.stderr.contains("term 'coral' of 'coral' is not finite"), raw.stderr)

        for (name, recipe) in [
            ("source", Self.coralRecipe(data: "file: blobs.h5\n  standardize: source", clipNorm: "none")),
            ("perdomain", Self.coralRecipe(data: "file: blobs.h5\n  standardize: per_domain", clipNorm: "none")),
            ("clip", Self.coralRecipe(clipNorm: "10")),
            ("default", Self.coralRecipe()),
        ] {
            let result = try run(recipe, name)
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            let report = try RunReport.load(directory.appendingPathComponent("\(name)/report.json"))
            XCTAssertEqual(report.status, "completed", name)
            XCTAssertGreaterThan(try XCTUnwrap(report.targetAccuracy), 0.8, name)
        }
    }

    /// The fitted transform is stored in checkpoint.h5, and `dakit evaluate` on the raw file gives the
    /// run's own target accuracy (per_domain: the target statistics for a target split, the source
    /// statistics for a source split).
    func testCheckpointStoresTheTransformAndEvaluateAppliesIt() throws {
        try makeBlobs()
        let result = try run(Self.coralRecipe(data: "file: blobs.h5\n  standardize: per_domain"), "run")
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try RunReport.load(directory.appendingPathComponent("run/report.json"))
        let root = try HDF5File(reading: directory.appendingPathComponent("run/checkpoint.h5")).root
        let stored = try JSONDecoder().decode(InputStandardization.self, from: Data(try root.attribute("input_standardization").text.utf8))
        XCTAssertEqual(stored.mode, .perDomain)
        let file = try HDF5File(reading: directory.appendingPathComponent("blobs.h5"))
        let expected = try FeatureStandardization.fit(InMemorySource(try file.dataset("/target/x").readTensor()))
        XCTAssertEqual(stored.target.mean[0], expected.mean[0], accuracy: 1e-5, "fitted on the target pool")
        XCTAssertEqual(stored.target.std[1], expected.std[1], accuracy: 1e-5)

        // Inference applies the target statistics to raw target inputs (and does change the logits).
        let trained = try TrainedModel.load(directory.appendingPathComponent("run/checkpoint.h5"))
        let raw = try PredictionInputs.read(directory.appendingPathComponent("blobs.h5"), split: "targetTest")
        let logits = try trained.predict(raw).logits
        XCTAssertEqual(logits, trained.model.logits(stored.target.apply(raw.x)))
        XCTAssertNotEqual(logits, trained.model.logits(raw.x))

        for (split, accuracy, f1) in [
            ("targetTest", report.targetAccuracy!, report.targetMacroF1!), ("sourceValidation", report.sourceAccuracy, report.sourceMacroF1),
        ] {
            let evaluated = try dakit(["evaluate", "run/checkpoint.h5", "blobs.h5", "--split", split])
            XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
            let line = String(format: "accuracy %.4f   macro-F1 %.4f", accuracy, f1)
            XCTAssertTrue(evaluated.stdout.contains(line), "\(split): \(line) in\n\(evaluated.stdout)")
        }
    }

    func testRecipeRefusesBadValues() throws {
        try makeBlobs()
        let bad = try run(Self.coralRecipe(data: "file: blobs.h5\n  standardize: global"), "bad")
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("standardization"), bad.stderr)
        let zero = try run(Self.coralRecipe(clipNorm: "0"), "zero")
        XCTAssertEqual(zero.status, 2, zero.stderr)
        XCTAssertTrue(zero.stderr.contains("clip_norm"), zero.stderr)
        let word = try run(Self.coralRecipe(clipNorm: "off"), "word")
        XCTAssertEqual(word.status, 2, word.stderr)
        XCTAssertTrue(word.stderr.contains("optimizer.clip_norm must be a positive number or 'none', got 'off'"), word.stderr)
    }
}
