import Foundation
import TensorCore

/// Two-dimensional classification data under a chosen kind of dataset shift, in the spirit of
/// skada's `make_shifted_datasets` (Gnassounou et al.), written from the definitions, not the code.
///
/// `k` classes are Gaussian blobs (standard deviation `noise`) centred on a circle of radius 2
/// (class c at angle 2πc/k). With `strength` s:
///
/// - `covariate`: P(y|x) is fixed — the label is the nearest centre — and P(x) moves: target points
///   are drawn from the same blobs translated by (0, s) before being labelled by that fixed rule.
/// - `target` (label shift): P(x|y) is fixed and the class proportions change: the source is
///   balanced, the target draws class 0 with probability `ratio` and the rest evenly.
/// - `conditional`: P(y) is fixed and each class's P(x|y) moves differently: class c's target blob is
///   rotated about the origin by (c + 1)·s·15°, so the classes move by different amounts.
/// - `subspace`: the classes differ only along x₁; along x₂ the source lies at −s and the target at
///   +s (with twice the spread), so a classifier that uses x₂ does not transfer.
public enum ShiftedGenerator {
    public enum Shift: String, CaseIterable, Sendable {
        case covariate, target, conditional, subspace
    }

    public static func make(
        shift: Shift, samples: Int = 200, testSamples: Int = 500, classes: Int = 2, strength: Float = 1,
        ratio: Float = 0.9, noise: Float = 0.6, seed: UInt64 = 0
    ) -> DomainDataset {
        precondition(samples > 0 && testSamples >= 0, "shifted: sample counts must be positive, got \(samples), \(testSamples)")
        precondition(classes >= 2, "shifted: needs at least 2 classes, got \(classes)")
        precondition(ratio > 0 && ratio < 1, "shifted: ratio \(ratio) must be in (0, 1)")
        precondition(noise > 0, "shifted: noise \(noise) must be positive")
        let centres: [(Float, Float)] = (0..<classes).map { c in
            let angle = 2 * Float.pi * Float(c) / Float(classes)
            return (2 * Foundation.cos(angle), 2 * Foundation.sin(angle))
        }
        func nearest(_ x: Float, _ y: Float) -> Int {
            var best = 0
            var bestDistance = Float.infinity
            for (c, centre) in centres.enumerated() {
                let d = (x - centre.0) * (x - centre.0) + (y - centre.1) * (y - centre.1)
                if d < bestDistance { (best, bestDistance) = (c, d) }
            }
            return best
        }
        let root = SeededGenerator(seed: seed)
        func draw(_ purpose: String, count: Int, isTarget: Bool) -> DomainSplit {
            var rng = root.fork(purpose)
            var xs: [Float] = []
            var ys: [Int] = []
            for i in 0..<count {
                var label = i % classes
                if shift == .target && isTarget {
                    label = rng.nextUniform() < ratio ? 0 : 1 + rng.nextInt(below: classes - 1)
                }
                var (x, y): (Float, Float)
                switch shift {
                case .subspace:
                    let spread: Float = isTarget ? 2 : 1
                    x = (Float(label) - Float(classes - 1) / 2) * 2 + noise * rng.nextNormal()
                    y = (isTarget ? strength : -strength) + spread * 0.5 * rng.nextNormal()
                default:
                    x = centres[label].0 + noise * rng.nextNormal()
                    y = centres[label].1 + noise * rng.nextNormal()
                }
                if isTarget {
                    switch shift {
                    case .covariate:
                        y += strength
                        label = nearest(x, y)
                    case .conditional:
                        let angle = Float(label + 1) * strength * 15 * Float.pi / 180
                        let (c, s) = (Foundation.cos(angle), Foundation.sin(angle))
                        (x, y) = (c * x - s * y, s * x + c * y)
                    case .target, .subspace:
                        break
                    }
                } else if shift == .covariate {
                    label = nearest(x, y)
                }
                xs += [x, y]
                ys.append(label)
            }
            let order = rng.permutation(ys.count)
            return DomainSplit(x: Tensor(shape: [ys.count, 2], scalars: xs), y: ys).subset(order)
        }
        let description: String
        switch shift {
        case .covariate: description = "covariate shift: target inputs translated by (0, \(strength)); labels by the same nearest-centre rule"
        case .target: description = "target (label) shift: source balanced, target class 0 with probability \(ratio)"
        case .conditional: description = "conditional shift: target class c rotated by (c+1)·\(strength)·15° about the origin"
        case .subspace: description = "subspace shift: classes differ along x1 only; x2 centred at -\(strength) (source) vs +\(strength) (target)"
        }
        return DomainDataset(
            source: draw("source", count: samples, isTarget: false),
            target: draw("target", count: samples, isTarget: true),
            sourceValidation: draw("source-validation", count: max(testSamples, classes), isTarget: false),
            targetTest: draw("target-test", count: max(testSamples, classes), isTarget: true),
            classNames: (0..<classes).map { "class \($0)" },
            shiftDescription: description)
    }
}
