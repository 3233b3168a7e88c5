import TensorCore

/// Samples of one domain: inputs `x` (N×features or N×C×H×W) and optional integer labels `y`.
public struct DomainSplit: Sendable {
    public var x: Tensor
    public var y: [Int]?

    public init(x: Tensor, y: [Int]?) {
        precondition(x.rank >= 1, "DomainSplit: x must have a sample axis, got shape \(x.shape)")
        if let y { precondition(y.count == x.shape[0], "DomainSplit: x has \(x.shape[0]) samples but y has \(y.count) labels") }
        self.x = x
        self.y = y
    }

    public var count: Int { x.shape[0] }
    /// Shape of one sample.
    public var sampleShape: [Int] { Array(x.shape.dropFirst()) }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> DomainSplit {
        DomainSplit(x: x.gathering(rows: indices), y: y.map { labels in indices.map { labels[$0] } })
    }
}

/// A labelled source domain and a (usually unlabelled) target domain, with optional held-out splits.
///
/// `target.y`, when present, is used for evaluation only unless a recipe grants some target labels.
public struct DomainDataset: Sendable {
    public var source: DomainSplit
    public var target: DomainSplit
    /// Held-out labelled source samples (model selection, forgetting).
    public var sourceValidation: DomainSplit?
    /// Held-out target samples for the final evaluation; when absent, `target` is evaluated (transductive).
    public var targetTest: DomainSplit?
    public var classNames: [String]
    /// Free text: what differs between the domains.
    public var shiftDescription: String

    public init(
        source: DomainSplit, target: DomainSplit, sourceValidation: DomainSplit? = nil, targetTest: DomainSplit? = nil,
        classNames: [String], shiftDescription: String
    ) {
        precondition(source.y != nil, "DomainDataset: the source domain needs labels")
        precondition(
            source.sampleShape == target.sampleShape,
            "DomainDataset: source samples of shape \(source.sampleShape) and target samples of shape \(target.sampleShape) differ")
        self.source = source
        self.target = target
        self.sourceValidation = sourceValidation
        self.targetTest = targetTest
        self.classNames = classNames
        self.shiftDescription = shiftDescription
    }

    public var classCount: Int { classNames.count }
    public var sampleShape: [Int] { source.sampleShape }
}

extension DomainDataset {
    /// Refuses a dataset that training or the divergence estimators cannot use, with one line naming
    /// `file`, the split and the minimum it misses (`DataLimits`):
    ///
    /// - source and target each hold at least `DataLimits.minSamplesPerDomain` (2) samples;
    /// - held-out splits (`/source/val`, `/target/test`), when present, hold at least one sample;
    /// - every sample holds at least one value (no axis of size 0, e.g. N×0);
    /// - the source labels hold at least `DataLimits.minSourceClasses` (2) distinct classes;
    /// - at most `DataLimits.maxClasses` classes.
    ///
    /// `DomainDatasetFile.load` calls it on every file; call it on a dataset built in memory before
    /// training on it.
    public func validateForTraining(file: String = "in-memory dataset") throws {
        try DomainDataset.checkDomain(source, role: "source", file: file, path: "/source")
        try DomainDataset.checkDomain(target, role: "target", file: file, path: "/target")
        for (split, path) in [(sourceValidation, "/source/val"), (targetTest, "/target/test")] {
            guard let split else { continue }
            try DomainDataset.checkSampleShape(split, file: file, path: path)
            guard split.count >= 1 else {
                throw HDF5Error(.invalidData, file: file, objectPath: path + "/x",
                    reason: "held-out split \(path) has 0 samples; it needs at least 1 (or leave it out)")
            }
        }
        try DomainDataset.checkClasses(sourceLabels: source.y ?? [], classCount: classCount, file: file, path: "/source/y")
    }

    /// At least `DataLimits.minSamplesPerDomain` samples, each of at least one value.
    static func checkDomain(_ split: DomainSplit, role: String, file: String, path: String) throws {
        try checkSampleShape(split, file: file, path: path)
        let minimum = DataLimits.minSamplesPerDomain
        guard split.count >= minimum else {
            throw HDF5Error(.invalidData, file: file, objectPath: path + "/x",
                reason: "\(role) has \(split.count) sample\(split.count == 1 ? "" : "s"); training needs at least \(minimum) per domain")
        }
    }

    static func checkSampleShape(_ split: DomainSplit, file: String, path: String) throws {
        guard split.sampleShape.allSatisfy({ $0 > 0 }) else {
            throw HDF5Error(.invalidData, file: file, objectPath: path + "/x",
                reason: "samples have shape \(split.sampleShape), which holds no values; every sample needs at least 1")
        }
    }

    /// At least `DataLimits.minSourceClasses` distinct source labels and at most `DataLimits.maxClasses` classes.
    static func checkClasses(sourceLabels: [Int], classCount: Int, file: String, path: String) throws {
        guard classCount <= DataLimits.maxClasses else {
            throw HDF5Error(.invalidData, file: file, objectPath: path,
                reason: "\(classCount) classes, over DAKit's limit of \(DataLimits.maxClasses) (DataLimits.maxClasses)")
        }
        let present = Set(sourceLabels)
        guard present.count >= DataLimits.minSourceClasses else {
            let listed = present.sorted().map(String.init).joined(separator: ", ")
            throw HDF5Error(.invalidData, file: file, objectPath: path,
                reason: "source labels hold \(present.count) class\(present.count == 1 ? "" : "es")\(listed.isEmpty ? "" : " (\(listed))"); training needs at least \(DataLimits.minSourceClasses)")
        }
    }
}
