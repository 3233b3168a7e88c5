import Experiments
import Foundation
import XCTest

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The comparison plots on three hand-made summaries: each SVG compared byte for byte with a golden
/// file under `Golden/`, and layout rules that hold whatever the golden says (every text inside the
/// viewBox, x-axis tick labels apart, full names in the legend, the seed count in the caption).
///
/// On a golden mismatch the actual output is written beside the golden as `<name>.actual.svg`;
/// `DAKIT_UPDATE_GOLDEN=1 swift test --filter PlotGoldenTests` rewrites the goldens instead.
final class PlotGoldenTests: XCTestCase {
    // MARK: - Fixtures

    /// One row as `summary.json` stores it; accuracies as fractions.
    static func row(
        _ task: String, _ strategy: String, severity: Double? = nil, mean: Double, std: Double, seeds: Int
    ) -> [String: Any] {
        var row: [String: Any] = [
            "task": task, "strategy": strategy, "seeds": Array(0..<seeds),
            "targetAccuracy": ["mean": mean, "std": std, "count": seeds],
            "divergenceBefore": [String: Any](), "divergenceAfter": [String: Any](), "incompleteRuns": 0,
        ]
        if let severity { row["severity"] = severity }
        return row
    }

    static func summary(title: String, sweepKey: String? = nil, sweepLabel: String? = nil, rows: [[String: Any]]) throws -> ComparisonSummary {
        var object: [String: Any] = ["title": title, "rows": rows, "selections": [Any](), "runCount": rows.count]
        if let sweepKey { object["sweepKey"] = sweepKey }
        if let sweepLabel { object["sweepLabel"] = sweepLabel }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return try JSONDecoder().decode(ComparisonSummary.self, from: data)
    }

    static let sweepStrategies = ["sourceOnly", "targetOnly", "dann", "mmd", "coral"]

    /// Rotation 0…180° plus an unrelated task, 5 strategies, 3 seeds; mmd equals sourceOnly everywhere
    /// (the curve that used to hide the source-only line).
    static func rotationSweep() throws -> ComparisonSummary {
        let sourceOnly = [0.97, 0.78, 0.42, 0.30, 0.27, 0.09]
        let accuracy: [String: [Double]] = [
            "sourceOnly": sourceOnly, "mmd": sourceOnly,
            "targetOnly": [0.96, 0.95, 0.95, 0.96, 0.95, 0.96],
            "dann": [0.96, 0.83, 0.51, 0.33, 0.25, 0.07],
            "coral": [0.97, 0.80, 0.45, 0.31, 0.28, 0.10],
        ]
        let stds = [0.004, 0.021, 0.038, 0.027, 0.015, 0.012]
        let tasks: [(String, Double?)] = [0, 45, 90, 135, 180].map { ("amount=\(Int($0))", $0) } + [("unrelated (permuted labels)", nil)]
        var rows: [[String: Any]] = []
        for (i, (task, severity)) in tasks.enumerated() {
            for strategy in sweepStrategies {
                rows.append(row(task, strategy, severity: severity, mean: accuracy[strategy]![i], std: stds[i], seeds: 3))
            }
        }
        return try summary(title: "digits-negative-transfer", sweepKey: "data.amount", sweepLabel: "target rotation (degrees)", rows: rows)
    }

    static let longTasks = [
        "amazon → webcam (ResNet-50 features, 31 classes)",
        "dslr → amazon with a deliberately long descriptive task name that has to wrap",
        "webcam → dslr",
    ]

    /// Three tasks with long names, strategies with 3 to 5 seeds.
    static func longNames() throws -> ComparisonSummary {
        let strategies: [(String, Int, [Double])] = [
            ("sourceOnly", 5, [0.62, 0.48, 0.91]), ("dann", 5, [0.71, 0.55, 0.95]), ("selfTraining(threshold=0.95)", 3, [0.66, 0.51, 0.97]),
        ]
        var rows: [[String: Any]] = []
        for (j, task) in longTasks.enumerated() {
            for (strategy, seeds, means) in strategies {
                rows.append(row(task, strategy, mean: means[j], std: 0.01 + 0.012 * Double(j), seeds: seeds))
            }
        }
        return try summary(title: "office-31 (ResNet-50 features): three of the six transfer directions", rows: rows)
    }

