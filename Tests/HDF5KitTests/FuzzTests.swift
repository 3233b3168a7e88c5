import Foundation
import HDF5Kit
import TensorCore
import XCTest

/// Seeded mutation fuzzing of the readers of untrusted files: start from small valid files, mutate
/// their bytes, and call every reader on each mutant. A reader must return, or throw one-line
/// `HDF5Error`s that are bad input (not `.library`, which the CLI maps to exit 1).
///
/// Each mutant is read in a forked child of the test process (the same code, no exec), so that a
/// crash ends the child and not the test run. libhdf5 1.10 itself crashes or loops on some corrupt
/// files (see `FuzzRegressionTests`); `HDF5MetadataProbe` refuses those before they are read, so
/// any crash in the child fails the test: a Swift trap (overflow, precondition, failed
/// allocation: SIGILL/SIGTRAP or "Fatal error"), a crash inside libhdf5 that the probe missed, or
/// a hang. The mutant is kept in `$TMPDIR/dakit-fuzz-failure-<seed>-<iteration>.h5`.
///
/// `DAKIT_FUZZ_ITERATIONS` (default 400) sets the number of mutants, `DAKIT_FUZZ_SEED` (default 1)
/// the generator's seed.
final class FuzzTests: XCTestCase {
    static var iterations: Int { Int(ProcessInfo.processInfo.environment["DAKIT_FUZZ_ITERATIONS"] ?? "") ?? 400 }
    static var seed: UInt64 { UInt64(ProcessInfo.processInfo.environment["DAKIT_FUZZ_SEED"] ?? "") ?? 1 }

