import Foundation
import TensorCore

/// A dataset read from disk in row ranges, for data that does not fit in memory: a `BatchSource`
/// for training (`inputs(rows:)` through a two-block cache) and lazy block-shuffled epochs (`epoch`).
///
/// Shuffling is by blocks (`BatchSampler` with this `blockRows`): a pass visits blocks of
/// `blockRows` consecutive rows in a seeded random order and shuffles the rows inside each block,
/// so every read is one contiguous hyperslab (which matters for chunked, compressed storage, where a
/// random single row costs a whole chunk) and memory holds at most two blocks. Blocks default to
/// whole chunks, about 16 MiB together. Each block is checked for NaN/Inf in `x` as it is read;
/// labels (read whole by `labels()`) are checked against `0..<classCount`.
public final class StreamingDataset {
    public let url: URL
    public let xPath: String
    public let yPath: String?
    public let count: Int
    public let sampleShape: [Int]
    public let blockRows: Int
    public let classCount: Int?
    let x: HDF5Dataset
    let y: HDF5Dataset?
    /// The blocks `inputs(rows:)` read last (at most two): index, first row, inputs.
    var cache: [(index: Int, start: Int, x: Tensor)] = []

    public init(url: URL, x xPath: String = "/source/x", y yPath: String? = "/source/y", classCount: Int? = nil, blockRows: Int? = nil) throws {
        let file = try HDF5File(reading: url)
        self.url = url
        self.xPath = xPath
        self.yPath = yPath
        x = try file.dataset(xPath)
        let info = try x.info()
        guard info.elementType.isNumeric, info.shape.count >= 2 else {
            throw HDF5Error(.typeMismatch, file: url.path, objectPath: xPath,
                reason: "expected a numeric N×features or N×C×H×W dataset, got \(info.elementType) of shape \(info.shape)")
        }
        // The whole dataset may exceed memory (that is what streaming is for), but its size must be a
        // number, and one sample must fit a read.
        guard DataLimits.product(info.shape + [8]) != nil else {
            throw HDF5Error(.invalidData, file: url.path, objectPath: xPath,
                reason: "declares shape \(info.shape.map(String.init).joined(separator: "×")), whose size overflows a 64-bit integer")
        }
        count = info.shape[0]
        sampleShape = Array(info.shape.dropFirst())
        let rowBytes = try DataLimits.checkedCount(shape: [1] + sampleShape, elementBytes: 4, file: url.path, objectPath: xPath) * 4
        if let yPath {
            let labels = try file.dataset(yPath)
            let labelShape = labels.shape
            guard labelShape.count == 1 || (labelShape.count == 2 && labelShape[1] == 1) else {
                throw HDF5Error(.typeMismatch, file: url.path, objectPath: yPath, reason: "labels must be one-dimensional, got shape \(labelShape)")
            }
            guard labelShape.first == count else {
                throw HDF5Error(.typeMismatch, file: url.path, objectPath: yPath, reason: "has \(labels.shape.first ?? 0) labels but \(xPath) has \(count) samples")
            }
            y = labels
        } else {
            y = nil
        }
        self.classCount = classCount
        let chunkRows = min(max(1, info.chunkShape?.first ?? 1), max(1, count))
        let rows: Int
        if let blockRows {
            guard blockRows > 0 else { throw HDF5Error(.invalidData, file: url.path, reason: "block rows must be positive, got \(blockRows)") }
            rows = blockRows
        } else {
            let target = max(1, (16 << 20) / max(1, rowBytes))
            rows = max(chunkRows, target / chunkRows * chunkRows)
        }
        // A block is one read: it must fit the per-read limit (checked again on every read).
        self.blockRows = min(rows, max(1, count))
        _ = try DataLimits.checkedCount(shape: [self.blockRows] + sampleShape, elementBytes: 4, file: url.path, objectPath: xPath)
    }

    /// One batch read from disk.
    public struct Batch {
        public var x: Tensor
        public var y: [Int]?
        public var indices: [Int]
    }

