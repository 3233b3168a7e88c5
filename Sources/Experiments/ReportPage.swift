import Adaptation
import Foundation

/// `report.html`: one self-contained page per run folder and per comparison folder, with the
/// tables, the plots and the recipe.
///
/// Self-contained means the page loads nothing: the CSS is inline, every SVG plot of the folder is
/// inlined, there is no script, no font and no image fetched from anywhere. Links to the folder's
/// other files (report.json, metrics.csv, each run's own page) are relative, so the folder can be
/// moved or copied as a whole. Numbers are the ones of report.json / summary.json, formatted as in
/// summary.txt / summary.md.
public enum ReportPage {
    public static let fileName = "report.html"

    /// Plots of a run folder in reading order; any other `*.svg` in the folder follows, sorted.
    static let runPlotOrder = ["learning-curves.svg", "confusion.svg", "features.svg", "decision-boundary.svg"]
    /// Plots of a comparison folder in reading order.
    static let comparisonPlotOrder = ["sweep.svg", "accuracy.svg"]

    // MARK: Run

    /// The page of one run: headline numbers, per-class table, divergences, selection scores, the
    /// plots found in `folder`, the per-epoch table and the recipe.
    public static func run(_ r: RunReport, folder: URL) -> String {
        var body = "<h1>\(escape(r.recipeName))</h1>\n"
        body += "<p class=\"meta\">strategy <b>\(escape(r.strategy))</b> · seed \(r.seed) · recipe \(escape(r.recipe)) (hash \(escape(r.recipeHash)))"
            + " · status <b class=\"\(r.status == "completed" ? "ok" : "bad")\">\(escape(r.status))</b> · DAKit \(escape(r.dakitVersion))</p>\n"
        body += "<p class=\"meta\">data: \(escape(r.dataset.shift)); \(r.dataset.sourceCount) source / \(r.dataset.targetCount) target training samples"
            + (r.dataset.grantedTargetLabels > 0 ? "; \(r.dataset.grantedTargetLabels) target labels granted" : "") + "</p>\n"
        if let error = r.error { body += "<p class=\"bad\">error: \(escape(error))</p>\n" }

        body += "<h2>Accuracy</h2>\n"
        var rows = [
            ["source", pct(r.sourceAccuracy), num(r.sourceMacroF1), r.dataset.sourceEvaluation],
            ["target", pct(r.targetAccuracy), num(r.targetMacroF1), r.dataset.targetEvaluation ?? "no labels"],
        ]
        if let base = r.sourceOnlyTargetAccuracy {
            rows.append(["target, source-only baseline", pct(base), "—", r.targetAccuracy.map { String(format: "gain %+.1f points", ($0 - base) * 100) } ?? "—"])
        }
        body += table(["", "accuracy", "macro-F1", "evaluated on"], rows, id: "headline")

        let names = r.dataset.classNames
        if names.count == r.source.perClassF1.count {
            body += "<h2>Per class</h2>\n<p>Accuracy is the recall of the class; support is its number of evaluated samples.</p>\n"
            var header = ["class", "source acc", "source F1", "source support"]
            if r.target != nil { header += ["target acc", "target F1", "target support"] }
            let perClass = names.indices.map { c -> [String] in
                var cells = [names[c], pct(r.source.perClassAccuracy[c]), num(r.source.perClassF1[c]), String(r.source.support[c])]
                if let t = r.target, c < t.perClassF1.count { cells += [pct(t.perClassAccuracy[c]), num(t.perClassF1[c]), String(t.support[c])] }
                return cells
            }
            body += table(header, perClass, id: "per-class")
        }

        if let d = r.divergences {
            body += "<h2>Domain divergence</h2>\n<p>On the inputs and on the learned features before and after training, \(d.samples) samples per domain.</p>\n"
            let kinds: [(String, KeyPath<DivergenceValues, Double?>)] = [("MMD²", \.mmd), ("CORAL", \.coral), ("proxy A-distance", \.pad)]
            let divergenceRows = kinds.filter { d.input[keyPath: $0.1] != nil }.map { name, pick in
                [name, num(d.input[keyPath: pick]), num(d.before[keyPath: pick]), num(d.after[keyPath: pick])]
            }
            body += table(["", "input", "features before", "features after"], divergenceRows, id: "divergence")
        }

        body += "<h2>Model selection scores</h2>\n<p>Computed without target labels.</p>\n"
        body += table(
            ["source validation accuracy", "target entropy (nats)", "DEV risk", "SND", "IM (nats)", "IWV risk", "reverse validation accuracy"],
            [[pct(r.selection.sourceValidation), num(r.selection.entropy), num(r.selection.dev), num(r.selection.snd), num(r.selection.im),
              num(r.selection.iwv), pct(r.selection.reverseValidation)]], id: "selection")
        body += checkpointTables(r)

        body += plots(in: folder, order: runPlotOrder)

        let evaluated = r.epochs.filter { $0.sourceAccuracy != nil || $0.targetAccuracy != nil }
        if !evaluated.isEmpty {
            body += "<h2>Evaluations</h2>\n<p>One row per evaluated epoch (all epochs: <a href=\"metrics.csv\">metrics.csv</a>).</p>\n"
            body += table(
                ["epoch", "learning rate", "total loss", "source acc", "target acc"],
                evaluated.map { e in [String(e.epoch), String(format: "%.4g", e.learningRate), num(e.losses["total"]), pct(e.sourceAccuracy), pct(e.targetAccuracy)] },
                id: "evaluations")
        }
        body += "<p class=\"meta\">\(r.epochs.count) epochs, \(r.steps) steps, " + String(format: "%.1f s (training %.1f s)", r.wallSeconds, r.trainSeconds)
            + (r.threads.map { ", \($0) threads" } ?? "") + ".</p>\n"

        body += "<h2>Recipe</h2>\n"
        if !r.overrides.isEmpty { body += "<p>Overrides: <code>\(escape(r.overrides.joined(separator: " ")))</code></p>\n" }
        body += "<p>As resolved (every default filled in); the run used recipe hash \(escape(r.recipeHash)).</p>\n"
        body += "<pre id=\"recipe\">\(escape(pretty(r.resolvedRecipe)))</pre>\n"
        body += files(["report.json", "summary.txt", "summary.md", "metrics.csv", "checkpoint.h5", CheckpointPicker.fileName], in: folder)
        return document(title: "\(r.recipeName) · \(r.strategy) · seed \(r.seed)", body: body)
    }

