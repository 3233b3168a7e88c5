import Foundation

/// Hand-written SVG plots of a comparison (no plotting dependency): plain elements, readable in
/// any browser and on GitHub.
///
/// Text is measured with Helvetica's advance widths (``textWidth(_:fontSize:bold:)``) and the canvas
/// grows to fit the longest label, so nothing is clipped at the edge of the viewBox. Texts carry a
/// class (`title`, `tick-x`, `tick-y`, `axis-label`, `legend`, `caption`) so that tests can find them.
public enum Plots {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    /// Target accuracy per strategy (mean ± std over seeds), one colour and marker per task. For a
    /// sweep the legend names the sweep once, as its title, and lists just the values.
    public static func accuracyPerStrategy(_ summary: ComparisonSummary) -> String {
        let strategies = summary.strategies, tasks = summary.tasks
        let isSweep = summary.rows.contains { $0.severity != nil }
        let slot = max(90, (strategies.map { textWidth($0, fontSize: 11) }.max() ?? 0) + 18, Double(tasks.count) * 12 + 24, 420 / Double(max(strategies.count, 1)))
        let dodge = tasks.count > 1 ? min(12, slot * 0.7 / Double(tasks.count)) : 0
        var legend: Legend?
        if tasks.count > 1 || tasks.first != summary.title {
            legend = Legend(
                title: isSweep ? summary.sweepLabel ?? summary.sweepKey ?? "severity" : "task",
                entries: tasks.enumerated().map { j, task in
                    let severity = summary.rows.first { $0.task == task }?.severity
                    return LegendEntry(text: severity.map(summary.severityText) ?? task, colour: palette[j % palette.count], dashed: false, line: false, marker: Marker.cycle[j % Marker.cycle.count])
                })
        }
        let figure = Figure(
            title: summary.title + ": target accuracy per strategy", yLabel: "target accuracy (%)", axis: ValueAxis(covering: barExtents(summary)),
            plotWidth: slot * Double(strategies.count),
            xTicks: strategies.enumerated().map { XTick(x: slot * (Double($0.offset) + 0.5), lines: [$0.element]) },
            xLabel: nil, separatorX: nil, legend: legend, caption: caption(summary))
        return figure.render { canvas in
            var body = ""
            for (i, strategy) in strategies.enumerated() {
                for (j, task) in tasks.enumerated() {
                    guard let acc = summary.row(task: task, strategy: strategy)?.targetAccuracy else { continue }
                    let x = canvas.plotLeft + slot * (Double(i) + 0.5) + (Double(j) - Double(tasks.count - 1) / 2) * dodge
                    body += point(x: x, acc: acc, canvas: canvas, colour: palette[j % palette.count], marker: Marker.cycle[j % Marker.cycle.count])
                }
            }
            return body
        }
    }

    /// Target accuracy against shift severity, one line per strategy; source-only (black, dashed)
    /// and target-only (grey, dashed) as reference lines drawn over the strategies, so that a
    /// strategy that coincides with them cannot hide them. Markers differ per strategy and are
    /// nudged sideways (dodged) so that equal values stay visible. Tasks outside the sweep (e.g.
    /// permuted labels) are drawn at the right, past a dashed separator.
    public static func sweep(_ summary: ComparisonSummary) -> String {
        let series = sweepSeries(summary)
        let layout = SweepLayout(summary, seriesCount: series.count)
        var xTicks = layout.numericTicks
        xTicks += zip(layout.extraX, layout.extraLines).map { XTick(x: $0, lines: $1) }
        let figure = Figure(
            title: summary.title + ": accuracy against shift", yLabel: "target accuracy (%)", axis: ValueAxis(covering: barExtents(summary)),
            plotWidth: layout.plotWidth, xTicks: xTicks,
            xLabel: (summary.sweepLabel ?? summary.sweepKey ?? "shift", layout.numericCentre), separatorX: layout.separatorX,
            legend: Legend(title: "strategy", entries: series.map { LegendEntry(text: $0.name, colour: $0.colour, dashed: $0.dashed, line: true, marker: $0.marker) }),
            caption: caption(summary) + "; points nudged sideways so that equal values stay visible")
        return figure.render { canvas in
            // Strategies first, the baselines last (on top), source-only topmost.
            let order = series.indices.sorted { a, b in (series[a].layer, a) < (series[b].layer, b) }
            var body = ""
            for k in order {
                let s = series[k]
                let shift = (Double(k) - Double(series.count - 1) / 2) * layout.dodge
                let points = layout.severities.compactMap { v -> (Double, MeanStd)? in
                    guard let acc = summary.rows.first(where: { $0.strategy == s.name && $0.severity == v })?.targetAccuracy else { return nil }
                    return (canvas.plotLeft + layout.x(v) + shift, acc)
                }
                if points.count > 1 {
                    let path = points.map { "\(f($0.0)),\(f(canvas.y($0.1.mean * 100)))" }.joined(separator: " ")
                    body += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.colour)\" stroke-width=\"2\" stroke-linejoin=\"round\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
                }
                for p in points { body += point(x: p.0, acc: p.1, canvas: canvas, colour: s.colour, marker: s.marker) }
                for (task, x) in zip(layout.extras, layout.extraX) {
                    guard let acc = summary.row(task: task, strategy: s.name)?.targetAccuracy else { continue }
                    body += point(x: canvas.plotLeft + x + shift, acc: acc, canvas: canvas, colour: s.colour, marker: s.marker)
                }
            }
            return body
        }
    }
}

