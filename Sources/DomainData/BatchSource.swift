import TensorCore

/// The inputs `x` of one domain, read by rows: held in memory (`InMemorySource`) or streamed from
/// a file (`HDF5Kit.StreamingDataset`). Labels are not part of a source: they travel beside it in
/// the types that may carry them (`LabelledDomain`, `EvaluationSet`), so a value typed as a
/// source, or a `TargetPool` built on one, cannot hand out labels.
public protocol BatchSource {
    /// Number of samples.
    var count: Int { get }
    /// Shape of one sample.
    var sampleShape: [Int] { get }
    /// Rows that storage reads together. `BatchSampler` shuffles whole blocks of this many rows and
    /// then the rows inside each block, so a streamed epoch reads every block once; `count` (one
    /// block: a plain permutation) where any order is as cheap, as in memory.
    var blockRows: Int { get }
    /// The inputs of `rows`, in that order: `rows.count × sampleShape`.
    func inputs(rows: [Int]) throws -> Tensor
    /// The inputs of the consecutive rows `range` (evaluation passes).
    func inputs(range: Range<Int>) throws -> Tensor
}

extension BatchSource {
    public func inputs(range: Range<Int>) throws -> Tensor { try inputs(rows: Array(range)) }

    /// Calls `body` with consecutive chunks of at most `size` rows, in order (bounded memory).
    public func forEachChunk(size: Int, _ body: (Range<Int>, Tensor) throws -> Void) throws {
        precondition(size > 0, "BatchSource.forEachChunk: size \(size) must be positive")
        var start = 0
        while start < count {
            let range = start..<Swift.min(start + size, count)
            try body(range, try inputs(range: range))
            start = range.upperBound
        }
    }
}

/// Inputs held in memory as one tensor (N × sample shape).
public struct InMemorySource: BatchSource, Sendable {
    public let x: Tensor

    public init(_ x: Tensor) {
        precondition(x.rank >= 1, "InMemorySource: x must have a sample axis, got shape \(x.shape)")
        self.x = x
    }

    public var count: Int { x.shape[0] }
    public var sampleShape: [Int] { Array(x.shape.dropFirst()) }
    public var blockRows: Int { Swift.max(1, count) }
    public func inputs(rows: [Int]) throws -> Tensor { x.gathering(rows: rows) }
    public func inputs(range: Range<Int>) throws -> Tensor {
        range == 0..<count ? x : x.slice(axis: 0, range)
    }
}

/// Samples with labels: the source domain as training and strategies see it. Like `TargetPool`
/// it does not expose its source, so a strategy handed one (`TrainingSetup.source`) cannot cast
/// back to the file the rows come from and read the target's labels there.
public struct LabelledDomain {
    let source: any BatchSource
    public let labels: [Int]

    public init(inputs: any BatchSource, labels: [Int]) {
        precondition(labels.count == inputs.count, "LabelledDomain: \(inputs.count) samples but \(labels.count) labels")
        source = inputs
        self.labels = labels
    }

    public var count: Int { source.count }
    public var sampleShape: [Int] { source.sampleShape }
    /// Whether the rows are read from a file as needed (block-shuffled sampling) rather than held in memory.
    public var isStreamed: Bool { !(source is InMemorySource) }
    /// The inputs of `rows`, in that order.
    public func inputs(rows: [Int]) throws -> Tensor { try source.inputs(rows: rows) }
}

/// The unlabelled target pool as training sees it: inputs only. It wraps a source that it does
/// not expose, so nothing reached from a `TargetPool` (a strategy's view of the target) leads to
/// target labels, not even a cast back to the file the rows come from.
public struct TargetPool {
    let source: any BatchSource

    public init(_ source: any BatchSource) { self.source = source }

    public var count: Int { source.count }
    public var sampleShape: [Int] { source.sampleShape }
    public var blockRows: Int { source.blockRows }
    /// The inputs of `rows`, in that order.
    public func inputs(rows: [Int]) throws -> Tensor { try source.inputs(rows: rows) }
    /// Consecutive chunks of at most `size` rows, in order (a strategy predicting the whole pool).
    public func forEachChunk(size: Int, _ body: (Range<Int>, Tensor) throws -> Void) throws {
        try source.forEachChunk(size: size, body)
    }
}

/// Labelled samples that only the evaluator reads (accuracy, macro-F1): held-out source, and the
/// target test split or the labelled target pool. Never passed to a strategy.
public struct EvaluationSet {
    /// `sourceValidation`, `source`, `targetTest` or `target`: the split the numbers are about.
    public let name: String
    public let inputs: any BatchSource
    public let labels: [Int]

    public init(name: String, inputs: any BatchSource, labels: [Int]) {
        precondition(labels.count == inputs.count, "EvaluationSet \(name): \(inputs.count) samples but \(labels.count) labels")
        self.name = name
        self.inputs = inputs
        self.labels = labels
    }
}
