import ArgumentParser
import Foundation
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

    /// Parses and runs a subcommand. Usage errors (unknown option, bad value, failed `validate()`)
    /// exit with status 2 — DAKit's "bad input" — instead of argument-parser's 64, and print one
    /// line like every other error, so that every bad input, on the command line or in a file, gives
    /// the same status and shape.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                let message = message(for: error).replacingOccurrences(of: "\n", with: " ")
                let text = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
                let names = configuration.subcommands.compactMap { $0.configuration.commandName }
                let command = CommandLine.arguments.dropFirst().first.flatMap { names.contains($0) ? " \($0)" : nil } ?? ""
                FileHandle.standardError.write(Data("error: \(text) (see 'dakit\(command) --help')\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
