import Adaptation
import Experiments
import Foundation

// DAKit's strategies plus ours; then the same `run` / `compare` commands as `dakit`.
var registry = StrategyRegistry.builtIn
registry.register(MeanMatching.entry)
exit(CommandLineTool.main(arguments: Array(CommandLine.arguments.dropFirst()), registry: registry))
