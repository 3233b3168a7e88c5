import CHDF5
import Foundation
import TensorCore

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
