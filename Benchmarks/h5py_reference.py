"""h5py reference for `dakit bench --case hdf5-read-64m`: read a whole 64 MiB gzip-chunked float32
dataset into memory, median of N reads, printed as one JSON line in the format of `dakit bench`.

Reads the very file the DAKit case leaves behind (default: $TMPDIR/dakit-bench-hdf5-read-64m.h5), so
both read the same bytes through the same zlib. If the file is missing it is written here with the
same layout (16384 x 1024 float32, chunks 256 x 1024, shuffle + gzip 1, seeded normals rounded to 1/256).

    .build/release/dakit bench --case hdf5-read-64m
    python3 Benchmarks/h5py_reference.py            # needs h5py and numpy
DAKit's target: at least 70 % of h5py's MB/s.
"""
import argparse
import json
import os
import tempfile
import time

import h5py
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--file", default=os.path.join(tempfile.gettempdir(), "dakit-bench-hdf5-read-64m.h5"))
parser.add_argument("--warmup", type=int, default=3)
parser.add_argument("--iterations", type=int, default=20)
args = parser.parse_args()

if not os.path.exists(args.file):
    rng = np.random.default_rng(42)
    with h5py.File(args.file, "w") as f:
        x = f.create_dataset("source/x", shape=(16384, 1024), dtype="f4", chunks=(256, 1024), shuffle=True,
                             compression="gzip", compression_opts=1)
        for start in range(0, 16384, 4096):
            x[start:start + 4096] = np.round(rng.standard_normal((4096, 1024)) * 256) / 256

with h5py.File(args.file, "r") as f:
    dataset = f["source/x"]
    for _ in range(args.warmup):
        dataset[()]
    times = []
    for _ in range(args.iterations):
        start = time.perf_counter()
        values = dataset[()]
        times.append((time.perf_counter() - start) * 1e3)
    assert values.dtype == np.float32 and values.shape == (16384, 1024)
ms = float(np.median(times))
print(json.dumps({"case": "hdf5-read-64m (h5py)", "ms_per_step": round(ms, 4), "gflops": None,
                  "mb_per_s": round(64 / (ms / 1e3), 4), "h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version}))
