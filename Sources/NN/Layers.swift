import Foundation
import TensorCore

/// Weight initialisers. Fan-in/fan-out count the receptive field for convolutions.
public enum Initializer: String, Sendable, CaseIterable {
    /// Glorot & Bengio 2010: U(−a, a), a = √(6 / (fanIn + fanOut)).
    case glorotUniform
    /// He et al. 2015: U(−a, a), a = √(6 / fanIn) — for ReLU networks.
    case heUniform
    /// He et al. 2015: N(0, 2 / fanIn).
    case heNormal
    case zeros

    public func make(_ shape: [Int], fanIn: Int, fanOut: Int, rng: inout SeededGenerator) -> Tensor {
        switch self {
        case .glorotUniform:
            let a = (6 / Float(fanIn + fanOut)).squareRoot()
            return .uniform(shape, low: -a, high: a, rng: &rng)
        case .heUniform:
            let a = (6 / Float(fanIn)).squareRoot()
            return .uniform(shape, low: -a, high: a, rng: &rng)
        case .heNormal:
            return .normal(shape, std: (2 / Float(fanIn)).squareRoot(), rng: &rng)
        case .zeros:
            return .zeros(shape)
        }
    }
}

/// Fully connected layer: y = x·Wᵀ + b, with W of shape out×in (the PyTorch layout) and x of shape N×in.
public final class Dense: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let inputSize: Int
    public let outputSize: Int

    public init(
        _ inputSize: Int, _ outputSize: Int, useBias: Bool = true, initializer: Initializer = .heUniform,
        rng: inout SeededGenerator
    ) {
        precondition(inputSize > 0 && outputSize > 0, "Dense: sizes \(inputSize) → \(outputSize) must be positive")
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = Parameter(initializer.make([outputSize, inputSize], fanIn: inputSize, fanOut: outputSize, rng: &rng))
        bias = useBias ? Parameter(.zeros([outputSize])) : nil
    }

    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable {
        precondition(
            input.value.rank == 2 && input.shape[1] == inputSize,
            "Dense(\(inputSize) → \(outputSize)): expects input of shape [N, \(inputSize)], got \(input.shape)")
        let y = Variable.matmul(input, Variable(weight), transposeB: true)
        guard let bias else { return y }
        return y + Variable(bias)
    }

    public var parameters: [NamedParameter] {
        [NamedParameter(path: "weight", parameter: weight)] + (bias.map { [NamedParameter(path: "bias", parameter: $0)] } ?? [])
    }

    public var summary: String { "Dense(\(inputSize) → \(outputSize))" }
}

/// 2-D convolution over N×C×H×W inputs; weight O×C×KH×KW (PyTorch layout), bias O.
public final class Conv2D: Layer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int
    public let padding: Int

    public init(
        inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, useBias: Bool = true,
        initializer: Initializer = .heUniform, rng: inout SeededGenerator
    ) {
        precondition(
            inChannels > 0 && outChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0,
            "Conv2D: invalid sizes in=\(inChannels) out=\(outChannels) kernel=\(kernelSize) stride=\(stride) padding=\(padding)")
        let fanIn = inChannels * kernelSize * kernelSize
        weight = Parameter(
            initializer.make(
                [outChannels, inChannels, kernelSize, kernelSize], fanIn: fanIn,
                fanOut: outChannels * kernelSize * kernelSize, rng: &rng))
        bias = useBias ? Parameter(.zeros([outChannels])) : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable {
        // The bias is added inside the convolution (one pass over each output plane while it is in cache).
        Variable.conv2d(input, weight: Variable(weight), bias: bias.map { Variable($0) }, stride: stride, padding: padding)
    }

    public var parameters: [NamedParameter] {
        [NamedParameter(path: "weight", parameter: weight)] + (bias.map { [NamedParameter(path: "bias", parameter: $0)] } ?? [])
    }

    public var summary: String {
        let s = weight.shape
        return "Conv2D(\(s[1]) → \(s[0]), \(s[2])×\(s[3]), stride \(stride), padding \(padding))"
    }
}

public final class MaxPool2D: Layer {
    public let kernelSize: Int
    public let stride: Int
    public init(kernelSize: Int, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }
    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable {
        input.maxPool2d(kernel: kernelSize, stride: stride)
    }
    public var summary: String { "MaxPool2D(\(kernelSize), stride \(stride))" }
}

public final class AvgPool2D: Layer {
    public let kernelSize: Int
    public let stride: Int
    public init(kernelSize: Int, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }
    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable {
        input.avgPool2d(kernel: kernelSize, stride: stride)
    }
    public var summary: String { "AvgPool2D(\(kernelSize), stride \(stride))" }
}