    /// One task, one strategy, one seed: no error bars.
    static func singleRun() throws -> ComparisonSummary {
        try summary(title: "moons-dann", rows: [row("moons-rotated-30", "dann", mean: 0.885, std: 0, seeds: 1)])
    }

    static func plots() throws -> [(name: String, svg: String, summary: ComparisonSummary)] {
        let sweep = try rotationSweep(), long = try longNames(), single = try singleRun()
        return [
            ("sweep-accuracy", Plots.accuracyPerStrategy(sweep), sweep),
            ("sweep-sweep", Plots.sweep(sweep), sweep),
            ("long-names-accuracy", Plots.accuracyPerStrategy(long), long),
            ("single-run-accuracy", Plots.accuracyPerStrategy(single), single),
        ]
    }

    // MARK: - Golden files

    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    func testPlotsMatchGoldenFiles() throws {
        let update = ProcessInfo.processInfo.environment["DAKIT_UPDATE_GOLDEN"] == "1"
        for plot in try Self.plots() {
            let golden = Self.goldenDirectory.appendingPathComponent("\(plot.name).svg")
            let actual = Self.goldenDirectory.appendingPathComponent("\(plot.name).actual.svg")
            if update {
                try FileManager.default.createDirectory(at: Self.goldenDirectory, withIntermediateDirectories: true)
                try Data(plot.svg.utf8).write(to: golden)
                try? FileManager.default.removeItem(at: actual)
                print("PlotGoldenTests: rewrote \(golden.path)")
                continue
            }
            let expected = try? Data(contentsOf: golden)
            if expected == Data(plot.svg.utf8) {
                try? FileManager.default.removeItem(at: actual)
                continue
            }
            try FileManager.default.createDirectory(at: Self.goldenDirectory, withIntermediateDirectories: true)
            try Data(plot.svg.utf8).write(to: actual)
            XCTFail(
                "\(plot.name).svg \(expected == nil ? "is missing" : "differs from the golden file"); the output is in \(actual.path). "
                    + "Look at it, then accept it with DAKIT_UPDATE_GOLDEN=1 swift test -c release --filter PlotGoldenTests "
                    + "(or copy it over \(golden.lastPathComponent)).")
        }
    }

    // MARK: - Layout rules

    func testEveryTextLiesInsideTheViewBox() throws {
        for plot in try Self.plots() {
            let svg = try ParsedSVG(plot.svg)
            XCTAssertFalse(svg.texts.isEmpty, plot.name)
            for text in svg.texts {
                let box = text.box
                XCTAssertTrue(
                    box.minX >= 0 && box.maxX <= svg.width && box.minY >= 0 && box.maxY <= svg.height,
                    "\(plot.name): '\(text.content)' spans x \(Int(box.minX))…\(Int(box.maxX)), y \(Int(box.minY))…\(Int(box.maxY)), "
                        + "outside the viewBox 0…\(Int(svg.width)) × 0…\(Int(svg.height))")
            }
        }
    }

    func testXTickLabelsDoNotOverlap() throws {
        let minimumGap = 4.0
        for plot in try Self.plots() {
            let ticks = try ParsedSVG(plot.svg).xTickLabels
            XCTAssertFalse(ticks.isEmpty, "\(plot.name): no x-axis tick labels found")
            // Lines of one label share its x; labels at different x must keep a gap whatever their row.
            for (i, a) in ticks.enumerated() {
                for b in ticks[(i + 1)...] where a.x != b.x {
                    let (left, right) = a.box.minX < b.box.minX ? (a.box, b.box) : (b.box, a.box)
                    XCTAssertGreaterThanOrEqual(
                        right.minX - left.maxX, minimumGap,
                        "\(plot.name): x tick labels '\(a.content)' (\(Int(a.box.minX))…\(Int(a.box.maxX))) and "
                            + "'\(b.content)' (\(Int(b.box.minX))…\(Int(b.box.maxX))) collide")
                }
            }
        }
    }

