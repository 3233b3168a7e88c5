import Foundation
import HDF5Kit
import XCTest

/// Inputs found by `FuzzTests`, kept under `Tests/Fixtures/fuzz/`.
///
/// - `libhdf5-*.h5`: files on which libhdf5 1.10.8 itself crashes. `libhdf5-compact-link-free.h5`
///   (a corrupt link message in a compact group) makes `H5Lget_name_by_idx` free a garbage pointer
///   in `H5G__link_release_table`; the same happens through `H5Literate`.
/// - `libhdf5-hang-*.h5`: files on which libhdf5 1.10.8 never returns. `libhdf5-hang-vlen-global-heap.h5`
///   (a corrupt global heap collection) makes `H5Aread` of a variable-length string attribute loop
///   for ever in `H5HG__protect`.
/// - any other `*.h5`: inputs that once trapped in DAKit; each must now be refused or loaded.
///
/// DAKit cannot guard the libhdf5 ones from Swift; `HDF5MetadataProbe` walks every file's metadata
/// in a forked child before reading it, so opening them is refused (`.unreadable`), in process.
final class FuzzRegressionTests: XCTestCase {
    func fuzzFixtures() throws -> [URL] {
        let folder = fixture("fuzz")
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "h5" }.sorted { $0.path < $1.path }
    }

    /// In this process, not in a child: a crash here would end the test run.
    func testFilesThatCrashOrHangLibhdf5AreRefusedByTheProbe() throws {
        let files = try fuzzFixtures().filter { $0.lastPathComponent.hasPrefix("libhdf5-") }
        XCTAssertEqual(files.count, 2)
        for url in files {
            let hang = url.lastPathComponent.hasPrefix("libhdf5-hang-")
            let started = Date()
            try HDF5MetadataProbe.$timeout.withValue(2) {
                XCTAssertThrowsError(try DomainDatasetFile.load(url)) { error in
                    let message = "\(error)"
                    XCTAssertEqual((error as? HDF5Error)?.kind, .unreadable, message)
                    XCTAssertTrue(message.contains(hang ? "did not finish reading the file's metadata within 2 s" : "libhdf5 crashed (signal"), message)
                    XCTAssertFalse(message.contains("\n"), message)
                }
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), hang ? 10 : 5, url.lastPathComponent)
        }
    }

    func testKeptFuzzInputsNeverTrapInSwift() throws {
        let log = try makeTemporaryFolder().appendingPathComponent("stderr.txt")
        let files = try fuzzFixtures().filter { !$0.lastPathComponent.hasPrefix("libhdf5-hang-") }
        XCTAssertFalse(files.isEmpty)
        for url in files {
            let outcome = FuzzTests.exerciseInChild(url, log: log)
            if url.lastPathComponent.hasPrefix("libhdf5-") {
                XCTAssertTrue(["libhdf5 crash", "refused", "returned"].contains(outcome.kind), "\(url.lastPathComponent): \(outcome)")
            } else {
                XCTAssertTrue(["refused", "returned"].contains(outcome.kind), "\(url.lastPathComponent): \(outcome)")
            }
        }
    }
}
