import Adaptation
import DAKitCLI

// DAKit's strategies plus ours; then exactly `dakit`'s command line (run, compare, strategies, data, …).
var registry = StrategyRegistry.builtIn
registry.register(MeanMatching.entry)
DAKitCLI.main(registry: registry)
