import Adaptation
import Experiments
import Foundation
import XCTest

/// The statistics behind the selection report, against values worked out by hand or from tables,
/// and the seed-by-seed selection study on hand-made reports.
final class SelectionStudyTests: XCTestCase {
    // MARK: Statistics

    func testTIntervalMatchesTheTextbook() throws {
        // 1, 2, 3, 4, 5: mean 3, s = √2.5 = 1.5811, t(0.975, 4) = 2.776 → half-width 2.776·1.5811/√5 = 1.9630.
        let i = try XCTUnwrap(Interval([1, 2, 3, 4, 5]))
        XCTAssertEqual(i.mean, 3, accuracy: 1e-12)
        XCTAssertEqual(i.high - i.mean, 1.9630, accuracy: 1e-3)
        XCTAssertEqual(i.mean - i.low, 1.9630, accuracy: 1e-3)
        XCTAssertEqual(Interval([0.7])?.low, 0.7, "one value: no width")
        // Beyond the table the expansion approaches the normal quantile: t(0.975, 40) = 2.0211, t(0.975, 120) = 1.9799.
        XCTAssertEqual(Statistics.tQuantile975(degreesOfFreedom: 40), 2.0211, accuracy: 1e-3)
        XCTAssertEqual(Statistics.tQuantile975(degreesOfFreedom: 120), 1.9799, accuracy: 1e-3)
    }

    func testPValuesMatchStudentsT() {
        // Two-sided p of t = 2.228 with 10 df is 0.05 (the 97.5 % quantile); t = 2.0, 10 df: 0.07339;
        // t = 12.706, 1 df: 0.05; t = 0: 1.
        XCTAssertEqual(Statistics.twoSidedP(t: 2.228, degreesOfFreedom: 10), 0.05, accuracy: 2e-4)
        XCTAssertEqual(Statistics.twoSidedP(t: 2.0, degreesOfFreedom: 10), 0.07339, accuracy: 1e-4)
        XCTAssertEqual(Statistics.twoSidedP(t: -12.706, degreesOfFreedom: 1), 0.05, accuracy: 1e-4)
        XCTAssertEqual(Statistics.twoSidedP(t: 0, degreesOfFreedom: 5), 1, accuracy: 1e-12)
        // I_x(a, b) with a = b = 1 is x; with a = 2, b = 1 it is x².
        XCTAssertEqual(Statistics.regularizedIncompleteBeta(x: 0.3, a: 1, b: 1), 0.3, accuracy: 1e-12)
        XCTAssertEqual(Statistics.regularizedIncompleteBeta(x: 0.3, a: 2, b: 1), 0.09, accuracy: 1e-12)
    }

    func testPairedTestAndSpearmanByHand() throws {
        // Differences 0.1, 0.2, 0.3: mean 0.2, s = 0.1, t = 0.2 / (0.1/√3) = 3.4641 with 2 df → p = 0.07418.
        let test = try XCTUnwrap(Statistics.pairedTest([0.9, 0.8, 0.7], [0.8, 0.6, 0.4]))
        XCTAssertEqual(test.difference.mean, 0.2, accuracy: 1e-12)
        XCTAssertEqual(test.p, 0.07418, accuracy: 1e-4)
        XCTAssertEqual(Statistics.pairedTest([0.5, 0.6], [0.5, 0.6])?.p, 1, "no difference")
        XCTAssertNil(Statistics.pairedTest([0.5], [0.4]), "one pair is no test")
        // Same order: 1; reversed: −1; x = 1,2,3,4 against y = 1,3,2,4: 1 − 6·2/(4·15) = 0.8.
        XCTAssertEqual(Statistics.spearman([1, 2, 3, 4], [10, 20, 30, 40]) ?? .nan, 1, accuracy: 1e-12)
        XCTAssertEqual(Statistics.spearman([1, 2, 3, 4], [4, 3, 2, 1]) ?? .nan, -1, accuracy: 1e-12)
        XCTAssertEqual(Statistics.spearman([1, 2, 3, 4], [1, 3, 2, 4]) ?? .nan, 0.8, accuracy: 1e-12)
        XCTAssertNil(Statistics.spearman([1, 1, 1], [1, 2, 3]), "a constant score ranks nothing")
    }

