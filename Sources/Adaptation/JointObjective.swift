import NN
import TensorCore

/// Cross-entropy on granted target rows, (1/n) Σ_i −log softmax(z_i)_{y_i}: the one target
/// cross-entropy of training, whether the labels are a few per class (semi-supervised adaptation,
/// fine-tuning) or all of them (the target-only oracle).
public func grantedTargetCrossEntropy(logits: Variable, labels: [Int]) -> Variable {
    Loss.crossEntropy(logits: logits, labels: labels)
}

/// A loss term or gradient that is NaN or infinite, thrown inside a step; `Trainer.run` stores
/// the last good snapshot and turns it into `TrainingError.nonFinite`.
struct NonFiniteTerm: Error {
    let strategy: String
    let term: String
    /// The snapshot's reason (`non-finite loss`, …).
    let reason: String
}

/// Per-epoch sums of the loss terms and diagnostics (divided by the step count at the epoch's end).
struct EpochStats {
    var losses: [String: Double] = [:]
    var diagnostics: [String: Double] = [:]

    mutating func add(loss key: String, _ value: Float) { losses[key, default: 0] += Double(value) }
    mutating func add(diagnostics values: [String: Double], prefix: String) {
        for (k, v) in values { diagnostics["\(prefix).\(k)", default: 0] += v }
    }
}

/// The joint objective of one step:
///
///     L = CE(source) + CE(granted target) + Σ_i weight_i · λ_i(p) · strategy_i.loss(batch)
///
/// CE(source) is dropped when a strategy does not use source labels (the target-only oracle,
/// fine-tuning on target labels); CE(granted target) is there whenever the batch carries granted
/// target rows. For `lambdaPlacement == .insideLoss` (DANN) a term is weight_i · loss.
struct JointObjective {
    let terms: [StrategyTerm]
    let usesSourceLabels: Bool

    init(terms: [StrategyTerm]) {
        self.terms = terms
        usesSourceLabels = terms.allSatisfy { $0.strategy.usesSourceLabels && $0.strategy.usesSourceData }
    }

    /// L for `batch` (nil when no term has a gradient), every term checked to be finite and logged in `stats`.
    func total(_ batch: inout StrategyBatch, progress p: Float, context: ForwardContext, stats: inout EpochStats) throws -> Variable? {
        var total: Variable? = nil
        func add(_ term: Variable) { total = total.map { $0 + term } ?? term }
        if usesSourceLabels {
            let ce = Loss.crossEntropy(logits: batch.sourceLogits, labels: batch.sourceLabels)
            guard ce.value.scalar.isFinite else { throw NonFiniteTerm(strategy: "source", term: "crossEntropy", reason: "non-finite loss") }
            stats.add(loss: "source.crossEntropy", ce.value.scalar)
            add(ce)
        }
        if let granted = batch.labelledTarget {
            let ce = grantedTargetCrossEntropy(logits: granted.outputs.logits, labels: granted.labels)
            guard ce.value.scalar.isFinite else { throw NonFiniteTerm(strategy: "target", term: "crossEntropy", reason: "non-finite loss") }
            stats.add(loss: "target.crossEntropy", ce.value.scalar)
            add(ce)
        }
        for term in terms {
            let lambda = term.schedule.value(progress: p)
            batch.lambda = lambda
            let result = term.strategy.loss(batch, context: context)
            let value = result.value.value.scalar
            guard value.isFinite else {
                let culprit = result.terms.keys.sorted().first { !result.terms[$0]!.isFinite } ?? "loss"
                throw NonFiniteTerm(strategy: term.label, term: culprit, reason: "non-finite loss")
            }
            stats.add(loss: term.label, value)
            for (k, v) in result.terms { stats.add(loss: "\(term.label).\(k)", v) }
            stats.add(diagnostics: result.diagnostics, prefix: term.label)
            let factor = term.weight * (term.strategy.lambdaPlacement == .lossMultiplier ? lambda : 1)
            guard factor != 0, result.value.requiresGradient else { continue }
            add(result.value * factor)
        }
        return total
    }
}

/// Path of the first parameter whose gradient holds a NaN or Inf (checked element-wise, so a
/// large but finite gradient is not mistaken for an overflow of its norm).
func firstNonFiniteGradient(_ grads: Gradients, groups: [ParameterGroup], names: () -> [NamedParameter]) -> String? {
    for group in groups {
        for parameter in group.parameters {
            guard let g = grads[parameter], !g.isFinite else { continue }
            let named = names().first { $0.parameter === parameter }
            return named?.path ?? "a parameter of shape \(parameter.shape)"
        }
    }
    return nil
}

/// Scales `grads` by min(1, `limit`/‖g‖₂) over the parameters of `groups` (frozen ones and ones
/// without a gradient left out): the update keeps its direction and its length is at most `limit`
/// times the learning rate. Returns ‖g‖₂ before clipping.
@discardableResult
public func clipGradientNorm(_ grads: inout Gradients, groups: [ParameterGroup], limit: Float) -> Double {
    let norm = gradientNorm(grads, groups: groups)
    if norm > Double(limit) { grads.scale(by: Float(Double(limit) / norm)) }
    return norm
}

/// Global L2 norm over the trained (not frozen) parameters, accumulated in Double.
func gradientNorm(_ grads: Gradients, groups: [ParameterGroup]) -> Double {
    var total = 0.0
    for group in groups {
        for parameter in group.parameters where !parameter.isFrozen {
            guard let g = grads[parameter] else { continue }
            for v in g.scalars { total += Double(v) * Double(v) }
        }
    }
    return total.squareRoot()
}
