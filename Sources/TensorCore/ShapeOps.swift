extension Tensor {
    /// Permutes the axes: `result.shape[i] == shape[permutation[i]]`.
    /// With no argument, reverses the axes (the matrix transpose for rank 2).
    public func transposed(_ permutation: [Int]? = nil) -> Tensor {
        let perm = permutation ?? Array((0..<rank).reversed())
        precondition(
            perm.sorted() == Array(0..<rank),
            "transposed: \(perm) is not a permutation of the axes of shape \(shape)")
        if rank == 2 && perm == [1, 0] {
            let (r, c) = (shape[0], shape[1])
            var out = [Float](repeating: 0, count: count)
            scalars.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    for i in 0..<r { for j in 0..<c { o[j * r + i] = p[i * c + j] } }
                }
            }
            return Tensor(shape: [c, r], scalars: out)
        }
        let newShape = perm.map { shape[$0] }
        let oldStrides = strides
        let srcStrides = perm.map { oldStrides[$0] }
        var out = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        var src = 0
        for i in 0..<count {
            out[i] = scalars[src]
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                src += srcStrides[axis]
                if index[axis] < newShape[axis] { break }
                src -= srcStrides[axis] * newShape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return Tensor(shape: newShape, scalars: out)
    }

    /// Joins tensors along an axis; all other axes must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: no tensors given")
        let first = tensors[0]
        let a = first.normalizedAxis(axis, operation: "concatenate")
        for t in tensors {
            precondition(
                t.rank == first.rank
                    && t.shape.enumerated().allSatisfy { $0.offset == a || $0.element == first.shape[$0.offset] },
                "concatenate: shapes \(first.shape) and \(t.shape) differ outside axis \(axis)")
        }
        var newShape = first.shape
        newShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let outer = first.shape[..<a].reduce(1, *)
        var out = [Float]()
        out.reserveCapacity(newShape.reduce(1, *))
        for i in 0..<outer {
            for t in tensors {
                let block = t.count / Swift.max(outer, 1)
                out.append(contentsOf: t.scalars[(i * block)..<((i + 1) * block)])
            }
        }
        return Tensor(shape: newShape, scalars: out)
    }

    /// Elements `range` along `axis`.
    public func slice(axis: Int = 0, _ range: Range<Int>) -> Tensor {
        let a = normalizedAxis(axis, operation: "slice")
        precondition(
            range.lowerBound >= 0 && range.upperBound <= shape[a],
            "slice: range \(range) out of bounds for axis \(axis) of shape \(shape)")
        let (outer, length, inner) = split(around: a)
        var newShape = shape
        newShape[a] = range.count
        var out = [Float]()
        out.reserveCapacity(outer * range.count * inner)
        for i in 0..<outer {
            let start = (i * length + range.lowerBound) * inner
            out.append(contentsOf: scalars[start..<(start + range.count * inner)])
        }
        return Tensor(shape: newShape, scalars: out)
    }

    /// Rows (entries along axis 0) at the given indices, in order; indices may repeat.
    public func gathering(rows indices: [Int]) -> Tensor {
        precondition(rank >= 1, "gathering(rows:): tensor of shape \(shape) has no rows")
        let rowSize = shape[1...].reduce(1, *)
        var out = [Float](repeating: 0, count: indices.count * rowSize)
        scalars.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for (k, i) in indices.enumerated() {
                    precondition(i >= 0 && i < shape[0], "gathering(rows:): index \(i) out of range for shape \(shape)")
                    for j in 0..<rowSize { o[k * rowSize + j] = p[i * rowSize + j] }
                }
            }
        }
        var newShape = shape
        newShape[0] = indices.count
        return Tensor(shape: newShape, scalars: out)
    }

    /// Adds each row of `self` into `rowCount` rows at `indices` (the adjoint of `gathering(rows:)`).
    public func scatteringAdd(rows indices: [Int], rowCount: Int) -> Tensor {
        precondition(
            rank >= 1 && indices.count == shape[0],
            "scatteringAdd(rows:rowCount:): \(indices.count) indices for a tensor of shape \(shape)")
        let rowSize = shape[1...].reduce(1, *)
        var out = [Float](repeating: 0, count: rowCount * rowSize)
        for (k, i) in indices.enumerated() {
            precondition(i >= 0 && i < rowCount, "scatteringAdd(rows:rowCount:): index \(i) outside 0..<\(rowCount)")
            for j in 0..<rowSize { out[i * rowSize + j] += scalars[k * rowSize + j] }
        }
        var newShape = shape
        newShape[0] = rowCount
        return Tensor(shape: newShape, scalars: out)
    }

    /// Picks one element per row of a rank-2 tensor: `result[i] = self[i, columns[i]]`.
    public func picking(columns: [Int]) -> Tensor {
        precondition(rank == 2 && columns.count == shape[0], "picking(columns:): \(columns.count) columns for shape \(shape)")
        let c = shape[1]
        return Tensor(shape: [shape[0]], scalars: columns.enumerated().map { i, j in
            precondition(j >= 0 && j < c, "picking(columns:): column \(j) at row \(i) outside 0..<\(c)")
            return scalars[i * c + j]
        })
    }
}
