import NN
import TensorCore
import XCTest

/// Optimizer updates split across TensorCore's threads give exactly the one-thread numbers.
final class ParallelOptimizerTests: XCTestCase {
    override func tearDown() {
        setThreadCount(0)
        super.tearDown()
    }

    /// Three steps of `makeOptimizer()` on a parameter of an odd size above the parallel threshold.
    private func steps(threads: Int, _ makeOptimizer: () -> any Optimizer) -> [UInt32] {
        setThreadCount(threads)
        var rng = SeededGenerator(seed: 11)
        let parameter = Parameter(Tensor.normal([150_001], rng: &rng))
        let optimizer = makeOptimizer()
        for _ in 0..<3 {
            let (_, grads) = valueWithGradients { (Variable(parameter) * Variable(parameter)).sum() }
            optimizer.step([parameter], gradients: grads)
        }
        return parameter.value.scalars.map(\.bitPattern)
    }

    func testUpdatesDoNotDependOnTheThreadCount() {
        let makers: [(String, () -> any Optimizer)] = [
            ("SGD", { SGD(learningRate: 0.1, weightDecay: 0.01) }),
            ("SGD momentum", { SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) }),
            ("Adam", { Adam(learningRate: 0.01, weightDecay: 0.01) }),
            ("AdamW", { Adam.adamW(learningRate: 0.01) }),
        ]
        for (name, make) in makers {
            let serial = steps(threads: 1, make)
            for threads in [2, 3] { XCTAssertTrue(steps(threads: threads, make) == serial, "\(name), \(threads) threads") }
        }
    }
}
