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

/// Which object in which file: the same for every hard link to it (its address in libhdf5 1.10,
/// its token from 1.12 on).
struct HDF5ObjectIdentity: Hashable {
    var fileNumber: UInt
    var key: [UInt8]
}

/// A group or dataset: anything that carries attributes.
public class HDF5Object {
    public let file: HDF5File
    /// Absolute path inside the file.
    public let path: String
    let handle: HDF5Handle

    init(file: HDF5File, path: String, handle: HDF5Handle) {
        self.file = file
        self.path = path
        self.handle = handle
    }

    /// The object's file number and address, or nil when libhdf5 cannot tell.
    var identity: HDF5ObjectIdentity? {
        HDF5Library.withLock {
            var fileNumber: UInt = 0
            var key = [UInt8](repeating: 0, count: 16)
            guard dakit_h5_object_key(handle.id, &fileNumber, &key) >= 0 else {
                _ = HDF5Library.takeErrorStack()
                return nil
            }
            return HDF5ObjectIdentity(fileNumber: fileNumber, key: key)
        }
    }

    func error(_ kind: HDF5Error.Kind, _ reason: String) -> HDF5Error {
        HDF5Error(kind, file: file.name, objectPath: path, reason: reason)
    }

    func failure(_ operation: String, kind: HDF5Error.Kind = .unreadable) -> HDF5Error {
        HDF5Library.failure(operation, file: file.name, objectPath: path, kind: kind)
    }

    /// Longest object or attribute name DAKit reads.
    static let maxNameBytes = 1 << 16

