import Adaptation
import Dispatch
import Foundation
import TensorCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exit codes of the `dakit` commands.
public enum ExitStatus {
    public static let success: Int32 = 0
    /// The run failed (a loss became NaN/Inf, a file could not be written).
    public static let failure: Int32 = 1
    /// Bad input: a recipe error, a missing file, a bad option.
    public static let badInput: Int32 = 2
    /// Stopped by Ctrl-C after a clean save (128 + SIGINT, as shells report it).
    public static let interrupted: Int32 = 130
}

/// Options of `dakit run`.
public struct RunToolOptions: Sendable {
    public var recipe: String
    public var seed: UInt64?
    public var output: String?
    public var overrides: [String]
    public var checkOnly: Bool
    public var resume: Bool
    /// nil: decide by `isatty(stdout)`.
    public var interactive: Bool?
    /// Threads for matrix products and DAKit's kernels; 0: every available core.
    public var threads: Int
    /// Appends everything the run prints (stdout and stderr) to this file, created with its folder.
    public var log: String?
    /// The plots to draw, replacing the recipe's `evaluation.plots` (plots change no number, so
    /// the recipe hash stays the same); nil: the recipe's.
    public var plots: [RunPlots.Kind]?

    public init(
        recipe: String, seed: UInt64? = nil, output: String? = nil, overrides: [String] = [], checkOnly: Bool = false, resume: Bool = false,
        interactive: Bool? = nil, threads: Int = 0, log: String? = nil, plots: [RunPlots.Kind]? = nil
    ) {
        self.plots = plots
        self.threads = threads
        self.log = log
        self.recipe = recipe
        self.seed = seed
        self.output = output
        self.overrides = overrides
        self.checkOnly = checkOnly
        self.resume = resume
        self.interactive = interactive
    }
}

/// Ctrl-C (and SIGTERM, as schedulers send) handling: the first signal asks the work to stop after
/// the current step and calls `forward` (compare passes it on to its running children); a second
/// one calls `forward` again and exits at once.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = 0
    private var sources: [DispatchSourceSignal] = []
    private let message: String

    init(message: String = "stopping after the current step (press Ctrl-C again to quit at once)") {
        self.message = message
    }

    func install(_ forward: @escaping @Sendable () -> Void = {}) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                self.raised += 1
                let count = self.raised
                self.lock.unlock()
                forward()
                if count == 1 {
                    FileHandle.standardError.write(Data("\n^C: \(self.message)\n".utf8))
                } else {
                    exit(ExitStatus.interrupted)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    var isRaised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return raised > 0
    }
}

/// Writes one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message.replacingOccurrences(of: "\n", with: " ") + "\n").utf8))
}

/// `dakit run`: validate a recipe, train every requested seed, write reports. Returns the exit code.
public enum RunTool {
    public static func main(_ options: RunToolOptions, registry: StrategyRegistry) -> Int32 {
        if let log = options.log, let reason = redirectOutput(to: log) {
            printError("error: --log \(log): \(reason)")
            return ExitStatus.badInput
        }
        if options.threads > 0 { setThreadCount(options.threads) }
        var recipe: Recipe
        do {
            recipe = try Recipe.load(URL(fileURLWithPath: options.recipe), overrides: options.overrides, registry: registry, displayName: options.recipe)
            if let plots = options.plots { recipe.evaluation.plots = plots }
        } catch {
            printError("error: \(error)")
            return ExitStatus.badInput
        }
        let runner = Runner(recipe: recipe, registry: registry)
        let seeds = options.seed.map { [$0] } ?? recipe.seeds
        if options.checkOnly {
            // Build everything the run would build (data, model, strategies) without training.
            do {
                for seed in seeds.prefix(1) { _ = try runner.prepare(seed: seed) }
            } catch {
                printError("error: \(error)")
                return ExitStatus.badInput
            }
            print("\(options.recipe): ok (recipe \(recipe.hash); strategy \(recipe.strategyLabel); \(recipe.epochs) epochs; seeds \(seeds.map(String.init).joined(separator: ", ")))")
            return ExitStatus.success
        }
        let interrupt = InterruptFlag()
        interrupt.install()
        let interactive = options.interactive ?? (isatty(STDOUT_FILENO) == 1)
        for seed in seeds {
            let base = options.output ?? recipe.output
            let output = URL(fileURLWithPath: seeds.count > 1 || options.output == nil ? "\(base)/seed-\(seed)" : base)
            let progress = ProgressPrinter(interactive: interactive, seed: seed, epochs: recipe.epochs)
            do {
                let report = try runner.run(
                    seed: seed, output: output, overrides: options.overrides, resume: options.resume, shouldStop: { interrupt.isRaised },
                    events: progress.handle)
                progress.finish()
                print(Runner.summary(report), terminator: "")
                print("wrote \(output.path)/report.json, checkpoint.h5, summary.txt, summary.md, metrics.csv, the plots; open \(output.path)/report.html")
                if report.status == "cancelled" {
                    print("stopped by Ctrl-C; continue with: \(RunTool.resumeCommand(options, seed: seed, output: output))")
                    return ExitStatus.interrupted
                }
            } catch let error as RecipeError {
                progress.finish()
                printError("error: \(error)")
                return ExitStatus.badInput
            } catch where error is TrainingError || error is PhaseTrainingError {
                // The run failed (a non-finite loss, in any phase) and wrote a failed report.
                progress.finish()
                printError("error: \(options.recipe) seed \(seed): \(error) (report: \(output.path)/report.json)")
                return ExitStatus.failure
            } catch let error as StrategyError {
                // A strategy refusing its setting before training (a pool too small for its options,
                // target labels it needs and the data lacks): bad input, like an invalid option.
                progress.finish()
                printError("error: \(options.recipe) seed \(seed): \(error)")
                return ExitStatus.badInput
            } catch let error as ExperimentError {
                progress.finish()
                printError("error: \(error)")
                if case .invalid = error { return ExitStatus.badInput }
                return ExitStatus.failure
            } catch {
                progress.finish()
                printError("error: \(options.recipe) seed \(seed): \(error)")
                return ExitStatus.failure
            }
        }
        return ExitStatus.success
    }
}

