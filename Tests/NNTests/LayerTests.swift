import Foundation
import NN
import TensorCore
import TestSupport
import XCTest

final class LayerTests: XCTestCase {
    private var rng = SeededGenerator(seed: 17)

    private func checkGradients(
        _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line, _ f: ([Variable]) -> Variable
    ) {
        let bad = GradientCheck.mismatches(inputs: inputs, f)
        XCTAssertTrue(bad.isEmpty, "\(bad.count) mismatches, e.g. \(bad.prefix(3))", file: file, line: line)
    }

    // MARK: Paths and structure

    func testSequentialParameterPaths() {
        let model = Sequential(
            Dense(4, 3, rng: &rng), ReLU(), Dense(3, 2, useBias: false, rng: &rng),
            Sequential(BatchNorm(features: 2), Dropout(rate: 0.5)))
        XCTAssertEqual(model.parameters.map(\.path), ["0.weight", "0.bias", "2.weight", "3.0.gamma", "3.0.beta"])
        XCTAssertEqual(model.buffers.map(\.path), ["3.0.running_mean", "3.0.running_var"])
        XCTAssertEqual(model.state.count, 7)
        XCTAssertEqual(model.parameterCount, 4 * 3 + 3 + 3 * 2 + 2 + 2)
        XCTAssertTrue(model.parameters[0].parameter === (model.layers[0] as! Dense).weight)
    }

    func testArchitectures() {
        let lenet = Architecture.lenet(inputShape: [1, 28, 28], rng: &rng)
        XCTAssertEqual(lenet.network(Tensor.zeros([2, 1, 28, 28])).shape, [2, 120])
        let small = Architecture.lenet(inputShape: [3, 8, 8], channels: (4, 8), featureSize: 16, rng: &rng)
        XCTAssertEqual(small.network(Tensor.zeros([5, 3, 8, 8])).shape, [5, 16])
        let mlp = Architecture.mlp(inputShape: [2, 3], hidden: [7, 5], batchNorm: true, dropout: 0.1, rng: &rng)
        XCTAssertEqual(mlp.featureSize, 5)
        XCTAssertEqual(mlp.network(Tensor.zeros([4, 2, 3])).shape, [4, 5])
        let head = Architecture.classifier(featureSize: 5, classCount: 3, hidden: 4, rng: &rng)
        XCTAssertEqual(head.parameters.map(\.path), ["0.weight", "0.bias", "2.weight", "2.bias"])
    }

    // MARK: Layers against their definitions

    func testDenseComputesXWTransposedPlusBias() {
        let dense = Dense(3, 2, rng: &rng)
        dense.bias!.value = Tensor([0.5, -1])
        let x = Tensor.normal([4, 3], rng: &rng)
        let y = dense(x)
        let w = dense.weight.value
        for i in 0..<4 {
            for j in 0..<2 {
                let expected = (0..<3).reduce(Float(0)) { $0 + x[i, $1] * w[j, $1] } + dense.bias!.value[j]
                XCTAssertEqual(y[i, j], expected, accuracy: 1e-5)
            }
        }
        checkGradients([x]) { dense($0[0], context: .inference()) }
    }

    func testConv2DLayerAddsChannelBiasAndChecksGradient() {
        let conv = Conv2D(inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1, rng: &rng)
        conv.bias!.value = Tensor([1, 2, 3])
        let x = Tensor.normal([2, 2, 5, 6], rng: &rng)
        let y = conv(x)
        let (raw, _) = Tensor.conv2d(x, weight: conv.weight.value, stride: 2, padding: 1)
        XCTAssertEqual(y.shape, [2, 3, 3, 3])
        XCTAssertLessThan(y.maxAbsDifference(raw + Tensor([1, 2, 3]).reshaped([1, 3, 1, 1])), 1e-6)
        checkGradients([x]) { conv($0[0], context: .inference()) }
        // The parameter gradients match finite differences too.
        let seed = Tensor.normal(y.shape, rng: &rng)
        let (_, grads) = valueWithGradients { conv(Variable(x), context: .inference()) * seed }
        let h: Float = 1e-2
        for (parameter, index) in [(conv.weight, 7), (conv.bias!, 1)] {
            let original = parameter.value.scalars[index]
            parameter.value.scalars[index] = original + h
            let plus = (conv(x) * seed).sum()
            parameter.value.scalars[index] = original - h
            let minus = (conv(x) * seed).sum()
            parameter.value.scalars[index] = original
            XCTAssertEqual(grads[parameter]!.scalars[index], (plus - minus) / (2 * h), accuracy: 2e-2)
        }
    }

