import Adaptation
import Foundation
import TensorCore

/// Hand-written SVG diagnostic plots of one run (no plotting dependency), written into the run's
/// folder beside `report.json`: learning curves, source and target features before and after
/// training (PCA and t-SNE), the decision boundary of a 2-D problem and the confusion matrices.
///
/// The drawing functions are pure: plain values in, an SVG document out; every value they are
/// given may be missing, non-finite or degenerate (one epoch, one class, no target labels) and
/// still gives a well-formed plot. Element ids carry the plot's name, so that several plots can
/// be inlined into one HTML page.
public enum RunPlots {
    /// The plots a recipe can ask for (`evaluation.plots`).
    public enum Kind: String, Sendable, CaseIterable {
        case learningCurves = "learning_curves", features, decisionBoundary = "decision_boundary", confusion

        /// The file the plot is written to in the run folder.
        public var fileName: String {
            switch self {
            case .learningCurves: return "learning-curves.svg"
            case .features: return "features.svg"
            case .decisionBoundary: return "decision-boundary.svg"
            case .confusion: return "confusion.svg"
            }
        }
    }

    /// Rows of one domain, row-major with `dimension` values each, and their classes when known.
    public struct Points: Sendable, Equatable {
        public var values: [Double]
        public var dimension: Int
        /// One class per row; nil for an unlabelled domain.
        public var labels: [Int]?

        public init(values: [Double], dimension: Int, labels: [Int]?) {
            precondition(dimension >= 1 && values.count % dimension == 0, "RunPlots.Points: \(values.count) values are not rows of \(dimension)")
            if let labels { precondition(labels.count == values.count / dimension, "RunPlots.Points: \(labels.count) labels for \(values.count / dimension) rows") }
            self.values = values
            self.dimension = dimension
            self.labels = labels
        }

        /// A tensor's rows (any rank ≥ 1, flattened after the first axis).
        public init(_ tensor: Tensor, labels: [Int]?) {
            let rows = tensor.shape.first ?? 0
            self.init(values: tensor.scalars.map(Double.init), dimension: rows > 0 ? max(1, tensor.count / rows) : max(1, tensor.shape.dropFirst().reduce(1, *)), labels: labels)
        }

        public var count: Int { values.count / dimension }

        /// The first `n` rows.
        func prefix(_ n: Int) -> Points {
            let k = min(n, count)
            return Points(values: Array(values.prefix(k * dimension)), dimension: dimension, labels: labels.map { Array($0.prefix(k)) })
        }
    }

    /// The same kind of rows of both domains.
    public struct Domains: Sendable, Equatable {
        public var source: Points
        public var target: Points

        public init(source: Points, target: Points) {
            self.source = source
            self.target = target
        }
    }

    /// The most points t-SNE embeds (source and target together).
    public static let tsneLimit = 2000

    static let sourceColour = "#1f77b4"
    static let targetColour = "#d62728"
}

// MARK: Learning curves

extension RunPlots {
    /// One small panel per series over the epochs: every loss term (`total`,
    /// `source.crossEntropy`, each strategy's term), λ (diagnostics ending in `.lambda`), the other
    /// diagnostics, the learning rate, and source and target accuracy at the evaluated epochs.
    /// Non-finite values are left out (the line breaks there) and counted in the panel's title.
    public static func learningCurves(_ epochs: [EpochMetrics], title: String) -> String {
        var panels: [CurvePanel] = []
        func keys(_ pick: (EpochMetrics) -> [String: Double]) -> [String] { Array(Set(epochs.flatMap { pick($0).keys })) }
        let lossKeys = keys(\.losses)
        let first = ["total", "source.crossEntropy"].filter(lossKeys.contains)
        for key in first + lossKeys.filter({ !first.contains($0) }).sorted() {
            panels.append(CurvePanel(title: "loss: \(key)", series: [CurveSeries(name: key, colour: palette(0), values: epochs.map { $0.losses[key] })]))
        }
        let diagnosticKeys = keys(\.diagnostics)
        let lambdas = diagnosticKeys.filter { $0.hasSuffix(".lambda") || $0 == "lambda" }.sorted()
        for key in lambdas + diagnosticKeys.filter({ !lambdas.contains($0) }).sorted() {
            let label = lambdas.contains(key) ? "λ: \(key)" : key
            panels.append(CurvePanel(title: label, series: [CurveSeries(name: key, colour: palette(2), values: epochs.map { $0.diagnostics[key] })]))
        }
        panels.append(CurvePanel(title: "learning rate", series: [CurveSeries(name: "learning rate", colour: palette(3), values: epochs.map { $0.learningRate })]))
        panels.append(
            CurvePanel(
                title: "accuracy (%) at evaluated epochs",
                series: [
                    CurveSeries(name: "source", colour: sourceColour, values: epochs.map { $0.sourceAccuracy.map { $0 * 100 } }, connectsGaps: true),
                    CurveSeries(name: "target", colour: targetColour, values: epochs.map { $0.targetAccuracy.map { $0 * 100 } }, connectsGaps: true),
                ], legend: true))
        return curvePage(panels, epochs: epochs.map { Double($0.epoch) }, title: title)
    }

    struct CurveSeries {
        var name: String
        var colour: String
        /// One per epoch; nil where there is no value.
        var values: [Double?]
        /// Accuracies exist only at evaluated epochs: the line joins them.
        var connectsGaps = false
    }

