import Adaptation
import ArgumentParser
import Foundation

/// `dakit strategies [NAME]`: the registered strategies with their options, defaults and papers.
struct StrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strategies",
        abstract: "List the registered adaptation strategies with their options, defaults and papers.",
        discussion: "Recipes name a strategy and may set its options, weight and λ schedule; see Papers.md for the equations.")

    @Argument(help: "Show only this strategy.") var name: String?
    @Flag(help: "One line per strategy (name and summary).") var brief = false

    func run() throws {
        let registry = CommandLineContext.current.registry
        if let name, registry.entries[name] == nil {
            let hint = closestName(to: name, among: registry.names).map { " (did you mean '\($0)'?)" } ?? ""
            FileHandle.standardError.write(
                Data("\(CommandLineContext.current.toolName) strategies: unknown strategy '\(name)'\(hint); known: \(registry.names.joined(separator: ", "))\n".utf8))
            throw ExitCode(2)
        }
        print(registry.documentation(names: name.map { [$0] }, brief: brief), terminator: "")
    }
}
