import Adaptation
import Foundation

/// Mean and sample standard deviation (n − 1; 0 for a single value).
public struct MeanStd: Sendable, Codable, Equatable {
    public var mean: Double
    public var std: Double
    public var count: Int

    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let n = Double(values.count)
        let m = values.reduce(0, +) / n
        mean = m
        std = values.count > 1 ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot() : 0
        count = values.count
    }
}

/// One strategy on one task, aggregated over seeds.
public struct StrategySummary: Sendable, Codable, Equatable {
    public var task: String
    public var strategy: String
    /// The sweep value (e.g. rotation in degrees), when the task is a point of a sweep.
    public var severity: Double?
    public var seeds: [UInt64]
    public var targetAccuracy: MeanStd?
    public var targetMacroF1: MeanStd?
    public var sourceAccuracy: MeanStd?
    /// mean acc_T(strategy) − mean acc_T(sourceOnly).
    public var gainOverSourceOnly: Double?
    /// NTG = ε_T(strategy) − ε_T(targetOnly) (Wang et al. 2019); > 0: the source hurt.
    public var negativeTransferGap: Double?
    /// mean acc_S(sourceOnly) − mean acc_S(strategy).
    public var forgetting: Double?
    public var divergenceBefore: DivergenceValues
    public var divergenceAfter: DivergenceValues
    public var selectionSourceValidation: Double?
    public var selectionEntropy: Double?
    public var selectionDev: Double?
    public var selectionSnd: Double?
    public var selectionIm: Double?
    public var selectionIwv: Double?
    public var selectionReverseValidation: Double?
    /// Runs that did not complete (failed or cancelled); not in the statistics.
    public var incompleteRuns: Int
    /// Mean over seeds of picked − last target accuracy (`CheckpointSelection.gain`); nil unless the
    /// runs picked a checkpoint by a rule (`selection.checkpoint`).
    public var checkpointGain: Double? = nil
    /// Mean over seeds of oracle − picked target accuracy over the run's evaluated epochs (`CheckpointSelection.regret`).
    public var checkpointRegret: Double? = nil
    /// Wall time of one fit in seconds (`RunReport.trainSeconds`: the training loop with its evaluations), over seeds;
    /// nil in summaries written before it was recorded.
    public var fitSeconds: MeanStd? = nil
}

/// Which strategy each rule picks on one task, and the target accuracy of that pick.
public struct SelectionOutcome: Sendable, Codable, Equatable {
    public var task: String
    public var rule: String
    public var picked: String
    public var targetAccuracy: Double?
}

/// All runs of a comparison, aggregated.
public struct ComparisonSummary: Sendable, Codable, Equatable {
    public var title: String
    /// Sweep key and label, when the tasks form a sweep.
    public var sweepKey: String?
    public var sweepLabel: String?
    public var rows: [StrategySummary]
    public var selections: [SelectionOutcome]
    public var runCount: Int
    /// Per task and rule, what selecting seed by seed costs against the oracle (`SelectionStudy`).
    public var selectionCosts: [SelectionCost] = []
    /// Every configuration against source-only, paired on the seeds both ran.
    public var pairedComparisons: [PairedComparison] = []
    /// The transfer / no-transfer decision per task and adapted configuration.
    public var transferDecisions: [TransferDecision] = []

    /// Strategies in first-seen order with the baselines first.
    public var strategies: [String] {
        var seen: [String] = []
        for row in rows where !seen.contains(row.strategy) { seen.append(row.strategy) }
        let baselines = ["sourceOnly", "targetOnly"].filter(seen.contains)
        return baselines + seen.filter { !baselines.contains($0) }
    }

