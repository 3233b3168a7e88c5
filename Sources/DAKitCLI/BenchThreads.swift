import Adaptation
import Experiments
import Foundation
import NN
import TensorCore

/// Cases for issue 13 (every core busy): the digits recipes' LeNet step and whole recipes.
extension BenchCase {
    static let lenetDigits = BenchCase(
        name: "lenet-digits-8x8-b64",
        summary: "LeNet as the digits recipes build it (1×8×8 inputs, padding 2, channels 6 and 16, 64 features, linear head), "
            + "batch 64: forward, cross-entropy, backward, SGD step"
    ) { settings in
        var rng = SeededGenerator(seed: 5)
        let model = AdaptationModel.build(
            inputShape: [1, 8, 8], classCount: 10, spec: ModelSpec(extractor: .lenet(channels1: 6, channels2: 16, featureSize: 64)),
            rng: &rng)
        let network = Sequential(model.featureExtractor, model.classifier)
        let batch = 64
        let x = Tensor.uniform([batch, 1, 8, 8], rng: &rng)
        let labels = (0..<batch).map { _ in rng.nextInt(below: 10) }
        let (ms, cpu) = trainingStepMilliseconds(model: network, input: x, labels: labels, settings: settings)
        // Padding 2: conv1 6×8×8 outputs of 25 MACs; pool → 6×4×4; conv2 (padding 2) 16×4×4 of 150; pool → 16×2×2;
        // dense 64·64 + 64·10.
        let macsPerImage = Double(6 * 8 * 8 * 25 + 16 * 4 * 4 * 150 + 64 * 64 + 64 * 10)
        return BenchResult(
            msPerStep: ms, gflops: 3 * 2 * macsPerImage * Double(batch) / (ms * 1e6), extra: [("cpu_ms_per_step", cpu)])
    }

    /// Runs seed 0 of a shipped recipe into a temporary folder: training steps per second (train
    /// time only) and the whole run's wall and CPU seconds (data, baselines, divergences,
    /// evaluation included).
    static func recipeCase(name: String, recipe path: String) -> BenchCase {
        BenchCase(
            name: name,
            summary: "seed 0 of \(path) end to end (steps per second of training; wall and CPU seconds of the whole run)"
        ) { _ in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dakit-bench-\(name)-\(getpid())")
            defer { try? FileManager.default.removeItem(at: folder) }
            let url = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw ValidationErrorMessage("\(name): \(path) not found; run dakit bench from the repository root")
            }
            let registry = StrategyRegistry.builtIn
            let recipe = try Recipe.load(url, registry: registry, displayName: path)
            let cpuStart = BenchSettings.processCPUMilliseconds()
            let clock = ContinuousClock()
            var report: RunReport?
            let elapsed = try clock.measure {
                report = try Runner(recipe: recipe, registry: registry).run(seed: 0, output: folder)
            }
            let cpu = (BenchSettings.processCPUMilliseconds() - cpuStart) / 1e3
            let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            guard let report else { throw ValidationErrorMessage("\(name): no report") }
            let steps = Double(report.steps)
            return BenchResult(
                msPerStep: report.trainSeconds * 1e3 / steps, gflops: nil,
                extra: [
                    ("steps_per_s", steps / report.trainSeconds), ("steps", steps), ("train_s", report.trainSeconds),
                    ("run_wall_s", wall), ("run_cpu_s", cpu), ("target_accuracy", report.targetAccuracy ?? .nan),
                ])
        }
    }

    static let recipeDigitsDANN = recipeCase(name: "recipe-digits-dann", recipe: "Recipes/digits-dann.yaml")
    static let recipeQuickstart = recipeCase(name: "recipe-quickstart", recipe: "Recipes/quickstart.yaml")

    /// The cases this file adds to `BenchCase.all`.
    static let threadCases = [lenetDigits, recipeDigitsDANN, recipeQuickstart]
}

/// An error whose description is its message.
struct ValidationErrorMessage: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
