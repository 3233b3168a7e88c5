"""Writes the small HDF5 fixtures that HDF5KitTests read, with h5py (another writer than DAKit).

Run from the repository root:  python3 Tests/Fixtures/make_fixtures.py
Needs h5py and numpy only. Values are deterministic (fixed seeds), so re-running gives the same
contents. Keras and PyTorch are not installed here: the Keras fixtures are written with h5py in the
exact group/dataset/attribute layout that Keras 3 `model.save_weights("x.weights.h5")` and Keras 2
`model.save_weights("x.h5")` produce, and the PyTorch fixture with the same code as
Datasets/export_pytorch_weights.py (state-dict key -> dataset).
"""
import os
import numpy as np
import h5py

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)


def path(name):
    return os.path.join(here, name)


# 1. A domain dataset in the one-file layout, with several dtypes, chunking, gzip and
#    variable-length string attributes.
with h5py.File(path("h5py_domain.h5"), "w") as f:
    f.attrs["class_names"] = ["zero", "one", "two"]          # variable-length UTF-8 array
    f.attrs["shift"] = "target images inverted"               # variable-length UTF-8 scalar
    f.attrs["fixed_note"] = np.bytes_("fixed")                # fixed-length ASCII scalar
    f.attrs["fixed_list"] = np.array([b"ab", b"cde"], dtype="S3")
    f.attrs["version"] = 3
    f.attrs["scale"] = np.array([0.5, 2.0])
    sx = rng.integers(0, 256, size=(30, 1, 4, 4), dtype=np.uint8)
    f.create_dataset("source/x", data=sx, chunks=(8, 1, 4, 4), compression="gzip", compression_opts=6)
    f.create_dataset("source/y", data=(np.arange(30) % 3).astype(np.int32))
    tx = rng.random((20, 1, 4, 4))
    f.create_dataset("target/x", data=tx, chunks=(5, 1, 4, 4), compression="gzip", shuffle=True)  # float64
    f.create_dataset("target/y", data=(np.arange(20) % 3).astype(np.uint8))
    f.create_dataset("target/test/x", data=rng.random((6, 1, 4, 4)).astype(np.float32))
    f.create_dataset("target/test/y", data=np.array([0, 1, 2, 0, 1, 2], dtype=np.int64))
    np.save(path("h5py_domain_source_x.npy"), sx)  # the same values as .npy, to check the reader

# 2. One dataset per numeric dtype, values 0..11 (and -1 where signed), 3x4, chunked + gzip.
with h5py.File(path("h5py_dtypes.h5"), "w") as f:
    for dtype in ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"]:
        values = np.arange(12).reshape(3, 4).astype(dtype)
        if dtype.startswith("int") or dtype.startswith("float"):
            values[0, 0] = -1
        f.create_dataset(dtype, data=values, chunks=(2, 4), compression="gzip")
    f.create_dataset("big_endian_float32", data=np.arange(12, dtype=">f4").reshape(3, 4))

# 3. Keras 3 `.weights.h5` layout: layers/<name>/vars/<i>; Dense kernel in x out; Conv2D kernel
#    KH x KW x C x O. Model: Conv2D(2->3, 3x3) -> Flatten -> Dense(3*2*2 -> 4) -> Dense(4 -> 2) on 4x4x2
#    inputs (channels last, 'valid' padding: 4x4 -> 2x2).
keras_conv_k = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)
keras_conv_b = rng.standard_normal(3).astype(np.float32)
keras_d1_k = rng.standard_normal((2 * 2 * 3, 4)).astype(np.float32)
keras_d1_b = rng.standard_normal(4).astype(np.float32)
keras_d2_k = rng.standard_normal((4, 2)).astype(np.float32)
keras_d2_b = rng.standard_normal(2).astype(np.float32)
keras_input = rng.standard_normal((2, 4, 4, 2)).astype(np.float32)   # N H W C


def keras_reference(x):
    n = x.shape[0]
    conv = np.zeros((n, 2, 2, 3), dtype=np.float64)
    for i in range(2):
        for j in range(2):
            patch = x[:, i:i + 3, j:j + 3, :]
            conv[:, i, j, :] = np.tensordot(patch, keras_conv_k, axes=([1, 2, 3], [0, 1, 2])) + keras_conv_b
    h = np.maximum(conv, 0).reshape(n, -1)                 # Keras Flatten: H, W, C order
    h = np.maximum(h @ keras_d1_k + keras_d1_b, 0)
    return h @ keras_d2_k + keras_d2_b


with h5py.File(path("keras3_small.weights.h5"), "w") as f:
    f.create_group("vars")
    f.create_group("layers/input_layer/vars")
    for name, values in [("conv2d", [keras_conv_k, keras_conv_b]), ("flatten", []),
                         ("dense", [keras_d1_k, keras_d1_b]), ("dense_1", [keras_d2_k, keras_d2_b])]:
        g = f.create_group(f"layers/{name}/vars")
        for i, v in enumerate(values):
            g.create_dataset(str(i), data=v)
    f.create_dataset("reference/input_nhwc", data=keras_input)
    f.create_dataset("reference/output", data=keras_reference(keras_input).astype(np.float32))

# 4. Keras 2 `save_weights` `.h5` layout: root attrs layer_names (fixed-length bytes, model order),
#    backend, keras_version; per layer group attr weight_names; datasets at <layer>/<layer>/kernel:0.
with h5py.File(path("keras2_small.h5"), "w") as f:
    layers = [("conv2d_1", [("kernel:0", keras_conv_k), ("bias:0", keras_conv_b)]), ("flatten_1", []),
              ("dense_1", [("kernel:0", keras_d1_k), ("bias:0", keras_d1_b)]),
              ("dense_2", [("kernel:0", keras_d2_k), ("bias:0", keras_d2_b)])]
    f.attrs["layer_names"] = np.array([n.encode() for n, _ in layers])
    f.attrs["backend"] = b"tensorflow"
    f.attrs["keras_version"] = b"2.15.0"
    for name, weights in layers:
        g = f.create_group(name)
        g.attrs["weight_names"] = np.array([f"{name}/{w}".encode() for w, _ in weights], dtype="S")
        for w, v in weights:
            g.create_dataset(f"{name}/{w}", data=v)

# 5. A PyTorch-style state dict in the layout of Datasets/export_pytorch_weights.py:
#    nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).
torch_state = {
    "0.weight": rng.standard_normal((4, 3)).astype(np.float32),
    "0.bias": rng.standard_normal(4).astype(np.float32),
    "1.weight": rng.random(4).astype(np.float32) + 0.5,
    "1.bias": rng.standard_normal(4).astype(np.float32),
    "1.running_mean": rng.standard_normal(4).astype(np.float32),
    "1.running_var": rng.random(4).astype(np.float32) + 0.5,
    "1.num_batches_tracked": np.array(7, dtype=np.int64),
    "3.weight": rng.standard_normal((2, 4)).astype(np.float32),
    "3.bias": rng.standard_normal(2).astype(np.float32),
}
with h5py.File(path("pytorch_small.h5"), "w") as f:
    f.attrs["format"] = "pytorch-state-dict"
    f.attrs["keys"] = list(torch_state.keys())
    for key, value in torch_state.items():
        f.create_dataset("/" + key.replace(".", "/"), data=value)

print("wrote fixtures to", here)
