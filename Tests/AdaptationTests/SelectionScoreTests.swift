import Adaptation
import Foundation
import TensorCore
import XCTest

/// SND, IM and IWV (`ModelSelection`) against values worked out by hand, and the properties each
/// score is used for.
final class SelectionScoreTests: XCTestCase {
    /// Logits whose softmax is exactly the given probability rows: z = log p.
    func logits(_ probabilities: [[Double]]) -> Tensor {
        Tensor(shape: [probabilities.count, probabilities[0].count], scalars: probabilities.joined().map { Float(Foundation.log($0)) })
    }

    // MARK: SND

    func testSNDHandComputed() {
        // p₁ = (1/2, 1/2), p₂ = (3/4, 1/4), p₃ = (1/4, 3/4); normalised p̂₁ = (1, 1)/√2, p̂₂ = (3, 1)/√10,
        // p̂₃ = (1, 3)/√10, so s₁₂ = s₁₃ = 4/√20 = 2/√5 = 0.894427, s₂₃ = 6/10 = 0.6.
        // Row 1: neighbours 2 and 3 are equally similar → q = (1/2, 1/2), H = log 2 = 0.693147.
        // Row 2: a = s/τ = (17.888544, 12) for neighbours (1, 3); difference 5.888544, e^−5.888544 = 0.002771009,
        //   q = (1/(1 + 0.002771009), 0.002771009/(1 + 0.002771009)) = (0.997236648, 0.002763352),
        //   H = −0.997236648·log 0.997236648 − 0.002763352·log 0.002763352 = 0.002759530 + 0.016279766 = 0.019039296.
        // Row 3: the mirror image of row 2, H = 0.019039293.
        // SND = (0.693147 + 2·0.019039293) / 3 = 0.243741923.
        let snd = ModelSelection.softNeighborhoodDensity(logits: logits([[0.5, 0.5], [0.75, 0.25], [0.25, 0.75]]))
        XCTAssertEqual(snd, 0.243741923, accuracy: 1e-5)
    }

    func testSNDTemperatureIsAParameter() {
        // τ = 1: row 2 gets a = (0.894427, 0.6), difference 0.294427, q₁ = 1/(1 + e^−0.294427) = 0.573080,
        // H = 0.682428 (binary entropy of 0.573080); SND = (0.693147 + 2·0.682428) / 3 = 0.686001.
        let snd = ModelSelection.softNeighborhoodDensity(logits: logits([[0.5, 0.5], [0.75, 0.25], [0.25, 0.75]]), temperature: 1)
        XCTAssertEqual(snd, 0.686001, accuracy: 1e-5)
    }

    func testSNDIsHigherForConfidentClustersThanForScatteredPredictions() {
        // The same two predicted classes, ten samples each. Confident: every sample sits on its class's
        // corner, so each row spreads evenly over its nine cluster-mates → SND = log 9. Scattered: scores
        // spread over [−5.7, 5.7], so each sample has only a few close neighbours → lower density.
        let confident = Tensor(shape: [20, 2], scalars: (0..<20).flatMap { i -> [Float] in i < 10 ? [6, 0] : [0, 6] })
        let scattered = Tensor(shape: [20, 2], scalars: (0..<20).flatMap { i -> [Float] in [(Float(i) - 9.5) * 0.6, 0] })
        let high = ModelSelection.softNeighborhoodDensity(logits: confident)
        let low = ModelSelection.softNeighborhoodDensity(logits: scattered)
        XCTAssertEqual(high, Foundation.log(9), accuracy: 1e-4)
        XCTAssertLessThan(low, high - 0.1)
    }