    // MARK: The study on hand-made reports

    /// A completed report with exactly `target` accuracy (100 samples) and the given DEV risk and entropy.
    func report(_ strategy: String, seed: UInt64, target: Double, dev: Double, entropy: Double) -> RunReport {
        func classification(_ accuracy: Double) -> ClassificationReport {
            let correct = Int((accuracy * 100).rounded())
            let labels = (0..<100).map { $0 % 2 }
            return ClassificationReport(predictions: labels.enumerated().map { $0.offset < correct ? $0.element : 1 - $0.element }, labels: labels, classCount: 2)
        }
        let t = classification(target), s = classification(0.9)
        return RunReport(
            dakitVersion: "test", recipe: "r.yaml", recipeName: strategy, recipeHash: "h", task: "t", strategy: strategy, seed: seed, overrides: [],
            status: "completed", error: nil, sourceAccuracy: s.accuracy, targetAccuracy: t.accuracy, sourceMacroF1: s.macroF1, targetMacroF1: t.macroF1,
            source: s, target: t, sourceOnlyTargetAccuracy: nil, epochs: [], steps: 1, divergences: nil,
            selection: SelectionScores(sourceValidation: 0.9, entropy: entropy, dev: dev),
            dataset: .init(shift: "test", classNames: ["a", "b"], sourceCount: 100, targetCount: 100, sourceEvaluation: "sourceValidation", targetEvaluation: "targetTest", grantedTargetLabels: 0),
            wallSeconds: 1, trainSeconds: 1, resolvedRecipe: .object([:]))
    }