/// N×… → N×F.
public final class Flatten: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable { input.flattened() }
    public var summary: String { "Flatten" }
}

public final class ReLU: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable { input.relu() }
    public var summary: String { "ReLU" }
}

public final class LeakyReLU: Layer {
    public let slope: Float
    public init(slope: Float = 0.01) { self.slope = slope }
    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable { input.leakyRelu(slope: slope) }
    public var summary: String { "LeakyReLU(\(slope))" }
}

public final class Tanh: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable { input.tanh() }
    public var summary: String { "Tanh" }
}

public final class Sigmoid: Layer {
    public init() {}
    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable { input.sigmoid() }
    public var summary: String { "Sigmoid" }
}

/// Inverted dropout: in training, zeroes each element with probability `rate` and scales the rest
/// by 1/(1 − rate); in inference, the identity. Draws from the context's generator.
public final class Dropout: Layer {
    public let rate: Float
    public init(rate: Float) {
        precondition(rate >= 0 && rate < 1, "Dropout: rate \(rate) must be in [0, 1)")
        self.rate = rate
    }
    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable {
        guard context.isTraining, rate > 0 else { return input }
        let keep = 1 - rate
        let mask = Tensor.bernoulli(input.shape, probability: keep, rng: &context.rng) * (1 / keep)
        return input * mask
    }
    public var summary: String { "Dropout(\(rate))" }
}

/// Batch normalisation (Ioffe & Szegedy 2015) over N×F (1-D) or N×C×H×W (2-D, per channel) inputs.
///
/// Training: normalises with the batch mean and (biased) variance and updates the running
/// statistics with `running = (1 − momentum)·running + momentum·batch` (unbiased variance, as in
/// PyTorch). Inference: normalises with the running statistics.
public final class BatchNorm: Layer {
    public let gamma: Parameter
    public let beta: Parameter
    public let runningMean: Parameter
    public let runningVariance: Parameter
    public let momentum: Float
    public let epsilon: Float

    public init(features: Int, momentum: Float = 0.1, epsilon: Float = 1e-5) {
        precondition(features > 0, "BatchNorm: features \(features) must be positive")
        gamma = Parameter(.ones([features]))
        beta = Parameter(.zeros([features]))
        runningMean = Parameter(.zeros([features]), isFrozen: true)
        runningVariance = Parameter(.ones([features]), isFrozen: true)
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public func callAsFunction(_ input: Variable, context: ForwardContext) -> Variable {
        let features = gamma.value.count
        let shape = input.shape
        precondition(
            (shape.count == 2 || shape.count == 4) && shape[1] == features,
            "BatchNorm(\(features)): expects [N, \(features)] or [N, \(features), H, W], got \(shape)")
        let statShape = shape.count == 2 ? [1, features] : [1, features, 1, 1]
        let axes = shape.count == 2 ? [0] : [0, 2, 3]
        let g = Variable(gamma).reshaped(statShape)
        let b = Variable(beta).reshaped(statShape)
        if context.isTraining {
            let n = axes.reduce(1) { $0 * shape[$1] }
            precondition(n > 1, "BatchNorm(\(features)): training needs more than one value per channel, got shape \(shape)")
            let mean = input.mean(axes: axes, keepDims: true)
            let centered = input - mean
            let variance = centered.square().mean(axes: axes, keepDims: true)
            let normalized = centered / (variance + epsilon).sqrt()
            let batchMean = mean.value.reshaped([features])
            let unbiased = variance.value.reshaped([features]) * (Float(n) / Float(n - 1))
            runningMean.value = runningMean.value * (1 - momentum) + batchMean * momentum
            runningVariance.value = runningVariance.value * (1 - momentum) + unbiased * momentum
            return normalized * g + b
        }
        let mean = runningMean.value.reshaped(statShape)
        let scale = (runningVariance.value.reshaped(statShape) + epsilon).sqrt()
        return (input - mean) / Variable(scale) * g + b
    }

    public var parameters: [NamedParameter] {
        [NamedParameter(path: "gamma", parameter: gamma), NamedParameter(path: "beta", parameter: beta)]
    }

    public var buffers: [NamedParameter] {
        [
            NamedParameter(path: "running_mean", parameter: runningMean),
            NamedParameter(path: "running_var", parameter: runningVariance),
        ]
    }

    public var summary: String { "BatchNorm(\(gamma.value.count))" }
}
