import Foundation
import HDF5Kit
import TensorCore
import XCTest

final class StreamingDatasetTests: XCTestCase {
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
