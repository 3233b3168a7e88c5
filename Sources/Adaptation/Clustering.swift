import Foundation
import TensorCore

// Clustering of a target pool for cluster-based pseudo-labels (`ClusterMatchStrategy`): a k-nearest-
// neighbour graph, its spectral embedding (Ng, Jordan & Weiss, NIPS 2001), k-means with k-means++
// seeding (Arthur & Vassilvitskii, SODA 2007) and a one-to-one cluster → class matching (the
// Hungarian algorithm, Kuhn 1955). Every result depends only on the numbers and the generator:
// ties go to the lower index.

/// The symmetric k-nearest-neighbour affinity of N points (rows of `points`, N × d, Euclidean):
/// A_ij = 1 when j is among the `neighbours` nearest rows of i (i itself left out; ties to the
/// lower index), and W = (A + Aᵀ) / 2. Returns W as a dense N × N row-major array.
public func nearestNeighbourAffinity(points: Tensor, neighbours k: Int) -> [Double] {
    precondition(points.rank == 2, "nearestNeighbourAffinity: expects N×d points, got \(points.shape)")
    let n = points.shape[0]
    precondition(k >= 1 && k < n, "nearestNeighbourAffinity: \(k) neighbours need more than \(k) points, got \(n)")
    let distances = Kernels.pairwiseSquaredDistances(Variable(points), Variable(points)).value
    var affinity = [Double](repeating: 0, count: n * n)
    var order = [Int](repeating: 0, count: n - 1)
    var distance = [Float](repeating: 0, count: n)
    for i in 0..<n {
        for j in 0..<n { distance[j] = distances.scalars[i * n + j] }
        var at = 0
        for j in 0..<n where j != i { order[at] = j; at += 1 }
        order.sort { distance[$0] != distance[$1] ? distance[$0] < distance[$1] : $0 < $1 }
        for j in order.prefix(k) {
            affinity[i * n + j] += 0.5
            affinity[j * n + i] += 0.5
        }
    }
    return affinity
}

/// The spectral embedding of an affinity W (N × N, symmetric, every degree positive): the
/// eigenvectors of the `dimension` largest eigenvalues of D^(−1/2) W D^(−1/2), each row then
/// scaled to unit length (Ng, Jordan & Weiss 2001). Returns N × dimension, row-major.
public func spectralEmbedding(affinity: [Double], n: Int, dimension: Int) throws -> [Double] {
    precondition(affinity.count == n * n, "spectralEmbedding: \(affinity.count) values for an \(n)×\(n) affinity")
    var scale = [Double](repeating: 0, count: n)
    for i in 0..<n {
        var degree = 0.0
        for j in 0..<n { degree += affinity[i * n + j] }
        precondition(degree > 0, "spectralEmbedding: row \(i) of the affinity has no edge")
        scale[i] = 1 / degree.squareRoot()
    }
    var normalised = affinity
    for i in 0..<n { for j in 0..<n { normalised[i * n + j] *= scale[i] * scale[j] } }
    var (_, rows) = try symmetricEigenvectors(normalised, n: n, largest: dimension)
    for i in 0..<n {
        var norm = 0.0
        for j in 0..<dimension { norm += rows[i * dimension + j] * rows[i * dimension + j] }
        guard norm > 0 else { continue }
        norm = norm.squareRoot()
        for j in 0..<dimension { rows[i * dimension + j] /= norm }
    }
    return rows
}

/// k-means (Lloyd) on N rows of width d, seeded by k-means++ from `rng`; the best of `restarts`
/// runs by inertia (the first on a tie). A cluster that loses every row keeps its centre. Returns
/// each row's cluster and the inertia (sum of squared distances to the assigned centres).
public func kMeans(
    _ rows: [Double], n: Int, d: Int, clusters k: Int, restarts: Int = 10, iterations: Int = 300, rng: inout SeededGenerator
) -> (labels: [Int], inertia: Double) {
    precondition(rows.count == n * d && k >= 1 && k <= n, "kMeans: \(rows.count) values for \(n)×\(d) rows and \(k) clusters")
    func squaredDistance(_ i: Int, _ centres: [Double], _ c: Int) -> Double {
        var s = 0.0
        for j in 0..<d { let t = rows[i * d + j] - centres[c * d + j]; s += t * t }
        return s
    }
    var best: (labels: [Int], inertia: Double) = ([], .infinity)
    for _ in 0..<Swift.max(1, restarts) {
        // k-means++ seeding.
        var centres = [Double](repeating: 0, count: k * d)
        let first = Int(rng.next() % UInt64(n))
        for j in 0..<d { centres[j] = rows[first * d + j] }
        var nearest = (0..<n).map { squaredDistance($0, centres, 0) }
        for c in 1..<k {
            let total = nearest.reduce(0, +)
            var pick = 0
            if total > 0 {
                var target = Double.random(in: 0..<1, using: &rng) * total
                pick = n - 1
                for i in 0..<n {
                    target -= nearest[i]
                    if target < 0 { pick = i; break }
                }
            } else {
                pick = Int(rng.next() % UInt64(n))
            }
            for j in 0..<d { centres[c * d + j] = rows[pick * d + j] }
            for i in 0..<n { nearest[i] = Swift.min(nearest[i], squaredDistance(i, centres, c)) }
        }
        // Lloyd iterations.
        var labels = [Int](repeating: -1, count: n)
        var inertia = 0.0
        for _ in 0..<iterations {
            var changed = false
            inertia = 0
            for i in 0..<n {
                var label = 0, distance = squaredDistance(i, centres, 0)
                for c in 1..<k {
                    let t = squaredDistance(i, centres, c)
                    if t < distance { (label, distance) = (c, t) }
                }
                inertia += distance
                if labels[i] != label { labels[i] = label; changed = true }
            }
            if !changed { break }
            var sums = [Double](repeating: 0, count: k * d), counts = [Int](repeating: 0, count: k)
            for i in 0..<n {
                counts[labels[i]] += 1
                for j in 0..<d { sums[labels[i] * d + j] += rows[i * d + j] }
            }
            for c in 0..<k where counts[c] > 0 {
                for j in 0..<d { centres[c * d + j] = sums[c * d + j] / Double(counts[c]) }
            }
        }
        if inertia < best.inertia { best = (labels, inertia) }
    }
    return best
}

