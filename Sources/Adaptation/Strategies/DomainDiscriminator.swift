import NN
import TensorCore

/// A domain classifier for adversarial strategies: Dense → ReLU (→ Dropout) per hidden size, then
/// a Dense to `outputs` logits (1 for sigmoid BCE in DANN, 2 for softmax CE in domain confusion).
///
/// With no hidden layer it is logistic regression on the features — the domain regressor of
/// Ganin et al.'s shallow DANN (JMLR 2016, Algorithm 1). Ganin et al.'s deep setting uses
/// 1024 → 1024 → 1 with dropout 0.5.
public final class DomainDiscriminator {
    public let network: Sequential
    public let inputSize: Int
    public let hidden: [Int]

    public init(inputSize: Int, hidden: [Int], outputs: Int, dropout: Float = 0, rng: inout SeededGenerator) {
        precondition(inputSize > 0 && outputs > 0, "DomainDiscriminator: input size \(inputSize) and outputs \(outputs) must be positive")
        precondition(hidden.allSatisfy { $0 > 0 }, "DomainDiscriminator: hidden sizes \(hidden) must be positive")
        let network = Sequential()
        var width = inputSize
        for size in hidden {
            network.append(Dense(width, size, rng: &rng))
            network.append(ReLU())
            if dropout > 0 { network.append(Dropout(rate: dropout)) }
            width = size
        }
        network.append(Dense(width, outputs, initializer: .glorotUniform, rng: &rng))
        self.network = network
        self.inputSize = inputSize
        self.hidden = hidden
    }

    /// The default hidden sizes for features of width `featureSize`: Ganin et al.'s 1024 → 1024 for
    /// wide (≥ 256) features; for narrow ones one hidden layer of max(2·featureSize, 16) units.
    public static func defaultHidden(featureSize: Int) -> [Int] {
        featureSize >= 256 ? [1024, 1024] : [Swift.max(2 * featureSize, 16)]
    }

    public func callAsFunction(_ x: Variable, context: ForwardContext) -> Variable { network(x, context: context) }

    public var parameters: [NamedParameter] {
        network.parameters.map { NamedParameter(path: "discriminator.\($0.path)", parameter: $0.parameter) }
    }
}

/// Reads the discriminator options shared by `dann`, `domainConfusion` and `cdan`; `defaultDropout` is
/// the strategy's documented default (0 for dann and domainConfusion, 0.5 for cdan).
func discriminatorOptions(_ options: StrategyOptions, inputSize: Int, defaultDropout: Float = 0) throws -> (hidden: [Int], dropout: Float) {
    let hidden = try options.ints("discriminatorHidden", default: DomainDiscriminator.defaultHidden(featureSize: inputSize))
    guard hidden.allSatisfy({ $0 > 0 }) else {
        throw StrategyError.invalidValue(strategy: options.owner, key: "discriminatorHidden", message: "sizes must be positive, got \(hidden)")
    }
    let dropout = try options.float("discriminatorDropout", default: defaultDropout)
    guard dropout >= 0 && dropout < 1 else {
        throw StrategyError.invalidValue(strategy: options.owner, key: "discriminatorDropout", message: "must be in [0, 1), got \(dropout)")
    }
    return (hidden, dropout)
}

/// Reads a `layer` option naming a `FeatureLayer`.
func layerOption(_ options: StrategyOptions, _ key: String = "layer", default fallback: FeatureLayer) throws -> FeatureLayer {
    let name = try options.choice(key, default: fallback.rawValue, allowed: FeatureLayer.allCases.map(\.rawValue))
    return FeatureLayer(rawValue: name)!
}

/// Fraction of rows whose arg-max (or, for one logit, whose sign) gives the true domain: source → 0, target → 1.
func domainAccuracy(sourceLogits: Tensor, targetLogits: Tensor) -> Double {
    func predicted(_ logits: Tensor) -> [Int] {
        logits.shape[1] == 1 ? logits.scalars.map { $0 > 0 ? 1 : 0 } : logits.argmax(axis: 1)
    }
    let s = predicted(sourceLogits), t = predicted(targetLogits)
    let correct = s.filter { $0 == 0 }.count + t.filter { $0 == 1 }.count
    return Double(correct) / Double(Swift.max(s.count + t.count, 1))
}
