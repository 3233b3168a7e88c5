import Adaptation
import Foundation

/// DAKit's command line (`run`, `compare`, `strategies`, `data`, `weights`, `divergence`, `bench`,
/// `demo`) as a library: the `dakit` executable is one call to `main(registry:)`, and so is a user's
/// package that registers strategies of its own:
///
/// ```swift
/// var registry = StrategyRegistry.builtIn
/// registry.register(MyStrategy.entry)
/// DAKitCLI.main(registry: registry)
/// ```
///
/// The executable gets exactly `dakit`'s commands, help, version and exit codes (0 success, 1 a run
/// failed, 2 bad input, 130 stopped), under its own name; `compare` starts this same executable for
/// every run, so the registered strategies are known there too.
public enum DAKitCLI {
    /// Parses `CommandLine.arguments`, runs the command and exits with its status.
    public static func main(registry: StrategyRegistry) -> Never {
        let toolName = URL(fileURLWithPath: CommandLine.arguments.first ?? "dakit").lastPathComponent
        let context = CommandLineContext(registry: registry, toolName: toolName)
        CommandLineContext.$current.withValue(context) {
            DAKitCommand.main(arguments: Array(CommandLine.arguments.dropFirst()))
        }
    }
}

/// What one invocation of the command line works with: the strategies it knows and the name it is
/// called by. ArgumentParser builds the commands from the arguments, so a command cannot be handed
/// a value; `DAKitCLI.main` binds this task-local for the parse and the run instead (no global that
/// anyone can set).
struct CommandLineContext: @unchecked Sendable {
    // @unchecked: `StrategyRegistry` holds factory closures that are not marked Sendable. The
    // context is immutable, and the commands run on the thread that called `DAKitCLI.main`.

    let registry: StrategyRegistry
    /// The executable's own name (`dakit`, `custom-dakit`), for usage lines and messages.
    let toolName: String

    @TaskLocal static var current = CommandLineContext(registry: .builtIn, toolName: "dakit")
}
