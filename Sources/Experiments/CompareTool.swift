import Adaptation
import Dispatch
import Foundation
import TensorCore

/// Options of `dakit compare`.
public struct CompareToolOptions: Sendable {
    public var recipes: [String]
    public var grid: String?
    /// Seeds 0..<n for every run (nil: each recipe's own seeds, or the grid's).
    public var seeds: Int?
    public var jobs: Int
    public var output: String?
    public var overrides: [String]
    public var planOnly: Bool
    public var collect: String?
    /// Add source-only and target-only runs per task when the recipes do not include them.
    public var baselines: Bool
    /// The executable that runs one job (`dakit` itself); nil: this process's executable.
    public var executable: String?

    public init(
        recipes: [String] = [], grid: String? = nil, seeds: Int? = nil, jobs: Int = 2, output: String? = nil, overrides: [String] = [],
        planOnly: Bool = false, collect: String? = nil, baselines: Bool = true, executable: String? = nil
    ) {
        self.recipes = recipes
        self.grid = grid
        self.seeds = seeds
        self.jobs = jobs
        self.output = output
        self.overrides = overrides
        self.planOnly = planOnly
        self.collect = collect
        self.baselines = baselines
        self.executable = executable
    }
}

/// One run of a comparison: a recipe with overrides and a seed, and where it writes.
public struct ComparisonJob: Sendable, Codable, Equatable {
    public var recipe: String
    public var overrides: [String]
    public var seed: UInt64
    public var task: String
    public var strategy: String
    public var severity: Double?
    /// Output folder of the run.
    public var output: String
    /// Hash of the recipe with these overrides (`Recipe.hash`): a report in `output` counts for this
    /// job only when it carries the same hash and seed. Nil in plans written before it existed.
    public var recipeHash: String?
    /// `dakit run --plots` for the run (nil: the recipe's plots).
    public var plots: String?

    public init(
        recipe: String, overrides: [String], seed: UInt64, task: String, strategy: String, severity: Double?, output: String, recipeHash: String? = nil,
        plots: String? = nil
    ) {
        self.plots = plots
        self.recipe = recipe
        self.overrides = overrides
        self.seed = seed
        self.task = task
        self.strategy = strategy
        self.severity = severity
        self.output = output
        self.recipeHash = recipeHash
    }

    /// Whether `report` is this job's result: same seed and, where the plan knows it, same recipe hash.
    func matches(_ report: RunReport) -> Bool {
        report.seed == seed && (recipeHash == nil || report.recipeHash == recipeHash)
    }

    /// `dakit run …` arguments (without the executable).
    public var arguments: [String] {
        ["run", recipe, "--seed", String(seed), "--out", output] + overrides.flatMap { ["--set", $0] } + (plots.map { ["--plots", $0] } ?? [])
    }

    /// The run as one self-contained command line (what `compare --plan` prints): the plan's
    /// paths are absolute and the run appends its output to its own `log.txt` (`dakit run --log`),
    /// so the line runs from any directory, under GNU parallel or as a Slurm array task.
    public func commandLine(executable: String) -> String {
        ([executable] + arguments + ["--log", URL(fileURLWithPath: output).appendingPathComponent("log.txt").path]).map(CompareTool.shellQuoted).joined(separator: " ")
    }
}

/// The plan of a comparison: what `--plan` prints and `--collect` reads back (`plan.json`).
public struct ComparisonPlan: Sendable, Codable, Equatable {
    public var title: String
    public var sweepKey: String?
    public var sweepLabel: String?
    public var jobs: [ComparisonJob]

    public init(title: String, sweepKey: String?, sweepLabel: String?, jobs: [ComparisonJob]) {
        self.title = title
        self.sweepKey = sweepKey
        self.sweepLabel = sweepLabel
        self.jobs = jobs
    }
}

