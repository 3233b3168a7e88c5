#!/usr/bin/env python3
"""skada (https://scikit-adaptation.github.io) and scikit-learn on DAKit's own generated datasets.

Reads the HDF5 domain datasets that `Benchmarks/peers/run.sh` writes with `dakit data make`
(/source/x, /source/y, /target/x, /target/test/x, /target/test/y), trains each method under the
network and budget of Benchmarks/peers/README.md on every dataset × seed, scores it on the held-out
target split (/target/test, the split DAKit's runs score on) and appends one row per fit to a CSV:

    dataset,method,seed,target_accuracy,fit_seconds

Methods (each library's own defaults for everything the budget does not fix):
  SourceOnly, DAN, DeepCoral   skada.deep, aligning the last hidden layer ("feature_layer");
  DANN                         skada.deep.DANN with a one-logit domain head trained with
                               BCE-with-logits: skada's default head (DomainClassifier) ends in a
                               softmax over its single output, which is 1 for every input and passes
                               no gradient, so the default DANN is source-only plus noise. The head
                               here is DAKit's default: gradient reversal (skada's constant λ = 1),
                               Linear(d, max(2d, 16)), ReLU, Linear(·, 1);
  SelfTrainingClassifier       sklearn.semi_supervised.SelfTrainingClassifier around an
                               MLPClassifier with the same layers, Adam, learning rate, batch size
                               and epochs (max_iter, no early stop, no L2), threshold 0.9 and at most
                               10 rounds (DAKit's selfTraining defaults). sklearn refits the MLP from
                               scratch in every round, so one fit trains up to 11 times the budget.

fit_seconds is the wall time of the `fit` call alone (data loading and scoring excluded).

    pip install skada skorch h5py     # only here: the Swift build and tests never need Python
    python3 Benchmarks/peers/skada_peers.py --data runs/peers/data --out Benchmarks/peers/results/skada.csv
"""
import argparse
import csv
import math
import os
import sys
import time
import warnings

# The datasets and their budgets: (file stem, hidden layers, Adam learning rate, epochs).
DATASETS = {
    "moons-35": ([15], 1e-2, 60),
    "moons-50": ([15], 1e-2, 60),
    "shifted-covariate": ([15], 1e-2, 60),
    "shifted-conditional": ([15], 1e-2, 60),
    "digits-rotation-30": ([128, 64], 1e-3, 30),
}
METHODS = ["SourceOnly", "DANN", "DAN", "DeepCoral", "SelfTrainingClassifier"]
BATCH_SIZE = 32


def load(path):
    """Source (x, y), unlabelled target x, held-out target (x, y); x flattened to rows, float32."""
    import h5py
    import numpy as np

    with h5py.File(path, "r") as f:
        def rows(name):
            x = np.asarray(f[name], dtype="float32")
            return x.reshape(len(x), -1)

        test = "/target/test" if "/target/test/x" in f else "/target"
        return (rows("/source/x"), np.asarray(f["/source/y"], dtype="int64"), rows("/target/x"),
                rows(test + "/x"), np.asarray(f[test + "/y"], dtype="int64"))


def make_net(inputs, hidden, classes):
    from torch import nn

    layers = []
    width = inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.feature_layer = nn.Sequential(*layers)
            self.head = nn.Linear(width, classes)

        def forward(self, x, sample_weight=None):
            return self.head(self.feature_layer(x))

    return MLP(), width


def one_logit_domain_head(features):
    """Gradient reversal → Linear(d, max(2d, 16)) → ReLU → Linear(·, 1), returning the logit."""
    from skada.deep.modules import GradientReversalLayer
    from torch import nn

    hidden = max(2 * features, 16)

    class DomainHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.classifier = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 1))

        def forward(self, x, sample_weight=None):
            return self.classifier(GradientReversalLayer.apply(x, 1.0)).squeeze(-1)

    return DomainHead()


