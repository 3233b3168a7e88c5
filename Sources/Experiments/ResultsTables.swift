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
/// - `stability FILE.csv` (a many-task `summary.csv`): one row per task, one column per strategy,
///   target accuracy mean ± std over seeds and the number of runs that stopped;
/// - `selection FILE.json` (a `summary.json`): per selection rule, the mean over tasks of the
///   seed-by-seed regret against the oracle and of the rank correlation ρ, and on how many of the
///   (task, seed) picks it reached the oracle's accuracy;
/// - `transfer FILE.json`: per adapted strategy, the mean over tasks of the target accuracy of
///   always adapting, never adapting and the DEV-guarded choice;
/// - `peers FOLDER` (Benchmarks/peers/results): DAKit beside skada per dataset and strategy, from
///   the folder's `skada.csv` (one row per fit: dataset, method, seed, target_accuracy, fit_seconds)
///   and `dakit-DATASET/summary.csv` (`dakit compare` on the same files): target accuracy mean ± std
///   over seeds and wall time per fit of each.
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
        if kind == "peers" { return try peers(folder: file) }
        guard let data = try? Data(contentsOf: file) else { throw Problem(message: "\(file.path): cannot read the table's source") }
        switch kind {
        case "accuracy": return try accuracy(csv: String(decoding: data, as: UTF8.self), file: file.path)
        case "strategies": return try strategies(csv: String(decoding: data, as: UTF8.self), file: file.path)
        case "stability": return try stability(csv: String(decoding: data, as: UTF8.self), file: file.path)
        case "selection", "transfer":
            let summary: ComparisonSummary
            do {
                summary = try ResultJSON.decoder().decode(ComparisonSummary.self, from: data)
            } catch {
                throw Problem(message: "\(file.path): not a comparison summary.json (\(error))")
            }
            return kind == "selection" ? selection(summary) : transfer(summary)
        default: throw Problem(message: "unknown table kind '\(kind)' (known: accuracy, strategies, stability, selection, transfer, peers)")
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

    /// The skada (or scikit-learn) method that `Benchmarks/peers/skada_peers.py` runs for a DAKit strategy.
    public static let peerMethods = [
        "sourceOnly": "SourceOnly", "targetOnly": "TargetOnly", "dann": "DANN", "dan": "DAN", "coral": "DeepCoral",
        "selfTraining": "SelfTrainingClassifier", "cdan": "CDAN", "mcc": "MCC",
    ]

    /// DAKit beside skada: one row per dataset and DAKit strategy (then any skada method without a
    /// DAKit strategy), target accuracy mean ± std over seeds in % and the mean wall time of one fit.
    static func peers(folder: URL) throws -> String {
        let skadaURL = folder.appendingPathComponent("skada.csv")
        guard let skadaData = try? Data(contentsOf: skadaURL) else { throw Problem(message: "\(skadaURL.path): cannot read the table's source") }
        let skadaRows = parseCSV(String(decoding: skadaData, as: UTF8.self))
        let needed = ["dataset", "method", "seed", "target_accuracy", "fit_seconds"]
        guard let header = skadaRows.first, needed.allSatisfy(header.contains) else {
            throw Problem(message: "\(skadaURL.path): not a skada_peers.py CSV (needs \(needed.joined(separator: ", ")))")
        }
        let column = Dictionary(uniqueKeysWithValues: needed.map { ($0, header.firstIndex(of: $0)!) })
        var datasets: [String] = [], methodsOf: [String: [String]] = [:]
        var accuracy: [String: [Double]] = [:], seconds: [String: [Double]] = [:]
        for (line, row) in skadaRows.enumerated().dropFirst() where !(row.count == 1 && row[0].isEmpty) {
            guard row.count == header.count, let a = Double(row[column["target_accuracy"]!]), let t = Double(row[column["fit_seconds"]!]) else {
                throw Problem(message: "\(skadaURL.path): line \(line + 1): expected \(header.count) fields with numeric target_accuracy and fit_seconds")
            }
            let (dataset, method) = (row[column["dataset"]!], row[column["method"]!])
            if !datasets.contains(dataset) { datasets.append(dataset) }
            if !methodsOf[dataset, default: []].contains(method) { methodsOf[dataset, default: []].append(method) }
            accuracy[dataset + "\u{1}" + method, default: []].append(a)
            seconds[dataset + "\u{1}" + method, default: []].append(t)
        }
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        datasets += folders.filter { $0.hasPrefix("dakit-") }.map { String($0.dropFirst("dakit-".count)) }.sorted().filter { !datasets.contains($0) }

        func pct(_ v: MeanStd?) -> String { v.map { String(format: "%.1f ± %.1f", $0.mean * 100, $0.std * 100) } ?? "—" }
        func secs(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "—" }
        var out = "| dataset | strategy | DAKit target acc. (%) | skada method | skada target acc. (%) | seeds (DAKit / skada) | DAKit s / fit | skada s / fit |\n"
        out += "|---|---|---|---|---|---|---|---|\n"
        for dataset in datasets {
            let summaryURL = folder.appendingPathComponent("dakit-\(dataset)/summary.csv")
            guard let summaryData = try? Data(contentsOf: summaryURL) else { throw Problem(message: "\(summaryURL.path): cannot read the table's source") }
            let rows = parseCSV(String(decoding: summaryData, as: UTF8.self))
            let wanted = ["strategy", "seeds", "target_accuracy_mean", "target_accuracy_std"]
            guard let head = rows.first, wanted.allSatisfy(head.contains) else {
                throw Problem(message: "\(summaryURL.path): not a summary.csv (needs \(wanted.joined(separator: ", ")))")
            }
            func cell(_ row: [String], _ name: String) -> String? { head.firstIndex(of: name).map { row[$0] } }
            var shown: Set<String> = []
            func line(_ strategy: String, dakit: [String]?) -> String {
                let method = peerMethods[strategy] ?? (methodsOf[dataset, default: []].contains(strategy) ? strategy : nil)
                let key = method.map { dataset + "\u{1}" + $0 }
                let skadaAccuracy = key.flatMap { accuracy[$0] }
                if let method, skadaAccuracy != nil { shown.insert(method) }
                let dakitAccuracy = dakit.flatMap { row in
                    Double(cell(row, "target_accuracy_mean") ?? "").map { mean in (mean, Double(cell(row, "target_accuracy_std") ?? "") ?? 0) }
                }
                let dakitSeeds = dakit.map { (cell($0, "seeds") ?? "").split(separator: " ").count }
                let skadaCell = skadaAccuracy.map { pct(MeanStd($0)) } ?? "—"
                return "| \(dataset) | \(dakit == nil ? "—" : strategy) | "
                    + "\(dakitAccuracy.map { String(format: "%.1f ± %.1f", $0.0 * 100, $0.1 * 100) } ?? "—") | "
                    + "\(skadaAccuracy == nil ? "—" : method!) | \(skadaCell) | \(dakitSeeds.map(String.init) ?? "—") / \(skadaAccuracy?.count ?? 0) | "
                    + "\(secs(dakit.flatMap { Double(cell($0, "fit_seconds_mean") ?? "") })) | \(secs(key.flatMap { seconds[$0] }.flatMap { MeanStd($0)?.mean })) |\n"
            }
            for row in rows.dropFirst() where row.count == head.count { out += line(row[head.firstIndex(of: "strategy")!], dakit: row) }
            for method in methodsOf[dataset, default: []] where !shown.contains(method) { out += line(method, dakit: nil) }
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
