import Adaptation
import Experiments
import DomainData
import Foundation
import HDF5Kit
import TensorCore
import XCTest

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// PCA and t-SNE (`Embedding`), the run's SVG plots (`RunPlots`) and the files a run writes.
final class RunPlotsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-runplots-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    // MARK: Embedding

    /// x_i = t_i·a + s_i·b with a = (0.6, 0.8), b = (−0.8, 0.6), t = (−2, −1, 1, 2), s = (0.1, −0.1,
    /// −0.1, 0.1): the mean is 0 and Σ t·s = 0, so C = (Σt²/3) a aᵀ + (Σs²/3) b bᵀ with variances
    /// 10/3 and 0.04/3, axes a and −b (sign: largest entry positive), scores t and −s.
    func testPCARecoversThePrincipalDirection() {
        let t = [-2.0, -1, 1, 2], s = [0.1, -0.1, -0.1, 0.1]
        var x: [Double] = []
        for i in 0..<4 { x += [0.6 * t[i] - 0.8 * s[i], 0.8 * t[i] + 0.6 * s[i]] }
        let pca = Embedding.pca(x, dimension: 2)
        XCTAssertEqual(pca.axes[0][0], 0.6, accuracy: 1e-9)
        XCTAssertEqual(pca.axes[0][1], 0.8, accuracy: 1e-9)
        XCTAssertEqual(pca.axes[1][0], 0.8, accuracy: 1e-9)
        XCTAssertEqual(pca.axes[1][1], -0.6, accuracy: 1e-9)
        XCTAssertEqual(pca.variances[0], 10.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(pca.variances[1], 0.04 / 3, accuracy: 1e-9)
        XCTAssertEqual(pca.explainedShare(0), 10 / 10.04, accuracy: 1e-9)
        for i in 0..<4 {
            XCTAssertEqual(pca.coordinates[2 * i], t[i], accuracy: 1e-9)
            XCTAssertEqual(pca.coordinates[2 * i + 1], -s[i], accuracy: 1e-9)
        }
    }

    /// A shifted copy in 5-D with one dominant direction: the first axis is that direction.
    func testPCAInHigherDimensionAndDegenerateInputs() {
        var rng = SeededGenerator(seed: 4)
        let direction = [1.0, 2, 0, -2, 0].map { $0 / 3 }
        var x: [Double] = []
        for _ in 0..<200 {
            let t = Double(rng.nextNormal()) * 5
            x += direction.map { 7 + t * $0 + Double(rng.nextNormal()) * 0.05 }
        }
        let pca = Embedding.pca(x, dimension: 5)
        let cosine = zip(pca.axes[0], direction).reduce(0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(abs(cosine), 1, accuracy: 1e-4)
        // Constant rows, one row, one column: all zero, nothing non-finite.
        XCTAssertEqual(Embedding.pca([Double](repeating: 3, count: 12), dimension: 3).coordinates, [Double](repeating: 0, count: 8))
        XCTAssertEqual(Embedding.pca([1, 2, 3], dimension: 3).coordinates, [0, 0])
        let line = Embedding.pca([1, .nan, 3, .infinity], dimension: 1)
        XCTAssertTrue(line.coordinates.allSatisfy(\.isFinite))
        XCTAssertEqual(line.coordinates.count, 8)
    }

    /// 400 points (160 000 pairs, above TensorCore's parallel threshold): the rows of each gradient
    /// run on the pool, and the embedding is the same on one, two and three threads.
    func testTSNEIsTheSameOnAnyThreadCount() {
        defer { setThreadCount(0) }
        var rng = SeededGenerator(seed: 12)
        let n = 400, d = 5
        let x = (0..<(n * d)).map { i in Double(rng.nextNormal()) + (i / d < n / 2 ? 0 : 4) }
        XCTAssertGreaterThanOrEqual(n * n, ParallelKernels.minimumParallelElements)
        setThreadCount(1)
        let serial = Embedding.tsne(x, dimension: d, perplexity: 30, iterations: 60, seed: 3)
        for threads in [2, 3] {
            setThreadCount(threads)
            XCTAssertEqual(Embedding.tsne(x, dimension: d, perplexity: 30, iterations: 60, seed: 3), serial, "\(threads) threads")
        }
    }

    /// Two Gaussian clusters 10 standard deviations apart in 10-D: in the embedding the nearest
    /// neighbour of almost every point is from its own cluster; the same seed gives the same output.
    func testTSNESeparatesTwoClustersAndIsDeterministic() {
        var rng = SeededGenerator(seed: 11)
        let n = 200, d = 10
        var x: [Double] = []
        for i in 0..<n { for k in 0..<d { x.append(Double(rng.nextNormal()) + (i < n / 2 ? 0 : (k == 0 ? 10 : 0))) } }
        let y = Embedding.tsne(x, dimension: d, perplexity: 30, iterations: 300, seed: 5)
        XCTAssertEqual(y.count, 2 * n)
        XCTAssertTrue(y.allSatisfy(\.isFinite))
        var pure = 0
        for i in 0..<n {
            var best = (Double.infinity, -1)
            for j in 0..<n where j != i {
                let dist = pow(y[2 * i] - y[2 * j], 2) + pow(y[2 * i + 1] - y[2 * j + 1], 2)
                if dist < best.0 { best = (dist, j) }
            }
            if (best.1 < n / 2) == (i < n / 2) { pure += 1 }
        }
        XCTAssertGreaterThanOrEqual(Double(pure) / Double(n), 0.95)
        XCTAssertEqual(Embedding.tsne(x, dimension: d, perplexity: 30, iterations: 300, seed: 5), y, "same seed, same coordinates")
        XCTAssertNotEqual(Embedding.tsne(x, dimension: d, perplexity: 30, iterations: 300, seed: 6), y, "another seed, another start")
    }

    /// Tiny and degenerate inputs give finite coordinates.
    func testTSNEIsTotal() {
        XCTAssertEqual(Embedding.tsne([], dimension: 3, seed: 0), [])
        XCTAssertEqual(Embedding.tsne([1, 2], dimension: 1, seed: 0).count, 4)
        let same = Embedding.tsne([Double](repeating: 1, count: 20), dimension: 2, iterations: 50, seed: 0)
        XCTAssertTrue(same.allSatisfy(\.isFinite))
        let wild = Embedding.tsne([0, .nan, 1e200, 3, -4, .infinity, 5, 6], dimension: 2, iterations: 50, seed: 0)
        XCTAssertTrue(wild.allSatisfy(\.isFinite))
    }

    // MARK: SVG

    /// Parses `svg` as XML and returns every text node, joined.
    func wellFormedText(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let collector = TextCollector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")", file: file, line: line)
        XCTAssertEqual(collector.root, "svg", file: file, line: line)
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf\""), "no non-finite coordinates", file: file, line: line)
        return collector.text
    }

    final class TextCollector: NSObject, XMLParserDelegate {
        var text = ""
        var root: String?
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            if root == nil { root = name }
        }
        // XMLParser hands a text node over in pieces (at entities and non-ASCII characters).
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) { text += "\n" }
    }

    /// An epoch's metrics, through `Codable` (the type has no public memberwise init); `total` may be
    /// NaN or infinite.
    func epoch(_ e: Int, total: Double, evaluated: Bool) throws -> EpochMetrics {
        func number(_ v: Double) -> String { v.isNaN ? "\"nan\"" : v.isInfinite ? "\"inf\"" : "\(v)" }
        let json = """
            {"epoch": \(e), "progress": \(Double(e) / 4), "learningRate": \(0.01 / Double(e)), "seconds": 1,
             "losses": {"total": \(number(total)), "source.crossEntropy": 0.5, "dann": 0.69},
             "diagnostics": {"dann.lambda": \(Double(e) / 4), "dann.domainAccuracy": 0.5}
             \(evaluated ? ", \"sourceAccuracy\": 0.9, \"targetAccuracy\": 0.7" : "")}
            """
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(EpochMetrics.self, from: Data(json.utf8))
    }

    func testLearningCurvesHavePanelsForEveryTermAndSurviveBadValues() throws {
        let epochs = [
            try epoch(1, total: 1.2, evaluated: false), try epoch(2, total: .nan, evaluated: true), try epoch(3, total: 0.8, evaluated: false),
            try epoch(4, total: .infinity, evaluated: true),
        ]
        let text = wellFormedText(RunPlots.learningCurves(epochs, title: "tiny <run> & co: learning curves"))
        for expected in [
            "tiny <run> & co: learning curves", "loss: total (2 non-finite not drawn)", "loss: source.crossEntropy", "loss: dann",
            "λ: dann.lambda", "dann.domainAccuracy", "learning rate", "accuracy (%) at evaluated epochs", "source", "target", "epoch",
        ] {
            XCTAssertTrue(text.contains(expected), "missing '\(expected)'")
        }
        XCTAssertTrue(text.contains("0.0025") || text.contains("2.5e-03") || text.contains("0.002"), "learning-rate ticks readable: \(text)")
        // One epoch, no epochs: still a plot.
        XCTAssertTrue(wellFormedText(RunPlots.learningCurves([try epoch(1, total: 1, evaluated: true)], title: "one")).contains("loss: total"))
        XCTAssertTrue(wellFormedText(RunPlots.learningCurves([], title: "none")).contains("no epochs"))
    }

    func points(_ n: Int, dimension: Int, offset: Double, labelled: Bool, seed: UInt64) -> RunPlots.Points {
        var rng = SeededGenerator(seed: seed)
        let values = (0..<(n * dimension)).map { i in Double(rng.nextNormal()) + (i % dimension == 0 ? offset : 0) }
        return RunPlots.Points(values: values, dimension: dimension, labels: labelled ? (0..<n).map { $0 % 3 } : nil)
    }

    func testFeaturesPlotHasFourPanelsAndIsDeterministic() {
        let before = RunPlots.Domains(source: points(30, dimension: 4, offset: 0, labelled: true, seed: 1), target: points(25, dimension: 4, offset: 3, labelled: true, seed: 2))
        let after = RunPlots.Domains(source: points(30, dimension: 4, offset: 0, labelled: true, seed: 3), target: points(25, dimension: 4, offset: 0.5, labelled: true, seed: 4))
        let svg = RunPlots.features(before: before, after: after, classNames: ["zero", "one", "two"], seed: 9, title: "tiny: features")
        let text = wellFormedText(svg)
        for expected in ["tiny: features", "PCA, before training", "PCA, after training", "t-SNE, before training", "t-SNE, after training", "zero", "two", "source", "target", "PC1 ("] {
            XCTAssertTrue(text.contains(expected), "missing '\(expected)'")
        }
        XCTAssertEqual(svg.components(separatedBy: "<use ").count - 1, 4 * 55 + 5, "every point in every panel, plus the legend's markers")
        XCTAssertEqual(RunPlots.features(before: before, after: after, classNames: ["zero", "one", "two"], seed: 9, title: "tiny: features"), svg)
        // Unlabelled target, one class, constant features.
        let flat = RunPlots.Points(values: [Double](repeating: 2, count: 20), dimension: 2, labels: nil)
        let one = RunPlots.Points(values: [Double](repeating: 2, count: 20), dimension: 2, labels: [Int](repeating: 0, count: 10))
        let degenerate = RunPlots.features(before: .init(source: one, target: flat), after: .init(source: one, target: flat), classNames: ["only"], seed: 1, title: "flat")
        XCTAssertTrue(wellFormedText(degenerate).contains("target (no labels)"))
    }

    func testDecisionBoundaryOnlyForTwoDimensionalPoints() throws {
        let domains = RunPlots.Domains(source: points(20, dimension: 2, offset: 0, labelled: true, seed: 1), target: points(20, dimension: 2, offset: 2, labelled: false, seed: 2))
        let grid = RunPlots.DecisionGrid(covering: [domains.source, domains.target], cells: 30)
        XCTAssertEqual(grid.centres.count, 2 * 30 * 30)
        let predictions = stride(from: 0, to: grid.centres.count, by: 2).map { grid.centres[$0] > 1 ? 1 : 0 }
        let svg = try XCTUnwrap(RunPlots.decisionBoundary(grid: grid, predictions: predictions, points: domains, classNames: ["a", "b"], title: "tiny: decision boundary"))
        let text = wellFormedText(svg)
        for expected in ["tiny: decision boundary", "source (filled)", "target (hollow, no labels)", "x₁", "x₂", "a", "b"] {
            XCTAssertTrue(text.contains(expected), "missing '\(expected)'")
        }
        XCTAssertLessThanOrEqual(svg.components(separatedBy: "<rect ").count - 1, 2 * 30 + 10, "one rect per run of a row, not per cell")
        let fourD = RunPlots.Domains(source: points(5, dimension: 4, offset: 0, labelled: true, seed: 1), target: points(5, dimension: 4, offset: 0, labelled: true, seed: 2))
        XCTAssertNil(RunPlots.decisionBoundary(grid: grid, predictions: predictions, points: fourD, classNames: ["a", "b"], title: "4-D"))
    }

    func testConfusionHeatmapsWithCountsAndNames() {
        let target = RunPlots.ConfusionPanel(title: "target (targetTest)", matrix: [[5, 1], [0, 0]])
        let source = RunPlots.ConfusionPanel(title: "source (source)", matrix: [[3, 0], [2, 4]])
        let text = wellFormedText(RunPlots.confusion([target, source], classNames: ["cat", "dog & co"], title: "tiny: confusion matrices"))
        for expected in ["tiny: confusion matrices", "rows = true class", "target (targetTest): accuracy 83.3 % of 6", "source (source): accuracy 77.8 % of 9", "cat", "dog & co", "5", "4", "predicted class"] {
            XCTAssertTrue(text.contains(expected), "missing '\(expected)'")
        }
        // Many classes: no counts; empty input: a plot that says so.
        let big = (0..<30).map { r in (0..<30).map { $0 == r ? 7 : 0 } }
        XCTAssertFalse(wellFormedText(RunPlots.confusion([.init(title: "t", matrix: big)], classNames: [], title: "big")).contains("\n7\n"))
        XCTAssertTrue(wellFormedText(RunPlots.confusion([], classNames: [], title: "none")).contains("no labelled evaluation split"))
    }

    // MARK: A run

    static let recipe = CommandLineTests.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: 2")

    func run(_ recipe: String, seed: UInt64 = 0, into folder: String) throws -> URL {
        let url = directory.appendingPathComponent("\(folder).yaml")
        try recipe.write(to: url, atomically: true, encoding: .utf8)
        let loaded = try Recipe.load(url, registry: .builtIn)
        let output = directory.appendingPathComponent(folder)
        _ = try Runner(recipe: loaded, registry: .builtIn).run(seed: seed, output: output)
        return output
    }

    func testTinyRunWritesTheFourPlotsReproduciblyAndNoneWhenOff() throws {
        let folder = try run(Self.recipe, into: "a")
        for kind in RunPlots.Kind.allCases {
            let url = folder.appendingPathComponent(kind.fileName)
            XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), "\(kind.fileName) written")
            _ = wellFormedText(try String(contentsOf: url, encoding: .utf8))
        }
        let again = try run(Self.recipe, into: "b")
        for name in RunPlots.Kind.allCases.map(\.fileName) {
            XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent(name)), try Data(contentsOf: again.appendingPathComponent(name)), "\(name): same recipe and seed, same bytes")
        }
        let off = try run(Self.recipe.replacingOccurrences(of: "  every: 2\n", with: "  every: 2\n  plots: []\n"), into: "off")
        XCTAssertTrue(FileManager.default.fileExists(atPath: off.appendingPathComponent("report.json").path))
        for kind in RunPlots.Kind.allCases {
            XCTAssertFalse(FileManager.default.fileExists(atPath: off.appendingPathComponent(kind.fileName).path), "\(kind.fileName) not written")
        }
        let some = try run(Self.recipe.replacingOccurrences(of: "  every: 2\n", with: "  every: 2\n  plots: [confusion]\n  plot_samples: 10\n"), into: "some")
        XCTAssertEqual(RunPlots.Kind.allCases.filter { FileManager.default.fileExists(atPath: some.appendingPathComponent($0.fileName).path) }, [.confusion])
    }

    /// 3-D inputs and an unlabelled target: no decision boundary, a source-only confusion plot.
    func testRunOnThreeDimensionalUnlabelledDataSkipsTheDecisionBoundary() throws {
        var rng = SeededGenerator(seed: 2)
        func split(_ n: Int, shift: Float, labelled: Bool) -> DomainSplit {
            let y = (0..<n).map { $0 % 2 }
            let x = Tensor(shape: [n, 3], scalars: (0..<(3 * n)).map { i in rng.nextNormal() + Float(y[i / 3]) * 3 + shift })
            return DomainSplit(x: x, y: labelled ? y : nil)
        }
        let data = DomainDataset(source: split(60, shift: 0, labelled: true), target: split(60, shift: 1, labelled: false), classNames: ["a", "b"], shiftDescription: "offset")
        try DomainDatasetFile.save(data, to: directory.appendingPathComponent("three.h5"))
        let recipe = Self.recipe.replacingOccurrences(
            of: "  generator: moons\n  rotation: 30\n  samples_per_class: 40\n  test_samples_per_class: 60\n", with: "  file: three.h5\n")
        XCTAssertTrue(recipe.contains("file: three.h5"))
        let folder = try run(recipe, into: "three")
        let written = RunPlots.Kind.allCases.filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0.fileName).path) }
        XCTAssertEqual(written, [.learningCurves, .features, .confusion])
        let confusion = wellFormedText(try String(contentsOf: folder.appendingPathComponent("confusion.svg"), encoding: .utf8))
        XCTAssertTrue(confusion.contains("The target has no labels"))
        XCTAssertTrue(wellFormedText(try String(contentsOf: folder.appendingPathComponent("features.svg"), encoding: .utf8)).contains("target (no labels)"))
    }

    func testRecipeRefusesUnknownPlotsAndSampleCounts() throws {
        for (bad, message) in [("plots: [histogram]", "unknown plot 'histogram'"), ("plot_samples: 5", "plot_samples")] {
            let url = directory.appendingPathComponent("bad.yaml")
            try Self.recipe.replacingOccurrences(of: "  every: 2\n", with: "  every: 2\n  \(bad)\n").write(to: url, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try Recipe.load(url, registry: .builtIn)) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
            }
        }
    }
}
