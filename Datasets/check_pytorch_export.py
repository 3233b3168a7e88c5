"""Check a `dakit weights export --to pytorch` file against `dakit predict`: load the exported state
dict into the matching torch.nn model and compare its logits with the predictions file's.

Not run by CI (it needs torch). How to run it, from the repository root:

    swift build -c release
    B=.build/release/dakit
    $B data make moons -o moons.h5
    $B run Recipes/<some recipe>.yaml --out run          # or any run folder with a checkpoint.h5
    $B predict run/checkpoint.h5 moons.h5 -o predictions.h5
    $B weights export run/checkpoint.h5 --to pytorch -o model.pt.h5
    python3 Datasets/check_pytorch_export.py model.pt.h5 predictions.h5

It reads the model's description (`model_spec`, `input_shape`, `class_names`) from the export's
root attributes, builds `features` / `bottleneck` / `classifier` as nn.Sequential modules with the
same indices as DAKit's parameter paths, loads the state dict with strict=True, reads the inputs
that `dakit predict` used (the predictions file's `inputs` attribute, `FILE:/dataset`), and checks
that the logits agree to 1e-4 and the predicted classes are identical. Exit 0 when they do.
Needs torch, numpy and h5py. Last run with torch 2.15 (CPU) on a moons mlp (BatchNorm, bottleneck,
classifier hidden layer: max logit difference 1.9e-06) and a digits LeNet (9.5e-07); identical classes.
"""
import json
import sys

import h5py
import numpy as np
import torch
from torch import nn


def build(spec, input_shape, class_count):
    """The torch.nn model DAKit's ModelSpec describes (Sources/NN/Architectures.swift)."""
    extractor = spec["extractor"]
    layers = []
    if "mlp" in extractor:
        mlp = extractor["mlp"]
        if len(input_shape) > 1:
            layers.append(nn.Flatten())
        width = int(np.prod(input_shape))
        for size in mlp["hidden"]:
            layers.append(nn.Linear(width, size))
            if mlp.get("batchNorm"):
                layers.append(nn.BatchNorm1d(size, eps=1e-5, momentum=0.1))
            layers.append(nn.ReLU())
            if mlp.get("dropout", 0) > 0:
                layers.append(nn.Dropout(mlp["dropout"]))
            width = size
    else:
        lenet = extractor["lenet"]
        c, h, w = input_shape
        c1, c2, size = lenet["channels1"], lenet["channels2"], lenet["featureSize"]
        padding = 2 if min(h, w) < 16 else 0
        oh, ow = (h + 2 * padding - 4) // 2, (w + 2 * padding - 4) // 2
        oh, ow = (oh + 2 * padding - 4) // 2, (ow + 2 * padding - 4) // 2
        layers += [
            nn.Conv2d(c, c1, 5, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, padding=padding), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(c2 * oh * ow, size), nn.ReLU(),
        ]
        width = size
    model = nn.Module()
    model.features = nn.Sequential(*layers)
    if spec.get("bottleneck"):
        model.bottleneck = nn.Sequential(nn.Linear(width, spec["bottleneck"]), nn.ReLU())
        width = spec["bottleneck"]
    hidden = spec.get("classifierHidden")
    model.classifier = nn.Sequential(
        *([nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, class_count)] if hidden else [nn.Linear(width, class_count)]))
    return model


def forward(model, x):
    features = model.features(x)
    if hasattr(model, "bottleneck"):
        features = model.bottleneck(features)
    return model.classifier(features)


def main(export_path, predictions_path):
    with h5py.File(export_path, "r") as f:
        spec = json.loads(f.attrs["model_spec"])
        input_shape = json.loads(f.attrs["input_shape"])
        class_names = json.loads(f.attrs["class_names"])
        keys = [k.decode() if isinstance(k, bytes) else k for k in f.attrs["keys"]]
        state = {k: torch.from_numpy(np.asarray(f[k.replace(".", "/")][()])) for k in keys}
    model = build(spec, input_shape, len(class_names))
    model.load_state_dict(state, strict=True)
    model.eval()
    with h5py.File(predictions_path, "r") as f:
        expected = f["logits"][()]
        predicted = f["predictions"][()]
        inputs = f.attrs["inputs"]
        inputs = inputs.decode() if isinstance(inputs, bytes) else inputs
    data_path, dataset = inputs.rsplit(":", 1)
    with h5py.File(data_path, "r") as f:
        x = torch.from_numpy(np.asarray(f[dataset][()], dtype=np.float32))
    with torch.no_grad():
        logits = forward(model, x).numpy()
    difference = float(np.abs(logits - expected).max())
    agree = bool((logits.argmax(axis=1) == predicted).all())
    print(f"{len(x)} samples from {inputs}: max |torch − dakit| logit difference {difference:.2e}; predicted classes identical: {agree}")
    return 0 if difference < 1e-4 and agree else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: check_pytorch_export.py MODEL.pt.h5 PREDICTIONS.h5")
    sys.exit(main(sys.argv[1], sys.argv[2]))