def fit_one(method, data, hidden, lr, epochs, seed):
    """Trains `method` once; returns (target accuracy on the held-out split, fit seconds)."""
    import numpy as np
    import torch

    xs, ys, xt, xtest, ytest = data
    classes = int(max(ys.max(), ytest.max())) + 1
    torch.manual_seed(seed)
    np.random.seed(seed)
    if method == "SelfTrainingClassifier":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        from sklearn.semi_supervised import SelfTrainingClassifier

        mlp = MLPClassifier(
            hidden_layer_sizes=tuple(hidden), activation="relu", solver="adam", learning_rate_init=lr, batch_size=BATCH_SIZE,
            max_iter=epochs, alpha=0.0, tol=0.0, n_iter_no_change=epochs + 1, shuffle=True, random_state=seed)
        model = SelfTrainingClassifier(mlp, threshold=0.9, max_iter=10)
        x = np.concatenate([xs, xt])
        y = np.concatenate([ys, -np.ones(len(xt), dtype="int64")])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(x, y)
            seconds = time.perf_counter() - start
        predicted = model.predict(xtest)
        return float((predicted == ytest).mean()), seconds

    from skada import deep

    module, features = make_net(xs.shape[1], hidden, classes)
    kwargs = dict(
        module=module, layer_name="feature_layer", batch_size=BATCH_SIZE, max_epochs=epochs, train_split=False,
        optimizer=torch.optim.Adam, lr=lr, verbose=0)
    if method == "SourceOnly":
        kwargs.pop("layer_name")
    if method == "DANN":
        kwargs.update(domain_classifier=one_logit_domain_head(features), domain_criterion=torch.nn.BCEWithLogitsLoss())
    model = getattr(deep, method)(**kwargs)
    x = np.concatenate([xs, xt])
    y = np.concatenate([ys, -np.ones(len(xt), dtype="int64")])  # target labels masked
    domain = np.concatenate([np.ones(len(xs)), -np.ones(len(xt))])
    start = time.perf_counter()
    model.fit(x, y, sample_domain=domain)
    seconds = time.perf_counter() - start
    predicted = model.predict(xtest, sample_domain=-np.ones(len(xtest)))
    return float((np.asarray(predicted) == ytest).mean()), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="runs/peers/data", help="folder of the HDF5 files (DATASET.h5)")
    parser.add_argument("--out", default="Benchmarks/peers/results/skada.csv")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--dataset", action="append", default=[], help="only these datasets (repeatable)")
    parser.add_argument("--method", action="append", default=[], help="only these methods (repeatable)")
    parser.add_argument("--epochs", type=int, default=None, help="override every budget's epochs (smoke tests only)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    datasets = args.dataset or list(DATASETS)
    methods = args.method or METHODS
    for name in datasets + methods:
        if name not in DATASETS and name not in METHODS:
            sys.exit(f"error: unknown dataset or method '{name}' (datasets: {', '.join(DATASETS)}; methods: {', '.join(METHODS)})")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    rows = []
    for dataset in datasets:
        path = os.path.join(args.data, dataset + ".h5")
        if not os.path.exists(path):
            sys.exit(f"error: {path} does not exist (run Benchmarks/peers/run.sh, or dakit data make, first)")
        data = load(path)
        hidden, lr, epochs = DATASETS[dataset]
        epochs = args.epochs or epochs
        for method in methods:
            for seed in range(args.seeds):
                accuracy, seconds = fit_one(method, data, hidden, lr, epochs, seed)
                if not math.isfinite(accuracy):
                    accuracy = float("nan")
                rows.append((dataset, method, seed, f"{accuracy:.6g}", f"{seconds:.4g}"))
                print(f"{dataset} {method} seed {seed}: target accuracy {accuracy:.4f}, fit {seconds:.2f} s", flush=True)
    with open(args.out + ".tmp", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["dataset", "method", "seed", "target_accuracy", "fit_seconds"])
        writer.writerows(rows)
    os.replace(args.out + ".tmp", args.out)
    print(f"wrote {args.out} ({len(rows)} fits)")


if __name__ == "__main__":
    main()