    func testLegendsCarryFullNames() throws {
        let sweep = try ParsedSVG(Plots.sweep(try Self.rotationSweep()))
        for strategy in Self.sweepStrategies {
            XCTAssertTrue(sweep.legendText.contains(strategy), "sweep legend lacks '\(strategy)': \(sweep.legendText)")
        }
        let long = try ParsedSVG(Plots.accuracyPerStrategy(try Self.longNames()))
        for task in Self.longTasks {
            XCTAssertTrue(long.legendText.contains(task), "accuracy legend lacks '\(task)': \(long.legendText)")
        }
        // A sweep's accuracy legend: the sweep label once, as the title, then just the values.
        let accuracy = try ParsedSVG(Plots.accuracyPerStrategy(try Self.rotationSweep()))
        let legend = accuracy.texts.filter { $0.classes.contains("legend") }.map(\.content)
        XCTAssertEqual(legend.filter { $0.contains("target rotation (degrees)") }.count, 1, "\(legend)")
        for value in ["0", "45", "90", "135", "180"] { XCTAssertTrue(legend.contains(value), "legend entry '\(value)' missing: \(legend)") }
        XCTAssertTrue(accuracy.legendText.contains("unrelated (permuted labels)"), accuracy.legendText)
    }

    func testCaptionStatesSeedsAndErrorBars() throws {
        let expectations = [("sweep-accuracy", "3 seeds"), ("sweep-sweep", "3 seeds"), ("long-names-accuracy", "3–5 seeds"), ("single-run-accuracy", "1 seed")]
        for (plot, (name, seeds)) in zip(try Self.plots(), expectations) {
            XCTAssertEqual(plot.name, name)
            let all = try ParsedSVG(plot.svg).texts.map(\.content).joined(separator: "\n")
            XCTAssertTrue(all.contains(seeds), "\(name): no caption with '\(seeds)' in\n\(all)")
            if seeds != "1 seed" { XCTAssertTrue(all.contains("±1 std"), "\(name): error bars unexplained") }
        }
    }

    func testBaselinesAreDrawnOverTheStrategyLines() throws {
        let svg = Plots.sweep(try Self.rotationSweep())
        let lines = svg.split(separator: "\n").filter { $0.hasPrefix("<polyline") }
        XCTAssertEqual(lines.count, 5)
        let lastBaseline = try XCTUnwrap(lines.lastIndex { $0.contains("#000000") })
        let lastStrategy = try XCTUnwrap(lines.lastIndex { !$0.contains("#000000") && !$0.contains("#999999") })
        XCTAssertGreaterThan(lastBaseline, lastStrategy, "source-only must be drawn after (over) the strategy lines")
        XCTAssertTrue(lines.last!.contains("#000000"), "source-only is the top line")
    }

    func testPlotsAreDeterministic() throws {
        XCTAssertEqual(try Self.plots().map(\.svg), try Self.plots().map(\.svg))
    }
}

// MARK: - Reading the SVG back

extension PlotGoldenTests {
    /// The `<text>` elements of an SVG with their extents, estimated with Helvetica's advance widths
    /// (the same model the plots lay out with) so that a text can be checked against the viewBox.
    struct ParsedSVG {
        struct Text {
            var content: String
            var x: Double, y: Double
            var fontSize: Double
            var bold: Bool
            var anchor: String
            var classes: [String]
            /// `translate(tx ty) rotate(a)`, when present.
            var translate: (Double, Double)?
            var rotation: Double

            var box: (minX: Double, maxX: Double, minY: Double, maxY: Double) {
                let width = TextWidth.of(content, fontSize: fontSize, bold: bold)
                let start = anchor == "middle" ? -width / 2 : anchor == "end" ? -width : 0
                let (x0, y0) = translate ?? (x, y)
                let ox = translate == nil ? 0 : x, oy = translate == nil ? 0 : y
                let corners = [(start, -0.8 * fontSize), (start + width, -0.8 * fontSize), (start, 0.25 * fontSize), (start + width, 0.25 * fontSize)]
                let (c, s) = (cos(rotation * .pi / 180), sin(rotation * .pi / 180))
                let points = corners.map { (u, v) in (x0 + c * (u + ox) - s * (v + oy), y0 + s * (u + ox) + c * (v + oy)) }
                return (points.map(\.0).min()!, points.map(\.0).max()!, points.map(\.1).min()!, points.map(\.1).max()!)
            }
        }