/// A grid file: recipes × an optional sweep of one key × extra tasks × seeds.
///
/// ```yaml
/// name: moons-negative-transfer
/// recipes: [moons-sourceOnly.yaml, moons-dann.yaml]   # relative to the grid file
/// sweep: {key: data.rotation, values: [0, 30, 60, 90], label: "rotation (°)"}
/// extra:                                               # tasks outside the sweep
///   - {task: unrelated (permuted labels), set: [data.rotation=0, data.permute_source_labels=true]}
/// seeds: 3                                             # or a list [0, 1, 2]
/// set: [epochs=50]                                     # overrides for every run
/// search: {optimizer.lr: [0.01, 0.1]}                  # variants of every recipe (SearchSpace)
/// ```
public struct GridFile: Sendable {
    public struct Extra: Sendable {
        public var task: String
        public var overrides: [String]
    }
    public var name: String
    public var recipes: [String]
    public var sweepKey: String?
    public var sweepValues: [String]
    public var sweepLabel: String?
    public var extras: [Extra]
    public var seeds: [UInt64]?
    public var overrides: [String]
    /// Hyper-parameter configurations run as variants of every recipe (`SearchSpace`).
    public var search: SearchSpace?

    public static func load(_ path: String) throws -> GridFile {
        let url = URL(fileURLWithPath: path)
        let tree = try RecipeTree.load(url, displayName: path)
        let root = try Section(tree, path: "grid")
        try root.checkKeys(["name", "recipes", "sweep", "extra", "seeds", "set", "search"])
        let directory = url.deletingLastPathComponent()
        var grid = GridFile(
            name: try root.string("name") ?? url.deletingPathExtension().lastPathComponent, recipes: [], sweepKey: nil, sweepValues: [], sweepLabel: nil,
            extras: [], seeds: nil, overrides: try root.strings("set") ?? [], search: try root.value("search").map(SearchSpace.parse))
        guard let recipes = try root.strings("recipes"), !recipes.isEmpty else {
            throw RecipeError(root.location, "a grid needs 'recipes': a list of recipe files")
        }
        for (i, recipe) in recipes.enumerated() {
            let candidates = recipe.hasPrefix("/") ? [recipe] : [directory.appendingPathComponent(recipe).relativePath, recipe]
            guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw RecipeError(root.elementLocation("recipes", i), "recipe '\(recipe)' does not exist (looked next to the grid file and in the working directory)")
            }
            grid.recipes.append(URL(fileURLWithPath: found).standardizedFileURL.relativePath(from: FileManager.default.currentDirectoryPath))
        }
        if let sweep = try root.section("sweep") {
            try sweep.checkKeys(["key", "values", "label"])
            guard let key = try sweep.string("key") else { throw RecipeError(sweep.location, "sweep needs a 'key' (e.g. data.rotation)") }
            grid.sweepKey = key
            grid.sweepLabel = try sweep.string("label") ?? key
            guard let values = try sweep.doubles("values", .closed(-1e9, 1e9), count: 1...1000), !values.isEmpty else { throw RecipeError(sweep.location, "sweep needs 'values': a list of numbers") }
            grid.sweepValues = values.map { $0 == $0.rounded() ? String(Int($0)) : String($0) }
        }
        for item in try root.list("extra") ?? [] {
            let extra = try Section(item, path: "extra task")
            try extra.checkKeys(["task", "set"])
            guard let task = try extra.string("task") else { throw RecipeError(item.location, "an extra task needs a 'task' name") }
            grid.extras.append(Extra(task: task, overrides: try extra.strings("set") ?? []))
        }
        if case .sequence? = root.value("seeds") {
            grid.seeds = try root.ints("seeds", 0...Int.max, count: 1...10_000)?.map { UInt64($0) }
        } else if let count = try root.int("seeds", 1...10_000) {
            grid.seeds = (0..<count).map { UInt64($0) }
        }
        return grid
    }
}

extension URL {
    /// This path relative to `base` when it lies below it, else absolute.
    func relativePath(from base: String) -> String {
        let full = standardizedFileURL.path
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return full.hasPrefix(prefix) ? String(full.dropFirst(prefix.count)) : full
    }
}

