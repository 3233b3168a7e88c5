import Foundation

/// A mean with its two-sided 95 % confidence interval (Student t with n − 1 degrees of freedom;
/// `low == high == mean` for a single value).
public struct Interval: Sendable, Codable, Equatable {
    public var mean: Double
    public var low: Double
    public var high: Double
    public var count: Int

    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let n = Double(values.count)
        mean = values.reduce(0, +) / n
        count = values.count
        guard values.count > 1 else {
            (low, high) = (mean, mean)
            return
        }
        let m = mean
        let sd = (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot()
        let half = Statistics.tQuantile975(degreesOfFreedom: values.count - 1) * sd / n.squareRoot()
        (low, high) = (mean - half, mean + half)
    }
}

/// The few statistics the reports need, written out (no dependency).
public enum Statistics {
    /// The 97.5 % quantile of Student's t with `degreesOfFreedom` ≥ 1: tabulated to 30, then the
    /// Cornish–Fisher expansion around the normal quantile (error < 1e-3 beyond 30).
    public static func tQuantile975(degreesOfFreedom df: Int) -> Double {
        precondition(df >= 1, "tQuantile975: degrees of freedom \(df) must be at least 1")
        let table: [Double] = [
            12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
            2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
        ]
        if df <= table.count { return table[df - 1] }
        let z = 1.959963984540054
        let v = Double(df)
        return z + (z * z * z + z) / (4 * v) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v)
    }

    /// Two-sided p-value of Student's t statistic `t` with `df` degrees of freedom:
    /// p = I_{df/(df+t²)}(df/2, 1/2), the regularised incomplete beta function.
    public static func twoSidedP(t: Double, degreesOfFreedom df: Int) -> Double {
        precondition(df >= 1, "twoSidedP: degrees of freedom \(df) must be at least 1")
        guard t.isFinite else { return t.isNaN ? .nan : 0 }
        let v = Double(df)
        return min(1, max(0, regularizedIncompleteBeta(x: v / (v + t * t), a: v / 2, b: 0.5)))
    }

    /// I_x(a, b) by the continued fraction (modified Lentz), using the symmetry
    /// I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
    public static func regularizedIncompleteBeta(x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let logFront = logGammas + logPowers
        if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(x: 1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...300 {
            let m = Double(m)
            // Even step: d_{2m} = m(b − m)x / ((a + 2m − 1)(a + 2m)).
            var numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + numerator * d
            c = 1 + numerator / c
            if abs(d) < tiny { d = tiny }
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            f *= d * c
            // Odd step: d_{2m+1} = −(a + m)(a + b + m)x / ((a + 2m)(a + 2m + 1)).
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + numerator * d
            c = 1 + numerator / c
            if abs(d) < tiny { d = tiny }
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            f *= delta
            if abs(delta - 1) < 1e-14 { break }
        }
        return exp(logFront) * f / a
    }

    /// Paired t-test of `a` against `b` (same seeds, same order): mean difference a − b with its
    /// 95 % interval and the two-sided p-value; nil with fewer than two pairs. Equal pairs give
    /// p = 1; a constant non-zero difference gives p = 0.
    public static func pairedTest(_ a: [Double], _ b: [Double]) -> (difference: Interval, p: Double)? {
        precondition(a.count == b.count, "pairedTest: \(a.count) values against \(b.count)")
        guard a.count >= 2, let interval = Interval(zip(a, b).map { $0 - $1 }) else { return nil }
        let differences = zip(a, b).map { $0 - $1 }
        let n = Double(differences.count)
        let sd = (differences.map { ($0 - interval.mean) * ($0 - interval.mean) }.reduce(0, +) / (n - 1)).squareRoot()
        if sd == 0 { return (interval, interval.mean == 0 ? 1 : 0) }
        let t = interval.mean / (sd / n.squareRoot())
        return (interval, twoSidedP(t: t, degreesOfFreedom: differences.count - 1))
    }

    /// Spearman's rank correlation (average ranks for ties); nil with fewer than three pairs or
    /// when either side is constant.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "spearman: \(x.count) values against \(y.count)")
        guard x.count >= 3 else { return nil }
        func ranks(_ v: [Double]) -> [Double] {
            let order = v.indices.sorted { v[$0] < v[$1] }
            var r = [Double](repeating: 0, count: v.count)
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
                let average = Double(i + j) / 2 + 1
                for k in i...j { r[order[k]] = average }
                i = j + 1
            }
            return r
        }
        let (rx, ry) = (ranks(x), ranks(y))
        let n = Double(x.count)
        let (mx, my) = (rx.reduce(0, +) / n, ry.reduce(0, +) / n)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(rx, ry) {
            sxy += (a - mx) * (b - my)
            sxx += (a - mx) * (a - mx)
            syy += (b - my) * (b - my)
        }
        guard sxx > 0, syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }
}
