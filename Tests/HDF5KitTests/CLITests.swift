import Foundation
import HDF5Kit
import XCTest

/// End-to-end: the built `dakit` binary exits non-zero with one line on stderr for bad input.
final class CLITests: XCTestCase {
    func testBadInputsExitNonZeroWithOneLine() throws {
        let folder = try makeTemporaryFolder()
        let text = folder.appendingPathComponent("notes.h5")
        try "hello".write(to: text, atomically: true, encoding: .utf8)
        let nan = folder.appendingPathComponent("nan.h5")
        try HDF5File.writeAtomically(to: nan) { file in
            try file.root.write(.init(shape: [2, 1], scalars: [0, .nan]), to: "source/x")
            try file.root.write(integers: [0, 1], to: "source/y")
            try file.root.write(.init(shape: [1, 1], scalars: [0]), to: "target/x")
        }
        let cases: [([String], String)] = [
            (["data", "inspect", folder.appendingPathComponent("absent.h5").path], "no such file"),
            (["data", "inspect", text.path], "not an HDF5 file"),
            (["data", "inspect", nan.path, "--validate"], "1 non-finite value"),
            (["data", "make", "moons", "-o", folder.appendingPathComponent("missing/m.h5").path], "does not exist"),
            (["weights", "inspect", text.path], "not an HDF5 file"),
        ]
        for (arguments, fragment) in cases {
            let result = try run(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): \(result.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["nan.h5", "notes.h5"], "no partial files")
    }

    func testMakeImportAndInspect() throws {
        let folder = try makeTemporaryFolder()
        let made = folder.appendingPathComponent("s.h5")
        let result = try run(["data", "make", "shifted", "--shift", "target", "--samples", "50", "-o", made.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try DomainDatasetFile.load(made).source.count, 50)
        let (s, t) = (folder.appendingPathComponent("s.csv"), folder.appendingPathComponent("t.csv"))
        try "x1,x2,y\n0,1,0\n1,0,1\n".write(to: s, atomically: true, encoding: .utf8)
        try "x1,x2,y\n0.5,1,7\n".write(to: t, atomically: true, encoding: .utf8)
        let imported = folder.appendingPathComponent("i.h5")
        let bad = try run(["data", "import", "--source", s.path, "--target", t.path, "--class-names", "a,b", "-o", imported.path])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("/target/y") && bad.stderr.contains("outside the 2 declared classes"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: imported.path))
        try "x1,x2,y\n0.5,1,1\n0,0.5,0\n".write(to: t, atomically: true, encoding: .utf8)
        XCTAssertEqual(try run(["data", "import", "--source", s.path, "--target", t.path, "-o", imported.path]).status, 0)
        let inspect = try run(["data", "inspect", imported.path])
        XCTAssertTrue(inspect.stdout.contains("x  float32  2×2  chunks 2×2  shuffle + gzip(4)"), inspect.stdout)
    }
}

extension XCTestCase {
    /// The `dakit` executable built beside this test bundle (skips when it was not built).
    func dakit() throws -> URL {
        // Linux runs the test bundle as an executable (/proc/self/exe); macOS loads it into xctest.
        let starts = [
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), Bundle(for: CLITests.self).bundleURL,
        ]
        for start in starts {
            var folder = start.deletingLastPathComponent()
            for _ in 0..<4 {
                let candidate = folder.appendingPathComponent("dakit")
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                    FileManager.default.isExecutableFile(atPath: candidate.path)
                {
                    return candidate
                }
                folder = folder.deletingLastPathComponent()
            }
        }
        throw XCTSkip("the dakit executable is not built beside the tests")
    }

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try dakit()
        process.arguments = arguments
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}
