import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore

/// Inputs read for `dakit predict` / `evaluate`: a domain dataset file's split, or any dataset.
public struct PredictionInputs {
    public var x: Tensor
    /// The split's labels when the file has them (`<split>/y`, or `--y`).
    public var labels: [Int]?
    /// Where x came from, `data.h5:/target/x`, for messages and output attributes.
    public var origin: String
    public var labelOrigin: String?
    /// Which domain the samples belong to: it picks the statistics of a `per_domain` standardisation.
    public enum Domain: String, Sendable { case source, target }
    /// `source` for a source split (`/source/…`) of a domain dataset file, else `target`.
    public var domain: Domain

    public init(x: Tensor, labels: [Int]? = nil, origin: String, labelOrigin: String? = nil, domain: Domain = .target) {
        self.x = x
        self.labels = labels
        self.origin = origin
        self.labelOrigin = labelOrigin
        self.domain = domain
    }

    /// The splits of a domain dataset file by name: `source`, `target`, `sourceValidation`
    /// (`/source/val`) and `targetTest` (`/target/test`); a group path is accepted as well.
    public static func groupPath(ofSplit split: String) -> String {
        switch split {
        case "sourceValidation", "source/val", "/source/val": return "/source/val"
        case "targetTest", "target/test", "/target/test": return "/target/test"
        default: return split.hasPrefix("/") ? split : "/" + split
        }
    }

    /// Reads `xPath` (default `<split>/x`) and, when present, `yPath` (default `<split>/y`) from `url`.
    /// A missing dataset throws `ExperimentError.invalid` naming the file and what it holds.
    public static func read(_ url: URL, split: String = "target", xPath: String? = nil, yPath: String? = nil) throws -> PredictionInputs {
        let file = try HDF5File(reading: url)
        let group = groupPath(ofSplit: split)
        let xName = xPath.map { $0.hasPrefix("/") ? $0 : "/" + $0 } ?? group + "/x"
        guard file.exists(xName), try file.kind(of: xName) == .dataset else {
            let datasets = try file.tree().filter { $0.kind == .dataset }.map(\.path)
            throw ExperimentError.invalid(
                "\(url.path) has no dataset \(xName) (it holds \(datasets.prefix(12).joined(separator: ", "))\(datasets.count > 12 ? ", …" : "")); "
                    + "choose a split with --split or a dataset with --x")
        }
        let x = try file.dataset(xName).readTensor()
        guard x.rank >= 2, x.shape[0] >= 1 else {
            throw ExperimentError.invalid("\(url.path):\(xName) has shape \(x.shape); expected N samples along the first axis (N ≥ 1)")
        }
        guard x.scalars.allSatisfy({ $0.isFinite }) else {
            throw ExperimentError.invalid("\(url.path):\(xName) holds NaN or infinite values")
        }
        var labels: [Int]?
        var labelName: String?
        let yName = yPath.map { $0.hasPrefix("/") ? $0 : "/" + $0 } ?? (xPath == nil ? group + "/y" : nil)
        if let yName {
            if file.exists(yName) {
                let y = try file.dataset(yName).readIntegers()
                guard y.count == x.shape[0] else {
                    throw ExperimentError.invalid("\(url.path):\(yName) has \(y.count) labels for the \(x.shape[0]) samples of \(xName)")
                }
                labels = y
                labelName = yName
            } else if yPath != nil {
                throw ExperimentError.invalid("\(url.path) has no dataset \(yName)")
            }
        }
        return PredictionInputs(
            x: x, labels: labels, origin: "\(url.path):\(xName)", labelOrigin: labelName.map { "\(url.path):\($0)" },
            domain: xName == "/source" || xName.hasPrefix("/source/") ? .source : .target)
    }
}

/// A model's outputs for every sample.
public struct Predictions {
    /// N×K.
    public var logits: Tensor
    /// N×K softmax of the logits.
    public var probabilities: Tensor
    /// Arg-max class of each sample.
    public var predictions: [Int]
    /// N×F classifier inputs (`AdaptationModel.features`), when asked for.
    public var features: Tensor?
}

extension TrainedModel {
    /// Inference-mode outputs for `inputs` (checked against the checkpoint's sample shape).
    public func predict(_ inputs: PredictionInputs, features: Bool = false, batchSize: Int = 512) throws -> Predictions {
        let x = try prepareInputs(inputs.x, origin: inputs.origin, domain: inputs.domain)
        let logits = model.logits(x, batchSize: batchSize)
        return Predictions(
            logits: logits, probabilities: logits.softmax(axis: 1), predictions: logits.argmax(axis: 1),
            features: features ? model.representation(x, layer: .features, batchSize: batchSize) : nil)
    }