    struct CurvePanel {
        var title: String
        var series: [CurveSeries]
        var legend = false
    }

    static func palette(_ i: Int) -> String { Plots.palette[((i % Plots.palette.count) + Plots.palette.count) % Plots.palette.count] }

    /// Panels in a grid of up to three columns, each as wide as its title needs.
    static func curvePage(_ panels: [CurvePanel], epochs: [Double], title: String) -> String {
        let columns = min(3, max(1, panels.count))
        let nonFinite = panels.map { p in p.series.reduce(0) { n, s in n + s.values.filter { $0.map { !$0.isFinite } ?? false }.count } }
        let titles = panels.indices.map { i in panels[i].title + (nonFinite[i] > 0 ? " (\(nonFinite[i]) non-finite not drawn)" : "") }
        let panelWidth = max(300, (titles.map { textWidth($0, size: 12) }.max() ?? 0) + 24)
        let panelHeight = 210.0
        let top = 64.0
        let rows = (panels.count + columns - 1) / columns
        let width = Double(columns) * panelWidth + 20
        let height = top + Double(rows) * panelHeight + 10
        var svg = SVG(width: width, height: height)
        svg.text(width / 2, 26, title, size: 15, anchor: "middle", bold: true)
        let range = epochs.isEmpty ? "no epochs recorded" : "\(epochs.count) epoch\(epochs.count == 1 ? "" : "s")"
        svg.text(width / 2, 46, "over epochs (\(range)); each panel has its own scale", size: 11, anchor: "middle", colour: "#555")
        for (i, panel) in panels.enumerated() {
            let x0 = 10 + Double(i % columns) * panelWidth
            let y0 = top + Double(i / columns) * panelHeight
            curvePanel(&svg, panel, title: titles[i], epochs: epochs, frame: Rect(x: x0 + 58, y: y0 + 36, width: panelWidth - 74, height: panelHeight - 80))
        }
        return svg.document()
    }

    static func curvePanel(_ svg: inout SVG, _ panel: CurvePanel, title: String, epochs: [Double], frame: Rect) {
        svg.text(frame.x - 50, frame.y - 20, title, size: 12, bold: true)
        if panel.legend {
            var x = frame.x + frame.width
            for series in panel.series.reversed() {
                x -= textWidth(series.name, size: 11) + 26
                svg.line(x, frame.y - 6, x + 16, frame.y - 6, colour: series.colour, width: 2)
                svg.text(x + 20, frame.y - 2, series.name, size: 11)
            }
        }
        let values = panel.series.flatMap { $0.values.compactMap { $0 }.filter(\.isFinite) }
        let finiteEpochs = epochs.filter(\.isFinite)
        let xAxis = Axis(finiteEpochs, integer: true)
        let yAxis = Axis(values)
        svg.axes(frame, x: xAxis, y: yAxis, xLabel: "epoch")
        if values.isEmpty {
            svg.text(frame.x + frame.width / 2, frame.y + frame.height / 2, epochs.isEmpty ? "no epochs" : "no values", size: 11, anchor: "middle", colour: "#888")
        }
        for series in panel.series {
            var segments: [[(Double, Double)]] = [[]]
            for (e, value) in zip(epochs, series.values) {
                guard let value else {
                    if !series.connectsGaps { segments.append([]) }
                    continue
                }
                guard value.isFinite, e.isFinite else {
                    segments.append([])
                    continue
                }
                segments[segments.count - 1].append((frame.x + frame.width * xAxis.fraction(e), frame.y + frame.height * (1 - yAxis.fraction(value))))
            }
            let points = segments.reduce(0) { $0 + $1.count }
            for segment in segments where segment.count > 1 {
                svg.polyline(segment, colour: series.colour)
            }
            for segment in segments where points <= 60 || segment.count == 1 {
                for (x, y) in segment { svg.circle(x, y, r: 2.5, fill: series.colour) }
            }
        }
    }
}

// MARK: Confusion matrices

extension RunPlots {
    /// One confusion matrix (`matrix[true][predicted]`) with its heading.
    public struct ConfusionPanel: Sendable, Equatable {
        public var title: String
        public var matrix: [[Int]]

        public init(title: String, matrix: [[Int]]) {
            self.title = title
            self.matrix = matrix
        }
    }

