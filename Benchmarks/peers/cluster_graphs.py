#!/usr/bin/env python3
"""How often spectral clustering recovers the target's classes, for the graphs clusterMatch could use.

Draws fresh target pools with `dakit data make` (moons rotated 35°, the `shifted` conditional shift) and
reads the peers' files, clusters each pool's inputs into as many groups as classes (Ng, Jordan & Weiss
2001: C leading eigenvectors of D^-1/2 W D^-1/2, rows normalised, k-means) with several affinities W, and
prints the purity (accuracy of the best one-to-one cluster -> class matching) over the draws. Tooling only
(numpy, scikit-learn, h5py); DAKit's own clustering is Sources/Adaptation/Clustering.swift.

    python3 Benchmarks/peers/cluster_graphs.py [--dakit .build/release/dakit] [--draws 20]
"""
import argparse
import os
import subprocess
import tempfile

import h5py
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans


def squared_distances(x):
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return d


def knn_graph(d, k):
    a = np.zeros_like(d)
    for i, row in enumerate(np.argsort(d, axis=1)[:, :k]):
        a[i, row] = 1
    return 0.5 * (a + a.T)


def self_tuning(d, k):
    finite = np.where(np.isinf(d), 0, d)
    sigma = np.sqrt(np.sort(d, axis=1)[:, k - 1])
    w = np.exp(-finite / np.outer(sigma, sigma))
    np.fill_diagonal(w, 0)
    return w


def embedding(w, c):
    degree = w.sum(1)
    values, vectors = np.linalg.eigh(w / np.sqrt(np.outer(degree, degree)))
    u = vectors[:, -c:]
    return u / np.linalg.norm(u, axis=1, keepdims=True), values[::-1]


def purity(labels, y, c):
    counts = np.zeros((c, c))
    for a, b in zip(labels, y):
        counts[a, b] += 1
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / len(y)


def graphs(d, c):
    """Name -> embedding, including K chosen by the largest eigengap λ_C − λ_{C+1} over K = 4…15."""
    out = {}
    by_k = {k: embedding(knn_graph(d, k), c) for k in range(4, 16)}
    out["knn K=5 (default)"] = by_k[5][0]
    out["knn K=10"] = by_k[10][0]
    out["knn K by eigengap"] = by_k[max(by_k, key=lambda k: by_k[k][1][c - 1] - by_k[k][1][c])][0]
    out["self-tuning K=7"] = embedding(self_tuning(d, 7), c)[0]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dakit", default=".build/release/dakit")
    parser.add_argument("--draws", type=int, default=20)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="cluster-graphs-")
    sets = {"moons 35° (fresh draws)": [], "shifted conditional (fresh draws)": []}
    for seed in range(args.draws):
        for name, command in [
            ("moons 35° (fresh draws)", ["moons", "--rotation", "35"]),
            ("shifted conditional (fresh draws)", ["shifted", "--shift", "conditional", "--strength", "3"]),
        ]:
            path = os.path.join(folder, f"{command[0]}-{seed}.h5")
            subprocess.run([args.dakit, "data", "make", *command, "--seed", str(seed), "--output", path],
                           check=True, stdout=subprocess.DEVNULL)
            sets[name].append(path)
    for name in ["moons-35", "moons-50", "digits-rotation-30"]:
        path = os.path.join("runs/peers/data", name + ".h5")
        if os.path.exists(path):
            sets[f"peers file {name}"] = [path]
    print("| pool | graph | mean purity (%) | lowest (%) | draws above 97 % |")
    print("|---|---|---|---|---|")
    for name, paths in sets.items():
        results = {}
        for path in paths:
            with h5py.File(path) as f:
                x = f["target/x"][:].reshape(len(f["target/x"]), -1).astype(np.float64)
                y = f["target/y"][:]
            c = int(y.max() + 1)
            for graph, u in graphs(squared_distances(x), c).items():
                labels = KMeans(c, n_init=10, random_state=0).fit_predict(u)
                results.setdefault(graph, []).append(purity(labels, y, c))
        for graph, values in results.items():
            v = np.array(values) * 100
            print(f"| {name} | {graph} | {v.mean():.1f} | {v.min():.1f} | {(v > 97).sum()} of {len(v)} |")


if __name__ == "__main__":
    main()
