import Foundation
import HDF5Kit
import TensorCore
import XCTest

final class DomainDatasetFileTests: XCTestCase {
    /// Writes a one-file domain dataset with the given pieces through HDF5Kit.
    func write(
        _ url: URL, sourceX: Tensor = Tensor(shape: [4, 2], scalars: (0..<8).map(Float.init)), sourceY: [Float]? = [0, 1, 1, 0],
        targetX: Tensor = Tensor(shape: [3, 2], scalars: (0..<6).map(Float.init)), classNames: HDF5AttributeValue? = nil
    ) throws {
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            try root.write(sourceX, to: "source/x")
            if let sourceY { try root.write(Tensor(sourceY), to: "source/y", type: .float64) }
            try root.write(targetX, to: "target/x")
            if let classNames { try root.setAttribute("class_names", classNames) }
        }
    }

    func testRoundTripOfGeneratedMoons() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("moons.h5")
        let data = MoonsGenerator.make(samplesPerClass: 20, testSamplesPerClass: 5, seed: 4)
        try DomainDatasetFile.save(data, to: url)
        let loaded = try DomainDatasetFile.load(url)
        XCTAssertEqual(loaded.source.x, data.source.x)
        XCTAssertEqual(loaded.source.y, data.source.y)
        XCTAssertEqual(loaded.target.y, data.target.y)
        XCTAssertEqual(loaded.sourceValidation?.x, data.sourceValidation?.x)
        XCTAssertEqual(loaded.targetTest?.y, data.targetTest?.y)
        XCTAssertEqual(loaded.classNames, data.classNames)
        XCTAssertEqual(loaded.shiftDescription, data.shiftDescription)
    }

    func testCommaJoinedClassNamesAndFloatLabels() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("d.h5")
        try write(url, classNames: .string("left, right"))
        let data = try DomainDatasetFile.load(url)
        XCTAssertEqual(data.classNames, ["left", "right"])
        XCTAssertEqual(data.source.y, [0, 1, 1, 0])
        XCTAssertNil(data.target.y)
    }

    func testOneFilePerDomain() throws {
        let folder = try makeTemporaryFolder()
        let (a, b) = (folder.appendingPathComponent("a.h5"), folder.appendingPathComponent("b.h5"))
        try HDF5File.writeAtomically(to: a) { file in
            try file.root.write(Tensor([[0, 1], [2, 3]]), to: "x")
            try file.root.write(integers: [0, 2], to: "y")
            try file.root.setAttribute("shift", .string("b is noisier"))
        }
        try HDF5File.writeAtomically(to: b) { file in try file.root.write(Tensor([[4, 5], [6, 7]]), to: "x") }
        let data = try DomainDatasetFile.load(source: a, target: b)
        XCTAssertEqual(data.classNames, ["0", "1", "2"])
        XCTAssertEqual(data.shiftDescription, "b is noisier")
        XCTAssertEqual(data.target.x, Tensor([[4, 5], [6, 7]]))
        try HDF5File.writeAtomically(to: b) { file in try file.root.write(Tensor([[4, 5, 6], [7, 8, 9]]), to: "x") }
        assertThrows(["b.h5", "/x", "[3]", "[2]"]) { try DomainDatasetFile.load(source: a, target: b) }
    }

    func testLengthMismatch() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("d.h5")
        try write(url, sourceY: [0, 1, 1])
        assertThrows(["d.h5", "/source/y", "has 3 labels but /source/x has 4 samples"]) { try DomainDatasetFile.load(url) }
    }

    func testNegativeLabels() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("d.h5")
        try write(url, sourceY: [0, -1, 1, -2])
        assertThrows(["/source/y", "2 negative labels", "first: -1 at index 1"]) { try DomainDatasetFile.load(url) }
    }

    func testLabelsOutsideDeclaredClasses() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("d.h5")
        try write(url, sourceY: [0, 1, 2, 1], classNames: .strings(["a", "b"]))
        assertThrows(["/source/y", "outside the 2 declared classes", "first: 2 at index 2"]) { try DomainDatasetFile.load(url) }
    }

    func testNonIntegerLabels() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("d.h5")
        try write(url, sourceY: [0, 0.5, 1, 0])
        assertThrows(["/source/y", "not whole numbers", "0.5 at index 1"]) { try DomainDatasetFile.load(url) }
    }

    func testNaNAndInfInInputsAreRefused() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("d.h5")
        try write(url, targetX: Tensor(shape: [3, 2], scalars: [0, 1, 2, .nan, .infinity, 5]))
        assertThrows(["/target/x", "2 non-finite values", "sample 1, element 1"]) { try DomainDatasetFile.load(url) }
    }

    func testMissingGroupsAndDatasetsListWhatIsThere() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("d.h5")
        try HDF5File.writeAtomically(to: url) { file in
            try file.root.write(Tensor([[1, 2]]), to: "source/x")
            try file.root.write(integers: [0], to: "source/y")
            try file.root.write(Tensor([[1, 2]]), to: "tgt/x")
        }
        assertThrows(["d.h5", "/target/x", "not found", "/source, /tgt"]) { try DomainDatasetFile.load(url) }
        try write(url, sourceY: nil)
        assertThrows(["/source/y", "not found", "/source/x"]) { try DomainDatasetFile.load(url) }
    }

    func testNotHDF5AndMissingFile() throws {
        let folder = try makeTemporaryFolder()
        assertThrows(["absent.h5", "no such file"]) { try DomainDatasetFile.load(folder.appendingPathComponent("absent.h5")) }
        let csv = folder.appendingPathComponent("data.h5")
        try "1,2,0\n".write(to: csv, atomically: true, encoding: .utf8)
        assertThrows(["data.h5", "not an HDF5 file"]) { try DomainDatasetFile.load(csv) }
    }
}