    func testSNDOfIdenticalPredictionsIsItsMaximum() {
        // Every s_ij = 1, so each row is uniform over the N − 1 others: SND = log(N − 1), the largest value
        // it can take. SND rewards a model that predicts the same for every target sample — read it with IM.
        for row: [Float] in [[0, 0, 0], [3, 1, 0]] {
            let same = Tensor(shape: [5, 3], scalars: Array([[Float]](repeating: row, count: 5).joined()))
            XCTAssertEqual(ModelSelection.softNeighborhoodDensity(logits: same), Foundation.log(4), accuracy: 1e-9)
        }
        XCTAssertEqual(ModelSelection.softNeighborhoodDensity(logits: Tensor([[0, 1], [1, 0]])), 0, accuracy: 1e-12, "one neighbour each")
    }

    // MARK: IM

    func testIMHandComputed() {
        // p = (0.8, 0.2), (0.2, 0.8), (0.5, 0.5): p̄ = (0.5, 0.5), H(p̄) = log 2 = 0.693147;
        // H(0.8, 0.2) = 0.8·0.223144 + 0.2·1.609438 = 0.500402; mean H = (2·0.500402 + 0.693147)/3 = 0.564651;
        // IM = 0.693147 − 0.564651 = 0.128497.
        let im = ModelSelection.informationMaximization(logits: logits([[0.8, 0.2], [0.2, 0.8], [0.5, 0.5]]))
        XCTAssertEqual(im, 0.128497, accuracy: 1e-5)
    }

    func testIMIsZeroForIdenticalPredictionsAndHighForConfidentDiverseOnes() {
        for row: [Float] in [[0, 0, 0], [4, 1, -2]] {
            let same = Tensor(shape: [6, 3], scalars: Array([[Float]](repeating: row, count: 6).joined()))
            XCTAssertEqual(ModelSelection.informationMaximization(logits: same), 0, accuracy: 1e-9, "H(p̄) = H(p_i) for every i")
        }
        // Confident and spread evenly over three classes: IM → log 3 (up to the e^−20 left in each prediction).
        let diverse = Tensor(shape: [6, 3], scalars: (0..<6).flatMap { i in (0..<3).map { c -> Float in c == i % 3 ? 20 : 0 } })
        XCTAssertEqual(ModelSelection.informationMaximization(logits: diverse), Foundation.log(3), accuracy: 1e-6)
        // Confident but all one class: no information either.
        let collapsed = Tensor(shape: [6, 3], scalars: (0..<6).flatMap { _ in [Float(20), 0, 0] })
        XCTAssertEqual(ModelSelection.informationMaximization(logits: collapsed), 0, accuracy: 1e-6)
    }

    // MARK: IWV

    func testIWVHandComputed() {
        // w·ℓ = (2·0.2, 0.5·1.0, 0.4·2.5) = (0.4, 0.5, 1.0); mean = 1.9/3 = 0.633333.
        XCTAssertEqual(ModelSelection.importanceWeightedValidation(losses: [0.2, 1.0, 2.5], weights: [2, 0.5, 0.4]), 1.9 / 3, accuracy: 1e-12)
        // The same number DEV reports as its weighted risk, before the control variate.
        let dev = ModelSelection.deepEmbeddedValidation(losses: [1, 2, 3, 4], weights: [0.5, 1, 1.5, 2])
        XCTAssertEqual(ModelSelection.importanceWeightedValidation(losses: [1, 2, 3, 4], weights: [0.5, 1, 1.5, 2]), 3.75, accuracy: 1e-12)
        XCTAssertEqual(dev.weightedRisk, 3.75, accuracy: 1e-12)
        XCTAssertNotEqual(dev.risk, dev.weightedRisk, "the control variate moves DEV away from IWV here (η = −5)")
    }

    func testIWVWithUnitWeightsIsTheMeanLoss() {
        let losses = [0.3, 1.7, 0.05, 2.2, 0.9]
        XCTAssertEqual(
            ModelSelection.importanceWeightedValidation(losses: losses, weights: Array(repeating: 1, count: 5)),
            losses.reduce(0, +) / 5, accuracy: 1e-12)
    }
}
