import Foundation
import TensorCore

/// Which target labels the learner may see during training (few-shot adaptation).
public enum TargetLabelGrant: Sendable, Equatable {
    /// Unsupervised adaptation: every target label is masked.
    case none
    /// `k` labelled target samples per class (fewer where a class has fewer).
    case perClass(Int)
    /// This fraction of each class's target samples, rounded.
    case fraction(Double)
}

/// One training step's data: a source batch with labels and a target batch whose labels are masked
/// (`nil`) except for granted ones.
public struct DomainBatch: Sendable {
    public var sourceX: Tensor
    public var sourceY: [Int]
    /// Row indices into the source split.
    public var sourceIndices: [Int]
    public var targetX: Tensor
    /// Row indices into the target split.
    public var targetIndices: [Int]
    /// Per target row, its label if granted, else nil.
    public var targetY: [Int?]
}

/// Seeded, shuffled minibatches of source and target for in-memory datasets.
///
/// An epoch walks a fresh permutation of the source (its batches decide the epoch length); the
/// target is drawn from its own permutation, reshuffled whenever it runs out, so domains of
/// different sizes pair up. Every permutation comes from a generator forked from `seed` with the
/// epoch number, so epoch `e` is the same whatever came before it.
public struct MinibatchSampler: Sendable {
    public let dataset: DomainDataset
    public let batchSize: Int
    public let targetBatchSize: Int
    public let seed: UInt64
    /// Target rows whose labels the learner may use, chosen once (stratified by class, seeded).
    public let grantedTargetIndices: [Int]
    private let grantedSet: Set<Int>

    public init(
        dataset: DomainDataset, batchSize: Int, targetBatchSize: Int? = nil, grant: TargetLabelGrant = .none, seed: UInt64
    ) throws {
        guard batchSize > 0, (targetBatchSize ?? 1) > 0 else {
            throw HDF5Error(.invalidData, file: "minibatches", reason: "batch sizes must be positive, got \(batchSize) and \(targetBatchSize ?? batchSize)")
        }
        guard dataset.source.count > 0, dataset.target.count > 0 else {
            throw HDF5Error(.invalidData, file: "minibatches",
                reason: "both domains need samples (source \(dataset.source.count), target \(dataset.target.count))")
        }
        self.dataset = dataset
        self.batchSize = batchSize
        self.targetBatchSize = targetBatchSize ?? batchSize
        self.seed = seed
        grantedTargetIndices = try MinibatchSampler.choose(grant, target: dataset.target, classCount: dataset.classCount, seed: seed)
        grantedSet = Set(grantedTargetIndices)
    }

    static func choose(_ grant: TargetLabelGrant, target: DomainSplit, classCount: Int, seed: UInt64) throws -> [Int] {
        if grant == .none { return [] }
        guard let labels = target.y else {
            throw HDF5Error(.invalidData, file: "minibatches", objectPath: "/target/y",
                reason: "target labels were granted (\(grant)) but the target domain has no labels")
        }
        switch grant {
        case .perClass(let k) where k < 0: throw HDF5Error(.invalidData, file: "minibatches", reason: "labels per class must be ≥ 0, got \(k)")
        case .fraction(let f) where !(0...1).contains(f): throw HDF5Error(.invalidData, file: "minibatches", reason: "label fraction must be in [0, 1], got \(f)")
        default: break
        }
        var rng = SeededGenerator(seed: seed).fork("granted-target-labels")
        let order = rng.permutation(labels.count)
        var byClass: [Int: [Int]] = [:]
        for index in order { byClass[labels[index], default: []].append(index) }
        var chosen: [Int] = []
        for label in byClass.keys.sorted() {
            let members = byClass[label]!
            let take: Int
            switch grant {
            case .perClass(let k): take = min(k, members.count)
            case .fraction(let f): take = Int((f * Double(members.count)).rounded())
            case .none: take = 0
            }
            chosen += members.prefix(take)
        }
        return chosen.sorted()
    }

    /// Number of batches per epoch (the last source batch may be smaller).
    public var batchesPerEpoch: Int { (dataset.source.count + batchSize - 1) / batchSize }

