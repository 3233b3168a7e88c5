import TensorCore

/// Source samples of one step: inputs and their labels.
public struct SourceBatch {
    public let x: Tensor
    public let y: [Int]
    /// Rows of the source domain, in order.
    public let rows: [Int]
}

/// Target samples of one step: inputs only (no labels: a strategy's view of the target).
public struct TargetBatch {
    public let x: Tensor
    /// Rows of the target pool, in order.
    public let rows: [Int]
}

/// Granted target samples of one step (few-shot labels, or every label for the target-only
/// oracle): inputs with the labels the recipe or the strategy was granted.
public struct GrantedTargetBatch {
    public let x: Tensor
    public let y: [Int]
    /// Rows of the target pool, in order.
    public let rows: [Int]
}

/// The target rows whose labels training may use, with those labels (`TrainingData.grant`).
public struct GrantedLabels: Sendable, Equatable {
    /// Rows of the target pool, ascending.
    public let rows: [Int]
    /// The label of each row of `rows`.
    public let labels: [Int]
    /// True when every target row is granted (the target-only oracle).
    public let all: Bool

    public static let none = GrantedLabels(rows: [], labels: [], all: false)
    public var isEmpty: Bool { rows.isEmpty }
}

/// The three seeded batch streams of a training run (source; target; granted target rows), drawn
/// with one `BatchSampler` each and read through the data's sources.
///
/// Each stream has its own generator forked from the run's root (`source-batches`,
/// `target-batches`, `labelled-target-batches`), so adding granted labels leaves the source and
/// target order unchanged, and `skip(steps:)` replays the index draws of a resumed run.
public struct TrainingBatches {
    private let data: TrainingData
    private let granted: GrantedLabels
    private let grantedInputs: (any BatchSource)?
    private var sourceSampler: BatchSampler
    private var targetSampler: BatchSampler
    private var grantedSampler: BatchSampler?

    /// Granted rows (unless all are granted) are read into memory once: a few labels per class are
    /// a few rows, and drawing them at random from a streamed file would read a block per row.
    public init(data: TrainingData, granted: GrantedLabels, root: SeededGenerator) throws {
        self.data = data
        self.granted = granted
        let source = data.source.source, target = data.target.source
        sourceSampler = BatchSampler(count: source.count, blockRows: source.blockRows, rng: root.fork("source-batches"))
        targetSampler = BatchSampler(count: target.count, blockRows: target.blockRows, rng: root.fork("target-batches"))
        if granted.isEmpty {
            grantedInputs = nil
            grantedSampler = nil
        } else if granted.all {
            grantedInputs = target
            grantedSampler = BatchSampler(count: target.count, blockRows: target.blockRows, rng: root.fork("labelled-target-batches"))
        } else {
            grantedInputs = InMemorySource(try target.inputs(rows: granted.rows))
            grantedSampler = BatchSampler(pool: granted.rows, rng: root.fork("labelled-target-batches"))
        }
    }

    /// Draws the next step's indices without reading any rows (resuming a run).
    public mutating func skip(steps: Int, batchSize: Int) {
        for _ in 0..<steps {
            _ = sourceSampler.next(batchSize)
            _ = targetSampler.next(batchSize)
            _ = grantedSampler?.next(batchSize)
        }
    }

    /// The next step's batches: `batchSize` source rows, `batchSize` target rows, and `batchSize`
    /// granted rows when labels are granted (each capped at its pool's size).
    public mutating func next(batchSize: Int) throws -> (source: SourceBatch, target: TargetBatch, granted: GrantedTargetBatch?) {
        let sourceRows = sourceSampler.next(batchSize)
        let targetRows = targetSampler.next(batchSize)
        let source = SourceBatch(
            x: try data.source.inputs(rows: sourceRows), y: sourceRows.map { data.source.labels[$0] }, rows: sourceRows)
        let target = TargetBatch(x: try data.target.inputs(rows: targetRows), rows: targetRows)
        guard var sampler = grantedSampler, let inputs = grantedInputs else { return (source, target, nil) }
        let rows = sampler.next(batchSize)
        grantedSampler = sampler
        // Granted rows are target rows; their inputs sit at their position in `granted.rows` unless all are granted.
        let positions = granted.all ? rows : rows.map { grantedPosition($0) }
        let labels = positions.map { granted.labels[$0] }
        return (source, target, GrantedTargetBatch(x: try inputs.inputs(rows: positions), y: labels, rows: rows))
    }

    private func grantedPosition(_ row: Int) -> Int {
        var low = 0, high = granted.rows.count
        while low < high {
            let mid = (low + high) / 2
            if granted.rows[mid] < row { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
