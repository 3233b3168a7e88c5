import Foundation

/// Hand-written SVG plots of a comparison (no plotting dependency): plain elements, readable in
/// any browser and on GitHub.
public enum Plots {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    struct Frame {
        let width = 760.0, height = 420.0
        let left = 60.0, right = 190.0, top = 40.0, bottom = 70.0
        var yMin: Double, yMax: Double
        var plotWidth: Double { width - left - right }
        var plotHeight: Double { height - top - bottom }
        func y(_ v: Double) -> Double { top + plotHeight * (1 - (v - yMin) / max(yMax - yMin, 1e-9)) }
    }

    /// Accuracy bounds rounded out to 10 %.
    static func bounds(_ values: [Double]) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (0, 100) }
        return (max(0, (lo / 10).rounded(.down) * 10), min(100, max((hi / 10).rounded(.up) * 10, (lo / 10).rounded(.down) * 10 + 10)))
    }

    static func axes(_ frame: Frame, title: String, yLabel: String) -> String {
        var s = "<rect width=\"\(frame.width)\" height=\"\(frame.height)\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(frame.width / 2 - frame.right / 2 + frame.left / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        var tick = frame.yMin
        while tick <= frame.yMax + 1e-9 {
            let y = frame.y(tick)
            s += "<line x1=\"\(f(frame.left))\" y1=\"\(f(y))\" x2=\"\(f(frame.left + frame.plotWidth))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(f(frame.left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\" font-size=\"11\">\(Int(tick))</text>\n"
            tick += (frame.yMax - frame.yMin) > 40 ? 10 : 5
        }
        s += "<line x1=\"\(f(frame.left))\" y1=\"\(f(frame.top))\" x2=\"\(f(frame.left))\" y2=\"\(f(frame.top + frame.plotHeight))\" stroke=\"black\"/>\n"
        s += "<line x1=\"\(f(frame.left))\" y1=\"\(f(frame.top + frame.plotHeight))\" x2=\"\(f(frame.left + frame.plotWidth))\" y2=\"\(f(frame.top + frame.plotHeight))\" stroke=\"black\"/>\n"
        s += "<text transform=\"translate(16 \(f(frame.top + frame.plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">\(escape(yLabel))</text>\n"
        return s
    }

    static func document(_ frame: Frame, _ body: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(frame.width))\" height=\"\(Int(frame.height))\" viewBox=\"0 0 \(Int(frame.width)) \(Int(frame.height))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
            + body + "</svg>\n"
    }

    static func errorBar(x: Double, mean: Double, std: Double, frame: Frame, color: String) -> String {
        let (y, lo, hi) = (frame.y(mean), frame.y(max(frame.yMin, mean - std)), frame.y(min(frame.yMax, mean + std)))
        var s = ""
        if std > 0 {
            s += "<line x1=\"\(f(x))\" y1=\"\(f(lo))\" x2=\"\(f(x))\" y2=\"\(f(hi))\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n"
            s += "<line x1=\"\(f(x - 4))\" y1=\"\(f(lo))\" x2=\"\(f(x + 4))\" y2=\"\(f(lo))\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n"
            s += "<line x1=\"\(f(x - 4))\" y1=\"\(f(hi))\" x2=\"\(f(x + 4))\" y2=\"\(f(hi))\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n"
        }
        s += "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4\" fill=\"\(color)\"/>\n"
        return s
    }

    static func legend(_ items: [(String, String, Bool)], frame: Frame) -> String {
        var s = ""
        for (i, item) in items.enumerated() {
            let y = frame.top + 8 + Double(i) * 18
            let x = frame.left + frame.plotWidth + 14
            s += "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x + 22))\" y2=\"\(f(y))\" stroke=\"\(item.1)\" stroke-width=\"2.5\"\(item.2 ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            s += "<text x=\"\(f(x + 28))\" y=\"\(f(y + 4))\" font-size=\"12\">\(escape(item.0))</text>\n"
        }
        return s
    }

    /// Target accuracy per strategy (mean ± std over seeds), one colour per task.
    public static func accuracyPerStrategy(_ summary: ComparisonSummary) -> String {
        let strategies = summary.strategies
        let tasks = summary.tasks
        let values = summary.rows.compactMap { r in r.targetAccuracy.map { ($0.mean - $0.std) * 100 } }
            + summary.rows.compactMap { r in r.targetAccuracy.map { ($0.mean + $0.std) * 100 } }
        let (lo, hi) = bounds(values)
        let frame = Frame(yMin: lo, yMax: hi)
        var body = axes(frame, title: summary.title + ": target accuracy per strategy", yLabel: "target accuracy (%)")
        let slot = frame.plotWidth / Double(max(strategies.count, 1))
        for (i, strategy) in strategies.enumerated() {
            let centre = frame.left + slot * (Double(i) + 0.5)
            body += "<text transform=\"translate(\(f(centre)) \(f(frame.top + frame.plotHeight + 14))) rotate(25)\" font-size=\"11\">\(escape(strategy))</text>\n"
            for (j, task) in tasks.enumerated() {
                guard let acc = summary.row(task: task, strategy: strategy)?.targetAccuracy else { continue }
                let offset = tasks.count > 1 ? (Double(j) - Double(tasks.count - 1) / 2) * min(10, slot * 0.7 / Double(tasks.count)) : 0
                body += errorBar(x: centre + offset, mean: acc.mean * 100, std: acc.std * 100, frame: frame, color: palette[j % palette.count])
            }
        }
        if tasks.count > 1 || tasks.first != summary.title {
            body += legend(tasks.prefix(16).enumerated().map { (label(summary, $0.element), palette[$0.offset % palette.count], false) }, frame: frame)
        }
        return document(frame, body)
    }

    static func label(_ summary: ComparisonSummary, _ task: String) -> String {
        if let v = summary.rows.first(where: { $0.task == task })?.severity, let name = summary.sweepLabel {
            return "\(name) \(summary.severityText(v))"
        }
        return task
    }

    /// Target accuracy against shift severity, one line per strategy; source-only (black, dashed)
    /// and target-only (grey, dashed) as reference lines. Tasks outside the sweep (e.g. permuted
    /// labels) are drawn after a gap at the right.
    public static func sweep(_ summary: ComparisonSummary) -> String {
        let tasks = summary.tasks
        let severities = Array(Set(summary.rows.compactMap(\.severity))).sorted()
        let extras = tasks.filter { t in summary.rows.first { $0.task == t }?.severity == nil }
        let values = summary.rows.compactMap { r in r.targetAccuracy.map { ($0.mean - $0.std) * 100 } }
            + summary.rows.compactMap { r in r.targetAccuracy.map { ($0.mean + $0.std) * 100 } }
        let (lo, hi) = bounds(values)
        let frame = Frame(yMin: lo, yMax: hi)
        var body = axes(frame, title: summary.title + ": accuracy against shift", yLabel: "target accuracy (%)")
        let (sMin, sMax) = (severities.first ?? 0, severities.last ?? 1)
        let numericWidth = frame.plotWidth * (extras.isEmpty ? 0.94 : 0.78)
        func x(_ v: Double) -> Double { frame.left + frame.plotWidth * 0.03 + numericWidth * (sMax > sMin ? (v - sMin) / (sMax - sMin) : 0.5) }
        func extraX(_ i: Int) -> Double { frame.left + frame.plotWidth * 0.03 + numericWidth + frame.plotWidth * 0.08 * Double(i + 1) }
        for v in severities {
            body += "<text x=\"\(f(x(v)))\" y=\"\(f(frame.top + frame.plotHeight + 16))\" text-anchor=\"middle\" font-size=\"11\">\(summary.severityText(v))</text>\n"
        }
        for (i, task) in extras.enumerated() {
            // Horizontal like the numeric ticks; a parenthesised explanation goes on a second line.
            let parts = task.components(separatedBy: " (")
            let lines = parts.count == 2 ? [parts[0], "(" + parts[1]] : [task]
            for (k, line) in lines.enumerated() {
                body += "<text x=\"\(f(extraX(i)))\" y=\"\(f(frame.top + frame.plotHeight + 16 + 13 * Double(k)))\" text-anchor=\"middle\" font-size=\"11\">\(escape(line))</text>\n"
            }
        }
        body += "<text x=\"\(f(frame.left + numericWidth / 2))\" y=\"\(f(frame.height - 14))\" text-anchor=\"middle\" font-size=\"12\">\(escape(summary.sweepLabel ?? summary.sweepKey ?? "shift"))</text>\n"
        var legendItems: [(String, String, Bool)] = []
        var colourIndex = 0
        for strategy in summary.strategies {
            let colour: String
            let dashed: Bool
            switch strategy {
            case "sourceOnly": (colour, dashed) = ("#000000", true)
            case "targetOnly": (colour, dashed) = ("#999999", true)
            default:
                colour = palette[colourIndex % palette.count]
                colourIndex += 1
                dashed = false
            }
            legendItems.append((strategy, colour, dashed))
            let points = severities.compactMap { v -> (Double, Double, Double)? in
                guard let row = summary.rows.first(where: { $0.strategy == strategy && $0.severity == v }), let acc = row.targetAccuracy else { return nil }
                return (x(v), acc.mean * 100, acc.std * 100)
            }
            if points.count > 1 {
                let path = points.map { "\(f($0.0)),\(f(frame.y($0.1)))" }.joined(separator: " ")
                body += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            }
            for p in points { body += errorBar(x: p.0, mean: p.1, std: p.2, frame: frame, color: colour) }
            for (i, task) in extras.enumerated() {
                guard let acc = summary.row(task: task, strategy: strategy)?.targetAccuracy else { continue }
                body += errorBar(x: extraX(i), mean: acc.mean * 100, std: acc.std * 100, frame: frame, color: colour)
            }
        }
        body += legend(legendItems, frame: frame)
        return document(frame, body)
    }
}
