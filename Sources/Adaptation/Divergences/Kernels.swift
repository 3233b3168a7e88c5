import Foundation
import TensorCore

/// How the bandwidths of Gaussian kernels k(x, y) = exp(−‖x − y‖² / (2σ²)) are chosen.
///
/// The data-driven rules compute a base squared distance from the *pooled* sample Z = S ∪ T over
/// all distinct pairs {i ≠ j} (the zero self-distances are excluded), on detached values (no
/// gradient flows through the bandwidth), and give one kernel per multiplier with
/// σ² = base × multiplier. When every pair is at distance 0 (all points identical) the base is
/// taken as 1: every kernel value is then 1 whatever σ is, so the choice does not change the MMD.
public enum BandwidthRule: Sendable, Equatable {
    /// One Gaussian kernel with this σ.
    case fixed(sigma: Float)
    /// σ² = median pairwise squared distance × each multiplier (the DAN paper centres its
    /// family 2^−8 … 2^8 on the median heuristic; Gretton et al. 2012).
    case median(multipliers: [Float])
    /// σ² = mean pairwise squared distance × each multiplier (the common DAN code: 5 kernels,
    /// multipliers 2^k, k = −2…2).
    case mean(multipliers: [Float])

    /// The multipliers 2^k, k = −2…2, used by the common DAN implementations.
    public static let danMultipliers: [Float] = [0.25, 0.5, 1, 2, 4]

    /// The DAN paper's family (Long et al. 2015, §4: bandwidths 2^−8 γ … 2^8 γ with a multiplicative
    /// step of 2^½, γ the median heuristic): 2^(−8 + k/2), k = 0…32, 33 kernels. skada's DAN loss
    /// uses the same 33 factors (on a kernel of the unsquared distance).
    public static let long2015Multipliers: [Float] = (0...32).map { Float(pow(2, -8 + Double($0) / 2)) }
}

/// The kernel of an MMD estimate.
public enum MMDKernel: Sendable, Equatable {
    /// k(x, y) = xᵀy. The biased MMD² is then ‖mean(S) − mean(T)‖² (DDC with a linear kernel).
    case linear
    /// The *sum* Σ_k exp(−‖x − y‖² / (2σ_k²)) over the bandwidths the rule gives (one for
    /// `.fixed`). DAN (Long et al. 2015) uses a convex combination Σ β_k k_σk with Σ β_k = 1; the
    /// sum equals K times the equal-weight combination, so a recipe weight of 1/K recovers it.
    case gaussian(BandwidthRule)
}

/// Pairwise squared Euclidean distances and kernel matrices built from differentiable primitives.
public enum Kernels {
    /// D_ij = ‖a_i − b_j‖² = ‖a_i‖² + ‖b_j‖² − 2 a_iᵀ b_j for rows a_i of `a` (n×d) and b_j of
    /// `b` (m×d), as an n×m Variable (one matmul; differentiable in both inputs). Rounding can
    /// leave entries of order 1e−7·‖x‖² below zero; they are not clipped, so the gradient stays
    /// that of the formula.
    public static func pairwiseSquaredDistances(_ a: Variable, _ b: Variable) -> Variable {
        precondition(
            a.value.rank == 2 && b.value.rank == 2 && a.shape[1] == b.shape[1],
            "pairwiseSquaredDistances: expects n×d and m×d matrices, got shapes \(a.shape) and \(b.shape)")
        let aNorms = (a * a).sum(axis: 1, keepDims: true)  // n×1
        let bNorms = (b * b).sum(axis: 1, keepDims: true).reshaped([1, b.shape[0]])  // 1×m
        return aNorms + bNorms - 2 * Variable.matmul(a, b, transposeB: true)
    }

    /// k(a_i, b_i) for matching rows of a and b (both n×d): a vector of n values.
    static func rowwise(_ a: Variable, _ b: Variable, kernel: MMDKernel, squaredBandwidths: [Float]) -> Variable {
        switch kernel {
        case .linear:
            return (a * b).sum(axis: 1)
        case .gaussian:
            let difference = a - b
            let d = (difference * difference).sum(axis: 1)
            return gaussianSum(squaredDistances: d, squaredBandwidths: squaredBandwidths)
        }
    }

    /// Σ_k exp(−D / (2σ_k²)).
    static func gaussianSum(squaredDistances d: Variable, squaredBandwidths: [Float]) -> Variable {
        precondition(!squaredBandwidths.isEmpty, "Gaussian kernel: no bandwidth given")
        var total: Variable?
        for sigma2 in squaredBandwidths {
            precondition(
                sigma2.isFinite && sigma2 > 0, "Gaussian kernel: squared bandwidth σ² = \(sigma2) must be positive and finite")
            let k = (d * (-1 / (2 * sigma2))).exp()
            total = total.map { $0 + k } ?? k
        }
        return total!
    }

    /// The squared bandwidths σ_k² that `rule` gives for the pooled sample of `source` and
    /// `target` (rows). Uses detached values.
    public static func squaredBandwidths(source: Tensor, target: Tensor, rule: BandwidthRule) -> [Float] {
        if case .fixed = rule { return squaredBandwidths(rule: rule, within: [], between: []) }
        let s = Variable(source), t = Variable(target)
        return squaredBandwidths(
            rule: rule, within: [pairwiseSquaredDistances(s, s).value, pairwiseSquaredDistances(t, t).value],
            between: [pairwiseSquaredDistances(s, t).value])
    }