    /// The epoch `selection.checkpoint` picked against the last and the oracle's, and the selection
    /// scores of every evaluated epoch (the target accuracy column is for reading, no rule uses it).
    static func checkpointTables(_ r: RunReport) -> String {
        var body = ""
        if let c = r.checkpointSelection {
            body += "<h2>Checkpoint selection</h2>\n<p>The numbers above describe the epoch the rule <b>\(escape(c.rule))</b> picked among the "
                + "evaluated ones (no target label used; <code>selected.h5</code>); the oracle is the evaluated epoch of highest target accuracy.</p>\n"
            body += table(
                ["", "epoch", "target accuracy"],
                [["picked (\(c.rule))", String(c.pickedEpoch), pct(c.pickedTargetAccuracy)], ["last", String(c.lastEpoch), pct(c.lastTargetAccuracy)],
                 ["oracle", c.oracleEpoch.map(String.init) ?? "—", pct(c.oracleTargetAccuracy)]],
                id: "checkpoint-selection")
        }
        guard !r.checkpointScores.isEmpty else { return body }
        let kinds: [(String, (SelectionScores) -> String)] = [
            ("source validation accuracy", { pct($0.sourceValidation) }), ("target entropy (nats)", { num($0.entropy) }),
            ("DEV risk", { num($0.dev) }), ("SND", { num($0.snd) }), ("IM (nats)", { num($0.im) }), ("IWV risk", { num($0.iwv) }),
        ]
        let shown = kinds.filter { _, text in r.checkpointScores.contains { text($0.scores) != "—" } }
        body += "<h2>Selection scores per evaluation</h2>\n<p>The scores of the model at each evaluated epoch (no target label used); "
            + "target accuracy for reading only.</p>\n"
        body += table(
            ["epoch", "step"] + shown.map(\.0) + ["target accuracy"],
            r.checkpointScores.map { e in [String(e.epoch), String(e.step)] + shown.map { $0.1(e.scores) } + [pct(e.targetAccuracy)] },
            id: "checkpoint-scores")
        return body
    }