    func testMutatedDomainFilesNeverTrap() throws {
        let folder = try makeTemporaryFolder()
        let seeds = try FuzzTests.seedCorpus(in: folder)
        let mutant = folder.appendingPathComponent("mutant.h5")  // per test run: parallel runs cannot clobber it
        let log = folder.appendingPathComponent("child-stderr.txt")
        var rng = SeededGenerator(seed: FuzzTests.seed)
        var outcomes: [String: Int] = [:]
        let started = Date()
        for iteration in 0..<FuzzTests.iterations {
            var bytes = seeds[rng.nextInt(below: seeds.count)]
            for _ in 0..<(1 + rng.nextInt(below: 4)) { FuzzTests.mutate(&bytes, rng: &rng) }
            try Data(bytes).write(to: mutant)
            let outcome = FuzzTests.exerciseInChild(mutant, log: log)
            outcomes[outcome.kind, default: 0] += 1
            switch outcome.kind {
            case "returned", "refused": break
            default:
                let kept = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-fuzz-failure-\(FuzzTests.seed)-\(iteration).h5")
                try? Data(bytes).write(to: kept)
                XCTFail("iteration \(iteration) (kept as \(kept.path)): \(outcome.kind): \(outcome.detail)")
            }
        }
        try? FileManager.default.removeItem(at: mutant)
        let summary = outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print("fuzz: \(FuzzTests.iterations) mutants (seed \(FuzzTests.seed)): \(summary) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    /// Runs `exercise` on `url` in a forked child, so that a crash ends the child, not the test:
    /// "returned" or "refused" (clean), "bad error" (multi-line or `.library`), "Swift trap"
    /// (overflow, precondition, failed allocation), "libhdf5 crash" (a memory error in C), "hang".
    static func exerciseInChild(_ url: URL, log: URL) -> (kind: String, detail: String) {
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let child = fork()
        if child == 0 {
            let descriptor = open(log.path, O_WRONLY | O_TRUNC)
            dup2(descriptor, 2)
            alarm(20)
            var status: Int32 = 0
            // Lowered so that a mutated shape within the default limits cannot allocate gigabytes.
            // The metadata probe's timeout well inside the alarm, so a libhdf5 loop is refused, not a hang.
            DataLimits.$maxBytes.withValue(64 << 20) { HDF5MetadataProbe.$timeout.withValue(5) {
                for error in exercise(url) {
                    status = max(status, 1)
                    let text = "\(error)"
                    if !(error is HDF5Error) || (error as? HDF5Error)?.kind == .library || text.contains("\n") {
                        FileHandle.standardError.write(Data("bad error: \(text)\n".utf8))
                        status = 3
                    }
                }
            } }
            _exit(status)
        }
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let detail = ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").prefix(3).joined(separator: " | ")
        let signal = status & 0x7F
        if signal == 0 {
            switch (status >> 8) & 0xFF {
            case 0: return ("returned", detail)
            case 1: return ("refused", detail)
            default: return ("bad error", detail)
            }
        }
        if signal == SIGALRM { return ("hang", "no answer in 20 s") }
        // Swift's runtime traps with ud2 (SIGILL) or brk/int3 (SIGTRAP), and names its fatal errors.
        if signal == SIGILL || signal == SIGTRAP || detail.contains("Fatal error") || detail.contains("failed to allocate") {
            return ("Swift trap", "signal \(signal): \(detail)")
        }
        return ("libhdf5 crash", "signal \(signal): \(detail)")
    }

    /// Calls every reader of untrusted files on `url`; returns the errors thrown.
    static func exercise(_ url: URL) -> [Error] {
        var errors: [Error] = []
        func attempt(_ body: () throws -> Void) {
            do { try body() } catch { errors.append(error) }
        }
        attempt { _ = try DomainDatasetFile.load(url) }
        attempt { _ = try HDF5File(reading: url).tree() }
        attempt { _ = try Checkpoint.readAll(from: url) }
        attempt {
            let stream = try StreamingDataset(url: url, classCount: 2)
            var epoch = stream.epoch(0, batchSize: 4, seed: 0)
            for _ in 0..<3 { _ = try epoch.next() }
        }
        return errors
    }

    /// Small valid files: a compressed one-file dataset with held-out splits and attributes, a
    /// contiguous one with float labels, and a checkpoint.
    static func seedCorpus(in folder: URL) throws -> [[UInt8]] {
        let compressed = folder.appendingPathComponent("seed-moons.h5")
        try DomainDatasetFile.save(MoonsGenerator.make(samplesPerClass: 6, testSamplesPerClass: 3, seed: 1), to: compressed)
        let contiguous = folder.appendingPathComponent("seed-plain.h5")
        try writeDomain(contiguous)
        let checkpoint = folder.appendingPathComponent("seed-checkpoint.h5")
        try HDF5File.writeAtomically(to: checkpoint) { file in
            let root = try file.root
            try root.write(Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6]), to: "features/0/weight")
            try root.write(Tensor(shape: [3], scalars: [0, 1, 2]), to: "features/0/bias")
            try root.setAttribute("parameter_paths", .strings(["features.0.weight", "features.0.bias"]))
        }
        return try [compressed, contiguous, checkpoint].map { [UInt8](try Data(contentsOf: $0)) }
    }

    /// Boundary values written over 1, 2, 4 or 8 bytes.
    static let boundaries: [UInt64] = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 1 << 32, 1 << 33, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, .max]

    /// One seeded mutation: flip a bit, overwrite a byte, write a boundary integer, truncate, insert
    /// or delete bytes.
    static func mutate(_ bytes: inout [UInt8], rng: inout SeededGenerator) {
        guard !bytes.isEmpty else {
            bytes = [UInt8(truncatingIfNeeded: rng.next())]
            return
        }
        let position = rng.nextInt(below: bytes.count)
        switch rng.nextInt(below: 7) {
        case 0: bytes[position] ^= UInt8(1) << UInt8(rng.nextInt(below: 8))
        case 1: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
        case 2, 3:
            let width = [1, 2, 4, 8][rng.nextInt(below: 4)]
            let value = boundaries[rng.nextInt(below: boundaries.count)]
            for i in 0..<width where position + i < bytes.count { bytes[position + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        case 4: bytes.removeLast(bytes.count - position)
        case 5: bytes.insert(contentsOf: (0..<(1 + rng.nextInt(below: 16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: position)
        default: bytes.removeSubrange(position..<min(bytes.count, position + 1 + rng.nextInt(below: 16)))
        }
    }
}
