import Foundation
import NN
import TensorCore

/// Confidence-thresholded pseudo-labels: rows whose largest softmax probability is ≥ `threshold`,
/// labelled with their arg-max. Returns `[row: label]`.
public func thresholdPseudoLabels(probabilities: Tensor, threshold: Float) -> [Int: Int] {
    precondition(probabilities.rank == 2, "thresholdPseudoLabels: expects N×K probabilities, got \(probabilities.shape)")
    let k = probabilities.shape[1]
    var kept: [Int: Int] = [:]
    for i in 0..<probabilities.shape[0] {
        let row = probabilities.scalars[(i * k)..<((i + 1) * k)]
        let best = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
        if row[best] >= threshold { kept[i] = best - i * k }
    }
    return kept
}

/// CBST's per-class confidence thresholds k_c (Zou, Yu, Kumar & Wang, ECCV 2018, "Unsupervised Domain
/// Adaptation for Semantic Segmentation via Class-Balanced Self-Training", §3.3 and Algorithm 1):
/// among the n_c rows whose arg-max is c, sorted by p_c in descending order, the p_c of the
/// ⌈fraction · n_c⌉-th, so that p_c ≥ k_c holds for the top `fraction` of them (a per-class quota).
/// +∞ for a class that no row predicts, or whose quota is 0. The authors' code rounds the quota down;
/// we round up so that a class predicted for a few rows still gets one — the rare classes are the ones
/// CBST exists to protect.
public func classBalancedThresholds(probabilities: Tensor, fraction: Float) -> [Float] {
    precondition(probabilities.rank == 2, "classBalancedThresholds: expects N×K probabilities, got \(probabilities.shape)")
    precondition(fraction >= 0 && fraction <= 1, "classBalancedThresholds: fraction \(fraction) outside [0, 1]")
    let k = probabilities.shape[1]
    var confidences = [[Float]](repeating: [], count: k)
    for (i, c) in probabilities.argmax(axis: 1).enumerated() { confidences[c].append(probabilities.scalars[i * k + c]) }
    return confidences.map { values in
        let quota = Int((Float(values.count) * fraction).rounded(.up))
        guard quota > 0 else { return .infinity }
        return values.sorted(by: >)[quota - 1]
    }
}

/// Class-balanced pseudo-labels (CBST, eq. 9 solved as in the paper): each row's label is
/// argmax_c p_c / k_c over the thresholds of `classBalancedThresholds` (ties: the lower class), kept
/// when that normalised score is ≥ 1. Every row in its predicted class's quota is kept; a row may take
/// a class other than its arg-max when that class's threshold is much lower (a rarely confident class
/// gains rows). So no class swallows the pool, however confident the network is about it.
/// Returns `[row: label]`.
public func classBalancedPseudoLabels(probabilities: Tensor, fraction: Float) -> [Int: Int] {
    let thresholds = classBalancedThresholds(probabilities: probabilities, fraction: fraction)
    let k = probabilities.shape[1]
    var kept: [Int: Int] = [:]
    for i in 0..<probabilities.shape[0] {
        var best = 0
        var bestScore: Float = -1
        for c in 0..<k {
            let score = probabilities.scalars[i * k + c] / thresholds[c]
            if score > bestScore { (best, bestScore) = (c, score) }
        }
        if bestScore >= 1 { kept[i] = best }
    }
    return kept
}

/// The pseudo-label loss on a target batch: (1/n_t) Σ_{i kept} −log softmax(z_i)_{ŷ_i}, the sum over
/// the kept rows divided by the batch size (rows without a pseudo-label count as 0, as in FixMatch's
/// masked mean), so the term grows with the share of the batch that is pseudo-labelled.
public func pseudoLabelLoss(targetLogits: Variable, pseudoLabels: [Int?]) -> Variable {
    precondition(targetLogits.shape[0] == pseudoLabels.count, "pseudoLabelLoss: \(targetLogits.shape[0]) rows for \(pseudoLabels.count) labels")
    let kept = pseudoLabels.indices.filter { pseudoLabels[$0] != nil }
    guard !kept.isEmpty else { return Variable(Tensor(0)) }
    let ce = Loss.crossEntropy(logits: targetLogits.gathering(rows: kept), labels: kept.map { pseudoLabels[$0]! })
    return ce * (Float(kept.count) / Float(pseudoLabels.count))
}

