import TensorCore

/// Everything a training run reads, over any `BatchSource`: the labelled source, the target pool
/// (inputs only), the evaluation sets, and the target labels, which leave this type only as a
/// grant (`grant(_:rng:)`) or inside an `EvaluationSet`.
public struct TrainingData {
    public let source: LabelledDomain
    /// The target pool as training sees it: inputs only.
    public let target: TargetPool
    /// Labels of the target pool, when the data has them; reachable only through `grant` and the
    /// evaluation sets.
    let targetLabels: [Int]?
    /// The held-out target split's inputs (`/target/test`), when there is one.
    public let targetTest: TargetPool?
    /// Held-out source (`sourceValidation`) when there is one, else the training source.
    public let sourceEvaluation: EvaluationSet
    /// The target test split when it has labels, else the labelled target pool; nil without target labels.
    public let targetEvaluation: EvaluationSet?
    public let classNames: [String]
    /// Free text: what differs between the domains.
    public let shiftDescription: String

    /// `sourceValidation` and `targetTest` are held-out splits (inputs with labels; test labels optional).
    public init(
        source: LabelledDomain, target: any BatchSource, targetLabels: [Int]?, sourceValidation: LabelledDomain? = nil,
        targetTest: (inputs: any BatchSource, labels: [Int]?)? = nil, classNames: [String], shiftDescription: String
    ) {
        precondition(
            source.sampleShape == target.sampleShape,
            "TrainingData: source samples of shape \(source.sampleShape) and target samples of shape \(target.sampleShape) differ")
        if let targetLabels { precondition(targetLabels.count == target.count, "TrainingData: \(target.count) target samples but \(targetLabels.count) labels") }
        self.source = source
        self.target = TargetPool(target)
        self.targetLabels = targetLabels
        self.targetTest = targetTest.map { TargetPool($0.inputs) }
        sourceEvaluation = sourceValidation.map { EvaluationSet(name: "sourceValidation", inputs: $0.source, labels: $0.labels) }
            ?? EvaluationSet(name: "source", inputs: source.source, labels: source.labels)
        if let test = targetTest, let labels = test.labels {
            targetEvaluation = EvaluationSet(name: "targetTest", inputs: test.inputs, labels: labels)
        } else if let targetLabels {
            targetEvaluation = EvaluationSet(name: "target", inputs: target, labels: targetLabels)
        } else {
            targetEvaluation = nil
        }
        self.classNames = classNames
        self.shiftDescription = shiftDescription
    }

    /// An in-memory dataset as training data.
    public init(_ dataset: DomainDataset) {
        self.init(
            source: LabelledDomain(inputs: InMemorySource(dataset.source.x), labels: dataset.source.y!),
            target: InMemorySource(dataset.target.x), targetLabels: dataset.target.y,
            sourceValidation: dataset.sourceValidation.flatMap { split in split.y.map { LabelledDomain(inputs: InMemorySource(split.x), labels: $0) } },
            targetTest: dataset.targetTest.map { (InMemorySource($0.x), $0.y) }, classNames: dataset.classNames,
            shiftDescription: dataset.shiftDescription)
    }

    public var classCount: Int { classNames.count }
    public var sampleShape: [Int] { source.sampleShape }
    /// Whether the target pool has labels (a grant is possible).
    public var hasTargetLabels: Bool { targetLabels != nil }

    /// The target rows and labels `grant` lets training use, drawn with `rng`
    /// (`TargetLabelGrant.rows`); nil when the target pool has no labels and the grant asks for some.
    public func grant(_ grant: TargetLabelGrant, rng: SeededGenerator) -> GrantedLabels? {
        guard grant != .none else { return GrantedLabels.none }
        guard let labels = targetLabels else { return nil }
        var rng = rng
        let rows = grant.rows(labels: labels, rng: &rng)
        return GrantedLabels(rows: rows, labels: rows.map { labels[$0] }, all: grant == .all)
    }

    /// How many of `labels` (target row → label, e.g. pseudo-labels a strategy chose) agree with the
    /// target pool's labels, as a fraction; nil without target labels or without rows. For the
    /// evaluator's diagnostics only.
    public func agreement(_ labels: [Int: Int]) -> Double? {
        guard let truth = targetLabels, !labels.isEmpty else { return nil }
        return Double(labels.filter { truth[$0.key] == $0.value }.count) / Double(labels.count)
    }
}