    func testRegretRankCorrelationPairedTestsAndTheTransferGuardByHand() throws {
        // Two seeds, three candidates (target-only is the oracle's reference, not a candidate).
        //            seed 0: acc / DEV / entropy     seed 1: acc / DEV / entropy
        // sourceOnly  0.60 / 0.50 / 0.30              0.64 / 0.40 / 0.30
        // dann        0.80 / 0.30 / 0.50              0.70 / 0.60 / 0.50
        // mmd         0.70 / 0.40 / 0.10              0.90 / 0.20 / 0.10
        // targetOnly  0.95 / —    / —                 0.97
        let runs: [RunReport] = [
            report("sourceOnly", seed: 0, target: 0.60, dev: 0.5, entropy: 0.3), report("sourceOnly", seed: 1, target: 0.64, dev: 0.4, entropy: 0.3),
            report("dann", seed: 0, target: 0.80, dev: 0.3, entropy: 0.5), report("dann", seed: 1, target: 0.70, dev: 0.6, entropy: 0.5),
            report("mmd", seed: 0, target: 0.70, dev: 0.4, entropy: 0.1), report("mmd", seed: 1, target: 0.90, dev: 0.2, entropy: 0.1),
            report("targetOnly", seed: 0, target: 0.95, dev: 0.9, entropy: 0.9), report("targetOnly", seed: 1, target: 0.97, dev: 0.9, entropy: 0.9),
        ]
        let summary = Comparison.summarize(runs.map { ($0, nil) }, title: "hand")

        // DEV picks the best on both seeds (dann, then mmd): regret 0. Its ranking matches accuracy on seed 0 (ρ = 1); on
        // seed 1 it ranks dann below sourceOnly (d² = 1 + 1, ρ = 1 − 12/24 = 0.5) → mean ρ 0.75.
        let dev = try XCTUnwrap(summary.selectionCosts.first { $0.rule == "dev" })
        XCTAssertEqual(dev.candidates, 3)
        XCTAssertEqual(dev.seeds, 2)
        XCTAssertEqual(dev.regret?.mean ?? .nan, 0, accuracy: 1e-12)
        XCTAssertEqual(dev.rankCorrelation?.mean ?? .nan, 0.75, accuracy: 1e-12)
        XCTAssertEqual(dev.pickedAccuracy?.mean ?? .nan, 0.85, accuracy: 1e-12)
        XCTAssertEqual(dev.pickedMostOften, "dann", "one pick each; the first in candidate order")
        // Entropy picks mmd on both seeds: regret 0.80 − 0.70 = 0.10 on seed 0, 0 on seed 1 → mean 0.05.
        // Its ranking (mmd, sourceOnly, dann) against accuracy: seed 0 ranks acc (dann 3, mmd 2, so 1) vs score (mmd 3, so 2, dann 1)
        // → d² = 4 + 1 + 1 = 6, ρ = 1 − 36/24 = −0.5; seed 1: acc (mmd 3, dann 2, so 1) vs score (mmd 3, so 2, dann 1) → d² = 0 + 1 + 1, ρ = 0.5.
        let entropy = try XCTUnwrap(summary.selectionCosts.first { $0.rule == "entropy" })
        XCTAssertEqual(entropy.pickedMostOften, "mmd")
        XCTAssertEqual(entropy.regret?.mean ?? .nan, 0.05, accuracy: 1e-12)
        XCTAssertEqual(entropy.rankCorrelation?.mean ?? .nan, 0, accuracy: 1e-12)
        XCTAssertEqual(entropy.zeroRegretSeeds, 1)
        XCTAssertEqual(dev.zeroRegretSeeds, 2)
        XCTAssertTrue(summary.markdown.contains("| dev | 1 | 0.0 | +0.75 | 2 of 2 |"), summary.markdown)
        XCTAssertTrue(summary.markdown.contains("| entropy | 1 | 5.0 | +0.00 | 1 of 2 |"), summary.markdown)
        let oracle = try XCTUnwrap(summary.selectionCosts.first { $0.rule == "oracle" })
        XCTAssertEqual(oracle.regret?.mean ?? .nan, 0, accuracy: 1e-12)
        XCTAssertEqual(oracle.oracleAccuracy?.mean ?? .nan, 0.85, accuracy: 1e-12, "0.80 and 0.90: target-only is not a candidate")

        // Paired: mmd − sourceOnly = 0.10, 0.26 → mean 0.18, s = 0.1131, t = 2.25 with 1 df → p = 0.2662.
        let mmd = try XCTUnwrap(summary.pairedComparisons.first { $0.strategy == "mmd" })
        XCTAssertEqual(mmd.difference.mean, 0.18, accuracy: 1e-12)
        XCTAssertEqual(mmd.p, 0.2662, accuracy: 1e-3)

        // Guard with DEV: dann keeps seed 0 (0.3 ≤ 0.5) and falls back on seed 1 (0.6 > 0.4) → 0.80, 0.64 → mean 0.72
        // against always 0.75 and never 0.62; NTG = (1 − 0.72) − (1 − 0.96) = 0.24.
        let guardDann = try XCTUnwrap(summary.transferDecisions.first { $0.strategy == "dann" })
        XCTAssertEqual(guardDann.rule, "dev")
        XCTAssertEqual(guardDann.fellBack, 1)
        XCTAssertEqual(guardDann.guardedAccuracy?.mean ?? .nan, 0.72, accuracy: 1e-12)
        XCTAssertEqual(guardDann.alwaysAdaptAccuracy?.mean ?? .nan, 0.75, accuracy: 1e-12)
        XCTAssertEqual(guardDann.neverAdaptAccuracy?.mean ?? .nan, 0.62, accuracy: 1e-12)
        XCTAssertEqual(guardDann.guardedNegativeTransferGap ?? .nan, 0.24, accuracy: 1e-12)
        XCTAssertFalse(summary.transferDecisions.contains { $0.strategy == "targetOnly" || $0.strategy == "sourceOnly" })

        // The report carries it all: Markdown sections, selection.csv, and summary.json round trip.
        XCTAssertTrue(summary.markdown.contains("## What selection costs, seed by seed"))
        XCTAssertTrue(summary.markdown.contains("| dann | 1 | 75.0 | 62.0 | 72.0 |"), summary.markdown)
        XCTAssertTrue(summary.selectionCSV.contains("t,,dev,2,3,dann,"), summary.selectionCSV)
        let decoded = try ResultJSON.decoder().decode(ComparisonSummary.self, from: summary.jsonData())
        XCTAssertEqual(decoded, summary)
        // A summary written before the study existed still reads (empty study).
        let old = #"{"title": "old", "rows": [], "selections": [], "run_count": 0}"#
        XCTAssertEqual(try ResultJSON.decoder().decode(ComparisonSummary.self, from: Data(old.utf8)).selectionCosts, [])
    }
}