/// Iterative self-training with pseudo-labels (Lee, ICML-W 2013, "Pseudo-Label"; class-balanced
/// selection and the growing-fraction curriculum of Zou et al., ECCV 2018, "Unsupervised Domain
/// Adaptation for Semantic Segmentation via Class-Balanced Self-Training").
///
/// Schedule: the first `warmup` share of training (default 0.3) uses no pseudo-labels (source
/// training only); the rest is split into `rounds` equal rounds (default 10). At the first epoch
/// boundary of each round the whole target pool is predicted (inference mode) and relabelled:
/// - `selection: threshold` (default): keep rows with max softmax ≥ `threshold` (0.9);
/// - `selection: classBalanced` (CBST): per class c a threshold k_c that keeps the top fraction of the
///   rows predicted as c, label argmax_c p_c/k_c where that is ≥ 1 (`classBalancedPseudoLabels`); the
///   fraction grows per round r = 0, 1, …: min(`maxFraction`, `initialFraction` + r · `fractionStep`),
///   defaults 0.2, 0.05, 0.5 (the paper's 20 %, +5 % per round, at most 50 %).
/// Equation as implemented, between boundaries: term = weight · λ · (1/n_t) Σ_{i kept} CE(z_i, ŷ_i)
/// (`pseudoLabelLoss`) on each target batch. Weight 1, λ constant by default.
/// Diagnostics at each relabelling: `round`, `kept`, `keptFraction`; the strategy hands its
/// pseudo-labels to the trainer's evaluator, which adds `keptAccuracy` where the target pool has
/// labels (the strategy never sees them).
/// Composes with any other strategy: list it next to `mmd` or `dann` in a recipe.
public final class SelfTrainingStrategy: AdaptationStrategy {
    public enum Selection: String, CaseIterable { case threshold, classBalanced }

    public let name = "selfTraining"
    public let rounds: Int
    public let warmup: Float
    public let selection: Selection
    public let threshold: Float
    public let initialFraction: Float
    public let fractionStep: Float
    public let maxFraction: Float
    /// Pseudo-label of each target-pool row (nil: not kept). Replaced at each round's start.
    public private(set) var pseudoLabels: [Int?] = []
    /// The round whose labels are in use (−1 before the first).
    public private(set) var round = -1

    /// The options with their defaults: the one place the defaults are written.
    public static let optionSpecs: [StrategyOptionSpec] = [
        StrategyOptionSpec("rounds", default: .number(10), "number of relabelling rounds after the warm-up", domain: .integer(1...10_000)),
        StrategyOptionSpec("warmup", default: .number(0.3), "share of training before the first round (no pseudo-labels)",
            domain: .number(.halfOpen(0, 1))),
        StrategyOptionSpec("selection", default: .string("threshold"), "threshold | classBalanced", domain: .choice(Selection.allCases.map(\.rawValue))),
        StrategyOptionSpec("threshold", default: .number(0.9), "minimum max-softmax to keep a row (threshold selection)",
            domain: .number(.closed(0, 1))),
        StrategyOptionSpec("initialFraction", default: .number(0.2), "class-balanced: fraction kept per class in round 1", domain: .number(.closed(0, 1))),
        StrategyOptionSpec("fractionStep", default: .number(0.05), "class-balanced: fraction added per round", domain: .number(.closed(0, 1))),
        StrategyOptionSpec("maxFraction", default: .number(0.5), "class-balanced: largest fraction", domain: .number(.closed(0, 1))),
    ]
    @usableFromInline static func number(_ key: String) -> Float { Float(optionSpecs.defaultNumber(key)) }