    /// Tasks in order of severity, then first-seen order.
    public var tasks: [String] {
        var seen: [String] = []
        for row in rows where !seen.contains(row.task) { seen.append(row.task) }
        let severity = Dictionary(rows.map { ($0.task, $0.severity) }, uniquingKeysWith: { a, _ in a })
        return seen.enumerated().sorted { a, b in
            switch (severity[a.element] ?? nil, severity[b.element] ?? nil) {
            case (let x?, let y?): return x < y || (x == y && a.offset < b.offset)
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.offset < b.offset
            }
        }.map(\.element)
    }

    public func row(task: String, strategy: String) -> StrategySummary? { rows.first { $0.task == task && $0.strategy == strategy } }
}

extension ComparisonSummary {
    enum CodingKeys: String, CodingKey {
        case title, sweepKey, sweepLabel, rows, selections, runCount, selectionCosts, pairedComparisons, transferDecisions
    }

    /// Reads summaries written before the selection study existed (its lists are then empty).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        title = try c.decode(String.self, forKey: .title)
        sweepKey = try c.decodeIfPresent(String.self, forKey: .sweepKey)
        sweepLabel = try c.decodeIfPresent(String.self, forKey: .sweepLabel)
        rows = try c.decode([StrategySummary].self, forKey: .rows)
        selections = try c.decodeIfPresent([SelectionOutcome].self, forKey: .selections) ?? []
        runCount = try c.decode(Int.self, forKey: .runCount)
        selectionCosts = try c.decodeIfPresent([SelectionCost].self, forKey: .selectionCosts) ?? []
        pairedComparisons = try c.decodeIfPresent([PairedComparison].self, forKey: .pairedComparisons) ?? []
        transferDecisions = try c.decodeIfPresent([TransferDecision].self, forKey: .transferDecisions) ?? []
    }
}

/// Aggregates run reports into a comparison.
public enum Comparison {
    /// Every `report.json` under `directory` (recursively), sorted by path.
    public static func collectReports(in directory: URL) throws -> [(URL, RunReport)] {
        guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else {
            throw ExperimentError.invalid("\(directory.path): not a folder")
        }
        var found: [URL] = []
        for case let url as URL in walker where url.lastPathComponent == "report.json" { found.append(url) }
        return try found.sorted { $0.path < $1.path }.map { ($0, try RunReport.load($0)) }
    }