// MARK: - Content shared by both plots

extension Plots {
    /// Lowest mean − std and highest mean + std over all rows, in %: the y axis covers whole bars.
    static func barExtents(_ summary: ComparisonSummary) -> (Double, Double) {
        let accs = summary.rows.compactMap(\.targetAccuracy)
        guard let lo = accs.map({ ($0.mean - $0.std) * 100 }).min(), let hi = accs.map({ ($0.mean + $0.std) * 100 }).max() else { return (0, 100) }
        return (lo, hi)
    }

    /// What a point and a bar are, with the seed count read from the rows ("3–5 seeds" when they differ).
    static func caption(_ summary: ComparisonSummary) -> String {
        let counts = summary.rows.compactMap { $0.targetAccuracy?.count }
        guard let fewest = counts.min(), let most = counts.max() else { return "no completed runs" }
        if most == 1 { return "points: 1 seed each, so no error bars (a standard deviation needs 2 or more)" }
        let seeds = fewest == most ? "\(most) seeds" : "\(fewest)–\(most) seeds"
        return "points: mean over \(seeds); bars: ±1 std (sample, n − 1)" + (fewest == 1 ? ", none for a single seed" : "")
    }

    /// One line of the sweep plot.
    struct Series {
        var name: String
        var colour: String
        var dashed: Bool
        var marker: Marker
        /// Drawing order: strategies (0), target-only (1), source-only (2, on top).
        var layer: Int
    }

    static func sweepSeries(_ summary: ComparisonSummary) -> [Series] {
        var colourIndex = 0
        return summary.strategies.map { strategy in
            switch strategy {
            case "sourceOnly": return Series(name: strategy, colour: "#000000", dashed: true, marker: .openCircle, layer: 2)
            case "targetOnly": return Series(name: strategy, colour: "#999999", dashed: true, marker: .openSquare, layer: 1)
            default:
                defer { colourIndex += 1 }
                return Series(name: strategy, colour: palette[colourIndex % palette.count], dashed: false, marker: Marker.cycle[colourIndex % Marker.cycle.count], layer: 0)
            }
        }
    }

    /// Error bar (mean ± std, only where std > 0) and the marker at the mean.
    static func point(x: Double, acc: MeanStd, canvas: Canvas, colour: String, marker: Marker) -> String {
        var s = ""
        if acc.std > 0 {
            let (lo, hi) = (canvas.y((acc.mean - acc.std) * 100), canvas.y((acc.mean + acc.std) * 100))
            s += "<path d=\"M\(f(x)) \(f(lo))V\(f(hi))M\(f(x - 3)) \(f(lo))H\(f(x + 3))M\(f(x - 3)) \(f(hi))H\(f(x + 3))\" stroke=\"\(colour)\" stroke-width=\"1.2\" fill=\"none\"/>\n"
        }
        return s + marker.svg(x: x, y: canvas.y(acc.mean * 100), colour: colour)
    }

    /// Marker shapes; the open ones belong to the baselines.
    enum Marker {
        case circle, square, triangleUp, diamond, triangleDown, openCircle, openSquare

        static let cycle: [Marker] = [.circle, .square, .triangleUp, .diamond, .triangleDown]