/// `dakit compare`: plan, run in parallel processes, collect and summarise.
public enum CompareTool {
    static func slug(_ s: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+=")
        let mapped = String(s.map { allowed.contains($0) ? $0 : "-" })
        return mapped.split(separator: "-", omittingEmptySubsequences: true).joined(separator: "-")
    }

    /// The jobs of a comparison; validates every recipe (with its overrides) first.
    public static func plan(_ options: CompareToolOptions, registry: StrategyRegistry) throws -> (ComparisonPlan, URL) {
        var recipePaths = options.recipes
        var sweepKey: String?
        var sweepLabel: String?
        var sweepValues: [String?] = [nil]
        var extras: [GridFile.Extra] = []
        if let n = options.seeds, !(1...10_000).contains(n) { throw ExperimentError.invalid("--seeds must be in 1...10000, got \(n)") }
        guard (1...1024).contains(options.jobs) else { throw ExperimentError.invalid("--jobs must be in 1...1024, got \(options.jobs)") }
        var seedsOverride: [UInt64]? = options.seeds.map { (0..<UInt64($0)).map { $0 } }
        var common = options.overrides
        var title = "comparison"
        var searchSpace: SearchSpace?
        if let gridPath = options.grid {
            let grid = try GridFile.load(gridPath)
            recipePaths += grid.recipes
            sweepKey = grid.sweepKey
            sweepLabel = grid.sweepLabel
            if grid.sweepKey != nil { sweepValues = grid.sweepValues }
            extras = grid.extras
            if seedsOverride == nil { seedsOverride = grid.seeds }
            common = grid.overrides + common
            title = grid.name
            searchSpace = grid.search
        }
        guard !recipePaths.isEmpty else { throw ExperimentError.invalid("compare needs recipes or --grid FILE") }
        if options.grid == nil {
            title = recipePaths.count == 1 ? URL(fileURLWithPath: recipePaths[0]).deletingPathExtension().lastPathComponent : "comparison"
        }
        // Absolute paths in the plan: its lines (and plan.json) work from any directory.
        let output = URL(fileURLWithPath: options.output ?? "runs/compare-\(slug(title))").standardizedFileURL

        // Tasks: each sweep value, then each extra task.
        struct TaskVariant { var suffix: String?; var overrides: [String]; var severity: Double?; var name: String? }
        var variants: [TaskVariant] = sweepValues.map { value in
            guard let value, let key = sweepKey else { return TaskVariant(suffix: nil, overrides: [], severity: nil, name: nil) }
            return TaskVariant(suffix: "\(key.split(separator: ".").last!)=\(value)", overrides: ["\(key)=\(value)"], severity: Double(value), name: nil)
        }
        variants += extras.map { TaskVariant(suffix: nil, overrides: $0.overrides, severity: nil, name: $0.task) }

        var jobs: [ComparisonJob] = []
        let configurations = searchSpace?.configurations() ?? [[]]
        for variant in variants {
            var tasksSeen: [String: (recipe: String, overrides: [String], seeds: [UInt64])] = [:]
            var taskOrder: [String] = []
            // Every recipe × search configuration of this task variant, before labelling.
            struct Candidate { var path: String; var overrides: [String]; var task: String; var strategy: String; var recipe: Recipe; var seeds: [UInt64] }
            var candidates: [Candidate] = []
            for path in recipePaths {
                for configuration in configurations {
                    let baseOverrides = common + variant.overrides
                    let recipe = try Recipe.load(URL(fileURLWithPath: path), overrides: baseOverrides + configuration, registry: registry, displayName: path)
                    let task = variant.name ?? variant.suffix ?? recipe.task
                    let taskOverride = task == recipe.task ? [] : ["task=\(task)"]
                    let overrides = baseOverrides + configuration + taskOverride
                    let hashed = task == recipe.task
                        ? recipe : try Recipe.load(URL(fileURLWithPath: path), overrides: overrides, registry: registry, displayName: path)
                    let seeds = seedsOverride ?? recipe.seeds
                    if tasksSeen[task] == nil {
                        // Baselines take the task's overrides, not a search configuration.
                        tasksSeen[task] = (path, baseOverrides + taskOverride, seeds)
                        taskOrder.append(task)
                    }
                    if let twin = candidates.first(where: { $0.task == task && $0.recipe.hash == hashed.hash }) {
                        throw ExperimentError.invalid(
                            "\(path): task '\(task)' already has this exact configuration (from \(twin.path)\(twin.overrides.isEmpty ? "" : " with " + twin.overrides.joined(separator: " "))); "
                                + "give the recipes distinct tasks (task: …) or settings")
                    }
                    candidates.append(Candidate(path: path, overrides: overrides, task: task, strategy: hashed.strategyLabel, recipe: hashed, seeds: seeds))
                }
            }
            // Variants of one strategy on one task are labelled by the values in which they differ.
            var labels = candidates.map(\.strategy)
            var groups: [String: [Int]] = [:]
            for (i, c) in candidates.enumerated() { groups[c.task + "\u{1}" + c.strategy, default: []].append(i) }
            for indices in groups.values where indices.count > 1 {
                let named = ComparisonLabels.labels(strategy: candidates[indices[0]].strategy, resolved: indices.map { candidates[$0].recipe.resolved })
                for (i, label) in zip(indices, named) { labels[i] = label }
            }
            for (c, label) in zip(candidates, labels) {
                for seed in c.seeds {
                    jobs.append(ComparisonJob(
                        recipe: URL(fileURLWithPath: c.path).standardizedFileURL.path, overrides: c.overrides, seed: seed, task: c.task, strategy: label,
                        severity: variant.severity,
                        output: output.appendingPathComponent("runs/\(slug(c.task))/\(slug(label))/seed-\(seed)").path, recipeHash: c.recipe.hash))
                }
            }
            guard options.baselines else { continue }
            for task in taskOrder {
                let (path, overrides, seeds) = tasksSeen[task]!
                let present = Set(candidates.filter { $0.task == task }.map(\.strategy))
                jobs += try baselineJobs(
                    task: task, path: path, overrides: overrides, seeds: seeds, present: present, severity: variant.severity,
                    output: output, registry: registry)
            }
        }
        // Compare runs skip the feature plot unless the recipe or an override asks for plots.
        for i in jobs.indices where try !namesPlots(jobs[i]) { jobs[i].plots = comparePlots }
        return (ComparisonPlan(title: title, sweepKey: sweepKey, sweepLabel: sweepLabel, jobs: jobs), output)
    }