    /// The batches of epoch `epoch` (0-based).
    public func epoch(_ epoch: Int) -> [DomainBatch] {
        let root = SeededGenerator(seed: seed).fork("epoch-\(epoch)")
        var sourceRNG = root.fork("source")
        var targetRNG = root.fork("target")
        let sourceOrder = sourceRNG.permutation(dataset.source.count)
        var targetOrder = targetRNG.permutation(dataset.target.count)
        var targetCursor = 0
        let sourceLabels = dataset.source.y!
        return stride(from: 0, to: sourceOrder.count, by: batchSize).map { start in
            let sourceIndices = Array(sourceOrder[start..<min(start + batchSize, sourceOrder.count)])
            var targetIndices: [Int] = []
            while targetIndices.count < targetBatchSize {
                if targetCursor == targetOrder.count {
                    targetOrder = targetRNG.permutation(dataset.target.count)
                    targetCursor = 0
                }
                let take = min(targetBatchSize - targetIndices.count, targetOrder.count - targetCursor)
                targetIndices += targetOrder[targetCursor..<(targetCursor + take)]
                targetCursor += take
            }
            let targetLabels = dataset.target.y
            return DomainBatch(
                sourceX: dataset.source.x.gathering(rows: sourceIndices), sourceY: sourceIndices.map { sourceLabels[$0] },
                sourceIndices: sourceIndices, targetX: dataset.target.x.gathering(rows: targetIndices),
                targetIndices: targetIndices,
                targetY: targetIndices.map { grantedSet.contains($0) ? targetLabels?[$0] : nil })
        }
    }
}

/// A dataset read from disk in row ranges, for data that does not fit in memory.
///
/// Shuffling is by blocks: an epoch visits blocks of `blockRows` consecutive rows in a seeded random
/// order and shuffles the rows inside each block, so every read is one contiguous hyperslab (which
/// matters for chunked, compressed storage, where a random single row costs a whole chunk) and
/// memory holds one block at a time. Blocks default to whole chunks, about 16 MiB together.
/// Each block is checked as it is read: NaN/Inf in `x`, and labels outside `0..<classCount`.
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
        let shuffle: Bool
        var rng: SeededGenerator
        var blocks: [Int]
        var blockCursor = 0
        var pendingX: [Float] = []
        var pendingY: [Int] = []
        var pendingIndices: [Int] = []
        /// Rows at the front of the pending buffers already handed out.
        var consumed = 0

        public mutating func next() throws -> Batch? {
            let rowSize = dataset.sampleShape.reduce(1, *)
            while pendingIndices.count - consumed < batchSize && blockCursor < blocks.count {
                // Drop what earlier batches took before appending the next block.
                if consumed > 0 {
                    pendingX.removeFirst(consumed * rowSize)
                    if !pendingY.isEmpty { pendingY.removeFirst(consumed) }
                    pendingIndices.removeFirst(consumed)
                    consumed = 0
                }
                let start = blocks[blockCursor] * dataset.blockRows
                blockCursor += 1
                let rows = start..<min(start + dataset.blockRows, dataset.count)
                let block = try dataset.x.readTensor(rows: rows)
                try DomainDatasetFile.checkFinite(block, file: dataset.url.path, path: dataset.xPath + " rows \(rows.lowerBound)..<\(rows.upperBound)")
                let labels = try dataset.y?.readIntegers(rows: rows)
                if let labels, let bad = labels.firstIndex(where: { $0 < 0 || $0 >= (dataset.classCount ?? Int.max) }) {
                    throw HDF5Error(.invalidData, file: dataset.url.path, objectPath: dataset.yPath,
                        reason: "label \(labels[bad]) at index \(rows.lowerBound + bad) is outside 0..<\(dataset.classCount ?? Int.max)")
                }
                let order = shuffle ? rng.permutation(rows.count) : Array(0..<rows.count)
                pendingX.reserveCapacity(pendingX.count + block.count)
                block.scalars.withUnsafeBufferPointer { source in
                    for i in order { pendingX.append(contentsOf: source[(i * rowSize)..<((i + 1) * rowSize)]) }
                }
                if let labels { pendingY += order.map { labels[$0] } }
                pendingIndices += order.map { rows.lowerBound + $0 }
            }
            let available = pendingIndices.count - consumed
            guard available > 0 else { return nil }
            let take = min(batchSize, available)
            let batch = Batch(
                x: Tensor(shape: [take] + dataset.sampleShape, scalars: Array(pendingX[(consumed * rowSize)..<((consumed + take) * rowSize)])),
                y: dataset.y == nil ? nil : Array(pendingY[consumed..<(consumed + take)]),
                indices: Array(pendingIndices[consumed..<(consumed + take)]))
            consumed += take
            return batch
        }
    }

    /// The batches of epoch `epoch`, shuffled by blocks with a generator forked from `seed`.
    public func epoch(_ epoch: Int, batchSize: Int, seed: UInt64, shuffle: Bool = true) -> Epoch {
        precondition(batchSize > 0, "StreamingDataset.epoch: batch size must be positive, got \(batchSize)")
        var rng = SeededGenerator(seed: seed).fork("stream-epoch-\(epoch)")
        let blockCount = (count + blockRows - 1) / blockRows
        let blocks = shuffle ? rng.permutation(blockCount) : Array(0..<blockCount)
        return Epoch(dataset: self, batchSize: batchSize, shuffle: shuffle, rng: rng, blocks: blocks)
    }
}
