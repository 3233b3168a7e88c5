import ArgumentParser
import Experiments
import Foundation

/// `dakit tables FILE…`: regenerates the tables marked `<!-- table: KIND FILE -->` in Markdown
/// files (README.md, Papers.md) from the committed result files they name (`ResultsTables`).
struct TablesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tables",
        abstract: "Regenerate the result tables in Markdown files from the committed result files.",
        discussion: """
            A table between <!-- table: KIND FILE --> and <!-- /table --> is rewritten from FILE (relative to the \
            repository root): KIND accuracy, strategies or stability (a summary.csv), selection or transfer (a summary.json), peers (a \
            folder with skada.csv and dakit-DATASET/summary.csv, Benchmarks/peers/results). With --check \
            nothing is written and the exit status is 1 when a table is stale.
            """)

    @Argument(help: "Markdown files (default: README.md Papers.md).") var files: [String] = []
    @Option(help: "Repository root the marked paths are relative to.") var root: String = "."
    @Flag(help: "Only check: exit 1 when a table differs from what its file gives.") var check = false

    func run() throws {
        let root = URL(fileURLWithPath: root)
        var stale: [String] = []
        for path in files.isEmpty ? ["README.md", "Papers.md"] : files {
            let url = URL(fileURLWithPath: path)
            let text: String
            let updated: String
            do {
                text = try String(contentsOf: url, encoding: .utf8)
                updated = try ResultsTables.update(text, root: root)
            } catch {
                FileHandle.standardError.write(Data("error: \(path): \(error)\n".utf8))
                throw ExitCode(2)
            }
            guard updated != text else { continue }
            stale.append(path)
            if !check {
                try writeAtomically(Data(updated.utf8), to: url)
                print("updated the tables in \(path)")
            }
        }
        if check && !stale.isEmpty {
            FileHandle.standardError.write(Data("stale tables in \(stale.joined(separator: ", ")); run: dakit tables \(stale.joined(separator: " "))\n".utf8))
            throw ExitCode(1)
        }
    }
}