    /// The rule applied to already computed squared distances: the strict upper triangles of the
    /// square within-domain matrices and every entry of the between-domain matrices together make
    /// up all distinct pairs of the pooled sample.
    static func squaredBandwidths(rule: BandwidthRule, within: [Tensor], between: [Tensor]) -> [Float] {
        switch rule {
        case .fixed(let sigma):
            precondition(sigma.isFinite && sigma > 0, "BandwidthRule.fixed: σ = \(sigma) must be positive and finite")
            return [sigma * sigma]
        case .median(let multipliers), .mean(let multipliers):
            precondition(!multipliers.isEmpty, "BandwidthRule: empty list of multipliers")
            for m in multipliers {
                precondition(m.isFinite && m > 0, "BandwidthRule: multiplier \(m) must be positive and finite")
            }
            var pairs: [Float] = []
            pairs.reserveCapacity(within.reduce(0) { $0 + $1.count / 2 } + between.reduce(0) { $0 + $1.count })
            for d in within {
                let n = d.shape[0]
                d.scalars.withUnsafeBufferPointer { p in
                    for i in 0..<n {
                        for j in (i + 1)..<n { pairs.append(Swift.max(0, p[i * n + j])) }
                    }
                }
            }
            for d in between { pairs.append(contentsOf: d.scalars.lazy.map { Swift.max(0, $0) }) }
            precondition(!pairs.isEmpty, "BandwidthRule: needs at least two samples in all")
            var base: Double
            if case .median = rule {
                base = median(&pairs)
            } else {
                base = pairs.reduce(0.0) { $0 + Double($1) } / Double(pairs.count)
            }
            if !(base > 0) || !base.isFinite { base = 1 }
            return multipliers.map { Float(base) * $0 }
        }
    }

    /// Median (the two middle values averaged for an even count); reorders `values`. Up to 1 023
    /// values by quickselect; more (the squared distances of a diagnostic's 300 + 300 points are
    /// 180 000) by `radixSelect`, whose passes do not branch on the data: quickselect's partition
    /// mispredicted about every other comparison and took 8 ms there. The k-th smallest value is
    /// the same whichever way it is found.
    static func median(_ values: inout [Float]) -> Double {
        let count = values.count
        if count >= 1024, let upper = radixSelect(values, count / 2) {
            if count % 2 == 1 { return Double(upper) }
            return (Double(radixSelect(values, count / 2 - 1)!) + Double(upper)) / 2
        }
        let upper = select(&values, count / 2)
        if count % 2 == 1 { return Double(upper) }
        // After selection every element before position count/2 is ≤ it: the lower middle is their maximum.
        let lower = values[..<(count / 2)].max()!
        return (Double(lower) + Double(upper)) / 2
    }

    /// The k-th smallest (0-based) of values that are ≥ 0 or −0, by their bit patterns, which order
    /// like the values (−0 counted as +0): three counting passes over 11, 11 and 10 bits, each
    /// keeping the values that share the bits fixed so far. nil when a value is NaN or negative.
    static func radixSelect(_ values: [Float], _ k: Int) -> Float? {
        precondition(k >= 0 && k < values.count, "radixSelect: rank \(k) of \(values.count) values")
        var prefix: UInt32 = 0
        var prefixMask: UInt32 = 0
        var rank = k
        var counts = [Int](repeating: 0, count: 1 << 11)
        for (shift, width) in [(21, 11), (10, 11), (0, 10)] as [(UInt32, UInt32)] {
            let digitMask = (UInt32(1) << width) - 1
            var invalid = false
            counts.withUnsafeMutableBufferPointer { c in
                c.update(repeating: 0)
                values.withUnsafeBufferPointer { p in
                    for v in p {
                        let bits = v.bitPattern == 0x8000_0000 ? 0 : v.bitPattern
                        // Negative values have the sign bit; NaN lies above +∞.
                        if bits > 0x7F80_0000 { invalid = true }
                        if bits & prefixMask == prefix { c[Int((bits >> shift) & digitMask)] += 1 }
                    }
                }
            }
            if invalid { return nil }
            var digit = 0
            while rank >= counts[digit] {
                rank -= counts[digit]
                digit += 1
            }
            prefix |= UInt32(digit) << shift
            prefixMask |= digitMask << shift
        }
        return Float(bitPattern: prefix)
    }

    /// The k-th smallest element (0-based), leaving everything before position k ≤ it and
    /// everything after ≥ it (Hoare partition around a median-of-three pivot).
    static func select(_ values: inout [Float], _ k: Int) -> Float {
        values.withUnsafeMutableBufferPointer { a in
            var lo = 0, hi = a.count - 1
            while lo < hi {
                let x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi]
                let pivot = Swift.max(Swift.min(x, y), Swift.min(Swift.max(x, y), z))
                var i = lo, j = hi
                while i <= j {
                    while a[i] < pivot { i += 1 }
                    while a[j] > pivot { j -= 1 }
                    if i <= j {
                        a.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                if k <= j {
                    hi = j
                } else if k >= i {
                    lo = i
                } else {
                    return a[k]
                }
            }
            return a[k]
        }
    }
}
