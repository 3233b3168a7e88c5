import CHDF5
import Foundation
import TensorCore

/// An open HDF5 file.
///
/// Open an existing file with `HDF5File(reading:)`; write a new one with
/// `HDF5File.writeAtomically(to:)`, which writes a temporary file beside the target and renames it
/// into place only when the whole write succeeded.
public final class HDF5File {
    /// The file's location as given.
    public let url: URL
    public let isWritable: Bool
    let handle: HDF5Handle

    var name: String { url.path }

    init(url: URL, handle: HDF5Handle, isWritable: Bool) {
        self.url = url
        self.handle = handle
        self.isWritable = isWritable
    }

    /// Opens an existing HDF5 file for reading (or reading and writing).
    ///
    /// Throws `HDF5Error` with kind `.fileNotFound` (missing, a directory, unreadable), `.notHDF5`
    /// (empty or no HDF5 signature), `.truncated` (the file ends before its declared end) or
    /// `.unreadable` (its metadata makes libhdf5 crash or hang: see `HDF5MetadataProbe`, which
    /// runs first unless `probe` is false — for a file this process has just written itself).
    public convenience init(reading url: URL, writable: Bool = false, probe: Bool = true) throws {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw HDF5Error(.fileNotFound, file: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else { throw HDF5Error(.fileNotFound, file: path, reason: "is a directory, not an HDF5 file") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw HDF5Error(.fileNotFound, file: path, reason: "cannot be read (permission denied)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
        if size == 0 { throw HDF5Error(.notHDF5, file: path, reason: "is empty (0 bytes), not an HDF5 file") }
        try HDF5Library.withLock {
            if H5Fis_hdf5(path) == 0 {
                _ = HDF5Library.takeErrorStack()
                throw HDF5Error(.notHDF5, file: path, reason: "not an HDF5 file (no HDF5 signature in its first bytes)")
            }
        }
        if probe && !writable { try HDF5MetadataProbe.check(path) }
        let id: hid_t = try HDF5Library.withLock {
            let id = H5Fopen(path, writable ? dakit_H5F_ACC_RDWR() : dakit_H5F_ACC_RDONLY(), dakit_H5P_DEFAULT())
            if id < 0 { throw HDF5Library.failure("cannot open", file: path, objectPath: nil) }
            return id
        }
        self.init(url: url, handle: HDF5Handle(id, closer: H5Fclose), isWritable: writable)
    }

    /// Creates (or truncates) an HDF5 file directly at `url`. Prefer `writeAtomically(to:_:)`.
    public static func create(at url: URL) throws -> HDF5File {
        let path = url.path
        let id: hid_t = try HDF5Library.withLock {
            let fcpl = H5Pcreate(dakit_H5P_FILE_CREATE())
            defer { H5Pclose(fcpl) }
            // Keep the order in which groups and datasets are created, so that layer order survives.
            H5Pset_link_creation_order(fcpl, dakit_H5P_CRT_ORDER_TRACKED() | dakit_H5P_CRT_ORDER_INDEXED())
            let id = H5Fcreate(path, dakit_H5F_ACC_TRUNC(), fcpl, dakit_H5P_DEFAULT())
            if id < 0 { throw HDF5Library.failure("cannot create", file: path, objectPath: nil, kind: .writeFailed) }
            return id
        }
        return HDF5File(url: url, handle: HDF5Handle(id, closer: H5Fclose), isWritable: true)
    }

    /// Writes a new file at `url` through `body`, atomically.
    ///
    /// The file is built as a temporary file in the same folder (`.name.tmp-<pid>-<random>`), flushed,
    /// closed and then renamed over `url`. If `body` throws, or anything fails, the temporary file is
    /// removed and whatever was at `url` before is left untouched. A folder that does not exist or
    /// cannot be written to is reported before anything is written.
    @discardableResult
    public static func writeAtomically<T>(to url: URL, _ body: (HDF5File) throws -> T) throws -> T {
        let target = url.standardizedFileURL
        let folder = target.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
            throw HDF5Error(.writeFailed, file: url.path, reason: "cannot write: folder \(folder.path) does not exist")
        }
        guard isDirectory.boolValue else {
            throw HDF5Error(.writeFailed, file: url.path, reason: "cannot write: \(folder.path) is not a folder")
        }
        if FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw HDF5Error(.writeFailed, file: url.path, reason: "cannot write: a folder of that name exists")
        }
        let temporary = folder.appendingPathComponent(
            ".\(target.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        // Probe the folder with a plain create so that a read-only folder gives the system's reason.
        let probe = open(temporary.path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        if probe < 0 {
            let reason = String(cString: strerror(errno))
            throw HDF5Error(.writeFailed, file: url.path, reason: "cannot write into folder \(folder.path): \(reason)")
        }
        closeDescriptor(probe)
        var file: HDF5File?
        do {
            let created = try HDF5File.create(at: temporary)
            file = created
            let result = try body(created)
            try created.flush()
            created.close()
            file = nil
            if rename(temporary.path, target.path) != 0 {
                let reason = String(cString: strerror(errno))
                throw HDF5Error(.writeFailed, file: url.path, reason: "cannot rename the finished temporary file into place: \(reason)")
            }
            return result
        } catch {
            file?.close()
            unlink(temporary.path)
            throw error
        }
    }

    /// The root group `/`.
    public var root: HDF5Group {
        get throws { try HDF5Group(file: self, path: "/", opening: "/") }
    }

    /// Writes buffered data to disk.
    public func flush() throws {
        try HDF5Library.withLock {
            if H5Fflush(handle.id, H5F_SCOPE_GLOBAL) < 0 { throw HDF5Library.failure("cannot flush", file: name, objectPath: nil, kind: .writeFailed) }
        }
    }

    /// Closes the file. Objects opened from it keep it alive until they are released.
    public func close() { handle.close() }

    /// Whether an object (group or dataset) exists at an absolute path like `/source/x`.
    public func exists(_ path: String) -> Bool {
        HDF5Library.withLock {
            var current = ""
            for component in HDF5File.components(path) {
                current += "/" + component
                guard H5Lexists(handle.id, current, dakit_H5P_DEFAULT()) > 0 else {
                    _ = HDF5Library.takeErrorStack()
                    return false
                }
                // A link to a dataset cannot have children: stop before asking HDF5 about them.
                if current != HDF5File.normalized(path) {
                    let object = H5Oopen(handle.id, current, dakit_H5P_DEFAULT())
                    guard object >= 0 else { _ = HDF5Library.takeErrorStack(); return false }
                    let type = H5Iget_type(object)
                    H5Oclose(object)
                    if type != H5I_GROUP { return false }
                }
            }
            return true
        }
    }

    /// The group at an absolute path. A missing path names the deepest group that exists and lists it.
    public func group(_ path: String) throws -> HDF5Group {
        try requireExisting(path)
        return try HDF5Group(file: self, path: HDF5File.normalized(path), opening: HDF5File.normalized(path))
    }

    /// The dataset at an absolute path. A missing path names the deepest group that exists and lists it.
    public func dataset(_ path: String) throws -> HDF5Dataset {
        try requireExisting(path)
        return try HDF5Dataset(file: self, path: HDF5File.normalized(path))
    }

    func requireExisting(_ path: String) throws {
        let normalized = HDF5File.normalized(path)
        guard !exists(normalized) else { return }
        // Find the deepest existing group to say what is there instead.
        var parent = "/"
        for component in HDF5File.components(normalized) {
            let next = parent == "/" ? "/\(component)" : "\(parent)/\(component)"
            if exists(next), (try? kind(of: next)) == .group { parent = next } else { break }
        }
        let names = (try? group(parent).childNames()) ?? []
        let listing = names.isEmpty ? "it is empty" : "it holds " + names.map { parent == "/" ? "/\($0)" : "\(parent)/\($0)" }.joined(separator: ", ")
        throw HDF5Error(.missingObject, file: name, objectPath: normalized, reason: "not found (\(parent == "/" ? "the file" : parent): \(listing))")
    }

    /// Whether the object at `path` is a group or a dataset.
    public func kind(of path: String) throws -> HDF5ObjectKind {
        try HDF5Library.withLock {
            let object = H5Oopen(handle.id, HDF5File.normalized(path), dakit_H5P_DEFAULT())
            guard object >= 0 else { throw HDF5Library.failure("cannot open object", file: name, objectPath: path, kind: .missingObject) }
            defer { H5Oclose(object) }
            switch H5Iget_type(object) {
            case H5I_GROUP: return .group
            case H5I_DATASET: return .dataset
            default: return .other
            }
        }
    }

    /// Every group and dataset in the file, depth first, in the order the file lists them.
    ///
    /// A group reached again through another hard link (two links to one group, or a link that
    /// points back up the tree and so makes a cycle) is listed once more as an entry whose
    /// `sameAs` names where it was first listed, and is not entered again.
    public func tree() throws -> [HDF5TreeEntry] {
        var entries: [HDF5TreeEntry] = []
        var listed: [HDF5ObjectIdentity: String] = [:]
        func visit(_ group: HDF5Group) throws {
            if let identity = group.identity {
                if let first = listed[identity] {
                    entries.append(HDF5TreeEntry(path: group.path, kind: .group, dataset: nil, attributes: [:], sameAs: first))
                    return
                }
                listed[identity] = group.path
            }
            entries.append(HDF5TreeEntry(path: group.path, kind: .group, dataset: nil, attributes: try group.attributes()))
            for child in try group.childNames() {
                let childPath = group.path == "/" ? "/\(child)" : "\(group.path)/\(child)"
                switch try kind(of: childPath) {
                case .group: try visit(try self.group(childPath))
                case .dataset:
                    let dataset = try self.dataset(childPath)
                    entries.append(HDF5TreeEntry(path: childPath, kind: .dataset, dataset: try dataset.info(), attributes: try dataset.attributes()))
                case .other:
                    entries.append(HDF5TreeEntry(path: childPath, kind: .other, dataset: nil, attributes: [:]))
                }
            }
        }
        try visit(try root)
        return entries
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { !$0.isEmpty && $0 != "." }
    }

    static func normalized(_ path: String) -> String {
        "/" + components(path).joined(separator: "/")
    }
}

/// What kind of object a path names.
public enum HDF5ObjectKind: String, Sendable {
    case group, dataset, other
}

/// Shape, type and storage of a dataset.
public struct HDF5DatasetInfo: Sendable, Equatable {
    public var shape: [Int]
    public var elementType: HDF5ElementType
    /// Chunk shape, nil for contiguous or compact storage.
    public var chunkShape: [Int]?
    /// Filters in pipeline order, e.g. `["shuffle", "gzip(4)"]`.
    public var filters: [String]
}

/// One line of a file's tree.
public struct HDF5TreeEntry: Sendable {
    public var path: String
    public var kind: HDF5ObjectKind
    public var dataset: HDF5DatasetInfo?
    public var attributes: [String: HDF5AttributeValue]
    /// For a group reached again through another hard link: the path where it was first listed.
    public var sameAs: String?

    init(path: String, kind: HDF5ObjectKind, dataset: HDF5DatasetInfo?, attributes: [String: HDF5AttributeValue], sameAs: String? = nil) {
        self.path = path
        self.kind = kind
        self.dataset = dataset
        self.attributes = attributes
        self.sameAs = sameAs
    }
}

/// `close(2)`, out of reach of `HDF5File.close()` inside the class.
private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }
