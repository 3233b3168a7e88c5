import Adaptation
import Foundation

/// What a selection rule costs on one task, seed by seed: on each seed the rule picks, among the
/// candidates (every configuration on the task except the target-only oracle, each run with that
/// seed), the one its score ranks best; the oracle picks the best target accuracy.
///
///     regret_s = max_c acc_T(c, s) − acc_T(pick_r(s), s)
///     ρ_s      = Spearman(sign_r · score_r(c, s), acc_T(c, s)) over the candidates
///
/// with sign_r = −1 for the rules where lower is better, so ρ > 0 means the score orders the
/// candidates as the target accuracy does. Reported as mean and 95 % t interval over the seeds.
public struct SelectionCost: Sendable, Codable, Equatable {
    public var task: String
    public var rule: String
    /// Seeds on which the rule could pick (≥ 2 scored candidates).
    public var seeds: Int
    public var candidates: Int
    /// The configuration the rule picked on most seeds (ties: the first in candidate order).
    public var pickedMostOften: String
    public var pickedAccuracy: Interval?
    public var oracleAccuracy: Interval?
    public var regret: Interval?
    public var rankCorrelation: Interval?
    /// Seeds on which the pick reached the oracle's target accuracy (regret 0; ties count).
    public var zeroRegretSeeds: Int
}

/// A paired comparison on the seeds two configurations share: acc_T(strategy) − acc_T(baseline).
public struct PairedComparison: Sendable, Codable, Equatable {
    public var task: String
    public var strategy: String
    public var baseline: String
    public var difference: Interval
    /// Two-sided p-value of the paired t-test.
    public var p: Double
}

/// The transfer / no-transfer decision on one task for one adapted configuration: per seed, keep
/// the adapted model when its unsupervised target-risk estimate is no worse than the source-only
/// model's of the same seed, else fall back to source-only. Compared with always adapting and
/// never adapting on the same seeds.
public struct TransferDecision: Sendable, Codable, Equatable {
    public var task: String
    public var strategy: String
    /// The score compared (`dev`, else `iwv`: lower estimated target risk wins).
    public var rule: String
    public var seeds: Int
    /// Seeds on which the rule fell back to source-only.
    public var fellBack: Int
    public var guardedAccuracy: MeanStd?
    public var alwaysAdaptAccuracy: MeanStd?
    public var neverAdaptAccuracy: MeanStd?
    /// NTG of the guarded choice: ε_T(guarded) − ε_T(target-only); nil without a target-only run.
    public var guardedNegativeTransferGap: Double?
}

/// Builds the per-seed selection study from the run reports of a comparison.
enum SelectionStudy {
    /// Score of `rule` on a report, and whether higher is better.
    static func score(_ rule: String, _ r: RunReport) -> Double? {
        switch rule {
        case "source_validation": return r.selection.sourceValidation
        case "dev": return r.selection.dev.map { -$0 }
        case "entropy": return r.selection.entropy.map { -$0 }
        case "snd": return r.selection.snd
        case "im": return r.selection.im
        case "iwv": return r.selection.iwv.map { -$0 }
        case "reverse_validation": return r.selection.reverseValidation
        case "oracle": return r.targetAccuracy
        default: return nil
        }
    }

    /// Completed reports with a target accuracy by task, then configuration, then seed.
    typealias Table = [String: [String: [UInt64: RunReport]]]

    static func table(_ reports: [RunReport]) -> Table {
        var table: Table = [:]
        for r in reports where r.status == "completed" && r.targetAccuracy != nil {
            table[r.task, default: [:]][r.strategy, default: [:]][r.seed] = r
        }
        return table
    }

