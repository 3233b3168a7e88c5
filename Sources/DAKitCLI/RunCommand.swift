import Adaptation
import ArgumentParser
import Experiments
import Foundation

/// `dakit run RECIPE`: train what a recipe describes and write report.json, checkpoint.h5 and summary.txt.
struct RunCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "run",
            abstract: "Run a recipe: build data, model and strategies, train, write report.json, checkpoint.h5 and a summary.",
            discussion: """
                Exit codes: 0 success, 1 the run failed (e.g. a loss became NaN), 2 bad input (a recipe, data file or option; \
                also an output folder that another \(CommandLineContext.current.toolName) process holds), 130 stopped by Ctrl-C or SIGTERM (checkpoint.h5, \
                with weights, optimizer state and progress, is written at the stop step; --resume continues exactly there).
                """)
    }

    @Argument(help: "The recipe (YAML), e.g. Recipes/quickstart.yaml.") var recipe: String
    @Option(help: "Run only this seed (default: every seed the recipe lists).") var seed: UInt64?
    @Option(help: "Output folder (default: the recipe's output/seed-N).") var out: String?
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe value: key.path=value (repeatable).", valueName: "key=value"))
    var overrides: [String] = []
    @Flag(help: "Only validate the recipe (and build its data, model and strategies); do not train.") var check = false
    @Flag(help: "Continue at the step where the run in the output folder stopped (weights, optimizer state, schedules, batch order).") var resume = false
    @Option(help: "Threads for matrix products and DAKit's kernels (default: every core; compare --jobs N gives each run cores/N).") var threads: Int?
    @Option(help: ArgumentHelp("Append everything the run prints to this file (created with its folder); what compare --plan lines use.", valueName: "file"))
    var log: String?
    @Option(help: ArgumentHelp(
        "Plots to draw, comma-separated (learning_curves, features, decision_boundary, confusion; 'none' for none), instead of the recipe's evaluation.plots; the recipe hash stays the same.",
        valueName: "kinds"))
    var plots: String?

    /// `--plots` parsed; nil when not given.
    func plotKinds() throws -> [RunPlots.Kind]? {
        guard let plots else { return nil }
        if plots == "none" { return [] }
        return try plots.split(separator: ",").map { name in
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let kind = RunPlots.Kind(rawValue: trimmed) else {
                throw ValidationError("--plots: unknown plot '\(trimmed)' (known: \(RunPlots.Kind.allCases.map(\.rawValue).joined(separator: ", ")), none)")
            }
            return kind
        }
    }

    func validate() throws {
        if let threads, !(1...1024).contains(threads) { throw ValidationError("--threads must be in 1...1024, got \(threads)") }
        _ = try plotKinds()
    }

    func run() throws {
        let code = RunTool.main(
            RunToolOptions(recipe: recipe, seed: seed, output: out, overrides: overrides, checkOnly: check, resume: resume, threads: threads ?? 0, log: log, plots: try plotKinds()),
            registry: CommandLineContext.current.registry)
        if code != 0 { throw ExitCode(code) }
    }
}