        func svg(x: Double, y: Double, colour: String) -> String {
            func polygon(_ points: [(Double, Double)]) -> String {
                "<polygon points=\"\(points.map { "\(f(x + $0.0)),\(f(y + $0.1))" }.joined(separator: " "))\" fill=\"\(colour)\"/>\n"
            }
            switch self {
            case .circle: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4\" fill=\"\(colour)\"/>\n"
            case .square: return "<rect x=\"\(f(x - 3.5))\" y=\"\(f(y - 3.5))\" width=\"7\" height=\"7\" fill=\"\(colour)\"/>\n"
            case .triangleUp: return polygon([(0, -5), (4.5, 3.5), (-4.5, 3.5)])
            case .diamond: return polygon([(0, -5), (5, 0), (0, 5), (-5, 0)])
            case .triangleDown: return polygon([(0, 5), (4.5, -3.5), (-4.5, -3.5)])
            case .openCircle: return "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4.5\" fill=\"white\" fill-opacity=\"0.6\" stroke=\"\(colour)\" stroke-width=\"1.5\"/>\n"
            case .openSquare: return "<rect x=\"\(f(x - 4))\" y=\"\(f(y - 4))\" width=\"8\" height=\"8\" fill=\"white\" fill-opacity=\"0.6\" stroke=\"\(colour)\" stroke-width=\"1.5\"/>\n"
            }
        }
    }
}

// MARK: - The x axis of the sweep plot

extension Plots {
    /// Where the sweep values and the extra tasks go, relative to the plot's left edge: the numeric
    /// part wide enough that its labels keep apart, then a separator with a gap worked out from the
    /// label widths, then the extra tasks.
    struct SweepLayout {
        static let tickSize = 11.0, labelGap = 10.0, separatorGap = 14.0

        var severities: [Double]
        var extras: [String]
        var extraLines: [[String]] = []
        var extraX: [Double] = []
        var numericTicks: [XTick] = []
        var separatorX: Double?
        var plotWidth = 0.0
        var dodge = 0.0
        var padding = 0.0, numericWidth = 0.0

        func x(_ v: Double) -> Double {
            guard let first = severities.first, let last = severities.last, last > first else { return padding }
            return padding + numericWidth * (v - first) / (last - first)
        }

        var numericCentre: Double { padding + numericWidth / 2 }

        init(_ summary: ComparisonSummary, seriesCount: Int) {
            severities = Array(Set(summary.rows.compactMap(\.severity))).sorted()
            extras = summary.tasks.filter { task in summary.rows.first { $0.task == task }?.severity == nil }
            let labels = severities.map(summary.severityText)
            let half = labels.map { textWidth($0, fontSize: Self.tickSize) / 2 }
            // Wide enough for the closest pair of labels, within 400…900 px; labels that still collide are skipped.
            var required = 400.0
            if let first = severities.first, let last = severities.last, last > first {
                for i in 1..<severities.count {
                    required = max(required, (half[i - 1] + half[i] + Self.labelGap) * (last - first) / (severities[i] - severities[i - 1]))
                }
                numericWidth = min(required, 900)
                let closest = (1..<severities.count).map { numericWidth * (severities[$0] - severities[$0 - 1]) / (last - first) }.min()!
                dodge = min(3, closest * 0.5 / Double(max(seriesCount, 1)))
            } else {
                dodge = 3
            }
            let reach = dodge * Double(max(seriesCount - 1, 0)) / 2 + 5
            padding = max(16, (half.first ?? 0) + 6, reach + 8)
            var drawnRight = -Double.infinity
            for (v, (label, h)) in zip(severities, zip(labels, half)) where x(v) - h >= drawnRight + Self.labelGap {
                numericTicks.append(XTick(x: x(v), lines: [label]))
                drawnRight = x(v) + h
            }
            let lastRight = x(severities.last ?? 0) + max(half.last ?? 0, reach)
            layOutExtras(after: lastRight, reach: reach)
        }

        /// Each extra task is one tick whose parenthesised explanation goes on a second line.
        private mutating func layOutExtras(after lastRight: Double, reach: Double) {
            guard !extras.isEmpty else {
                plotWidth = lastRight + 10
                return
            }
            extraLines = extras.map { task in
                let parts = task.components(separatedBy: " (")
                let lines = parts.count == 2 && textWidth(task, fontSize: Self.tickSize) > 90 ? [parts[0], "(" + parts[1]] : [task]
                return lines.flatMap { wrap($0, maxWidth: 140, fontSize: Self.tickSize) }
            }
            let halfWidths = extraLines.map { lines in max(reach, lines.map { textWidth($0, fontSize: Self.tickSize) }.max()! / 2) }
            let separator = lastRight + Self.separatorGap
            separatorX = separator
            var right = separator + Self.separatorGap
            for h in halfWidths {
                extraX.append(right + h)
                right += 2 * h + 2 * Self.labelGap
            }
            plotWidth = right - 2 * Self.labelGap + 10
        }
    }
}