    public init(
        rounds: Int = Int(optionSpecs.defaultNumber("rounds")), warmup: Float = number("warmup"),
        selection: Selection = Selection(rawValue: optionSpecs.defaultString("selection"))!, threshold: Float = number("threshold"),
        initialFraction: Float = number("initialFraction"), fractionStep: Float = number("fractionStep"), maxFraction: Float = number("maxFraction")
    ) {
        precondition(rounds > 0, "selfTraining: rounds \(rounds) must be positive")
        precondition(warmup >= 0 && warmup < 1, "selfTraining: warmup \(warmup) outside [0, 1)")
        self.rounds = rounds
        self.warmup = warmup
        self.selection = selection
        self.threshold = threshold
        self.initialFraction = initialFraction
        self.fractionStep = fractionStep
        self.maxFraction = maxFraction
    }

    /// The round in progress at `progress` (−1 during warm-up).
    public func round(at progress: Float) -> Int {
        guard progress >= warmup else { return -1 }
        let length = (1 - warmup) / Float(rounds)
        return Swift.min(rounds - 1, Int(((progress - warmup) / length).rounded(.down)))
    }

    /// The class-balanced fraction of round `r`.
    public func fraction(round r: Int) -> Float { Swift.min(maxFraction, initialFraction + Float(r) * fractionStep) }

    public func epochBoundary(_ boundary: EpochBoundary) throws -> BoundaryReport {
        let pool = boundary.targetPool
        if boundary.epoch == 0 {
            pseudoLabels = [Optional<Int>](repeating: nil, count: pool.count)
            round = -1
        }
        let r = round(at: boundary.progress)
        guard r > round else { return [:] }
        round = r
        let probabilities = try boundary.model.probabilities(pool)
        let kept: [Int: Int]
        switch selection {
        case .threshold: kept = thresholdPseudoLabels(probabilities: probabilities, threshold: threshold)
        case .classBalanced: kept = classBalancedPseudoLabels(probabilities: probabilities, fraction: fraction(round: r))
        }
        pseudoLabels = (0..<pool.count).map { kept[$0] }
        let diagnostics: [String: Double] = [
            "round": Double(r + 1), "kept": Double(kept.count), "keptFraction": Double(kept.count) / Double(Swift.max(pool.count, 1)),
        ]
        return BoundaryReport(diagnostics: diagnostics, pseudoLabels: kept)
    }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        guard round >= 0 else { return .zero }
        let labels = batch.targetIndices.map { pseudoLabels[$0] }
        let loss = pseudoLabelLoss(targetLogits: batch.targetLogits, pseudoLabels: labels)
        return StrategyLoss(loss, terms: ["pseudoLabel": loss.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "selfTraining",
            summary: "Rounds of pseudo-labelling the target pool (confidence threshold or class-balanced growing fraction), CE on kept target rows.",
            paper: "Lee, ICML-W 2013 (Pseudo-Label); Zou et al., ECCV 2018 (class-balanced self-training)",
            options: optionSpecs
        ) { options, _ in
            let owner = options.owner
            let rounds = try options.int("rounds", default: Int(optionSpecs.defaultNumber("rounds")))
            guard rounds > 0 else { throw StrategyError.invalidValue(strategy: owner, key: "rounds", message: "must be positive, got \(rounds)") }
            let warmup = try options.float("warmup", default: number("warmup"))
            guard warmup >= 0 && warmup < 1 else {
                throw StrategyError.invalidValue(strategy: owner, key: "warmup", message: "must be in [0, 1), got \(warmup)")
            }
            let threshold = try options.float("threshold", default: number("threshold"))
            guard threshold >= 0 && threshold <= 1 else {
                throw StrategyError.invalidValue(strategy: owner, key: "threshold", message: "must be in [0, 1], got \(threshold)")
            }
            var fractions: [Float] = []
            for key in ["initialFraction", "fractionStep", "maxFraction"] {
                let v = try options.float(key, default: number(key))
                guard v >= 0 && v <= 1 else { throw StrategyError.invalidValue(strategy: owner, key: key, message: "must be in [0, 1], got \(v)") }
                fractions.append(v)
            }
            let selection = try options.choice("selection", default: optionSpecs.defaultString("selection"), allowed: Selection.allCases.map(\.rawValue))
            return SelfTrainingStrategy(
                rounds: rounds, warmup: warmup, selection: Selection(rawValue: selection)!, threshold: threshold,
                initialFraction: fractions[0], fractionStep: fractions[1], maxFraction: fractions[2])
        }
    }
}
