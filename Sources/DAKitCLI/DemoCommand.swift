import ArgumentParser
import Foundation
import HDF5Kit
import NN
import TensorCore

/// Trains a small MLP on the moons source domain and evaluates it on both domains: a quick check
/// that the tensor core, autodiff and optimizers work on this machine.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Train a small MLP on generated two-moons data and print accuracies.")

    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Training epochs.") var epochs: Int = 200
    @Option(help: "Target rotation in degrees.") var rotation: Float = 35

    func validate() throws {
        guard epochs > 0 else { throw ValidationError("--epochs must be positive, got \(epochs)") }
    }

    func run() throws {
        let data = MoonsGenerator.make(rotationDegrees: rotation, seed: seed)
        var rng = SeededGenerator(seed: seed).fork("init")
        let model = Sequential(Dense(2, 15, rng: &rng), ReLU(), Dense(15, 2, rng: &rng))
        let optimizer = SGD(learningRate: 0.05, momentum: 0.9)
        let context = ForwardContext(mode: .training, rng: SeededGenerator(seed: seed).fork("dropout"))
        var order = SeededGenerator(seed: seed).fork("batches")
        let labels = data.source.y!
        for epoch in 1...epochs {
            var lossTotal: Float = 0
            let perm = order.permutation(data.source.count)
            let batches = stride(from: 0, to: perm.count, by: 32).map { Array(perm[$0..<min($0 + 32, perm.count)]) }
            for batch in batches {
                let x = Variable(data.source.x.gathering(rows: batch))
                let (loss, grads) = valueWithGradients {
                    Loss.crossEntropy(logits: model(x, context: context), labels: batch.map { labels[$0] })
                }
                optimizer.step(model.parameters.map(\.parameter), gradients: grads)
                lossTotal += loss.scalar
            }
            if epoch % 50 == 0 || epoch == epochs {
                print("epoch \(epoch): loss \(String(format: "%.4f", lossTotal / Float(batches.count)))")
            }
        }
        func accuracy(_ split: DomainSplit) -> Double {
            let predictions = model(split.x).argmax(axis: 1)
            return Double(zip(predictions, split.y!).filter { $0 == $1 }.count) / Double(split.count)
        }
        print(String(format: "source accuracy %.3f, target accuracy %.3f (rotation %.0f°)",
            accuracy(data.sourceValidation!), accuracy(data.targetTest!), rotation))
    }
}
