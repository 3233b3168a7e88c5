/// A dense, contiguous, row-major tensor of `Float` values.
///
/// `Tensor` is a value type with copy-on-write storage (a Swift array). Element-wise arithmetic
/// broadcasts NumPy-style: shapes are aligned on their trailing axes and an axis of size 1
/// stretches to match the other operand.
public struct Tensor: Sendable, Equatable {
    /// The size of each axis, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.product`.
    public var scalars: [Float]

    /// Creates a tensor from its elements in row-major order.
    /// - Precondition: `scalars.count` equals the product of `shape`.
    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor(shape:scalars:): negative axis size in shape \(shape)")
        let count = shape.reduce(1, *)
        precondition(
            count == scalars.count,
            "Tensor(shape:scalars:): shape \(shape) holds \(count) elements but \(scalars.count) were given")
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of the given shape with every element equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    /// A rank-0 tensor holding one value.
    public init(_ value: Float) {
        self.init(shape: [], scalars: [value])
    }

    /// A rank-1 tensor.
    public init(_ values: [Float]) {
        self.init(shape: [values.count], scalars: values)
    }

    /// A rank-2 tensor from rows of equal length.
    public init(_ rows: [[Float]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "Tensor(rows): rows have different lengths")
        self.init(shape: [rows.count, columns], scalars: rows.flatMap { $0 })
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(repeating: 1, shape: shape) }

    /// One-hot rows: `labels.count × classCount`, 1 at `(i, labels[i])`.
    public static func oneHot(_ labels: [Int], classCount: Int) -> Tensor {
        var result = Tensor.zeros([labels.count, classCount])
        for (i, label) in labels.enumerated() {
            precondition(
                label >= 0 && label < classCount,
                "Tensor.oneHot: label \(label) at index \(i) is outside 0..<\(classCount)")
            result.scalars[i * classCount + label] = 1
        }
        return result
    }

    /// Number of axes.
    public var rank: Int { shape.count }
    /// Number of elements.
    public var count: Int { scalars.count }
    /// The only element of a tensor with one element.
    public var scalar: Float {
        precondition(scalars.count == 1, "Tensor.scalar: tensor of shape \(shape) has \(scalars.count) elements")
        return scalars[0]
    }

    /// Row-major strides, in elements.
    public var strides: [Int] { Tensor.strides(of: shape) }

    @usableFromInline
    static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Element at a multi-index.
    public subscript(index: Int...) -> Float {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "Tensor subscript: \(index.count) indices for a tensor of rank \(rank)")
        var flat = 0
        for (axis, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[axis], "Tensor subscript: index \(index) out of range for shape \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }

    /// The same elements viewed with another shape. One axis may be `-1` and is inferred.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(
                known > 0 && count % known == 0,
                "reshaped: cannot infer -1 in \(newShape) for \(count) elements of shape \(shape)")
            resolved[inferred] = count / known
        }
        precondition(
            resolved.reduce(1, *) == count,
            "reshaped: cannot view shape \(shape) (\(count) elements) as \(newShape)")
        return Tensor(shape: resolved, scalars: scalars)
    }

    /// True when every element is finite (no NaN or ±Inf).
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }

    /// Largest absolute element-wise difference; shapes must match.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape) differ")
        var result: Float = 0
        for i in 0..<count { result = Swift.max(result, Swift.abs(scalars[i] - other.scalars[i])) }
        return result
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

import Foundation