    /// An epoch's batches, read lazily; `next()` throws when a block is unreadable or invalid.
    public struct Epoch {
        let dataset: StreamingDataset
        let batchSize: Int
        /// Draws the epoch's rows (one block-shuffled pass); nil: rows in order.
        var sampler: BatchSampler?
        var position = 0
        var labels: [Int]?

        public mutating func next() throws -> Batch? {
            guard position < dataset.count else { return nil }
            let take = Swift.min(batchSize, dataset.count - position)
            let rows = sampler?.next(take) ?? Array(position..<(position + take))
            position += take
            if labels == nil && dataset.y != nil { labels = try dataset.labels() }
            return Batch(x: try dataset.inputs(rows: rows), y: labels.map { all in rows.map { all[$0] } }, indices: rows)
        }
    }

    /// The batches of epoch `epoch`: one block-shuffled `BatchSampler` pass (generator forked from
    /// `seed` with the epoch), or the rows in order when `shuffle` is false; the last batch may be smaller.
    public func epoch(_ epoch: Int, batchSize: Int, seed: UInt64, shuffle: Bool = true) -> Epoch {
        precondition(batchSize > 0, "StreamingDataset.epoch: batch size must be positive, got \(batchSize)")
        let sampler = shuffle && count > 0
            ? BatchSampler(count: count, blockRows: blockRows, rng: SeededGenerator(seed: seed).fork("stream-epoch-\(epoch)")) : nil
        return Epoch(dataset: self, batchSize: batchSize, sampler: sampler)
    }
}

extension StreamingDataset: BatchSource {
    /// Every label of the dataset (read and checked once: labels are a small part of a domain file);
    /// nil when the dataset was opened without labels.
    public func labels() throws -> [Int]? {
        guard let y else { return nil }
        let labels = try y.readIntegers()
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= (classCount ?? Int.max) }) {
            throw HDF5Error(.invalidData, file: url.path, objectPath: yPath,
                reason: "label \(labels[bad]) at index \(bad) is outside 0..<\(classCount ?? Int.max)")
        }
        return labels
    }

    /// The inputs of `rows`, read a block (`blockRows` consecutive rows, one hyperslab) at a time and
    /// checked for NaN/Inf as each block is read. The last two blocks stay cached, so the rows a
    /// `BatchSampler` draws from a block-shuffled pass (one block, or a batch crossing into the next)
    /// cost one read per block per pass: memory holds at most two blocks.
    public func inputs(rows: [Int]) throws -> Tensor {
        let rowSize = sampleShape.reduce(1, *)
        var scalars = [Float](repeating: 0, count: rows.count * rowSize)
        for (i, row) in rows.enumerated() {
            precondition(row >= 0 && row < count, "StreamingDataset.inputs: row \(row) outside 0..<\(count)")
            let block = try cachedBlock(row / blockRows)
            let offset = (row - block.start) * rowSize
            scalars.withUnsafeMutableBufferPointer { out in
                block.x.scalars.withUnsafeBufferPointer { source in
                    for j in 0..<rowSize { out[i * rowSize + j] = source[offset + j] }
                }
            }
        }
        return Tensor(shape: [rows.count] + sampleShape, scalars: scalars)
    }

    /// Consecutive rows, read directly (evaluation passes).
    public func inputs(range: Range<Int>) throws -> Tensor {
        let block = try x.readTensor(rows: range)
        try DomainDatasetFile.checkFinite(block, file: url.path, path: xPath + " rows \(range.lowerBound)..<\(range.upperBound)")
        return block
    }

    private func cachedBlock(_ index: Int) throws -> (start: Int, x: Tensor) {
        if let hit = cache.first(where: { $0.index == index }) { return (hit.start, hit.x) }
        let start = index * blockRows
        let block = try inputs(range: start..<Swift.min(start + blockRows, count))
        cache.append((index, start, block))
        if cache.count > 2 { cache.removeFirst() }
        return (start, block)
    }
}
