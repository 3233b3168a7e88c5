import CHDF5
import Foundation
import TensorCore

/// A dataset: an n-dimensional array of one element type.
///
/// Reads convert any integer or floating type to `Float` (inputs) or `Int` (labels) through
/// libhdf5's own conversion, and work the same on contiguous, chunked and gzip-compressed storage.
/// `readRows(_:)` reads a range along the first axis only (a hyperslab), so a dataset larger than
/// memory can be streamed.
public final class HDF5Dataset: HDF5Object {
    init(file: HDF5File, path: String) throws {
        let id: hid_t = try HDF5Library.withLock {
            let id = H5Dopen2(file.handle.id, path, dakit_H5P_DEFAULT())
            if id < 0 {
                let failure = HDF5Library.failure("cannot open dataset", file: file.name, objectPath: path, kind: .missingObject)
                if (try? file.kind(of: path)) == .group {
                    throw HDF5Error(.typeMismatch, file: file.name, objectPath: path, reason: "is a group, expected a dataset")
                }
                throw failure
            }
            return id
        }
        super.init(file: file, path: path, handle: HDF5Handle(id, closer: H5Dclose))
    }

    init(file: HDF5File, path: String, id: hid_t) {
        super.init(file: file, path: path, handle: HDF5Handle(id, closer: H5Dclose))
    }

    /// The size of each axis. A size beyond `Int.max` (only a corrupt or hostile file declares one)
    /// reads as `Int.max`, which every read refuses by `DataLimits`.
    public var shape: [Int] {
        HDF5Library.withLock {
            let space = H5Dget_space(handle.id)
            guard space >= 0 else {
                _ = HDF5Library.takeErrorStack()
                return []
            }
            defer { H5Sclose(space) }
            let rank = Int(H5Sget_simple_extent_ndims(space))
            guard rank > 0 else { return [] }
            var dims = [hsize_t](repeating: 0, count: min(rank, 32))
            H5Sget_simple_extent_dims(space, &dims, nil)
            return dims.map { Int(clamping: $0) }
        }
    }

    /// Number of elements (`Int.max` when the product overflows).
    public var elementCount: Int { DataLimits.product(shape) ?? Int.max }

    /// The element type stored in the file.
    public var elementType: HDF5ElementType {
        HDF5Library.withLock {
            let type = H5Dget_type(handle.id)
            defer { H5Tclose(type) }
            return HDF5ElementType.from(typeID: type)
        }
    }

    /// Shape, type, chunking and filters.
    public func info() throws -> HDF5DatasetInfo {
        let (chunks, filters): ([Int]?, [String]) = HDF5Library.withLock {
            let plist = H5Dget_create_plist(handle.id)
            defer { H5Pclose(plist) }
            var chunks: [Int]?
            if H5Pget_layout(plist) == H5D_CHUNKED {
                var dims = [hsize_t](repeating: 0, count: 32)
                let rank = Int(H5Pget_chunk(plist, 32, &dims))
                if rank > 0 { chunks = dims.prefix(min(rank, 32)).map { Int(clamping: $0) } }
            }
            var filters: [String] = []
            let count = H5Pget_nfilters(plist)
            if count > 0 {
                for index in 0..<UInt32(count) {
                    var flags: UInt32 = 0
                    var valueCount = 8
                    var values = [UInt32](repeating: 0, count: 8)
                    var name = [CChar](repeating: 0, count: 64)
                    var config: UInt32 = 0
                    let filter = H5Pget_filter2(plist, index, &flags, &valueCount, &values, name.count, &name, &config)
                    switch filter {
                    case H5Z_filter_t(dakit_H5Z_FILTER_DEFLATE()): filters.append("gzip(\(valueCount > 0 ? values[0] : 0))")
                    case H5Z_filter_t(dakit_H5Z_FILTER_SHUFFLE()): filters.append("shuffle")
                    default:
                        let text = cBufferString(name)
                        filters.append(text.isEmpty ? "filter \(filter)" : text)
                    }
                }
            }
            _ = HDF5Library.takeErrorStack()
            return (chunks, filters)
        }
        return HDF5DatasetInfo(shape: shape, elementType: elementType, chunkShape: chunks, filters: filters)
    }

