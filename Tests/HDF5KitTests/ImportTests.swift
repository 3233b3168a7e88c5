import Foundation
import HDF5Kit
import TensorCore
import XCTest

final class ImportTests: XCTestCase {
    /// A .npy file: magic, version, little-endian header length, the dict header padded to 64 bytes.
    func npy(descr: String, shape: String, payload: [UInt8], version: UInt8 = 1, fortran: Bool = false) -> Data {
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        let prefix = version == 1 ? 10 : 12
        while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
        let length = header.utf8.count
        bytes += version == 1 ? [UInt8(length & 0xFF), UInt8(length >> 8)] : [UInt8(length & 0xFF), UInt8(length >> 8), 0, 0]
        return Data(bytes + Array(header.utf8) + payload)
    }

    func littleEndian<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } } }

    func testNpyTypesVersionsAndOrder() throws {
        let folder = try makeTemporaryFolder()
        func roundTrip(_ data: Data) throws -> Tensor {
            let url = folder.appendingPathComponent("a.npy")
            try data.write(to: url)
            return try NumPyFile.read(url)
        }
        let floats: [Float] = [1.5, -2, 3, 4, 5, 6]
        XCTAssertEqual(try roundTrip(npy(descr: "<f4", shape: "(2, 3)", payload: littleEndian(floats.map(\.bitPattern)))), Tensor(shape: [2, 3], scalars: floats))
        XCTAssertEqual(try roundTrip(npy(descr: "<f8", shape: "(3,)", payload: littleEndian([1.25, -7, 0].map { (d: Double) in d.bitPattern }), version: 2)), Tensor([1.25, -7, 0]))
        XCTAssertEqual(try roundTrip(npy(descr: "<i8", shape: "(2,)", payload: littleEndian([Int64(-3), 9]))), Tensor([-3, 9]))
        XCTAssertEqual(try roundTrip(npy(descr: "|u1", shape: "(3,)", payload: [0, 200, 255])), Tensor([0, 200, 255]))
        XCTAssertEqual(try roundTrip(npy(descr: "|i1", shape: "(2,)", payload: [0xFF, 0x05])), Tensor([-1, 5]))
        XCTAssertEqual(try roundTrip(npy(descr: ">i2", shape: "(1,)", payload: [0x01, 0x02])), Tensor([258]))
        // Fortran order: the bytes 1..6 of a 2×3 array are stored column by column.
        XCTAssertEqual(
            try roundTrip(npy(descr: "<f4", shape: "(2, 3)", payload: littleEndian([1, 4, 2, 5, 3, 6].map { (f: Float) in f.bitPattern }), fortran: true)),
            Tensor([[1, 2, 3], [4, 5, 6]]))
        assertThrows(["a.npy", "truncated"]) { try roundTrip(npy(descr: "<f4", shape: "(4,)", payload: [0, 0, 0, 0])) }
        assertThrows(["'<c8' is not supported"]) { try roundTrip(npy(descr: "<c8", shape: "(1,)", payload: [UInt8](repeating: 0, count: 8))) }
        assertThrows(["not a .npy file"]) { try roundTrip(Data("hello world".utf8)) }
    }

    func testCSVWithHeaderAndLabelColumn() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("t.csv")
        try "a,b,label\n1,2,0\n3.5,-4,1\n".write(to: url, atomically: true, encoding: .utf8)
        let split = try CSVTable.read(url)
        XCTAssertEqual(split.x, Tensor([[1, 2], [3.5, -4]]))
        XCTAssertEqual(split.y, [0, 1])
        try "a,b,label\n1,2,0\n3,-4,1\n".write(to: url, atomically: true, encoding: .utf8)
        let first = try CSVTable.read(url, labelColumn: 0)
        XCTAssertEqual(first.y, [1, 3])
        XCTAssertEqual(first.x, Tensor([[2, 0], [-4, 1]]))
        try "1,2,0\n3,4\n".write(to: url, atomically: true, encoding: .utf8)
        assertThrows(["t.csv", "line 2 has 2 fields, expected 3"]) { try CSVTable.read(url) }
        try "1,2,0\n3,x,1\n".write(to: url, atomically: true, encoding: .utf8)
        assertThrows(["line 2, column 2: 'x' is not a number"]) { try CSVTable.read(url) }
        try "1,2,0.5\n".write(to: url, atomically: true, encoding: .utf8)
        assertThrows(["label '0.5' is not a whole number"]) { try CSVTable.read(url) }
    }
}