    /// The plots of a compare run unless its recipe or an override names `evaluation.plots`: all
    /// but the feature plot, whose two t-SNE embeddings cost several times a small run (a moons
    /// run: 0.5 s CPU without, 2.6 s with). A single `dakit run` draws all four.
    static let comparePlots = "learning_curves,confusion,decision_boundary"

    /// Whether the job's recipe file or overrides set `evaluation.plots`.
    static func namesPlots(_ job: ComparisonJob) throws -> Bool {
        if job.overrides.contains(where: { $0.hasPrefix("evaluation.plots=") || $0.hasPrefix("evaluation=") }) { return true }
        return try RecipeTree.load(URL(fileURLWithPath: job.recipe), displayName: job.recipe).value(at: "evaluation.plots") != nil
    }

    /// Source-only and target-only runs of `task` that its recipes do not already have. A phased
    /// recipe's baselines drop its `phases` (`phases=null`): they train with the top-level keys, i.e.
    /// its first, source phase, instead of running a later phase's strategy under a baseline's label.
    static func baselineJobs(
        task: String, path: String, overrides: [String], seeds: [UInt64], present: Set<String>, severity: Double?, output: URL,
        registry: StrategyRegistry
    ) throws -> [ComparisonJob] {
        var jobs: [ComparisonJob] = []
        let phased = try !Recipe.load(URL(fileURLWithPath: path), overrides: overrides, registry: registry, displayName: path).phases.isEmpty
        for baseline in ["sourceOnly", "targetOnly"] where !present.contains(baseline) {
            guard registry.entries[baseline] != nil || baseline == "sourceOnly" else { continue }
            let strategyOverride = baseline == "sourceOnly" ? "strategies=[]" : "strategies=[{name: \(baseline)}]"
            let all = overrides + (phased ? ["phases=null"] : []) + [strategyOverride]
            let hash = try Recipe.load(URL(fileURLWithPath: path), overrides: all, registry: registry, displayName: path).hash
            for seed in seeds {
                jobs.append(ComparisonJob(
                    recipe: URL(fileURLWithPath: path).standardizedFileURL.path, overrides: all, seed: seed, task: task, strategy: baseline, severity: severity,
                    output: output.appendingPathComponent("runs/\(slug(task))/\(baseline)/seed-\(seed)").path, recipeHash: hash))
            }
        }
        return jobs
    }

