import Foundation

/// Tables in README.md and Papers.md generated from committed result files, so that no number
/// there is typed by hand (`dakit tables`; a test fails when a table is stale).
///
/// A generated table sits between two markers naming its kind and its source file (relative to
/// the repository root):
///
/// ```
/// <!-- table: accuracy Recipes/results/moons-negative-transfer.csv -->
/// | strategy | 0° | … |
/// <!-- /table -->
/// ```
///
/// Kinds:
/// - `accuracy FILE.csv` (a `summary.csv`): one row per strategy, one column per task, the mean
///   target accuracy in %, ▲/▼ where it is more than half a point above/below source-only;
/// - `strategies FILE.csv` (a one-task `summary.csv`): one row per strategy, target accuracy
///   mean ± std over seeds, source accuracy, gain over source-only and NTG;
/// - `selection FILE.json` (a `summary.json`): per selection rule, the mean over tasks of the
///   seed-by-seed regret against the oracle and of the rank correlation ρ, and on how many of the
///   (task, seed) picks it reached the oracle's accuracy;
/// - `transfer FILE.json`: per adapted strategy, the mean over tasks of the target accuracy of
///   always adapting, never adapting and the DEV-guarded choice.
public enum ResultsTables {
    public struct Problem: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// `text` with every marked table regenerated from its file under `root`.
    public static func update(_ text: String, root: URL) throws -> String {
        var out: [Substring] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)[...]
        while let line = lines.popFirst() {
            out.append(line)
            guard line.hasPrefix("<!-- table: "), line.hasSuffix(" -->") else { continue }
            let spec = line.dropFirst("<!-- table: ".count).dropLast(" -->".count).split(separator: " ", maxSplits: 1).map(String.init)
            guard spec.count == 2 else { throw Problem(message: "bad table marker '\(line)': expected <!-- table: KIND FILE -->") }
            guard let end = lines.firstIndex(where: { $0 == "<!-- /table -->" }) else {
                throw Problem(message: "table marker '\(line)' has no <!-- /table --> after it")
            }
            let table = try render(kind: spec[0], file: root.appendingPathComponent(spec[1]))
            out.append(contentsOf: table.split(separator: "\n", omittingEmptySubsequences: false).dropLast())
            lines = lines[end...]
        }
        return out.joined(separator: "\n")
    }

    public static func render(kind: String, file: URL) throws -> String {
        guard let data = try? Data(contentsOf: file) else { throw Problem(message: "\(file.path): cannot read the table's source") }
        switch kind {
        case "accuracy": return try accuracy(csv: String(decoding: data, as: UTF8.self), file: file.path)
        case "strategies": return try strategies(csv: String(decoding: data, as: UTF8.self), file: file.path)
        case "selection", "transfer":
            let summary: ComparisonSummary
            do {
                summary = try ResultJSON.decoder().decode(ComparisonSummary.self, from: data)
            } catch {
                throw Problem(message: "\(file.path): not a comparison summary.json (\(error))")
            }
            return kind == "selection" ? selection(summary) : transfer(summary)
        default: throw Problem(message: "unknown table kind '\(kind)' (known: accuracy, strategies, selection, transfer)")
        }
    }

    // MARK: Kinds

    static func accuracy(csv: String, file: String) throws -> String {
        let rows = parseCSV(csv)
        guard let header = rows.first, let task = header.firstIndex(of: "task"), let strategy = header.firstIndex(of: "strategy"),
            let mean = header.firstIndex(of: "target_accuracy_mean")
        else { throw Problem(message: "\(file): not a summary.csv (needs task, strategy, target_accuracy_mean)") }
        let severity = header.firstIndex(of: "severity")
        var tasks: [String] = [], strategies: [String] = [], labels: [String: String] = [:], values: [String: Double] = [:]
        for row in rows.dropFirst() where row.count == header.count {
            let (t, s) = (row[task], row[strategy])
            if !tasks.contains(t) { tasks.append(t) }
            if !strategies.contains(s) { strategies.append(s) }
            if let severity, let v = Double(row[severity]) {
                labels[t] = (v == v.rounded() ? String(Int(v)) : String(v)) + "°"
            } else {
                labels[t] = t.components(separatedBy: " (").first ?? t
            }
            values[t + "\u{1}" + s] = Double(row[mean])
        }
        var out = "| strategy | " + tasks.map { labels[$0]! }.joined(separator: " | ") + " |\n"
        out += "|---|" + tasks.map { _ in "---|" }.joined() + "\n"
        for s in strategies {
            let cells = tasks.map { t -> String in
                guard let v = values[t + "\u{1}" + s] else { return "—" }
                var cell = String(format: "%.1f", v * 100)
                if s != "sourceOnly", s != "targetOnly", let base = values[t + "\u{1}sourceOnly"] {
                    if v - base > 0.005 { cell += " ▲" } else if base - v > 0.005 { cell += " ▼" }
                }
                return cell
            }
            out += "| \(s) | " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }

    /// One row per strategy of a one-task `summary.csv`: target accuracy mean ± std over seeds,
    /// source accuracy, gain over source-only and NTG, in % / points.
    static func strategies(csv: String, file: String) throws -> String {
        let rows = parseCSV(csv)
        let needed = ["strategy", "seeds", "target_accuracy_mean", "target_accuracy_std", "source_accuracy_mean", "gain_over_source_only", "negative_transfer_gap"]
        guard let header = rows.first, needed.allSatisfy(header.contains) else {
            throw Problem(message: "\(file): not a summary.csv (needs \(needed.joined(separator: ", ")))")
        }
        func cell(_ row: [String], _ name: String) -> Double? { Double(row[header.firstIndex(of: name)!]) }
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f", $0 * 100) } ?? "—" }
        func points(_ v: Double?) -> String { v.map { String(format: "%+.1f", $0 * 100) } ?? "—" }
        var out = "| strategy | seeds | target accuracy (%) | source accuracy (%) | gain vs source-only | NTG |\n|---|---|---|---|---|---|\n"
        for row in rows.dropFirst() where row.count == header.count {
            let seeds = row[header.firstIndex(of: "seeds")!].split(separator: " ").count
            let target = "\(pct(cell(row, "target_accuracy_mean"))) ± \(pct(cell(row, "target_accuracy_std")))"
            out += "| \(row[header.firstIndex(of: "strategy")!]) | \(seeds) | \(target) | \(pct(cell(row, "source_accuracy_mean"))) | "
                + "\(points(cell(row, "gain_over_source_only"))) | \(points(cell(row, "negative_transfer_gap"))) |\n"
        }
        return out
    }

    static func selection(_ s: ComparisonSummary) -> String {
        var out = "| rule | tasks | mean regret (points) | mean ρ | picks as good as the oracle's |\n|---|---|---|---|---|\n"
        for r in s.ruleOverview where r.rule != "oracle" {
            out += "| \(r.rule.replacingOccurrences(of: "_", with: " ")) | \(r.tasks) | \(String(format: "%.1f", r.regret * 100)) | "
                + "\(r.rankCorrelation.map { String(format: "%+.2f", $0) } ?? "—") | \(r.zeroRegret) of \(r.picks) |\n"
        }
        return out
    }

    static func transfer(_ s: ComparisonSummary) -> String {
        var out = "| strategy | tasks | always adapt | never adapt | DEV-guarded |\n|---|---|---|---|---|\n"
        for t in s.transferOverview {
            out += "| \(t.strategy) | \(t.tasks) | \(String(format: "%.1f", t.always * 100)) | \(String(format: "%.1f", t.never * 100)) | "
                + "\(String(format: "%.1f", t.guarded * 100)) |\n"
        }
        return out
    }

    /// Rows of a CSV (RFC 4180 quoting; no newlines inside fields).
    static func parseCSV(_ text: String) -> [[String]] {
        text.split(separator: "\n").map { line in
            var fields: [String] = [], field = "", quoted = false
            var chars = line.makeIterator()
            while let c = chars.next() {
                if quoted {
                    if c == "\"" {
                        if let next = chars.next() {
                            if next == "\"" { field.append("\"") } else {
                                quoted = false
                                if next == "," { fields.append(field); field = "" } else { field.append(next) }
                            }
                        } else { quoted = false }
                    } else { field.append(c) }
                } else if c == "\"" {
                    quoted = true
                } else if c == "," {
                    fields.append(field)
                    field = ""
                } else {
                    field.append(c)
                }
            }
            fields.append(field)
            return fields
        }
    }
}
