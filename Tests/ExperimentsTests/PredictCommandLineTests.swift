import Experiments
import Foundation
import HDF5Kit
import TensorCore
import XCTest

/// `dakit predict`, `dakit evaluate` and `dakit weights export` through the built binary, from a
/// `dakit run` checkpoint and a `dakit data make` file.
final class PredictCommandLineTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-predict-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    typealias Output = DakitProcess.Output

    func dakit(_ arguments: [String]) throws -> Output {
        try DakitProcess.run(CommandLineTests.dakit(), arguments, in: directory)
    }

    static let recipe = """
        name: predict-cli
        task: tiny-moons
        data:
          file: moons.h5
        model:
          hidden: [8]
        strategies:
          - name: dann
            schedule: dann
        optimizer:
          lr: 0.05
        schedule: dann
        epochs: 3
        batch_size: 20
        seeds: [0]
        evaluation:
          every: 1
        output: out/predict
        """

    /// A data file and a finished run on it; returns the run's report.
    func trainedRun() throws -> RunReport {
        let made = try dakit(["data", "make", "moons", "-o", "moons.h5", "--samples", "40", "--test-samples", "60", "--rotation", "30"])
        XCTAssertEqual(made.status, 0, made.stderr)
        try Self.recipe.write(to: directory.appendingPathComponent("r.yaml"), atomically: true, encoding: .utf8)
        let run = try dakit(["run", "r.yaml", "--seed", "1", "--out", "run"])
        XCTAssertEqual(run.status, 0, run.stderr)
        return try RunReport.load(directory.appendingPathComponent("run/report.json"))
    }

    func testPredictEvaluateAndExportFromARun() throws {
        let report = try trainedRun()
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("run/metrics.csv").path))

        // predict → HDF5 with features; the predictions agree with the probabilities.
        let predicted = try dakit(["predict", "run/checkpoint.h5", "moons.h5", "-o", "p.h5", "--features", "--split", "targetTest"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        XCTAssertTrue(predicted.stdout.contains("wrote p.h5: 120 samples × 2 classes"), predicted.stdout)
        let file = try HDF5File(reading: directory.appendingPathComponent("p.h5"))
        let probabilities = try file.dataset("/probabilities").readTensor()
        let predictions = try file.dataset("/predictions").readIntegers()
        XCTAssertEqual(probabilities.shape, [120, 2])
        XCTAssertEqual(try file.dataset("/logits").readTensor().shape, [120, 2])
        XCTAssertEqual(try file.dataset("/features").readTensor().shape, [120, 8])
        XCTAssertEqual(predictions, probabilities.argmax(axis: 1))
        let labels = try HDF5File(reading: directory.appendingPathComponent("moons.h5")).dataset("/target/test/y").readIntegers()
        let correct = zip(predictions, labels).filter { $0 == $1 }.count
        XCTAssertEqual(Double(correct) / 120, try XCTUnwrap(report.targetAccuracy), accuracy: 1e-12, "the run's own target accuracy")

        // predict → CSV: a header and one row per sample (default split: the target pool, 80 samples).
        let csv = try dakit(["predict", "run/checkpoint.h5", "moons.h5", "-o", "p.csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = try String(contentsOf: directory.appendingPathComponent("p.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 80)
        XCTAssertEqual(rows[0], "predicted," + report.dataset.classNames.joined(separator: ","))

        // evaluate: the report's target accuracy and macro-F1, per class and the confusion matrix.
        let evaluated = try dakit(["evaluate", "run/checkpoint.h5", "moons.h5", "--split", "targetTest"])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let expected = String(format: "accuracy %.4f   macro-F1 %.4f", report.targetAccuracy!, report.targetMacroF1!)
        XCTAssertTrue(evaluated.stdout.contains(expected), "\(expected) in\n\(evaluated.stdout)")
        XCTAssertTrue(evaluated.stdout.contains("confusion matrix"), evaluated.stdout)
        for name in report.dataset.classNames { XCTAssertTrue(evaluated.stdout.contains(name), evaluated.stdout) }

        // weights export → weights import gives the checkpoint's model weights back.
        let exported = try dakit(["weights", "export", "run/checkpoint.h5", "--to", "pytorch", "-o", "model.pt.h5"])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        let exportedRoot = try HDF5File(reading: directory.appendingPathComponent("model.pt.h5")).root
        XCTAssertEqual(try exportedRoot.attribute("input_shape").text, "[2]", "the model's description travels with the export")
        XCTAssertTrue(try exportedRoot.attribute("model_spec").text.contains("\"hidden\":[8]"))
        let imported = try dakit([
            "weights", "import", "--from", "pytorch", "model.pt.h5", "--arch", "mlp", "--hidden", "8", "--input-shape", "2", "--classes", "2", "-o", "back.h5",
        ])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        let keras = try dakit(["weights", "export", "run/checkpoint.h5", "--to", "keras", "-o", "model.weights.h5"])
        XCTAssertEqual(keras.status, 0, keras.stderr)
        let fromKeras = try dakit([
            "weights", "import", "--from", "keras", "model.weights.h5", "--arch", "mlp", "--hidden", "8", "--input-shape", "2", "--classes", "2",
            "-o", "back-keras.h5",
        ])
        XCTAssertEqual(fromKeras.status, 0, fromKeras.stderr)
        let checkpoint = try Checkpoint.readAll(from: directory.appendingPathComponent("run/checkpoint.h5")).tensors
        for back in ["back.h5", "back-keras.h5"] {
            let tensors = try Checkpoint.readAll(from: directory.appendingPathComponent(back)).tensors
            XCTAssertEqual(Set(tensors.keys), ["features.0.weight", "features.0.bias", "classifier.0.weight", "classifier.0.bias"], back)
            for (path, value) in tensors { XCTAssertEqual(value, checkpoint[path], "\(back) \(path)") }
        }

        // Bad input: exit 2, one line.
        func assertBadInput(_ arguments: [String], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let result = try dakit(arguments)
            XCTAssertEqual(result.status, 2, result.stderr, file: file, line: line)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr, file: file, line: line)
            XCTAssertTrue(result.stderr.contains(fragment), result.stderr, file: file, line: line)
        }
        // back.h5 was written by `weights import`: weights without a model description.
        try assertBadInput(["predict", "back.h5", "moons.h5"], "does not describe its model")
        try assertBadInput(["evaluate", "back.h5", "moons.h5"], "does not describe its model")
        try assertBadInput(["weights", "export", "back.h5", "--to", "keras", "-o", "x.h5"], "does not describe its model")
        try assertBadInput(["predict", "run/checkpoint.h5", "moons.h5", "--split", "validation"], "has no dataset /validation/x (it holds /source/x, /source/y, /source/val/x")
        try assertBadInput(["predict", "run/checkpoint.h5", "p.h5", "--x", "/features", "-o", "q.h5"], "holds samples of shape [8] (dataset shape [120, 8]) but the model in checkpoint.h5 takes samples of shape [2]")
        try assertBadInput(["predict", "run/checkpoint.h5", "p.h5", "--x", "/predictions", "-o", "q.h5"], "expected N samples along the first axis")
        try assertBadInput(["evaluate", "run/checkpoint.h5", "moons.h5", "--x", "/target/x"], "--x needs --y")
        try assertBadInput(["predict", "run/checkpoint.h5", "nothing.h5"], "nothing.h5")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("q.h5").path))
    }
}
