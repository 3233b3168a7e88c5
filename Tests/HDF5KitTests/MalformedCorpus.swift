import CHDF5
import Foundation
import HDF5Kit
import TensorCore

/// Writes one malformed domain file per class of fault into `folder`, each with a fragment that
/// the one-line error for it must contain. Every file is refused by `DomainDatasetFile.load`,
/// `dakit data inspect FILE --validate` and `dakit divergence FILE` with exit status 2.
///
/// Copy this (and `writeDomain`, `withRawFile`) into another test target to reuse the corpus.
func writeMalformedCorpus(into folder: URL) throws -> [(name: String, url: URL, expectedFragment: String)] {
    var corpus: [(name: String, url: URL, expectedFragment: String)] = []
    func add(_ name: String, _ fragment: String, _ write: (URL) throws -> Void) rethrows {
        let url = folder.appendingPathComponent(name + ".h5")
        try write(url)
        corpus.append((name, url, fragment))
    }
    let twoByTwo = Tensor(shape: [4, 2], scalars: [0, 1, 2, 3, 4, 5, 6, 7])
    try add("not-hdf5", "not an HDF5 file") { try "x,y\n1,0\n".write(to: $0, atomically: true, encoding: .utf8) }
    try add("empty", "is empty") { try Data().write(to: $0) }
    try add("truncated", "truncated") { url in
        try writeDomain(url)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
    }
    try add("bad-superblock", "cannot open") { url in
        try writeDomain(url)
        var data = try Data(contentsOf: url)
        for i in 8..<40 { data[i] = 0xFF }  // keeps the 8-byte signature, breaks the superblock after it
        try data.write(to: url)
    }
    try add("missing-source-x", "/source/x") { try writeDomain($0, sourceX: nil) }
    try add("missing-y", "/source/y") { try writeDomain($0, sourceY: nil) }
    try add("length-mismatch", "has 3 labels but /source/x has 4 samples") { try writeDomain($0, sourceY: [0, 1, 0]) }
    try add("nan", "non-finite") { try writeDomain($0, sourceX: Tensor(shape: [4, 2], scalars: [0, 1, .nan, 3, 4, 5, 6, 7])) }
    try add("inf", "non-finite") { try writeDomain($0, targetX: Tensor(shape: [3, 2], scalars: [0, 1, 2, .infinity, 4, 5])) }
    try add("negative-label", "negative label") { try writeDomain($0, sourceY: [0, -1, 1, 0]) }
    try add("fractional-label", "not whole numbers") { try writeDomain($0, sourceY: [0, 0.5, 1, 0]) }
    try add("huge-label", "DataLimits.maxClasses") { try writeDomain($0, sourceY: [0, 1, 1_000_000_000, 0]) }
    try add("string-label", "expected integers") { url in
        try writeDomain(url, sourceY: nil)
        try withRawFile(url) { file in try writeFixedStrings(file, "/source/y", ["a", "b", "a", "b"]) }
    }
    try add("zero-samples", "source has 0 samples") { try writeDomain($0, sourceX: Tensor(shape: [0, 2], scalars: []), sourceY: []) }
    try add("one-sample", "source has 1 sample; training needs at least 2") {
        try writeDomain($0, sourceX: Tensor(shape: [1, 2], scalars: [0, 1]), sourceY: [0])
    }
    try add("one-target-sample", "target has 1 sample") { try writeDomain($0, targetX: Tensor(shape: [1, 2], scalars: [0, 1])) }
    try add("one-class", "source labels hold 1 class (0); training needs at least 2") { try writeDomain($0, sourceY: [0, 0, 0, 0]) }
    try add("zero-features", "holds no values") {
        try writeDomain($0, sourceX: Tensor(shape: [4, 0], scalars: []), targetX: Tensor(shape: [3, 0], scalars: []))
    }
    try add("huge-declared-shape", "over DAKit's limit") { url in
        // 10¹²×2 float32, chunked and never written: a few kilobytes on disk, 8 TB declared.
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            _ = try root.createDataset("source/x", shape: [1_000_000_000_000, 2], type: .float32, chunkShape: [1024, 2])
            try root.write(integers: [0, 1, 0, 1], to: "source/y")
            try root.write(twoByTwo, to: "target/x")
        }
    }
    try add("overflow-shape", "overflows a 64-bit integer") { url in
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            _ = try root.createDataset("source/x", shape: [1 << 33, 1 << 33], type: .float32, chunkShape: [1, 1024])
            try root.write(integers: [0, 1, 0, 1], to: "source/y")
            try root.write(twoByTwo, to: "target/x")
        }
    }
    try add("string-x", "not numeric") { url in
        try writeDomain(url, sourceX: nil)
        try withRawFile(url) { file in try writeFixedStrings(file, "/source/x", ["a", "b", "c", "d"]) }
    }
    try add("rank0-x", "expected N×features") { url in
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            try root.write(Tensor(shape: [], scalars: [1]), to: "source/x")
            try root.write(integers: [0], to: "source/y")
            try root.write(twoByTwo, to: "target/x")
        }
    }
    try add("sample-shape-mismatch", "samples have shape [3] but /source/x samples have shape [2]") {
        try writeDomain($0, targetX: Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5]))
    }
    try add("hard-link-cycle", "/target/x") { url in
        // /source/loop points back at /source; the file also lacks /target, so it is invalid.
        try writeDomain(url, targetX: nil)
        try withRawFile(url) { file in
            guard H5Lcreate_hard(file, "/source", file, "/source/loop", dakit_H5P_DEFAULT(), dakit_H5P_DEFAULT()) >= 0 else {
                throw CorpusError("H5Lcreate_hard failed")
            }
        }
    }
    try add("corrupt-gzip-chunk", "cannot read data") { url in
        var rng = SeededGenerator(seed: 3)
        try writeDomain(url, sourceX: Tensor.uniform([256, 2], rng: &rng), sourceY: (0..<256).map { Float($0 % 2) }, gzip: true)
        let (address, size) = try firstChunk(of: "/source/x", in: url)
        var data = try Data(contentsOf: url)
        for i in (address + size / 4)..<(address + size / 2) { data[i] ^= 0x5A }
        try data.write(to: url)
    }
    try add("missing-filter", "needs HDF5 filter 32001 (blosc), which this libhdf5 does not have") { url in
        try writeDomain(url, sourceX: nil)
        try withRawFile(url) { file in try writeWithUnavailableFilter(file, "/source/x", twoByTwo, filter: 32001) }
    }
    if getuid() != 0 {  // root reads any file, so the permission check cannot be tested as root
        try add("unreadable", "permission denied") { url in
            try writeDomain(url)
            try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: url.path)
        }
    }
    return corpus
}