    /// Groups reports by (task, strategy) and computes the statistics, baselines and selections.
    ///
    /// Each report comes with its sweep value (nil when it is not part of a sweep).
    public static func summarize(
        _ runs: [(report: RunReport, severity: Double?)], title: String, sweepKey: String? = nil, sweepLabel: String? = nil
    ) -> ComparisonSummary {
        var order: [String] = []
        var groups: [String: [RunReport]] = [:]
        var severities: [String: Double] = [:]
        for (report, severity) in runs {
            let key = report.task + "\u{1}" + report.strategy
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(report)
            if let severity { severities[key] = severity }
        }
        func mean(_ xs: [Double?]) -> Double? {
            let v = xs.compactMap { $0 }
            return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count)
        }
        var rows: [StrategySummary] = order.map { key in
            let all = groups[key]!
            let done = all.filter { $0.status == "completed" }.sorted { $0.seed < $1.seed }
            return StrategySummary(
                task: all[0].task, strategy: all[0].strategy, severity: severities[key],
                seeds: done.map(\.seed), targetAccuracy: MeanStd(done.compactMap(\.targetAccuracy)),
                targetMacroF1: MeanStd(done.compactMap(\.targetMacroF1)), sourceAccuracy: MeanStd(done.map(\.sourceAccuracy)),
                gainOverSourceOnly: nil, negativeTransferGap: nil, forgetting: nil,
                divergenceBefore: DivergenceValues(
                    mmd: mean(done.map { $0.divergences?.before.mmd }), coral: mean(done.map { $0.divergences?.before.coral }),
                    pad: mean(done.map { $0.divergences?.before.pad })),
                divergenceAfter: DivergenceValues(
                    mmd: mean(done.map { $0.divergences?.after.mmd }), coral: mean(done.map { $0.divergences?.after.coral }),
                    pad: mean(done.map { $0.divergences?.after.pad })),
                selectionSourceValidation: mean(done.map(\.selection.sourceValidation)), selectionEntropy: mean(done.map(\.selection.entropy)),
                selectionDev: mean(done.map(\.selection.dev)), selectionSnd: mean(done.map(\.selection.snd)),
                selectionIm: mean(done.map(\.selection.im)), selectionIwv: mean(done.map(\.selection.iwv)),
                selectionReverseValidation: mean(done.map(\.selection.reverseValidation)), incompleteRuns: all.count - done.count,
                checkpointGain: mean(done.map { $0.checkpointSelection?.gain }), checkpointRegret: mean(done.map { $0.checkpointSelection?.regret }),
                fitSeconds: MeanStd(done.map(\.trainSeconds)))
        }
        for i in rows.indices {
            let task = rows[i].task
            let sourceOnly = rows.first { $0.task == task && $0.strategy == "sourceOnly" }
            let targetOnly = rows.first { $0.task == task && $0.strategy == "targetOnly" }
            guard let acc = rows[i].targetAccuracy?.mean else { continue }
            let effect = NegativeTransfer(
                adaptedTargetAccuracy: acc, targetOnlyTargetAccuracy: targetOnly?.targetAccuracy?.mean,
                sourceOnlyTargetAccuracy: sourceOnly?.targetAccuracy?.mean, sourceAccuracyBefore: sourceOnly?.sourceAccuracy?.mean,
                sourceAccuracyAfter: rows[i].sourceAccuracy?.mean)
            rows[i].gainOverSourceOnly = effect.gainOverSourceOnly
            rows[i].negativeTransferGap = effect.negativeTransferGap
            rows[i].forgetting = rows[i].strategy == "targetOnly" ? nil : effect.forgetting
        }
        // Selection: candidates are the strategies that use no target label (not the oracle).
        var selections: [SelectionOutcome] = []
        let summary = ComparisonSummary(title: title, sweepKey: sweepKey, sweepLabel: sweepLabel, rows: rows, selections: [], runCount: runs.count)
        for task in summary.tasks {
            let candidates = rows.filter { $0.task == task && $0.strategy != "targetOnly" && $0.targetAccuracy != nil }
            guard !candidates.isEmpty else { continue }
            func pick(_ rule: String, _ score: (StrategySummary) -> Double?, higherIsBetter: Bool) {
                let scored = candidates.compactMap { c in score(c).map { (c, $0) } }
                guard let best = scored.min(by: { higherIsBetter ? $0.1 > $1.1 : $0.1 < $1.1 }) else { return }
                selections.append(SelectionOutcome(task: task, rule: rule, picked: best.0.strategy, targetAccuracy: best.0.targetAccuracy?.mean))
            }
            pick("source_validation", { $0.selectionSourceValidation }, higherIsBetter: true)
            pick("dev", { $0.selectionDev }, higherIsBetter: false)
            pick("entropy", { $0.selectionEntropy }, higherIsBetter: false)
            pick("snd", { $0.selectionSnd }, higherIsBetter: true)
            pick("im", { $0.selectionIm }, higherIsBetter: true)
            pick("iwv", { $0.selectionIwv }, higherIsBetter: false)
            pick("reverse_validation", { $0.selectionReverseValidation }, higherIsBetter: true)
            pick("oracle", { $0.targetAccuracy?.mean }, higherIsBetter: true)
        }
        var result = summary
        result.selections = selections
        // Seed by seed: what each rule's pick costs, paired tests, the transfer decision.
        let table = SelectionStudy.table(runs.map(\.report))
        result.selectionCosts = SelectionStudy.costs(table, tasks: summary.tasks, strategies: summary.strategies)
        result.pairedComparisons = SelectionStudy.paired(table, tasks: summary.tasks, strategies: summary.strategies)
        result.transferDecisions = SelectionStudy.decisions(table, tasks: summary.tasks, strategies: summary.strategies)
        return result
    }
}