    /// Refuses a dataset whose filter pipeline names a filter this libhdf5 lacks (a compression
    /// plugin such as blosc that is not installed), naming the filter instead of libhdf5's
    /// "can't open directory" from its failed plugin search.
    func requireFilters() throws {
        let missing: (id: Int32, name: String)? = HDF5Library.withLock {
            let plist = H5Dget_create_plist(handle.id)
            guard plist >= 0 else {
                _ = HDF5Library.takeErrorStack()
                return nil
            }
            defer { H5Pclose(plist) }
            defer { _ = HDF5Library.takeErrorStack() }
            let count = H5Pget_nfilters(plist)
            guard count > 0 else { return nil }
            for index in 0..<UInt32(count) {
                var flags: UInt32 = 0
                var valueCount = 0
                var name = [CChar](repeating: 0, count: 64)
                var config: UInt32 = 0
                let filter = H5Pget_filter2(plist, index, &flags, &valueCount, nil, name.count, &name, &config)
                if filter < 0 { continue }
                if H5Zfilter_avail(filter) <= 0 { return (filter, cBufferString(name)) }
            }
            return nil
        }
        guard let missing else { return }
        let known = HDF5Dataset.knownFilterNames[missing.id]
        let name = known ?? (missing.name.isEmpty ? "unknown" : missing.name)
        throw error(.missingFilter,
            "needs HDF5 filter \(missing.id) (\(name)), which this libhdf5 does not have (install the filter plugin and set HDF5_PLUGIN_PATH)")
    }

    /// Registered HDF5 filter identifiers (https://github.com/HDFGroup/hdf5_plugins/blob/master/docs/RegisteredFilterPlugins.md).
    static let knownFilterNames: [Int32: String] = [
        1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 305: "lzo", 307: "bzip2",
        32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32013: "zfp", 32015: "zstd", 32017: "sz",
        32018: "fcidecomp", 32026: "blosc2",
    ]

    private func requireNumeric(_ operation: String) throws {
        let type = elementType
        guard type.isNumeric else { throw error(.typeMismatch, "\(operation): element type \(type) is not numeric") }
    }