    /// Writes `folder/report.html` for `report`, after the folder's plots.
    public static func writeRun(_ report: RunReport, into folder: URL) throws {
        try writeAtomically(Data(run(report, folder: folder).utf8), to: folder.appendingPathComponent(fileName))
    }

    // MARK: Comparison

    /// The page of a comparison: the summary table, the selection table, the plots found in
    /// `folder`, one row per run with a link to its own page, and the plan's recipes.
    public static func comparison(_ s: ComparisonSummary, folder: URL) -> String {
        var body = "<h1>\(escape(s.title))</h1>\n"
        body += "<p class=\"meta\">\(s.runCount) runs, \(s.tasks.count) task\(s.tasks.count == 1 ? "" : "s"), \(s.strategies.count) strategies.</p>\n"
        body += "<h2>Results</h2>\n<p>Target accuracy and macro-F1 in % (mean ± std over seeds, sample std); gain over source-only, "
            + "NTG (ε<sub>T</sub>(strategy) − ε<sub>T</sub>(target-only), Wang et al. 2019; &gt; 0: the source hurt) and forgetting "
            + "(source accuracy lost against source-only) in points; divergences on the learned features before → after training.</p>\n"
        let taskHeader = s.sweepLabel ?? "task"
        var rows: [[String]] = []
        for task in s.tasks {
            for strategy in s.strategies {
                guard let r = s.row(task: task, strategy: strategy) else { continue }
                rows.append([
                    r.severity.map { s.severityText($0) } ?? task, strategy,
                    "\(r.seeds.count)" + (r.incompleteRuns > 0 ? " (+\(r.incompleteRuns) failed)" : ""),
                    meanStd(r.targetAccuracy), meanStd(r.targetMacroF1), meanStd(r.sourceAccuracy), points(r.gainOverSourceOnly),
                    points(r.negativeTransferGap), points(r.forgetting),
                    "\(num(r.divergenceBefore.mmd, "%.3f")) → \(num(r.divergenceAfter.mmd, "%.3f"))",
                    "\(num(r.divergenceBefore.pad, "%.3f")) → \(num(r.divergenceAfter.pad, "%.3f"))",
                ])
            }
        }
        body += table(
            [taskHeader, "strategy", "seeds", "target acc", "target macro-F1", "source acc", "gain vs source-only", "NTG", "forgetting",
             "MMD² before → after", "PAD before → after"], rows, id: "summary")

        if !s.selections.isEmpty {
            body += "<h2>Model selection without target labels</h2>\n<p>The strategy each unsupervised rule picks per task "
                + "(target-only is not a candidate), with its mean target accuracy in %, next to the oracle that looks at target labels.</p>\n"
            let rules = ComparisonSummary.selectionRules.filter { rule in s.selections.contains { $0.rule == rule } }
            let selectionRows = s.tasks.map { task -> [String] in
                let severity = s.rows.first { $0.task == task }?.severity
                return [severity.map { s.severityText($0) } ?? task] + rules.map { rule in
                    guard let pick = s.selections.first(where: { $0.task == task && $0.rule == rule }) else { return "—" }
                    return "\(pick.picked) (\(pct(pick.targetAccuracy, "%.1f")))"
                }
            }
            body += table([taskHeader] + rules.map { $0.replacingOccurrences(of: "_", with: " ") }, selectionRows, id: "selection")
        }

        body += selectionStudy(s)
        body += plots(in: folder, order: comparisonPlotOrder)
        body += runTable(folder)
        body += planRecipes(folder)
        body += files(["summary.md", "summary.csv", "summary.json", "plan.json"], in: folder)
        return document(title: s.title, body: body)
    }