    static func costs(_ table: Table, tasks: [String], strategies: [String]) -> [SelectionCost] {
        var out: [SelectionCost] = []
        for task in tasks {
            guard let byStrategy = table[task] else { continue }
            let candidates = strategies.filter { $0 != "targetOnly" && byStrategy[$0] != nil }
            guard candidates.count >= 2 else { continue }
            let seeds = Set(candidates.flatMap { byStrategy[$0]!.keys }).sorted()
            for rule in ComparisonSummary.selectionRules {
                var picked: [String] = [], pickedAcc: [Double] = [], oracle: [Double] = [], regret: [Double] = [], rho: [Double] = []
                for seed in seeds {
                    let runs = candidates.compactMap { c in byStrategy[c]![seed].map { (c, $0) } }
                    let scored = runs.compactMap { c, r in score(rule, r).map { (c, r.targetAccuracy!, $0) } }
                    guard scored.count >= 2, let best = scored.max(by: { $0.2 < $1.2 }) else { continue }
                    let top = runs.map { $0.1.targetAccuracy! }.max()!
                    picked.append(best.0)
                    pickedAcc.append(best.1)
                    oracle.append(top)
                    regret.append(top - best.1)
                    if let r = Statistics.spearman(scored.map(\.2), scored.map(\.1)) { rho.append(r) }
                }
                guard !picked.isEmpty else { continue }
                let counts = Dictionary(picked.map { ($0, 1) }, uniquingKeysWith: +)
                let most = counts.values.max()!
                let first = candidates.first { counts[$0] == most }!
                out.append(SelectionCost(
                    task: task, rule: rule, seeds: picked.count, candidates: candidates.count, pickedMostOften: first,
                    pickedAccuracy: Interval(pickedAcc), oracleAccuracy: Interval(oracle), regret: Interval(regret), rankCorrelation: Interval(rho),
                    zeroRegretSeeds: regret.filter { $0 <= 1e-12 }.count))
            }
        }
        return out
    }

    /// Every configuration against source-only on the seeds both have.
    static func paired(_ table: Table, tasks: [String], strategies: [String]) -> [PairedComparison] {
        var out: [PairedComparison] = []
        for task in tasks {
            guard let byStrategy = table[task], let base = byStrategy["sourceOnly"] else { continue }
            for strategy in strategies where strategy != "sourceOnly" {
                guard let runs = byStrategy[strategy] else { continue }
                let seeds = Set(runs.keys).intersection(base.keys).sorted()
                guard let test = Statistics.pairedTest(
                    seeds.map { runs[$0]!.targetAccuracy! }, seeds.map { base[$0]!.targetAccuracy! })
                else { continue }
                out.append(PairedComparison(task: task, strategy: strategy, baseline: "sourceOnly", difference: test.difference, p: test.p))
            }
        }
        return out
    }

    /// The transfer / no-transfer decision for every adapted configuration.
    static func decisions(_ table: Table, tasks: [String], strategies: [String]) -> [TransferDecision] {
        var out: [TransferDecision] = []
        for task in tasks {
            guard let byStrategy = table[task], let base = byStrategy["sourceOnly"] else { continue }
            let targetOnly = byStrategy["targetOnly"].map { runs in runs.values.map { $0.targetAccuracy! } }
            for strategy in strategies where strategy != "sourceOnly" && strategy != "targetOnly" {
                guard let runs = byStrategy[strategy] else { continue }
                let seeds = Set(runs.keys).intersection(base.keys).sorted()
                for rule in ["dev", "iwv"] {
                    let usable = seeds.filter { score(rule, runs[$0]!) != nil && score(rule, base[$0]!) != nil }
                    guard usable.count == seeds.count, !seeds.isEmpty else { continue }
                    var guarded: [Double] = [], fellBack = 0
                    for seed in seeds {
                        let (adapted, plain) = (runs[seed]!, base[seed]!)
                        if score(rule, adapted)! >= score(rule, plain)! {
                            guarded.append(adapted.targetAccuracy!)
                        } else {
                            guarded.append(plain.targetAccuracy!)
                            fellBack += 1
                        }
                    }
                    let guardedMean = MeanStd(guarded)
                    let ntg = targetOnly.flatMap { MeanStd($0) }.flatMap { t in guardedMean.map { (1 - $0.mean) - (1 - t.mean) } }
                    out.append(TransferDecision(
                        task: task, strategy: strategy, rule: rule, seeds: seeds.count, fellBack: fellBack, guardedAccuracy: guardedMean,
                        alwaysAdaptAccuracy: MeanStd(seeds.map { runs[$0]!.targetAccuracy! }),
                        neverAdaptAccuracy: MeanStd(seeds.map { base[$0]!.targetAccuracy! }), guardedNegativeTransferGap: ntg))
                    break
                }
            }
        }
        return out
    }
}