    /// Quotes an argument for a POSIX shell when needed.
    static func shellQuoted(_ s: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=+:,@%")
        return !s.isEmpty && s.allSatisfy(safe.contains) ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    static func executablePath(_ given: String?) -> String {
        if let given { return given }
        #if os(Linux)
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return resolved }
        #endif
        return Bundle.main.executableURL?.path ?? CommandLine.arguments[0]
    }

    public static func main(_ options: CompareToolOptions, registry: StrategyRegistry) -> Int32 {
        do {
            if let directory = options.collect {
                let folder = URL(fileURLWithPath: directory)
                let lock = try OutputLock.acquire(folder)
                defer { lock.release() }
                let summary = try collect(folder)
                try finish(summary, output: folder)
                return ExitStatus.success
            }
            let (plan, output) = try plan(options, registry: registry)
            let lock = try OutputLock.acquire(output)
            defer { lock.release() }
            try writeAtomically(try ResultJSON.encoder().encode(plan), to: output.appendingPathComponent("plan.json"))
            let executable = executablePath(options.executable)
            if options.planOnly {
                let absolute = URL(fileURLWithPath: executable).standardizedFileURL.path
                for job in plan.jobs { print(job.commandLine(executable: absolute)) }
                printError("\(plan.jobs.count) runs; plan written to \(output.path)/plan.json; afterwards: \(shellQuoted(executable)) compare --collect \(shellQuoted(output.path))")
                return ExitStatus.success
            }
            let interrupt = InterruptFlag(message: "stopping: the running jobs save and stop after their current step (press Ctrl-C again to quit at once)")
            let outcome = execute(plan.jobs, executable: executable, parallel: max(1, options.jobs), interrupt: interrupt)
            if outcome.interrupted {
                // The partial summary of what finished, then the interrupt's exit status.
                if let summary = try? collect(output) { try finish(summary, output: output) }
                printError("interrupted: \(outcome.completed) of \(plan.jobs.count) runs complete; run the same command again to continue (stopped runs resume)")
                return ExitStatus.interrupted
            }
            let summary = try collect(output)
            try finish(summary, output: output)
            if outcome.failures > 0 {
                printError("\(outcome.failures) of \(plan.jobs.count) runs failed; see log.txt in their folders under \(output.path)/runs")
                return ExitStatus.failure
            }
            return ExitStatus.success
        } catch let error as RecipeError {
            printError("error: \(error)")
            return ExitStatus.badInput
        } catch let error as ExperimentError {
            printError("error: \(error)")
            if case .invalid = error { return ExitStatus.badInput }
            return ExitStatus.failure
        } catch {
            printError("error: \(error)")
            return ExitStatus.failure
        }
    }

    static func finish(_ summary: ComparisonSummary, output: URL) throws {
        let files = try summary.write(to: output)
        print(summary.markdown)
        print("wrote " + files.map { $0.lastPathComponent }.joined(separator: ", ") + " in \(output.path)")
    }

