import Foundation
import HDF5Kit
import NN
import TensorCore

/// Draws batches of indices without replacement, reshuffling (seeded) each time the pool is used up;
/// a batch that crosses the end of a pass continues into the next one, so batches are always full.
struct IndexStream {
    private let pool: [Int]
    private var order: [Int] = []
    private var position = 0
    private var rng: SeededGenerator

    init(pool: [Int], rng: SeededGenerator) {
        precondition(!pool.isEmpty, "IndexStream: empty pool")
        self.pool = pool
        self.rng = rng
    }

    mutating func next(_ size: Int) -> [Int] {
        var batch: [Int] = []
        let wanted = Swift.min(size, pool.count)
        while batch.count < wanted {
            if position == order.count {
                order = rng.permutation(pool.count).map { pool[$0] }
                position = 0
            }
            batch.append(order[position])
            position += 1
        }
        return batch
    }
}

/// One training loop for every strategy.
///
/// Per step: a source batch (x, y) and a target batch x (labels masked unless granted) go through
/// the model in one forward pass (concatenated, so BatchNorm sees both domains); each strategy may
/// first take its inner step (on detached features); then the joint objective
///
///     L = CE(source logits, source labels) + Σ_i weight_i · λ_i(p) · strategy_i.loss(batch)
///
/// is minimised over the model and the strategies' joint parameters, with p = step / total steps.
/// When the recipe grants target labels (`TrainerConfiguration.targetLabels`) and no strategy
/// consumes them itself, L also gets CE(granted target logits, their labels) at weight 1.
/// For a strategy with `lambdaPlacement == .insideLoss` (DANN) the term is weight_i · loss and the
/// strategy puts λ_i(p) inside its graph. The source term is dropped when a strategy does not use
/// source labels (target-only oracle, fine-tuning on target labels).
///
/// Every loss term and the gradient norm are checked before the update: a NaN/Inf stops training
/// with `TrainingError.nonFinite(step:strategy:term:)`, leaving the model at its last good step.
public final class Trainer {
    public let model: AdaptationModel
    public let dataset: DomainDataset
    public let configuration: TrainerConfiguration
    public private(set) var terms: [StrategyTerm]
    /// The optimizers of the run in progress, for checkpoint snapshots: the joint one with its
    /// parameters, and each strategy's inner one (by label) with its parameters.
    private var jointOptimizer: (optimizer: any Optimizer, parameters: [NamedParameter])?
    private var innerOptimizers: [String: (optimizer: any Optimizer, parameters: [NamedParameter])] = [:]
    /// Inner-optimizer state read from `initialOptimizerState`, imported when each inner optimizer is made.
    private var pendingInnerState: [String: [String: Tensor]] = [:]

    public init(model: AdaptationModel, dataset: DomainDataset, configuration: TrainerConfiguration, strategies: [StrategyTerm]) {
        self.model = model
        self.dataset = dataset
        self.configuration = configuration
        // Unique labels: a second `mmd` becomes `mmd#2`.
        var seen: [String: Int] = [:]
        terms = strategies.map { term in
            var term = term
            let n = (seen[term.label] ?? 0) + 1
            seen[term.label] = n
            if n > 1 { term.label += "#\(n)" }
            return term
        }
    }

    /// Model state plus every strategy's parameters (`strategies.<label>.…`): what a checkpoint stores.
    public var state: [NamedParameter] {
        model.state + terms.flatMap { term in
            term.strategy.parameters.map { NamedParameter(path: "strategies.\(term.label).\($0.path)", parameter: $0.parameter) }
        }
    }

    // MARK: - Setup

