import Foundation

/// The largest things DAKit will read from a file, and the least a domain dataset must hold.
///
/// Every size read from a file (a dataset's shape, an attribute's length, a string's length, a
/// label that decides the number of classes) is checked against these limits with overflow-safe
/// arithmetic *before* anything is allocated, so that an untrusted file cannot make DAKit trap on
/// an integer overflow, abort on a failed allocation or build a model of a billion classes. A
/// refusal is an `HDF5Error` naming the file, the object and its size.
public enum DataLimits {
    /// Most dimensions a dataset read by DAKit may have (N×C×H×W is 4; HDF5 itself allows 32).
    public static let maxRank = 8
    /// Most bytes one read may allocate: 16 GiB or half the physical memory, whichever is smaller.
    ///
    /// A task-local value, so a caller can lower it for one piece of work without touching others:
    /// `DataLimits.$maxBytes.withValue(64 << 20) { try DomainDatasetFile.load(url) }`.
    @TaskLocal public static var maxBytes: Int = defaultMaxBytes
    /// `maxBytes` when nothing lowers it.
    public static let defaultMaxBytes: Int = min(16 << 30, Int(clamping: ProcessInfo.processInfo.physicalMemory / 2))
    /// Most elements one dataset read may hold (as Float64, the widest type DAKit reads into).
    public static var maxElements: Int { maxBytes / 8 }
    /// Most classes a domain dataset may have (declared class names, or the largest label + 1).
    public static let maxClasses = 100_000
    /// Most values in one attribute (class names, layer names, ...).
    public static let maxAttributeElements = 1_000_000
    /// Most bytes of text in one attribute (all its strings together).
    public static let maxAttributeBytes = 64 << 20

    /// Fewest samples in the source and in the target domain: training needs two source samples,
    /// and MMD's unbiased estimator and the proxy A-distance's train/test split need two per domain.
    public static let minSamplesPerDomain = 2
    /// Fewest distinct classes among the source labels: a classifier of one class learns nothing.
    public static let minSourceClasses = 2

    /// The product of `sizes`, or nil when it overflows `Int`.
    public static func product(_ sizes: [Int]) -> Int? {
        var result = 1
        for size in sizes {
            guard size >= 0 else { return nil }
            let (next, overflow) = result.multipliedReportingOverflow(by: size)
            if overflow { return nil }
            result = next
        }
        return result
    }

    /// Checks that `shape` of elements of `elementBytes` bytes fits the limits, and returns the number
    /// of elements. `what` names the object (`/source/x`) in the error.
    static func checkedCount(shape: [Int], elementBytes: Int, file: String, objectPath: String) throws -> Int {
        let shapeText = shape.map(String.init).joined(separator: "×")
        guard shape.count <= maxRank else {
            throw HDF5Error(.invalidData, file: file, objectPath: objectPath,
                reason: "has \(shape.count) dimensions (shape \(shapeText)); DAKit reads at most \(maxRank)")
        }
        guard let count = product(shape), let bytes = product([count, elementBytes]) else {
            throw HDF5Error(.invalidData, file: file, objectPath: objectPath,
                reason: "declares shape \(shapeText), whose size overflows a 64-bit integer")
        }
        guard count <= maxElements, bytes <= maxBytes else {
            throw HDF5Error(.invalidData, file: file, objectPath: objectPath,
                reason: "declares shape \(shapeText) (\(count) elements, \(byteText(bytes))), over DAKit's limit of \(byteText(maxBytes)) per read (DataLimits.maxBytes)")
        }
        return count
    }

    static func byteText(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : "\(String(format: "%.1f", value)) \(units[unit])"
    }
}