    /// Heatmaps side by side: colour = share of the row (recall of the true class on the
    /// diagonal), the counts in the cells up to 20 classes, class names on both axes. `note` is
    /// printed under the panels (e.g. that the target has no labels).
    public static func confusion(_ panels: [ConfusionPanel], classNames: [String], title: String, note: String? = nil) -> String {
        let k = max(panels.map { max($0.matrix.count, $0.matrix.map(\.count).max() ?? 0) }.max() ?? 0, classNames.count, 1)
        let names = (0..<k).map { c in shortened(c < classNames.count ? classNames[c] : "class \(c)", to: 18) }
        let cell = k <= 10 ? 36.0 : max(12, min(36, 440 / Double(k)))
        let labelWidth = (names.map { textWidth($0, size: 11) }.max() ?? 20) + 12
        let grid = cell * Double(k)
        let panelTitles = panels.map { p in p.title + accuracyText(p.matrix) }
        let panelWidth = max(labelWidth + grid + 40, (panelTitles.map { textWidth($0, size: 12) }.max() ?? 0) + 30)
        let top = 90.0
        let width = max(Double(max(panels.count, 1)) * panelWidth + 20, textWidth(title, size: 15) + 40, 480)
        let height = top + grid + labelWidth * 0.75 + 50 + (note == nil ? 0 : 20)
        var svg = SVG(width: width, height: height)
        svg.text(width / 2, 26, title, size: 15, anchor: "middle", bold: true)
        svg.text(width / 2, 46, "rows = true class, columns = predicted class; colour = share of the row" + (k <= 20 ? ", numbers = counts" : ""), size: 11, anchor: "middle", colour: "#555")
        for (i, panel) in panels.enumerated() {
            let x0 = 10 + Double(i) * panelWidth
            confusionPanel(&svg, panel, title: panelTitles[i], names: names, cell: cell, origin: (x0 + labelWidth + 18, top), counts: k <= 20)
        }
        if panels.isEmpty { svg.text(width / 2, top + 20, "no labelled evaluation split", size: 12, anchor: "middle", colour: "#888") }
        if let note { svg.text(10, height - 12, note, size: 11, colour: "#555") }
        return svg.document()
    }

    static func accuracyText(_ matrix: [[Int]]) -> String {
        let total = matrix.reduce(0) { $0 + $1.reduce(0, +) }
        guard total > 0 else { return " (no samples)" }
        let correct = matrix.indices.reduce(0) { $0 + ($1 < matrix[$1].count ? matrix[$1][$1] : 0) }
        return String(format: ": accuracy %.1f %% of %d", Double(correct) / Double(total) * 100, total)
    }

    static func confusionPanel(_ svg: inout SVG, _ panel: ConfusionPanel, title: String, names: [String], cell: Double, origin: (Double, Double), counts: Bool) {
        let k = names.count
        let (x0, y0) = origin
        let grid = cell * Double(k)
        svg.text(x0 - 12, y0 - 24, title, size: 12, bold: true)
        svg.text(x0 + grid / 2, y0 - 8, "predicted class", size: 10, anchor: "middle", colour: "#555")
        svg.rotatedText(x0 - 18 - (names.map { textWidth($0, size: 11) }.max() ?? 20) + 4, y0 + grid / 2, "true class", size: 10, angle: -90, colour: "#555")
        let fontSize = min(11, cell * 0.38)
        for t in 0..<k {
            let row = t < panel.matrix.count ? panel.matrix[t] : []
            let rowTotal = row.reduce(0, +)
            for p in 0..<k {
                let count = p < row.count ? row[p] : 0
                let share = rowTotal > 0 ? Double(count) / Double(rowTotal) : 0
                let (x, y) = (x0 + Double(p) * cell, y0 + Double(t) * cell)
                svg.rect(x, y, cell, cell, fill: heat(share), stroke: "#ddd")
                if counts {
                    svg.text(x + cell / 2, y + cell / 2 + fontSize * 0.35, "\(count)", size: fontSize, anchor: "middle", colour: share > 0.55 ? "white" : "#222")
                }
            }
            svg.text(x0 - 6, y0 + (Double(t) + 0.5) * cell + 4, names[t], size: 11, anchor: "end")
        }
        for p in 0..<k {
            svg.rotatedText(x0 + (Double(p) + 0.5) * cell - 3, y0 + grid + 8, names[p], size: 11, angle: 45)
        }
    }

    /// White to dark blue.
    static func heat(_ share: Double) -> String {
        let s = share.isFinite ? min(max(share, 0), 1) : 0
        let (r, g, b) = (255 - (255 - 8) * s, 255 - (255 - 81) * s, 255 - (255 - 156) * s)
        return String(format: "#%02x%02x%02x", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }
}

// MARK: Features

extension RunPlots {
    /// Source and target features before and after training, in four panels: PCA (two components
    /// fitted to both domains together) and t-SNE (`Embedding.tsne` with `perplexity`, the same
    /// start drawn from `seed` before and after). Colour = domain; marker shape = class (filled,
    /// hollow past eight classes); an unlabelled target is drawn as circles. At most
    /// `tsneLimit / 2` rows of each domain are used.
    public static func features(before: Domains, after: Domains, classNames: [String], seed: UInt64, perplexity: Double = 30, title: String) -> String {
        let half = tsneLimit / 2
        var panels: [EmbeddingPanel] = []
        var notes: [String] = []
        for (method, useTSNE) in [("PCA", false), ("t-SNE", true)] {
            for (stage, domains) in [("before training", before), ("after training", after)] {
                var source = domains.source.prefix(half)
                var target = domains.target.prefix(half)
                if source.dimension != target.dimension {
                    notes.append("\(stage): target features have \(target.dimension) values, source \(source.dimension): target left out")
                    target = Points(values: [], dimension: source.dimension, labels: nil)
                }
                if source.count + target.count == 0 { source = Points(values: [], dimension: 1, labels: nil) }
                panels.append(embeddingPanel(source: source, target: target, method: method, stage: stage, tsne: useTSNE, seed: seed, perplexity: perplexity))
            }
        }
        let labelled = before.target.labels != nil
        return featurePage(panels, classNames: classNames, targetLabelled: labelled, title: title, notes: Array(Set(notes)).sorted())
    }