// MARK: - Writing

extension ComparisonSummary {
    /// `mean ± std` in % (the mean alone for one seed); `—` when missing. Also report.html's format.
    static func pct(_ v: MeanStd?) -> String {
        guard let v else { return "—" }
        return v.count > 1 ? String(format: "%.1f ± %.1f", v.mean * 100, v.std * 100) : String(format: "%.1f", v.mean * 100)
    }
    /// Signed points (a fraction × 100); `—` when missing.
    static func points(_ v: Double?) -> String { v.map { String(format: "%+.1f", $0 * 100) } ?? "—" }
    func pct(_ v: MeanStd?) -> String { Self.pct(v) }
    func points(_ v: Double?) -> String { Self.points(v) }
    private func number(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "—" }

    /// The selection rules in the order the tables show them, the oracle last.
    public static let selectionRules = ["source_validation", "dev", "entropy", "snd", "im", "iwv", "reverse_validation", "oracle"]

    /// Markdown tables: one row per task and strategy, then the selections.
    public var markdown: String {
        var out = "# \(title)\n\n"
        out += "Target accuracy and macro-F1 in % (mean ± std over seeds); gain over source-only and NTG "
            + "(ε_T(strategy) − ε_T(target-only), Wang et al. 2019; > 0 means the source hurt) and forgetting "
            + "(source accuracy lost against source-only) in points; divergences on the learned features (MMD² / proxy A-distance) "
            + "before → after training. \(runCount) runs.\n\n"
        let taskHeader = sweepLabel ?? "task"
        // Columns of checkpoint selection only where some run picked its checkpoint by a rule.
        let checkpoints = rows.contains { $0.checkpointGain != nil || $0.checkpointRegret != nil }
        if checkpoints {
            out += "Checkpoint gain: target accuracy of the epoch `selection.checkpoint` picked − the last epoch's; checkpoint regret: "
                + "the best evaluated epoch's (oracle) − the picked one's; in points, mean over seeds.\n\n"
        }
        out += "| \(taskHeader) | strategy | seeds | target acc | target macro-F1 | source acc | gain vs source-only | NTG | forgetting | MMD² before → after | PAD before → after |"
            + (checkpoints ? " checkpoint gain | checkpoint regret |\n" : "\n")
        out += "|---|---|---|---|---|---|---|---|---|---|---|" + (checkpoints ? "---|---|\n" : "\n")
        for task in tasks {
            for strategy in strategies {
                guard let r = row(task: task, strategy: strategy) else { continue }
                let taskCell = r.severity.map { severityText($0) } ?? task
                let incomplete = r.incompleteRuns > 0 ? " (+\(r.incompleteRuns) failed)" : ""
                out += "| \(taskCell) | \(strategy) | \(r.seeds.count)\(incomplete) | \(pct(r.targetAccuracy)) | \(pct(r.targetMacroF1)) | \(pct(r.sourceAccuracy)) | "
                    + "\(points(r.gainOverSourceOnly)) | \(points(r.negativeTransferGap)) | \(points(r.forgetting)) | "
                    + "\(number(r.divergenceBefore.mmd)) → \(number(r.divergenceAfter.mmd)) | \(number(r.divergenceBefore.pad)) → \(number(r.divergenceAfter.pad)) |"
                    + (checkpoints ? " \(points(r.checkpointGain)) | \(points(r.checkpointRegret)) |\n" : "\n")
            }
        }
        if !selections.isEmpty {
            out += "\n## Model selection without target labels\n\n"
            out += "Which strategy each unsupervised rule would pick per task (the target-only oracle is not a candidate), "
                + "next to the oracle that looks at target labels.\n\n"
            let rules = ComparisonSummary.selectionRules.filter { rule in selections.contains { $0.rule == rule } }
            out += "| \(taskHeader) | " + rules.map { $0.replacingOccurrences(of: "_", with: " ") }.joined(separator: " | ") + " |\n"
            out += "|---|" + rules.map { _ in "---|" }.joined() + "\n"
            for task in tasks {
                let cells = rules.map { rule -> String in
                    guard let s = selections.first(where: { $0.task == task && $0.rule == rule }) else { return "—" }
                    return "\(s.picked) (\(s.targetAccuracy.map { String(format: "%.1f", $0 * 100) } ?? "—"))"
                }
                let taskCell = row(task: task, strategy: strategies.first { row(task: task, strategy: $0) != nil } ?? "")?.severity.map { severityText($0) } ?? task
                out += "| \(taskCell) | " + cells.joined(separator: " | ") + " |\n"
            }
        }
        out += selectionStudyMarkdown
        return out
    }