    func testPoolingFlattenAndActivationsLayers() {
        let x = Tensor.normal([2, 3, 4, 4], rng: &rng)
        XCTAssertEqual(MaxPool2D(kernelSize: 2)(x), Tensor.maxPool2d(x, kernel: 2).output)
        XCTAssertEqual(AvgPool2D(kernelSize: 2, stride: 1)(x), Tensor.avgPool2d(x, kernel: 2, stride: 1))
        XCTAssertEqual(Flatten()(x).shape, [2, 48])
        XCTAssertEqual(ReLU()(x), x.relu())
        XCTAssertEqual(LeakyReLU(slope: 0.2)(x), x.leakyRelu(slope: 0.2))
        XCTAssertEqual(Tanh()(x), x.tanh())
        XCTAssertEqual(Sigmoid()(x), x.sigmoid())
    }

    // MARK: Training versus inference

    func testBatchNorm1DTrainingNormalisesAndUpdatesRunningStatistics() {
        let bn = BatchNorm(features: 3, momentum: 0.1)
        let x = Tensor.normal([64, 3], mean: 2, std: 3, rng: &rng)
        let training = ForwardContext(mode: .training)
        let y = bn(Variable(x), context: training).value
        XCTAssertLessThan(y.mean(axis: 0).abs().max(), 1e-4)
        XCTAssertLessThan((y.variance(axes: [0]) - 1).abs().max(), 1e-3)
        let batchMean = x.mean(axis: 0)
        let unbiased = x.variance(axes: [0]) * (64.0 / 63.0)
        XCTAssertLessThan(bn.runningMean.value.maxAbsDifference(batchMean * 0.1), 1e-5)
        XCTAssertLessThan(bn.runningVariance.value.maxAbsDifference(unbiased * 0.1 + 0.9), 1e-4)
        // Inference uses the running statistics and leaves them alone.
        let before = (bn.runningMean.value, bn.runningVariance.value)
        let inference = bn(x)
        XCTAssertEqual(bn.runningMean.value, before.0)
        XCTAssertEqual(bn.runningVariance.value, before.1)
        let expected = (x - before.0) / (before.1 + bn.epsilon).sqrt()
        XCTAssertLessThan(inference.maxAbsDifference(expected), 1e-4)
        XCTAssertGreaterThan(inference.maxAbsDifference(y), 0.1, "inference must differ from training here")
        XCTAssertEqual(bn(x), inference, "inference is deterministic")
        // The running statistics are buffers, not trainable parameters.
        let (_, grads) = valueWithGradients { bn(Variable(x), context: training).square().sum() }
        XCTAssertNil(grads[bn.runningMean])
        XCTAssertNotNil(grads[bn.gamma])
    }

    func testBatchNorm2DPerChannelAndGradients() {
        let bn = BatchNorm(features: 2)
        bn.gamma.value = Tensor([2, 0.5])
        bn.beta.value = Tensor([1, -1])
        let x = Tensor.normal([4, 2, 3, 3], mean: -1, std: 2, rng: &rng)
        let y = bn(Variable(x), context: ForwardContext(mode: .training)).value
        let channelMean = y.mean(axes: [0, 2, 3])
        let channelVar = y.variance(axes: [0, 2, 3])
        XCTAssertLessThan(channelMean.maxAbsDifference(Tensor([1, -1])), 1e-4)
        XCTAssertLessThan(channelVar.maxAbsDifference(Tensor([4, 0.25])), 2e-3)
        XCTAssertLessThan(bn.runningMean.value.maxAbsDifference(x.mean(axes: [0, 2, 3]) * 0.1), 1e-5)
        let training = ForwardContext(mode: .training)
        checkGradients([Tensor.normal([3, 2, 2, 2], rng: &rng)]) { bn($0[0], context: training) }
        checkGradients([Tensor.normal([5, 3], rng: &rng)]) { BatchNorm(features: 3)($0[0], context: training) }
    }

    func testDropoutIdentityInInferenceAndScaledMaskInTraining() {
        let dropout = Dropout(rate: 0.25)
        let x = Tensor.normal([100, 40], rng: &rng)
        XCTAssertEqual(dropout(x), x)
        let context = ForwardContext(mode: .training, rng: SeededGenerator(seed: 5))
        let y = dropout(Variable(x), context: context).value
        var dropped = 0
        var wrongScale = 0
        for i in 0..<x.count {
            if y.scalars[i] == 0 {
                dropped += 1
            } else if abs(y.scalars[i] - x.scalars[i] / 0.75) > 1e-6 {
                wrongScale += 1
            }
        }
        XCTAssertEqual(wrongScale, 0, "kept elements must be scaled by 1/(1 − rate)")
        XCTAssertEqual(Double(dropped) / Double(x.count), 0.25, accuracy: 0.03)
        // The same generator state gives the same mask; the next call draws a new one.
        let again = dropout(Variable(x), context: ForwardContext(mode: .training, rng: SeededGenerator(seed: 5))).value
        XCTAssertEqual(again, y)
        XCTAssertNotEqual(dropout(Variable(x), context: context).value, y)
        // The gradient goes through the same mask.
        let v = Variable(x, requiresGradient: true)
        let out = dropout(v, context: ForwardContext(mode: .training, rng: SeededGenerator(seed: 9)))
        let g = gradients(of: out.sum(), withRespectTo: [v])[0]
        let expected = out.value.map { $0 == 0 ? 0 : 1 / 0.75 }
        XCTAssertLessThan(g.maxAbsDifference(expected), 1e-6)
        XCTAssertEqual(Dropout(rate: 0)(Variable(x), context: context).value, x)
    }