    struct EmbeddingPanel {
        var title: String
        var xLabel: String
        var yLabel: String
        /// n × 2 row-major: the source rows, then the target rows.
        var coordinates: [Double]
        var sourceLabels: [Int]?
        var targetLabels: [Int]?
        var sourceCount: Int
        var targetCount: Int
        var showsTicks: Bool
    }

    static func embeddingPanel(source: Points, target: Points, method: String, stage: String, tsne: Bool, seed: UInt64, perplexity: Double) -> EmbeddingPanel {
        let values = source.values + target.values
        let n = source.count + target.count
        var panel = EmbeddingPanel(
            title: "\(method), \(stage)", xLabel: "", yLabel: "", coordinates: [], sourceLabels: source.labels, targetLabels: target.labels,
            sourceCount: source.count, targetCount: target.count, showsTicks: !tsne)
        if tsne {
            panel.coordinates = n > 0 ? Embedding.tsne(values, dimension: source.dimension, perplexity: perplexity, seed: seed) : []
            (panel.xLabel, panel.yLabel) = ("t-SNE 1", "t-SNE 2")
            panel.title += String(format: " (perplexity %g)", min(perplexity, max(Double(n - 1) / 3, 0)).rounded())
        } else {
            let pca = n > 0 ? Embedding.pca(values, dimension: source.dimension, components: 2) : nil
            panel.coordinates = pca?.coordinates ?? []
            func label(_ k: Int) -> String { String(format: "PC%d (%.1f %% of variance)", k + 1, (pca?.explainedShare(k) ?? 0) * 100) }
            (panel.xLabel, panel.yLabel) = (label(0), label(1))
        }
        return panel
    }

    /// The marker shapes, centred on 0 (about 7 px across).
    static let markerShapes = [
        "<circle r=\"3.2\"/>", "<rect x=\"-2.8\" y=\"-2.8\" width=\"5.6\" height=\"5.6\"/>", "<path d=\"M0 -3.8L3.4 2.4H-3.4Z\"/>",
        "<path d=\"M0 -4L4 0L0 4L-4 0Z\"/>", "<path d=\"M0 3.8L3.4 -2.4H-3.4Z\"/>",
        "<path d=\"M-1.2 -3.8H1.2V-1.2H3.8V1.2H1.2V3.8H-1.2V1.2H-3.8V-1.2H-1.2Z\"/>",
        "<path transform=\"rotate(45)\" d=\"M-1.2 -3.8H1.2V-1.2H3.8V1.2H1.2V3.8H-1.2V1.2H-3.8V-1.2H-1.2Z\"/>",
        "<path d=\"M0 -3.8L3.6 -1.2L2.2 3.1H-2.2L-3.6 -1.2Z\"/>",
    ]

    /// Shape index and whether it is drawn hollow, for class `c` (-1: no class).
    static func marker(_ c: Int) -> (shape: Int, hollow: Bool) {
        guard c >= 0 else { return (0, false) }
        return (c % markerShapes.count, (c / markerShapes.count) % 2 == 1)
    }

    static func featurePage(_ panels: [EmbeddingPanel], classNames: [String], targetLabelled: Bool, title: String, notes: [String]) -> String {
        let side = 330.0, gapX = 80.0, gapY = 84.0, top = 86.0
        var legend: [(String, String?, Int)] = [("source", sourceColour, -1), (targetLabelled ? "target" : "target (no labels)", targetColour, -1)]
        let classCount = max(classNames.count, panels.flatMap { ($0.sourceLabels ?? []) + ($0.targetLabels ?? []) }.map { $0 + 1 }.max() ?? 0)
        legend += (0..<classCount).map { c in (shortened(c < classNames.count ? classNames[c] : "class \(c)", to: 24), nil, c) }
        let legendX = 20 + 2 * (side + gapX)
        let plotsHeight = top + 2 * (side + gapY) + Double(notes.count) * 16
        let perColumn = max(1, Int((plotsHeight - top - 20) / 17))
        let columnWidth = (legend.map { textWidth($0.0, size: 11) }.max() ?? 40) + 34
        let legendColumns = (legend.count + perColumn - 1) / perColumn
        let width = max(legendX + Double(legendColumns) * columnWidth + 10, textWidth(title, size: 15) + 40)
        var svg = SVG(width: width, height: plotsHeight)
        svg.defs = markerShapes.enumerated().map { "<g id=\"features-m\($0.offset)\">\($0.element)</g>\n" }.joined()
        svg.text(width / 2, 26, title, size: 15, anchor: "middle", bold: true)
        svg.text(width / 2, 46, "features at the classifier's input; colour = domain, marker = class; same rows before and after", size: 11, anchor: "middle", colour: "#555")
        for (i, panel) in panels.enumerated() {
            let frame = Rect(x: 20 + 50 + Double(i % 2) * (side + gapX), y: top + Double(i / 2) * (side + gapY), width: side, height: side)
            embeddingPanel(&svg, panel, frame: frame)
        }
        svg.text(legendX, top - 8, "legend", size: 11, bold: true)
        for (i, item) in legend.enumerated() {
            let x = legendX + Double(i / perColumn) * columnWidth
            let y = top + 10 + Double(i % perColumn) * 17
            let (shape, hollow) = marker(item.2)
            let colour = item.1 ?? "#555"
            let style = hollow ? "fill=\"white\" stroke=\"\(colour)\"" : "fill=\"\(colour)\""
            svg.body += "<use xlink:href=\"#features-m\(shape)\" x=\"\(SVG.f(x + 6))\" y=\"\(SVG.f(y - 4))\" \(style)/>\n"
            svg.text(x + 16, y, item.0, size: 11)
        }
        for (i, note) in notes.enumerated() { svg.text(20, plotsHeight - 10 - Double(notes.count - 1 - i) * 16, note, size: 11, colour: "#555") }
        return svg.document()
    }