// MARK: - Figure: axes, ticks, legend, caption and a canvas sized to fit them

extension Plots {
    /// A tick label of the x axis at `x` (relative to the plot's left edge), one or more lines.
    struct XTick {
        var x: Double
        var lines: [String]
    }

    struct LegendEntry {
        var text: String
        var colour: String
        var dashed: Bool
        /// A line sample behind the marker (the sweep's curves) or the marker alone.
        var line: Bool
        var marker: Marker
    }

    struct Legend {
        var title: String?
        var entries: [LegendEntry]
    }

    /// Round y ticks (1, 2 or 5 × 10ᵏ apart) that cover the given range, at least 10 points wide.
    struct ValueAxis {
        var min: Double, max: Double, step: Double

        init(covering extents: (Double, Double)) {
            var (lo, hi) = extents
            if hi - lo < 10 {
                // Too narrow (one seed, equal values): 10 points around the data, inside 0…100 where the data is.
                (lo, hi) = ((lo + hi) / 2 - 5, (lo + hi) / 2 + 5)
                let (floor, ceiling) = (Swift.min(extents.0, 0), Swift.max(extents.1, 100))
                if hi > ceiling { (lo, hi) = (ceiling - 10, ceiling) }
                if lo < floor { (lo, hi) = (floor, floor + 10) }
            }
            let raw = (hi - lo) / 6
            let magnitude = pow(10, log10(raw).rounded(.down))
            step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-9) }!
            min = (lo / step + 1e-9).rounded(.down) * step
            max = (hi / step - 1e-9).rounded(.up) * step
        }

        var ticks: [Double] { (0...Int(((max - min) / step).rounded())).map { min + Double($0) * step } }

        func label(_ v: Double) -> String {
            let decimals = Swift.max(0, Int((-log10(step) - 1e-9).rounded(.up)))
            return String(format: "%.\(decimals)f", abs(v) < step * 1e-6 ? 0 : v)
        }
    }

    /// The plot area, once the figure is laid out.
    struct Canvas {
        var plotLeft: Double, plotTop: Double, plotWidth: Double, plotHeight: Double
        var axis: ValueAxis
        var plotBottom: Double { plotTop + plotHeight }
        func y(_ v: Double) -> Double { plotTop + plotHeight * (1 - (v - axis.min) / Swift.max(axis.max - axis.min, 1e-9)) }
    }

    struct Figure {
        static let plotHeight = 300.0, titleSize = 15.0, tickSize = 11.0, labelSize = 12.0, legendSize = 12.0, captionSize = 11.0
        static let legendWrap = 240.0, tickLine = 13.0, legendLine = 15.0, margin = 12.0

        var title: String
        var yLabel: String
        var axis: ValueAxis
        var plotWidth: Double
        var xTicks: [XTick]
        /// Text and centre (relative to the plot's left edge).
        var xLabel: (String, Double)?
        var separatorX: Double?
        var legend: Legend?
        var caption: String

        /// Lays the figure out around a plot area and draws `body` (the data) into it.
        func render(_ body: (Canvas) -> String) -> String {
            let tickLabels = axis.ticks.map(axis.label)
            let plotLeft = Swift.max(60, 32 + (tickLabels.map { textWidth($0, fontSize: Self.tickSize) }.max() ?? 0))
            let plotRight = plotLeft + plotWidth
            let legendLines = legend.map(wrappedLegend) ?? []
            let legendWidth = legendLines.map { entry in entry.lines.map { textWidth($0, fontSize: Self.legendSize, bold: entry.isTitle) + (entry.isTitle ? 0 : 32) }.max() ?? 0 }.max() ?? 0
            var right = [plotRight + Self.margin, plotLeft + textWidth(caption, fontSize: Self.captionSize) + Self.margin]
            if legend != nil { right.append(plotRight + 24 + legendWidth + Self.margin) }
            if let xLabel { right.append(plotLeft + textWidth(xLabel.0, fontSize: Self.labelSize) + Self.margin) }
            let width = (right.max()!).rounded(.up)
            let titleLines = Plots.titleLines(title, maxWidth: width - 2 * Self.margin, fontSize: Self.titleSize)

            let plotTop = 28 + 19 * Double(titleLines.count - 1) + 16
            let canvas = Canvas(plotLeft: plotLeft, plotTop: plotTop, plotWidth: plotWidth, plotHeight: Self.plotHeight, axis: axis)
            let tickRows = Double(xTicks.map(\.lines.count).max() ?? 1)
            var lastBaseline = canvas.plotBottom + 17 + Self.tickLine * (tickRows - 1)
            if xLabel != nil { lastBaseline += 21 }
            let captionY = lastBaseline + 20
            let legendBottom = plotTop + 10 + legendLines.reduce(0) { $0 + Double($1.lines.count) * Self.legendLine + 5 }
            let height = Swift.max(captionY + 4 + Self.margin, legendBottom + Self.margin).rounded(.up)

            var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
            s += "<title>\(escape(title))</title>\n"
            s += "<rect width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"white\"/>\n"
            for (i, line) in titleLines.enumerated() {
                s += text(line, x: width / 2, y: 28 + 19 * Double(i), size: Self.titleSize, anchor: "middle", bold: true, cls: "title")
            }
            s += yAxis(canvas, tickLabels: tickLabels)
            if let separatorX {
                let x = plotLeft + separatorX
                s += "<line x1=\"\(f(x))\" y1=\"\(f(plotTop))\" x2=\"\(f(x))\" y2=\"\(f(canvas.plotBottom + 6))\" stroke=\"#888888\" stroke-width=\"1\" stroke-dasharray=\"3 3\"/>\n"
            }
            s += body(canvas)
            s += xAxis(canvas)
            if let xLabel {
                let (label, centre) = xLabel
                let half = textWidth(label, fontSize: Self.labelSize) / 2
                s += text(label, x: Swift.max(plotLeft + centre, half + Self.margin), y: lastBaseline, size: Self.labelSize, anchor: "middle", cls: "axis-label")
            }
            s += text(caption, x: plotLeft, y: captionY, size: Self.captionSize, cls: "caption", fill: "#444444")
            s += legendSVG(legendLines, x: plotRight + 24, top: plotTop + 10)
            return s + "</svg>\n"
        }

        /// Grid lines, round tick labels, the axis line and its rotated label.
        func yAxis(_ canvas: Canvas, tickLabels: [String]) -> String {
            var s = ""
            for (tick, label) in zip(axis.ticks, tickLabels) {
                let y = canvas.y(tick)
                s += "<line x1=\"\(f(canvas.plotLeft))\" y1=\"\(f(y))\" x2=\"\(f(canvas.plotLeft + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>\n"
                s += text(label, x: canvas.plotLeft - 6, y: y + 4, size: Self.tickSize, anchor: "end", cls: "tick-y")
            }
            s += "<line x1=\"\(f(canvas.plotLeft))\" y1=\"\(f(canvas.plotTop))\" x2=\"\(f(canvas.plotLeft))\" y2=\"\(f(canvas.plotBottom))\" stroke=\"black\"/>\n"
            s += "<text transform=\"translate(18 \(f(canvas.plotTop + canvas.plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"\(Int(Self.labelSize))\" class=\"axis-label\">\(escape(yLabel))</text>\n"
            return s
        }

        /// The axis line (broken at the separator), tick marks and tick labels.
        func xAxis(_ canvas: Canvas) -> String {
            let y = canvas.plotBottom
            var segments = [(canvas.plotLeft, canvas.plotLeft + plotWidth)]
            if let separatorX { segments = [(canvas.plotLeft, canvas.plotLeft + separatorX - 4), (canvas.plotLeft + separatorX + 4, canvas.plotLeft + plotWidth)] }
            var s = segments.map { "<line x1=\"\(f($0.0))\" y1=\"\(f(y))\" x2=\"\(f($0.1))\" y2=\"\(f(y))\" stroke=\"black\"/>\n" }.joined()
            for tick in xTicks {
                let x = canvas.plotLeft + tick.x
                s += "<line x1=\"\(f(x))\" y1=\"\(f(y))\" x2=\"\(f(x))\" y2=\"\(f(y + 4))\" stroke=\"black\"/>\n"
                for (k, line) in tick.lines.enumerated() {
                    s += text(line, x: x, y: y + 17 + Self.tickLine * Double(k), size: Self.tickSize, anchor: "middle", cls: "tick-x")
                }
            }
            return s
        }

        struct LegendBlock {
            var lines: [String]
            var isTitle: Bool
            var entry: LegendEntry?
        }

        func wrappedLegend(_ legend: Legend) -> [LegendBlock] {
            let title = legend.title.map { LegendBlock(lines: wrap($0, maxWidth: Self.legendWrap, fontSize: Self.legendSize, bold: true), isTitle: true, entry: nil) }
            let entries = legend.entries.map { LegendBlock(lines: wrap($0.text, maxWidth: Self.legendWrap - 32, fontSize: Self.legendSize), isTitle: false, entry: $0) }
            return (title.map { [$0] } ?? []) + entries
        }

        func legendSVG(_ blocks: [LegendBlock], x: Double, top: Double) -> String {
            var s = ""
            var y = top + 12
            for block in blocks {
                if let entry = block.entry {
                    if entry.line {
                        s += "<line x1=\"\(f(x))\" y1=\"\(f(y - 4))\" x2=\"\(f(x + 24))\" y2=\"\(f(y - 4))\" stroke=\"\(entry.colour)\" stroke-width=\"2\"\(entry.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
                    }
                    s += entry.marker.svg(x: x + 12, y: y - 4, colour: entry.colour)
                }
                for (k, line) in block.lines.enumerated() {
                    s += text(line, x: block.isTitle ? x : x + 32, y: y + Self.legendLine * Double(k), size: Self.legendSize, bold: block.isTitle, cls: "legend")
                }
                y += Self.legendLine * Double(block.lines.count) + 5
            }
            return s
        }
    }

    static func text(_ content: String, x: Double, y: Double, size: Double, anchor: String = "start", bold: Bool = false, cls: String, fill: String? = nil) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\"\(anchor == "start" ? "" : " text-anchor=\"\(anchor)\"") font-size=\"\(Int(size))\"\(bold ? " font-weight=\"bold\"" : "")"
            + "\(fill.map { " fill=\"\($0)\"" } ?? "") class=\"\(cls)\">\(escape(content))</text>\n"
    }
}