    /// Aggregates every report under `directory`; the sweep comes from `plan.json` when present.
    public static func collect(_ directory: URL) throws -> ComparisonSummary {
        let reports = try Comparison.collectReports(in: directory)
        guard !reports.isEmpty else { throw ExperimentError.invalid("\(directory.path): no report.json found below it") }
        let planURL = directory.appendingPathComponent("plan.json")
        let plan = try? ResultJSON.decoder().decode(ComparisonPlan.self, from: Data(contentsOf: planURL))
        let title = plan?.title ?? directory.lastPathComponent
        var severityByFolder: [String: Double?] = [:]
        for job in plan?.jobs ?? [] { severityByFolder[URL(fileURLWithPath: job.output).standardizedFileURL.path] = .some(job.severity) }
        var jobByFolder: [String: ComparisonJob] = [:]
        for job in plan?.jobs ?? [] { jobByFolder[URL(fileURLWithPath: job.output).standardizedFileURL.path] = job }
        // A report in a planned run's folder counts only when it is that run's (same recipe hash and
        // seed): a folder left from an earlier recipe or other overrides is never shown as this one.
        var stale: [String] = []
        let current = reports.filter { url, report in
            let folder = url.deletingLastPathComponent().standardizedFileURL.path
            guard let job = jobByFolder[folder], !job.matches(report) else { return true }
            stale.append(url.deletingLastPathComponent().relativePath(from: directory.standardizedFileURL.path))
            return false
        }
        if !stale.isEmpty {
            printError("left out \(stale.count) report(s) from another recipe, override or seed than plan.json names: \(stale.prefix(3).joined(separator: ", "))\(stale.count > 3 ? ", …" : "")")
        }
        guard !current.isEmpty else { throw ExperimentError.invalid("\(directory.path): no report.json of this plan's runs found below it") }
        // The plan's sweep value, else (a report the plan does not list) the sweep key in its resolved recipe.
        let runs = current.map { url, report -> (report: RunReport, severity: Double?) in
            let folder = url.deletingLastPathComponent().standardizedFileURL.path
            let value = severityByFolder[folder] ?? plan?.sweepKey.flatMap { report.resolvedRecipe.value(at: $0)?.number }
            // The plan's label: a variant of a strategy (search, or two recipes) is its own row.
            var labelled = report
            if let job = jobByFolder[folder] { labelled.strategy = job.strategy }
            return (labelled, value)
        }
        return Comparison.summarize(runs, title: title, sweepKey: plan?.sweepKey, sweepLabel: plan?.sweepLabel)
    }

    /// What `execute` did.
    struct Outcome {
        var failures = 0
        var completed = 0
        var interrupted = false
    }

    /// How a job should start, from what its folder holds: skip it (a completed report of the
    /// same recipe hash and seed), resume it (a checkpoint of the same hash and seed that did not
    /// finish), or run it from the start (say why when the folder held another recipe's run).
    static func startMode(_ job: ComparisonJob) -> (skip: Bool, resume: Bool, note: String?) {
        let folder = URL(fileURLWithPath: job.output)
        let report = try? RunReport.load(folder.appendingPathComponent("report.json"))
        if let report, report.status == "completed", job.matches(report) { return (true, false, nil) }
        let saved = RunCheckpoint.identity(folder.appendingPathComponent("checkpoint.h5"))
        if let saved, saved.recipeHash == (job.recipeHash ?? saved.recipeHash), saved.seed == job.seed, !saved.finished {
            return (false, true, "resuming at step \(saved.step)")
        }
        if let report, !job.matches(report) {
            return (false, false, "the folder held recipe \(report.recipeHash) seed \(report.seed), this run is \(job.recipeHash ?? "?") seed \(job.seed): running again")
        }
        return (false, false, nil)
    }

    /// The `dakit run` process of `job`, its output appended to the job's `log.txt` (not started).
    /// `threads`: the run's `--threads` (0: none passed, the run takes every core).
    static func makeProcess(_ job: ComparisonJob, executable: String, resume: Bool, threads: Int = 0) throws -> Process {
        let folder = URL(fileURLWithPath: job.output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let logURL = folder.appendingPathComponent("log.txt")
        if !resume || !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logURL)
        _ = try? log.seekToEnd()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = job.arguments + (resume ? ["--resume"] : []) + (threads > 0 ? ["--threads", String(threads)] : [])
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        return process
    }