    static func embeddingPanel(_ svg: inout SVG, _ panel: EmbeddingPanel, frame: Rect) {
        svg.text(frame.x, frame.y - 10, panel.title, size: 12, bold: true)
        let n = panel.coordinates.count / 2
        let xs = (0..<n).map { panel.coordinates[2 * $0] }, ys = (0..<n).map { panel.coordinates[2 * $0 + 1] }
        let (xAxis, yAxis) = (Axis(xs), Axis(ys))
        svg.axes(frame, x: panel.showsTicks ? xAxis : nil, y: panel.showsTicks ? yAxis : nil, xLabel: panel.xLabel, yLabel: panel.yLabel)
        if n == 0 { svg.text(frame.x + frame.width / 2, frame.y + frame.height / 2, "no samples", size: 11, anchor: "middle", colour: "#888") }
        // One group per domain and marker, so each point is one short <use>.
        for (domain, range, labels, colour) in [
            ("source", 0..<panel.sourceCount, panel.sourceLabels, sourceColour),
            ("target", panel.sourceCount..<min(n, panel.sourceCount + panel.targetCount), panel.targetLabels, targetColour),
        ] {
            var groups: [Int: [Int]] = [:]
            for i in range { groups[labels.map { $0[i - range.lowerBound] } ?? -1, default: []].append(i) }
            for c in groups.keys.sorted() {
                let (shape, hollow) = marker(c)
                let style = hollow ? "fill=\"white\" stroke=\"\(colour)\"" : "fill=\"\(colour)\" fill-opacity=\"0.7\""
                svg.body += "<g class=\"\(domain)\" \(style)>\n"
                for i in groups[c]! where xs[i].isFinite && ys[i].isFinite {
                    let (px, py) = (frame.x + frame.width * xAxis.fraction(xs[i]), frame.y + frame.height * (1 - yAxis.fraction(ys[i])))
                    svg.body += "<use xlink:href=\"#features-m\(shape)\" x=\"\(SVG.f(px))\" y=\"\(SVG.f(py))\"/>\n"
                }
                svg.body += "</g>\n"
            }
        }
    }
}

// MARK: Decision boundary

extension RunPlots {
    /// A square grid of cells over the input plane, for the decision-boundary plot.
    public struct DecisionGrid: Sendable, Equatable {
        public var xRange: ClosedRange<Double>
        public var yRange: ClosedRange<Double>
        /// Cells per side.
        public var cells: Int
        /// Cell centres (x₁, x₂), row-major: the top row (largest x₂) first, left to right.
        public var centres: [Double] {
            let (dx, dy) = ((xRange.upperBound - xRange.lowerBound) / Double(cells), (yRange.upperBound - yRange.lowerBound) / Double(cells))
            var out: [Double] = []
            out.reserveCapacity(2 * cells * cells)
            for r in 0..<cells {
                for c in 0..<cells { out += [xRange.lowerBound + (Double(c) + 0.5) * dx, yRange.upperBound - (Double(r) + 0.5) * dy] }
            }
            return out
        }

        /// Covers the finite rows of 2-D `points` with a margin, out to round tick values.
        public init(covering points: [Points], cells: Int = 120) {
            var xs: [Double] = [], ys: [Double] = []
            for p in points where p.dimension == 2 {
                for i in 0..<p.count where p.values[2 * i].isFinite && p.values[2 * i + 1].isFinite {
                    xs.append(p.values[2 * i])
                    ys.append(p.values[2 * i + 1])
                }
            }
            func range(_ v: [Double]) -> ClosedRange<Double> {
                let (lo, hi) = (v.min() ?? -1, v.max() ?? 1)
                let margin = max((hi - lo) * 0.08, 1e-6 * max(abs(lo), 1))
                let axis = Axis([lo - margin, hi + margin])
                return axis.lo...axis.hi
            }
            xRange = range(xs)
            yRange = range(ys)
            self.cells = max(1, cells)
        }
    }

