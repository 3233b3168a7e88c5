import NN
import TensorCore
import XCTest

/// `Optimizer.exportState` / `importState`: a fresh optimizer given the exported state takes the
/// same next step as the one that kept running.
final class OptimizerStateTests: XCTestCase {
    private func parameters(seed: UInt64) -> [NamedParameter] {
        var rng = SeededGenerator(seed: seed)
        return [
            NamedParameter(path: "layer.weight", parameter: Parameter(Tensor.normal([3, 2], std: 1, rng: &rng))),
            NamedParameter(path: "layer.bias", parameter: Parameter(Tensor.normal([3], std: 1, rng: &rng))),
        ]
    }

    private func gradients(_ named: [NamedParameter], step: Int) -> Gradients {
        var grads = Gradients()
        for (i, p) in named.enumerated() {
            var rng = SeededGenerator(seed: UInt64(100 * step + i))
            grads[p.parameter] = Tensor.normal(p.parameter.shape, std: 1, rng: &rng)
        }
        return grads
    }

    private func checkRoundTrip(_ make: () -> any Optimizer, slots: Set<String>) throws {
        let kept = parameters(seed: 1), fresh = parameters(seed: 1)
        let running = make()
        for step in 0..<3 { running.step(kept.map(\.parameter), gradients: gradients(kept, step: step)) }
        let state = running.exportState(kept)
        XCTAssertEqual(Set(state.keys.map { String($0.split(separator: ".").last!) }), slots)
        for (p, q) in zip(kept, fresh) { q.parameter.value = p.parameter.value }
        let restored = make()
        try restored.importState(state, parameters: fresh)
        running.step(kept.map(\.parameter), gradients: gradients(kept, step: 3))
        restored.step(fresh.map(\.parameter), gradients: gradients(fresh, step: 3))
        for (p, q) in zip(kept, fresh) { XCTAssertEqual(p.parameter.value.scalars, q.parameter.value.scalars, p.path) }
        // Without the state the step differs (the test can fail).
        let forgetful = parameters(seed: 1)
        for (p, q) in zip(kept, forgetful) { q.parameter.value = p.parameter.value }
        make().step(forgetful.map(\.parameter), gradients: gradients(forgetful, step: 4))
        running.step(kept.map(\.parameter), gradients: gradients(kept, step: 4))
        XCTAssertNotEqual(kept[0].parameter.value.scalars, forgetful[0].parameter.value.scalars)
    }

    func testSGDMomentumRoundTrip() throws {
        try checkRoundTrip({ SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) }, slots: ["velocity"])
    }

    func testAdamRoundTrip() throws {
        try checkRoundTrip({ Adam(learningRate: 0.01, weightDecay: 0.01, decoupledWeightDecay: true) }, slots: ["m", "v", "t"])
    }

    func testImportRejectsUnknownPathSlotAndShape() {
        let named = parameters(seed: 2)
        let sgd = SGD(learningRate: 0.1, momentum: 0.9)
        XCTAssertThrowsError(try sgd.importState(["layer.gain.velocity": Tensor([1])], parameters: named)) {
            XCTAssertEqual($0 as? OptimizerStateError, OptimizerStateError(key: "layer.gain.velocity", reason: "no parameter has the path 'layer.gain'"))
        }
        XCTAssertThrowsError(try sgd.importState(["layer.bias.m": Tensor([1, 2, 3])], parameters: named)) {
            XCTAssertTrue("\($0)".contains("unknown slot 'm'"), "\($0)")
        }
        XCTAssertThrowsError(try sgd.importState(["layer.bias.velocity": Tensor([1, 2])], parameters: named)) {
            XCTAssertTrue("\($0)".contains("holds 2 values"), "\($0)")
        }
        let adam = Adam()
        XCTAssertThrowsError(try adam.importState(["layer.bias.m": Tensor([1, 2, 3])], parameters: named)) {
            XCTAssertTrue("\($0)".contains("m, v and t together"), "\($0)")
        }
    }
}
