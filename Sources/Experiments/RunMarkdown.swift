import Adaptation
import Foundation

/// `summary.md` of a run folder: the numbers of summary.txt as Markdown tables (renders on GitHub
/// and in notebooks), with every class listed by name so a class the model fails cannot hide
/// behind the overall accuracy.
public enum RunMarkdown {
    public static let fileName = "summary.md"

    public static func text(_ r: RunReport) -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f", $0 * 100) } ?? "—" }
        func num(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "—" }
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        var out = "# \(cell(r.recipeName))\n\n"
        out += "Strategy `\(r.strategy)`, seed \(r.seed), recipe `\(cell(r.recipe))` (hash `\(r.recipeHash)`), status **\(r.status)**.\n"
        out += "Data: \(cell(r.dataset.shift)); \(r.dataset.sourceCount) source / \(r.dataset.targetCount) target training samples.\n\n"
        if let error = r.error { out += "Error: \(cell(error))\n\n" }
        out += "| | accuracy (%) | macro-F1 | evaluated on |\n|---|---|---|---|\n"
        out += "| source | \(pct(r.sourceAccuracy)) | \(num(r.sourceMacroF1)) | \(r.dataset.sourceEvaluation) |\n"
        out += "| target | \(pct(r.targetAccuracy)) | \(num(r.targetMacroF1)) | \(r.dataset.targetEvaluation ?? "no labels") |\n"
        if let base = r.sourceOnlyTargetAccuracy {
            let gain = r.targetAccuracy.map { String(format: "gain %+.1f points", ($0 - base) * 100) } ?? "—"
            out += "| target, source-only baseline | \(pct(base)) | — | \(gain) |\n"
        }
        let names = r.dataset.classNames
        if names.count == r.source.perClassF1.count {
            out += "\n## Per class\n\nAccuracy (%) is the recall of the class; support is its number of evaluated samples.\n\n"
            out += "| class | source acc | source F1 | source support |" + (r.target != nil ? " target acc | target F1 | target support |" : "") + "\n"
            out += "|---|---|---|---|" + (r.target != nil ? "---|---|---|" : "") + "\n"
            for (c, name) in names.enumerated() {
                out += "| \(cell(name)) | \(pct(r.source.perClassAccuracy[c])) | \(num(r.source.perClassF1[c])) | \(r.source.support[c]) |"
                if let t = r.target, c < t.perClassF1.count { out += " \(pct(t.perClassAccuracy[c])) | \(num(t.perClassF1[c])) | \(t.support[c]) |" }
                out += "\n"
            }
        }
        if let d = r.divergences {
            out += "\n## Domain divergence\n\n\(d.samples) samples per domain.\n\n| | input | features before | features after |\n|---|---|---|---|\n"
            for (name, pick) in [("MMD²", \DivergenceValues.mmd), ("CORAL", \DivergenceValues.coral), ("proxy A-distance", \DivergenceValues.pad)]
            where d.input[keyPath: pick] != nil {
                out += "| \(name) | \(num(d.input[keyPath: pick])) | \(num(d.before[keyPath: pick])) | \(num(d.after[keyPath: pick])) |\n"
            }
        }
        out += "\n## Selection scores (no target label used)\n\n"
            + "| source validation acc | target entropy (nats) | DEV risk | SND | IM (nats) | IWV risk | reverse validation acc |\n|---|---|---|---|---|---|---|\n"
        out += "| \(pct(r.selection.sourceValidation)) | \(num(r.selection.entropy)) | \(num(r.selection.dev)) | \(num(r.selection.snd)) | "
            + "\(num(r.selection.im)) | \(num(r.selection.iwv)) | \(pct(r.selection.reverseValidation)) |\n"
        if let c = r.checkpointSelection {
            out += "\n## Checkpoint selection\n\nThe report describes the epoch the rule `\(c.rule)` picked among the evaluated ones "
                + "(no target label used); the oracle is the evaluated epoch of highest target accuracy.\n\n"
            out += "| | epoch | target acc (%) |\n|---|---|---|\n"
            out += "| picked (\(c.rule)) | \(c.pickedEpoch) | \(pct(c.pickedTargetAccuracy)) |\n"
            out += "| last | \(c.lastEpoch) | \(pct(c.lastTargetAccuracy)) |\n"
            out += "| oracle | \(c.oracleEpoch.map(String.init) ?? "—") | \(pct(c.oracleTargetAccuracy)) |\n"
        }
        out += "\n\(r.epochs.count) epochs, \(r.steps) steps, " + String(format: "%.1f s (training %.1f s)", r.wallSeconds, r.trainSeconds) + ".\n"
        return out
    }

    /// Writes `folder/summary.md` atomically, with links to the folder's plots and report.html.
    public static func write(_ r: RunReport, into folder: URL) throws {
        try writeAtomically(Data((text(r) + links(in: folder)).utf8), to: folder.appendingPathComponent(fileName))
    }

    /// Image links to the plots the folder holds (in reading order) and a link to report.html.
    static func links(in folder: URL) -> String {
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
        let plots = ReportPage.runPlotOrder.filter(present.contains)
        var out = "\n## Plots\n\nAll tables and plots on one page: [report.html](report.html).\n"
        for plot in plots { out += "\n![\(plot.dropLast(4).replacingOccurrences(of: "-", with: " "))](\(plot))\n" }
        return out
    }
}
