import Foundation
import TensorCore

/// Proxy A-distance (Ben-David et al. 2007; Ganin et al., JMLR 2016, "Domain-Adversarial Training
/// of Neural Networks", §3.2 and §5.1.5):
///
///     d_A = 2 (1 − 2ε),
///
/// where ε is the held-out error of a classifier trained to tell source from target samples.
///
/// Procedure, as implemented: both domains are subsampled (seeded) to the same size
/// m = min(n_s, n_t, maxSamplesPerDomain), so that chance error is exactly 1/2; each domain is
/// split in half at random; a `DomainClassifier` (L2-regularised logistic regression on
/// standardised features — Ganin et al. use a linear SVM, also a linear classifier) is fitted on
/// the first halves of both and ε is its error on the second halves.
///
/// ε above 1/2 means the classifier did worse than chance on held-out data, i.e. it found no
/// difference and the excess is sampling noise; the raw value 2(1 − 2ε) is then negative. DAKit
/// reports that raw value as `rawDistance` and clips `distance` to [0, 2] (the range of the
/// A-distance the proxy estimates). It does not flip the classifier to 1 − ε: choosing the
/// labelling after seeing the test error would be fitting on the test half.
///
/// A linear classifier only sees differences a hyperplane can separate (e.g. it hardly sees a
/// rotation of the two-moons data about their centre); `options.hiddenUnits > 0` uses a one-hidden-
/// layer MLP instead (initialised from `seed`), which bounds the A-distance from below more tightly.
public struct ProxyADistance: Sendable, Codable, Equatable {
    /// d_A clipped to [0, 2].
    public var distance: Double
    /// 2(1 − 2ε) before clipping (negative when ε > 1/2).
    public var rawDistance: Double
    /// Held-out error ε of the domain classifier.
    public var heldOutError: Double
    /// Samples per domain used for training and for testing the classifier.
    public var trainingCountPerDomain: Int
    public var testCountPerDomain: Int

    /// Estimates d_A between the rows of `source` and `target` (inputs with more than two axes are
    /// flattened). `seed` fixes the subsampling and the split.
    public static func estimate(
        source: Tensor, target: Tensor, seed: UInt64 = 0, maxSamplesPerDomain: Int? = nil,
        options: DomainClassifier.Options = DomainClassifier.Options()
    ) -> ProxyADistance {
        let s = DomainClassifier.matrix(source, name: "source")
        let t = DomainClassifier.matrix(target, name: "target")
        precondition(
            s.shape[1] == t.shape[1],
            "ProxyADistance: source features of shape \(source.shape) and target features of shape \(target.shape) differ in width")
        var m = Swift.min(s.shape[0], t.shape[0])
        if let cap = maxSamplesPerDomain {
            precondition(cap >= 2, "ProxyADistance: maxSamplesPerDomain \(cap) must be at least 2")
            m = Swift.min(m, cap)
        }
        precondition(
            m >= 2, "ProxyADistance: needs at least 2 samples per domain, got \(s.shape[0]) source and \(t.shape[0]) target")
        let root = SeededGenerator(seed: seed)
        var sourceRNG = root.fork("proxyADistance.source")
        var targetRNG = root.fork("proxyADistance.target")
        let sourceRows = sourceRNG.sample(s.shape[0], size: m)
        let targetRows = targetRNG.sample(t.shape[0], size: m)
        let half = m / 2
        var options = options
        options.seed = seed
        let classifier = DomainClassifier(
            source: s.gathering(rows: Array(sourceRows[..<half])),
            target: t.gathering(rows: Array(targetRows[..<half])),
            options: options)
        let epsilon = classifier.error(
            source: s.gathering(rows: Array(sourceRows[half...])),
            target: t.gathering(rows: Array(targetRows[half...])))
        let raw = 2 * (1 - 2 * epsilon)
        return ProxyADistance(
            distance: Swift.min(2, Swift.max(0, raw)), rawDistance: raw, heldOutError: epsilon,
            trainingCountPerDomain: half, testCountPerDomain: m - half)
    }
}
