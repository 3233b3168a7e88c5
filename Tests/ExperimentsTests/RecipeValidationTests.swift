import Adaptation
import Experiments
import Foundation
import XCTest

/// Broken recipes: each error must name the file and the line (or the --set argument) and, where
/// a close valid name exists, suggest it.
final class RecipeValidationTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-recipe-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    static let valid = """
        name: tiny
        data:
          generator: moons
          rotation: 30
          samples_per_class: 20
        model:
          architecture: mlp
          hidden: [8]
        strategies:
          - name: dann
            schedule: dann
          - name: selfTraining
            options:
              threshold: 0.8
        optimizer:
          name: sgd
          lr: 0.05
        epochs: 3
        batch_size: 16
        seeds: [0, 1]
        """

    func write(_ text: String, name: String = "recipe.yaml") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func load(_ text: String, overrides: [String] = []) throws -> Recipe {
        try Recipe.load(try write(text), overrides: overrides, registry: .builtIn, displayName: "recipe.yaml")
    }

    /// The error for `text`, or a failure when it loads.
    func error(_ text: String, overrides: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> RecipeError {
        do {
            _ = try load(text, overrides: overrides)
        } catch let error as RecipeError {
            return error
        }
        XCTFail("the recipe loaded but should not have", file: file, line: line)
        throw XCTSkip("no error")
    }

    func testValidRecipeLoads() throws {
        let recipe = try load(Self.valid)
        XCTAssertEqual(recipe.strategies.map(\.name), ["dann", "selfTraining"])
        XCTAssertEqual(recipe.strategyLabel, "dann+selfTraining")
        XCTAssertEqual(recipe.strategies[1].options["threshold"], .number(0.8))
        XCTAssertEqual(recipe.strategies[0].schedule, .dannRamp(gamma: 10))
        XCTAssertEqual(recipe.seeds, [0, 1])
        XCTAssertEqual(recipe.epochs, 3)
        XCTAssertEqual(recipe.optimizer.learningRate, 0.05)
        XCTAssertEqual(recipe.data.source, .generator(name: "moons", options: ["rotation": .number(30), "samples_per_class": .number(20)]))
    }

    func testUnknownTopLevelKeyNamesLineAndSuggests() throws {
        let e = try error(Self.valid.replacingOccurrences(of: "epochs: 3", with: "epoch: 3"))
        XCTAssertEqual(e.location.file, "recipe.yaml")
        XCTAssertEqual(e.location.line, 18)
        XCTAssertEqual(e.suggestion, "epochs")
        XCTAssertTrue(e.description.hasPrefix("recipe.yaml:18:1: unknown key 'epoch'"), e.description)
        XCTAssertTrue(e.description.hasSuffix("(did you mean 'epochs'?)"), e.description)
    }

    func testUnknownStrategySuggestsClosestName() throws {
        let e = try error(Self.valid.replacingOccurrences(of: "name: selfTraining", with: "name: selfTrainng"))
        XCTAssertEqual(e.location.line, 12)
        XCTAssertEqual(e.suggestion, "selfTraining")
        XCTAssertTrue(e.description.contains("unknown strategy 'selfTrainng'"), e.description)
    }

    func testWrongTypeNamesLine() throws {
        let e = try error(Self.valid.replacingOccurrences(of: "epochs: 3", with: "epochs: three"))
        XCTAssertEqual(e.location.line, 18)
        XCTAssertTrue(e.description.contains("epochs must be an integer, got the string 'three'"), e.description)
        let lr = try error(Self.valid.replacingOccurrences(of: "lr: 0.05", with: "lr: [0.05]"))
        XCTAssertEqual(lr.location.line, 17)
        XCTAssertTrue(lr.description.contains("optimizer.lr must be a number"), lr.description)
    }

    func testMissingDataFile() throws {
        let text = Self.valid.replacingOccurrences(of: "  generator: moons\n  rotation: 30\n  samples_per_class: 20", with: "  file: nowhere/domains.h5")
        let e = try error(text)
        XCTAssertEqual(e.location.line, 3)
        XCTAssertTrue(e.description.contains("data file 'nowhere/domains.h5' does not exist"), e.description)
    }

    /// `data.streaming` is a file's option: true or false, absent (nil) for automatic; a generator has no file to stream.
    func testStreamingKeyOfADataFile() throws {
        let file = try write("not read by validation", name: "domains.h5").lastPathComponent
        let withFile = Self.valid.replacingOccurrences(of: "  generator: moons\n  rotation: 30\n  samples_per_class: 20", with: "  file: \(file)")
        XCTAssertNil(try load(withFile).data.streaming)
        XCTAssertEqual(try load(withFile, overrides: ["data.streaming=true"]).data.streaming, true)
        XCTAssertEqual(try load(withFile, overrides: ["data.streaming=false"]).data.streaming, false)
        let notBool = try error(withFile, overrides: ["data.streaming=sometimes"])
        XCTAssertTrue(notBool.description.hasSuffix("data.streaming must be true or false, got the string 'sometimes'"), notBool.description)
        let generator = try error(Self.valid, overrides: ["data.streaming=true"])
        XCTAssertTrue(generator.description.contains("unknown key 'streaming' in data with generator moons"), generator.description)
    }

    func testUnknownStrategyOptionAndWrongOptionType() throws {
        let unknown = try error(Self.valid.replacingOccurrences(of: "threshold: 0.8", with: "treshold: 0.8"))
        XCTAssertEqual(unknown.location.line, 14)
        XCTAssertEqual(unknown.suggestion, "threshold")
        XCTAssertTrue(unknown.description.contains("strategy selfTraining has no option 'treshold'"), unknown.description)
        let wrong = try error(Self.valid.replacingOccurrences(of: "threshold: 0.8", with: "threshold: high"))
        XCTAssertEqual(wrong.location.line, 14)
        XCTAssertTrue(wrong.description.contains("option 'threshold' must be a number"), wrong.description)
    }

    func testUnknownGeneratorAndSchedule() throws {
        let generator = try error(Self.valid.replacingOccurrences(of: "generator: moons", with: "generator: moon"))
        XCTAssertEqual(generator.location.line, 3)
        XCTAssertEqual(generator.suggestion, "moons")
        let schedule = try error(Self.valid.replacingOccurrences(of: "schedule: dann", with: "schedule: lienar"))
        XCTAssertEqual(schedule.location.line, 11)
        XCTAssertEqual(schedule.suggestion, "linear")
    }

    func testOverridesAreValidatedAndNamed() throws {
        let recipe = try load(Self.valid, overrides: ["optimizer.lr=0.2", "strategies.1.options.threshold=0.95", "data.rotation=90"])
        XCTAssertEqual(recipe.optimizer.learningRate, 0.2)
        XCTAssertEqual(recipe.strategies[1].options["threshold"], .number(0.95))
        XCTAssertEqual(recipe.data.source, .generator(name: "moons", options: ["rotation": .number(90), "samples_per_class": .number(20)]))
        let e = try error(Self.valid, overrides: ["optimizer.lrr=0.1"])
        XCTAssertEqual(e.location.override, "optimizer.lrr=0.1")
        XCTAssertEqual(e.suggestion, "lr")
        XCTAssertTrue(e.description.hasPrefix("recipe.yaml: --set optimizer.lrr=0.1: unknown key 'lrr'"), e.description)
        let index = try error(Self.valid, overrides: ["strategies.5.weight=1"])
        XCTAssertTrue(index.description.contains("not an index"), index.description)
    }

    func testYAMLSyntaxErrorNamesLine() throws {
        let e = try error(Self.valid.replacingOccurrences(of: "  hidden: [8]", with: "  hidden: [8"))
        XCTAssertTrue(e.description.hasPrefix("recipe.yaml:"), e.description)
        XCTAssertTrue(e.description.contains("not valid YAML"), e.description)
        XCTAssertGreaterThanOrEqual(e.location.line, 8)
    }

    func testHashIsStableAcrossFormattingButNotValues() throws {
        let a = try load(Self.valid)
        let reordered = "# a comment\n" + Self.valid.replacingOccurrences(of: "epochs: 3\nbatch_size: 16", with: "batch_size: 16\nepochs:   3")
        XCTAssertEqual(try load(reordered).hash, a.hash)
        XCTAssertEqual(try load(Self.valid, overrides: ["output=elsewhere", "seeds=[4]"]).hash, a.hash, "output and seeds are not part of the experiment")
        XCTAssertNotEqual(try load(Self.valid, overrides: ["epochs=4"]).hash, a.hash)
        XCTAssertEqual(a.hash.count, 16)
    }

    func testShippedRecipesValidate() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let recipes = try FileManager.default.contentsOfDirectory(at: root.appendingPathComponent("Recipes"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }
        XCTAssertGreaterThanOrEqual(recipes.count, 10)
        for url in recipes {
            XCTAssertNoThrow(try Recipe.load(url, registry: .builtIn), url.lastPathComponent)
        }
    }
}
