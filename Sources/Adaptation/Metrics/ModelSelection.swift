import Foundation
import TensorCore

/// Scores for choosing among trained models (hyper-parameters, checkpoints, methods) without
/// target labels. None of them replaces the oracle: `ModelSelection.Report` always carries the
/// labelled-target accuracy beside them where it exists, so a study can show how far each rule
/// is from it.
public enum ModelSelection {
    /// Deep Embedded Validation (You et al., ICML 2019, "Towards Accurate Model Selection in Deep
    /// Unsupervised Domain Adaptation", Algorithm 1–2): an importance-weighted source-validation
    /// risk with a control variate.
    public struct DEVEstimate: Sendable, Codable, Equatable {
        /// R_DEV = mean(L) + η·mean(W) − η (lower is better).
        public var risk: Double
        /// mean(L), the plain importance-weighted risk (IWCV).
        public var weightedRisk: Double
        /// η = −Cov(L, W) / Var(W), or 0 when Var(W) = 0.
        public var eta: Double
        /// mean(W), whose expectation is 1.
        public var meanWeight: Double
        public var count: Int
    }

    /// DEV risk from per-sample source-validation losses ℓ_i and importance weights w_i ≈
    /// p_T(x_i)/p_S(x_i):
    ///
    ///     L_i = w_i ℓ_i,   η = −Cov(L, W) / Var(W),   R_DEV = mean(L) + η·mean(W) − η,
    ///
    /// with Cov and Var both the sample (n − 1) estimates, as in the authors' code. Since
    /// E[W] = 1 the control-variate term has zero expectation and only cuts variance. When all
    /// weights are equal Var(W) = 0, η is taken as 0 and R_DEV = mean(L) (with weights 1, the
    /// plain mean loss).
    public static func deepEmbeddedValidation(losses: [Double], weights: [Double]) -> DEVEstimate {
        precondition(
            losses.count == weights.count, "deepEmbeddedValidation: \(losses.count) losses for \(weights.count) weights")
        precondition(losses.count >= 2, "deepEmbeddedValidation: needs at least 2 validation samples, got \(losses.count)")
        for (i, w) in weights.enumerated() {
            precondition(w.isFinite && w >= 0, "deepEmbeddedValidation: weight \(w) at index \(i) is not finite and ≥ 0")
        }
        let n = Double(losses.count)
        let weighted = zip(losses, weights).map { $0 * $1 }
        let meanL = importanceWeightedValidation(losses: losses, weights: weights)
        let meanW = weights.reduce(0, +) / n
        var cov = 0.0, varW = 0.0
        for (l, w) in zip(weighted, weights) {
            cov += (l - meanL) * (w - meanW)
            varW += (w - meanW) * (w - meanW)
        }
        cov /= n - 1
        varW /= n - 1
        let eta = varW > 0 ? -cov / varW : 0
        return DEVEstimate(risk: meanL + eta * meanW - eta, weightedRisk: meanL, eta: eta, meanWeight: meanW, count: losses.count)
    }

    /// Importance-weighted validation, IWCV's risk on a held-out split (Sugiyama, Krauledat,
    /// Müller, JMLR 2007, "Covariate Shift Adaptation by Importance Weighted Cross Validation"):
    ///
    ///     R_IWV = (1/n) Σ_i w_i ℓ_i    (lower is better),
    ///
    /// ℓ_i the per-sample source-validation loss and w_i ≈ p_T(x_i)/p_S(x_i) (`importanceWeights`).
    /// Unbiased for the target risk when the weights are exact, but its variance grows with the
    /// spread of the weights; DEV is this plus a control variate (`DEVEstimate.weightedRisk` holds
    /// the same number). With every weight 1 it is the plain mean loss.
    public static func importanceWeightedValidation(losses: [Double], weights: [Double]) -> Double {
        precondition(
            losses.count == weights.count, "importanceWeightedValidation: \(losses.count) losses for \(weights.count) weights")
        precondition(!losses.isEmpty, "importanceWeightedValidation: no validation samples")
        return zip(losses, weights).map { $0 * $1 }.reduce(0, +) / Double(losses.count)
    }

