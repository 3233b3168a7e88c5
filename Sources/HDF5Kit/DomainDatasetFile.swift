import Foundation
import TensorCore

/// Reads and writes domain datasets in HDF5.
///
/// Layout of one file:
///
///     /source/x          N×features or N×C×H×W, any integer or floating type (read as Float32)
///     /source/y          N integer labels (integer type, or floats that are whole numbers)
///     /target/x          M×(same sample shape)
///     /target/y          optional: M labels, used for evaluation unless a recipe grants some
///     /source/val/x, y   optional held-out source split
///     /target/test/x, y  optional held-out target split (y optional)
///     attributes on /:   class_names  (string array, or one comma-joined string; optional)
///                        shift        (free text describing the shift; optional)
///
/// Or one file per domain (`load(source:target:)`), each with `/x` and `/y` (`/y` optional for the
/// target) and the same attributes on the source file.
///
/// Every load is validated: x and y lengths agree; labels are whole numbers in `0..<classCount`
/// (`classCount` = number of class names when declared, else the largest label + 1); x holds no
/// NaN or Inf; source and target samples have the same shape. Each problem is one `HDF5Error`
/// naming the file and the dataset.
public enum DomainDatasetFile {
    /// Loads and validates a domain dataset from one file.
    public static func load(_ url: URL) throws -> DomainDataset {
        let file = try HDF5File(reading: url)
        let root = try file.root
        let declared = try classNames(of: root)
        let shift = root.hasAttribute("shift") ? try root.attribute("shift").text : ""
        let source = try readSplit(file, "/source", labels: .required)
        let target = try readSplit(file, "/target", labels: .optional)
        let validation = file.exists("/source/val") ? try readSplit(file, "/source/val", labels: .required) : nil
        let test = file.exists("/target/test") ? try readSplit(file, "/target/test", labels: .optional) : nil
        let splits = [source, target] + [validation, test].compactMap { $0 }
        let names = try resolveClassNames(declared, splits: splits, file: url.path)
        for split in splits { try split.checkLabels(classCount: names.count) }
        for split in splits.dropFirst() where split.x.shape.dropFirst() != source.x.shape.dropFirst() {
            throw HDF5Error(.typeMismatch, file: url.path, objectPath: split.path + "/x",
                reason: "samples have shape \(Array(split.x.shape.dropFirst())) but /source/x samples have shape \(Array(source.x.shape.dropFirst()))")
        }
        let dataset = DomainDataset(
            source: source.split, target: target.split, sourceValidation: validation?.split, targetTest: test?.split,
            classNames: names, shiftDescription: shift)
        try dataset.validateForTraining(file: url.path)
        return dataset
    }

    /// Loads a source file and a target file, each with `/x` and `/y` (`/y` optional for the target).
    /// Class names and the shift description come from the source file's attributes (else the target's).
    public static func load(source sourceURL: URL, target targetURL: URL) throws -> DomainDataset {
        let sourceFile = try HDF5File(reading: sourceURL)
        let targetFile = try HDF5File(reading: targetURL)
        let source = try readSplit(sourceFile, "/", labels: .required)
        let target = try readSplit(targetFile, "/", labels: .optional)
        let sourceRoot = try sourceFile.root
        let targetRoot = try targetFile.root
        let declared = try classNames(of: sourceRoot) ?? classNames(of: targetRoot)
        try DomainDataset.checkDomain(source.split, role: "source", file: sourceURL.path, path: "")
        try DomainDataset.checkDomain(target.split, role: "target", file: targetURL.path, path: "")
        let names = try resolveClassNames(declared, splits: [source, target], file: sourceURL.path)
        try source.checkLabels(classCount: names.count)
        try target.checkLabels(classCount: names.count)
        guard source.x.shape.dropFirst() == target.x.shape.dropFirst() else {
            throw HDF5Error(.typeMismatch, file: targetURL.path, objectPath: "/x",
                reason: "samples have shape \(Array(target.x.shape.dropFirst())) but the source file's samples have shape \(Array(source.x.shape.dropFirst()))")
        }
        let shift = sourceRoot.hasAttribute("shift") ? try sourceRoot.attribute("shift").text
            : targetRoot.hasAttribute("shift") ? try targetRoot.attribute("shift").text : ""
        try DomainDataset.checkClasses(sourceLabels: source.y ?? [], classCount: names.count, file: sourceURL.path, path: "/y")
        return DomainDataset(source: source.split, target: target.split, classNames: names, shiftDescription: shift)
    }