    /// The model's predicted class over `grid` (`predictions`, one per cell in `centres` order)
    /// as coloured runs of cells, with the source points filled and the target points hollow in
    /// their class's colour (Ganin et al. 2016, "Domain-Adversarial Training of Neural
    /// Networks", Fig. 2). Nil unless the points are 2-D.
    public static func decisionBoundary(grid: DecisionGrid, predictions: [Int], points: Domains, classNames: [String], title: String) -> String? {
        guard points.source.dimension == 2, points.target.dimension == 2 else { return nil }
        let side = 480.0
        let frame = Rect(x: 70, y: 70, width: side, height: side)
        let classCount = max(classNames.count, (predictions + (points.source.labels ?? []) + (points.target.labels ?? [])).map { $0 + 1 }.max() ?? 0)
        let names = (0..<classCount).map { c in shortened(c < classNames.count ? classNames[c] : "class \(c)", to: 24) }
        let legendWidth = max((names.map { textWidth($0, size: 11) }.max() ?? 0) + 40, 200)
        let width = max(frame.x + side + 20 + legendWidth, textWidth(title, size: 15) + 40)
        var svg = SVG(width: width, height: frame.y + side + 60)
        svg.text(width / 2, 26, title, size: 15, anchor: "middle", bold: true)
        svg.text(width / 2, 46, "background = predicted class; source filled, target hollow, coloured by true class", size: 11, anchor: "middle", colour: "#555")
        let cell = side / Double(grid.cells)
        svg.body += "<g fill-opacity=\"0.28\" shape-rendering=\"crispEdges\">\n"
        for r in 0..<grid.cells {
            var c = 0
            while c < grid.cells {
                let k = r * grid.cells + c
                let predicted = k < predictions.count ? predictions[k] : -1
                var end = c + 1
                while end < grid.cells, (r * grid.cells + end < predictions.count ? predictions[r * grid.cells + end] : -1) == predicted { end += 1 }
                if predicted >= 0 {
                    // A hair wider than the run, so that neighbouring rows leave no seams.
                    svg.rect(frame.x + Double(c) * cell, frame.y + Double(r) * cell, Double(end - c) * cell + 0.3, cell + 0.3, fill: palette(predicted))
                }
                c = end
            }
        }
        svg.body += "</g>\n"
        let xAxis = Axis([grid.xRange.lowerBound, grid.xRange.upperBound]), yAxis = Axis([grid.yRange.lowerBound, grid.yRange.upperBound])
        svg.axes(frame, x: xAxis, y: yAxis, xLabel: "x₁", yLabel: "x₂")
        for (domain, p) in [("source", points.source), ("target", points.target)] {
            var groups: [Int: [Int]] = [:]
            for i in 0..<p.count { groups[p.labels?[i] ?? -1, default: []].append(i) }
            for c in groups.keys.sorted() {
                let colour = c >= 0 ? palette(c) : "#333333"
                svg.body += domain == "source"
                    ? "<g class=\"source\" fill=\"\(colour)\" stroke=\"white\" stroke-width=\"0.6\">\n"
                    : "<g class=\"target\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.4\">\n"
                for i in groups[c]! {
                    let (x, y) = (p.values[2 * i], p.values[2 * i + 1])
                    guard grid.xRange.contains(x), grid.yRange.contains(y) else { continue }
                    let px = frame.x + side * xAxis.fraction(x), py = frame.y + side * (1 - yAxis.fraction(y))
                    svg.body += "<circle cx=\"\(SVG.f(px))\" cy=\"\(SVG.f(py))\" r=\"3.2\"/>\n"
                }
                svg.body += "</g>\n"
            }
        }
        var y = frame.y + 10
        let lx = frame.x + side + 20
        for (c, name) in names.enumerated() {
            svg.rect(lx, y - 9, 12, 12, fill: palette(c))
            svg.text(lx + 18, y + 1, name, size: 11)
            y += 17
        }
        y += 8
        svg.body += "<circle cx=\"\(SVG.f(lx + 6))\" cy=\"\(SVG.f(y - 3))\" r=\"3.2\" fill=\"#555\"/>\n"
        svg.text(lx + 18, y + 1, "source (filled)", size: 11)
        y += 17
        svg.body += "<circle cx=\"\(SVG.f(lx + 6))\" cy=\"\(SVG.f(y - 3))\" r=\"3.2\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.4\"/>\n"
        svg.text(lx + 18, y + 1, points.target.labels == nil ? "target (hollow, no labels)" : "target (hollow)", size: 11)
        return svg.document()
    }
}

// MARK: Writing

extension RunPlots {
    /// What the feature and decision-boundary plots of a run read: rows of each domain's
    /// evaluation split (held-out source, else source; the labelled target split, else the target
    /// pool), drawn once from `SeededGenerator(seed:).fork("plots")`, and the features of the
    /// model before training. Built where the runner measures its divergences before training.
    public struct Inputs {
        public let kinds: [Kind]
        public let seed: UInt64
        /// The sampled rows as the model reads them (and their classes, when known).
        let sourceX: Tensor?
        let sourceLabels: [Int]
        let targetX: Tensor?
        let targetLabels: [Int]?
        /// Features of the sampled rows before training; nil when no features plot is asked for.
        public let before: Domains?

        public init(_ evaluation: EvaluationRecipe, data: TrainingData, seed: UInt64, before model: AdaptationModel) throws {
            var kinds: [Kind] = []
            for kind in evaluation.plots where !kinds.contains(kind) { kinds.append(kind) }
            if data.sampleShape != [2] { kinds.removeAll { $0 == .decisionBoundary } }
            self.kinds = kinds
            self.seed = seed
            guard kinds.contains(.features) || kinds.contains(.decisionBoundary) else {
                (sourceX, sourceLabels, targetX, targetLabels, before) = (nil, [], nil, nil, nil)
                return
            }
            var rng = SeededGenerator(seed: seed).fork("plots").fork("samples")
            let source = data.sourceEvaluation
            let sourceRows = Array(rng.permutation(source.inputs.count).prefix(evaluation.plotSamples))
            sourceX = try source.inputs.inputs(rows: sourceRows)
            sourceLabels = sourceRows.map { source.labels[$0] }
            if let target = data.targetEvaluation {
                let rows = Array(rng.permutation(target.inputs.count).prefix(evaluation.plotSamples))
                targetX = try target.inputs.inputs(rows: rows)
                targetLabels = rows.map { target.labels[$0] }
            } else {
                let pool = data.targetTest ?? data.target
                targetX = try pool.inputs(rows: Array(rng.permutation(pool.count).prefix(evaluation.plotSamples)))
                targetLabels = nil
            }
            before = kinds.contains(.features) ? Self.features(model, sourceX!, sourceLabels, targetX!, targetLabels) : nil
        }