    /// Accuracy, macro-F1, per-class precision / recall / F1 and the confusion matrix on labelled inputs.
    public func evaluate(_ inputs: PredictionInputs, batchSize: Int = 512) throws -> Evaluation {
        guard let labels = inputs.labels else {
            throw ExperimentError.invalid("\(inputs.origin) has no labels to evaluate against (no y dataset beside it; give one with --y)")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= info.classCount }) {
            throw ExperimentError.invalid(
                "\(inputs.labelOrigin ?? inputs.origin): label \(labels[bad]) at index \(bad) is outside the model's \(info.classCount) classes (0..<\(info.classCount))")
        }
        let predicted = try predict(inputs, batchSize: batchSize).predictions
        return Evaluation(
            report: ClassificationReport(predictions: predicted, labels: labels, classCount: info.classCount), classNames: info.classNames,
            origin: inputs.origin)
    }
}

/// `dakit evaluate`'s result.
public struct Evaluation {
    public var report: ClassificationReport
    public var classNames: [String]
    public var origin: String

    /// Precision of each class: correct predictions of the class over all predictions of it (0 where
    /// the class is never predicted).
    public var perClassPrecision: [Double] {
        let k = report.confusion.count
        return (0..<k).map { c in
            let predicted = (0..<k).reduce(0) { $0 + report.confusion[$1][c] }
            return predicted == 0 ? 0 : Double(report.confusion[c][c]) / Double(predicted)
        }
    }

    /// The table `dakit evaluate` prints.
    public var text: String {
        let width = max(5, classNames.map(\.count).max() ?? 5)
        func name(_ s: String) -> String { s.padding(toLength: width, withPad: " ", startingAt: 0) }
        func num(_ v: Double) -> String { String(format: "%.4f", v) }
        var lines = [
            "\(origin): \(report.count) samples",
            "accuracy \(num(report.accuracy))   macro-F1 \(num(report.macroF1))",
            "",
            "  " + name("class") + "  precision     recall         F1    support",
        ]
        let precision = perClassPrecision
        for c in classNames.indices {
            lines.append("  " + name(classNames[c]) + num(precision[c]).leftPadded(11) + num(report.perClassAccuracy[c]).leftPadded(11)
                + num(report.perClassF1[c]).leftPadded(11) + String(report.support[c]).leftPadded(11))
        }
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted class)")
        let cell = max(6, width, report.confusion.joined().map { String($0).count }.max() ?? 1) + 1
        lines.append("  " + name("") + classNames.map { String($0.prefix(cell - 1)).leftPadded(cell) }.joined())
        for (c, row) in report.confusion.enumerated() {
            lines.append("  " + name(classNames[c]) + row.map { String($0).leftPadded(cell) }.joined())
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Writing predictions: HDF5 (datasets `logits`, `probabilities`, `predictions`, `features`) or CSV
/// (one row per sample: predicted class name, then one probability per class).
public enum PredictionOutput {
    /// Writes `predictions` to `url` atomically, as CSV when the name ends in `.csv`, else HDF5.
    public static func write(_ predictions: Predictions, classNames: [String], source: String, checkpoint: URL, to url: URL) throws {
        if url.pathExtension.lowercased() == "csv" {
            try writeAtomically(Data(csv(predictions, classNames: classNames).utf8), to: url)
            return
        }
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            try root.write(predictions.logits, to: "logits")
            try root.write(predictions.probabilities, to: "probabilities")
            try root.write(integers: predictions.predictions, to: "predictions")
            if let features = predictions.features { try root.write(features, to: "features") }
            try root.setAttribute("class_names", .strings(classNames))
            try root.setAttribute("inputs", .string(source))
            try root.setAttribute("checkpoint", .string(checkpoint.path))
            try root.setAttribute("dakit_version", .string(DAKitVersion.string))
        }
    }

    /// Header `predicted,<class 0>,<class 1>,…`; one row per sample. Fields holding a comma, quote
    /// or line break are quoted (RFC 4180).
    public static func csv(_ predictions: Predictions, classNames: [String]) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        let k = classNames.count
        var lines = [(["predicted"] + classNames).map(field).joined(separator: ",")]
        let p = predictions.probabilities.scalars
        for (i, c) in predictions.predictions.enumerated() {
            lines.append(([field(classNames[c])] + (0..<k).map { String(p[i * k + $0]) }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
