import Adaptation
import Foundation
import HDF5Kit
import NN
import TensorCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An output folder held by one writer: `dakit run` and `dakit compare` lock the folder they write
/// into, so a second process pointed at the same folder is refused instead of interleaving files.
///
/// The lock is `flock` on `.dakit.lock` in the folder, which also records the holder (pid, host,
/// command, start time). The kernel drops the lock when the holder exits, however it exits (a
/// SIGKILL too), so a lock can never go stale; the file itself stays behind, harmless.
public final class OutputLock {
    public static let fileName = ".dakit.lock"
    public let folder: URL
    private var descriptor: Int32

    private init(folder: URL, descriptor: Int32) {
        self.folder = folder
        self.descriptor = descriptor
    }

    /// Creates `folder` if needed and locks it; throws `ExperimentError.invalid` naming the holder
    /// when another process has it, or the system's reason when the folder cannot be written.
    public static func acquire(_ folder: URL) throws -> OutputLock {
        if let reason = makeFolders(folder) {
            throw ExperimentError.invalid("cannot create the output folder \(folder.path): \(reason)")
        }
        let path = folder.appendingPathComponent(fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ExperimentError.invalid("cannot write into the output folder \(folder.path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            throw ExperimentError.invalid(
                "the output folder \(folder.path) is in use by another dakit process (\(holder.flatMap { $0.isEmpty ? nil : $0 } ?? "holder unknown")); "
                    + "wait for it to finish or choose another --out")
        }
        let host = ProcessInfo.processInfo.hostName
        let command = CommandLine.arguments.map(CompareTool.shellQuoted).joined(separator: " ")
        let started = ISO8601DateFormatter().string(from: Date())
        let text = "pid \(getpid()) on \(host) since \(started): \(command)\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        let lock = OutputLock(folder: folder, descriptor: fd)
        lock.removeStaleTemporaryFiles()
        return lock
    }

    /// Temporary files (`.<name>.tmp-<pid>-<n>`) that a killed writer left in the folder. Only the
    /// lock holder writes here, so any such file is stale once the lock is held.
    private func removeStaleTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where AtomicWrite.isTemporaryName(name) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    public func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}

/// Whole-file writes that never leave a half-written file: a temporary file beside the target,
/// flushed to disk, then renamed over it.
enum AtomicWrite {
    static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }

    /// `.report.json.tmp-123-456` (this module's) or `.checkpoint.h5.tmp-…` (HDF5Kit's).
    static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") && name.contains(".tmp-")
    }

    static func write(_ data: Data, to url: URL) throws {
        let temporary = temporaryURL(for: url)
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ExperimentError.io(url.path, "cannot write into \(url.deletingLastPathComponent().path): \(String(cString: strerror(errno)))")
        }
        var failure: String?
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = posixWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil && rename(temporary.path, url.path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary.path)
            throw ExperimentError.io(url.path, "cannot write: \(failure)")
        }
    }
}

private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, bytes, count)
    #else
    return Darwin.write(fd, bytes, count)
    #endif
}

/// Creates `folder` and its parents (`mkdir -p`); the reason in the system's words when it cannot.
func makeFolders(_ folder: URL) -> String? {
    var path = ""
    for component in folder.standardizedFileURL.path.split(separator: "/") {
        path += "/" + component
        if mkdir(path, 0o755) == 0 { continue }
        let code = errno
        var isFolder: ObjCBool = false
        if code == EEXIST {
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue { continue }
            return "\(path) is a file, not a folder"
        }
        return "\(path): \(String(cString: strerror(code)))"
    }
    return nil
}

/// A run's checkpoint: one HDF5 file holding the weights, every optimizer's state and the run's
/// progress, written in one atomic rename, so a kill at any moment leaves either the previous
/// complete checkpoint or the new one, never a weights file and a state file at different steps.
///
/// Layout: the model and strategy parameters as in any DAKit checkpoint (`/features/0/weight`),
/// optimizer state under `/optimizer/` (`optimizer.joint.<path>.<slot>`, `optimizer.inner.<label>.…`),
/// with `selection.checkpoint` the model state at the best evaluation so far under `/selected/`
/// (`selected.<model path>`; `CheckpointPicker`), and root attributes `step`, `reason`, `recipe_hash`, `seed` and `run_state` (JSON: epochs done,
/// steps, per-epoch metrics, finished), plus the model's description (`CheckpointModelInfo`:
/// `model_spec`, `input_shape`, `class_names`, `class_count`) so that `dakit predict` needs no recipe.
public enum RunCheckpoint {
    static let optimizerPrefix = "optimizer."
    static let selectedPrefix = "selected."

