import Adaptation
import Experiments
import Foundation
import TensorCore
import XCTest

/// Inputs that once crashed, hung or exhausted memory, or were accepted by `--check` and then
/// trapped in `run`: each must now be a one-line `RecipeError` at the value's line.
final class RecipeRegressionTests: XCTestCase {
    static let valid = RecipeValidationTests.valid

    func load(_ text: String, overrides: [String] = []) throws -> Recipe {
        var tree = try RecipeTree.parse(yaml: text, file: "recipe.yaml")
        for override in overrides { tree = try tree.applying(override: override, file: "recipe.yaml") }
        return try Recipe(tree: tree, file: "recipe.yaml", directory: FileManager.default.temporaryDirectory, registry: .builtIn)
    }

    /// Asserts that `text` is refused at `line` with a message containing `fragment`.
    func assertRefused(
        _ text: String, overrides: [String] = [], line: Int, _ fragment: String, file: StaticString = #filePath, testLine: UInt = #line
    ) {
        do {
            _ = try load(text, overrides: overrides)
            XCTFail("accepted, expected '\(fragment)'", file: file, line: testLine)
        } catch let error as RecipeError {
            XCTAssertEqual(error.location.line, line, error.description, file: file, line: testLine)
            XCTAssertTrue(error.description.contains(fragment), "\(error.description) lacks '\(fragment)'", file: file, line: testLine)
            XCTAssertFalse(error.description.contains("\n"), "not one line: \(error.description)", file: file, line: testLine)
        } catch {
            XCTFail("\(type(of: error)) is not a RecipeError: \(error)", file: file, line: testLine)
        }
    }

    func replacing(_ old: String, _ new: String) -> String {
        precondition(Self.valid.contains(old), "the test recipe has no '\(old)'")
        return Self.valid.replacingOccurrences(of: old, with: new)
    }

    // MARK: 1. YAML bombs