    /// The seed-by-seed selection costs, the paired tests and the transfer decisions (`SelectionStudy`).
    static func selectionStudy(_ s: ComparisonSummary) -> String {
        var body = ""
        let taskHeader = s.sweepLabel ?? "task"
        if !s.selectionCosts.isEmpty {
            body += "<h2>What selection costs, seed by seed</h2>\n<p>On each seed every rule picks one configuration (target-only is not a candidate); "
                + "regret = oracle's target accuracy − the pick's, in points; ρ = Spearman correlation between the rule's score and target accuracy "
                + "over the candidates. Mean [95 % t interval] over seeds.</p>\n"
            body += table(
                ["rule", "tasks", "mean regret (points)", "mean ρ", "picks as good as the oracle's"],
                s.ruleOverview.map { r in
                    [r.rule.replacingOccurrences(of: "_", with: " "), String(r.tasks), String(format: "%.1f", r.regret * 100),
                     r.rankCorrelation.map { String(format: "%+.2f", $0) } ?? "—", "\(r.zeroRegret) of \(r.picks)"]
                }, id: "selection-overview")
            body += "<details><summary>per task</summary>\n" + table(
                [taskHeader, "rule", "seeds", "candidates", "picked most often", "picked acc", "oracle acc", "regret", "ρ"],
                s.selectionCosts.map { c in
                    [s.taskCell(c.task), c.rule.replacingOccurrences(of: "_", with: " "), String(c.seeds), String(c.candidates), c.pickedMostOften,
                     ComparisonSummary.intervalText(c.pickedAccuracy), ComparisonSummary.intervalText(c.oracleAccuracy),
                     ComparisonSummary.intervalText(c.regret), ComparisonSummary.intervalText(c.rankCorrelation, scale: 1, format: "%+.2f")]
                }, id: "selection-costs") + "</details>\n"
        }
        if !s.pairedComparisons.isEmpty {
            body += "<h2>Paired against source-only</h2>\n<p>Target accuracy − source-only's on the same seeds, in points: mean [95 % t interval], "
                + "two-sided paired t-test.</p>\n"
            body += table(
                [taskHeader, "strategy", "seeds", "difference", "p"],
                s.pairedComparisons.map { p in
                    [s.taskCell(p.task), p.strategy, String(p.difference.count), ComparisonSummary.intervalText(p.difference, format: "%+.1f"), String(format: "%.3g", p.p)]
                }, id: "paired")
        }
        if !s.transferDecisions.isEmpty {
            body += "<h2>Transfer or not</h2>\n<p>Per seed, keep the adapted model when its estimated target risk (DEV, else IWV) is no higher than "
                + "source-only's, else fall back to source-only. Target accuracy in %.</p>\n"
            body += table(
                ["strategy", "tasks", "always adapt", "never adapt", "guarded"],
                s.transferOverview.map { t in
                    [t.strategy, String(t.tasks), String(format: "%.1f", t.always * 100), String(format: "%.1f", t.never * 100), String(format: "%.1f", t.guarded * 100)]
                }, id: "transfer-overview")
            body += "<details><summary>per task</summary>\n" + table(
                [taskHeader, "strategy", "rule", "always adapt", "never adapt", "guarded", "fell back", "guarded NTG"],
                s.transferDecisions.map { d in
                    [s.taskCell(d.task), d.strategy, d.rule, meanStd(d.alwaysAdaptAccuracy), meanStd(d.neverAdaptAccuracy), meanStd(d.guardedAccuracy),
                     "\(d.fellBack) of \(d.seeds)", points(d.guardedNegativeTransferGap)]
                }, id: "transfer") + "</details>\n"
        }
        return body
    }

    /// One row per run report below `folder`, linking to the run's own page when it has one.
    static func runTable(_ folder: URL) -> String {
        guard let reports = try? Comparison.collectReports(in: folder), !reports.isEmpty else { return "" }
        let base = folder.standardizedFileURL.path
        let rows = reports.map { url, r -> [String] in
            let runFolder = url.deletingLastPathComponent()
            let relative = runFolder.standardizedFileURL.path.hasPrefix(base + "/")
                ? String(runFolder.standardizedFileURL.path.dropFirst(base.count + 1)) : runFolder.path
            let page = runFolder.appendingPathComponent(fileName)
            let link = FileManager.default.fileExists(atPath: page.path)
                ? "\u{1}<a href=\"\(escapeAttribute(relative + "/" + fileName))\">\(escape(relative))</a>" : relative
            return [r.task, r.strategy, String(r.seed), r.status, pct(r.targetAccuracy), pct(r.sourceAccuracy), link]
        }
        return "<h2>Runs</h2>\n" + table(["task", "strategy", "seed", "status", "target acc", "source acc", "folder"], rows, id: "runs")
    }