    /// Runs the jobs `parallel` at a time as child processes (`dakit run …`, output in the job's
    /// `log.txt`); a job whose folder holds its completed report is skipped, one whose folder holds
    /// its unfinished checkpoint resumes. An interrupt (Ctrl-C, SIGTERM) is forwarded to the
    /// running children, which save and stop; no new job starts, and `execute` waits for them.
    static func execute(_ jobs: [ComparisonJob], executable: String, parallel: Int, interrupt: InterruptFlag? = nil) -> Outcome {
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var done = 0
            var outcome = Outcome()
            var running: [Int: Process] = [:]
        }
        let shared = Shared()
        interrupt?.install {
            shared.lock.lock()
            for process in shared.running.values where process.isRunning { process.interrupt() }
            shared.lock.unlock()
        }
        let total = jobs.count
        let clock = ContinuousClock()
        // The thread budget: `parallel` runs at a time share the cores, each with cores/parallel
        // threads for its products and kernels (rather than each starting a thread per core).
        let runsAtOnce = min(parallel, max(total, 1))
        let threadsPerRun = max(1, ParallelKernels.availableCores / runsAtOnce)
        DispatchQueue.concurrentPerform(iterations: runsAtOnce) { _ in
            while true {
                shared.lock.lock()
                let index = shared.next
                shared.next += 1
                let stopping = interrupt?.isRaised ?? false
                shared.lock.unlock()
                guard index < total, !stopping else { return }
                let job = jobs[index]
                let folder = URL(fileURLWithPath: job.output)
                let reportURL = folder.appendingPathComponent("report.json")
                let mode = startMode(job)
                if mode.skip {
                    shared.lock.lock()
                    shared.done += 1
                    shared.outcome.completed += 1
                    print("[\(shared.done)/\(total)] \(job.task) · \(job.strategy) · seed \(job.seed): already done")
                    shared.lock.unlock()
                    continue
                }
                if let note = mode.note {
                    shared.lock.lock()
                    print("[\(job.task) · \(job.strategy) · seed \(job.seed)] \(note)")
                    shared.lock.unlock()
                }
                let started = clock.now
                var status: Int32 = -1
                do {
                    let process = try makeProcess(job, executable: executable, resume: mode.resume, threads: threadsPerRun)
                    shared.lock.lock()
                    defer { shared.lock.unlock() }
                    guard !(interrupt?.isRaised ?? false) else { return }
                    try process.run()
                    shared.running[index] = process
                } catch {
                    printError("cannot start \(executable): \(error)")
                }
                if let process = (shared.lock.withLock { shared.running[index] }) {
                    process.waitUntilExit()
                    status = process.terminationStatus
                }
                let elapsed = started.duration(to: clock.now)
                let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                let report = try? RunReport.load(reportURL)
                shared.lock.lock()
                shared.running[index] = nil
                shared.done += 1
                let stopped = status == ExitStatus.interrupted
                if stopped { shared.outcome.interrupted = true } else if status != 0 { shared.outcome.failures += 1 } else { shared.outcome.completed += 1 }
                let accuracy = report?.targetAccuracy.map { String(format: "target %.1f%%", $0 * 100) } ?? "no report"
                let what = status == 0 ? accuracy : stopped ? "stopped; resumes on the next compare" : "FAILED (exit \(status), see \(job.output)/log.txt)"
                print("[\(shared.done)/\(total)] \(job.task) · \(job.strategy) · seed \(job.seed): \(what) (\(String(format: "%.1f", secs)) s)")
                fflush(nil)
                shared.lock.unlock()
            }
        }
        if interrupt?.isRaised ?? false { shared.outcome.interrupted = true }
        return shared.outcome
    }
}
