import CHDF5
import Foundation
import HDF5Kit
import TensorCore
import XCTest

/// Every malformed input is refused with one line naming the file, the object and the reason:
/// by the loader in-process, and by `dakit data inspect --validate` and `dakit divergence` with
/// exit status 2 and nothing written.
final class MalformedInputTests: XCTestCase {
    func testLoaderRefusesEveryMalformedFile() throws {
        let folder = try makeTemporaryFolder()
        for item in try writeMalformedCorpus(into: folder) {
            do {
                _ = try DomainDatasetFile.load(item.url)
                XCTFail("\(item.name): loaded without an error")
            } catch let error as HDF5Error {
                XCTAssertTrue(error.description.contains(item.expectedFragment), "\(item.name): \(error)")
                XCTAssertTrue(error.description.contains(item.url.path), "\(item.name): the error names the file: \(error)")
                XCTAssertFalse(error.description.contains("\n"), "\(item.name): one line: \(error)")
                XCTAssertNotEqual(error.kind, .library, "\(item.name): a bad file is bad input (exit 2), not a library failure: \(error)")
            }
        }
    }

    func testCommandsRefuseEveryMalformedFileWithStatus2AndOneLine() throws {
        _ = try dakit()
        let folder = try makeTemporaryFolder()
        let corpus = try writeMalformedCorpus(into: folder)
        let before = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        for item in corpus {
            for arguments in [["data", "inspect", item.url.path, "--validate"], ["divergence", item.url.path]] {
                let result = try run(arguments)
                let lines = result.stderr.split(separator: "\n")
                XCTAssertEqual(result.status, 2, "\(item.name): \(arguments[0]): \(result.stderr)")
                XCTAssertEqual(lines.count, 1, "\(item.name): \(arguments[0]): one line on stderr: \(result.stderr)")
                XCTAssertTrue(result.stderr.contains(item.expectedFragment), "\(item.name): \(arguments[0]): \(result.stderr)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), before, "no files written")
    }

    func testHardLinkCycleIsListedOnceAndInspectReturns() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("cycle.h5")
        try writeDomain(url)
        try withRawFile(url) { file in
            XCTAssertGreaterThanOrEqual(H5Lcreate_hard(file, "/source", file, "/source/loop", dakit_H5P_DEFAULT(), dakit_H5P_DEFAULT()), 0)
            XCTAssertGreaterThanOrEqual(H5Lcreate_hard(file, "/target", file, "/source/other", dakit_H5P_DEFAULT(), dakit_H5P_DEFAULT()), 0)
        }
        let tree = try HDF5File(reading: url).tree()
        XCTAssertEqual(tree.first { $0.path == "/source/loop" }?.sameAs, "/source")
        let paths = tree.map(\.path)
        XCTAssertEqual(Set(paths).count, paths.count, "no path listed twice: \(paths)")
        XCTAssertFalse(paths.contains { $0.hasPrefix("/source/loop/") }, "the cycle is not entered: \(paths)")
        XCTAssertEqual(try DomainDatasetFile.load(url).source.count, 4, "the links do not stop a valid file from loading")
        let result = try run(["data", "inspect", url.path, "--validate"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("loop/  → hard link to /source, listed above"), result.stdout)
    }

    func testLimitsUseOverflowSafeArithmetic() {
        XCTAssertEqual(DataLimits.product([3, 4, 5]), 60)
        XCTAssertEqual(DataLimits.product([]), 1)
        XCTAssertNil(DataLimits.product([1 << 33, 1 << 33]))
        XCTAssertNil(DataLimits.product([Int.max, 2]))
        XCTAssertNil(DataLimits.product([-1, 2]))
        XCTAssertLessThanOrEqual(DataLimits.maxBytes, 16 << 30)
        XCTAssertEqual(DataLimits.maxElements, DataLimits.maxBytes / 8)
    }

    func testEveryReaderRefusesOverflowingAndHugeShapes() throws {
        let folder = try makeTemporaryFolder()
        let corpus = try writeMalformedCorpus(into: folder)
        let overflow = try XCTUnwrap(corpus.first { $0.name == "overflow-shape" }).url
        let huge = try XCTUnwrap(corpus.first { $0.name == "huge-declared-shape" }).url
        assertThrows(["/source/x", "overflows"]) { try StreamingDataset(url: overflow) }
        assertThrows(["/source/x", "overflows"]) { try Checkpoint.readAll(from: overflow) }
        assertThrows(["/source/x", "over DAKit's limit", "DataLimits.maxBytes"]) { try Checkpoint.readAll(from: huge) }
        assertThrows(["/source/x", "over DAKit's limit"]) { try HDF5File(reading: huge).dataset("/source/x").readTensor() }
        // Streaming reads a huge dataset a block at a time; each block is within the limits.
        let stream = try StreamingDataset(url: huge, y: nil)
        var epoch = stream.epoch(0, batchSize: 4, seed: 0, shuffle: false)
        XCTAssertEqual(try epoch.next()?.x.shape, [4, 2])
    }

    func testValidateForTrainingStatesTheMinimums() {
        func dataset(source: Tensor, labels: [Int], target: Tensor) -> DomainDataset {
            DomainDataset(source: DomainSplit(x: source, y: labels), target: DomainSplit(x: target, y: nil), classNames: ["a", "b"], shiftDescription: "")
        }
        let two = Tensor(shape: [2, 1], scalars: [0, 1])
        XCTAssertNoThrow(try dataset(source: two, labels: [0, 1], target: two).validateForTraining())
        assertThrows(["mem.h5", "/source/x", "source has 1 sample; training needs at least 2"]) {
            try dataset(source: Tensor(shape: [1, 1], scalars: [0]), labels: [0], target: two).validateForTraining(file: "mem.h5")
        }
        assertThrows(["/target/x", "target has 0 samples"]) {
            try dataset(source: two, labels: [0, 1], target: Tensor(shape: [0, 1], scalars: [])).validateForTraining()
        }
        assertThrows(["/source/y", "source labels hold 1 class (1); training needs at least 2"]) {
            try dataset(source: two, labels: [1, 1], target: two).validateForTraining()
        }
        assertThrows(["/source/x", "holds no values"]) {
            try dataset(source: Tensor(shape: [2, 0], scalars: []), labels: [0, 1], target: Tensor(shape: [2, 0], scalars: [])).validateForTraining()
        }
    }

    func testUnwritableOutputIsOnePlainLine() throws {
        _ = try dakit()
        var targets = ["/proc/dakit-test.h5"]
        if getuid() != 0 {  // root writes into read-only folders
            let readOnly = try makeTemporaryFolder().appendingPathComponent("ro")
            try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: readOnly.path)
            targets.append(readOnly.appendingPathComponent("m.h5").path)
        }
        for target in targets {
            let result = try run(["data", "make", "moons", "--samples", "5", "-o", target])
            XCTAssertEqual(result.status, 2, "\(target): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(target): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(target) || result.stderr.contains("cannot write"), "\(target): \(result.stderr)")
            XCTAssertFalse(result.stderr.contains("NSCocoaErrorDomain") || result.stderr.contains("Error Domain"), result.stderr)
        }
    }
}