    /// The task's cell: its sweep value, else its name.
    func taskCell(_ task: String) -> String { rows.first { $0.task == task }?.severity.map { severityText($0) } ?? task }

    /// `mean [low, high]` of an interval, scaled (100: points of accuracy).
    static func intervalText(_ v: Interval?, scale: Double = 100, format: String = "%.1f") -> String {
        guard let v else { return "—" }
        let mean = String(format: format, v.mean * scale)
        return v.count > 1 ? "\(mean) [\(String(format: format, v.low * scale)), \(String(format: format, v.high * scale))]" : mean
    }

    /// Per rule over all tasks: mean regret, mean rank correlation, and on how many of all the
    /// (task, seed) picks the rule reached the oracle's accuracy (`SelectionStudy`).
    public var ruleOverview: [(rule: String, tasks: Int, regret: Double, rankCorrelation: Double?, zeroRegret: Int, picks: Int)] {
        ComparisonSummary.selectionRules.compactMap { rule in
            let costs = selectionCosts.filter { $0.rule == rule }
            guard !costs.isEmpty else { return nil }
            let regrets = costs.compactMap { $0.regret?.mean }
            let rhos = costs.compactMap { $0.rankCorrelation?.mean }
            return (
                rule, costs.count, regrets.reduce(0, +) / Double(max(regrets.count, 1)), rhos.isEmpty ? nil : rhos.reduce(0, +) / Double(rhos.count),
                costs.map(\.zeroRegretSeeds).reduce(0, +), costs.map(\.seeds).reduce(0, +)
            )
        }
    }