// MARK: - Measuring text

extension Plots {
    /// Helvetica advance widths (Adobe AFM, 1/1000 em) for ASCII 32…126.
    static let helveticaWidths: [Int] = [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
        278, 278, 584, 584, 584, 556, 1015,
        667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611,
        278, 278, 278, 469, 556, 333,
        556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500,
        334, 260, 334, 584,
    ]
    static let otherWidths: [Character: Int] = ["°": 400, "±": 584, "−": 584, "–": 556, "—": 1000, "…": 1000, "×": 584, "→": 1000, "·": 278]

    /// Estimated advance width in px: Helvetica's widths, a full em for characters it lacks, bold 10 % wider.
    static func textWidth(_ text: String, fontSize: Double, bold: Bool = false) -> Double {
        let units = text.reduce(0) { sum, character in
            if let code = character.asciiValue, code >= 32, code <= 126 { return sum + helveticaWidths[Int(code) - 32] }
            return sum + (otherWidths[character] ?? 1000)
        }
        return Double(units) / 1000 * fontSize * (bold ? 1.1 : 1)
    }

    /// Greedy word wrap; a word wider than `maxWidth` gets a line of its own (and widens the block).
    static func wrap(_ text: String, maxWidth: Double, fontSize: Double, bold: Bool = false) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            let candidate = current.isEmpty ? String(word) : current + " " + word
            if current.isEmpty || textWidth(candidate, fontSize: fontSize, bold: bold) <= maxWidth {
                current = candidate
            } else {
                lines.append(current)
                current = String(word)
            }
        }
        return current.isEmpty ? lines : lines + [current]
    }

    /// A title on one line, else two; only what still does not fit ends in an ellipsis.
    static func titleLines(_ title: String, maxWidth: Double, fontSize: Double) -> [String] {
        var lines = wrap(title, maxWidth: maxWidth, fontSize: fontSize, bold: true)
        if lines.count > 2 { lines = [lines[0], lines[1...].joined(separator: " ")] }
        return lines.map { line in
            guard textWidth(line, fontSize: fontSize, bold: true) > maxWidth else { return line }
            var cut = line
            while !cut.isEmpty, textWidth(cut + "…", fontSize: fontSize, bold: true) > maxWidth { cut.removeLast() }
            return cut + "…"
        }
    }
}
