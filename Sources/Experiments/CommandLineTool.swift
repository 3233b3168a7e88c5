import Adaptation
import Foundation

/// The `run` and `compare` commands for a user's own executable, with the user's registry.
///
/// A Swift package that defines its own strategies registers them and hands over the command line:
///
/// ```swift
/// var registry = StrategyRegistry.builtIn
/// registry.register(MyStrategy.entry)
/// exit(CommandLineTool.main(arguments: Array(CommandLine.arguments.dropFirst()), registry: registry))
/// ```
///
/// It accepts the same arguments as `dakit run` and `dakit compare` (`compare` starts this same
/// executable for every run, so the custom strategies are known there too).
public enum CommandLineTool {
    public static let usage = """
        usage: <tool> run RECIPE [--seed N] [--out DIR] [--set key=value ...] [--check] [--resume]
               <tool> compare RECIPE... | --grid FILE [--seeds N] [--jobs N] [--out DIR] [--set key=value ...] [--plan] [--collect DIR] [--no-baselines]
               <tool> strategies
        """

    /// Runs one command; returns the process exit code (0 success, 1 run failed, 2 bad input).
    public static func main(arguments: [String], registry: StrategyRegistry) -> Int32 {
        guard let command = arguments.first else {
            printError(usage)
            return ExitStatus.badInput
        }
        var rest = Array(arguments.dropFirst())
        do {
            switch command {
            case "run":
                var options = RunToolOptions(recipe: "")
                var positional: [String] = []
                while !rest.isEmpty {
                    let arg = rest.removeFirst()
                    switch arg {
                    case "--seed":
                        let v = try value(arg, &rest)
                        guard let seed = UInt64(v) else { throw ExperimentError.invalid("--seed needs a non-negative integer, got '\(v)'") }
                        options.seed = seed
                    case "--out": options.output = try value(arg, &rest)
                    case "--set": options.overrides.append(try value(arg, &rest))
                    case "--check": options.checkOnly = true
                    case "--resume": options.resume = true
                    default:
                        guard !arg.hasPrefix("-") else { throw ExperimentError.invalid("run: unknown option '\(arg)'") }
                        positional.append(arg)
                    }
                }
                guard positional.count == 1 else { throw ExperimentError.invalid("run needs exactly one recipe, got \(positional.count)") }
                options.recipe = positional[0]
                return RunTool.main(options, registry: registry)
            case "compare":
                var options = CompareToolOptions()
                while !rest.isEmpty {
                    let arg = rest.removeFirst()
                    switch arg {
                    case "--grid": options.grid = try value(arg, &rest)
                    case "--seeds":
                        let v = try value(arg, &rest)
                        guard let n = Int(v), n >= 1 else { throw ExperimentError.invalid("--seeds needs a positive integer, got '\(v)'") }
                        options.seeds = n
                    case "--jobs":
                        let v = try value(arg, &rest)
                        guard let n = Int(v), n >= 1 else { throw ExperimentError.invalid("--jobs needs a positive integer, got '\(v)'") }
                        options.jobs = n
                    case "--out": options.output = try value(arg, &rest)
                    case "--set": options.overrides.append(try value(arg, &rest))
                    case "--plan": options.planOnly = true
                    case "--collect": options.collect = try value(arg, &rest)
                    case "--no-baselines": options.baselines = false
                    default:
                        guard !arg.hasPrefix("-") else { throw ExperimentError.invalid("compare: unknown option '\(arg)'") }
                        options.recipes.append(arg)
                    }
                }
                guard options.collect != nil || options.grid != nil || !options.recipes.isEmpty else {
                    throw ExperimentError.invalid("compare needs recipes, --grid FILE or --collect DIR")
                }
                return CompareTool.main(options, registry: registry)
            case "strategies":
                for name in registry.names {
                    let entry = registry.entries[name]!
                    print("\(name): \(entry.summary) [\(entry.paper)]")
                    for option in entry.options {
                        print("    \(option.name) = \(option.defaultValue.map { "\($0)" } ?? "(none)"): \(option.summary)")
                    }
                }
                return ExitStatus.success
            case "-h", "--help", "help":
                print(usage)
                return ExitStatus.success
            default:
                throw ExperimentError.invalid("unknown command '\(command)' (run, compare, strategies)")
            }
        } catch {
            printError("error: \(error)")
            return ExitStatus.badInput
        }
    }

    private static func value(_ option: String, _ rest: inout [String]) throws -> String {
        guard !rest.isEmpty else { throw ExperimentError.invalid("\(option) needs a value") }
        return rest.removeFirst()
    }
}