extension RunTool {
    /// The command that continues a stopped run: the same recipe, seed, output folder and `--set`
    /// overrides (a resume under other overrides is refused: they change the recipe hash).
    /// Points stdout and stderr at `path` (appending; the file and its folder are created), so a
    /// scheduler's job needs no shell redirection into a folder that does not exist yet. Returns
    /// why it could not, or nil.
    static func redirectOutput(to path: String) -> String? {
        let url = URL(fileURLWithPath: path)
        if let reason = makeFolders(url.deletingLastPathComponent()) { return "cannot create its folder: \(reason)" }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        fflush(nil)
        guard dup2(fd, STDOUT_FILENO) >= 0, dup2(fd, STDERR_FILENO) >= 0 else { return String(cString: strerror(errno)) }
        return nil
    }

    public static func resumeCommand(_ options: RunToolOptions, seed: UInt64, output: URL) -> String {
        let tool = URL(fileURLWithPath: CommandLine.arguments.first ?? "dakit").lastPathComponent
        let arguments = [tool, "run", options.recipe, "--seed", String(seed), "--out", output.path]
            + options.overrides.flatMap { ["--set", $0] } + ["--resume"]
        return arguments.map(CompareTool.shellQuoted).joined(separator: " ")
    }
}

/// Progress output: one line rewritten in place on a terminal, plain lines otherwise.
final class ProgressPrinter {
    let interactive: Bool
    let seed: UInt64
    let epochs: Int
    private var totalSteps = 0
    private var stepsPerEpoch = 1
    private var lastLine = ""
    private var lastEpoch: EpochMetrics?
    private let clock = ContinuousClock()
    private var trainingStart: ContinuousClock.Instant?
    private var lastDraw: ContinuousClock.Instant?
    private var startStep = 0

    init(interactive: Bool, seed: UInt64, epochs: Int) {
        self.interactive = interactive
        self.seed = seed
        self.epochs = epochs
    }

    func handle(_ event: RunEvent) {
        switch event {
        case .phase(let text):
            clear()
            print("[seed \(seed)] \(text)")
        case .training(.started(let total, let perEpoch)):
            totalSteps = total
            stepsPerEpoch = max(perEpoch, 1)
            trainingStart = clock.now
        case .training(.epochFinished(let metrics)):
            lastEpoch = metrics
            // Plain output: one line per evaluated epoch (and the last), not one per epoch.
            if !interactive {
                if metrics.sourceAccuracy != nil || metrics.epoch == epochs { print(line(step: nil)) }
            } else {
                draw(step: nil, force: true)
            }
        case .training(.boundary(let epoch, let strategy, let diagnostics)):
            let text = diagnostics.sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value))" }.joined(separator: ", ")
            clear()
            print("[seed \(seed)] epoch \(epoch): \(strategy): \(text)")
        case .training(.cancelled(let step)):
            clear()
            print("[seed \(seed)] stopped after step \(step)")
        case .step(let step):
            if startStep == 0 { startStep = step }
            currentStep = step
            if interactive { draw(step: step, force: false) }
        }
    }

    private func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%.4g", v) }

    private var currentStep = 0

    private func line(step: Int?) -> String {
        if let step { currentStep = step }
        let epoch = lastEpoch?.epoch ?? 0
        var parts = ["epoch \(min(epoch + (step == nil ? 0 : 1), epochs))/\(epochs)"]
        parts.append("step \(currentStep)/\(totalSteps > 0 ? totalSteps : 0)")
        if let start = trainingStart {
            let d = start.duration(to: clock.now)
            let secs = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            if secs > 0 { parts.append(String(format: "%.0f steps/s", Double(currentStep - startStep + 1) / secs)) }
        }
        if let m = lastEpoch {
            if let total = m.losses["total"] { parts.append(String(format: "loss %.4f", total)) }
            let named = m.losses.filter { $0.key != "total" && !$0.key.contains(".") || $0.key == "source.crossEntropy" }
            parts.append(contentsOf: named.sorted { $0.key < $1.key }.map { String(format: "%@ %.4f", $0.key == "source.crossEntropy" ? "ce" : $0.key, $0.value) })
            if let s = m.sourceAccuracy { parts.append(String(format: "acc S %.1f%%", s * 100)) }
            if let t = m.targetAccuracy { parts.append(String(format: "T %.1f%%", t * 100)) }
        }
        return "[seed \(seed)] " + parts.joined(separator: "  ")
    }

    private func draw(step: Int?, force: Bool) {
        let now = clock.now
        if !force, let last = lastDraw, last.duration(to: now) < .milliseconds(100) {
            if let step { currentStep = step }
            return
        }
        lastDraw = now
        let text = line(step: step)
        let padding = max(0, lastLine.count - text.count)
        print("\r" + text + String(repeating: " ", count: padding), terminator: "")
        fflush(nil)
        lastLine = text
    }

    private func clear() {
        guard interactive, !lastLine.isEmpty else { return }
        print("\r" + String(repeating: " ", count: lastLine.count) + "\r", terminator: "")
        lastLine = ""
    }

    func finish() {
        if interactive && !lastLine.isEmpty {
            print("")
            lastLine = ""
        }
    }
}
