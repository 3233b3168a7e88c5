import Adaptation
import Dispatch
import Foundation

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

    public init(recipe: String, overrides: [String], seed: UInt64, task: String, strategy: String, severity: Double?, output: String) {
        self.recipe = recipe
        self.overrides = overrides
        self.seed = seed
        self.task = task
        self.strategy = strategy
        self.severity = severity
        self.output = output
    }

    /// `dakit run …` arguments (without the executable).
    public var arguments: [String] {
        ["run", recipe, "--seed", String(seed), "--out", output] + overrides.flatMap { ["--set", $0] }
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

    public static func load(_ path: String) throws -> GridFile {
        let url = URL(fileURLWithPath: path)
        let tree = try RecipeTree.load(url, displayName: path)
        let root = try Section(tree, path: "grid")
        try root.checkKeys(["name", "recipes", "sweep", "extra", "seeds", "set"])
        let directory = url.deletingLastPathComponent()
        var grid = GridFile(
            name: try root.string("name") ?? url.deletingPathExtension().lastPathComponent, recipes: [], sweepKey: nil, sweepValues: [], sweepLabel: nil,
            extras: [], seeds: nil, overrides: try root.strings("set") ?? [])
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
            guard let values = try sweep.doubles("values"), !values.isEmpty else { throw RecipeError(sweep.location, "sweep needs 'values': a list of numbers") }
            grid.sweepValues = values.map { $0 == $0.rounded() ? String(Int($0)) : String($0) }
        }
        for item in try root.list("extra") ?? [] {
            let extra = try Section(item, path: "extra task")
            try extra.checkKeys(["task", "set"])
            guard let task = try extra.string("task") else { throw RecipeError(item.location, "an extra task needs a 'task' name") }
            grid.extras.append(Extra(task: task, overrides: try extra.strings("set") ?? []))
        }
        if root.has("seeds") {
            if case .sequence? = root.value("seeds") {
                grid.seeds = try root.ints("seeds", min: 0)!.map { UInt64($0) }
            } else {
                grid.seeds = (0..<(try root.int("seeds", min: 1)!)).map { UInt64($0) }
            }
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
        var seedsOverride: [UInt64]? = options.seeds.map { (0..<UInt64($0)).map { $0 } }
        var common = options.overrides
        var title = "comparison"
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
        }
        guard !recipePaths.isEmpty else { throw ExperimentError.invalid("compare needs recipes or --grid FILE") }
        if options.grid == nil {
            title = recipePaths.count == 1 ? URL(fileURLWithPath: recipePaths[0]).deletingPathExtension().lastPathComponent : "comparison"
        }
        let output = URL(fileURLWithPath: options.output ?? "runs/compare-\(slug(title))")

        // Tasks: each sweep value, then each extra task.
        struct TaskVariant { var suffix: String?; var overrides: [String]; var severity: Double?; var name: String? }
        var variants: [TaskVariant] = sweepValues.map { value in
            guard let value, let key = sweepKey else { return TaskVariant(suffix: nil, overrides: [], severity: nil, name: nil) }
            return TaskVariant(suffix: "\(key.split(separator: ".").last!)=\(value)", overrides: ["\(key)=\(value)"], severity: Double(value), name: nil)
        }
        variants += extras.map { TaskVariant(suffix: nil, overrides: $0.overrides, severity: nil, name: $0.task) }

        var jobs: [ComparisonJob] = []
        for variant in variants {
            var tasksSeen: [String: (recipe: String, overrides: [String], seeds: [UInt64])] = [:]
            var strategiesPerTask: [String: Set<String>] = [:]
            var taskOrder: [String] = []
            for path in recipePaths {
                let baseOverrides = common + variant.overrides
                let recipe = try Recipe.load(URL(fileURLWithPath: path), overrides: baseOverrides, registry: registry, displayName: path)
                let task = variant.name ?? variant.suffix ?? recipe.task
                let overrides = baseOverrides + (task == recipe.task ? [] : ["task=\(task)"])
                let seeds = seedsOverride ?? recipe.seeds
                if tasksSeen[task] == nil {
                    tasksSeen[task] = (path, overrides, seeds)
                    taskOrder.append(task)
                }
                guard !(strategiesPerTask[task]?.contains(recipe.strategyLabel) ?? false) else {
                    throw ExperimentError.invalid("\(path): task '\(task)' already has a recipe with strategy \(recipe.strategyLabel); give recipes distinct tasks (task: …)")
                }
                strategiesPerTask[task, default: []].insert(recipe.strategyLabel)
                for seed in seeds {
                    jobs.append(ComparisonJob(
                        recipe: path, overrides: overrides, seed: seed, task: task, strategy: recipe.strategyLabel, severity: variant.severity,
                        output: output.appendingPathComponent("runs/\(slug(task))/\(slug(recipe.strategyLabel))/seed-\(seed)").path))
                }
            }
            guard options.baselines else { continue }
            for task in taskOrder {
                let (path, overrides, seeds) = tasksSeen[task]!
                for baseline in ["sourceOnly", "targetOnly"] where !(strategiesPerTask[task]?.contains(baseline) ?? false) {
                    guard registry.entries[baseline] != nil || baseline == "sourceOnly" else { continue }
                    let strategyOverride = baseline == "sourceOnly" ? "strategies=[]" : "strategies=[{name: \(baseline)}]"
                    let all = overrides + [strategyOverride]
                    _ = try Recipe.load(URL(fileURLWithPath: path), overrides: all, registry: registry, displayName: path)
                    for seed in seeds {
                        jobs.append(ComparisonJob(
                            recipe: path, overrides: all, seed: seed, task: task, strategy: baseline, severity: variant.severity,
                            output: output.appendingPathComponent("runs/\(slug(task))/\(baseline)/seed-\(seed)").path))
                    }
                }
            }
        }
        return (ComparisonPlan(title: title, sweepKey: sweepKey, sweepLabel: sweepLabel, jobs: jobs), output)
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
                let summary = try collect(URL(fileURLWithPath: directory))
                try finish(summary, output: URL(fileURLWithPath: directory))
                return ExitStatus.success
            }
            let (plan, output) = try plan(options, registry: registry)
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try writeAtomically(try encoder.encode(plan), to: output.appendingPathComponent("plan.json"))
            let executable = executablePath(options.executable)
            if options.planOnly {
                for job in plan.jobs { print(([executable] + job.arguments).map(shellQuoted).joined(separator: " ")) }
                printError("\(plan.jobs.count) runs; plan written to \(output.path)/plan.json; afterwards: \(shellQuoted(executable)) compare --collect \(shellQuoted(output.path))")
                return ExitStatus.success
            }
            let failures = execute(plan.jobs, executable: executable, parallel: max(1, options.jobs))
            let summary = try collect(output)
            try finish(summary, output: output)
            if failures > 0 {
                printError("\(failures) of \(plan.jobs.count) runs failed; see log.txt in their folders under \(output.path)/runs")
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
        let plan = try? JSONDecoder().decode(ComparisonPlan.self, from: Data(contentsOf: planURL))
        let title = plan?.title ?? directory.lastPathComponent
        var severityByFolder: [String: Double?] = [:]
        for job in plan?.jobs ?? [] { severityByFolder[URL(fileURLWithPath: job.output).standardizedFileURL.path] = .some(job.severity) }
        // The plan's sweep value, else (a report the plan does not list) the sweep key in its resolved recipe.
        let runs = reports.map { url, report -> (report: RunReport, severity: Double?) in
            let folder = url.deletingLastPathComponent().standardizedFileURL.path
            let value = severityByFolder[folder] ?? plan?.sweepKey.flatMap { report.resolvedRecipe.value(at: $0)?.number }
            return (report, value)
        }
        return Comparison.summarize(runs, title: title, sweepKey: plan?.sweepKey, sweepLabel: plan?.sweepLabel)
    }

    /// Runs the jobs `parallel` at a time as child processes (`dakit run …`, output in the job's
    /// `log.txt`); jobs whose `report.json` already says `completed` are skipped. Returns the failures.
    static func execute(_ jobs: [ComparisonJob], executable: String, parallel: Int) -> Int {
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var done = 0
            var failures = 0
        }
        let shared = Shared()
        let total = jobs.count
        let clock = ContinuousClock()
        DispatchQueue.concurrentPerform(iterations: min(parallel, max(total, 1))) { _ in
            while true {
                shared.lock.lock()
                let index = shared.next
                shared.next += 1
                shared.lock.unlock()
                guard index < total else { return }
                let job = jobs[index]
                let folder = URL(fileURLWithPath: job.output)
                let reportURL = folder.appendingPathComponent("report.json")
                if let existing = try? RunReport.load(reportURL), existing.status == "completed", existing.seed == job.seed {
                    shared.lock.lock()
                    shared.done += 1
                    print("[\(shared.done)/\(total)] \(job.task) · \(job.strategy) · seed \(job.seed): already done")
                    shared.lock.unlock()
                    continue
                }
                let started = clock.now
                var status: Int32 = -1
                do {
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    let logURL = folder.appendingPathComponent("log.txt")
                    FileManager.default.createFile(atPath: logURL.path, contents: nil)
                    let log = try FileHandle(forWritingTo: logURL)
                    defer { try? log.close() }
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: executable)
                    process.arguments = job.arguments
                    process.standardOutput = log
                    process.standardError = log
                    process.standardInput = FileHandle.nullDevice
                    try process.run()
                    process.waitUntilExit()
                    status = process.terminationStatus
                } catch {
                    printError("cannot start \(executable): \(error)")
                }
                let elapsed = started.duration(to: clock.now)
                let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                let report = try? RunReport.load(reportURL)
                shared.lock.lock()
                shared.done += 1
                if status != 0 { shared.failures += 1 }
                let accuracy = report?.targetAccuracy.map { String(format: "target %.1f%%", $0 * 100) } ?? "no report"
                print("[\(shared.done)/\(total)] \(job.task) · \(job.strategy) · seed \(job.seed): \(status == 0 ? accuracy : "FAILED (exit \(status), see \(job.output)/log.txt)") (\(String(format: "%.1f", secs)) s)")
                fflush(nil)
                shared.lock.unlock()
            }
        }
        return shared.failures
    }
}
