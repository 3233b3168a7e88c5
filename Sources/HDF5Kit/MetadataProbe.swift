import CHDF5
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file's metadata in a child process before DAKit reads the file in-process.
///
/// DAKit checks every size and value it reads, but a few deliberately corrupted files make
/// libhdf5 (1.10) itself crash (a garbage pointer freed while listing a compact group's links) or
/// loop for ever (a corrupt global heap behind a variable-length string attribute), where no check
/// in Swift can intervene. So before a file is opened for reading, a forked child walks its
/// metadata with the same libhdf5 calls the reader makes (link names by index, object kinds and
/// identities, every attribute, dataset types and filter pipelines; no dataset data), and a
/// child that dies by a signal or does not finish within `timeout` makes the open fail with
/// `HDF5Error.Kind.unreadable` (exit status 2 in `dakit`) instead of taking the process down.
///
/// Each file (path, size, modification time) is probed once per process. The child runs only C
/// code (libhdf5 and the C library), forked while this process holds the libhdf5 lock, so no
/// other thread is inside libhdf5 at that moment.
public enum HDF5MetadataProbe {
    /// How long the child may take; a metadata walk of an ordinary file takes milliseconds.
    @TaskLocal public static var timeout: Double = 20

    private struct Stamp: Hashable {
        var path: String
        var size: Int
        var modified: Double
    }

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var probed = Set<Stamp>()

    static func check(_ path: String) throws {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let stamp = Stamp(
            path: path, size: (attributes?[.size] as? NSNumber)?.intValue ?? -1,
            modified: (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        if cacheLock.withLock({ probed.contains(stamp) }) { return }
        try run(path)
        cacheLock.withLock { _ = probed.insert(stamp) }
    }

    private static func run(_ path: String) throws {
        let limit = timeout
        let child: pid_t = HDF5Library.withLock {
            let pid = fork()
            if pid == 0 {
                // Die at once on a crash: the Swift runtime's crash handler would start a backtrace.
                for number in [SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP] { signal(number, SIG_DFL) }
                alarm(UInt32(max(1, limit.rounded(.up))) + 1)
                HDF5Library.isProbeChild = true
                if let file = try? HDF5File(reading: URL(fileURLWithPath: path), probe: false) { _ = try? file.tree() }
                _exit(0)
            }
            return pid
        }
        guard child > 0 else { return }  // no child (out of processes): read in-process as before
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(limit)
        while true {
            let done = waitpid(child, &status, WNOHANG)
            if done == child { break }
            if done < 0 && errno != EINTR { return }
            if Date() >= deadline {
                kill(child, SIGKILL)
                waitpid(child, &status, 0)
                throw HDF5Error(.unreadable, file: path,
                    reason: "libhdf5 did not finish reading the file's metadata within \(Int(limit)) s (a corrupt heap or link table makes it loop); the file is corrupt")
            }
            usleep(1000)
        }
        let crashSignal = status & 0x7f
        if crashSignal != 0 && crashSignal != 0x7f {
            throw HDF5Error(.unreadable, file: path,
                reason: "libhdf5 crashed (signal \(crashSignal)) reading the file's metadata in a child process; the file is corrupt")
        }
    }
}
