import NN
import TensorCore
import XCTest

/// Optimizers and schedules against hand-computed values. The optimizer trajectories were
/// computed with PyTorch 2 (`torch.optim.SGD/Adam/AdamW`, same hyper-parameters, same gradients)
/// and pinned here; they agree with the formulas in Optimizers.swift.
final class OptimizerScheduleTests: XCTestCase {
    private let gradientSequence = [Tensor([0.5, 0.25, -1.0]), Tensor([-0.3, 0.1, 2.0])]

    /// Runs two steps with the fixed gradients and returns θ after each.
    private func trajectory(_ optimizer: any Optimizer) -> [[Float]] {
        let p = Parameter(Tensor([1.0, -2.0, 0.5]))
        return gradientSequence.map { g in
            var grads = Gradients()
            grads[p] = g
            optimizer.step([p], gradients: grads)
            return p.value.scalars
        }
    }

    private func assertTrajectory(
        _ optimizer: any Optimizer, _ expected: [[Float]], file: StaticString = #filePath, line: UInt = #line
    ) {
        let got = trajectory(optimizer)
        for (step, (a, b)) in zip(got, expected).enumerated() {
            for (x, y) in zip(a, b) {
                XCTAssertEqual(x, y, accuracy: 2e-6, "step \(step + 1): \(a) vs \(b)", file: file, line: line)
            }
        }
    }

    func testSGDPlainAndWeightDecay() {
        assertTrajectory(SGD(learningRate: 0.1), [[0.95, -2.025, 0.6], [0.98, -2.035, 0.4]])
        assertTrajectory(
            SGD(learningRate: 0.1, weightDecay: 0.01), [[0.949, -2.023, 0.5995], [0.978051, -2.030977, 0.3989005]])
    }

    func testSGDMomentumAndNesterov() {
        assertTrajectory(
            SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01),
            [[0.949, -2.023, 0.5995], [0.932151, -2.051677, 0.4884505]])
        assertTrajectory(
            SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01),
            [[0.9031, -2.0437, 0.68905], [0.9170741, -2.0774469, 0.3883358]])
    }

    func testAdamAndAdamW() {
        assertTrajectory(Adam(learningRate: 0.01), [[0.99, -2.01, 0.51], [0.988085, -2.0189857, 0.506339]])
        assertTrajectory(
            Adam(learningRate: 0.01, weightDecay: 0.1), [[0.99, -2.01, 0.51], [0.9860116, -2.0063021, 0.5060622]])
        assertTrajectory(
            Adam.adamW(learningRate: 0.01, weightDecay: 0.1),
            [[0.989, -2.008, 0.5095], [0.9860961, -2.0149779, 0.5053295]])
    }

    func testStateIsKeptPerParameter() {
        // Two parameters stepped by one optimizer follow the same trajectories as alone.
        let optimizer = SGD(learningRate: 0.1, momentum: 0.9)
        let a = Parameter(Tensor([1.0])), b = Parameter(Tensor([1.0]))
        for g: Float in [1, 1] {
            var grads = Gradients()
            grads[a] = Tensor([g])
            grads[b] = Tensor([-g])
            optimizer.step([a, b], gradients: grads)
        }
        // v1 = 1, θ = 0.9; v2 = 1.9, θ = 0.71.
        XCTAssertEqual(a.value.scalars[0], 0.71, accuracy: 1e-6)
        XCTAssertEqual(b.value.scalars[0], 1.29, accuracy: 1e-6)
    }

    func testGroupsMultiplierFrozenAndMissingGradients() {
        let base = Parameter(Tensor([1.0])), head = Parameter(Tensor([1.0]))
        let frozen = Parameter(Tensor([1.0]), isFrozen: true), untouched = Parameter(Tensor([1.0]))
        var grads = Gradients()
        for p in [base, head, frozen] { grads[p] = Tensor([1.0]) }
        let optimizer = SGD(learningRate: 0.01)
        optimizer.step(
            [
                ParameterGroup(name: "features", parameters: [base, frozen, untouched]),
                ParameterGroup(name: "head", parameters: [head], learningRateMultiplier: 10),
            ], gradients: grads)
        XCTAssertEqual(base.value.scalars[0], 0.99, accuracy: 1e-7)
        XCTAssertEqual(head.value.scalars[0], 0.9, accuracy: 1e-7)
        XCTAssertEqual(frozen.value.scalars[0], 1)
        XCTAssertEqual(untouched.value.scalars[0], 1)
        let adam = Adam(learningRate: 0.1)
        adam.step([frozen], gradients: grads)
        XCTAssertEqual(frozen.value.scalars[0], 1)
    }

    func testLearningRateSchedules() {
        let base: Float = 0.01
        let dann = LearningRateSchedule.dann
        XCTAssertEqual(dann.learningRate(base: base, progress: 0), 0.01, accuracy: 1e-9)
        XCTAssertEqual(dann.learningRate(base: base, progress: 0.5), 0.002_608_474_3, accuracy: 1e-8)
        XCTAssertEqual(dann.learningRate(base: base, progress: 1), 0.001_655_600_3, accuracy: 1e-8)
        XCTAssertEqual(LearningRateSchedule.dannAnnealing(alpha: 10, beta: 0.75), dann)
        let cosine = LearningRateSchedule.cosine(minimumFactor: 0.01)
        XCTAssertEqual(cosine.learningRate(base: 0.1, progress: 0), 0.1, accuracy: 1e-7)
        XCTAssertEqual(cosine.learningRate(base: 0.1, progress: 0.25), 0.085_501_785_7, accuracy: 1e-6)
        XCTAssertEqual(cosine.learningRate(base: 0.1, progress: 0.5), 0.0505, accuracy: 1e-7)
        XCTAssertEqual(cosine.learningRate(base: 0.1, progress: 1), 0.001, accuracy: 1e-7)
        let step = LearningRateSchedule.step(milestones: [0.5, 0.75], gamma: 0.1)
        XCTAssertEqual(step.learningRate(base: 1, progress: 0.49), 1)
        XCTAssertEqual(step.learningRate(base: 1, progress: 0.5), 0.1, accuracy: 1e-7)
        XCTAssertEqual(step.learningRate(base: 1, progress: 0.8), 0.01, accuracy: 1e-8)
        XCTAssertEqual(LearningRateSchedule.constant.learningRate(base: 0.3, progress: 0.7), 0.3)
        // Progress is clamped to [0, 1].
        XCTAssertEqual(dann.learningRate(base: base, progress: 2), dann.learningRate(base: base, progress: 1))
        XCTAssertEqual(cosine.learningRate(base: 0.1, progress: -1), 0.1, accuracy: 1e-7)
    }

    func testWeightSchedules() {
        let ramp = WeightSchedule.dannRamp(gamma: 10)
        XCTAssertEqual(ramp.value(progress: 0), 0, accuracy: 1e-7)
        XCTAssertEqual(ramp.value(progress: 0.5), 0.986_614_298, accuracy: 1e-6)
        XCTAssertEqual(ramp.value(progress: 1), 0.999_909_204, accuracy: 1e-6)
        XCTAssertEqual(WeightSchedule.constant.value(progress: 0.3), 1)
        let linear = WeightSchedule.linearRamp(rampFraction: 0.25)
        XCTAssertEqual(linear.value(progress: 0.1), 0.4, accuracy: 1e-6)
        XCTAssertEqual(linear.value(progress: 0.5), 1)
    }
}
