import Foundation

extension ResultsTables {
    /// The stability table of a many-task `summary.csv` (`stability FILE.csv`): one row per task, one
    /// column per strategy, each cell the target accuracy mean ± std over the completed seeds in %,
    /// with "n stop(s)" where runs of the cell failed (a non-finite stop or another error) and
    /// "—" where the cell has no completed run. The last column counts the task's failed runs.
    static func stability(csv: String, file: String) throws -> String {
        let rows = parseCSV(csv)
        let needed = ["task", "strategy", "completed_runs", "failed_runs", "target_accuracy_mean", "target_accuracy_std"]
        guard let header = rows.first, needed.allSatisfy(header.contains) else {
            throw Problem(message: "\(file): not a summary.csv (needs \(needed.joined(separator: ", ")))")
        }
        let column = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
        let body = rows.dropFirst().filter { $0.count == header.count }
        var tasks: [String] = [], strategies: [String] = []
        var cells: [String: [String]] = [:]
        for row in body {
            let task = row[column["task"]!], strategy = row[column["strategy"]!]
            if !tasks.contains(task) { tasks.append(task) }
            if !strategies.contains(strategy) { strategies.append(strategy) }
            cells[task + "\u{1}" + strategy] = row
        }
        // Baselines first, then the strategies in the file's order.
        let baselines = ["sourceOnly", "targetOnly"].filter(strategies.contains)
        strategies = baselines + strategies.filter { !baselines.contains($0) }
        func pct(_ text: String) -> String? { Double(text).map { String(format: "%.0f", $0 * 100) } }
        var out = "| task | " + strategies.joined(separator: " | ") + " | failed runs |\n"
        out += "|---|" + String(repeating: "---|", count: strategies.count + 1) + "\n"
        for task in tasks {
            var line: [String] = [task], failedTotal = 0, runsTotal = 0
            for strategy in strategies {
                guard let row = cells[task + "\u{1}" + strategy] else { line.append(""); continue }
                let failed = Int(row[column["failed_runs"]!]) ?? 0, completed = Int(row[column["completed_runs"]!]) ?? 0
                failedTotal += failed
                runsTotal += failed + completed
                var cell = "—"
                if completed > 0, let mean = pct(row[column["target_accuracy_mean"]!]) {
                    cell = mean + (pct(row[column["target_accuracy_std"]!]).map { " ± \($0)" } ?? "")
                }
                if failed > 0 { cell += " (\(failed) stop\(failed == 1 ? "" : "s"))" }
                line.append(cell)
            }
            line.append("\(failedTotal) of \(runsTotal)")
            out += "| " + line.joined(separator: " | ") + " |\n"
        }
        return out
    }
}