        static func features(_ model: AdaptationModel, _ sourceX: Tensor, _ sourceLabels: [Int], _ targetX: Tensor, _ targetLabels: [Int]?) -> Domains {
            Domains(
                source: Points(model.representation(sourceX, layer: .features), labels: sourceLabels),
                target: Points(model.representation(targetX, layer: .features), labels: targetLabels))
        }

        /// Writes the asked-for plots of the finished run into `folder` (each file atomically) and
        /// removes the plot files of this kind that were not asked for, so the folder shows only
        /// this run's plots.
        public func write(report: RunReport, after model: AdaptationModel, into folder: URL) throws {
            let heading = "\(report.recipeName) · \(report.strategy) · seed \(report.seed)"
            for kind in Kind.allCases {
                let url = folder.appendingPathComponent(kind.fileName)
                guard kinds.contains(kind), let svg = try plot(kind, report: report, model: model, heading: heading) else {
                    if FileManager.default.fileExists(atPath: url.path) { try? FileManager.default.removeItem(at: url) }
                    continue
                }
                try writeAtomically(Data(svg.utf8), to: url)
            }
        }

        private func plot(_ kind: Kind, report: RunReport, model: AdaptationModel, heading: String) throws -> String? {
            switch kind {
            case .learningCurves:
                return RunPlots.learningCurves(report.epochs, title: "\(heading): learning curves")
            case .confusion:
                var panels: [ConfusionPanel] = []
                if let target = report.target { panels.append(ConfusionPanel(title: "target (\(report.dataset.targetEvaluation ?? "target"))", matrix: target.confusion)) }
                panels.append(ConfusionPanel(title: "source (\(report.dataset.sourceEvaluation))", matrix: report.source.confusion))
                return RunPlots.confusion(
                    panels, classNames: report.dataset.classNames, title: "\(heading): confusion matrices",
                    note: report.target == nil ? "The target has no labels: only the source matrix is shown." : nil)
            case .features:
                guard let before, let sourceX, let targetX else { return nil }
                let after = Self.features(model, sourceX, sourceLabels, targetX, targetLabels)
                return RunPlots.features(
                    before: before, after: after, classNames: report.dataset.classNames, seed: SeededGenerator(seed: seed).fork("plots").fork("tsne").seed,
                    title: "\(heading): source and target features")
            case .decisionBoundary:
                guard let sourceX, let targetX, sourceX.shape.dropFirst() == [2] else { return nil }
                let inputs = Domains(source: Points(sourceX, labels: sourceLabels), target: Points(targetX, labels: targetLabels))
                let grid = DecisionGrid(covering: [inputs.source, inputs.target])
                let predictions = model.predict(Tensor(shape: [grid.cells * grid.cells, 2], scalars: grid.centres.map(Float.init)))
                return RunPlots.decisionBoundary(
                    grid: grid, predictions: predictions, points: inputs, classNames: report.dataset.classNames,
                    title: "\(heading): decision boundary")
            }
        }
    }
}

// MARK: SVG drawing

extension RunPlots {

    /// A rectangle in SVG coordinates.
    struct Rect {
        var x, y, width, height: Double
    }

    /// Approximate rendered width of `text` in a sans-serif font of `size` px (for layout only).
    static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.58 }

    /// `text` cut to `length` characters with an ellipsis.
    static func shortened(_ text: String, to length: Int) -> String { text.count <= length ? text : String(text.prefix(length - 1)) + "…" }

    /// A numeric axis with readable ticks at 1, 2 or 5 × 10ᵏ.
    struct Axis {
        var lo: Double
        var hi: Double
        var step: Double
        var ticks: [Double]

        /// Covers the finite `values` (0…1 when there are none); `integer` keeps ticks on whole numbers.
        init(_ values: [Double], integer: Bool = false, count: Int = 5) {
            let finite = values.filter(\.isFinite)
            var lo = finite.min() ?? 0
            var hi = finite.max() ?? 1
            if hi - lo <= max(abs(hi), abs(lo)) * 1e-12 {
                let pad = integer ? 1 : (lo == 0 ? 1 : abs(lo) * 0.1)
                (lo, hi) = (lo - pad, hi + pad)
            }
            var step = Axis.niceStep((hi - lo) / Double(count))
            if integer { step = max(1, step.rounded()) }
            if !step.isFinite || step <= 0 { step = 1 }
            let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
            self.lo = first * step
            self.hi = last * step
            self.step = step
            let n = Int(min(max(last - first, 1), 50))
            ticks = (0...n).map { (first + Double($0)) * step }
        }