    /// Soft Neighborhood Density (Saito, Kim, Teterwak, Sclaroff, Darrell, Saenko, ICCV 2021, "Tune
    /// it the Right Way: Unsupervised Validation of Domain Adaptation via Soft Neighborhood Density")
    /// of N×K target logits; higher is better:
    ///
    ///     p_i = softmax(z_i),   p̂_i = p_i / ‖p_i‖₂,   s_ij = p̂_i · p̂_j   (j ≠ i),
    ///     q_ij = exp(s_ij / τ) / Σ_{k≠i} exp(s_ik / τ),   SND = (1/N) Σ_i −Σ_{j≠i} q_ij log q_ij,
    ///
    /// τ = 0.05 as in the paper. A high density means each sample has many close neighbours in
    /// prediction space — clustered, not scattered, target predictions. The diagonal is left out of
    /// each row's softmax; the authors' code fills it with −1/τ instead, which differs by a weight
    /// of at most e^−20 since s_ij ≥ 0 for probability vectors. Time O(N²K): pass a subsample of a
    /// large pool. Needs N ≥ 2 (with N = 2 each row has one neighbour and SND = 0).
    public static func softNeighborhoodDensity(logits: Tensor, temperature: Double = 0.05) -> Double {
        precondition(logits.rank == 2 && logits.shape[0] >= 2, "softNeighborhoodDensity: logits must be N×K with N ≥ 2, got \(logits.shape)")
        precondition(temperature > 0 && temperature.isFinite, "softNeighborhoodDensity: temperature \(temperature) must be > 0")
        let n = logits.shape[0], k = logits.shape[1]
        var unit = probabilities(logits)
        for i in 0..<n {
            let norm = (0..<k).map { unit[i * k + $0] * unit[i * k + $0] }.reduce(0, +).squareRoot()
            for c in 0..<k { unit[i * k + c] /= norm }
        }
        var total = 0.0
        var scaled = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<n where j != i {
                var dot = 0.0
                for c in 0..<k { dot += unit[i * k + c] * unit[j * k + c] }
                scaled[j] = dot / temperature
            }
            // H(softmax(a)) = log Σ_j e^{a_j} − Σ_j q_j a_j, with the maximum taken out for stability.
            let top = (0..<n).filter { $0 != i }.map { scaled[$0] }.max()!
            var z = 0.0, weighted = 0.0
            for j in 0..<n where j != i {
                let e = Foundation.exp(scaled[j] - top)
                z += e
                weighted += e * (scaled[j] - top)
            }
            total += Foundation.log(z) - weighted / z
        }
        return total / Double(n)
    }

    /// Information-maximisation score (Gomes, Krause, Perona, NIPS 2010, "Discriminative Clustering
    /// by Regularized Information Maximization"; a validation score in Musgrave, Belongie, Lim,
    /// "Unsupervised Domain Adaptation: A Reality Check", 2021) of N×K target logits, in nats;
    /// higher is better:
    ///
    ///     p_i = softmax(z_i),   p̄ = (1/N) Σ_i p_i,   IM = H(p̄) − (1/N) Σ_i H(p_i),   H(p) = −Σ_k p_k log p_k,
    ///
    /// the mutual information between a sample and its predicted class: high when each prediction
    /// is confident (low H(p_i)) and the classes are used evenly (high H(p̄)). Between 0 (every
    /// prediction the same) and log K. SHOT's L_IM is −IM.
    public static func informationMaximization(logits: Tensor) -> Double {
        precondition(logits.rank == 2 && logits.shape[0] > 0, "informationMaximization: logits must be N×K with N > 0, got \(logits.shape)")
        let n = logits.shape[0], k = logits.shape[1]
        let p = probabilities(logits)
        func entropy(_ q: some Sequence<Double>) -> Double { q.reduce(0) { $1 > 0 ? $0 - $1 * Foundation.log($1) : $0 } }
        var meanP = [Double](repeating: 0, count: k)
        var meanH = 0.0
        for i in 0..<n {
            let row = p[(i * k)..<((i + 1) * k)]
            for (c, v) in row.enumerated() { meanP[c] += v / Double(n) }
            meanH += entropy(row) / Double(n)
        }
        return entropy(meanP) - meanH
    }

    /// softmax(z) of N×K logits, row-major, in Double.
    static func probabilities(_ logits: Tensor) -> [Double] {
        logits.logSoftmax(axis: 1).scalars.map { Foundation.exp(Double($0)) }
    }

    /// Importance weights of source-validation samples, w(x) = (n_s / n_t) · p(target|x) / p(source|x),
    /// from a `DomainClassifier` fitted on source-training features (label source) and target
    /// features (label target) — DEV's density-ratio estimate (You et al. 2019, §4.1). The factor
    /// n_s/n_t undoes the classes' prior ratio. The log-odds are clamped to ±30 before exp so that a
    /// perfectly separable sample gives a large finite weight rather than infinity.
    public static func importanceWeights(
        sourceTrainingFeatures: Tensor, targetFeatures: Tensor, sourceValidationFeatures: Tensor,
        options: DomainClassifier.Options = DomainClassifier.Options()
    ) -> [Double] {
        let classifier = DomainClassifier(source: sourceTrainingFeatures, target: targetFeatures, options: options)
        let prior = Double(sourceTrainingFeatures.shape[0]) / Double(targetFeatures.shape[0])
        return classifier.logits(sourceValidationFeatures).map { prior * Foundation.exp(Swift.min(30, Swift.max(-30, Double($0)))) }
    }

    /// DEV end to end: weights from the features, losses = per-sample cross-entropy of the
    /// source-validation logits.
    public static func deepEmbeddedValidation(
        sourceTrainingFeatures: Tensor, sourceValidationFeatures: Tensor, sourceValidationLogits: Tensor,
        sourceValidationLabels: [Int], targetFeatures: Tensor, options: DomainClassifier.Options = DomainClassifier.Options()
    ) -> DEVEstimate {
        let weights = importanceWeights(
            sourceTrainingFeatures: sourceTrainingFeatures, targetFeatures: targetFeatures,
            sourceValidationFeatures: sourceValidationFeatures, options: options)
        return deepEmbeddedValidation(
            losses: perSampleCrossEntropy(logits: sourceValidationLogits, labels: sourceValidationLabels), weights: weights)
    }

    /// ℓ_i = −log softmax(z_i)_{y_i} for N×K logits.
    public static func perSampleCrossEntropy(logits: Tensor, labels: [Int]) -> [Double] {
        precondition(
            logits.rank == 2 && logits.shape[0] == labels.count,
            "perSampleCrossEntropy: logits of shape \(logits.shape) for \(labels.count) labels")
        let logP = logits.logSoftmax(axis: 1)
        let k = logits.shape[1]
        return labels.enumerated().map { i, y in
            precondition(y >= 0 && y < k, "perSampleCrossEntropy: label \(y) at index \(i) is outside 0..<\(k)")
            return -Double(logP.scalars[i * k + y])
        }
    }

    /// Mean prediction entropy (1/N) Σ_i −Σ_k p_ik log p_ik in nats, p = softmax(logits); lower
    /// means more confident target predictions (Morerio et al. 2018 select on it; it rewards
    /// confident mistakes too, so read it beside the others).
    public static func meanEntropy(logits: Tensor) -> Double {
        precondition(logits.rank == 2 && logits.shape[0] > 0, "meanEntropy: logits must be N×K with N > 0, got \(logits.shape)")
        let logP = logits.logSoftmax(axis: 1)
        var total = 0.0
        for v in logP.scalars where v > -Float.infinity { total -= Double(Foundation.exp(v)) * Double(v) }
        return total / Double(logits.shape[0])
    }

    /// Accuracy of arg-max predictions on the labelled source-validation split.
    public static func sourceValidationAccuracy(logits: Tensor, labels: [Int]) -> Double {
        ClassificationReport(logits: logits, labels: labels).accuracy
    }

    /// The unsupervised selection scores of one trained model, next to the oracle.
    public struct Report: Sendable, Codable, Equatable {
        /// Higher is better.
        public var sourceValidationAccuracy: Double
        /// DEV risk (cross-entropy scale); lower is better. nil when not computed.
        public var devRisk: Double?
        /// Mean target prediction entropy; lower is more confident.
        public var targetEntropy: Double
        /// Labelled-target accuracy — the oracle, for evaluation only; nil without target labels.
        public var oracleTargetAccuracy: Double?

        public init(sourceValidationAccuracy: Double, devRisk: Double?, targetEntropy: Double, oracleTargetAccuracy: Double?) {
            self.sourceValidationAccuracy = sourceValidationAccuracy
            self.devRisk = devRisk
            self.targetEntropy = targetEntropy
            self.oracleTargetAccuracy = oracleTargetAccuracy
        }
    }

    /// Which of several candidates each rule picks (index into the list), and the oracle's pick.
    public struct Choice: Sendable, Codable, Equatable {
        public var bySourceValidation: Int
        public var byDEV: Int?
        public var byEntropy: Int
        public var byOracle: Int?

        public init(bySourceValidation: Int, byDEV: Int?, byEntropy: Int, byOracle: Int?) {
            self.bySourceValidation = bySourceValidation
            self.byDEV = byDEV
            self.byEntropy = byEntropy
            self.byOracle = byOracle
        }
    }

    /// Picks the best candidate by each rule (first one on ties): max source-validation accuracy,
    /// min DEV risk (when every candidate has one), min target entropy, max oracle accuracy.
    public static func choose(_ candidates: [Report]) -> Choice {
        precondition(!candidates.isEmpty, "ModelSelection.choose: no candidates")
        func argBest(_ values: [Double], larger: Bool) -> Int {
            var best = 0
            for (i, v) in values.enumerated() where larger ? v > values[best] : v < values[best] { best = i }
            return best
        }
        let devs = candidates.compactMap(\.devRisk)
        let oracles = candidates.compactMap(\.oracleTargetAccuracy)
        return Choice(
            bySourceValidation: argBest(candidates.map(\.sourceValidationAccuracy), larger: true),
            byDEV: devs.count == candidates.count ? argBest(devs, larger: false) : nil,
            byEntropy: argBest(candidates.map(\.targetEntropy), larger: false),
            byOracle: oracles.count == candidates.count ? argBest(oracles, larger: true) : nil)
    }
}
