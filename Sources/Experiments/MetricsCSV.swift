import Adaptation
import Foundation

/// `metrics.csv` in a run folder: one row per evaluated epoch, for people who plot with pandas.
///
/// Columns: `epoch`, `progress`, `learning_rate`, one `loss.<term>` per loss term any epoch reported
/// (`loss.total` first, then `loss.source.crossEntropy`, the strategies' terms and their components,
/// sorted), `source_accuracy`, `target_accuracy`. A value an epoch did not report is an empty cell
/// (pandas reads it as NaN); so is the target accuracy of a run without target labels.
public enum MetricsCSV {
    public static let fileName = "metrics.csv"

    public static func text(_ epochs: [EpochMetrics]) -> String {
        let evaluated = epochs.filter { $0.sourceAccuracy != nil || $0.targetAccuracy != nil }
        let terms = Set(evaluated.flatMap(\.losses.keys)).sorted { a, b in a == "total" ? b != "total" : (b == "total" ? false : a < b) }
        func field(_ s: String) -> String { s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        func number(_ v: Double?) -> String { v.map { String($0) } ?? "" }
        var lines = [(["epoch", "progress", "learning_rate"] + terms.map { "loss." + $0 } + ["source_accuracy", "target_accuracy"]).map(field).joined(separator: ",")]
        for e in evaluated {
            lines.append(([String(e.epoch), number(e.progress), number(e.learningRate)] + terms.map { number(e.losses[$0]) }
                + [number(e.sourceAccuracy), number(e.targetAccuracy)]).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `folder/metrics.csv` atomically.
    public static func write(_ epochs: [EpochMetrics], into folder: URL) throws {
        try writeAtomically(Data(text(epochs).utf8), to: folder.appendingPathComponent(fileName))
    }
}
