import Adaptation
import Experiments
import Foundation
import XCTest

/// Seeded mutation fuzzing of the recipe reader: every committed recipe and grid file is a seed;
/// text-level mutations (lines deleted, duplicated, swapped; scalars replaced by boundary values;
/// deep nesting, aliases, unicode, tabs) and `--set` overrides are run through
/// `RecipeTree.parse` + `Recipe(tree:…)` (and `GridFile.load` for grids). Each must load or throw a
/// `RecipeError`; any other error is a finding, and a trap kills the test process. A sample of the
/// accepted mutants with small data is built with `Runner.prepare`.
///
/// `DAKIT_FUZZ_ITERATIONS` sets the number of mutants (default 20 000, about 20 s in
/// release); `DAKIT_FUZZ_SEED` the first seed. A finding prints the seed and the mutant: keep it
/// as a named test in RecipeRegressionTests.
final class RecipeFuzzTests: XCTestCase {
    /// SplitMix64: a fixed, dependency-free stream, so a seed names a mutant forever.
    struct Stream {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let boundaryValues = [
        ".nan", ".inf", "-.inf", "-1", "0", "1", "2", "0.5", "1e40", "-1e40", "1e-50", "99999999999999999999", "9223372036854775807",
        "-9223372036854775808", "18446744073709551616", "1_0", "0x1A", "0o17", "1:30", "\"\"", "''", "\" \"", "null", "~", "[]", "{}", "[[]]",
        "[0]", "[1, 1]", "[.nan]", "[1e40]", "[-1]", "[10000000000]", "true", "no", "lenet", "mlp", "dann", "adam", "\"\\0\"", "é🙂", "\t1",
        "*a", "&a 1", "!!binary aGk=", "!!float 1", "2001-12-14", "- x", "{a: *b}", "&x [*x]", "[100000, 100000]",
    ]

    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func corpus() throws -> [(url: URL, text: String, isGrid: Bool)] {
        var files: [(URL, String, Bool)] = []
        for (folder, isGrid) in [("Recipes", false), ("Recipes/sweeps", true)] {
            let directory = Self.root.appendingPathComponent(folder)
            for url in try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            where url.pathExtension == "yaml" {
                var text = try String(contentsOf: url, encoding: .utf8)
                // Grids name recipes relative to themselves; the mutants live elsewhere.
                if isGrid { text = text.replacingOccurrences(of: "../", with: Self.root.appendingPathComponent("Recipes").path + "/") }
                files.append((url, text, isGrid))
            }
        }
        return files.sorted { $0.0.lastPathComponent < $1.0.lastPathComponent }
    }