/// Spectral clustering of the rows of `points` (N × d) into `clusters` groups: the k-nearest-
/// neighbour affinity, its spectral embedding and k-means on the embedding.
public func spectralClustering(points: Tensor, clusters: Int, neighbours: Int, rng: inout SeededGenerator) throws -> [Int] {
    let n = points.shape[0]
    let affinity = nearestNeighbourAffinity(points: points, neighbours: neighbours)
    let embedding = try spectralEmbedding(affinity: affinity, n: n, dimension: clusters)
    return kMeans(embedding, n: n, d: clusters, clusters: clusters, rng: &rng).labels
}

/// The assignment of rows to columns of a square cost matrix with the least total cost (the
/// Hungarian algorithm with potentials, O(n³)). Returns, for each row, its column.
public func hungarianAssignment(cost: [[Double]]) -> [Int] {
    let n = cost.count
    precondition(cost.allSatisfy { $0.count == n }, "hungarianAssignment: expects a square cost matrix")
    guard n > 0 else { return [] }
    // 1-based: row 0 and column 0 are the algorithm's sentinels.
    var u = [Double](repeating: 0, count: n + 1), v = [Double](repeating: 0, count: n + 1)
    var rowOfColumn = [Int](repeating: 0, count: n + 1), way = [Int](repeating: 0, count: n + 1)
    for row in 1...n {
        rowOfColumn[0] = row
        var column = 0
        var minimum = [Double](repeating: .infinity, count: n + 1)
        var used = [Bool](repeating: false, count: n + 1)
        repeat {
            used[column] = true
            let current = rowOfColumn[column]
            var delta = Double.infinity, next = 0
            for j in 1...n where !used[j] {
                let reduced = cost[current - 1][j - 1] - u[current] - v[j]
                if reduced < minimum[j] { minimum[j] = reduced; way[j] = column }
                if minimum[j] < delta { delta = minimum[j]; next = j }
            }
            for j in 0...n {
                if used[j] { u[rowOfColumn[j]] += delta; v[j] -= delta } else { minimum[j] -= delta }
            }
            column = next
        } while rowOfColumn[column] != 0
        repeat {
            let previous = way[column]
            rowOfColumn[column] = rowOfColumn[previous]
            column = previous
        } while column != 0
    }
    var assignment = [Int](repeating: 0, count: n)
    for j in 1...n { assignment[rowOfColumn[j] - 1] = j - 1 }
    return assignment
}

/// The class of each of `clusterCount` clusters (one-to-one when there are as many clusters as
/// classes): with M_ac = Σ_{i in cluster a} p_ic the predicted mass of class c in cluster a, the
/// matching maximises Σ_a M_a,σ(a) / Σ_b M_b,σ(a), each class's mass normalised over the clusters
/// (so a class the model predicts rarely still finds its cluster). Returns cluster → class.
public func matchClustersToClasses(clusters: [Int], clusterCount: Int, probabilities: Tensor) -> [Int] {
    precondition(probabilities.rank == 2 && probabilities.shape[0] == clusters.count,
        "matchClustersToClasses: \(clusters.count) cluster labels for probabilities \(probabilities.shape)")
    let classes = probabilities.shape[1]
    precondition(clusterCount == classes, "matchClustersToClasses: \(clusterCount) clusters for \(classes) classes")
    var mass = [[Double]](repeating: [Double](repeating: 0, count: classes), count: clusterCount)
    for (i, a) in clusters.enumerated() {
        for c in 0..<classes { mass[a][c] += Double(probabilities.scalars[i * classes + c]) }
    }
    var cost = mass
    for c in 0..<classes {
        let total = mass.reduce(0) { $0 + $1[c] }
        for a in 0..<clusterCount { cost[a][c] = total > 0 ? -mass[a][c] / total : 0 }
    }
    return hungarianAssignment(cost: cost)
}