    func testAliasBombIsRefusedBeforeExpanding() {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...10 {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        assertRefused(lines.joined(separator: "\n"), line: 8, "the YAML uses more than \(RecipeLimits.maxAliases) aliases")
        // Six levels stay under the alias count but expand to 10⁶ values.
        assertRefused(lines.prefix(7).joined(separator: "\n"), line: 1, "expands to more than \(RecipeLimits.maxNodes) values")
    }

    func testDeepNestingIsRefusedBeforeComposing() throws {
        assertRefused("name: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000), line: 1, "nests deeper than 64 levels")
        assertRefused(
            "data: " + String(repeating: "{a: ", count: 10_000), line: 1, "nests deeper than \(RecipeLimits.maxDepth) levels")
        let block = (0..<100).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " 1"
        assertRefused(block, line: 65, "nests deeper than 64 levels")
        // Sixty levels are fine for the parser (the recipe then fails on its own terms).
        XCTAssertNoThrow(try RecipeTree.parse(yaml: "x: " + String(repeating: "[", count: 60) + String(repeating: "]", count: 60), file: "r"))
        XCTAssertThrowsError(try load(Self.valid, overrides: ["name=" + String(repeating: "[", count: 5000)])) { error in
            XCTAssertTrue("\(error)".contains("nests deeper"), "\(error)")
        }
    }

    func testOversizedDocumentIsRefused() {
        let text = Self.valid + "\ndescription: \"" + String(repeating: "x", count: RecipeLimits.maxDocumentBytes) + "\"\n"
        assertRefused(text, line: 1, "more than the limit of \(RecipeLimits.maxDocumentBytes)")
    }

    // MARK: 2. Numbers

    func testNonFiniteNumbersAreRefusedWithTheirLine() {
        assertRefused(replacing("lr: 0.05", "lr: .nan"), line: 17, "optimizer.lr must be a finite number, got .nan")
        assertRefused(replacing("rotation: 30", "rotation: .inf"), line: 4, "data.rotation must be a finite number, got .inf")
        assertRefused(replacing("rotation: 30", "rotation: -.inf"), line: 4, "data.rotation must be a finite number, got -.inf")
        assertRefused(replacing("lr: 0.05", "lr: 1e400"), line: 17, "optimizer.lr must be a finite number, got 1e400")
        assertRefused(replacing("threshold: 0.8", "threshold: .NaN"), line: 14, "must be a finite number, got .NaN")
        assertRefused(replacing("threshold: 0.8", "threshold: [.nan]"), line: 14, "must be a finite number, got .nan")
    }

    func testNonDecimalNumbersAreRefused() {
        assertRefused(replacing("rotation: 30", "rotation: 1_0"), line: 4, "data.rotation must be a number in decimal notation, got 1_0")
        assertRefused(replacing("epochs: 3", "epochs: 0x1A"), line: 18, "epochs must be a number in decimal notation, got 0x1A")
        assertRefused(replacing("lr: 0.05", "lr: 1:30"), line: 17, "decimal notation, got 1:30")
        assertRefused(replacing("threshold: 0.8", "threshold: 1_0"), line: 14, "decimal notation, got 1_0")
    }

    func testNullOptionMeansTheDefault() throws {
        let recipe = try load(replacing("threshold: 0.8", "threshold: null"))
        XCTAssertNil(recipe.strategies[1].options["threshold"])
        XCTAssertEqual(try load(replacing("lr: 0.05", "lr: ~")).optimizer.learningRate, 0.01)
    }

    func testHugeWeightIsRefusedBeforeFloatConversion() throws {
        assertRefused(replacing("schedule: dann", "weight: 1e40"), line: 11, "weight must be a number in [0, 1000000], got 1e40")
        assertRefused(replacing("schedule: dann", "schedule: {name: dann, gamma: 1e39}"), line: 11, "gamma must be a number in [0, 1000000]")
        let context = StrategyContext(featureSize: 4, classCount: 2, rng: SeededGenerator(seed: 0))
        XCTAssertThrowsError(try StrategyRegistry.builtIn.makeTerm("coral", weight: .infinity, context: context)) { error in
            XCTAssertTrue("\(error)".contains("weight"), "\(error)")
        }
    }

    // MARK: 3. Accepted by --check, then a trap in run

    func testOptimizerRanges() {
        assertRefused(replacing("name: sgd", "name: adam\n  beta1: 2"), line: 17, "optimizer.beta1 must be a number in [0, 1), got 2")
        assertRefused(replacing("name: sgd", "name: adam\n  beta2: -1"), line: 17, "optimizer.beta2 must be a number in [0, 1), got -1")
        // 0.9999999999 is 1 as a Float: the optimizer's precondition would trap.
        assertRefused(replacing("name: sgd", "name: adam\n  beta2: 0.9999999999"), line: 17, "optimizer.beta2 must be a number in [0, 1)")
        assertRefused(replacing("lr: 0.05", "lr: 0.05\n  momentum: 0.99999999999"), line: 18, "optimizer.momentum must be a number in [0, 1)")
        assertRefused(replacing("lr: 0.05", "lr: 0.05\n  weight_decay: -0.1"), line: 18, "optimizer.weight_decay must be a number in [0, 1000000]")
    }

    func testCountsHaveUpperLimits() {
        assertRefused(replacing("epochs: 3", "epochs: 99999999999999999999"), line: 18, "epochs must be an integer in [1, 100000], got 99999999999999999999")
        assertRefused(replacing("epochs: 3", "epochs: 9223372036854775807"), line: 18, "epochs must be an integer in [1, 100000]")
        assertRefused(replacing("batch_size: 16", "batch_size: 9223372036854775807"), line: 19, "batch_size must be an integer in [2, 1000000]")
        assertRefused(replacing("batch_size: 16", "batch_size: 1"), line: 19, "batch_size must be an integer in [2, 1000000], got 1")
        assertRefused(replacing("samples_per_class: 20", "samples_per_class: 20\n  max_source_samples: 1"), line: 6, "must be 0 (all) or at least 2")
    }

    func testModelMustFitTheDataBeforeAnythingIsAllocated() {
        assertRefused(replacing("architecture: mlp\n  hidden: [8]", "architecture: lenet"), line: 7,
            "model.architecture: lenet needs C×H×W image samples, got samples of shape [2]")
        assertRefused(replacing("hidden: [8]", "hidden: [10000000000]"), line: 8, "model.hidden entries must be an integer in [1, 1000000], got 10000000000")
        assertRefused(replacing("hidden: [8]", "hidden: [1000000, 1000]"), line: 7, "has more than \(RecipeLimits.maxParameters) parameters")
        assertRefused(replacing("hidden: [8]", "hidden: []"), line: 8, "model.hidden must list 1 to 64 integers, got 0")
        assertRefused(replacing("schedule: dann", "options: {discriminatorHidden: [65536, 65536, 65536]}"), line: 10,
            "option 'discriminatorHidden' [65536, 65536, 65536] brings the parameters to")
        var rng = SeededGenerator(seed: 0)
        XCTAssertThrowsError(
            try AdaptationModel.make(inputShape: [2], classCount: 2, spec: ModelSpec(extractor: .lenet()), rng: &rng)
        ) { error in
            XCTAssertEqual((error as? ModelSpecError)?.field, "architecture", "\(error)")
        }
        XCTAssertThrowsError(
            try AdaptationModel.make(inputShape: [3, 1, 1], classCount: 2, spec: ModelSpec(extractor: .lenet()), rng: &rng)
        ) { error in
            XCTAssertTrue("\(error)".contains("large enough"), "\(error)")
        }
    }

    func testGeneratorOptionsHaveRanges() {
        assertRefused(replacing("samples_per_class: 20", "samples_per_class: 0"), line: 5, "data.samples_per_class must be an integer in [1, 1000000]")
        assertRefused(replacing("samples_per_class: 20", "samples_per_class: 100000000000"), line: 5, "data.samples_per_class must be an integer in [1, 1000000]")
        assertRefused(replacing("samples_per_class: 20", "noise: -1"), line: 5, "data.noise must be a number in [0, 100], got a number (-1)")
        assertRefused(replacing("samples_per_class: 20", "data_seed: -1"), line: 5, "data.data_seed must be an integer")
        assertRefused(replacing("generator: moons\n  rotation: 30\n  samples_per_class: 20", "generator: shifted\n  classes: 1"), line: 4,
            "data.classes must be an integer in [2, 100]")
        assertRefused(replacing("generator: moons\n  rotation: 30\n  samples_per_class: 20", "generator: digits\n  shift: scale\n  amount: 0"), line: 5,
            "data.amount must be in (0, 10] for shift scale, got 0")
        assertRefused(replacing("generator: moons\n  rotation: 30\n  samples_per_class: 20", "generator: digits\n  shift: blur\n  amount: 1e9"), line: 5,
            "data.amount must be a number in [-360, 360]")
        XCTAssertThrowsError(try DataGenerators.make("moons", options: ["samples_per_class": .number(0)], seed: 0))
        XCTAssertThrowsError(try DataGenerators.make("shifted", options: ["ratio": .number(1)], seed: 0))
        for (name, options) in DataGenerators.options {
            for option in options {
                switch option.kind {
                case .number, .integer: XCTAssertNotNil(option.range, "data generator \(name): option \(option.name) has no range")
                default: break
                }
            }
        }
    }

    func testEveryBuiltInStrategyOptionHasADomain() {
        for entry in StrategyRegistry.builtIn.entries.values {
            for option in entry.options {
                XCTAssertNotNil(option.domain, "strategy \(entry.name): option \(option.name) has no domain")
                if let value = option.defaultValue, let domain = option.domain {
                    XCTAssertNil(domain.problem(with: value), "strategy \(entry.name): default of \(option.name) is outside its own domain")
                }
            }
        }
    }

    func testStrategyOptionRangesAreCheckedAtValidation() {
        func strategy(_ yaml: String) -> String { replacing("  - name: selfTraining\n    options:\n      threshold: 0.8", yaml) }
        let cases: [(String, String)] = [
            ("  - name: selfTraining\n    options:\n      threshold: -0.1", "option 'threshold' must be a number in [0, 1], got a number (-0.1)"),
            ("  - name: selfTraining\n    options:\n      rounds: 0", "option 'rounds' must be an integer in [1, 10000]"),
            ("  - name: selfTraining\n    options:\n      warmup: 1", "option 'warmup' must be a number in [0, 1)"),
            ("  - name: mmd\n    options:\n      sigma: 0", "option 'sigma' must be a number in (0, 1000000]"),
            ("  - name: mmd\n    options:\n      multipliers: []", "option 'multipliers' must be a list of 1 to 64 numbers"),
            ("  - name: dan\n    options:\n      layers: []", "option 'layers' must be a list of 1 to 3 of extractor, features, logits"),
            ("  - name: dann\n    options:\n      discriminatorHidden: [0]", "option 'discriminatorHidden' must be a list of 0 to 16 layer widths"),
            ("  - name: domainConfusion\n    options:\n      discriminatorDropout: 1", "option 'discriminatorDropout' must be a number in [0, 1)"),
            ("  - name: fineTune\n    options:\n      headMultiplier: -1", "option 'headMultiplier' must be a number in [0, 1000000]"),
            ("  - name: coral\n    options:\n      layer: pixels", "option 'layer' must be one of extractor, features, logits"),
        ]
        for (yaml, fragment) in cases { assertRefused(strategy(yaml), line: 14, fragment) }
        let context = StrategyContext(featureSize: 4, classCount: 2, rng: SeededGenerator(seed: 0))
        XCTAssertThrowsError(try StrategyRegistry.builtIn.make("mmd", options: StrategyOptions(["sigma": .number(-1)]), context: context)) { error in
            XCTAssertEqual("\(error)", "strategy mmd: option 'sigma' must be a number in (0, 1000000], got a number (-1)")
        }
    }

    // MARK: 4. Empty values

    func testEmptyOutputSeedsAndOverrideValues() {
        assertRefused(Self.valid + "\noutput: \"\"", line: 21, "output must not be empty")
        assertRefused(Self.valid + "\noutput: \"   \"", line: 21, "output must not be empty")
        assertRefused(replacing("seeds: [0, 1]", "seeds: []"), line: 20, "seeds must list 1 to 1000 integers, got 0")
        assertRefused(replacing("seeds: [0, 1]", "seeds: [3, 3]"), line: 20, "seeds must be distinct; 3 appears twice")
        assertRefused(replacing("seeds: [0, 1]", "seeds: [-1]"), line: 20, "seeds entries must be an integer ≥ 0, got -1")
        assertRefused(replacing("name: tiny", "name: \" \""), line: 1, "name must not be empty")
        assertRefused(Self.valid, overrides: ["epochs="], line: 0, "no value after '='; write epochs=null to use the default")
        assertRefused(Self.valid, overrides: ["epochs= "], line: 0, "no value after '='")
        XCTAssertEqual(try load(Self.valid, overrides: ["epochs=null"]).epochs, 10, "null restores the default")
    }

    func testGridWithNullSeedsLoads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-grid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.valid.write(to: directory.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
        let grid = directory.appendingPathComponent("grid.yaml")
        try "recipes: [tiny.yaml]\nseeds: null\n".write(to: grid, atomically: true, encoding: .utf8)
        XCTAssertNil(try GridFile.load(grid.path).seeds)
        try "recipes: [tiny.yaml]\nseeds: .nan\n".write(to: grid, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try GridFile.load(grid.path)) { XCTAssertTrue($0 is RecipeError, "\($0)") }
    }
}
