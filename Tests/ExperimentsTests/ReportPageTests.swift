import Adaptation
import Experiments
import Foundation
import XCTest

/// `report.html` of a run and of a comparison: made by the built `dakit`, then loaded in headless
/// Chromium, which must log no console message and render the tables' values.
///
/// Without a Chromium on the machine the browser checks are skipped, unless
/// `DAKIT_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs Debian's `chromium`) makes a
/// missing browser a failure.
final class ReportPageTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-report-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func dakit(_ arguments: [String]) throws -> DakitProcess.Output {
        try DakitProcess.run(CommandLineTests.dakit(), arguments, in: directory)
    }

    func writeRecipe(epochs: Int) throws -> String {
        let text = CommandLineTests.tiny.replacingOccurrences(of: "epochs: 6", with: "epochs: \(epochs)")
        try text.write(to: directory.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
        return "tiny.yaml"
    }

    // MARK: The page's content, without a browser

    func testRunPageHoldsTheReportsNumbersThePlotsAndTheRecipeAndLoadsNothing() throws {
        let recipe = try writeRecipe(epochs: 4)
        let result = try dakit(["run", recipe, "--seed", "1", "--out", "run"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let folder = directory.appendingPathComponent("run")
        let report = try RunReport.load(folder.appendingPathComponent("report.json"))
        let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains(String(format: "%.1f%%", report.targetAccuracy! * 100)), "target accuracy in the page")
        XCTAssertTrue(html.contains(String(format: "%.4f", report.sourceMacroF1)), "source macro-F1 in the page")
        for name in report.dataset.classNames { XCTAssertTrue(html.contains("<td>\(name)</td>"), "class \(name) in the per-class table") }
        XCTAssertTrue(html.contains("<pre id=\"recipe\">"), "the resolved recipe")
        XCTAssertTrue(html.contains("tiny-dann"))
        // Every plot of the folder is inlined, none is linked.
        let svgs = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".svg") }
        for svg in svgs { XCTAssertTrue(html.contains("<figure id=\"\(svg)\">"), "\(svg) inlined") }
        XCTAssertFalse(html.contains("<img"), "no image is fetched")
        XCTAssertEqual(Self.externalReferences(html), [], "the page loads nothing from the network")
        XCTAssertFalse(html.contains("<script"), "no script")
        // summary.md lists every class by name.
        let markdown = try String(contentsOf: folder.appendingPathComponent("summary.md"), encoding: .utf8)
        for name in report.dataset.classNames { XCTAssertTrue(markdown.contains("| \(name) |"), markdown) }
        XCTAssertTrue(markdown.contains(String(format: "| target | %.1f |", report.targetAccuracy! * 100)), markdown)
    }

    func testPageEscapesWhatUsersWrote() throws {
        let folder = directory.appendingPathComponent("escape")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\"><text>plot</text></svg>\n"
            .write(to: folder.appendingPathComponent("extra.svg"), atomically: true, encoding: .utf8)
        let json = #"{"title": "<script>alert(1)</script> & co", "rows": [], "selections": [], "run_count": 0}"#
        let summary = try ResultJSON.decoder().decode(ComparisonSummary.self, from: Data(json.utf8))
        let html = ReportPage.comparison(summary, folder: folder)
        XCTAssertFalse(html.contains("<script>alert"), "a title is text, not markup")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"))
        XCTAssertTrue(html.contains("<figure id=\"extra.svg\">\n<svg"), "inlined without its XML declaration")
        XCTAssertFalse(html.contains("<?xml"))
    }

    /// `src=`/`href=` values and CSS `url(` that point off the page's folder.
    static func externalReferences(_ html: String) -> [String] {
        var found: [String] = []
        for attribute in ["src=\"", "href=\"", "url("] {
            var rest = html[...]
            while let r = rest.range(of: attribute) {
                let value = rest[r.upperBound...].prefix { $0 != "\"" && $0 != ")" }
                if value.contains("://") || value.hasPrefix("//") { found.append(String(value)) }
                rest = rest[r.upperBound...]
            }
        }
        return found
    }

    // MARK: In a real browser

    func testRunAndComparisonPagesRenderInHeadlessChromiumWithoutConsoleMessages() throws {
        let browser = try Self.chromium()
        let recipe = try writeRecipe(epochs: 2)
        let run = try dakit(["run", recipe, "--seed", "2", "--out", "run"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let compare = try dakit(["compare", recipe, "--seeds", "2", "--jobs", "2", "--out", "cmp", "--set", "evaluation.divergences=[mmd]"])
        XCTAssertEqual(compare.status, 0, compare.stdout + compare.stderr)

        // The run's page: the rendered text holds report.json's numbers and class names.
        let report = try RunReport.load(directory.appendingPathComponent("run/report.json"))
        let runPage = try Self.render(directory.appendingPathComponent("run/report.html"), browser: browser)
        XCTAssertEqual(runPage.console, [], "console messages while loading the run's page")
        XCTAssertTrue(runPage.dom.contains("<td>\(String(format: "%.1f%%", report.targetAccuracy! * 100))</td>"), "target accuracy rendered")
        XCTAssertTrue(runPage.dom.contains("<td>\(String(format: "%.1f%%", report.sourceAccuracy * 100))</td>"), "source accuracy rendered")
        XCTAssertTrue(runPage.dom.contains("<table id=\"per-class\">"))
        XCTAssertTrue(runPage.dom.contains("<svg"), "plots rendered inline")

        // The comparison's page: the summary table holds summary.json's means.
        let summary = try ResultJSON.decoder().decode(
            ComparisonSummary.self, from: Data(contentsOf: directory.appendingPathComponent("cmp/summary.json")))
        let page = try Self.render(directory.appendingPathComponent("cmp/report.html"), browser: browser)
        XCTAssertEqual(page.console, [], "console messages while loading the comparison's page")
        for strategy in ["sourceOnly", "targetOnly", "dann"] {
            let row = try XCTUnwrap(summary.row(task: "tiny-moons", strategy: strategy))
            let acc = try XCTUnwrap(row.targetAccuracy)
            let cell = String(format: "%.1f ± %.1f", acc.mean * 100, acc.std * 100)
            XCTAssertTrue(page.dom.contains("<td>\(strategy)</td><td>2</td><td>\(cell)</td>"), "\(strategy): \(cell) rendered")
        }
        XCTAssertTrue(page.dom.contains("href=\"runs/tiny-moons/dann/seed-0/report.html\""), "links to each run's page")
        XCTAssertTrue(page.dom.contains("<figure id=\"accuracy.svg\">"))
    }

    func testTheConsoleCheckCatchesAPageWithAnError() throws {
        let browser = try Self.chromium()
        let page = directory.appendingPathComponent("broken.html")
        try "<!DOCTYPE html><html><body><p>x</p><script>notAFunction();</script></body></html>".write(to: page, atomically: true, encoding: .utf8)
        let rendered = try Self.render(page, browser: browser)
        XCTAssertEqual(rendered.console.count, 1, "\(rendered.console)")
        XCTAssertTrue(rendered.console.first?.contains("notAFunction") == true, "\(rendered.console)")
    }

    /// Headless Chromium on the machine, or a skip (a failure when `DAKIT_REQUIRE_BROWSER=1`).
    static func chromium() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for folder in path.split(separator: ":") {
                let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            }
        }
        if ProcessInfo.processInfo.environment["DAKIT_REQUIRE_BROWSER"] == "1" {
            XCTFail("DAKIT_REQUIRE_BROWSER=1 but no chromium on PATH (install Debian's chromium: bash Scripts/browser-deps.sh)")
        }
        throw XCTSkip("no headless Chromium on PATH (bash Scripts/browser-deps.sh installs it; .ci/run does)")
    }

    /// Loads `page` in headless Chromium with the network cut off; returns the DOM after load and
    /// the console messages Chromium logged (`INFO:CONSOLE…] "message", source: …`).
    static func render(_ page: URL, browser: URL) throws -> (dom: String, console: [String]) {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = browser
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
            "--dump-dom", page.absoluteString,
        ]
        let errURL = profile.appendingPathExtension("stderr")
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        let errData = (try? Data(contentsOf: errURL)) ?? Data()
        let console = String(decoding: errData, as: UTF8.self).split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        XCTAssertEqual(process.terminationStatus, 0, "chromium exit status; stderr: \(String(decoding: errData, as: UTF8.self).suffix(2000))")
        return (String(decoding: outData, as: UTF8.self), console)
    }
}
