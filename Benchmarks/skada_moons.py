#!/usr/bin/env python3
"""The moons sweep of `Benchmarks/sweep_moons.sh`, run by skada (https://scikit-adaptation.github.io).

The grid of `Benchmarks/sweep_moons.sh`: two moons, 150 points per moon and domain, target rotated
by 35°, a 2-15-2 ReLU MLP, SGD (lr 0.05, momentum 0.9), batch 32, 200 epochs, seeds 0..4, one
method per DAKit moons recipe where skada has one (the others are listed as skipped).
Prints one JSON line per method (wall seconds for all seeds, mean target accuracy) and a total.

    pip install skada skorch     # only here: the Swift build and tests never need Python
    python3 Benchmarks/skada_moons.py --seeds 5 --threads 1
"""
import argparse
import json
import math
import time


def moons(n_per_class, rotation_degrees, seed):
    import numpy as np
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=2 * n_per_class, noise=0.1, random_state=seed)
    angle = math.radians(rotation_degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    xt, yt = make_moons(n_samples=2 * n_per_class, noise=0.1, random_state=seed + 1000)
    return x.astype("float32"), y, (xt @ rotation.T).astype("float32"), yt


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads per process")
    parser.add_argument("--method", action="append", default=[], help="only these methods (repeatable)")
    args = parser.parse_args()

    import numpy as np
    import torch
    from skada import deep
    from skada.deep.modules import ToyModule2D  # noqa: F401 (import check only)
    from torch import nn

    torch.set_num_threads(args.threads)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.feature_layer = nn.Sequential(nn.Linear(2, 15), nn.ReLU())
            self.head = nn.Linear(15, 2)

        def forward(self, x, sample_weight=None):
            return self.head(self.feature_layer(x))

    # DAKit strategy → skada.deep method (None: skada has no counterpart).
    methods = {
        "sourceOnly": "SourceOnly", "targetOnly": "TargetOnly", "dann": "DANN", "coral": "DeepCoral", "dan": "DAN",
        "ddc": "DAN", "mmd": "DAN", "mcc": "MCC", "cdan": "CDAN", "entropyMinimization": None, "domainConfusion": None,
        "selfTraining": None, "mmd+selfTraining": None, "jan": None, "informationMaximization": None, "shot": None,
    }
    total = 0.0
    for name, method in methods.items():
        if args.method and name not in args.method:
            continue
        if method is None:
            print(json.dumps({"strategy": name, "skada": None, "note": "no skada counterpart; skipped"}))
            continue
        cls = getattr(deep, method)
        accuracies = []
        start = time.perf_counter()
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            xs, ys, xt, yt = moons(150, 35, seed)
            x = np.concatenate([xs, xt])
            y = np.concatenate([ys, -np.ones_like(yt)])
            domain = np.concatenate([np.ones(len(xs)), -np.ones(len(xt))])
            kwargs = dict(
                module=MLP(), layer_name="feature_layer", batch_size=32, max_epochs=args.epochs, train_split=False,
                optimizer=torch.optim.SGD, lr=0.05, optimizer__momentum=0.9, verbose=0)
            if method in ("SourceOnly", "TargetOnly"):
                kwargs.pop("layer_name")
            if method in ("DANN", "CDAN"):
                kwargs["num_features"] = 15
            if method == "CDAN":
                kwargs["n_classes"] = 2
            if method == "TargetOnly":
                y = np.concatenate([-np.ones_like(ys), yt])
            model = cls(**kwargs)
            model.fit(x, y, sample_domain=domain)
            predicted = model.predict(xt, sample_domain=-np.ones(len(xt)))
            accuracies.append(float((predicted == yt).mean()))
        seconds = time.perf_counter() - start
        total += seconds
        print(json.dumps({"strategy": name, "skada": method, "seeds": args.seeds, "wall_s": round(seconds, 2),
                          "target_accuracy": round(float(np.mean(accuracies)), 4)}), flush=True)
    print(json.dumps({"total_wall_s": round(total, 2)}))


if __name__ == "__main__":
    main()
