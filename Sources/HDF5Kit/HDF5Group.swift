import CHDF5
import Foundation
import TensorCore

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
