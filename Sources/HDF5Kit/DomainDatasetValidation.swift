@_exported import DomainData
import TensorCore

// The data model lives in DomainData (below the tensors' users); the checks that name a file and
// its HDF5 paths, with `HDF5Error` and `DataLimits`, stay here beside the file reader.

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
