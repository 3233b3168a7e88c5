import Foundation
import HDF5Kit
import TensorCore
import XCTest

final class MinibatchTests: XCTestCase {
    func smallDataset() -> DomainDataset {
        let source = DomainSplit(x: Tensor(shape: [10, 1], scalars: (0..<10).map(Float.init)), y: (0..<10).map { $0 % 2 })
        let target = DomainSplit(x: Tensor(shape: [7, 1], scalars: (100..<107).map(Float.init)), y: (0..<7).map { $0 % 2 })
        return DomainDataset(source: source, target: target, classNames: ["a", "b"], shiftDescription: "+100")
    }

    func testEpochsAreSeededShuffledAndCoverTheSource() throws {
        let sampler = try MinibatchSampler(dataset: smallDataset(), batchSize: 4, seed: 7)
        let epoch = sampler.epoch(0)
        XCTAssertEqual(epoch.count, 3)
        XCTAssertEqual(epoch.flatMap(\.sourceIndices).sorted(), Array(0..<10))
        XCTAssertNotEqual(epoch.flatMap(\.sourceIndices), Array(0..<10), "shuffled")
        XCTAssertEqual(try MinibatchSampler(dataset: smallDataset(), batchSize: 4, seed: 7).epoch(0).flatMap(\.sourceIndices), epoch.flatMap(\.sourceIndices))
        XCTAssertNotEqual(sampler.epoch(1).flatMap(\.sourceIndices), epoch.flatMap(\.sourceIndices))
        for batch in epoch {
            XCTAssertEqual(batch.sourceX.scalars, batch.sourceIndices.map(Float.init))
            XCTAssertEqual(batch.sourceY, batch.sourceIndices.map { $0 % 2 })
            XCTAssertEqual(batch.targetIndices.count, 4)
            XCTAssertEqual(batch.targetX.scalars, batch.targetIndices.map { Float(100 + $0) })
            XCTAssertTrue(batch.targetY.allSatisfy { $0 == nil }, "target labels are masked by default")
        }
    }

    func testGrantedTargetLabels() throws {
        let perClass = try MinibatchSampler(dataset: smallDataset(), batchSize: 4, grant: .perClass(1), seed: 1)
        XCTAssertEqual(perClass.grantedTargetIndices.count, 2)
        XCTAssertEqual(Set(perClass.grantedTargetIndices.map { $0 % 2 }), [0, 1])
        var seen = 0
        for epoch in 0..<3 {
            for batch in perClass.epoch(epoch) {
                for (index, label) in zip(batch.targetIndices, batch.targetY) {
                    if perClass.grantedTargetIndices.contains(index) {
                        XCTAssertEqual(label, index % 2)
                        seen += 1
                    } else {
                        XCTAssertNil(label)
                    }
                }
            }
        }
        XCTAssertGreaterThan(seen, 0)
        XCTAssertEqual(try MinibatchSampler(dataset: smallDataset(), batchSize: 4, grant: .fraction(0.5), seed: 1).grantedTargetIndices.count, 4)
        var unlabelled = smallDataset()
        unlabelled.target = DomainSplit(x: unlabelled.target.x, y: nil)
        assertThrows(["target labels were granted", "no labels"]) { try MinibatchSampler(dataset: unlabelled, batchSize: 4, grant: .perClass(1), seed: 1) }
    }

    func testStreamingVisitsEveryRowOnceWithBoundedBlocks() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("big.h5")
        let rows = 1000
        try HDF5File.writeAtomically(to: url) { file in
            let root = try file.root
            let x = try root.createDataset("source/x", shape: [rows, 3], type: .float32, chunkShape: [64, 3], gzipLevel: 4)
            try x.write(floats: (0..<rows).flatMap { [Float($0), Float($0) * 2, -1] })
            try root.write(integers: (0..<rows).map { $0 % 5 }, to: "source/y")
        }
        let stream = try StreamingDataset(url: url, classCount: 5, blockRows: 128)
        var epoch = stream.epoch(0, batchSize: 100, seed: 3)
        var indices: [Int] = []
        var sizes: [Int] = []
        while let batch = try epoch.next() {
            sizes.append(batch.indices.count)
            indices += batch.indices
            for (row, index) in batch.indices.enumerated() {
                XCTAssertEqual(batch.x[row, 0], Float(index))
                XCTAssertEqual(batch.y?[row], index % 5)
            }
        }
        XCTAssertEqual(sizes, [Int](repeating: 100, count: 10))
        XCTAssertEqual(indices.sorted(), Array(0..<rows))
        XCTAssertNotEqual(indices, Array(0..<rows))
        var again = stream.epoch(0, batchSize: 100, seed: 3)
        XCTAssertEqual(try again.next()?.indices, Array(indices.prefix(100)))
    }

    func testStreamingRefusesNaN() throws {
        let url = try makeTemporaryFolder().appendingPathComponent("nan.h5")
        try HDF5File.writeAtomically(to: url) { file in
            try file.root.write(Tensor(shape: [4, 1], scalars: [0, 1, .nan, 3]), to: "x")
        }
        let stream = try StreamingDataset(url: url, x: "/x", y: nil, blockRows: 2)
        var epoch = stream.epoch(0, batchSize: 4, seed: 0, shuffle: false)
        assertThrows(["/x rows 2..<4", "1 non-finite value", "sample 0"]) { try epoch.next() }
    }
}
