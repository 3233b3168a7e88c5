import Adaptation
import Experiments
import Foundation
import HDF5Kit
import NN
import TensorCore
import XCTest

/// Self-describing checkpoints, `TrainedModel` prediction and evaluation, and `metrics.csv`, at the
/// library level.
final class PredictionTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-predict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    static let recipe = """
        name: predict-dann
        task: tiny-moons
        data:
          generator: moons
          rotation: 30
          samples_per_class: 40
          test_samples_per_class: 60
        model:
          hidden: [8]
          bottleneck: 6
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

    /// A 2 → 2 → 2 model with weights chosen so that the outputs can be computed by hand:
    /// features = ReLU(x), logits = features.
    func handModel() throws -> (url: URL, info: CheckpointModelInfo, model: AdaptationModel) {
        let info = CheckpointModelInfo(spec: ModelSpec(extractor: .mlp(hidden: [2])), inputShape: [2], classNames: ["left", "right, up"], recipeHash: "abc")
        var rng = SeededGenerator(seed: 1)
        let model = try AdaptationModel.make(inputShape: [2], classCount: 2, spec: info.spec, rng: &rng)
        let identity = Tensor(shape: [2, 2], scalars: [1, 0, 0, 1])
        for item in model.state {
            item.parameter.value = item.path.hasSuffix("weight") ? identity : Tensor.zeros(item.parameter.shape)
        }
        let url = directory.appendingPathComponent("hand.h5")
        try Checkpoint.save(model.state, to: url, metadata: info.metadata.merging(["recipe_hash": "abc"]) { a, _ in a })
        return (url, info, model)
    }

    func testHandModelPredictionsProbabilitiesAndEvaluation() throws {
        let (url, info, model) = try handModel()
        let trained = try TrainedModel.load(url)
        XCTAssertEqual(trained.info, info, "the checkpoint's attributes give back the description")
        let x = Tensor(shape: [2, 2], scalars: [3, 1, -1, 2])
        let inputs = PredictionInputs(x: x, labels: [0, 0], origin: "hand", labelOrigin: nil)
        let out = try trained.predict(inputs, features: true)
        XCTAssertEqual(out.logits.scalars, [3, 1, 0, 2], "logits = ReLU(x)")
        XCTAssertEqual(out.features?.scalars, [3, 1, 0, 2])
        XCTAssertEqual(out.predictions, [0, 1])
        XCTAssertEqual(out.predictions, model.predict(x), "the same as the original model's own predict")
        let p = Double(1 / (1 + exp(-2.0)))  // softmax([3, 1])[0] = softmax([2, 0])[1]
        XCTAssertEqual(Double(out.probabilities.scalars[0]), p, accuracy: 1e-6)
        XCTAssertEqual(Double(out.probabilities.scalars[1]), 1 - p, accuracy: 1e-6)
        XCTAssertEqual(Double(out.probabilities.scalars[3]), p, accuracy: 1e-6)

        // Labels 0, 0: one right (class 0), one predicted 1 wrongly.
        let evaluation = try trained.evaluate(inputs)
        XCTAssertEqual(evaluation.report.accuracy, 0.5)
        XCTAssertEqual(evaluation.report.confusion, [[1, 1], [0, 0]])
        XCTAssertEqual(evaluation.perClassPrecision, [1, 0])
        XCTAssertEqual(evaluation.report.perClassAccuracy, [0.5, 0])
        XCTAssertEqual(evaluation.report.perClassF1[0], 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(evaluation.report.macroF1, 1.0 / 3.0, accuracy: 1e-12, "class 1 is predicted once, so it counts with F1 0")
        XCTAssertTrue(evaluation.text.contains("accuracy 0.5000   macro-F1 0.3333"), evaluation.text)
        XCTAssertTrue(evaluation.text.contains("right, up"), evaluation.text)

        // CSV: names quoted where they hold a comma; HDF5 output readable.
        let csv = PredictionOutput.csv(out, classNames: info.classNames).split(separator: "\n")
        XCTAssertEqual(csv.count, 3)
        XCTAssertEqual(csv[0], "predicted,left,\"right, up\"")
        XCTAssertTrue(csv[2].hasPrefix("\"right, up\",0.11920"), String(csv[2]))
        let h5 = directory.appendingPathComponent("p.h5")
        try PredictionOutput.write(out, classNames: info.classNames, source: "hand", checkpoint: url, to: h5)
        let file = try HDF5File(reading: h5)
        XCTAssertEqual(try file.dataset("/predictions").readIntegers(), [0, 1])
        XCTAssertEqual(try file.dataset("/logits").readTensor().scalars, [3, 1, 0, 2])
        XCTAssertEqual(try file.dataset("/features").readTensor().shape, [2, 2])
        XCTAssertEqual(try file.root.attribute("class_names").stringList, info.classNames)
    }

    func testBadInputsAreNamed() throws {
        let (url, _, model) = try handModel()
        // A checkpoint without the description (as an earlier DAKit wrote it).
        let old = directory.appendingPathComponent("old.h5")
        try Checkpoint.save(model.state, to: old, metadata: ["recipe_hash": "abc"])
        XCTAssertThrowsError(try TrainedModel.load(old)) { error in
            XCTAssertTrue("\(error)".contains("does not describe its model (no model_spec, input_shape, class_names attribute)"), "\(error)")
        }
        // Samples of the wrong shape.
        let trained = try TrainedModel.load(url)
        let wide = PredictionInputs(x: Tensor.zeros([4, 3]), labels: nil, origin: "data.h5:/x", labelOrigin: nil)
        XCTAssertThrowsError(try trained.predict(wide)) { error in
            XCTAssertTrue("\(error)".contains("holds samples of shape [3]") && "\(error)".contains("takes samples of shape [2]"), "\(error)")
        }
        // No labels to evaluate; labels outside the classes.
        XCTAssertThrowsError(try trained.evaluate(PredictionInputs(x: Tensor.zeros([1, 2]), labels: nil, origin: "o", labelOrigin: nil)))
        XCTAssertThrowsError(try trained.evaluate(PredictionInputs(x: Tensor.zeros([1, 2]), labels: [2], origin: "o", labelOrigin: nil))) { error in
            XCTAssertTrue("\(error)".contains("label 2 at index 0 is outside the model's 2 classes"), "\(error)")
        }
        // A missing split.
        let data = directory.appendingPathComponent("data.h5")
        try HDF5File.writeAtomically(to: data) { try $0.root.write(Tensor.zeros([2, 2]), to: "target/x") }
        XCTAssertThrowsError(try PredictionInputs.read(data, split: "targetTest")) { error in
            XCTAssertTrue("\(error)".contains("has no dataset /target/test/x (it holds /target/x)"), "\(error)")
        }
        XCTAssertNil(try PredictionInputs.read(data).labels, "the target split without y is unlabelled")
    }

    /// A real run: its checkpoint rebuilds the model without the recipe, evaluate on the report's
    /// target split gives the report's target accuracy, and metrics.csv holds the report's epochs.
    func testRunCheckpointRebuildsTheModelAndEvaluateMatchesTheReport() throws {
        let recipeURL = directory.appendingPathComponent("predict.yaml")
        try Self.recipe.write(to: recipeURL, atomically: true, encoding: .utf8)
        let registry = StrategyRegistry.builtIn
        let recipe = try Recipe.load(recipeURL, registry: registry)
        let runner = Runner(recipe: recipe, registry: registry)
        let folder = directory.appendingPathComponent("run")
        let report = try runner.run(seed: 2, output: folder)
        let data = directory.appendingPathComponent("moons.h5")
        try DomainDatasetFile.save(try runner.dataset(seed: 2), to: data)

        let trained = try TrainedModel.load(folder.appendingPathComponent("checkpoint.h5"))
        XCTAssertEqual(trained.info.spec, recipe.model.spec)
        XCTAssertEqual(trained.info.spec.bottleneck, 6)
        XCTAssertEqual(trained.info.inputShape, [2])
        XCTAssertEqual(trained.info.classNames, report.dataset.classNames)
        XCTAssertEqual(trained.info.recipeHash, report.recipeHash)

        XCTAssertEqual(report.dataset.targetEvaluation, "targetTest")
        let evaluation = try trained.evaluate(try PredictionInputs.read(data, split: "targetTest"))
        XCTAssertEqual(evaluation.report.count, 120)
        XCTAssertEqual(evaluation.report.accuracy, try XCTUnwrap(report.targetAccuracy))
        XCTAssertEqual(evaluation.report, report.target)
        let sourceEvaluation = try trained.evaluate(try PredictionInputs.read(data, split: report.dataset.sourceEvaluation))
        XCTAssertEqual(sourceEvaluation.report.accuracy, report.sourceAccuracy, "\(report.dataset.sourceEvaluation)")

        // summary.txt: per class, under its name, the report's per-class accuracy and F1.
        let summary = try String(contentsOf: folder.appendingPathComponent("summary.txt"), encoding: .utf8)
        let target = try XCTUnwrap(report.target)
        for (c, name) in report.dataset.classNames.enumerated() {
            let line = try XCTUnwrap(summary.split(separator: "\n").first { $0.hasPrefix("  \(name)") }, summary)
            let cells = line.dropFirst(2 + name.count).split(separator: " ").map(String.init)
            XCTAssertEqual(cells, [
                String(format: "%.1f%%", report.source.perClassAccuracy[c] * 100), String(format: "%.4f", report.source.perClassF1[c]),
                String(format: "%.1f%%", target.perClassAccuracy[c] * 100), String(format: "%.4f", target.perClassF1[c]),
            ], String(line))
        }
        XCTAssertTrue(summary.contains("source acc  source F1   target acc  target F1"), summary)

        // metrics.csv: header, one row per evaluated epoch, the report's numbers.
        let lines = try String(contentsOf: folder.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
        let header = lines[0].split(separator: ",").map(String.init)
        XCTAssertEqual(Array(header.prefix(4)), ["epoch", "progress", "learning_rate", "loss.total"])
        XCTAssertEqual(Array(header.suffix(2)), ["source_accuracy", "target_accuracy"])
        XCTAssertTrue(header.contains("loss.source.crossEntropy") && header.contains("loss.dann"), "\(header)")
        XCTAssertEqual(lines.count, 1 + 3)
        for (line, epoch) in zip(lines.dropFirst(), report.epochs) {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(cells.count, header.count)
            XCTAssertEqual(Int(cells[0]), epoch.epoch)
            XCTAssertEqual(Double(cells[2]), epoch.learningRate)
            XCTAssertEqual(Double(cells[3]), epoch.losses["total"])
            XCTAssertEqual(Double(cells[header.count - 1]), epoch.targetAccuracy)
            XCTAssertEqual(Double(cells[header.count - 2]), epoch.sourceAccuracy)
        }
    }

    func testMetricsCSVSkipsUnevaluatedEpochsAndLeavesMissingValuesEmpty() throws {
        // EpochMetrics has no public memberwise init; its JSON form is public.
        let json = """
            [{"epoch": 1, "progress": 0.25, "learningRate": 0.01, "losses": {"total": 2, "mmd": 3}, "diagnostics": {}, "seconds": 1},
             {"epoch": 2, "progress": 0.5, "learningRate": 0.01, "losses": {"total": 1.5, "source.crossEntropy": 1}, "diagnostics": {},
              "sourceAccuracy": 0.75, "seconds": 1}]
            """
        let epochs = try JSONDecoder().decode([EpochMetrics].self, from: Data(json.utf8))
        XCTAssertEqual(
            MetricsCSV.text(epochs),
            "epoch,progress,learning_rate,loss.total,loss.source.crossEntropy,source_accuracy,target_accuracy\n2,0.5,0.01,1.5,1.0,0.75,\n")
    }
}
