import Foundation
import NN
import TensorCore

/// One training loop for every strategy.
///
/// Per step (`trainStep`): the batch streams (`TrainingBatches`: one seeded `BatchSampler` per
/// stream) give a source batch (x, y), a target batch (x only) and, when labels are granted, a
/// granted target batch (x, y); they go through the model in one forward pass (concatenated, so
/// BatchNorm sees both domains); each strategy may first take its inner step (`InnerSteps`); then
/// the joint objective (`JointObjective`)
///
///     L = CE(source) + CE(granted target) + Σ_i weight_i · λ_i(p) · strategy_i.loss(batch)
///
/// is minimised over the model and the strategies' joint parameters, with p = step / total steps.
/// CE(granted target) is present whenever target labels are granted (the recipe's
/// `TrainerConfiguration.targetLabels`, or all of them for the target-only oracle); the source
/// term is dropped when a strategy does not use source labels (the oracle, fine-tuning on target
/// labels). For a strategy with `lambdaPlacement == .insideLoss` (DANN) the term is
/// weight_i · loss and the strategy puts λ_i(p) inside its graph.
///
/// A source-free run (a strategy with `usesSourceData == false`, SHOT's target phase) draws only
/// the target stream (same seeded order as in a joint run), forwards the target rows alone (the
/// batch's source outputs have no rows) and drops CE(source); an epoch is then one pass over the
/// target pool. Such a run grants no target labels and refuses strategies that use source data.
/// Evaluation still reports source accuracy on `data.sourceEvaluation` (a measurement, not training).
///
/// Strategies see source labels, target inputs and the granted labels only; the evaluator
/// (`Evaluator`, over the data's `EvaluationSet`s) is the only reader of the other target labels.
///
/// Every loss term and the gradient norm are checked before the update: a NaN/Inf stops training
/// with `TrainingError.nonFinite(step:strategy:term:)`, leaving the model at its last good step.
/// With `optimizer.clipNorm` the gradients are then scaled to at most that global L2 norm
/// (`clipGradientNorm`; the strategies' inner steps likewise).
/// The trainer writes no file: snapshots go to the caller's `checkpoint` sink.
public final class Trainer {
    public let model: AdaptationModel
    public let data: TrainingData
    public let configuration: TrainerConfiguration
    public private(set) var terms: [StrategyTerm]
    /// The joint optimizer of the run in progress with its parameters, for checkpoint snapshots.
    var jointOptimizer: (optimizer: any Optimizer, parameters: [NamedParameter])?
    /// The strategies' inner optimizers (by label), for checkpoint snapshots.
    var innerSteps = InnerSteps()

