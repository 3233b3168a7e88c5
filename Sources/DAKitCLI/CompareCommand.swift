import Adaptation
import ArgumentParser
import Experiments
import Foundation

/// `dakit compare`: run recipes × strategies × seeds in parallel processes and summarise them.
struct CompareCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "compare",
            abstract: "Run recipes (or a grid) over seeds in parallel processes; write summary.md/.csv/.json and SVG plots.",
            discussion: """
                Every recipe × sweep value × seed becomes one `\(CommandLineContext.current.toolName) run` in its own process; source-only and target-only \
                baselines are added per task. --plan prints one self-contained command per run (for a Slurm job array or GNU \
                parallel) and --collect DIR aggregates finished runs. Results are keyed by recipe hash (overrides included) and \
                seed: a run whose folder holds its completed report is skipped, one stopped early resumes, anything else runs \
                again. Ctrl-C is passed on to the running runs, which save and stop (exit 130; the same command continues).
                """)
    }

    @Argument(help: "Recipes to compare (each names its strategies).") var recipes: [String] = []
    @Option(help: "A grid file: recipes, a sweep of one key, extra tasks, seeds.") var grid: String?
    @Option(help: "Seeds 0..<N for every run (default: the recipe's or grid's seeds).") var seeds: Int?
    @Option(help: "Runs at a time.") var jobs: Int = 2
    @Option(help: "Output folder (default: runs/compare-<name>).") var out: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a value in every recipe: key.path=value (repeatable).", valueName: "key=value"))
    var overrides: [String] = []
    @Flag(help: "Print one command per run instead of running them (and write plan.json).") var plan = false
    @Option(help: "Only aggregate the finished runs in this folder.") var collect: String?
    @Flag(inversion: .prefixedNo, help: "Add source-only and target-only runs per task.") var baselines = true

    func validate() throws {
        if collect == nil && grid == nil && recipes.isEmpty { throw ValidationError("give recipes, --grid FILE or --collect DIR") }
        if let seeds, !(1...10_000).contains(seeds) { throw ValidationError("--seeds must be in 1...10000, got \(seeds)") }
        if !(1...1024).contains(jobs) { throw ValidationError("--jobs must be in 1...1024, got \(jobs)") }
    }

    func run() throws {
        let code = CompareTool.main(
            CompareToolOptions(
                recipes: recipes, grid: grid, seeds: seeds, jobs: jobs, output: out, overrides: overrides, planOnly: plan, collect: collect,
                baselines: baselines),
            registry: CommandLineContext.current.registry)
        if code != 0 { throw ExitCode(code) }
    }
}
