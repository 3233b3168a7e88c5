import Adaptation
import ArgumentParser
import Foundation
import NN

/// `dakit strategies [NAME]`: the registered strategies with their options, defaults and papers.
struct StrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strategies",
        abstract: "List the registered adaptation strategies with their options, defaults and papers.",
        discussion: "Recipes name a strategy and may set its options, weight and λ schedule; see Papers.md for the equations.")

    @Argument(help: "Show only this strategy.") var name: String?
    @Flag(help: "One line per strategy (name and summary).") var brief = false

    func run() throws {
        let registry = StrategyRegistry.builtIn
        if let name, registry.entries[name] == nil {
            let hint = closestName(to: name, among: registry.names).map { " (did you mean '\($0)'?)" } ?? ""
            FileHandle.standardError.write(
                Data("dakit strategies: unknown strategy '\(name)'\(hint); known: \(registry.names.joined(separator: ", "))\n".utf8))
            throw ExitCode(2)
        }
        let names = name.map { [$0] } ?? registry.names
        var lines: [String] = []
        for n in names {
            let entry = try registry.entry(named: n)
            if brief {
                lines.append("\(entry.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(entry.summary)")
                continue
            }
            lines.append(entry.name)
            lines.append("  \(entry.summary)")
            lines.append("  paper:    \(entry.paper)")
            lines.append("  weight:   \(entry.defaultWeight)   λ(p): \(StrategiesCommand.describe(entry.defaultSchedule))")
            if entry.options.isEmpty {
                lines.append("  options:  none")
            } else {
                lines.append("  options:")
                let width = entry.options.map(\.name.count).max() ?? 0
                for option in entry.options {
                    let value = option.defaultValue.map { "\($0)" } ?? "(derived)"
                    lines.append("    \(option.name.padding(toLength: width, withPad: " ", startingAt: 0))  = \(value)  — \(option.summary)")
                }
            }
            lines.append("")
        }
        print(lines.joined(separator: "\n"), terminator: brief ? "\n" : "")
    }

    static func describe(_ schedule: WeightSchedule) -> String {
        switch schedule {
        case .constant: return "constant 1"
        case .dannRamp(let gamma): return "2/(1+exp(−\(gamma.formatted())·p)) − 1"
        case .linearRamp(let fraction): return "min(1, p/\(fraction.formatted()))"
        }
    }
}