    /// Trains on `data`, held in memory or streamed (any `BatchSource`).
    public init(model: AdaptationModel, data: TrainingData, configuration: TrainerConfiguration, strategies: [StrategyTerm]) {
        self.model = model
        self.data = data
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

    /// Trains on an in-memory dataset.
    public convenience init(model: AdaptationModel, dataset: DomainDataset, configuration: TrainerConfiguration, strategies: [StrategyTerm]) {
        self.init(model: model, data: TrainingData(dataset), configuration: configuration, strategies: strategies)
    }

    /// Model state plus every strategy's parameters (`strategies.<label>.…`): what a checkpoint stores.
    public var state: [NamedParameter] {
        model.state + terms.flatMap { term in
            term.strategy.parameters.map { NamedParameter(path: "strategies.\(term.label).\($0.path)", parameter: $0.parameter) }
        }
    }

    /// What one call of `run` carries from step to step.
    final class Loop {
        var batches: BatchStreams
        let optimizer: any Optimizer
        let groups: [ParameterGroup]
        let objective: JointObjective
        let root: SeededGenerator
        /// Dropout masks: a generator forked per step, so step k draws the same masks however the run got there.
        let context: ForwardContext
        let stepsPerEpoch: Int
        let totalSteps: Int
        let granted: Int
        var step: Int
        var history: [EpochMetrics] = []
        var cancelled = false

        init(
            batches: BatchStreams, optimizer: any Optimizer, groups: [ParameterGroup], objective: JointObjective, root: SeededGenerator,
            stepsPerEpoch: Int, totalSteps: Int, granted: Int, step: Int
        ) {
            self.batches = batches
            self.optimizer = optimizer
            self.groups = groups
            self.objective = objective
            self.root = root
            context = ForwardContext(mode: .training, rng: root.fork("dropout.step.0"))
            self.stepsPerEpoch = stepsPerEpoch
            self.totalSteps = totalSteps
            self.granted = granted
            self.step = step
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
        let started = ContinuousClock.now
        let loop = try begin()
        observer(.started(totalSteps: loop.totalSteps, stepsPerEpoch: loop.stepsPerEpoch))
        let startEpoch = configuration.startStep / loop.stepsPerEpoch
        for epoch in startEpoch..<configuration.epochs {
            let firstStep = epoch == startEpoch ? configuration.startStep - epoch * loop.stepsPerEpoch : 0
            try runEpoch(epoch, firstStep: firstStep, loop, shouldStop: shouldStop, observer: observer, checkpoint: checkpoint)
            if loop.cancelled { break }
        }
        let evaluator = Evaluator(model: model, batchSize: configuration.evaluationBatchSize)
        return TrainingResult(
            epochs: loop.history, steps: loop.step, finalSource: try evaluator.report(data.sourceEvaluation)!,
            finalTarget: try evaluator.report(data.targetEvaluation), sourceEvaluationSplit: data.sourceEvaluation.name,
            targetEvaluationSplit: data.targetEvaluation?.name, grantedTargetLabels: loop.granted, cancelled: loop.cancelled,
            wallSeconds: seconds(started.duration(to: ContinuousClock.now)))
    }

    /// Checks, grants target labels, prepares the strategies and the optimizers, and replays the
    /// batch streams to `startStep`.
    private func begin() throws -> Loop {
        try validate()
        let root = SeededGenerator(seed: configuration.seed)
        let granted = try grantedLabels(rng: root.fork("target-label-grant"))
        let sourceFree = try checkSourceFree(granted: granted)
        let setup = TrainingSetup(model: model, source: data.source, target: data.target, granted: granted)
        for term in terms { try term.strategy.prepare(setup) }
        model.freeze(prefixes: configuration.frozenPrefixes)

        let (groups, jointNamed) = jointGroups()
        let optimizer = configuration.optimizer.make()
        jointOptimizer = (optimizer, jointNamed)
        innerSteps = InnerSteps()
        if let saved = configuration.initialOptimizerState {
            try loadOptimizerState(saved, into: optimizer, parameters: jointNamed)
        }
        let b = configuration.batchSize
        let stepsPerEpoch = ((sourceFree ? data.target.count : Swift.max(data.source.count, data.target.count)) + b - 1) / b
        let totalSteps = stepsPerEpoch * configuration.epochs
        guard configuration.startStep >= 0 && configuration.startStep < totalSteps else {
            throw TrainingError.invalidConfiguration(
                "startStep \(configuration.startStep) is outside 0..<\(totalSteps) (\(configuration.epochs) epochs of \(stepsPerEpoch) steps)")
        }
        var batches = sourceFree
            ? BatchStreams.targetOnly(BatchSampler(count: data.target.count, blockRows: data.target.blockRows, rng: root.fork("target-batches")))
            : BatchStreams.joint(try TrainingBatches(data: data, granted: granted, root: root))
        // Replay the batch streams to where the run stopped (index draws only: cheap).
        batches.skip(steps: configuration.startStep, batchSize: b)
        return Loop(
            batches: batches, optimizer: optimizer, groups: groups, objective: JointObjective(terms: terms), root: root,
            stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps, granted: granted.rows.count, step: configuration.startStep)
    }

    /// One epoch: the strategies' boundary work, the steps from `firstStep`, then the epoch's
    /// metrics, evaluation (every `evaluationInterval` epochs, the last, and at a stop) and snapshot.
    private func runEpoch(
        _ epoch: Int, firstStep: Int, _ loop: Loop, shouldStop: () -> Bool, observer: (TrainingEvent) -> Void,
        checkpoint: (TrainingSnapshot) throws -> Void
    ) throws {
        let epochStart = ContinuousClock.now
        let boundaryDiagnostics = try epochBoundary(epoch, loop, observer: observer)
        var stats = EpochStats()
        let base = configuration.optimizer.learningRate
        var learningRate = base
        var stepsThisEpoch = 0
        for _ in firstStep..<loop.stepsPerEpoch {
            learningRate = configuration.learningRateSchedule.learningRate(base: base, progress: Float(loop.step) / Float(loop.totalSteps))
            do {
                try trainStep(loop, learningRate: learningRate, stats: &stats)
            } catch let failure as NonFiniteTerm {
                try? checkpoint(snapshot(step: loop.step, reason: failure.reason, epochs: loop.history, finished: false))
                throw TrainingError.nonFinite(step: loop.step, strategy: failure.strategy, term: failure.term)
            }
            loop.step += 1
            stepsThisEpoch += 1
            if shouldStop() {
                loop.cancelled = true
                observer(.cancelled(step: loop.step))
                break
            }
        }
        let n = Double(Swift.max(stepsThisEpoch, 1))
        var metrics = EpochMetrics(
            epoch: epoch + 1, progress: Double(loop.step) / Double(loop.totalSteps), learningRate: Double(learningRate),
            losses: stats.losses.mapValues { $0 / n },
            diagnostics: stats.diagnostics.mapValues { $0 / n }.merging(boundaryDiagnostics) { a, _ in a },
            sourceAccuracy: nil, targetAccuracy: nil, seconds: 0)
        let evaluated = (epoch + 1) % configuration.evaluationInterval == 0 || epoch + 1 == configuration.epochs || loop.cancelled
        if evaluated {
            let evaluator = Evaluator(model: model, batchSize: configuration.evaluationBatchSize)
            metrics.sourceAccuracy = try evaluator.report(data.sourceEvaluation)?.accuracy
            metrics.targetAccuracy = try evaluator.report(data.targetEvaluation)?.accuracy
        }
        metrics.seconds = seconds(epochStart.duration(to: ContinuousClock.now))
        loop.history.append(metrics)
        if evaluated {
            let finished = epoch + 1 == configuration.epochs && !loop.cancelled
            try checkpoint(snapshot(step: loop.step, reason: loop.cancelled ? "stopped" : "epoch \(epoch + 1)", epochs: loop.history, finished: finished))
        }
        observer(.epochFinished(metrics))
    }

    /// Every strategy's work at the start of `epoch`; its diagnostics (`<label>.<key>`), with the
    /// evaluator's `keptAccuracy` for pseudo-labels a strategy reports where target labels exist.
    private func epochBoundary(_ epoch: Int, _ loop: Loop, observer: (TrainingEvent) -> Void) throws -> [String: Double] {
        var diagnostics: [String: Double] = [:]
        let progress = Float(epoch * loop.stepsPerEpoch) / Float(loop.totalSteps)
        for term in terms {
            let report = try term.strategy.epochBoundary(
                EpochBoundary(epoch: epoch, epochs: configuration.epochs, progress: progress, model: model, targetPool: data.target))
            var reported = report.diagnostics
            if let accuracy = data.agreement(report.pseudoLabels) { reported["keptAccuracy"] = accuracy }
            guard !reported.isEmpty else { continue }
            observer(.boundary(epoch: epoch + 1, strategy: term.label, diagnostics: reported))
            for (k, v) in reported { diagnostics["\(term.label).\(k)"] = v }
        }
        return diagnostics
    }

    /// One step: draw and forward the batches, the inner steps, then the joint update.
    private func trainStep(_ loop: Loop, learningRate: Float, stats: inout EpochStats) throws {
        let p = Float(loop.step) / Float(loop.totalSteps)
        loop.context.rng = loop.root.fork("dropout.step.\(loop.step)")
        loop.optimizer.learningRate = learningRate
        var batch = forward(try loop.batches.next(batchSize: configuration.batchSize, data: data), progress: p, step: loop.step, context: loop.context)
        try innerSteps.run(
            terms, batch: &batch, progress: p, context: loop.context, learningRate: learningRate, configuration: configuration, stats: &stats)
        guard let total = try loop.objective.total(&batch, progress: p, context: loop.context, stats: &stats) else { return }
        stats.add(loss: "total", total.value.scalar)
        var (_, grads) = valueWithGradients { total }
        if let bad = firstNonFiniteGradient(grads, groups: loop.groups, names: { state }) {
            throw NonFiniteTerm(strategy: "total", term: "gradient of \(bad)", reason: "non-finite gradient")
        }
        // The pre-clip norm of every step, averaged per epoch like the losses, and the share of steps
        // the clip scaled: a norm that climbs epoch after epoch is the warning before a blow-up.
        if let limit = configuration.optimizer.clipNorm {
            let norm = clipGradientNorm(&grads, groups: loop.groups, limit: limit)
            stats.add(diagnostics: ["norm": norm, "clipped": norm > Double(limit) ? 1 : 0], prefix: "gradient")
        } else {
            stats.add(diagnostics: ["norm": gradientNorm(grads, groups: loop.groups)], prefix: "gradient")
        }
        loop.optimizer.step(loop.groups, gradients: grads)
    }

    /// One forward pass over the source (none in a source-free run), target and granted target rows,
    /// split into a strategy's batch.
    private func forward(
        _ drawn: DrawnBatches, progress p: Float, step: Int, context: ForwardContext
    ) -> StrategyBatch {
        var parts = [drawn.targetX]
        if let source = drawn.source { parts.insert(source.x, at: 0) }
        if let granted = drawn.granted { parts.append(granted.x) }
        let outputs = model.forward(Variable(Tensor.concatenate(parts, axis: 0)), context: context)
        func rows(_ range: Range<Int>) -> DomainOutputs {
            DomainOutputs(
                extractor: outputs.extractor.slice(axis: 0, range), features: outputs.features.slice(axis: 0, range),
                logits: outputs.logits.slice(axis: 0, range))
        }
        let ns = drawn.source?.rows.count ?? 0, nt = drawn.targetRows.count
        let labelled = drawn.granted.map { granted in
            LabelledTargetBatch(outputs: rows((ns + nt)..<(ns + nt + granted.rows.count)), labels: granted.y, indices: granted.rows)
        }
        return StrategyBatch(
            source: rows(0..<ns), target: rows(ns..<(ns + nt)), sourceLabels: drawn.source?.y ?? [], targetIndices: drawn.targetRows,
            labelledTarget: labelled, progress: p, step: step)
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

/// Accuracy and macro-F1 on an `EvaluationSet`, read in chunks: the only reader of target labels.
struct Evaluator {
    let model: AdaptationModel
    let batchSize: Int

    func report(_ set: EvaluationSet?) throws -> ClassificationReport? {
        guard let set, !set.labels.isEmpty else { return nil }
        return ClassificationReport(
            predictions: try model.predict(set.inputs, batchSize: batchSize), labels: set.labels, classCount: model.classCount)
    }
}

/// The rows of one step: the source batch (nil in a source-free run), the target inputs and rows,
/// the granted target batch.
struct DrawnBatches {
    let source: SourceBatch?
    let targetX: Tensor
    let targetRows: [Int]
    let granted: GrantedTargetBatch?
}

/// The batch streams of one run: source, target and granted target rows (`TrainingBatches`), or,
/// in a source-free run, the target stream alone (forked as `target-batches`, like the joint
/// run's, so both draw the same target order).
enum BatchStreams {
    case joint(TrainingBatches)
    case targetOnly(BatchSampler)

    mutating func skip(steps: Int, batchSize: Int) {
        switch self {
        case .joint(var batches):
            batches.skip(steps: steps, batchSize: batchSize)
            self = .joint(batches)
        case .targetOnly(var sampler):
            for _ in 0..<steps { _ = sampler.next(batchSize) }
            self = .targetOnly(sampler)
        }
    }

    /// The next step's rows; no source batch (and no source row read) in a source-free run.
    mutating func next(batchSize: Int, data: TrainingData) throws -> DrawnBatches {
        switch self {
        case .joint(var batches):
            let drawn = try batches.next(batchSize: batchSize)
            self = .joint(batches)
            return DrawnBatches(source: drawn.source, targetX: drawn.target.x, targetRows: drawn.target.rows, granted: drawn.granted)
        case .targetOnly(var sampler):
            let rows = sampler.next(batchSize)
            self = .targetOnly(sampler)
            return DrawnBatches(source: nil, targetX: try data.target.inputs(rows: rows), targetRows: rows, granted: nil)
        }
    }
}
