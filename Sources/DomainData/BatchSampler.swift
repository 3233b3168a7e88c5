import TensorCore

/// The one seeded sampler: draws batches of rows from a pool without replacement, reshuffling
/// each time the pool is used up; a batch that crosses the end of a pass continues into the next
/// one, so batches are always full (a batch holds at most the whole pool).
///
/// A pass is a permutation of the pool drawn from the sampler's generator. With `blockRows`
/// smaller than the pool, the pass is block-shuffled instead: the blocks of `blockRows`
/// consecutive pool positions come in a seeded random order and the rows inside each block are
/// shuffled, so a streamed source reads each block once per pass. With one block (the default, and
/// every in-memory source) the pass is the plain permutation, draw for draw, so an in-memory run
/// and a streamed run whose blocks cover the whole domain see the same batches.
public struct BatchSampler: Sendable {
    /// The rows sampled; nil: `0..<count` (not materialised: a streamed domain may have more rows
    /// than memory holds indices for).
    private let pool: [Int]?
    private let count: Int
    private let blockRows: Int
    private var rng: SeededGenerator
    /// The pass in progress: the order of its blocks and the shuffled positions of the current block.
    private var blockOrder: [Int] = []
    private var nextBlock = 0
    private var block: [Int] = []
    private var position = 0

    public init(pool: [Int], blockRows: Int? = nil, rng: SeededGenerator) {
        precondition(!pool.isEmpty, "BatchSampler: empty pool")
        self.init(pool: pool, count: pool.count, blockRows: blockRows, rng: rng)
    }

    /// Samples rows `0..<count`.
    public init(count: Int, blockRows: Int? = nil, rng: SeededGenerator) {
        precondition(count > 0, "BatchSampler: empty pool")
        self.init(pool: nil, count: count, blockRows: blockRows, rng: rng)
    }

    private init(pool: [Int]?, count: Int, blockRows: Int?, rng: SeededGenerator) {
        precondition((blockRows ?? 1) > 0, "BatchSampler: blockRows must be positive, got \(blockRows ?? 0)")
        self.pool = pool
        self.count = count
        self.blockRows = Swift.min(blockRows ?? count, count)
        self.rng = rng
    }

    /// The next `min(size, pool size)` rows.
    public mutating func next(_ size: Int) -> [Int] {
        var batch: [Int] = []
        let wanted = Swift.min(size, count)
        batch.reserveCapacity(wanted)
        while batch.count < wanted {
            if position == block.count { advance() }
            let offset = block[position]
            batch.append(pool.map { $0[offset] } ?? offset)
            position += 1
        }
        return batch
    }

    /// Moves to the next block, starting a new pass (drawing its block order) when the last is done.
    /// A pass draws its block order, then each block's permutation as the block is reached: the
    /// same draws as shuffling the whole pass at once, holding one block's positions at a time.
    private mutating func advance() {
        guard blockRows < count else {
            block = rng.permutation(count)
            position = 0
            return
        }
        let blockCount = (count + blockRows - 1) / blockRows
        if nextBlock == blockOrder.count {
            blockOrder = rng.permutation(blockCount)
            nextBlock = 0
        }
        let start = blockOrder[nextBlock] * blockRows
        nextBlock += 1
        block = rng.permutation(Swift.min(blockRows, count - start)).map { start + $0 }
        position = 0
    }
}

/// Which target labels training may use; the rest stay masked (evaluation only).
public enum TargetLabelGrant: Sendable, Equatable, Codable {
    /// Unsupervised adaptation: no target label reaches training.
    case none
    /// Every target label (the target-only oracle).
    case all
    /// `k` labelled target samples per class, drawn with the run's seed (few-shot).
    case perClass(Int)
    /// This fraction of each class's target samples, drawn with the run's seed: max(1, round(f · n_c))
    /// of a class of n_c samples.
    case fraction(Double)

    /// The granted rows (ascending) for target labels `labels`: per class in ascending label
    /// order, a seeded permutation of the class's rows, of which the first `take` are kept
    /// (`k` capped at the class size; max(1, round(f · n_c)) for a fraction).
    public func rows(labels: [Int], rng: inout SeededGenerator) -> [Int] {
        let take: (Int) -> Int
        switch self {
        case .none: return []
        case .all: return Array(labels.indices)
        case .perClass(let k): take = { _ in k }
        case .fraction(let f): take = { count in Swift.max(1, Int((Double(count) * f).rounded())) }
        }
        var chosen: [Int] = []
        for c in Set(labels).sorted() {
            let members = labels.indices.filter { labels[$0] == c }
            let order = rng.permutation(members.count)
            chosen += order.prefix(Swift.min(take(members.count), members.count)).map { members[$0] }
        }
        return chosen.sorted()
    }
}