    /// Progress of a run: what `--resume` continues from.
    struct State: Codable {
        var recipeHash: String
        var seed: UInt64
        var epochsDone: Int
        /// Global steps done: where `--resume` starts (`TrainerConfiguration.startStep`).
        var steps: Int
        var epochs: [EpochMetrics]
        var finished: Bool
        /// The selection scores of the evaluations so far (nil in checkpoints written before them).
        var checkpointScores: [CheckpointScores]? = nil
        /// The step of the evaluation whose state `/selected/` holds.
        var selectedStep: Int? = nil
    }

    struct Loaded {
        var state: State
        var parameters: [String: Tensor]
        var optimizerState: [String: Tensor]
        /// The model state at the best evaluation so far, by model path (empty without `selection.checkpoint`).
        var selected: [String: Tensor] = [:]
    }

    static func save(
        _ snapshot: TrainingSnapshot, state: State, model: CheckpointModelInfo, selected: [NamedParameter] = [], to url: URL
    ) throws {
        let optimizer = snapshot.optimizerState.keys.sorted().map {
            NamedParameter(path: optimizerPrefix + $0, parameter: Parameter(snapshot.optimizerState[$0]!))
        }
        let best = selected.map { NamedParameter(path: selectedPrefix + $0.path, parameter: $0.parameter) }
        let json = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try Checkpoint.save(
            snapshot.parameters + optimizer + best, to: url,
            metadata: [
                "step": String(snapshot.step), "reason": snapshot.reason, "recipe_hash": state.recipeHash, "seed": String(state.seed),
                "run_state": json, "dakit": DAKitVersion.string,
            ].merging(model.metadata) { run, _ in run })
    }

    /// Recipe hash, seed, step and whether the run finished, from the file's attributes only (no
    /// tensor is read); nil when there is no readable run checkpoint at `url`.
    static func identity(_ url: URL) -> (recipeHash: String, seed: UInt64, step: Int, finished: Bool)? {
        guard FileManager.default.fileExists(atPath: url.path), let file = try? HDF5File(reading: url, probe: false),
            let attributes = try? file.root.attributes(), let json = attributes["run_state"]?.text,
            let state = try? JSONDecoder().decode(State.self, from: Data(json.utf8))
        else { return nil }
        return (state.recipeHash, state.seed, state.steps, state.finished)
    }

    static func load(_ url: URL) throws -> Loaded {
        let (tensors, _, metadata) = try Checkpoint.readAll(from: url)
        guard let json = metadata["run_state"] else {
            throw ExperimentError.invalid(
                "--resume: \(url.path) has no run state (written by an earlier dakit version, or not by `dakit run`); run again without --resume")
        }
        let state: State
        do {
            state = try JSONDecoder().decode(State.self, from: Data(json.utf8))
        } catch {
            throw ExperimentError.invalid("--resume: the run state in \(url.path) is not readable: \(error)")
        }
        guard metadata["step"] == String(state.steps) else {
            throw ExperimentError.invalid("--resume: \(url.path) records step \(metadata["step"] ?? "?") for its weights but \(state.steps) in its run state")
        }
        var parameters: [String: Tensor] = [:]
        var optimizer: [String: Tensor] = [:]
        var selected: [String: Tensor] = [:]
        for (path, value) in tensors {
            if path.hasPrefix(optimizerPrefix) {
                optimizer[String(path.dropFirst(optimizerPrefix.count))] = value
            } else if path.hasPrefix(selectedPrefix) {
                selected[String(path.dropFirst(selectedPrefix.count))] = value
            } else {
                parameters[path] = value
            }
        }
        return Loaded(state: state, parameters: parameters, optimizerState: optimizer, selected: selected)
    }
}
