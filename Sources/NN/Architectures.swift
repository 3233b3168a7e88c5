import TensorCore

/// Named network architectures, split the way domain adaptation needs them: a feature extractor
/// (whose output the strategies align) and a classifier head on top of it.
public enum Architecture {
    /// A feature extractor and the size of the features it produces.
    public struct FeatureExtractor {
        public let network: Sequential
        public let featureSize: Int
    }

    /// Fully connected ReLU layers: input → hidden[0] → … → hidden.last, each followed by ReLU
    /// (and BatchNorm / Dropout when asked). Inputs of rank > 2 are flattened first.
    public static func mlp(
        inputShape: [Int], hidden: [Int], batchNorm: Bool = false, dropout: Float = 0, rng: inout SeededGenerator
    ) -> FeatureExtractor {
        precondition(!hidden.isEmpty && hidden.allSatisfy { $0 > 0 }, "mlp: hidden sizes \(hidden) must be positive and non-empty")
        let network = Sequential()
        if inputShape.count > 1 { network.append(Flatten()) }
        var width = inputShape.reduce(1, *)
        for size in hidden {
            network.append(Dense(width, size, rng: &rng))
            if batchNorm { network.append(BatchNorm(features: size)) }
            network.append(ReLU())
            if dropout > 0 { network.append(Dropout(rate: dropout)) }
            width = size
        }
        return FeatureExtractor(network: network, featureSize: width)
    }

    /// A LeNet-5-like extractor for C×H×W images: conv(5×5, c1) → ReLU → maxpool 2 → conv(5×5, c2)
    /// → ReLU → maxpool 2 → flatten → dense(featureSize) → ReLU. Convolutions are padded so that
    /// small images (8×8 digits) work as well as 28×28 ones.
    public static func lenet(
        inputShape: [Int], channels: (Int, Int) = (6, 16), featureSize: Int = 120, rng: inout SeededGenerator
    ) -> FeatureExtractor {
        precondition(inputShape.count == 3, "lenet: expects C×H×W inputs, got sample shape \(inputShape)")
        let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        let padding = min(h, w) < 16 ? 2 : 0
        let network = Sequential(
            Conv2D(inChannels: c, outChannels: channels.0, kernelSize: 5, padding: padding, rng: &rng), ReLU(),
            MaxPool2D(kernelSize: 2),
            Conv2D(inChannels: channels.0, outChannels: channels.1, kernelSize: 5, padding: padding, rng: &rng), ReLU(),
            MaxPool2D(kernelSize: 2), Flatten())
        var (oh, ow) = ((h + 2 * padding - 4) / 2, (w + 2 * padding - 4) / 2)
        (oh, ow) = ((oh + 2 * padding - 4) / 2, (ow + 2 * padding - 4) / 2)
        precondition(oh > 0 && ow > 0, "lenet: input \(inputShape) is too small for two 5×5 convolutions and pools")
        network.append(Dense(channels.1 * oh * ow, featureSize, rng: &rng))
        network.append(ReLU())
        return FeatureExtractor(network: network, featureSize: featureSize)
    }

    /// A linear classifier head (features → class logits), optionally with one hidden layer.
    public static func classifier(featureSize: Int, classCount: Int, hidden: Int? = nil, rng: inout SeededGenerator) -> Sequential {
        if let hidden {
            return Sequential(Dense(featureSize, hidden, rng: &rng), ReLU(), Dense(hidden, classCount, initializer: .glorotUniform, rng: &rng))
        }
        return Sequential(Dense(featureSize, classCount, initializer: .glorotUniform, rng: &rng))
    }
}
