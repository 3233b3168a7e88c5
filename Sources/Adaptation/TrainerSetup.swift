import NN
import TensorCore

extension Trainer {
    func validate() throws {
        let c = configuration
        guard c.epochs > 0 else { throw TrainingError.invalidConfiguration("epochs must be positive, got \(c.epochs)") }
        guard c.batchSize > 0 else { throw TrainingError.invalidConfiguration("batchSize must be positive, got \(c.batchSize)") }
        guard c.evaluationInterval > 0 else {
            throw TrainingError.invalidConfiguration("evaluationInterval must be positive, got \(c.evaluationInterval)")
        }
        guard c.optimizer.learningRate.isFinite, c.optimizer.learningRate >= 0 else {
            throw TrainingError.invalidConfiguration("learning rate \(c.optimizer.learningRate) must be finite and ≥ 0")
        }
        guard data.source.count > 0 else { throw TrainingError.invalidConfiguration("the source domain has no samples") }
        guard data.target.count > 0 else { throw TrainingError.invalidConfiguration("the target domain has no samples") }
        let labels = data.source.labels
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= model.classCount }) {
            throw TrainingError.invalidConfiguration(
                "source label \(labels[bad]) at index \(bad) is outside 0..<\(model.classCount) (the model's class count)")
        }
        for prefix in c.frozenPrefixes where !model.parameters.contains(where: { pathHasPrefix($0.path, prefix) }) {
            throw TrainingError.invalidConfiguration(
                "frozen prefix '\(prefix)' matches no parameter (paths start with features, bottleneck, classifier)")
        }
    }

    /// Whether the run is source-free (a strategy with `usesSourceData == false`); then every
    /// strategy must be source-free and no target label may be granted.
    func checkSourceFree(granted: GrantedLabels) throws -> Bool {
        guard let free = terms.first(where: { !$0.strategy.usesSourceData }) else { return false }
        if let other = terms.first(where: { $0.strategy.usesSourceData }) {
            throw TrainingError.invalidConfiguration(
                "strategy \(free.label) trains without source data; \(other.label) uses source data and cannot be combined with it")
        }
        guard granted.isEmpty else {
            throw TrainingError.invalidConfiguration(
                "strategy \(free.label) adapts without labels; the recipe grants \(granted.rows.count) target labels (set target labels to none)")
        }
        return true
    }

    /// The target labels training may use: all of them when a strategy is the oracle, else the
    /// recipe's grant (`TargetLabelGrant.rows`), checked against what the strategies need.
    func grantedLabels(rng: SeededGenerator) throws -> GrantedLabels {
        let needs = terms.map { ($0.label, $0.strategy.targetLabelNeed) }
        var grant = configuration.targetLabels
        if let oracle = needs.first(where: { $0.1 == .all }) {
            guard data.hasTargetLabels else {
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
            return .none
        }
        switch grant {
        case .perClass(let k) where k <= 0:
            throw TrainingError.invalidConfiguration("targetLabels perClass must be positive, got \(k)")
        case .fraction(let f) where !(f > 0 && f <= 1):
            throw TrainingError.invalidConfiguration("targetLabels fraction must be in (0, 1], got \(f)")
        default: break
        }
        guard let granted = data.grant(grant, rng: rng) else {
            throw StrategyError.missingTargetLabels(
                strategy: "trainer", message: "the recipe grants target labels (\(grant)) but the dataset's target domain has none")
        }
        return granted
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
    func jointGroups() -> (groups: [ParameterGroup], named: [NamedParameter]) {
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

    // MARK: - Snapshots

    /// The snapshot a checkpoint stores: copies of the parameters and of every optimizer's state.
    func snapshot(step: Int, reason: String, epochs: [EpochMetrics], finished: Bool) -> TrainingSnapshot {
        TrainingSnapshot(
            step: step, reason: reason, epochs: epochs, finished: finished,
            parameters: state.map { NamedParameter(path: $0.path, parameter: Parameter($0.parameter.value)) },
            optimizerState: Dictionary(uniqueKeysWithValues: optimizerState().map { ($0.path, $0.parameter.value) }))
    }

    /// Every optimizer's state as named tensors: `joint.<parameter path>.<slot>` and
    /// `inner.<strategy label>.<parameter path>.<slot>` (slots: `velocity`; `m`, `v`, `t`).
    func optimizerState() -> [NamedParameter] {
        var out: [NamedParameter] = []
        func add(_ prefix: String, _ entry: (optimizer: any Optimizer, parameters: [NamedParameter])) {
            for (key, value) in entry.optimizer.exportState(entry.parameters).sorted(by: { $0.key < $1.key }) {
                out.append(NamedParameter(path: "\(prefix).\(key)", parameter: Parameter(value)))
            }
        }
        if let joint = jointOptimizer { add("joint", joint) }
        for label in innerSteps.optimizers.keys.sorted() { add("inner.\(label)", innerSteps.optimizers[label]!) }
        return out
    }

    /// Puts `initialOptimizerState` into the joint optimizer (now) and the inner steps' pending
    /// state (for the inner optimizers, made at their first step).
    func loadOptimizerState(_ tensors: [String: Tensor], into optimizer: any Optimizer, parameters: [NamedParameter]) throws {
        var joint: [String: Tensor] = [:]
        innerSteps.pendingState = [:]
        for (key, value) in tensors {
            let parts = key.split(separator: ".", maxSplits: 2).map(String.init)
            if parts.count == 3 && parts[0] == "joint" {
                joint[parts[1] + "." + parts[2]] = value
            } else if parts.count == 3 && parts[0] == "inner" {
                let label = parts[1]
                guard terms.contains(where: { $0.label == label }) else {
                    throw TrainingError.invalidConfiguration("optimizer state: '\(key)' names no strategy of this run")
                }
                innerSteps.pendingState[label, default: [:]][parts[2]] = value
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
}
