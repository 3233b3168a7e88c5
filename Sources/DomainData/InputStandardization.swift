import TensorCore

/// Per-feature (vector samples) or per-channel (C×H×W samples) standardisation
/// x ↦ (x − μ) / max(σ, 1e-6), with μ and σ the mean and population standard deviation of a
/// training pool, accumulated in Double.
///
/// Why inputs need it: every distance-based term grows with a power of the input scale (CORAL's
/// covariances with the square of the feature scale, so ‖C_S − C_T‖² with its fourth power), and
/// SGD's stable step size shrinks as the scale grows; fitting μ, σ on the training data and storing
/// them with the weights keeps the model's input scale what training saw.
public struct FeatureStandardization: Sendable, Equatable, Codable {
    /// One value per feature (vector samples) or per channel (samples of rank ≥ 2: axis 0 of the sample).
    public var mean: [Float]
    public var std: [Float]
    /// The floor on σ: a constant feature is centred, not blown up.
    public static let minimumStd: Float = 1e-6

    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count && !mean.isEmpty, "FeatureStandardization: \(mean.count) means and \(std.count) deviations")
        self.mean = mean
        self.std = std.map { Swift.max($0, Self.minimumStd) }
    }

    /// Statistics of `source`, read in chunks (bounded memory for a streamed pool).
    public static func fit(_ source: any BatchSource, chunkRows: Int = 4096) throws -> FeatureStandardization {
        let shape = source.sampleShape
        precondition(!shape.isEmpty && source.count > 0, "FeatureStandardization.fit: needs samples with a shape, got \(source.count) of \(shape)")
        let channels = shape[0]
        let inner = shape.dropFirst().reduce(1, *)
        var sum = [Double](repeating: 0, count: channels)
        var squares = [Double](repeating: 0, count: channels)
        try source.forEachChunk(size: chunkRows) { _, x in
            x.scalars.withUnsafeBufferPointer { p in
                for start in stride(from: 0, to: p.count, by: inner) {
                    let c = (start / inner) % channels
                    var s = 0.0, q = 0.0
                    for i in start..<(start + inner) {
                        let v = Double(p[i])
                        s += v
                        q += v * v
                    }
                    sum[c] += s
                    squares[c] += q
                }
            }
        }
        let n = Double(source.count * inner)
        let mean = sum.map { $0 / n }
        let std = zip(squares, mean).map { q, m in Swift.max(q / n - m * m, 0).squareRoot() }
        return FeatureStandardization(mean: mean.map { Float($0) }, std: std.map { Float($0) })
    }

    /// (x − μ)/σ for `x` of shape N × sample shape, with one μ, σ per feature or channel.
    public func apply(_ x: Tensor) -> Tensor {
        let channels = mean.count
        precondition(x.rank >= 2 && x.shape[1] == channels, "FeatureStandardization: samples of shape \(Array(x.shape.dropFirst())) for \(channels) features/channels")
        let inner = x.shape.dropFirst(2).reduce(1, *)
        var out = x
        out.scalars.withUnsafeMutableBufferPointer { p in
            for start in stride(from: 0, to: p.count, by: inner) {
                let c = (start / inner) % channels
                let (m, s) = (mean[c], std[c])
                for i in start..<(start + inner) { p[i] = (p[i] - m) / s }
            }
        }
        return out
    }
}

/// What `data: {standardize: …}` does to every split.
public enum StandardizationMode: String, Sendable, Codable, CaseIterable {
    /// Fitted on the source training split, applied to every split of both domains.
    case source
    /// Each domain's own training pool (the target pool without labels): source statistics for the
    /// source splits, target statistics for the target splits.
    case perDomain = "per_domain"
    /// Inputs as they are.
    case none
}

/// The fitted transform of a run, stored in its checkpoint so that inference applies it to raw data.
public struct InputStandardization: Sendable, Equatable, Codable {
    public var mode: StandardizationMode
    /// Applied to source splits (and, for `source`, to every split).
    public var source: FeatureStandardization
    /// Applied to target splits: equal to `source` for mode `source`.
    public var target: FeatureStandardization

    public init(mode: StandardizationMode, source: FeatureStandardization, target: FeatureStandardization) {
        self.mode = mode
        self.source = source
        self.target = target
    }
}

/// A source whose rows come out standardised (a streamed pool; in-memory data is transformed once).
public struct StandardizedSource: BatchSource {
    public let base: any BatchSource
    public let transform: FeatureStandardization

    public init(_ base: any BatchSource, transform: FeatureStandardization) {
        self.base = base
        self.transform = transform
    }

    public var count: Int { base.count }
    public var sampleShape: [Int] { base.sampleShape }
    public var blockRows: Int { base.blockRows }
    public func inputs(rows: [Int]) throws -> Tensor { transform.apply(try base.inputs(rows: rows)) }
    public func inputs(range: Range<Int>) throws -> Tensor { transform.apply(try base.inputs(range: range)) }
}

extension TrainingData {
    /// The data with `mode`'s standardisation fitted on the training pools only (the source training
    /// split; for `per_domain` also the target pool, whose labels are not read) and applied to every
    /// split; the fitted transform (nil for `none`).
    public func standardized(_ mode: StandardizationMode) throws -> (data: TrainingData, transform: InputStandardization?) {
        guard mode != .none else { return (self, nil) }
        let sourceStats = try FeatureStandardization.fit(source.source)
        let targetStats = mode == .perDomain ? try FeatureStandardization.fit(target.source) : sourceStats
        let transform = InputStandardization(mode: mode, source: sourceStats, target: targetStats)
        return (mappingInputs(source: { Self.apply(sourceStats, to: $0) }, target: { Self.apply(targetStats, to: $0) }), transform)
    }

    /// In memory: transformed once (so the data stays an `InMemorySource`, sampled as before);
    /// streamed: transformed per read.
    static func apply(_ stats: FeatureStandardization, to source: any BatchSource) -> any BatchSource {
        if let memory = source as? InMemorySource { return InMemorySource(stats.apply(memory.x)) }
        return StandardizedSource(source, transform: stats)
    }

    /// The same data with every source split's inputs passed through `source` and every target
    /// split's through `target`; labels, grants and evaluation sets keep their roles.
    public func mappingInputs(source f: (any BatchSource) -> any BatchSource, target g: (any BatchSource) -> any BatchSource) -> TrainingData {
        let validation = sourceEvaluation.name == "sourceValidation"
            ? LabelledDomain(inputs: f(sourceEvaluation.inputs), labels: sourceEvaluation.labels) : nil
        let testLabels = targetEvaluation?.name == "targetTest" ? targetEvaluation?.labels : nil
        return TrainingData(
            source: LabelledDomain(inputs: f(source.source), labels: source.labels), target: g(target.source), targetLabels: targetLabels,
            sourceValidation: validation, targetTest: targetTest.map { (g($0.source), testLabels) }, classNames: classNames,
            shiftDescription: shiftDescription)
    }
}
