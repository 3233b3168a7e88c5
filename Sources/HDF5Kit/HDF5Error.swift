import CHDF5
import Foundation

/// An error from reading or writing an HDF5 file: which file, which object inside it, and why.
///
/// Every failure of libhdf5 becomes one of these (its own printing to stderr is switched off and
/// its error stack is walked to find the reason), and so do DAKit's own checks on file contents
/// (a missing dataset, a shape that does not fit, labels out of range). `description` is one line.
public struct HDF5Error: Error, CustomStringConvertible, LocalizedError, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The path does not exist, is a directory, or cannot be read.
        case fileNotFound
        /// The file exists but is not HDF5 (no signature), or is empty.
        case notHDF5
        /// The file has an HDF5 signature but ends early.
        case truncated
        /// A group, dataset or attribute is missing.
        case missingObject
        /// An object has the wrong kind, type or shape for what was asked.
        case typeMismatch
        /// The contents are readable but invalid (labels out of range, NaN in inputs, ...).
        case invalidData
        /// A write could not happen (folder missing, read-only, disk full).
        case writeFailed
        /// libhdf5 cannot decode the file (bad superblock or object header, corrupt compressed chunk).
        case unreadable
        /// A dataset needs an HDF5 filter (compression plugin) that this libhdf5 does not have.
        case missingFilter
        /// Any other failure reported by libhdf5.
        case library
    }

    public let kind: Kind
    /// The file involved (as given).
    public let file: String
    /// The object inside the file (`/source/x`), when one is involved.
    public let objectPath: String?
    /// What went wrong, in words.
    public let reason: String

    public init(_ kind: Kind, file: String, objectPath: String? = nil, reason: String) {
        self.kind = kind
        self.file = file
        self.objectPath = objectPath
        self.reason = reason
    }

    public var description: String {
        if let objectPath { return "\(file): \(objectPath): \(reason)" }
        return "\(file): \(reason)"
    }

    public var errorDescription: String? { description }
}

/// Serialises access to libhdf5 and keeps its own error printing off.
///
/// Some builds of libhdf5 are not thread-safe, so every call into it goes through one recursive
/// lock. In thread-safe builds the "print errors automatically" setting is per thread, so it is
/// switched off on every entry (a cheap call) rather than once at start-up.
enum HDF5Library {
    static let lock = NSRecursiveLock()

    /// Set in `HDF5MetadataProbe`'s forked child, which has one thread and inherits `lock` held by
    /// a thread that does not exist there (a recursive mutex records its owner's thread id).
    nonisolated(unsafe) static var isProbeChild = false

    static func withLock<T>(_ body: () throws -> T) rethrows -> T {
        if isProbeChild {
            dakit_h5_silence_errors()
            return try body()
        }
        lock.lock()
        defer { lock.unlock() }
        dakit_h5_silence_errors()
        return try body()
    }

    /// The current HDF5 error stack as lines "function: description", outermost call first; clears it.
    static func takeErrorStack() -> [String] {
        var buffer = [CChar](repeating: 0, count: 4096)
        dakit_h5_error_stack(&buffer, buffer.count)
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n").map(String.init)
    }

    /// An error for a failed libhdf5 call, with the reason taken from the error stack.
    static func failure(_ operation: String, file: String, objectPath: String?, kind: HDF5Error.Kind = .unreadable) -> HDF5Error {
        let stack = takeErrorStack()
        let descriptions = stack.map { line -> String in
            guard let colon = line.range(of: ": ") else { return line }
            return String(line[colon.upperBound...])
        }.filter { !$0.isEmpty }
        var reason = operation
        if let outer = descriptions.first {
            reason += ": \(outer)"
            if let inner = descriptions.last, inner != outer { reason += " (\(inner))" }
        }
        var resolvedKind = kind
        if descriptions.contains(where: { $0.contains("truncated file") }) { resolvedKind = .truncated }
        else if descriptions.contains(where: { $0.contains("file signature not found") }) { resolvedKind = .notHDF5 }
        return HDF5Error(resolvedKind, file: file, objectPath: objectPath, reason: reason)
    }
}

/// Owns one libhdf5 identifier and closes it exactly once.
final class HDF5Handle {
    private(set) var id: hid_t
    private let closer: (hid_t) -> herr_t

    init(_ id: hid_t, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.closer = closer
    }

    var isOpen: Bool { id >= 0 }

    func close() {
        HDF5Library.withLock {
            if id >= 0 {
                _ = closer(id)
                id = -1
                _ = HDF5Library.takeErrorStack()
            }
        }
    }

    deinit { close() }
}

/// The text of a NUL-terminated C character buffer.
func cBufferString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
