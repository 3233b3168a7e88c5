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
    private let pool: [Int]
    private let blockRows: Int
    private var order: [Int] = []
    private var position = 0
    private var rng: SeededGenerator

    public init(pool: [Int], blockRows: Int? = nil, rng: SeededGenerator) {
        precondition(!pool.isEmpty, "BatchSampler: empty pool")
        precondition((blockRows ?? 1) > 0, "BatchSampler: blockRows must be positive, got \(blockRows ?? 0)")
        self.pool = pool
        self.blockRows = Swift.min(blockRows ?? pool.count, pool.count)
        self.rng = rng
    }

    /// Samples rows `0..<count`.
    public init(count: Int, blockRows: Int? = nil, rng: SeededGenerator) {
        self.init(pool: Array(0..<count), blockRows: blockRows, rng: rng)
    }

    /// The next `min(size, pool size)` rows.
    public mutating func next(_ size: Int) -> [Int] {
        var batch: [Int] = []
        let wanted = Swift.min(size, pool.count)
        batch.reserveCapacity(wanted)
        while batch.count < wanted {
            if position == order.count {
                order = pass()
                position = 0
            }
            batch.append(order[position])
            position += 1
        }
        return batch
    }

    /// The next whole pass over the pool (what `next` walks through).
    public mutating func pass() -> [Int] {
        let n = pool.count
        guard blockRows < n else { return rng.permutation(n).map { pool[$0] } }
        let blockCount = (n + blockRows - 1) / blockRows
        var pass: [Int] = []
        pass.reserveCapacity(n)
        for block in rng.permutation(blockCount) {
            let start = block * blockRows
            let length = Swift.min(blockRows, n - start)
            pass += rng.permutation(length).map { pool[start + $0] }
        }
        return pass
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
