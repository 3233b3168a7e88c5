import TensorCore

/// Finite-difference gradient checking for tests.
///
/// Compares the autodiff gradient of `f` (summed to a scalar with fixed random weights, so that
/// every output element matters) against central differences (f(x + h) − f(x − h)) / 2h computed
/// in Float, at every element of every input.
public enum GradientCheck {
    public struct Mismatch: CustomStringConvertible {
        public let input: Int
        public let index: Int
        public let analytic: Float
        public let numeric: Float
        public var description: String {
            "input \(input) element \(index): autodiff \(analytic) vs finite difference \(numeric)"
        }
    }

    /// Returns the largest mismatches (empty when all agree within `atol + rtol·|numeric|`).
    public static func mismatches(
        inputs: [Tensor], step h: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3, seed: UInt64 = 7,
        _ f: ([Variable]) -> Variable
    ) -> [Mismatch] {
        let variables = inputs.map { Variable($0, requiresGradient: true) }
        let probe = f(variables)
        var rng = SeededGenerator(seed: seed)
        let weights = Tensor.uniform(probe.shape, low: 0.5, high: 1.5, rng: &rng)
        func scalarValue(_ xs: [Tensor]) -> Float {
            let out = f(xs.map { Variable($0) }).value
            var total: Double = 0
            for i in 0..<out.count { total += Double(out.scalars[i]) * Double(weights.scalars[i]) }
            return Float(total)
        }
        let analytic = gradients(of: probe, withRespectTo: variables, seed: weights)
        var found: [Mismatch] = []
        for (k, x) in inputs.enumerated() {
            for i in 0..<x.count {
                var plus = inputs, minus = inputs
                plus[k].scalars[i] += h
                minus[k].scalars[i] -= h
                let numeric = (scalarValue(plus) - scalarValue(minus)) / (2 * h)
                let a = analytic[k].scalars[i]
                if Swift.abs(a - numeric) > atol + rtol * Swift.abs(numeric) {
                    found.append(Mismatch(input: k, index: i, analytic: a, numeric: numeric))
                }
            }
        }
        return found
    }
}