    /// Reads `count` elements starting at row `start` (or everything) with libhdf5 converting to `memoryType`.
    private func read<T>(memoryType: hid_t, rows: Range<Int>?, as _: T.Type, zero: T) throws -> (shape: [Int], values: [T]) {
        let fullShape = shape
        var outShape = fullShape
        if let rows {
            guard let first = fullShape.first else { throw error(.typeMismatch, "cannot read rows of a scalar dataset") }
            guard rows.lowerBound >= 0, rows.upperBound <= first else {
                throw error(.typeMismatch, "rows \(rows.lowerBound)..<\(rows.upperBound) outside 0..<\(first)")
            }
            outShape[0] = rows.count
        }
        let count = try DataLimits.checkedCount(
            shape: outShape, elementBytes: MemoryLayout<T>.stride, file: file.name, objectPath: path)
        if count > 0 { try requireFilters() }
        var values = [T](repeating: zero, count: count)
        if count == 0 { return (outShape, values) }
        try HDF5Library.withLock {
            var fileSpace = dakit_H5S_ALL()
            var memorySpace = dakit_H5S_ALL()
            if let rows {
                fileSpace = H5Dget_space(handle.id)
                var start = [hsize_t](repeating: 0, count: fullShape.count)
                start[0] = hsize_t(rows.lowerBound)
                var counts = outShape.map { hsize_t($0) }
                H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &counts, nil)
                memorySpace = H5Screate_simple(Int32(counts.count), &counts, nil)
            }
            defer {
                if rows != nil {
                    H5Sclose(fileSpace)
                    H5Sclose(memorySpace)
                }
            }
            let status = values.withUnsafeMutableBytes { buffer in
                H5Dread(handle.id, memoryType, memorySpace, fileSpace, dakit_H5P_DEFAULT(), buffer.baseAddress)
            }
            if status < 0 { throw failure("cannot read data", kind: .unreadable) }
        }
        return (outShape, values)
    }

    /// The whole dataset as a Float32 tensor, converted from any integer or floating type.
    public func readTensor() throws -> Tensor {
        try requireNumeric("read as Float32")
        let (shape, values) = try read(memoryType: dakit_H5T_NATIVE_FLOAT(), rows: nil, as: Float.self, zero: 0)
        return Tensor(shape: shape, scalars: values)
    }

    /// Rows `rows` (along the first axis) as a Float32 tensor; only those rows are read from disk.
    public func readTensor(rows: Range<Int>) throws -> Tensor {
        try requireNumeric("read rows as Float32")
        let (shape, values) = try read(memoryType: dakit_H5T_NATIVE_FLOAT(), rows: rows, as: Float.self, zero: 0)
        return Tensor(shape: shape, scalars: values)
    }

    /// The whole dataset as Float64 values (row-major).
    public func readDoubles(rows: Range<Int>? = nil) throws -> [Double] {
        try requireNumeric("read as Float64")
        return try read(memoryType: dakit_H5T_NATIVE_DOUBLE(), rows: rows, as: Double.self, zero: 0).values
    }

    /// The dataset as integers. Integer types convert directly; floating types are accepted only
    /// when every value is a whole number (a label stored as 3.0 is fine, 2.5 is an error naming
    /// the first offending index).
    public func readIntegers(rows: Range<Int>? = nil) throws -> [Int] {
        let type = elementType
        switch type {
        case .integer(let bytes, let signed):
            if bytes == 8 && !signed {
                let values = try read(memoryType: dakit_H5T_NATIVE_UINT64(), rows: rows, as: UInt64.self, zero: 0).values
                if let index = values.firstIndex(where: { $0 > UInt64(Int.max) }) {
                    throw error(.invalidData, "value \(values[index]) at index \(index) does not fit a signed 64-bit integer")
                }
                return values.map { Int($0) }
            }
            return try read(memoryType: dakit_H5T_NATIVE_INT64(), rows: rows, as: Int64.self, zero: 0).values.map { Int($0) }
        case .float:
            let values = try read(memoryType: dakit_H5T_NATIVE_DOUBLE(), rows: rows, as: Double.self, zero: 0).values
            if let index = values.firstIndex(where: { !$0.isFinite || $0.rounded() != $0 || abs($0) > 9.0e15 }) {
                let bad = values.indices.filter { !values[$0].isFinite || values[$0].rounded() != values[$0] }.count
                throw error(.invalidData, "expected integer labels, but \(bad) value(s) are not whole numbers (first: \(values[index]) at index \(index))")
            }
            return values.map { Int($0) }
        default:
            throw error(.typeMismatch, "expected integers, element type is \(type)")
        }
    }

    /// Writes Float32 values (row-major) into the whole dataset; libhdf5 converts to the stored type.
    public func write(floats: [Float]) throws {
        try writeRaw(floats, memoryType: dakit_H5T_NATIVE_FLOAT(), rowOffset: nil, rowShape: nil)
    }

    /// Writes integers into the whole dataset.
    public func write(integers: [Int]) throws {
        try writeRaw(integers.map { Int64($0) }, memoryType: dakit_H5T_NATIVE_INT64(), rowOffset: nil, rowShape: nil)
    }

    /// Writes a tensor of rows starting at row `offset` (a hyperslab write), so a large dataset can be
    /// filled piece by piece.
    public func write(_ rows: Tensor, atRow offset: Int) throws {
        try writeRaw(rows.scalars, memoryType: dakit_H5T_NATIVE_FLOAT(), rowOffset: offset, rowShape: rows.shape)
    }

    private func writeRaw<T>(_ values: [T], memoryType: hid_t, rowOffset: Int?, rowShape: [Int]?) throws {
        guard file.isWritable else { throw error(.writeFailed, "cannot write: the file is open read-only") }
        let fullShape = shape
        if let rowOffset, let rowShape {
            guard rowShape.count == fullShape.count, Array(rowShape.dropFirst()) == Array(fullShape.dropFirst()),
                rowOffset >= 0, rowOffset + (rowShape.first ?? 0) <= (fullShape.first ?? 0)
            else {
                throw error(.typeMismatch, "cannot write rows of shape \(rowShape) at row \(rowOffset) into shape \(fullShape)")
            }
        } else {
            guard values.count == fullShape.reduce(1, *) else {
                throw error(.typeMismatch, "cannot write \(values.count) values into shape \(fullShape)")
            }
        }
        if values.isEmpty { return }
        try HDF5Library.withLock {
            var fileSpace = dakit_H5S_ALL()
            var memorySpace = dakit_H5S_ALL()
            if let rowOffset, let rowShape {
                fileSpace = H5Dget_space(handle.id)
                var start = [hsize_t](repeating: 0, count: fullShape.count)
                start[0] = hsize_t(rowOffset)
                var counts = rowShape.map { hsize_t($0) }
                H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &counts, nil)
                memorySpace = H5Screate_simple(Int32(counts.count), &counts, nil)
            }
            defer {
                if rowOffset != nil {
                    H5Sclose(fileSpace)
                    H5Sclose(memorySpace)
                }
            }
            let status = values.withUnsafeBytes { buffer in
                H5Dwrite(handle.id, memoryType, memorySpace, fileSpace, dakit_H5P_DEFAULT(), buffer.baseAddress)
            }
            if status < 0 { throw failure("cannot write data", kind: .writeFailed) }
        }
    }
}
