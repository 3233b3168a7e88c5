import NN
import TensorCore

/// Joint MMD² (JMMD, Long, Zhu, Wang & Jordan, ICML 2017, eq. 10–12): the MMD² of the *product*
/// kernel k(z, z′) = Π_ℓ k_ℓ(z^ℓ, z′^ℓ) over the layers ℓ, each `source[ℓ]` / `target[ℓ]` an
/// n_s × d_ℓ / n_t × d_ℓ batch (rows are samples, the same rows in every layer):
///
///     biased:   mean Π_ℓ K^ℓ_ss + mean Π_ℓ K^ℓ_tt − 2 mean Π_ℓ K^ℓ_st          (diagonals included)
///     unbiased: Σ_{i≠j} Π_ℓ K^ℓ_ss,ij / (n_s(n_s − 1)) + Σ_{i≠j} Π_ℓ K^ℓ_tt,ij / (n_t(n_t − 1)) − 2 mean Π_ℓ K^ℓ_st
///     linear:   (2/m) Σ_i [k(s_{2i}, s_{2i+1}) + k(t_{2i}, t_{2i+1}) − k(s_{2i}, t_{2i+1}) − k(s_{2i+1}, t_{2i})]
///
/// with each layer's kernel as in `MMD.loss` (a Gaussian family's bandwidths from that layer's pooled,
/// detached distances; the *sum* over the family's bandwidths, as DAN and Transfer-Learning-Library).
/// With one layer it equals `MMD.loss`. Neither clipped nor shifted: the unbiased and linear
/// estimates can be negative.
public func jointMMDLoss(source: [Variable], target: [Variable], kernels: [MMDKernel], estimator: MMDEstimator) -> Variable {
    precondition(
        !source.isEmpty && source.count == target.count && source.count == kernels.count,
        "jointMMDLoss: \(source.count) source layers, \(target.count) target layers, \(kernels.count) kernels")
    let s = source.map { MMD.asMatrix($0, name: "source") }
    let t = target.map { MMD.asMatrix($0, name: "target") }
    let ns = s[0].shape[0], nt = t[0].shape[0]
    for (l, (a, b)) in zip(s, t).enumerated() {
        precondition(
            a.shape[0] == ns && b.shape[0] == nt && a.shape[1] == b.shape[1],
            "jointMMDLoss: layer \(l) has shapes \(a.shape) and \(b.shape); expected \(ns) and \(nt) rows of one width")
    }
    func product(_ factors: [Variable]) -> Variable { factors.dropFirst().reduce(factors[0]) { $0 * $1 } }
    switch estimator {
    case .biased, .unbiased:
        let minimum = estimator == .biased ? 1 : 2
        precondition(
            ns >= minimum && nt >= minimum,
            "jointMMDLoss (\(estimator.rawValue)): needs at least \(minimum) samples per domain, got \(ns) and \(nt)")
        let matrices = (0..<s.count).map { kernelMatrices(s[$0], t[$0], kernel: kernels[$0]) }
        let kss = product(matrices.map(\.ss)), ktt = product(matrices.map(\.tt)), kst = product(matrices.map(\.st))
        let between = MMD.sum(kst, skippingDiagonal: false) / Float(ns * nt)
        if estimator == .biased {
            return MMD.sum(kss, skippingDiagonal: false) / Float(ns * ns) + MMD.sum(ktt, skippingDiagonal: false) / Float(nt * nt) - 2 * between
        }
        return MMD.sum(kss, skippingDiagonal: true) / Float(ns * (ns - 1)) + MMD.sum(ktt, skippingDiagonal: true) / Float(nt * (nt - 1))
            - 2 * between
    case .linear:
        let m = MMD.linearTimeSampleCount(sourceCount: ns, targetCount: nt)
        precondition(m >= 2, "jointMMDLoss (linear): needs at least 2 samples per domain, got \(ns) and \(nt)")
        let even = Array(stride(from: 0, to: m, by: 2))
        let odd = even.map { $0 + 1 }
        var ss: [Variable] = [], tt: [Variable] = [], st: [Variable] = [], ts: [Variable] = []
        for l in 0..<s.count {
            var sigma2: [Float] = []
            if case .gaussian(let rule) = kernels[l] { sigma2 = Kernels.squaredBandwidths(source: s[l].value, target: t[l].value, rule: rule) }
            let s0 = s[l].gathering(rows: even), s1 = s[l].gathering(rows: odd)
            let t0 = t[l].gathering(rows: even), t1 = t[l].gathering(rows: odd)
            ss.append(Kernels.rowwise(s0, s1, kernel: kernels[l], squaredBandwidths: sigma2))
            tt.append(Kernels.rowwise(t0, t1, kernel: kernels[l], squaredBandwidths: sigma2))
            st.append(Kernels.rowwise(s0, t1, kernel: kernels[l], squaredBandwidths: sigma2))
            ts.append(Kernels.rowwise(s1, t0, kernel: kernels[l], squaredBandwidths: sigma2))
        }
        let h = product(ss) + product(tt) - product(st) - product(ts)
        return MMD.sum(h, skippingDiagonal: false) / Float(h.shape[0])
    }
}

