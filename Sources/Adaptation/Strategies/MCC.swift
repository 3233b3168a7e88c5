import NN
import TensorCore

/// MCC's entropy weights for the rows of target probabilities Ŷ (B × C):
/// W_i = B · (1 + e^{−H(Ŷ_i)}) / Σ_j (1 + e^{−H(Ŷ_j)}), so that they sum to B. B × 1.
public func mccEntropyWeights(probabilities: Tensor) -> Tensor {
    let w = certaintyWeights(probabilities: probabilities)
    let scale = Float(w.count) / w.reduce(0, +)
    return Tensor(shape: [w.count, 1], scalars: w.map { $0 * scale })
}

/// Class confusion of probabilities Ŷ (B × C) under row weights W (B × 1):
///
///     C = Ŷᵀ diag(W) Ŷ,   C̃_jj' = C_jj' / Σ_j'' C_jj'',   L = (1/C) Σ_j Σ_{j'≠j} C̃_jj'
///
/// (The authors' code divides column j' by Σ_j'' C_j'j''; C is symmetric, so the sum is the same.)
public func classConfusionLoss(probabilities: Variable, weights: Tensor) -> Variable {
    precondition(
        probabilities.value.rank == 2 && weights.count == probabilities.shape[0],
        "classConfusionLoss: probabilities \(probabilities.shape) for \(weights.count) weights")
    let classes = probabilities.shape[1]
    let confusion = Variable.matmul(probabilities * weights.reshaped([weights.count, 1]), probabilities, transposeA: true)
    let normalised = confusion / confusion.sum(axis: 1, keepDims: true)
    var offDiagonal = Tensor.ones([classes, classes])
    for j in 0..<classes { offDiagonal.scalars[j * classes + j] = 0 }
    return (normalised * offDiagonal).sum() / Float(classes)
}

/// The MCC loss on target logits Z (B × C): Ŷ = softmax(Z / T), W = `mccEntropyWeights(Ŷ)` (detached,
/// as in the authors' code and Transfer-Learning-Library), then `classConfusionLoss(Ŷ, W)`.
public func minimumClassConfusionLoss(targetLogits: Variable, temperature: Float) -> Variable {
    precondition(temperature > 0, "minimumClassConfusionLoss: temperature \(temperature) must be positive")
    let probabilities = (targetLogits / temperature).softmax(axis: 1)
    return classConfusionLoss(probabilities: probabilities, weights: mccEntropyWeights(probabilities: probabilities.value))
}

/// Minimum class confusion (Jin, Wang, Long, Wang, ECCV 2020, "Minimum Class Confusion for Versatile
/// Domain Adaptation").
///
/// Equation as implemented, on the target batch only (B rows, C classes):
///
///     Ŷ = softmax(Z_t / T),  W_i = B (1 + e^{−H(Ŷ_i)}) / Σ_j (1 + e^{−H(Ŷ_j)}),  C = Ŷᵀ W Ŷ,
///     C̃_jj' = C_jj' / Σ_j'' C_jj'',   term = weight · λ · (1/C) Σ_j Σ_{j'≠j} C̃_jj'
///
/// T = 2.5 (the authors' default), weight 1 (their trade-off), λ constant. It adds a loss on the
/// target logits only, so it composes with any other strategy (`[dann, mcc]`, `[cdan, mcc]`).
/// Option: `temperature`.
public final class MCCStrategy: AdaptationStrategy {
    /// The options with their defaults: the one place the defaults are written.
    public static let optionSpecs: [StrategyOptionSpec] = [
        StrategyOptionSpec("temperature", default: .number(2.5), "T in softmax(logits / T) (rescaling; > 1 softens)",
            domain: .number(.aboveUpTo(0, 1000))),
    ]

    public let name = "mcc"
    public let temperature: Float

    public init(temperature: Float = Float(optionSpecs.defaultNumber("temperature"))) {
        precondition(temperature > 0, "MCCStrategy: temperature \(temperature) must be positive")
        self.temperature = temperature
    }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let confusion = minimumClassConfusionLoss(targetLogits: batch.targetLogits, temperature: temperature)
        return StrategyLoss(confusion, terms: ["classConfusion": confusion.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "mcc",
            summary: "Minimum class confusion: entropy-weighted, row-normalised off-diagonal class correlation of softmax(target logits / T).",
            paper: "Jin, Wang, Long & Wang, ECCV 2020, 'Minimum Class Confusion for Versatile Domain Adaptation'",
            options: optionSpecs, defaultWeight: 1
        ) { options, _ in
            MCCStrategy(temperature: try options.float("temperature", default: Float(optionSpecs.defaultNumber("temperature"))))
        }
    }
}