    func testFrozenLayerDoesNotChangeWhileOthersDo() {
        let first = Dense(3, 4, rng: &rng), second = Dense(4, 2, rng: &rng)
        let model = Sequential(first, ReLU(), second)
        first.setFrozen(true)
        let before = (first.weight.value, first.bias!.value, second.weight.value)
        let x = Tensor.normal([8, 3], rng: &rng)
        let optimizer = SGD(learningRate: 0.1, momentum: 0.9)
        for _ in 0..<3 {
            let (_, grads) = valueWithGradients {
                Loss.crossEntropy(logits: model(Variable(x), context: ForwardContext(mode: .training)), labels: [0, 1, 0, 1, 1, 0, 0, 1])
            }
            XCTAssertNil(grads[first.weight])
            XCTAssertNotNil(grads[second.weight])
            optimizer.step(model.parameters.map(\.parameter), gradients: grads)
        }
        XCTAssertEqual(first.weight.value, before.0)
        XCTAssertEqual(first.bias!.value, before.1)
        XCTAssertGreaterThan(second.weight.value.maxAbsDifference(before.2), 1e-4)
        first.setFrozen(false)
        XCTAssertFalse(first.weight.isFrozen)
    }

    // MARK: Initialisers

    func testInitialiserBoundsAndVariance() {
        var g = SeededGenerator(seed: 1)
        let (fanIn, fanOut) = (300, 200)
        let glorot = Initializer.glorotUniform.make([fanOut, fanIn], fanIn: fanIn, fanOut: fanOut, rng: &g)
        let a = (6 / Float(fanIn + fanOut)).squareRoot()
        XCTAssertLessThanOrEqual(glorot.abs().max(), a)
        XCTAssertGreaterThan(glorot.abs().max(), 0.99 * a)
        XCTAssertEqual(glorot.variance(axes: [0, 1]).scalar, a * a / 3, accuracy: 0.03 * a * a / 3)
        let heU = Initializer.heUniform.make([fanOut, fanIn], fanIn: fanIn, fanOut: fanOut, rng: &g)
        let b = (6 / Float(fanIn)).squareRoot()
        XCTAssertLessThanOrEqual(heU.abs().max(), b)
        XCTAssertEqual(heU.variance(axes: [0, 1]).scalar, 2 / Float(fanIn), accuracy: 0.03 * 2 / Float(fanIn))
        let heN = Initializer.heNormal.make([fanOut, fanIn], fanIn: fanIn, fanOut: fanOut, rng: &g)
        XCTAssertEqual(heN.mean(), 0, accuracy: 0.005)
        XCTAssertEqual(heN.variance(axes: [0, 1]).scalar, 2 / Float(fanIn), accuracy: 0.03 * 2 / Float(fanIn))
        XCTAssertEqual(Initializer.zeros.make([2, 2], fanIn: 2, fanOut: 2, rng: &g), Tensor.zeros([2, 2]))
        // Layers count the receptive field in the fan-in.
        let conv = Conv2D(inChannels: 4, outChannels: 8, kernelSize: 3, rng: &g)
        XCTAssertLessThanOrEqual(conv.weight.value.abs().max(), (6 / Float(4 * 9)).squareRoot())
        XCTAssertEqual(conv.bias!.value, Tensor.zeros([8]))
        // Seeded: the same seed builds the same layer.
        var s1 = SeededGenerator(seed: 3), s2 = SeededGenerator(seed: 3)
        XCTAssertEqual(Dense(5, 4, rng: &s1).weight.value, Dense(5, 4, rng: &s2).weight.value)
    }

    // MARK: Bad input

    func testValidationMessagesNameOperationAndShapes() {
        XCTAssertEqual(
            Tensor.validateBroadcast([8, 3], [8, 4], operation: "add"), "add: shapes [8, 3] and [8, 4] cannot be broadcast together")
        XCTAssertNil(Tensor.validateBroadcast([8, 3], [1, 3], operation: "add"))
    }
}