/// K_ss, K_tt and K_st of one layer; a Gaussian family's bandwidths come from the pooled distances (detached).
private func kernelMatrices(_ s: Variable, _ t: Variable, kernel: MMDKernel) -> (ss: Variable, tt: Variable, st: Variable) {
    switch kernel {
    case .linear:
        return (Variable.matmul(s, s, transposeB: true), Variable.matmul(t, t, transposeB: true), Variable.matmul(s, t, transposeB: true))
    case .gaussian(let rule):
        let dss = Kernels.pairwiseSquaredDistances(s, s)
        let dtt = Kernels.pairwiseSquaredDistances(t, t)
        let dst = Kernels.pairwiseSquaredDistances(s, t)
        let sigma2 = Kernels.squaredBandwidths(rule: rule, within: [dss.value, dtt.value], between: [dst.value])
        return (
            Kernels.gaussianSum(squaredDistances: dss, squaredBandwidths: sigma2), Kernels.gaussianSum(squaredDistances: dtt, squaredBandwidths: sigma2),
            Kernels.gaussianSum(squaredDistances: dst, squaredBandwidths: sigma2)
        )
    }
}

/// Joint adaptation networks, JAN (Long, Zhu, Wang & Jordan, ICML 2017, "Deep Transfer Learning with
/// Joint Adaptation Networks"): align the *joint* distribution of the features z and the classifier's
/// predictions ŷ = softmax(logits) across domains, rather than each marginal (DAN).
///
/// Equation as implemented (`jointMMDLoss` over the two layers):
///
///     term = weight · λ(p) · JMMD²((z_s, ŷ_s), (z_t, ŷ_t)),   k((z, ŷ), (z′, ŷ′)) = k_z(z, z′) · k_ŷ(ŷ, ŷ′)
///     k_z = Σ_m exp(−‖z − z′‖² / (2 σ_m²)),  σ_m² = m · mean pairwise ‖z_i − z_j‖² of the pooled batch (detached),
///           m ∈ `multipliers` = 2^k, k = −3 … 1
///     k_ŷ = exp(−‖ŷ − ŷ′‖² / (2 · 0.92²))
///     λ(p) = 2 / (1 + exp(−10 p)) − 1
///
/// Choices, checked against Transfer-Learning-Library (`tllib/alignment/jan.py` and its JAN example):
/// - the feature family and σ_ŷ = 0.92 are tllib's example defaults (`GaussianKernel(alpha=2 ** k) for
///   k in range(-3, 2)` and `GaussianKernel(sigma=0.92)`). tllib's mean runs over all (2n)² entries of the
///   distance matrix, zeros of the diagonal included; ours (`BandwidthRule.mean`) over distinct pairs
///   only, so our σ² is larger by the factor 2n/(2n − 1) (3 % at n = 32).
/// - `estimator: unbiased` (the quadratic U-statistic) by default: tllib's example runs the quadratic
///   estimate (its `--linear` flag is off by default), whose index matrix is exactly this U-statistic;
///   tllib then adds 2/(n − 1) "to ensure the loss is positive", which we do not (a constant changes no
///   gradient, and an unbiased estimate may be negative). The paper trains with the linear-time estimate
///   (`estimator: linear`, Gretton's disjoint quad-tuples; tllib's linear variant pairs neighbours
///   cyclically instead): it exists for batches of thousands; at our batch sizes (32–64) the quadratic
///   one costs nothing and has a much smaller variance.
/// - ŷ is not detached: the joint term trains the classifier too (paper and tllib).
/// - λ follows DANN's ramp by default, so the joint term, which reads the predictions, starts at 0 while
///   they are still noise; the recipe can set `schedule: constant` (tllib's trade-off is a constant 1).
/// Options: `layer` (features), `bandwidthRule` (mean | median | fixed) with `multipliers` or `sigma`,
/// `predictionSigma` (0.92), `estimator`. Diagnostics: term `jmmd`.
public final class JANStrategy: AdaptationStrategy {
    /// The multipliers 2^k, k = −3…1, of Transfer-Learning-Library's JAN feature kernels.
    public static let janMultipliers: [Float] = [0.125, 0.25, 0.5, 1, 2]