    /// The recipes `plan.json` names, with their text where the file is readable from here.
    static func planRecipes(_ folder: URL) -> String {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("plan.json")),
            let plan = try? ResultJSON.decoder().decode(ComparisonPlan.self, from: data)
        else { return "" }
        var seen: [String] = []
        for job in plan.jobs where !seen.contains(job.recipe) { seen.append(job.recipe) }
        var out = "<h2>Recipes</h2>\n"
        let overrides = Array(Set(plan.jobs.flatMap(\.overrides))).sorted()
        if !overrides.isEmpty { out += "<p>Overrides used across the plan: <code>\(escape(overrides.joined(separator: " ")))</code></p>\n" }
        for recipe in seen {
            if let text = try? String(contentsOfFile: recipe, encoding: .utf8), text.utf8.count <= 256 * 1024 {
                out += "<details><summary>\(escape(recipe))</summary>\n<pre>\(escape(text))</pre></details>\n"
            } else {
                out += "<p>\(escape(recipe)) (not readable from here)</p>\n"
            }
        }
        return out
    }

    /// Writes `folder/report.html` for `summary`, after the folder's plots.
    public static func writeComparison(_ summary: ComparisonSummary, into folder: URL) throws {
        try writeAtomically(Data(comparison(summary, folder: folder).utf8), to: folder.appendingPathComponent(fileName))
    }

    // MARK: Pieces

    /// Every SVG plot of `folder`, inlined (XML declaration and doctype dropped), in `order` first.
    static func plots(in folder: URL, order: [String]) -> String {
        let present = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".svg") && !$0.hasPrefix(".") }
        let names = order.filter(present.contains) + present.filter { !order.contains($0) }.sorted()
        guard !names.isEmpty else { return "" }
        var out = "<h2>Plots</h2>\n"
        for name in names {
            guard let text = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8),
                let start = text.range(of: "<svg")
            else { continue }
            out += "<figure id=\"\(escapeAttribute(name))\">\n\(text[start.lowerBound...])<figcaption>\(escape(name))</figcaption></figure>\n"
        }
        return out
    }

    /// Links to those of `names` that exist in `folder`.
    static func files(_ names: [String], in folder: URL) -> String {
        let present = names.filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
        guard !present.isEmpty else { return "" }
        return "<p class=\"meta\">Files: " + present.map { "<a href=\"\(escapeAttribute($0))\">\(escape($0))</a>" }.joined(separator: " · ") + "</p>\n"
    }

    /// An HTML table; a cell starting with U+0001 is already HTML (a link), any other is escaped.
    static func table(_ header: [String], _ rows: [[String]], id: String) -> String {
        func cell(_ s: String) -> String { s.hasPrefix("\u{1}") ? String(s.dropFirst()) : escape(s) }
        var out = "<table id=\"\(escapeAttribute(id))\">\n<thead><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in rows { out += "<tr>" + row.map { "<td>\(cell($0))</td>" }.joined() + "</tr>\n" }
        return out + "</tbody></table>\n"
    }

    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
        h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
        .meta { color: #555; } .ok { color: #2a7d2a; } .bad { color: #b22; }
        table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
        th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; } th { background: #f3f3f3; }
        td:first-child, th:first-child { text-align: left; }
        figure { margin: 1em 0; overflow-x: auto; } figcaption { color: #777; font-size: 0.85em; }
        pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
        </style>
        </head>
        <body>
        \(body)</body>
        </html>

        """
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func escapeAttribute(_ s: String) -> String { escape(s).replacingOccurrences(of: "\"", with: "&quot;") }

    static func pct(_ v: Double?, _ format: String = "%.1f%%") -> String { v.map { String(format: format, $0 * 100) } ?? "—" }
    static func num(_ v: Double?, _ format: String = "%.4f") -> String { v.map { String(format: format, $0) } ?? "—" }
    static func points(_ v: Double?) -> String { ComparisonSummary.points(v) }
    static func meanStd(_ v: MeanStd?) -> String { ComparisonSummary.pct(v) }

    /// The resolved recipe as indented JSON with sorted keys.
    static func pretty(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? value.canonicalString
    }
}