        static func niceStep(_ raw: Double) -> Double {
            guard raw.isFinite, raw > 0 else { return 1 }
            let magnitude = pow(10, (log10(raw)).rounded(.down))
            let normalised = raw / magnitude
            return (normalised < 1.5 ? 1 : normalised < 3 ? 2 : normalised < 7 ? 5 : 10) * magnitude
        }

        func fraction(_ v: Double) -> Double { hi > lo ? (v - lo) / (hi - lo) : 0.5 }

        /// A tick's label with as many decimals as the step needs; scientific for tiny or huge values.
        func label(_ v: Double) -> String {
            if abs(v) < step * 1e-6 { return "0" }
            let magnitude = max(abs(lo), abs(hi))
            if magnitude >= 1e5 || step < 1e-3 { return String(format: "%.\(step < 1e-3 && magnitude / step < 1e4 ? 1 : 2)e", v) }
            let decimals = max(0, Int(-(log10(step) + 1e-9).rounded(.down)))
            return String(format: "%.\(decimals)f", v)
        }
    }

    /// An SVG document being written: plain elements, attribute values formatted with one decimal.
    struct SVG {
        let width: Double
        let height: Double
        var body = ""
        var defs = ""

        init(width: Double, height: Double) {
            self.width = width.rounded(.up)
            self.height = height.rounded(.up)
        }

        static func f(_ v: Double) -> String { Plots.f(v.isFinite ? v : 0) }

        mutating func text(_ x: Double, _ y: Double, _ s: String, size: Double, anchor: String = "start", bold: Bool = false, colour: String? = nil) {
            body += "<text x=\"\(SVG.f(x))\" y=\"\(SVG.f(y))\" font-size=\"\(SVG.f(size))\""
                + (anchor == "start" ? "" : " text-anchor=\"\(anchor)\"") + (bold ? " font-weight=\"bold\"" : "")
                + (colour.map { " fill=\"\($0)\"" } ?? "") + ">\(Plots.escape(s))</text>\n"
        }

        mutating func rotatedText(_ x: Double, _ y: Double, _ s: String, size: Double, angle: Double, anchor: String = "start", colour: String? = nil) {
            body += "<text transform=\"translate(\(SVG.f(x)) \(SVG.f(y))) rotate(\(SVG.f(angle)))\" font-size=\"\(SVG.f(size))\""
                + (angle < 0 ? " text-anchor=\"middle\"" : (anchor == "start" ? "" : " text-anchor=\"\(anchor)\""))
                + (colour.map { " fill=\"\($0)\"" } ?? "") + ">\(Plots.escape(s))</text>\n"
        }

        mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, colour: String, width: Double = 1) {
            body += "<line x1=\"\(SVG.f(x1))\" y1=\"\(SVG.f(y1))\" x2=\"\(SVG.f(x2))\" y2=\"\(SVG.f(y2))\" stroke=\"\(colour)\""
                + (width == 1 ? "" : " stroke-width=\"\(SVG.f(width))\"") + "/>\n"
        }

        mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil) {
            body += "<rect x=\"\(SVG.f(x))\" y=\"\(SVG.f(y))\" width=\"\(SVG.f(w))\" height=\"\(SVG.f(h))\" fill=\"\(fill)\""
                + (stroke.map { " stroke=\"\($0)\"" } ?? "") + "/>\n"
        }

        mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String) {
            body += "<circle cx=\"\(SVG.f(x))\" cy=\"\(SVG.f(y))\" r=\"\(SVG.f(r))\" fill=\"\(fill)\"/>\n"
        }

        mutating func polyline(_ points: [(Double, Double)], colour: String) {
            body += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.8\" points=\""
                + points.map { "\(SVG.f($0.0)),\(SVG.f($0.1))" }.joined(separator: " ") + "\"/>\n"
        }

        /// Frame, grid lines and tick labels of a plot area.
        mutating func axes(_ frame: Rect, x: Axis?, y: Axis?, xLabel: String? = nil, yLabel: String? = nil) {
            if let y {
                for tick in y.ticks {
                    let py = frame.y + frame.height * (1 - y.fraction(tick))
                    line(frame.x, py, frame.x + frame.width, py, colour: "#e8e8e8")
                    text(frame.x - 5, py + 3.5, y.label(tick), size: 10, anchor: "end")
                }
            }
            if let x {
                for tick in x.ticks {
                    let px = frame.x + frame.width * x.fraction(tick)
                    line(px, frame.y + frame.height, px, frame.y + frame.height + 4, colour: "#444")
                    text(px, frame.y + frame.height + 15, x.label(tick), size: 10, anchor: "middle")
                }
            }
            body += "<rect x=\"\(SVG.f(frame.x))\" y=\"\(SVG.f(frame.y))\" width=\"\(SVG.f(frame.width))\" height=\"\(SVG.f(frame.height))\" fill=\"none\" stroke=\"#444\"/>\n"
            if let xLabel { text(frame.x + frame.width / 2, frame.y + frame.height + 30, xLabel, size: 11, anchor: "middle", colour: "#333") }
            if let yLabel { rotatedText(frame.x - 44, frame.y + frame.height / 2, yLabel, size: 11, angle: -90, colour: "#333") }
        }

        func document() -> String {
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
                + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\">\n"
                + (defs.isEmpty ? "" : "<defs>\n\(defs)</defs>\n")
                + "<rect width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"white\"/>\n" + body + "</svg>\n"
        }
    }
}