        var width = 0.0, height = 0.0
        var texts: [Text] = []

        /// Tick labels of the x axis: marked `class="tick-x"`; in an SVG without classes, the 11-pt texts
        /// that are centred or rotated (how the first plots drew them).
        var xTickLabels: [Text] {
            let marked = texts.filter { $0.classes.contains("tick-x") }
            if texts.contains(where: { !$0.classes.isEmpty }) { return marked }
            return texts.filter { $0.fontSize == 11 && ($0.anchor == "middle" || $0.rotation != 0) }
        }

        /// Legend lines joined by spaces (a wrapped entry reads whole again); every text without classes.
        var legendText: String {
            let marked = texts.filter { $0.classes.contains("legend") }
            return (marked.isEmpty ? texts : marked).map(\.content).joined(separator: " ")
        }

        init(_ svg: String) throws {
            let parser = XMLParser(data: Data(svg.utf8))
            let reader = Reader()
            parser.delegate = reader
            guard parser.parse() else { throw NSError(domain: "ParsedSVG", code: 1, userInfo: [NSLocalizedDescriptionKey: "not XML: \(parser.parserError.map { "\($0)" } ?? "?")"]) }
            width = reader.viewBox.2
            height = reader.viewBox.3
            texts = reader.texts
        }

        final class Reader: NSObject, XMLParserDelegate {
            var viewBox = (0.0, 0.0, 0.0, 0.0)
            var texts: [Text] = []
            var current: Text?

            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == "svg", let box = attributes["viewBox"] {
                    let v = box.split(separator: " ").compactMap { Double($0) }
                    if v.count == 4 { viewBox = (v[0], v[1], v[2], v[3]) }
                }
                guard name == "text" else { return }
                var text = Text(
                    content: "", x: Double(attributes["x"] ?? "0") ?? 0, y: Double(attributes["y"] ?? "0") ?? 0,
                    fontSize: Double(attributes["font-size"] ?? "16") ?? 16, bold: attributes["font-weight"] == "bold",
                    anchor: attributes["text-anchor"] ?? "start", classes: (attributes["class"] ?? "").split(separator: " ").map(String.init),
                    translate: nil, rotation: 0)
                if let transform = attributes["transform"] {
                    let numbers = transform.split(whereSeparator: { !"0123456789.-".contains($0) }).compactMap { Double($0) }
                    if transform.hasPrefix("translate"), numbers.count >= 2 { text.translate = (numbers[0], numbers[1]) }
                    if transform.contains("rotate"), let angle = numbers.last { text.rotation = angle }
                }
                current = text
            }

            func parser(_ parser: XMLParser, foundCharacters string: String) { current?.content += string }

            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "text", let text = current { texts.append(text) }
                if name == "text" { current = nil }
            }
        }
    }

    /// Helvetica advance widths (Adobe AFM, 1/1000 em); bold is taken 10 % wider. A copy of the model in
    /// Plots.swift, kept here so the test judges the layout independently of the code it checks.
    enum TextWidth {
        static let ascii: [Int] = [
            278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
            556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
            278, 278, 584, 584, 584, 556, 1015,
            667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611,
            278, 278, 278, 469, 556, 333,
            556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500,
            334, 260, 334, 584,
        ]
        static let other: [Character: Int] = ["°": 400, "±": 584, "−": 584, "–": 556, "—": 1000, "…": 1000, "×": 584, "→": 1000, "·": 278]

        static func of(_ text: String, fontSize: Double, bold: Bool = false) -> Double {
            let units = text.reduce(0) { sum, character in
                if let code = character.asciiValue, code >= 32, code <= 126 { return sum + ascii[Int(code) - 32] }
                return sum + (other[character] ?? 1000)
            }
            return Double(units) / 1000 * fontSize * (bold ? 1.1 : 1)
        }
    }
}