    /// Names of the attributes, in name order.
    public func attributeNames() throws -> [String] {
        try HDF5Library.withLock {
            let count = dakit_h5_attribute_count(handle.id)
            guard count >= 0 else { throw failure("cannot list attributes") }
            guard count <= DataLimits.maxAttributeElements else {
                throw error(.invalidData, "has \(count) attributes; DAKit reads at most \(DataLimits.maxAttributeElements)")
            }
            return try (0..<count).map { index in
                let length = H5Aget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(index), nil, 0, dakit_H5P_DEFAULT())
                guard length >= 0 else { throw failure("cannot read attribute name \(index)") }
                guard length <= HDF5Object.maxNameBytes else {
                    throw error(.invalidData, "attribute name \(index) is \(length) bytes long; DAKit reads names of at most \(HDF5Object.maxNameBytes)")
                }
                var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                H5Aget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(index), &buffer, buffer.count, dakit_H5P_DEFAULT())
                return cBufferString(buffer)
            }
        }
    }

    /// Every attribute with its value. Attributes of types DAKit cannot read are left out.
    public func attributes() throws -> [String: HDF5AttributeValue] {
        var result: [String: HDF5AttributeValue] = [:]
        for name in try attributeNames() {
            if let value = try? attribute(name) { result[name] = value }
        }
        return result
    }

    public func hasAttribute(_ name: String) -> Bool {
        HDF5Library.withLock {
            let exists = H5Aexists(handle.id, name) > 0
            _ = HDF5Library.takeErrorStack()
            return exists
        }
    }

    /// Reads an attribute: strings (fixed or variable length, scalar or array), integers or floats.
    public func attribute(_ name: String) throws -> HDF5AttributeValue {
        guard hasAttribute(name) else {
            let names = (try? attributeNames()) ?? []
            throw error(.missingObject, "attribute '\(name)' not found (attributes: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }
        return try HDF5Library.withLock {
            let attribute = H5Aopen(handle.id, name, dakit_H5P_DEFAULT())
            guard attribute >= 0 else { throw failure("cannot open attribute '\(name)'") }
            defer { H5Aclose(attribute) }
            let type = H5Aget_type(attribute)
            defer { H5Tclose(type) }
            let space = H5Aget_space(attribute)
            defer { H5Sclose(space) }
            let isScalar = H5Sget_simple_extent_type(space) == H5S_SCALAR
            let points = H5Sget_simple_extent_npoints(space)
            guard points >= 0 else { throw failure("cannot read the size of attribute '\(name)'") }
            guard points <= DataLimits.maxAttributeElements else {
                throw error(.invalidData,
                    "attribute '\(name)' holds \(points) values; DAKit reads at most \(DataLimits.maxAttributeElements) (DataLimits.maxAttributeElements)")
            }
            let count = Int(points)
            switch H5Tget_class(type) {
            case H5T_STRING:
                let strings = try readStrings(attribute: attribute, fileType: type, space: space, count: count, name: name)
                return isScalar ? .string(strings.first ?? "") : .strings(strings)
            case H5T_INTEGER:
                var values = [Int64](repeating: 0, count: count)
                guard H5Aread(attribute, dakit_H5T_NATIVE_INT64(), &values) >= 0 else { throw failure("cannot read attribute '\(name)'") }
                return isScalar ? .integer(Int(values[0])) : .integers(values.map { Int($0) })
            case H5T_FLOAT:
                var values = [Double](repeating: 0, count: count)
                guard H5Aread(attribute, dakit_H5T_NATIVE_DOUBLE(), &values) >= 0 else { throw failure("cannot read attribute '\(name)'") }
                return isScalar ? .double(values[0]) : .doubles(values)
            default:
                throw error(.typeMismatch, "attribute '\(name)' has type \(HDF5ElementType.from(typeID: type)), which DAKit does not read")
            }
        }
    }

    private func readStrings(attribute: hid_t, fileType: hid_t, space: hid_t, count: Int, name: String) throws -> [String] {
        if H5Tis_variable_str(fileType) > 0 {
            let memoryType = H5Tcopy(dakit_H5T_C_S1())
            defer { H5Tclose(memoryType) }
            H5Tset_size(memoryType, dakit_H5T_VARIABLE())
            H5Tset_cset(memoryType, H5Tget_cset(fileType))
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            guard H5Aread(attribute, memoryType, &pointers) >= 0 else { throw failure("cannot read string attribute '\(name)'") }
            defer { _ = dakit_h5_vlen_reclaim(memoryType, space, &pointers) }
            var total = 0
            for pointer in pointers {
                total += pointer.map { strlen($0) } ?? 0
                guard total <= DataLimits.maxAttributeBytes else {
                    throw error(.invalidData,
                        "string attribute '\(name)' holds over \(DataLimits.byteText(DataLimits.maxAttributeBytes)) of text; DAKit reads at most that (DataLimits.maxAttributeBytes)")
                }
            }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        let size = H5Tget_size(fileType)
        guard let total = DataLimits.product([size, count]), total <= DataLimits.maxAttributeBytes else {
            throw error(.invalidData,
                "string attribute '\(name)' declares \(count) strings of \(size) bytes, over DAKit's limit of \(DataLimits.byteText(DataLimits.maxAttributeBytes)) (DataLimits.maxAttributeBytes)")
        }
        let memoryType = H5Tcopy(fileType)
        defer { H5Tclose(memoryType) }
        var bytes = [UInt8](repeating: 0, count: max(1, total))
        guard H5Aread(attribute, memoryType, &bytes) >= 0 else { throw failure("cannot read string attribute '\(name)'") }
        return (0..<count).map { i in
            let slice = bytes[(i * size)..<((i + 1) * size)]
            let trimmed = slice.prefix { $0 != 0 }
            return String(decoding: trimmed, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
    }

    /// Writes (or replaces) an attribute. Strings are written as variable-length UTF-8, the way h5py does.
    public func setAttribute(_ name: String, _ value: HDF5AttributeValue) throws {
        guard file.isWritable else { throw error(.writeFailed, "cannot set attribute '\(name)': the file is open read-only") }
        try HDF5Library.withLock {
            if H5Aexists(handle.id, name) > 0 { H5Adelete(handle.id, name) }
            _ = HDF5Library.takeErrorStack()
            func make(type: hid_t, count: Int?, write: (hid_t) -> herr_t) throws {
                let space: hid_t
                if let count {
                    var dims = [hsize_t(count)]
                    space = H5Screate_simple(1, &dims, nil)
                } else {
                    space = H5Screate(H5S_SCALAR)
                }
                defer { H5Sclose(space) }
                let attribute = H5Acreate2(handle.id, name, type, space, dakit_H5P_DEFAULT(), dakit_H5P_DEFAULT())
                guard attribute >= 0 else { throw failure("cannot create attribute '\(name)'", kind: .writeFailed) }
                defer { H5Aclose(attribute) }
                guard write(attribute) >= 0 else { throw failure("cannot write attribute '\(name)'", kind: .writeFailed) }
            }
            func writeStrings(_ strings: [String], scalar: Bool) throws {
                let type = H5Tcopy(dakit_H5T_C_S1())
                defer { H5Tclose(type) }
                H5Tset_size(type, dakit_H5T_VARIABLE())
                H5Tset_cset(type, H5T_CSET_UTF8)
                let cStrings = strings.map { strdup($0) }
                defer { cStrings.forEach { free($0) } }
                var pointers: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) }
                try make(type: type, count: scalar ? nil : strings.count) { H5Awrite($0, type, &pointers) }
            }
            switch value {
            case .string(let s): try writeStrings([s], scalar: true)
            case .strings(let s): try writeStrings(s, scalar: false)
            case .integer(let v):
                var values = [Int64(v)]
                try make(type: dakit_H5T_STD_I64LE(), count: nil) { H5Awrite($0, dakit_H5T_NATIVE_INT64(), &values) }
            case .integers(let v):
                var values = v.map { Int64($0) }
                try make(type: dakit_H5T_STD_I64LE(), count: v.count) { H5Awrite($0, dakit_H5T_NATIVE_INT64(), &values) }
            case .double(let v):
                var values = [v]
                try make(type: dakit_H5T_IEEE_F64LE(), count: nil) { H5Awrite($0, dakit_H5T_NATIVE_DOUBLE(), &values) }
            case .doubles(let v):
                var values = v
                try make(type: dakit_H5T_IEEE_F64LE(), count: v.count) { H5Awrite($0, dakit_H5T_NATIVE_DOUBLE(), &values) }
            }
        }
    }
}

/// A group: a folder of groups and datasets.
public final class HDF5Group: HDF5Object {
    init(file: HDF5File, path: String, opening name: String) throws {
        let id: hid_t = try HDF5Library.withLock {
            let id = H5Gopen2(file.handle.id, name, dakit_H5P_DEFAULT())
            if id < 0 { throw HDF5Library.failure("cannot open group", file: file.name, objectPath: path, kind: .missingObject) }
            return id
        }
        super.init(file: file, path: path, handle: HDF5Handle(id, closer: H5Gclose))
    }

    init(file: HDF5File, path: String, id: hid_t) {
        super.init(file: file, path: path, handle: HDF5Handle(id, closer: H5Gclose))
    }

    /// Names of the members, in creation order when the file records it, else in name order.
    public func childNames() throws -> [String] {
        try HDF5Library.withLock {
            var info = H5G_info_t()
            guard H5Gget_info(handle.id, &info) >= 0 else { throw failure("cannot list group") }
            guard info.nlinks <= UInt64(DataLimits.maxAttributeElements) else {
                throw error(.invalidData, "group declares \(info.nlinks) members; DAKit reads at most \(DataLimits.maxAttributeElements)")
            }
            let count = Int(info.nlinks)
            func names(_ index: H5_index_t) -> [String]? {
                var result: [String] = []
                for i in 0..<count {
                    let length = H5Lget_name_by_idx(handle.id, ".", index, H5_ITER_INC, hsize_t(i), nil, 0, dakit_H5P_DEFAULT())
                    guard length >= 0, length <= HDF5Object.maxNameBytes else { _ = HDF5Library.takeErrorStack(); return nil }
                    var buffer = [CChar](repeating: 0, count: Int(length) + 1)
                    H5Lget_name_by_idx(handle.id, ".", index, H5_ITER_INC, hsize_t(i), &buffer, buffer.count, dakit_H5P_DEFAULT())
                    result.append(cBufferString(buffer))
                }
                return result
            }
            if let ordered = names(H5_INDEX_CRT_ORDER) { return ordered }
            guard let byName = names(H5_INDEX_NAME) else { throw failure("cannot list group members") }
            return byName
        }
    }

    func childPath(_ name: String) -> String {
        path == "/" ? HDF5File.normalized(name) : HDF5File.normalized(path + "/" + name)
    }

    /// The group at a path relative to this one.
    public func group(_ relativePath: String) throws -> HDF5Group { try file.group(childPath(relativePath)) }

    /// The dataset at a path relative to this one.
    public func dataset(_ relativePath: String) throws -> HDF5Dataset { try file.dataset(childPath(relativePath)) }

    public func contains(_ relativePath: String) -> Bool { file.exists(childPath(relativePath)) }

    /// Creates a group (and any missing groups on the way), or opens it if it exists.
    @discardableResult
    public func createGroup(_ relativePath: String) throws -> HDF5Group {
        let full = childPath(relativePath)
        if file.exists(full) { return try file.group(full) }
        guard file.isWritable else { throw error(.writeFailed, "cannot create group \(full): the file is open read-only") }
        let id: hid_t = try HDF5Library.withLock {
            let lcpl = H5Pcreate(dakit_H5P_LINK_CREATE())
            defer { H5Pclose(lcpl) }
            H5Pset_create_intermediate_group(lcpl, 1)
            let gcpl = H5Pcreate(dakit_H5P_GROUP_CREATE())
            defer { H5Pclose(gcpl) }
            H5Pset_link_creation_order(gcpl, dakit_H5P_CRT_ORDER_TRACKED() | dakit_H5P_CRT_ORDER_INDEXED())
            let id = H5Gcreate2(file.handle.id, full, lcpl, gcpl, dakit_H5P_DEFAULT())
            if id < 0 { throw HDF5Library.failure("cannot create group", file: file.name, objectPath: full, kind: .writeFailed) }
            return id
        }
        return HDF5Group(file: file, path: full, id: id)
    }

    /// Creates an empty dataset of the given shape; missing parent groups are created.
    ///
    /// - Parameters:
    ///   - chunkShape: chunk shape (same rank as `shape`), required for compression. nil: contiguous.
    ///   - gzipLevel: deflate level 1…9 (with the byte-shuffle filter in front), nil: no compression.
    public func createDataset(
        _ relativePath: String, shape: [Int], type: HDF5StorageType, chunkShape: [Int]? = nil, gzipLevel: Int? = nil
    ) throws -> HDF5Dataset {
        let full = childPath(relativePath)
        guard file.isWritable else { throw error(.writeFailed, "cannot create dataset \(full): the file is open read-only") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw error(.typeMismatch, "dataset \(full): negative size in shape \(shape)") }
        var chunks = chunkShape
        if gzipLevel != nil, chunks == nil { chunks = HDF5Group.defaultChunks(shape: shape, elementBytes: 4) }
        if let c = chunks {
            guard c.count == shape.count, c.allSatisfy({ $0 > 0 }) else {
                throw error(.typeMismatch, "dataset \(full): chunk shape \(c) does not fit shape \(shape)")
            }
        }
        if let level = gzipLevel, !(0...9).contains(level) {
            throw error(.typeMismatch, "dataset \(full): gzip level \(level) outside 0…9")
        }
        let id: hid_t = try HDF5Library.withLock {
            var dims = shape.map { hsize_t($0) }
            let space = shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(shape.count), &dims, nil)
            defer { H5Sclose(space) }
            let dcpl = H5Pcreate(dakit_H5P_DATASET_CREATE())
            defer { H5Pclose(dcpl) }
            if var c = chunks?.map({ hsize_t($0) }), !shape.contains(0) {
                // A chunk larger than the data wastes space; clip it.
                for i in c.indices { c[i] = min(c[i], max(1, dims[i])) }
                H5Pset_chunk(dcpl, Int32(c.count), &c)
                if let level = gzipLevel {
                    H5Pset_shuffle(dcpl)
                    H5Pset_deflate(dcpl, UInt32(level))
                }
            }
            let lcpl = H5Pcreate(dakit_H5P_LINK_CREATE())
            defer { H5Pclose(lcpl) }
            H5Pset_create_intermediate_group(lcpl, 1)
            let id = H5Dcreate2(file.handle.id, full, type.fileType, space, lcpl, dcpl, dakit_H5P_DEFAULT())
            if id < 0 { throw HDF5Library.failure("cannot create dataset", file: file.name, objectPath: full, kind: .writeFailed) }
            return id
        }
        return HDF5Dataset(file: file, path: full, id: id)
    }

    /// Chunks of about 1 MiB along the first axis, whole along the others.
    static func defaultChunks(shape: [Int], elementBytes: Int) -> [Int] {
        guard let first = shape.first else { return [] }
        let rowBytes = max(1, shape.dropFirst().reduce(1, *) * elementBytes)
        let rows = max(1, min(first, (1 << 20) / rowBytes))
        return [rows] + shape.dropFirst()
    }

    /// Writes a Float32 tensor as a new dataset.
    @discardableResult
    public func write(
        _ tensor: Tensor, to relativePath: String, type: HDF5StorageType = .float32, chunkShape: [Int]? = nil, gzipLevel: Int? = nil
    ) throws -> HDF5Dataset {
        let dataset = try createDataset(relativePath, shape: tensor.shape, type: type, chunkShape: chunkShape, gzipLevel: gzipLevel)
        try dataset.write(floats: tensor.scalars)
        return dataset
    }

    /// Writes integers (labels) as a new one-dimensional int64 dataset.
    @discardableResult
    public func write(integers: [Int], to relativePath: String, chunkShape: [Int]? = nil, gzipLevel: Int? = nil) throws -> HDF5Dataset {
        let dataset = try createDataset(relativePath, shape: [integers.count], type: .int64, chunkShape: chunkShape, gzipLevel: gzipLevel)
        try dataset.write(integers: integers)
        return dataset
    }
}

/// `close(2)`, out of reach of `HDF5File.close()` inside the class.
private func closeDescriptor(_ descriptor: Int32) { _ = close(descriptor) }