struct CorpusError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A small valid domain file (4 source samples of 2 classes, 3 target samples); nil leaves a part out.
func writeDomain(
    _ url: URL, sourceX: Tensor? = Tensor(shape: [4, 2], scalars: [0, 1, 2, 3, 4, 5, 6, 7]), sourceY: [Float]? = [0, 1, 1, 0],
    targetX: Tensor? = Tensor(shape: [3, 2], scalars: [1, 0, 3, 2, 5, 4]), gzip: Bool = false
) throws {
    try HDF5File.writeAtomically(to: url) { file in
        let root = try file.root
        try root.createGroup("source")
        if let sourceX { try root.write(sourceX, to: "source/x", gzipLevel: gzip ? 4 : nil) }
        if let sourceY { try root.write(Tensor(sourceY), to: "source/y", type: .float64) }
        if let targetX { try root.write(targetX, to: "target/x", gzipLevel: gzip ? 4 : nil) }
    }
}

/// Opens `url` read-write with the C API for edits HDF5Kit does not offer (hard links, raw types).
func withRawFile(_ url: URL, _ body: (hid_t) throws -> Void) throws {
    let file = H5Fopen(url.path, dakit_H5F_ACC_RDWR(), dakit_H5P_DEFAULT())
    guard file >= 0 else { throw CorpusError("cannot open \(url.path)") }
    defer { H5Fclose(file) }
    try body(file)
}

