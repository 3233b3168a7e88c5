import DomainData
import TensorCore
import XCTest

final class BatchSamplerTests: XCTestCase {
    func smallDataset(targetLabels: Bool = true) -> DomainDataset {
        let source = DomainSplit(x: Tensor(shape: [10, 1], scalars: (0..<10).map(Float.init)), y: (0..<10).map { $0 % 2 })
        let target = DomainSplit(x: Tensor(shape: [7, 1], scalars: (100..<107).map(Float.init)), y: targetLabels ? (0..<7).map { $0 % 2 } : nil)
        return DomainDataset(source: source, target: target, classNames: ["a", "b"], shiftDescription: "+100")
    }

    func testPassesAreSeededPermutationsAndBatchesCrossPasses() {
        var sampler = BatchSampler(count: 10, rng: SeededGenerator(seed: 7))
        let first = sampler.next(4) + sampler.next(4) + sampler.next(2)
        XCTAssertEqual(first.sorted(), Array(0..<10))
        XCTAssertNotEqual(first, Array(0..<10), "shuffled")
        let crossing = sampler.next(4) + sampler.next(4) + sampler.next(4)
        XCTAssertEqual(Set(crossing.prefix(10)).count, 10, "a pass visits every row once")
        var again = BatchSampler(count: 10, rng: SeededGenerator(seed: 7))
        XCTAssertEqual(again.next(10), first, "same seed, same order")
        var plain = SeededGenerator(seed: 7)
        XCTAssertEqual(first, plain.permutation(10), "one block: the pass is the generator's plain permutation")
        var capped = BatchSampler(count: 3, rng: SeededGenerator(seed: 1))
        XCTAssertEqual(capped.next(8).count, 3, "a batch holds at most the pool")
    }

    func testBlockShuffledPassesVisitBlocksWhole() {
        var sampler = BatchSampler(count: 100, blockRows: 16, rng: SeededGenerator(seed: 3))
        let pass = sampler.next(100)
        XCTAssertEqual(pass.sorted(), Array(0..<100))
        // Consecutive runs of the pass stay inside one block.
        var start = 0
        while start < pass.count {
            let block = pass[start] / 16
            let length = min(16, 100 - block * 16)
            XCTAssertEqual(Set(pass[start..<(start + length)].map { $0 / 16 }), [block])
            start += length
        }
        XCTAssertNotEqual(pass.map { $0 / 16 }, pass.map { $0 / 16 }.sorted(), "blocks come in a shuffled order")
    }

    func testGrantsAreStratifiedAndSeeded() {
        var rng = SeededGenerator(seed: 1)
        let labels = (0..<7).map { $0 % 2 }
        let perClass = TargetLabelGrant.perClass(1).rows(labels: labels, rng: &rng)
        XCTAssertEqual(perClass.count, 2)
        XCTAssertEqual(Set(perClass.map { labels[$0] }), [0, 1])
        // The trainer's rounding: max(1, round(f · n_c)); classes of 4 and 3 at 0.5 give 2 + 2.
        XCTAssertEqual(TargetLabelGrant.fraction(0.5).rows(labels: labels, rng: &rng).count, 4)
        XCTAssertEqual(TargetLabelGrant.fraction(0.01).rows(labels: labels, rng: &rng).count, 2, "at least one per class")
        XCTAssertEqual(TargetLabelGrant.perClass(9).rows(labels: labels, rng: &rng).count, 7, "capped at the class size")
        XCTAssertEqual(TargetLabelGrant.all.rows(labels: labels, rng: &rng), Array(0..<7))
    }

    func testTrainingBatchesCarryLabelsOnlyWhereGranted() throws {
        let data = TrainingData(smallDataset())
        let granted = try XCTUnwrap(data.grant(.perClass(1), rng: SeededGenerator(seed: 2)))
        XCTAssertEqual(granted.rows.count, 2)
        XCTAssertEqual(granted.labels, granted.rows.map { $0 % 2 })
        var batches = try TrainingBatches(data: data, granted: granted, root: SeededGenerator(seed: 5))
        for _ in 0..<4 {
            let (source, target, labelled) = try batches.next(batchSize: 4)
            XCTAssertEqual(source.x.scalars, source.rows.map(Float.init))
            XCTAssertEqual(source.y, source.rows.map { $0 % 2 })
            XCTAssertEqual(target.x.scalars, target.rows.map { Float(100 + $0) })
            let grantedBatch = try XCTUnwrap(labelled)
            XCTAssertTrue(grantedBatch.rows.allSatisfy(granted.rows.contains))
            XCTAssertEqual(grantedBatch.x.scalars, grantedBatch.rows.map { Float(100 + $0) })
            XCTAssertEqual(grantedBatch.y, grantedBatch.rows.map { $0 % 2 })
        }
        XCTAssertNil(TrainingData(smallDataset(targetLabels: false)).grant(.perClass(1), rng: SeededGenerator(seed: 2)))
        XCTAssertEqual(TrainingData(smallDataset()).targetEvaluation?.name, "target")
        XCTAssertNil(TrainingData(smallDataset(targetLabels: false)).targetEvaluation)
    }
}
