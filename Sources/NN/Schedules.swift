import Foundation

/// A learning-rate schedule: the learning rate as a pure function of training progress
/// p ∈ [0, 1] (fraction of all steps done), never of a hidden call counter.
public enum LearningRateSchedule: Sendable, Equatable {
    /// μ(p) = μ0.
    case constant
    /// μ(p) = μ0 · γ^(number of milestones ≤ p).
    case step(milestones: [Float], gamma: Float)
    /// μ(p) = μmin + (μ0 − μmin)·(1 + cos πp)/2, with μmin = μ0 · minimumFactor.
    case cosine(minimumFactor: Float)
    /// Ganin et al. 2016: μ(p) = μ0 / (1 + α p)^β (paper: α = 10, β = 0.75).
    case dannAnnealing(alpha: Float, beta: Float)

    /// The DANN paper's schedule.
    public static let dann = LearningRateSchedule.dannAnnealing(alpha: 10, beta: 0.75)

    /// The learning rate at progress `p` for base rate `base`.
    public func learningRate(base: Float, progress p: Float) -> Float {
        let p = min(max(p, 0), 1)
        switch self {
        case .constant:
            return base
        case .step(let milestones, let gamma):
            return base * Foundation.pow(gamma, Float(milestones.filter { $0 <= p }.count))
        case .cosine(let minimumFactor):
            let lo = base * minimumFactor
            return lo + (base - lo) * (1 + Foundation.cos(Float.pi * p)) / 2
        case .dannAnnealing(let alpha, let beta):
            return base / Foundation.pow(1 + alpha * p, beta)
        }
    }
}

/// The weight λ(p) of an adaptation term as a pure function of progress p ∈ [0, 1].
public enum WeightSchedule: Sendable, Equatable {
    /// λ(p) = 1 (the strategy's `weight` then scales it).
    case constant
    /// Ganin et al. 2016: λ(p) = 2 / (1 + exp(−γ p)) − 1 (paper: γ = 10); 0 at p = 0, → 1.
    case dannRamp(gamma: Float)
    /// λ(p) = min(1, p / rampFraction): a linear warm-up over the first part of training.
    case linearRamp(rampFraction: Float)

    public func value(progress p: Float) -> Float {
        let p = min(max(p, 0), 1)
        switch self {
        case .constant:
            return 1
        case .dannRamp(let gamma):
            return 2 / (1 + Foundation.exp(-gamma * p)) - 1
        case .linearRamp(let fraction):
            return fraction <= 0 ? 1 : min(1, p / fraction)
        }
    }
}