/// A one-dimensional dataset of fixed-length strings.
func writeFixedStrings(_ file: hid_t, _ path: String, _ strings: [String]) throws {
    let type = H5Tcopy(dakit_H5T_C_S1())
    defer { H5Tclose(type) }
    H5Tset_size(type, 4)
    var dims = [hsize_t(strings.count)]
    let space = H5Screate_simple(1, &dims, nil)
    defer { H5Sclose(space) }
    let dataset = H5Dcreate2(file, path, type, space, dakit_H5P_DEFAULT(), dakit_H5P_DEFAULT(), dakit_H5P_DEFAULT())
    guard dataset >= 0 else { throw CorpusError("cannot create \(path)") }
    defer { H5Dclose(dataset) }
    var bytes = [UInt8](repeating: 0, count: 4 * strings.count)
    for (i, s) in strings.enumerated() { for (j, b) in s.utf8.prefix(4).enumerated() { bytes[i * 4 + j] = b } }
    guard H5Dwrite(dataset, type, dakit_H5S_ALL(), dakit_H5S_ALL(), dakit_H5P_DEFAULT(), &bytes) >= 0 else { throw CorpusError("cannot write \(path)") }
}

/// An identity filter registered only while `writeWithUnavailableFilter` writes, so that a reader
/// (this process afterwards, or `dakit`) finds the filter missing, as with an uninstalled blosc plugin.
private let identityFilter: H5Z_func_t = { _, _, _, nbytes, _, _ in nbytes }
nonisolated(unsafe) private let filterName = strdup("dakit test identity")

/// Writes `tensor` at `path`, chunked, through filter `filter`, then unregisters the filter.
func writeWithUnavailableFilter(_ file: hid_t, _ path: String, _ tensor: Tensor, filter: Int32) throws {
    var filterClass = H5Z_class2_t(
        version: Int32(H5Z_CLASS_T_VERS), id: filter, encoder_present: 1, decoder_present: 1,
        name: UnsafePointer(filterName), can_apply: nil, set_local: nil, filter: identityFilter)
    guard H5Zregister(&filterClass) >= 0 else { throw CorpusError("cannot register filter \(filter)") }
    defer { H5Zunregister(filter) }
    var dims = tensor.shape.map { hsize_t($0) }
    let space = H5Screate_simple(Int32(dims.count), &dims, nil)
    defer { H5Sclose(space) }
    let dcpl = H5Pcreate(dakit_H5P_DATASET_CREATE())
    defer { H5Pclose(dcpl) }
    H5Pset_chunk(dcpl, Int32(dims.count), &dims)
    H5Pset_filter(dcpl, filter, 0, 0, nil)
    let dataset = H5Dcreate2(file, path, dakit_H5T_IEEE_F32LE(), space, dakit_H5P_DEFAULT(), dcpl, dakit_H5P_DEFAULT())
    guard dataset >= 0 else { throw CorpusError("cannot create \(path) with filter \(filter)") }
    defer { H5Dclose(dataset) }
    var values = tensor.scalars
    guard H5Dwrite(dataset, dakit_H5T_NATIVE_FLOAT(), dakit_H5S_ALL(), dakit_H5S_ALL(), dakit_H5P_DEFAULT(), &values) >= 0 else {
        throw CorpusError("cannot write \(path) through filter \(filter)")
    }
}

/// The file offset and stored size of a chunked dataset's first chunk.
func firstChunk(of path: String, in url: URL) throws -> (address: Int, size: Int) {
    let file = H5Fopen(url.path, dakit_H5F_ACC_RDONLY(), dakit_H5P_DEFAULT())
    guard file >= 0 else { throw CorpusError("cannot open \(url.path)") }
    defer { H5Fclose(file) }
    let dataset = H5Dopen2(file, path, dakit_H5P_DEFAULT())
    guard dataset >= 0 else { throw CorpusError("cannot open \(path)") }
    defer { H5Dclose(dataset) }
    var offset = [hsize_t](repeating: 0, count: 8)
    var mask: UInt32 = 0
    var address: haddr_t = 0
    var size: hsize_t = 0
    let space = H5Dget_space(dataset)
    defer { H5Sclose(space) }
    guard H5Dget_chunk_info(dataset, space, 0, &offset, &mask, &address, &size) >= 0 else {
        throw CorpusError("cannot locate the first chunk of \(path)")
    }
    return (Int(address), Int(size))
}