    /// The selection study, the paired tests and the transfer decisions as Markdown.
    var selectionStudyMarkdown: String {
        var out = ""
        let taskHeader = sweepLabel ?? "task"
        if !selectionCosts.isEmpty {
            out += "\n## What selection costs, seed by seed\n\n"
            out += "On each seed every rule picks one configuration among the candidates (all but target-only); regret = the oracle's "
                + "target accuracy − the pick's, in points; ρ = Spearman rank correlation between the rule's score (sign-flipped where "
                + "lower is better) and target accuracy over the candidates. Mean [95 % t interval] over seeds; the overview averages the tasks.\n\n"
            out += "| rule | tasks | mean regret (points) | mean ρ | picks as good as the oracle's |\n|---|---|---|---|---|\n"
            for r in ruleOverview {
                out += "| \(r.rule.replacingOccurrences(of: "_", with: " ")) | \(r.tasks) | \(String(format: "%.1f", r.regret * 100)) | "
                    + "\(r.rankCorrelation.map { String(format: "%+.2f", $0) } ?? "—") | \(r.zeroRegret) of \(r.picks) |\n"
            }
            out += "\n| \(taskHeader) | rule | seeds | candidates | picked most often | picked acc | oracle acc | regret | ρ |\n"
            out += "|---|---|---|---|---|---|---|---|---|\n"
            for c in selectionCosts {
                out += "| \(taskCell(c.task)) | \(c.rule.replacingOccurrences(of: "_", with: " ")) | \(c.seeds) | \(c.candidates) | \(c.pickedMostOften) | "
                    + "\(Self.intervalText(c.pickedAccuracy)) | \(Self.intervalText(c.oracleAccuracy)) | \(Self.intervalText(c.regret)) | "
                    + "\(Self.intervalText(c.rankCorrelation, scale: 1, format: "%+.2f")) |\n"
            }
        }
        if !pairedComparisons.isEmpty {
            out += "\n## Paired against source-only\n\n"
            out += "Target accuracy of each configuration − source-only's on the same seeds, in points: mean [95 % t interval] "
                + "and the two-sided p-value of the paired t-test.\n\n"
            out += "| \(taskHeader) | strategy | seeds | difference | p |\n|---|---|---|---|---|\n"
            for p in pairedComparisons {
                out += "| \(taskCell(p.task)) | \(p.strategy) | \(p.difference.count) | \(Self.intervalText(p.difference, format: "%+.1f")) | \(String(format: "%.3g", p.p)) |\n"
            }
        }
        if !transferDecisions.isEmpty {
            out += "\n## Transfer or not\n\n"
            out += "Per seed, keep the adapted model when its estimated target risk (DEV, else IWV; no target label) is no higher than "
                + "the source-only model's, else fall back to source-only. Target accuracy in % (mean ± std over seeds) of always "
                + "adapting, never adapting and the guarded choice; NTG of the guarded choice in points.\n\n"
            out += "| \(taskHeader) | strategy | rule | always adapt | never adapt | guarded | fell back | guarded NTG |\n|---|---|---|---|---|---|---|---|\n"
            for d in transferDecisions {
                out += "| \(taskCell(d.task)) | \(d.strategy) | \(d.rule) | \(pct(d.alwaysAdaptAccuracy)) | \(pct(d.neverAdaptAccuracy)) | "
                    + "\(pct(d.guardedAccuracy)) | \(d.fellBack) of \(d.seeds) | \(points(d.guardedNegativeTransferGap)) |\n"
            }
            out += "\n| strategy | tasks | always adapt | never adapt | guarded |\n|---|---|---|---|---|\n"
            for (strategy, always, never, guarded, count) in transferOverview {
                out += "| \(strategy) | \(count) | \(String(format: "%.1f", always * 100)) | \(String(format: "%.1f", never * 100)) | \(String(format: "%.1f", guarded * 100)) |\n"
            }
        }
        return out
    }

    /// Per adapted configuration, the mean over tasks of always adapting, never adapting and the guarded choice.
    public var transferOverview: [(strategy: String, always: Double, never: Double, guarded: Double, tasks: Int)] {
        strategies.compactMap { strategy in
            let d = transferDecisions.filter { $0.strategy == strategy }
            let always = d.compactMap { $0.alwaysAdaptAccuracy?.mean }, never = d.compactMap { $0.neverAdaptAccuracy?.mean }
            let guarded = d.compactMap { $0.guardedAccuracy?.mean }
            guard !d.isEmpty, always.count == d.count, never.count == d.count, guarded.count == d.count else { return nil }
            let n = Double(d.count)
            return (strategy, always.reduce(0, +) / n, never.reduce(0, +) / n, guarded.reduce(0, +) / n, d.count)
        }
    }

