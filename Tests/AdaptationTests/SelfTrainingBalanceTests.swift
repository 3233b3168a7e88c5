import Adaptation
import NN
import TensorCore
import XCTest

/// Class-balanced pseudo-label selection (CBST, Zou et al., ECCV 2018) against the global confidence
/// threshold, on hand-made target pools.
final class SelfTrainingBalanceTests: XCTestCase {
    /// One class (0) is predicted with high confidence, classes 1 and 2 never above 0.9.
    ///   rows predicted 0: r0 .99, r1 .98, r2 .97, r3 .96;  predicted 1: r4 .6, r5 .55;  predicted 2: r6 .7, r7 .65
    /// Global threshold 0.9 keeps r0–r3, all labelled 0: class 0 takes every pseudo-label.
    /// Class-balanced, fraction ½: quotas ⌈4/2⌉ = 2, ⌈2/2⌉ = 1, 1 → k = (.98, .6, .7). Normalised scores
    /// p_c/k_c ≥ 1: r0 .99/.98, r1 .98/.98 (class 0), r4 .6/.6 (class 1), r6 .7/.7 (class 2); r2, r3, r5, r7 fall
    /// below 1 in every class.
    private let dominated = Tensor([
        [0.99, 0.005, 0.005], [0.98, 0.01, 0.01], [0.97, 0.02, 0.01], [0.96, 0.02, 0.02],
        [0.3, 0.6, 0.1], [0.35, 0.55, 0.1], [0.2, 0.1, 0.7], [0.25, 0.1, 0.65],
    ])

    func testOneDominantClassTakesTheGlobalThresholdButNotTheBalancedRule() {
        XCTAssertEqual(thresholdPseudoLabels(probabilities: dominated, threshold: 0.9), [0: 0, 1: 0, 2: 0, 3: 0])
        let thresholds = classBalancedThresholds(probabilities: dominated, fraction: 0.5)
        XCTAssertEqual(thresholds, [0.98, 0.6, 0.7])
        let kept = classBalancedPseudoLabels(probabilities: dominated, fraction: 0.5)
        XCTAssertEqual(kept, [0: 0, 1: 0, 4: 1, 6: 2])
        XCTAssertEqual(Set(kept.values), [0, 1, 2], "every predicted class keeps its quota")
    }

    /// The quota grows with the fraction; at 1 every row is kept with its arg-max (each k_c is then the
    /// least confident row of class c, and no other class's score reaches 1 here).
    func testQuotaGrowsWithTheFraction() {
        XCTAssertEqual(classBalancedPseudoLabels(probabilities: dominated, fraction: 0), [:])
        XCTAssertEqual(classBalancedThresholds(probabilities: dominated, fraction: 0), [.infinity, .infinity, .infinity])
        // ⌈0.2·4⌉ = 1, ⌈0.2·2⌉ = 1: the most confident row of each class.
        XCTAssertEqual(classBalancedPseudoLabels(probabilities: dominated, fraction: 0.2), [0: 0, 4: 1, 6: 2])
        XCTAssertEqual(classBalancedPseudoLabels(probabilities: dominated, fraction: 1), [0: 0, 1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 2, 7: 2])
    }

    /// CBST labels by the normalised score argmax_c p_c/k_c, not the arg-max: a row can move to a class
    /// whose threshold is low.
    ///   predicted 0: r0 .9, r1 .85, r2 .5 → quota ⌈1.5⌉ = 2 → k_0 = .85;  predicted 1: r4 .8 → k_1 = .8;
    ///   predicted 2: r3 .4 → k_2 = .4.  r2 = (.5, .08, .42): scores .5/.85 = .59, .1, .42/.4 = 1.05 → class 2.
    ///   A class nobody predicts has k = ∞ and never takes a row.
    func testNormalisedScoreMovesARowToALowThresholdClass() {
        let p = Tensor([[0.9, 0.05, 0.05, 0], [0.85, 0.1, 0.05, 0], [0.5, 0.08, 0.42, 0], [0.3, 0.3, 0.4, 0], [0.1, 0.8, 0.1, 0]])
        XCTAssertEqual(classBalancedThresholds(probabilities: p, fraction: 0.5), [0.85, 0.8, 0.4, .infinity])
        XCTAssertEqual(classBalancedPseudoLabels(probabilities: p, fraction: 0.5), [0: 0, 1: 0, 2: 2, 3: 2, 4: 1])
        XCTAssertEqual(thresholdPseudoLabels(probabilities: p, threshold: 0.9), [0: 0])
    }

    /// The paper's curriculum: 20 % in the first round, +5 % per round, at most 50 %.
    func testDefaultFractionScheduleIsThePapers() throws {
        let strategy = SelfTrainingStrategy(selection: .classBalanced)
        let expected: [Float] = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.5, 0.5, 0.5]
        for (r, f) in expected.enumerated() { XCTAssertEqual(strategy.fraction(round: r), f, accuracy: 1e-6, "round \(r)") }
        let context = StrategyContext(featureSize: 15, classCount: 3, rng: SeededGenerator(seed: 0))
        let made = try StrategyRegistry.builtIn.make("selfTraining", options: StrategyOptions(["selection": .string("classBalanced")]), context: context)
        XCTAssertEqual((made as! SelfTrainingStrategy).selection, .classBalanced)
        XCTAssertThrowsError(try StrategyRegistry.builtIn.make("selfTraining", options: StrategyOptions(["selection": .string("balance")]), context: context)) {
            XCTAssertTrue("\($0)".contains("selection"), "\($0)")
        }
    }
}
