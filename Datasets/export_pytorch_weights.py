"""Export a PyTorch state dict to the HDF5 layout DAKit imports (`dakit weights import --from pytorch`).

Layout: one dataset per state-dict key, the key's dots turned into groups
(`features.0.weight` -> /features/0/weight), float32 for floating tensors, the original integer
type otherwise (BatchNorm's num_batches_tracked, which DAKit skips). Root attributes:
`format` = "pytorch-state-dict" and `keys` (the keys in state-dict order).

PyTorch's nn.Linear weight (out x in) and nn.Conv2d weight (O x C x KH x KW) are DAKit's layouts
already; BatchNorm `weight`/`bias` become DAKit's `gamma`/`beta` on import. Name your modules so
that the keys match DAKit's paths (`features.<i>.…`, `classifier.<i>.…`), e.g. a model with
`self.features = nn.Sequential(...)` and `self.classifier = nn.Sequential(...)`.

Usage:
    python3 Datasets/export_pytorch_weights.py model.pt out.h5        # a saved state dict (torch.save)
    or from Python:  from export_pytorch_weights import export; export(model.state_dict(), "out.h5")
Needs torch (for loading .pt files), numpy and h5py.
"""
import sys

import h5py
import numpy as np


def export(state_dict, path):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "pytorch-state-dict"
        f.attrs["keys"] = list(state_dict.keys())
        for key, tensor in state_dict.items():
            value = tensor.detach().cpu().numpy() if hasattr(tensor, "detach") else np.asarray(tensor)
            if np.issubdtype(value.dtype, np.floating):
                value = value.astype(np.float32)
            f.create_dataset("/" + key.replace(".", "/"), data=value)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: export_pytorch_weights.py STATE_DICT.pt OUT.h5")
    import torch

    state = torch.load(sys.argv[1], map_location="cpu")
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    export(state, sys.argv[2])
    print("wrote", sys.argv[2], len(state), "tensors")
