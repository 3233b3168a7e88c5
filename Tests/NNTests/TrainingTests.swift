import Foundation
import NN
import TensorCore
import XCTest

/// Small end-to-end learning checks: the layers, losses, autodiff and optimizers together.
final class TrainingTests: XCTestCase {
    /// Two interleaving half-circles ("two moons") with Gaussian noise, classes shuffled together.
    private func moons(perClass: Int, noise: Float, rng: inout SeededGenerator) -> (x: Tensor, y: [Int]) {
        var xs: [Float] = []
        var ys: [Int] = []
        for label in 0..<2 {
            for _ in 0..<perClass {
                let t = rng.uniform(0, Float.pi)
                let (px, py) = label == 0 ? (cos(t), sin(t)) : (1 - cos(t), 0.5 - sin(t))
                xs += [px + noise * rng.nextNormal(), py + noise * rng.nextNormal()]
                ys.append(label)
            }
        }
        let order = rng.permutation(ys.count)
        let x = Tensor(shape: [ys.count, 2], scalars: xs).gathering(rows: order)
        return (x, order.map { ys[$0] })
    }

    private func accuracy(_ model: any Layer, _ x: Tensor, _ y: [Int]) -> Double {
        let predictions = model(x).argmax(axis: 1)
        return Double(zip(predictions, y).filter { $0 == $1 }.count) / Double(y.count)
    }

    /// Minibatch training with a fresh shuffle per epoch; returns the mean loss of the first and
    /// last epochs.
    @discardableResult
    private func train(
        _ model: any Layer, x: Tensor, y: [Int], optimizer: any Optimizer, epochs: Int, batchSize: Int, seed: UInt64
    ) -> (first: Float, last: Float) {
        var order = SeededGenerator(seed: seed).fork("batches")
        let context = ForwardContext(mode: .training, rng: SeededGenerator(seed: seed).fork("dropout"))
        let parameters = model.parameters.map(\.parameter)
        var first: Float = 0, last: Float = 0
        for epoch in 0..<epochs {
            let perm = order.permutation(y.count)
            var total: Float = 0
            var batches = 0
            for start in stride(from: 0, to: perm.count, by: batchSize) {
                let batch = Array(perm[start..<min(start + batchSize, perm.count)])
                let (loss, grads) = valueWithGradients {
                    Loss.crossEntropy(logits: model(Variable(x.gathering(rows: batch)), context: context), labels: batch.map { y[$0] })
                }
                optimizer.step(parameters, gradients: grads)
                total += loss.scalar
                batches += 1
            }
            if epoch == 0 { first = total / Float(batches) }
            last = total / Float(batches)
        }
        return (first, last)
    }

    func testMLPReaches97PercentOnTwoMoons() {
        for seed: UInt64 in [1, 2] {
            var rng = SeededGenerator(seed: seed)
            let trainSet = moons(perClass: 150, noise: 0.1, rng: &rng)
            let testSet = moons(perClass: 500, noise: 0.1, rng: &rng)
            var initRNG = SeededGenerator(seed: seed).fork("init")
            let model = Sequential(Dense(2, 32, rng: &initRNG), ReLU(), Dense(32, 32, rng: &initRNG), ReLU(), Dense(32, 2, rng: &initRNG))
            let losses = train(
                model, x: trainSet.x, y: trainSet.y, optimizer: Adam(learningRate: 0.01), epochs: 60, batchSize: 32, seed: seed)
            XCTAssertLessThan(losses.last, losses.first / 5, "seed \(seed): loss \(losses)")
            let acc = accuracy(model, testSet.x, testSet.y)
            XCTAssertGreaterThanOrEqual(acc, 0.97, "seed \(seed): test accuracy \(acc)")
        }
    }

    /// 1×8×8 images of noise with one bright quadrant; the label is the quadrant.
    private func quadrants(count: Int, rng: inout SeededGenerator) -> (x: Tensor, y: [Int]) {
        var x = Tensor.normal([count, 1, 8, 8], std: 0.5, rng: &rng)
        var y: [Int] = []
        for n in 0..<count {
            let q = rng.nextInt(below: 4)
            y.append(q)
            let (r0, c0) = ((q / 2) * 4, (q % 2) * 4)
            for r in r0..<(r0 + 4) {
                for c in c0..<(c0 + 4) { x[n, 0, r, c] += 1 }
            }
        }
        return (x, y)
    }

    func testSmallCNNLearnsWhichQuadrantIsBright() {
        var rng = SeededGenerator(seed: 4)
        let trainSet = quadrants(count: 256, rng: &rng)
        let testSet = quadrants(count: 200, rng: &rng)
        var initRNG = SeededGenerator(seed: 4).fork("init")
        let model = Sequential(
            Conv2D(inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1, rng: &initRNG), ReLU(),
            MaxPool2D(kernelSize: 2), BatchNorm(features: 4),
            Conv2D(inChannels: 4, outChannels: 8, kernelSize: 3, stride: 2, padding: 1, rng: &initRNG), ReLU(),
            AvgPool2D(kernelSize: 2), Flatten(), Dense(8, 4, rng: &initRNG))
        let before = accuracy(model, testSet.x, testSet.y)
        let losses = train(
            model, x: trainSet.x, y: trainSet.y, optimizer: SGD(learningRate: 0.05, momentum: 0.9), epochs: 15,
            batchSize: 32, seed: 4)
        let after = accuracy(model, testSet.x, testSet.y)
        XCTAssertLessThan(losses.last, losses.first / 2, "loss \(losses)")
        XCTAssertGreaterThanOrEqual(after, 0.95, "test accuracy \(before) → \(after)")
    }
}
