import ArgumentParser
import Foundation
import TensorCore

/// The root command: `dakit`, or whatever a user's executable that calls `DAKitCLI.main` is called.
struct DAKitCommand: ParsableCommand {
    /// Computed, not stored: the command name is the running executable's (`CommandLineContext.current.toolName`).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: CommandLineContext.current.toolName,
            abstract: "Domain adaptation in Swift: train on a labelled source, adapt to a shifted target, measure transfer.",
            version: DAKitVersion.string,
            subcommands: [
                DemoCommand.self,
                DataCommand.self,
                WeightsCommand.self,
                BenchCommand.self,
                RunCommand.self,
                CompareCommand.self,
                PredictCommand.self,
                EvaluateCommand.self,
                DivergenceCommand.self,
                StrategiesCommand.self,
                TablesCommand.self,
            ])
    }

    /// Parses and runs a subcommand. Usage errors (unknown option, bad value, failed `validate()`)
    /// exit with status 2 — DAKit's "bad input" — instead of argument-parser's 64, and print one
    /// line like every other error, so that every bad input, on the command line or in a file, gives
    /// the same status and shape.
    static func main(arguments: [String]) -> Never {
        for warning in environmentWarnings() { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            Foundation.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                let message = message(for: error).replacingOccurrences(of: "\n", with: " ")
                let text = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
                let names = configuration.subcommands.compactMap { $0.configuration.commandName }
                let command = arguments.first.flatMap { names.contains($0) ? " \($0)" : nil } ?? ""
                let tool = CommandLineContext.current.toolName
                FileHandle.standardError.write(Data("error: \(text) (see '\(tool)\(command) --help')\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
