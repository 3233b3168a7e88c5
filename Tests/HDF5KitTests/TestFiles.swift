import Foundation
import XCTest

extension XCTestCase {
    /// A fresh temporary folder for this test, removed when the test ends.
    func makeTemporaryFolder(_ name: String = #function) throws -> URL {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-hdf5-\(clean)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock {
            // A read-only subfolder must become writable again before it can be removed.
            if let items = FileManager.default.enumerator(atPath: url.path) {
                for case let item as String in items {
                    try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.appendingPathComponent(item).path)
                }
            }
            try? FileManager.default.removeItem(at: url)
        }
        return url
    }
}

/// The committed fixture files (made by h5py; see Tests/Fixtures/make_fixtures.py).
func fixture(_ name: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name)
}

/// Runs `body`, expecting it to throw a one-line error whose description contains every fragment.
func assertThrows<T>(
    _ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch {
        let text = "\(error)"
        for fragment in fragments {
            XCTAssertTrue(text.contains(fragment), "error '\(text)' does not contain '\(fragment)'", file: file, line: line)
        }
        XCTAssertFalse(text.contains("\n"), "error should be one line: \(text)", file: file, line: line)
    }
}
