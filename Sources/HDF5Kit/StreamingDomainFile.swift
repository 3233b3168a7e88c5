import Foundation
import TensorCore

/// A one-file domain dataset (`DomainDatasetFile`'s layout) opened for streaming: every `x` stays
/// on disk and is read a block at a time (`StreamingDataset`); labels, class names and the shift
/// are read whole (a few bytes per sample). The result is the same `TrainingData` an in-memory
/// dataset gives, so the trainer, the evaluator and the divergences read both the same way.
///
/// The checks match `DomainDatasetFile.load` except that NaN/Inf in `x` are found as each block is
/// read (a training run stops there with the file, dataset and rows named), not before training.
public enum StreamingDomainFile {
    /// Above this many bytes of `x` (as Float32, all splits together) a recipe's data file is
    /// streamed without being asked: 1 GiB.
    public static let memoryBudgetBytes = 1 << 30

    /// Bytes the file's `x` datasets would take in memory as Float32 (source, target, held-out splits).
    public static func inMemoryBytes(_ url: URL) throws -> Int {
        let file = try HDF5File(reading: url)
        var total = 0
        for path in ["/source/x", "/target/x", "/source/val/x", "/target/test/x"] where file.exists(path) {
            let shape = try file.dataset(path).shape
            total = total.addingReportingOverflow((DataLimits.product(shape + [4]) ?? Int.max)).partialValue
        }
        return total
    }

    /// Opens `url` for streamed training; `blockRows` overrides the block size (tests).
    public static func open(_ url: URL, blockRows: Int? = nil) throws -> TrainingData {
        let file = try HDF5File(reading: url)
        let root = try file.root
        let declared = try DomainDatasetFile.classNames(of: root)
        let shift = root.hasAttribute("shift") ? try root.attribute("shift").text : ""
        func split(_ group: String, labelled: Bool) throws -> (inputs: StreamingDataset, labels: [Int]?) {
            let y = labelled || file.exists(group + "/y") ? group + "/y" : nil
            let stream = try StreamingDataset(url: url, x: group + "/x", y: y, blockRows: blockRows)
            return (stream, try stream.labels())
        }
        let source = try split("/source", labelled: true)
        let target = try split("/target", labelled: false)
        let validation = file.exists("/source/val") ? try split("/source/val", labelled: true) : nil
        let test = file.exists("/target/test") ? try split("/target/test", labelled: false) : nil
        let splits = [("/source", source), ("/target", target)] + [("/source/val", validation), ("/target/test", test)].compactMap { path, s in s.map { (path, $0) } }
        let names = try DomainDatasetFile.resolveClassNames(
            declared, splits: splits.map { DomainDatasetFile.LoadedSplit(file: url.path, path: $0.0, x: Tensor.zeros([1, 1]), y: $0.1.labels) },
            file: url.path)
        for (path, s) in splits {
            try DomainDatasetFile.LoadedSplit(file: url.path, path: path, x: Tensor.zeros([1, 1]), y: s.labels).checkLabels(classCount: names.count)
            guard s.inputs.sampleShape == source.inputs.sampleShape else {
                throw HDF5Error(.typeMismatch, file: url.path, objectPath: path + "/x",
                    reason: "samples have shape \(s.inputs.sampleShape) but /source/x samples have shape \(source.inputs.sampleShape)")
            }
            let minimum = path.hasPrefix("/source/val") || path.hasPrefix("/target/test") ? 1 : DataLimits.minSamplesPerDomain
            guard s.inputs.count >= minimum, s.inputs.sampleShape.allSatisfy({ $0 > 0 }) else {
                throw HDF5Error(.invalidData, file: url.path, objectPath: path + "/x",
                    reason: "\(s.inputs.count) samples of shape \(s.inputs.sampleShape); training needs at least \(minimum), each of at least 1 value")
            }
        }
        try DomainDataset.checkClasses(sourceLabels: source.labels ?? [], classCount: names.count, file: url.path, path: "/source/y")
        return TrainingData(
            source: LabelledDomain(inputs: source.inputs, labels: source.labels ?? []), target: target.inputs, targetLabels: target.labels,
            sourceValidation: validation.map { LabelledDomain(inputs: $0.inputs, labels: $0.labels ?? []) },
            targetTest: test.map { ($0.inputs, $0.labels) }, classNames: names, shiftDescription: shift)
    }
}