    /// One row per task and rule of the selection study.
    public var selectionCSV: String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        func quoted(_ s: String) -> String { s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        var lines = [[
            "task", "severity", "rule", "seeds", "candidates", "picked_most_often", "picked_accuracy_mean", "picked_accuracy_low", "picked_accuracy_high",
            "oracle_accuracy_mean", "regret_mean", "regret_low", "regret_high", "rank_correlation_mean", "rank_correlation_low", "rank_correlation_high",
        ].joined(separator: ",")]
        for c in selectionCosts {
            let severity = rows.first { $0.task == c.task }?.severity
            lines.append([
                quoted(c.task), f(severity), c.rule, String(c.seeds), String(c.candidates), quoted(c.pickedMostOften),
                f(c.pickedAccuracy?.mean), f(c.pickedAccuracy?.low), f(c.pickedAccuracy?.high), f(c.oracleAccuracy?.mean),
                f(c.regret?.mean), f(c.regret?.low), f(c.regret?.high), f(c.rankCorrelation?.mean), f(c.rankCorrelation?.low), f(c.rankCorrelation?.high),
            ].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func severityText(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%g", v) }

    /// One row per task and strategy; empty cells where a value is missing.
    public var csv: String {
        var lines = [[
            "task", "severity", "strategy", "seeds", "completed_runs", "failed_runs", "target_accuracy_mean", "target_accuracy_std", "target_macro_f1_mean",
            "target_macro_f1_std", "source_accuracy_mean", "source_accuracy_std", "gain_over_source_only", "negative_transfer_gap",
            "forgetting", "mmd_before", "mmd_after", "coral_before", "coral_after", "pad_before", "pad_after",
            "selection_source_validation", "selection_entropy", "selection_dev", "selection_snd", "selection_im", "selection_iwv",
            "selection_reverse_validation", "fit_seconds_mean", "fit_seconds_std",
        ].joined(separator: ",")]
        func f(_ v: Double?) -> String { v.map { String(format: "%.6g", $0) } ?? "" }
        func quoted(_ s: String) -> String { s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        for task in tasks {
            for strategy in strategies {
                guard let r = row(task: task, strategy: strategy) else { continue }
                lines.append([
                    quoted(task), f(r.severity), quoted(strategy), r.seeds.map(String.init).joined(separator: " "), String(r.seeds.count), String(r.incompleteRuns),
                    f(r.targetAccuracy?.mean), f(r.targetAccuracy?.std), f(r.targetMacroF1?.mean), f(r.targetMacroF1?.std),
                    f(r.sourceAccuracy?.mean), f(r.sourceAccuracy?.std), f(r.gainOverSourceOnly), f(r.negativeTransferGap), f(r.forgetting),
                    f(r.divergenceBefore.mmd), f(r.divergenceAfter.mmd), f(r.divergenceBefore.coral), f(r.divergenceAfter.coral),
                    f(r.divergenceBefore.pad), f(r.divergenceAfter.pad), f(r.selectionSourceValidation), f(r.selectionEntropy), f(r.selectionDev),
                    f(r.selectionSnd), f(r.selectionIm), f(r.selectionIwv), f(r.selectionReverseValidation),
                    f(r.fitSeconds?.mean), f(r.fitSeconds?.std),
                ].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Pretty JSON with sorted snake_case keys (`ResultJSON`).
    public func jsonData() throws -> Data { try ResultJSON.encoder().encode(self) }

    /// Writes summary.md, summary.csv, summary.json, selection.csv (when there is a selection study), the SVG plots and report.html into `directory`; returns the files written.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        var written: [URL] = []
        func put(_ name: String, _ data: Data) throws {
            let url = directory.appendingPathComponent(name)
            try writeAtomically(data, to: url)
            written.append(url)
        }
        try put("summary.md", Data(markdown.utf8))
        try put("summary.csv", Data(csv.utf8))
        try put("summary.json", try jsonData())
        if !selectionCosts.isEmpty { try put("selection.csv", Data(selectionCSV.utf8)) }
        try put("accuracy.svg", Data(Plots.accuracyPerStrategy(self).utf8))
        if rows.contains(where: { $0.severity != nil }) {
            try put("sweep.svg", Data(Plots.sweep(self).utf8))
        }
        try put(ReportPage.fileName, Data(ReportPage.comparison(self, folder: directory).utf8))  // last: it inlines the plots
        return written
    }
}
