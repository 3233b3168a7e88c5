import TensorCore

/// Samples of one domain: inputs `x` (N×features or N×C×H×W) and optional integer labels `y`.
public struct DomainSplit: Sendable {
    public var x: Tensor
    public var y: [Int]?

    public init(x: Tensor, y: [Int]?) {
        precondition(x.rank >= 1, "DomainSplit: x must have a sample axis, got shape \(x.shape)")
        if let y { precondition(y.count == x.shape[0], "DomainSplit: x has \(x.shape[0]) samples but y has \(y.count) labels") }
        self.x = x
        self.y = y
    }

    public var count: Int { x.shape[0] }
    /// Shape of one sample.
    public var sampleShape: [Int] { Array(x.shape.dropFirst()) }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> DomainSplit {
        DomainSplit(x: x.gathering(rows: indices), y: y.map { labels in indices.map { labels[$0] } })
    }
}

/// A labelled source domain and a (usually unlabelled) target domain, with optional held-out splits.
///
/// `target.y`, when present, is used for evaluation only unless a recipe grants some target labels.
public struct DomainDataset: Sendable {
    public var source: DomainSplit
    public var target: DomainSplit
    /// Held-out labelled source samples (model selection, forgetting).
    public var sourceValidation: DomainSplit?
    /// Held-out target samples for the final evaluation; when absent, `target` is evaluated (transductive).
    public var targetTest: DomainSplit?
    public var classNames: [String]
    /// Free text: what differs between the domains.
    public var shiftDescription: String

    public init(
        source: DomainSplit, target: DomainSplit, sourceValidation: DomainSplit? = nil, targetTest: DomainSplit? = nil,
        classNames: [String], shiftDescription: String
    ) {
        precondition(source.y != nil, "DomainDataset: the source domain needs labels")
        precondition(
            source.sampleShape == target.sampleShape,
            "DomainDataset: source samples of shape \(source.sampleShape) and target samples of shape \(target.sampleShape) differ")
        self.source = source
        self.target = target
        self.sourceValidation = sourceValidation
        self.targetTest = targetTest
        self.classNames = classNames
        self.shiftDescription = shiftDescription
    }

    public var classCount: Int { classNames.count }
    public var sampleShape: [Int] { source.sampleShape }
}
