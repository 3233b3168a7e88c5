import ArgumentParser
import TensorCore

@main
struct DAKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dakit",
        abstract: "Domain adaptation in Swift: train on a labelled source, adapt to a shifted target, measure transfer.",
        version: DAKitVersion.string,
        subcommands: [
            DemoCommand.self,
            DataCommand.self,
            WeightsCommand.self,
            BenchCommand.self,
            RunCommand.self,
            CompareCommand.self,
            DivergenceCommand.self,
            StrategiesCommand.self,
        ])
}
