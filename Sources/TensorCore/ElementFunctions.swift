import Foundation

// MARK: - Element functions with a static type
//
// `Tensor.map(_:)` and `Tensor.zip(_:_:operation:_:)` take a closure. On a tensor large enough to
// be split across threads, each chunk runs in a closure of its own that captures that closure, and
// the compiler cannot inline a captured closure: the chunk's loop makes one indirect call per
// element and is not vectorised. Measured on LeNet's b128 step with two threads: the parallel relu,
// forward and backward, took four times the CPU time of the serial (inlined) loop, which cancelled
// the second core. The built-in functions below are types instead; `mapElements`/`zipElements`,
// specialised for each, inline them into every chunk's loop.

/// A function of one element, applied by `Tensor.mapElements`.
@usableFromInline
protocol UnaryElementFunction {
    func callAsFunction(_ x: Float) -> Float
}

/// A function of two elements, applied by `Tensor.zipElements`.
@usableFromInline
protocol BinaryElementFunction {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

/// A closure as an element function (the public closure-taking `map`).
@usableFromInline
struct UnaryClosure: UnaryElementFunction {
    @usableFromInline let body: (Float) -> Float
    @inlinable init(_ body: @escaping (Float) -> Float) { self.body = body }
    @inlinable func callAsFunction(_ x: Float) -> Float { body(x) }
}

/// A closure as an element function (the public closure-taking `zip`).
@usableFromInline
struct BinaryClosure: BinaryElementFunction {
    @usableFromInline let body: (Float, Float) -> Float
    @inlinable init(_ body: @escaping (Float, Float) -> Float) { self.body = body }
    @inlinable func callAsFunction(_ a: Float, _ b: Float) -> Float { body(a, b) }
}

/// The element functions TensorCore's own operations use.
@usableFromInline
enum ElementFunction {
    @usableFromInline struct Add: BinaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b }
    }
    @usableFromInline struct Subtract: BinaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b }
    }
    @usableFromInline struct Multiply: BinaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b }
    }
    @usableFromInline struct Divide: BinaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b }
    }
    @usableFromInline struct Maximum: BinaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ a: Float, _ b: Float) -> Float { Swift.max(a, b) }
    }
    @usableFromInline struct Minimum: BinaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ a: Float, _ b: Float) -> Float { Swift.min(a, b) }
    }
    /// x + s (and x − s as x + (−s), which IEEE arithmetic makes the same number).
    @usableFromInline struct AddScalar: UnaryElementFunction {
        @usableFromInline let scalar: Float
        @inlinable init(_ scalar: Float) { self.scalar = scalar }
        @inlinable func callAsFunction(_ x: Float) -> Float { x + scalar }
    }
    @usableFromInline struct MultiplyScalar: UnaryElementFunction {
        @usableFromInline let scalar: Float
        @inlinable init(_ scalar: Float) { self.scalar = scalar }
        @inlinable func callAsFunction(_ x: Float) -> Float { x * scalar }
    }
    /// s − x.
    @usableFromInline struct SubtractFromScalar: UnaryElementFunction {
        @usableFromInline let scalar: Float
        @inlinable init(_ scalar: Float) { self.scalar = scalar }
        @inlinable func callAsFunction(_ x: Float) -> Float { scalar - x }
    }
    @usableFromInline struct Negate: UnaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ x: Float) -> Float { -x }
    }
    @usableFromInline struct DivideBy: UnaryElementFunction {
        @usableFromInline let divisor: Float
        @inlinable init(_ divisor: Float) { self.divisor = divisor }
        @inlinable func callAsFunction(_ x: Float) -> Float { x / divisor }
    }
    @usableFromInline struct ReLU: UnaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 }
    }
    /// g where x > 0, else 0 (the gradient of relu at x, times g).
    @usableFromInline struct ReLUBackward: BinaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : 0 }
    }
    @usableFromInline struct LeakyReLU: UnaryElementFunction {
        @usableFromInline let slope: Float
        @inlinable init(slope: Float) { self.slope = slope }
        @inlinable func callAsFunction(_ x: Float) -> Float { x > 0 ? x : slope * x }
    }
    @usableFromInline struct LeakyReLUBackward: BinaryElementFunction {
        @usableFromInline let slope: Float
        @inlinable init(slope: Float) { self.slope = slope }
        @inlinable func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : slope * g }
    }
    @usableFromInline struct Square: UnaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ x: Float) -> Float { x * x }
    }
    @usableFromInline struct Exp: UnaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ x: Float) -> Float { Foundation.exp(x) }
    }
    @usableFromInline struct Log: UnaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ x: Float) -> Float { Foundation.log(x) }
    }
    @usableFromInline struct SquareRoot: UnaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ x: Float) -> Float { x.squareRoot() }
    }
    @usableFromInline struct Absolute: UnaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ x: Float) -> Float { Swift.abs(x) }
    }
    @usableFromInline struct Clamp: UnaryElementFunction {
        @usableFromInline let lower: Float
        @usableFromInline let upper: Float
        @inlinable init(lower: Float, upper: Float) {
            self.lower = lower
            self.upper = upper
        }
        @inlinable func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x, lower), upper) }
    }
    /// The logistic function, without overflow for large |x|.
    @usableFromInline struct Sigmoid: UnaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ x: Float) -> Float {
            x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
        }
    }
    @usableFromInline struct Tanh: UnaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ x: Float) -> Float { Foundation.tanh(x) }
    }
    /// g · y · (1 − y), the gradient of the logistic function given its output y, times g.
    @usableFromInline struct SigmoidBackward: BinaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ g: Float, _ y: Float) -> Float { g * y * (1 - y) }
    }
    /// g · (1 − y²), the gradient of tanh given its output y, times g.
    @usableFromInline struct TanhBackward: BinaryElementFunction {
        @inlinable init() {}
        @inlinable func callAsFunction(_ g: Float, _ y: Float) -> Float { g * (1 - y * y) }
    }
}