    private func validate() throws {
        let c = configuration
        guard c.epochs > 0 else { throw TrainingError.invalidConfiguration("epochs must be positive, got \(c.epochs)") }
        guard c.batchSize > 0 else { throw TrainingError.invalidConfiguration("batchSize must be positive, got \(c.batchSize)") }
        guard c.evaluationInterval > 0 else {
            throw TrainingError.invalidConfiguration("evaluationInterval must be positive, got \(c.evaluationInterval)")
        }
        guard c.optimizer.learningRate.isFinite, c.optimizer.learningRate >= 0 else {
            throw TrainingError.invalidConfiguration("learning rate \(c.optimizer.learningRate) must be finite and ≥ 0")
        }
        guard dataset.source.count > 0 else { throw TrainingError.invalidConfiguration("the source domain has no samples") }
        guard dataset.target.count > 0 else { throw TrainingError.invalidConfiguration("the target domain has no samples") }
        let labels = dataset.source.y ?? []
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= model.classCount }) {
            throw TrainingError.invalidConfiguration(
                "source label \(labels[bad]) at index \(bad) is outside 0..<\(model.classCount) (the model's class count)")
        }
        for prefix in c.frozenPrefixes where !model.parameters.contains(where: { pathHasPrefix($0.path, prefix) }) {
            throw TrainingError.invalidConfiguration(
                "frozen prefix '\(prefix)' matches no parameter (paths start with features, bottleneck, classifier)")
        }
    }

    /// Target rows whose labels training may use.
    private func grantedTargetIndices(rng: SeededGenerator) throws -> [Int] {
        let needs = terms.map { ($0.label, $0.strategy.targetLabelNeed) }
        var grant = configuration.targetLabels
        if let oracle = needs.first(where: { $0.1 == .all }) {
            guard dataset.target.y != nil else {
                throw StrategyError.missingTargetLabels(
                    strategy: oracle.0, message: "trains on labelled target data, but the dataset's target domain has no labels")
            }
            grant = .all
        }
        guard grant != .none else {
            if let needy = needs.first(where: { $0.1 == .granted }) {
                throw StrategyError.missingTargetLabels(
                    strategy: needy.0,
                    message: "trains on granted target labels, but the recipe grants none (set targetLabels to all, perClass or fraction)")
            }
            return []
        }
        guard let labels = dataset.target.y else {
            throw StrategyError.missingTargetLabels(
                strategy: "trainer", message: "the recipe grants target labels (\(grant)) but the dataset's target domain has none")
        }
        var rng = rng
        switch grant {
        case .none: return []
        case .all: return Array(0..<labels.count)
        case .perClass(let k):
            guard k > 0 else { throw TrainingError.invalidConfiguration("targetLabels perClass must be positive, got \(k)") }
            return stratified(labels: labels, rng: &rng) { _ in k }
        case .fraction(let f):
            guard f > 0 && f <= 1 else { throw TrainingError.invalidConfiguration("targetLabels fraction must be in (0, 1], got \(f)") }
            return stratified(labels: labels, rng: &rng) { count in Swift.max(1, Int((Double(count) * f).rounded())) }
        }
    }

    /// Up to `take(classSize)` rows of each class, drawn without replacement; sorted.
    private func stratified(labels: [Int], rng: inout SeededGenerator, take: (Int) -> Int) -> [Int] {
        var chosen: [Int] = []
        for c in Set(labels).sorted() {
            let rows = labels.indices.filter { labels[$0] == c }
            let order = rng.permutation(rows.count)
            chosen += order.prefix(Swift.min(take(rows.count), rows.count)).map { rows[$0] }
        }
        return chosen.sorted()
    }

    /// The learning-rate multiplier of `path`: the longest matching prefix in `multipliers`, else 1.
    static func multiplier(for path: String, in multipliers: [String: Float]) -> Float {
        var best: (length: Int, value: Float) = (-1, 1)
        for (prefix, value) in multipliers where pathHasPrefix(path, prefix) && prefix.count > best.length {
            best = (prefix.count, value)
        }
        return best.value
    }

    /// Parameters of the joint step grouped by learning-rate multiplier, and the same parameters by path.
    private func jointGroups() -> (groups: [ParameterGroup], named: [NamedParameter]) {
        var multipliers: [String: Float] = [:]
        for term in terms { multipliers.merge(term.strategy.learningRateMultipliers) { _, new in new } }
        multipliers.merge(configuration.learningRateMultipliers) { _, recipe in recipe }
        var named = model.parameters
        for term in terms {
            named += term.strategy.jointParameters.map {
                NamedParameter(path: "strategies.\(term.label).\($0.path)", parameter: $0.parameter)
            }
        }
        var groups: [Float: [Parameter]] = [:]
        for p in named { groups[Trainer.multiplier(for: p.path, in: multipliers), default: []].append(p.parameter) }
        return (groups.keys.sorted().map { ParameterGroup(name: "lr×\($0)", parameters: groups[$0]!, learningRateMultiplier: $0) }, named)
    }

    // MARK: - Evaluation

    private func report(_ split: DomainSplit) -> ClassificationReport? {
        guard let labels = split.y, !labels.isEmpty else { return nil }
        let predictions = model.predict(split.x, batchSize: configuration.evaluationBatchSize)
        return ClassificationReport(predictions: predictions, labels: labels, classCount: model.classCount)
    }

    private var sourceEvaluation: (name: String, split: DomainSplit) {
        dataset.sourceValidation.map { ("sourceValidation", $0) } ?? ("source", dataset.source)
    }

    private var targetEvaluation: (name: String, split: DomainSplit)? {
        if let test = dataset.targetTest, test.y != nil { return ("targetTest", test) }
        if dataset.target.y != nil { return ("target", dataset.target) }
        return nil
    }

    // MARK: - Checkpoint

    /// The snapshot a checkpoint stores: copies of the parameters and of every optimizer's state.
    private func snapshot(step: Int, reason: String, epochs: [EpochMetrics], finished: Bool) -> TrainingSnapshot {
        TrainingSnapshot(
            step: step, reason: reason, epochs: epochs, finished: finished,
            parameters: state.map { NamedParameter(path: $0.path, parameter: Parameter($0.parameter.value)) },
            optimizerState: Dictionary(uniqueKeysWithValues: optimizerState().map { ($0.path, $0.parameter.value) }))
    }

    /// Every optimizer's state as named tensors: `joint.<parameter path>.<slot>` and
    /// `inner.<strategy label>.<parameter path>.<slot>` (slots: `velocity`; `m`, `v`, `t`).
    private func optimizerState() -> [NamedParameter] {
        var out: [NamedParameter] = []
        func add(_ prefix: String, _ entry: (optimizer: any Optimizer, parameters: [NamedParameter])) {
            for (key, value) in entry.optimizer.exportState(entry.parameters).sorted(by: { $0.key < $1.key }) {
                out.append(NamedParameter(path: "\(prefix).\(key)", parameter: Parameter(value)))
            }
        }
        if let joint = jointOptimizer { add("joint", joint) }
        for label in innerOptimizers.keys.sorted() { add("inner.\(label)", innerOptimizers[label]!) }
        return out
    }

    /// Puts `initialOptimizerState` into the joint optimizer (now) and `pendingInnerState` (for
    /// the inner optimizers, made at their first step).
    private func loadOptimizerState(_ tensors: [String: Tensor], into optimizer: any Optimizer, parameters: [NamedParameter]) throws {
        var joint: [String: Tensor] = [:]
        pendingInnerState = [:]
        for (key, value) in tensors {
            let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
            if parts.count == 3 && parts[0] == "joint" {
                joint[parts[1] + "." + parts[2]] = value
            } else if parts.count == 3 && parts[0] == "inner" {
                let label = parts[1]
                guard terms.contains(where: { $0.label == label }) else {
                    throw TrainingError.invalidConfiguration("optimizer state: '\(key)' names no strategy of this run")
                }
                pendingInnerState[label, default: [:]][parts[2]] = value
            } else {
                throw TrainingError.invalidConfiguration("optimizer state: unexpected entry '\(key)' (expected joint.… or inner.<strategy>.…)")
            }
        }
        do {
            try optimizer.importState(joint, parameters: parameters)
        } catch let error as OptimizerStateError {
            throw TrainingError.invalidConfiguration("optimizer state: joint.\(error)")
        }
    }

    // MARK: - Run

    /// Trains; `shouldStop` is polled after every step (Ctrl-C); `observer` receives progress events;
    /// `checkpoint` receives a `TrainingSnapshot` after every evaluated epoch, at an early stop and
    /// before a non-finite stop (an error it throws at an epoch stops training).
    public func run(
        shouldStop: () -> Bool = { false }, observer: (TrainingEvent) -> Void = { _ in },
        checkpoint: (TrainingSnapshot) throws -> Void = { _ in }
    ) throws -> TrainingResult {
        try validate()
        let clock = ContinuousClock()
        let started = clock.now
        let root = SeededGenerator(seed: configuration.seed)
        let granted = try grantedTargetIndices(rng: root.fork("target-label-grant"))
        let setup = TrainingSetup(model: model, dataset: dataset, grantedTargetIndices: granted)
        for term in terms { try term.strategy.prepare(setup) }
        model.freeze(prefixes: configuration.frozenPrefixes)

        let usesSource = terms.allSatisfy { $0.strategy.usesSourceLabels }
        // Granted target labels that no strategy consumes join the objective as CE(target) (semi-supervised DA).
        let supervisedTarget = !granted.isEmpty && terms.allSatisfy { $0.strategy.targetLabelNeed == .none }
        let (groups, jointNamed) = jointGroups()
        let optimizer = configuration.optimizer.make()
        jointOptimizer = (optimizer, jointNamed)
        innerOptimizers = [:]
        pendingInnerState = [:]
        if let saved = configuration.initialOptimizerState {
            try loadOptimizerState(saved, into: optimizer, parameters: jointNamed)
        }
        let sourceLabels = dataset.source.y!
        var sourceStream = IndexStream(pool: Array(0..<dataset.source.count), rng: root.fork("source-batches"))
        var targetStream = IndexStream(pool: Array(0..<dataset.target.count), rng: root.fork("target-batches"))
        var labelledStream = granted.isEmpty ? nil : IndexStream(pool: granted, rng: root.fork("labelled-target-batches"))
        // Dropout masks: a generator forked per step, so step k draws the same masks however the run got there.
        let context = ForwardContext(mode: .training, rng: root.fork("dropout.step.0"))

        let b = configuration.batchSize
        let stepsPerEpoch = (Swift.max(dataset.source.count, dataset.target.count) + b - 1) / b
        let totalSteps = stepsPerEpoch * configuration.epochs
        guard configuration.startStep >= 0 && configuration.startStep < totalSteps else {
            throw TrainingError.invalidConfiguration(
                "startStep \(configuration.startStep) is outside 0..<\(totalSteps) (\(configuration.epochs) epochs of \(stepsPerEpoch) steps)")
        }
        // Replay the batch streams to where the run stopped (index draws only: cheap).
        for _ in 0..<configuration.startStep {
            _ = sourceStream.next(b)
            _ = targetStream.next(b)
            _ = labelledStream?.next(b)
        }
        observer(.started(totalSteps: totalSteps, stepsPerEpoch: stepsPerEpoch))

        var history: [EpochMetrics] = []
        var step = configuration.startStep
        var cancelled = false
        let base = configuration.optimizer.learningRate
        let startEpoch = configuration.startStep / stepsPerEpoch
        epochs: for epoch in startEpoch..<configuration.epochs {
            let epochStart = clock.now
            var losses: [String: Double] = [:]
            var diagnostics: [String: Double] = [:]
            var boundaryDiagnostics: [String: Double] = [:]
            let epochProgress = Float(epoch * stepsPerEpoch) / Float(totalSteps)
            for term in terms {
                let reported = try term.strategy.epochBoundary(
                    EpochBoundary(
                        epoch: epoch, epochs: configuration.epochs, progress: epochProgress, model: model, targetPool: dataset.target))
                if !reported.isEmpty {
                    observer(.boundary(epoch: epoch + 1, strategy: term.label, diagnostics: reported))
                    for (k, v) in reported { boundaryDiagnostics["\(term.label).\(k)"] = v }
                }
            }
            var learningRate = base
            var stepsThisEpoch = 0
            let firstStep = epoch == startEpoch ? configuration.startStep - epoch * stepsPerEpoch : 0
            for _ in firstStep..<stepsPerEpoch {
                let p = Float(step) / Float(totalSteps)
                context.rng = root.fork("dropout.step.\(step)")
                learningRate = configuration.learningRateSchedule.learningRate(base: base, progress: p)
                optimizer.learningRate = learningRate

                // One forward pass over source, target and granted labelled target rows.
                let sourceRows = sourceStream.next(b)
                let targetRows = targetStream.next(b)
                let labelledRows = labelledStream?.next(b) ?? []
                var parts = [dataset.source.x.gathering(rows: sourceRows), dataset.target.x.gathering(rows: targetRows)]
                if !labelledRows.isEmpty { parts.append(dataset.target.x.gathering(rows: labelledRows)) }
                let outputs = model.forward(Variable(Tensor.concatenate(parts, axis: 0)), context: context)
                func rows(_ range: Range<Int>) -> DomainOutputs {
                    DomainOutputs(
                        extractor: outputs.extractor.slice(axis: 0, range), features: outputs.features.slice(axis: 0, range),
                        logits: outputs.logits.slice(axis: 0, range))
                }
                let ns = sourceRows.count, nt = targetRows.count
                let labelled = labelledRows.isEmpty
                    ? nil
                    : LabelledTargetBatch(
                        outputs: rows((ns + nt)..<(ns + nt + labelledRows.count)),
                        labels: labelledRows.map { dataset.target.y![$0] }, indices: labelledRows)
                var batch = StrategyBatch(
                    source: rows(0..<ns), target: rows(ns..<(ns + nt)), sourceLabels: sourceRows.map { sourceLabels[$0] },
                    targetIndices: targetRows, labelledTarget: labelled, progress: p, step: step)

                // Inner steps (e.g. the domain-confusion discriminator), before the joint step.
                for term in terms {
                    batch.lambda = term.schedule.value(progress: p)
                    guard let inner = term.strategy.innerStep(batch, context: context) else { continue }
                    let (value, grads) = valueWithGradients { inner.loss }
                    let innerGroup = [ParameterGroup(name: "inner", parameters: inner.parameters.map(\.parameter))]
                    guard value.scalar.isFinite, firstNonFiniteGradient(grads, groups: innerGroup) == nil else {
                        try? checkpoint(snapshot(step: step, reason: "non-finite inner step", epochs: history, finished: false))
                        throw TrainingError.nonFinite(step: step, strategy: term.label, term: value.scalar.isFinite ? "innerGradient" : "innerLoss")
                    }
                    let innerOptimizer: any Optimizer
                    if let existing = innerOptimizers[term.label] {
                        innerOptimizer = existing.optimizer
                    } else {
                        innerOptimizer = configuration.optimizer.make()
                        if let pending = pendingInnerState.removeValue(forKey: term.label) {
                            do {
                                try innerOptimizer.importState(pending, parameters: inner.parameters)
                            } catch let error as OptimizerStateError {
                                throw TrainingError.invalidConfiguration("optimizer state: inner.\(term.label).\(error)")
                            }
                        }
                        innerOptimizers[term.label] = (innerOptimizer, inner.parameters)
                    }
                    let multiplier = Trainer.multiplier(
                        for: "strategies.\(term.label)", in: configuration.learningRateMultipliers.merging(term.strategy.learningRateMultipliers) { recipe, _ in recipe })
                    innerOptimizer.learningRate = learningRate * multiplier
                    innerOptimizer.step(inner.parameters.map(\.parameter), gradients: grads)
                    losses["\(term.label).inner", default: 0] += Double(value.scalar)
                    for (k, v) in inner.diagnostics { diagnostics["\(term.label).\(k)", default: 0] += v }
                }

                // The joint objective.
                var total: Variable? = nil
                if usesSource {
                    let ce = Loss.crossEntropy(logits: batch.sourceLogits, labels: batch.sourceLabels)
                    guard ce.value.scalar.isFinite else {
                        try? checkpoint(snapshot(step: step, reason: "non-finite loss", epochs: history, finished: false))
                        throw TrainingError.nonFinite(step: step, strategy: "source", term: "crossEntropy")
                    }
                    losses["source.crossEntropy", default: 0] += Double(ce.value.scalar)
                    total = ce
                }
                if supervisedTarget, let labelled = batch.labelledTarget {
                    let ce = Loss.crossEntropy(logits: labelled.outputs.logits, labels: labelled.labels)
                    guard ce.value.scalar.isFinite else {
                        try? checkpoint(snapshot(step: step, reason: "non-finite loss", epochs: history, finished: false))
                        throw TrainingError.nonFinite(step: step, strategy: "target", term: "crossEntropy")
                    }
                    losses["target.crossEntropy", default: 0] += Double(ce.value.scalar)
                    total = total.map { $0 + ce } ?? ce
                }
                for term in terms {
                    let lambda = term.schedule.value(progress: p)
                    batch.lambda = lambda
                    let result = term.strategy.loss(batch, context: context)
                    let value = result.value.value.scalar
                    guard value.isFinite else {
                        let culprit = result.terms.keys.sorted().first { !result.terms[$0]!.isFinite } ?? "loss"
                        try? checkpoint(snapshot(step: step, reason: "non-finite loss", epochs: history, finished: false))
                        throw TrainingError.nonFinite(step: step, strategy: term.label, term: culprit)
                    }
                    losses[term.label, default: 0] += Double(value)
                    for (k, v) in result.terms { losses["\(term.label).\(k)", default: 0] += Double(v) }
                    for (k, v) in result.diagnostics { diagnostics["\(term.label).\(k)", default: 0] += v }
                    let factor = term.weight * (term.strategy.lambdaPlacement == .lossMultiplier ? lambda : 1)
                    guard factor != 0, result.value.requiresGradient else { continue }
                    let weighted = result.value * factor
                    total = total.map { $0 + weighted } ?? weighted
                }
                if let total {
                    losses["total", default: 0] += Double(total.value.scalar)
                    var (_, grads) = valueWithGradients { total }
                    if let bad = firstNonFiniteGradient(grads, groups: groups) {
                        try? checkpoint(snapshot(step: step, reason: "non-finite gradient", epochs: history, finished: false))
                        throw TrainingError.nonFinite(step: step, strategy: "total", term: "gradient of \(bad)")
                    }
                    if let limit = configuration.maxGradientNorm {
                        let norm = gradientNorm(grads, groups: groups)
                        if norm > Double(limit) { grads.scale(by: Float(Double(limit) / norm)) }
                    }
                    optimizer.step(groups, gradients: grads)
                }
                step += 1
                stepsThisEpoch += 1
                if shouldStop() {
                    cancelled = true
                    observer(.cancelled(step: step))
                }
                if cancelled { break }
            }

            let n = Double(Swift.max(stepsThisEpoch, 1))
            var metrics = EpochMetrics(
                epoch: epoch + 1, progress: Double(step) / Double(totalSteps), learningRate: Double(learningRate),
                losses: losses.mapValues { $0 / n }, diagnostics: diagnostics.mapValues { $0 / n }.merging(boundaryDiagnostics) { a, _ in a },
                sourceAccuracy: nil, targetAccuracy: nil, seconds: 0)
            let evaluated = (epoch + 1) % configuration.evaluationInterval == 0 || epoch + 1 == configuration.epochs || cancelled
            if evaluated {
                metrics.sourceAccuracy = report(sourceEvaluation.split)?.accuracy
                metrics.targetAccuracy = targetEvaluation.flatMap { report($0.split) }?.accuracy
            }
            metrics.seconds = seconds(epochStart.duration(to: clock.now))
            history.append(metrics)
            if evaluated {
                let finished = epoch + 1 == configuration.epochs && !cancelled
                try checkpoint(snapshot(step: step, reason: cancelled ? "stopped" : "epoch \(epoch + 1)", epochs: history, finished: finished))
            }
            observer(.epochFinished(metrics))
            if cancelled { break epochs }
        }

        return TrainingResult(
            epochs: history, steps: step, finalSource: report(sourceEvaluation.split)!,
            finalTarget: targetEvaluation.flatMap { report($0.split) }, sourceEvaluationSplit: sourceEvaluation.name,
            targetEvaluationSplit: targetEvaluation?.name, grantedTargetLabels: granted.count, cancelled: cancelled,
            wallSeconds: seconds(started.duration(to: clock.now)))
    }

    /// Path of the first parameter whose gradient holds a NaN or Inf (checked element-wise, so a
    /// large but finite gradient is not mistaken for an overflow of its norm).
    private func firstNonFiniteGradient(_ grads: Gradients, groups: [ParameterGroup]) -> String? {
        for group in groups {
            for parameter in group.parameters {
                guard let g = grads[parameter], !g.isFinite else { continue }
                let named = state.first { $0.parameter === parameter }
                return named?.path ?? "a parameter of shape \(parameter.shape)"
            }
        }
        return nil
    }

    /// Global L2 norm, accumulated in Double.
    private func gradientNorm(_ grads: Gradients, groups: [ParameterGroup]) -> Double {
        var total = 0.0
        for group in groups {
            for parameter in group.parameters {
                guard let g = grads[parameter] else { continue }
                for v in g.scalars { total += Double(v) * Double(v) }
            }
        }
        return total.squareRoot()
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
