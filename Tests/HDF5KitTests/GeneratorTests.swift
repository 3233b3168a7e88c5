import Foundation
import HDF5Kit
import TensorCore
import XCTest

final class GeneratorTests: XCTestCase {
    func mean(_ split: DomainSplit, column: Int, label: Int? = nil) -> Float {
        let rows = (0..<split.count).filter { label == nil || split.y![$0] == label }
        return rows.reduce(0) { $0 + split.x[$1, column] } / Float(rows.count)
    }

    func testShiftedCovariateMovesInputsButKeepsTheLabellingRule() {
        let data = ShiftedGenerator.make(shift: .covariate, samples: 400, strength: 1.5, seed: 1)
        XCTAssertEqual(mean(data.target, column: 1) - mean(data.source, column: 1), 1.5, accuracy: 0.2)
        // Labels follow the nearest centre, (2, 0) vs (−2, 0), in both domains.
        for split in [data.source, data.target] {
            for i in 0..<split.count { XCTAssertEqual(split.y![i], split.x[i, 0] >= 0 ? 0 : 1) }
        }
    }

    func testShiftedTargetShiftChangesClassProportionsOnly() {
        let data = ShiftedGenerator.make(shift: .target, samples: 1000, ratio: 0.9, seed: 2)
        let sourceShare = Float(data.source.y!.filter { $0 == 0 }.count) / 1000
        let targetShare = Float(data.target.y!.filter { $0 == 0 }.count) / 1000
        XCTAssertEqual(sourceShare, 0.5, accuracy: 0.01)
        XCTAssertEqual(targetShare, 0.9, accuracy: 0.03)
        XCTAssertEqual(mean(data.target, column: 0, label: 0), mean(data.source, column: 0, label: 0), accuracy: 0.1)
    }

    func testShiftedConditionalMovesClassesDifferently() {
        let data = ShiftedGenerator.make(shift: .conditional, samples: 1000, strength: 2, noise: 0.3, seed: 3)
        // Class 0 (centre (2, 0)) rotates by 30°, class 1 (centre (−2, 0)) by 60°.
        XCTAssertEqual(mean(data.target, column: 1, label: 0), 2 * sin(30 * Float.pi / 180), accuracy: 0.1)
        XCTAssertEqual(mean(data.target, column: 1, label: 1), -2 * sin(60 * Float.pi / 180), accuracy: 0.1)
        XCTAssertEqual(mean(data.source, column: 1, label: 0), 0, accuracy: 0.1)
    }

    func testShiftedSubspaceSeparatesDomainsAlongTheIrrelevantAxis() {
        let data = ShiftedGenerator.make(shift: .subspace, samples: 1000, strength: 2, seed: 4)
        XCTAssertEqual(mean(data.source, column: 1), -2, accuracy: 0.1)
        XCTAssertEqual(mean(data.target, column: 1), 2, accuracy: 0.1)
        XCTAssertEqual(mean(data.source, column: 0, label: 1) - mean(data.source, column: 0, label: 0), 2, accuracy: 0.15)
        XCTAssertEqual(mean(data.target, column: 0, label: 1) - mean(data.target, column: 0, label: 0), 2, accuracy: 0.15)
    }

    func testGeneratorsAreSeeded() {
        XCTAssertEqual(ShiftedGenerator.make(shift: .covariate, seed: 5).target.x, ShiftedGenerator.make(shift: .covariate, seed: 5).target.x)
        XCTAssertNotEqual(ShiftedGenerator.make(shift: .covariate, seed: 5).target.x, ShiftedGenerator.make(shift: .covariate, seed: 6).target.x)
        let rotated = MoonsGenerator.make(samplesPerClass: 50, rotationDegrees: 90, testSamplesPerClass: 1, seed: 1)
        let plain = MoonsGenerator.make(samplesPerClass: 50, rotationDegrees: 0, testSamplesPerClass: 1, seed: 1)
        XCTAssertEqual(rotated.source.x, plain.source.x, "only the target rotates")
        XCTAssertNotEqual(rotated.target.x, plain.target.x)
    }

    func testDigitsBaseIsTheRealUCISetAndSplitsAreDisjoint() throws {
        let (x, y) = try DigitsGenerator.loadBase(try DigitsGenerator.locateBase())
        XCTAssertEqual(x.shape, [1797, 1, 8, 8])
        XCTAssertEqual(Set(y), Set(0..<10))
        XCTAssertEqual(y.prefix(10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        XCTAssertTrue(x.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        let data = try DigitsGenerator.make(shift: .inversion, seed: 1)
        XCTAssertEqual(data.source.count + (data.sourceValidation?.count ?? 0), 898)
        XCTAssertEqual(data.target.count + (data.targetTest?.count ?? 0), 899)
        // Inversion is exactly 1 − x, and no target image equals a source image (disjoint halves).
        let sourceRows = Set((0..<data.source.count).map { data.source.x.slice(axis: 0, $0..<($0 + 1)).scalars })
        let inverted = data.target.x.scalars.map { 1 - $0 }
        let targetRows = (0..<data.target.count).map { Array(inverted[($0 * 64)..<(($0 + 1) * 64)]) }
        let shared = targetRows.filter { sourceRows.contains($0) }.count
        XCTAssertLessThan(shared, 10, "the UCI set has a few duplicate images, but halves must not share samples")
        XCTAssertEqual(try DigitsGenerator.make(shift: .inversion, seed: 1).target.x, data.target.x)
    }

    func testDigitShiftsDoWhatTheySay() {
        var rng = SeededGenerator(seed: 0)
        var image = Tensor.zeros([1, 1, 8, 8])
        image.scalars[2 * 8 + 5] = 1  // a dot above and right of the centre (3.5, 3.5)
        // Counter-clockwise by 90° as displayed: upper right → upper left.
        let turned = DigitsGenerator.apply(.rotation, amount: 90, to: image, rng: &rng)
        XCTAssertEqual(turned.scalars.reduce(0, +), 1, accuracy: 1e-4, "a 90° turn moves the dot to another pixel")
        XCTAssertEqual(turned.scalars[2 * 8 + 2], 1, accuracy: 1e-4)
        let blurred = DigitsGenerator.apply(.blur, amount: 1, to: image, rng: &rng)
        XCTAssertLessThan(blurred.scalars[2 * 8 + 5], 0.5)
        XCTAssertGreaterThan(blurred.scalars[2 * 8 + 4], 0.05)
        let noisy = DigitsGenerator.apply(.noise, amount: 0.2, to: Tensor(repeating: 0.5, shape: [4, 1, 8, 8]), rng: &rng)
        let std = sqrt(noisy.scalars.map { ($0 - 0.5) * ($0 - 0.5) }.reduce(0, +) / Float(noisy.count))
        XCTAssertEqual(std, 0.2, accuracy: 0.03)
        var square = Tensor.zeros([1, 1, 8, 8])
        for i in 2..<6 { for j in 2..<6 { square.scalars[i * 8 + j] = 1 } }
        let shrunk = DigitsGenerator.apply(.scale, amount: 0.5, to: square, rng: &rng)
        XCTAssertEqual(shrunk.scalars.reduce(0, +), 16 * 0.25, accuracy: 1.5)
    }
}