    /// One to three mutations of `text`.
    static func mutate(_ text: String, _ rng: inout Stream) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0...rng.below(3) {
            guard !lines.isEmpty else { break }
            let i = rng.below(lines.count)
            switch rng.below(10) {
            case 0: lines.remove(at: i)
            case 1: lines.insert(lines[i], at: i)
            case 2: lines.swapAt(i, rng.below(lines.count))
            case 3, 4, 5:
                // Replace the value after a `key:` or `- `, or one item of a flow list.
                let line = lines[i]
                if let colon = line.range(of: ": ") {
                    lines[i] = line[..<colon.upperBound] + rng.pick(boundaryValues)
                } else if let dash = line.range(of: "- ") {
                    lines[i] = line[..<dash.upperBound] + rng.pick(boundaryValues)
                } else {
                    lines[i] = line + " " + rng.pick(boundaryValues)
                }
            case 6:
                let depth = rng.pick([3, 63, 65, 200, 5000])
                lines.insert("deep: " + String(repeating: rng.below(2) == 0 ? "[" : "{a: ", count: depth), at: i)
            case 7:
                var bomb = ["b0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
                for level in 1...rng.pick([2, 5, 7, 10]) {
                    bomb.append("b\(level): &b\(level) [" + Array(repeating: "*b\(level - 1)", count: 10).joined(separator: ", ") + "]")
                }
                lines.insert(contentsOf: bomb, at: i)
            case 8: lines[i] = rng.pick(["\t", "  ", "\u{FEFF}", "é", "🙂", "\u{0}", "#", "---", "...", "? "]) + lines[i]
            default:
                let line = lines[i]
                if let colon = line.range(of: ": ") {
                    lines[i] = line[..<colon.upperBound] + "&a " + line[colon.upperBound...]
                    lines.insert(line[..<colon.lowerBound].replacingOccurrences(of: "-", with: " ") + "x: *a", at: min(i + 1, lines.count))
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// A `--set` on a key path of the tree, with a boundary value.
    static func override(for tree: RecipeTree, _ rng: inout Stream) -> String {
        let paths = tree.keyPaths.map(\.path)
        let key = paths.isEmpty ? "epochs" : rng.pick(paths)
        return key + "=" + rng.pick(boundaryValues + ["", " "])
    }

    func testMutantsLoadOrThrowRecipeError() throws {
        let environment = ProcessInfo.processInfo.environment
        let iterations = environment["DAKIT_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 20_000
        let firstSeed = environment["DAKIT_FUZZ_SEED"].flatMap(UInt64.init) ?? 1
        let files = try corpus()
        XCTAssertGreaterThanOrEqual(files.count, 10)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let registry = StrategyRegistry.builtIn
        var (accepted, refused, prepared, findings) = (0, 0, 0, 0)
        let started = Date()
        for iteration in 0..<iterations {
            let seed = firstSeed &+ UInt64(iteration)
            var rng = Stream(state: seed)
            let (url, original, isGrid) = files[rng.below(files.count)]
            let text = Self.mutate(original, &rng)
            let name = url.lastPathComponent
            func finding(_ error: Error, _ stage: String) {
                findings += 1
                XCTFail("fuzz seed \(seed) (\(name), \(stage)): \(type(of: error)) is not a RecipeError: \(error)\n--- mutant ---\n\(text)\n---")
            }
            if isGrid {
                let gridURL = directory.appendingPathComponent(name)
                try text.write(to: gridURL, atomically: true, encoding: .utf8)
                do { _ = try GridFile.load(gridURL.path); accepted += 1 } catch is RecipeError { refused += 1 } catch { finding(error, "grid") }
                continue
            }
            let recipe: Recipe
            do {
                var tree = try RecipeTree.parse(yaml: text, file: name)
                if rng.below(4) == 0 {
                    let set = Self.override(for: tree, &rng)
                    tree = try tree.applying(override: set, file: name)
                }
                recipe = try Recipe(tree: tree, file: name, directory: url.deletingLastPathComponent(), registry: registry)
                accepted += 1
            } catch is RecipeError {
                refused += 1
                continue
            } catch {
                finding(error, "validation")
                continue
            }
            // Build a sample of the accepted mutants whose data and model are small.
            guard accepted % 8 == 0, Self.isSmall(recipe) else { continue }
            do {
                _ = try Runner(recipe: recipe, registry: registry).prepare(seed: recipe.seeds[0])
                prepared += 1
            } catch is RecipeError {
            } catch {
                finding(error, "prepare")
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print("recipe fuzz: \(iterations) mutants from seed \(firstSeed): \(accepted) accepted, \(refused) refused, \(prepared) prepared, \(findings) findings, \(String(format: "%.1f", seconds)) s")
        XCTAssertGreaterThan(refused, 0, "no mutant was refused: the mutations do not reach the validator")
        XCTAssertGreaterThan(accepted, 0, "no mutant was accepted: the mutations are too destructive to test building")
    }

    /// Whether preparing `recipe` is cheap: a generator with at most a few thousand samples and a
    /// model under a million parameters.
    static func isSmall(_ recipe: Recipe) -> Bool {
        guard case .generator(let name, let options) = recipe.data.source else { return false }
        for key in ["samples_per_class", "test_samples_per_class", "samples", "test_samples"] {
            if case .number(let n)? = options[key], n > 2000 { return false }
        }
        if name == "shifted", case .number(let k)? = options["classes"], k > 20 { return false }
        guard let size = DataGenerators.sampleShape(of: recipe.data.source),
            let model = try? recipe.model.spec.check(inputShape: size.shape, classCount: size.classes),
            model.parameters < 1_000_000
        else { return false }
        for strategy in recipe.strategies {
            if case .list(let widths)? = strategy.options["discriminatorHidden"], widths.count > 2 { return false }
            if case .list(let widths)? = strategy.options["discriminatorHidden"],
                widths.contains(where: { if case .number(let w) = $0 { return w > 4096 } else { return false } })
            {
                return false
            }
        }
        return true
    }
}