    /// The options with their defaults: the one place the defaults are written.
    public static let optionSpecs: [StrategyOptionSpec] = [
        StrategyOptionSpec("layer", default: .string("features"), "representation z joined with the predictions: extractor | features | logits",
            domain: .choice(FeatureLayer.allCases.map(\.rawValue))),
        StrategyOptionSpec("bandwidthRule", default: .string("mean"), "feature kernel bandwidths: mean | median (× each multiplier) | fixed (sigma)",
            domain: .choice(["mean", "median", "fixed"])),
        StrategyOptionSpec(
            "multipliers", default: .list(janMultipliers.map { .number(Double($0)) }), "feature kernels: σ² = base × each multiplier (mean/median rules)",
            domain: .numbers(.aboveUpTo(0, 1e6), count: 1...32)),
        StrategyOptionSpec("sigma", default: .number(1), "σ of the feature kernel under the fixed rule", domain: .number(.aboveUpTo(0, 1e6))),
        StrategyOptionSpec("predictionSigma", default: .number(0.92), "σ of the Gaussian kernel on the softmax predictions",
            domain: .number(.aboveUpTo(0, 1e6))),
        StrategyOptionSpec("estimator", default: .string("unbiased"), "biased | unbiased | linear", domain: .choice(MMDEstimator.allCases.map(\.rawValue))),
    ]

    public let name = "jan"
    public let layer: FeatureLayer
    public let featureKernel: MMDKernel
    public let predictionSigma: Float
    public let estimator: MMDEstimator

    public init(
        layer: FeatureLayer = .features, featureRule: BandwidthRule = .mean(multipliers: janMultipliers),
        predictionSigma: Float = Float(optionSpecs.defaultNumber("predictionSigma")),
        estimator: MMDEstimator = MMDEstimator(rawValue: optionSpecs.defaultString("estimator"))!
    ) {
        precondition(predictionSigma > 0 && predictionSigma.isFinite, "JANStrategy: predictionSigma \(predictionSigma) must be positive")
        self.layer = layer
        featureKernel = .gaussian(featureRule)
        self.predictionSigma = predictionSigma
        self.estimator = estimator
    }

    /// JMMD² of (z, softmax(logits)) between the domains.
    public func jointDiscrepancy(sourceFeatures: Variable, targetFeatures: Variable, sourceLogits: Variable, targetLogits: Variable) -> Variable {
        jointMMDLoss(
            source: [sourceFeatures, sourceLogits.softmax(axis: 1)], target: [targetFeatures, targetLogits.softmax(axis: 1)],
            kernels: [featureKernel, .gaussian(.fixed(sigma: predictionSigma))], estimator: estimator)
    }

    public func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss {
        let (zs, zt) = batch.representation(layer)
        let jmmd = jointDiscrepancy(sourceFeatures: zs, targetFeatures: zt, sourceLogits: batch.sourceLogits, targetLogits: batch.targetLogits)
        return StrategyLoss(jmmd, terms: ["jmmd": jmmd.value.scalar])
    }

    public static var entry: StrategyEntry {
        StrategyEntry(
            name: "jan",
            summary: "JAN: joint MMD² of features and softmax predictions (product kernel: 5 Gaussians on z × Gaussian σ 0.92 on ŷ), unbiased estimator.",
            paper: "Long, Zhu, Wang & Jordan, ICML 2017, 'Deep Transfer Learning with Joint Adaptation Networks'",
            options: optionSpecs, defaultWeight: 1, defaultSchedule: .dannRamp(gamma: 10)
        ) { options, _ in
            let name = options.owner
            let layer = try layerOption(options, default: FeatureLayer(rawValue: optionSpecs.defaultString("layer"))!)
            let rule = try options.choice("bandwidthRule", default: optionSpecs.defaultString("bandwidthRule"), allowed: ["mean", "median", "fixed"])
            let multipliers = try options.doubles("multipliers", default: janMultipliers.map(Double.init)).map(Float.init)
            guard !multipliers.isEmpty, multipliers.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw StrategyError.invalidValue(strategy: name, key: "multipliers", message: "must be positive and non-empty, got \(multipliers)")
            }
            let sigma = try options.float("sigma", default: Float(optionSpecs.defaultNumber("sigma")))
            let predictionSigma = try options.float("predictionSigma", default: Float(optionSpecs.defaultNumber("predictionSigma")))
            for (key, value) in [("sigma", sigma), ("predictionSigma", predictionSigma)] where !(value > 0 && value.isFinite) {
                throw StrategyError.invalidValue(strategy: name, key: key, message: "must be positive, got \(value)")
            }
            let estimator = try options.choice("estimator", default: optionSpecs.defaultString("estimator"), allowed: MMDEstimator.allCases.map(\.rawValue))
            let featureRule: BandwidthRule
            switch rule {
            case "fixed": featureRule = .fixed(sigma: sigma)
            case "median": featureRule = .median(multipliers: multipliers)
            default: featureRule = .mean(multipliers: multipliers)
            }
            return JANStrategy(layer: layer, featureRule: featureRule, predictionSigma: predictionSigma, estimator: MMDEstimator(rawValue: estimator)!)
        }
    }
}
