import Foundation
import HDF5Kit
import TensorCore
import XCTest

final class HDF5CoreTests: XCTestCase {
    func testRoundTripChunkedGzipWithAttributesAndTree() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("a.h5")
        var rng = SeededGenerator(seed: 3)
        let x = Tensor.normal([100, 3, 4], rng: &rng)
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            try root.write(x, to: "/data/x", chunkShape: [16, 3, 4], gzipLevel: 5)
            try root.write(integers: Array(0..<100), to: "data/y")
            try root.write(x, to: "data/x64", type: .float64)
            let group = try root.group("data")
            try group.setAttribute("names", .strings(["a", "bé"]))
            try group.setAttribute("note", .string("hello"))
            try group.setAttribute("step", .integer(7))
            try group.setAttribute("scale", .doubles([0.5, 2]))
        }
        let file = try HDF5File(reading: url)
        XCTAssertEqual(try file.dataset("/data/x").readTensor(), x)
        XCTAssertEqual(try file.dataset("/data/x64").readTensor().maxAbsDifference(x), 0)
        XCTAssertEqual(try file.dataset("/data/y").readIntegers(), Array(0..<100))
        let info = try file.dataset("/data/x").info()
        XCTAssertEqual(info.shape, [100, 3, 4])
        XCTAssertEqual(info.chunkShape, [16, 3, 4])
        XCTAssertEqual(info.filters, ["shuffle", "gzip(5)"])
        XCTAssertEqual(info.elementType, .float(bytes: 4))
        let group = try file.group("/data")
        XCTAssertEqual(try group.attribute("names"), .strings(["a", "bé"]))
        XCTAssertEqual(try group.attribute("note"), .string("hello"))
        XCTAssertEqual(try group.attribute("step"), .integer(7))
        XCTAssertEqual(try group.attribute("scale"), .doubles([0.5, 2]))
        XCTAssertEqual(try group.childNames(), ["x", "y", "x64"], "creation order is kept")
        let tree = try file.tree()
        XCTAssertEqual(tree.map(\.path), ["/", "/data", "/data/x", "/data/y", "/data/x64"])
    }

    func testHyperslabRowsMatchFullRead() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("rows.h5")
        let x = Tensor(shape: [50, 4], scalars: (0..<200).map(Float.init))
        try HDF5File.writeAtomically(to: url) { file in
            let dataset = try file.root.createDataset("x", shape: [50, 4], type: .float32, chunkShape: [8, 4], gzipLevel: 1)
            // Fill in pieces through hyperslab writes.
            for start in stride(from: 0, to: 50, by: 20) {
                try dataset.write(x.slice(axis: 0, start..<min(start + 20, 50)), atRow: start)
            }
        }
        let dataset = try HDF5File(reading: url).dataset("/x")
        XCTAssertEqual(try dataset.readTensor(rows: 13..<29), x.slice(axis: 0, 13..<29))
        XCTAssertEqual(try dataset.readTensor(rows: 49..<50).scalars, [196, 197, 198, 199])
        XCTAssertEqual(try dataset.readTensor(rows: 0..<0).shape, [0, 4])
        assertThrows(["rows 40..<60 outside 0..<50", "/x"]) { try dataset.readTensor(rows: 40..<60) }
    }

    func testFloatLabelsMustBeWholeNumbers() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("labels.h5")
        try HDF5File.writeAtomically(to: url) { file in
            try file.root.write(Tensor([0, 1, 2, 1]), to: "good")
            try file.root.write(Tensor([0, 1, 2.5, 1, 0.25]), to: "bad")
        }
        let file = try HDF5File(reading: url)
        XCTAssertEqual(try file.dataset("good").readIntegers(), [0, 1, 2, 1])
        assertThrows(["/bad", "2 value(s) are not whole numbers", "2.5 at index 2"]) { try file.dataset("bad").readIntegers() }
    }

    func testOpeningBadFilesGivesClearErrors() throws {
        let folder = try makeTemporaryFolder()
        assertThrows(["nope.h5", "no such file"]) { try HDF5File(reading: folder.appendingPathComponent("nope.h5")) }
        assertThrows(["is a directory"]) { try HDF5File(reading: folder) }
        let empty = folder.appendingPathComponent("empty.h5")
        XCTAssertTrue(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        assertThrows(["empty.h5", "is empty"]) { try HDF5File(reading: empty) }
        let text = folder.appendingPathComponent("text.h5")
        try "a,b,c\n1,2,3\n".write(to: text, atomically: true, encoding: .utf8)
        assertThrows(["text.h5", "not an HDF5 file"]) { try HDF5File(reading: text) }

        // Truncated: a valid file cut in half keeps its signature but loses its end.
        let whole = folder.appendingPathComponent("whole.h5")
        try HDF5File.writeAtomically(to: whole) { file in
            try file.root.write(Tensor(shape: [1000, 8], scalars: [Float](repeating: 1, count: 8000)), to: "x")
        }
        let data = try Data(contentsOf: whole)
        let cut = folder.appendingPathComponent("cut.h5")
        try data.prefix(data.count / 2).write(to: cut)
        do {
            _ = try HDF5File(reading: cut).dataset("x").readTensor()
            XCTFail("a truncated file must not load")
        } catch let error as HDF5Error {
            XCTAssertEqual(error.kind, .truncated, "\(error)")
            XCTAssertTrue(error.description.contains("cut.h5"), error.description)
            XCTAssertTrue(error.description.contains("truncated"), error.description)
        }
    }

    func testMissingObjectsNameThePathAndListWhatIsThere() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("m.h5")
        try HDF5File.writeAtomically(to: url) { file in
            try file.root.write(Tensor([1, 2]), to: "source/x")
            try file.root.write(integers: [0, 1], to: "source/y")
        }
        let file = try HDF5File(reading: url)
        assertThrows(["m.h5", "/target/x", "not found", "/source"]) { try file.dataset("/target/x") }
        assertThrows(["/source/z", "/source/x, /source/y"]) { try file.dataset("/source/z") }
        assertThrows(["/source/x/deeper", "/source/x"]) { try file.group("/source/x/deeper") }
        assertThrows(["/source", "is a group, expected a dataset"]) { try file.dataset("/source") }
        assertThrows(["attribute 'shift' not found"]) { try file.root.attribute("shift") }
    }

    func testAtomicWriteKeepsOldFileWhenBodyThrows() throws {
        struct Interrupted: Error {}
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("keep.h5")
        try HDF5File.writeAtomically(to: url) { file in try file.root.write(Tensor([1, 2, 3]), to: "x") }
        XCTAssertThrowsError(
            try HDF5File.writeAtomically(to: url) { file in
                try file.root.write(Tensor([9, 9, 9, 9]), to: "x")
                throw Interrupted()
            })
        XCTAssertEqual(try HDF5File(reading: url).dataset("x").readTensor(), Tensor([1, 2, 3]))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        XCTAssertEqual(leftovers, ["keep.h5"], "no temporary file may stay behind")
    }

    func testWriteIntoMissingOrReadOnlyFolderFails() throws {
        let folder = try makeTemporaryFolder()
        assertThrows(["does not exist", "missing"]) {
            try HDF5File.writeAtomically(to: folder.appendingPathComponent("missing/out.h5")) { _ in }
        }
        let readOnly: URL
        if getuid() == 0 {
            readOnly = URL(fileURLWithPath: "/proc")  // root ignores permission bits; /proc refuses new files
        } else {
            readOnly = folder.appendingPathComponent("ro")
            try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnly.path)
        }
        assertThrows(["cannot write into folder", readOnly.path]) {
            try HDF5File.writeAtomically(to: readOnly.appendingPathComponent("out.h5")) { _ in }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: readOnly.appendingPathComponent("out.h5").path))
    }
}