    /// Writes `dataset` in the one-file layout, atomically. `x` is stored as gzip-compressed float32
    /// in chunks of about 1 MiB along the sample axis; labels as int64.
    public static func save(_ dataset: DomainDataset, to url: URL, gzipLevel: Int = 4) throws {
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            func write(_ split: DomainSplit, _ group: String) throws {
                try root.write(split.x, to: "\(group)/x", gzipLevel: split.x.count > 0 ? gzipLevel : nil)
                if let y = split.y { try root.write(integers: y, to: "\(group)/y") }
            }
            try write(dataset.source, "/source")
            try write(dataset.target, "/target")
            if let validation = dataset.sourceValidation { try write(validation, "/source/val") }
            if let test = dataset.targetTest { try write(test, "/target/test") }
            try root.setAttribute("class_names", .strings(dataset.classNames))
            try root.setAttribute("shift", .string(dataset.shiftDescription))
        }
    }

    /// Runs the load-time checks on an in-memory dataset (labels within the class names, no NaN/Inf,
    /// equal sample shapes, and `DomainDataset.validateForTraining`'s minimums), naming `file` and
    /// the split in errors.
    public static func validate(_ dataset: DomainDataset, file: String) throws {
        let splits: [(String, DomainSplit?)] = [
            ("/source", dataset.source), ("/target", dataset.target), ("/source/val", dataset.sourceValidation), ("/target/test", dataset.targetTest),
        ]
        for (path, split) in splits {
            guard let split else { continue }
            try checkFinite(split.x, file: file, path: path + "/x")
            try LoadedSplit(file: file, path: path, x: split.x, y: split.y).checkLabels(classCount: dataset.classCount)
            if split.sampleShape != dataset.sampleShape {
                throw HDF5Error(.typeMismatch, file: file, objectPath: path + "/x",
                    reason: "samples have shape \(split.sampleShape) but /source/x samples have shape \(dataset.sampleShape)")
            }
        }
        try dataset.validateForTraining(file: file)
    }

    // MARK: - Reading and validation

    enum LabelRequirement { case required, optional }

    struct LoadedSplit {
        let file: String
        let path: String
        let x: Tensor
        let y: [Int]?
        var split: DomainSplit { DomainSplit(x: x, y: y) }

        func checkLabels(classCount: Int) throws {
            guard let y else { return }
            if let index = y.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
                let bad = y.filter { $0 < 0 || $0 >= classCount }.count
                let what = y[index] < 0 ? "negative label" : "label outside the \(classCount) declared classes (0..<\(classCount))"
                throw HDF5Error(.invalidData, file: file, objectPath: path + "/y",
                    reason: "\(bad) \(what)\(bad == 1 ? "" : "s"); first: \(y[index]) at index \(index)")
            }
        }
    }

    static func readSplit(_ file: HDF5File, _ group: String, labels: LabelRequirement) throws -> LoadedSplit {
        let prefix = group == "/" ? "" : group
        let xDataset = try file.dataset(prefix + "/x")
        let xInfo = try xDataset.info()
        guard xInfo.elementType.isNumeric else {
            throw HDF5Error(.typeMismatch, file: file.name, objectPath: prefix + "/x", reason: "element type \(xInfo.elementType) is not numeric")
        }
        guard xInfo.shape.count >= 2 else {
            throw HDF5Error(.typeMismatch, file: file.name, objectPath: prefix + "/x",
                reason: "expected N×features or N×C×H×W, got shape \(xInfo.shape)")
        }
        let x = try xDataset.readTensor()
        try checkFinite(x, file: file.name, path: prefix + "/x")
        var y: [Int]?
        if labels == .required || file.exists(prefix + "/y") {
            let yDataset = try file.dataset(prefix + "/y")
            var yShape = yDataset.shape
            if yShape.count == 2 && yShape[1] == 1 { yShape = [yShape[0]] }  // N×1 column vectors are common
            guard yShape.count == 1 else {
                throw HDF5Error(.typeMismatch, file: file.name, objectPath: prefix + "/y", reason: "labels must be one-dimensional, got shape \(yDataset.shape)")
            }
            let values = try yDataset.readIntegers()
            guard values.count == x.shape[0] else {
                throw HDF5Error(.typeMismatch, file: file.name, objectPath: prefix + "/y",
                    reason: "has \(values.count) labels but \(prefix)/x has \(x.shape[0]) samples")
            }
            y = values
        }
        return LoadedSplit(file: file.name, path: prefix.isEmpty ? "" : prefix, x: x, y: y)
    }

    /// Refuses NaN and ±Inf, saying how many and where the first one is.
    static func checkFinite(_ x: Tensor, file: String, path: String) throws {
        guard let first = x.scalars.firstIndex(where: { !$0.isFinite }) else { return }
        let count = x.scalars.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        let rowSize = max(1, x.count / max(1, x.shape[0]))
        throw HDF5Error(.invalidData, file: file, objectPath: path,
            reason: "\(count) non-finite value\(count == 1 ? "" : "s") (NaN or Inf); first: \(x.scalars[first]) in sample \(first / rowSize), element \(first % rowSize)")
    }

    static func classNames(of group: HDF5Group) throws -> [String]? {
        guard group.hasAttribute("class_names") else { return nil }
        let names = try group.attribute("class_names").stringList
        guard names.count <= DataLimits.maxClasses else {
            throw HDF5Error(.invalidData, file: group.file.name, objectPath: group.path,
                reason: "attribute 'class_names' declares \(names.count) classes, over DAKit's limit of \(DataLimits.maxClasses) (DataLimits.maxClasses)")
        }
        return names.isEmpty ? nil : names
    }

    /// The declared class names, else "0", "1", … up to the largest label, which must leave at most
    /// `DataLimits.maxClasses` classes (a stray label of 10⁹ must not build a 10⁹-class model).
    static func resolveClassNames(_ declared: [String]?, splits: [LoadedSplit], file: String) throws -> [String] {
        if let declared { return declared }
        var largest = 0
        var largestPath = ""
        for split in splits {
            if let top = split.y?.max(), top > largest { (largest, largestPath) = (top, split.path + "/y") }
        }
        guard largest < DataLimits.maxClasses else {
            throw HDF5Error(.invalidData, file: file, objectPath: largestPath,
                reason: "label \(largest) would make \(largest == Int.max ? "more than \(Int.max)" : String(largest + 1)) classes, over DAKit's limit of \(DataLimits.maxClasses) (DataLimits.maxClasses); declare class_names or fix the labels")
        }
        return (0...largest).map(String.init)
    }
}
