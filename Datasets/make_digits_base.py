"""Writes Datasets/digits8x8.h5: the UCI optical recognition of handwritten digits (8x8 version).

Source: the copy that scikit-learn bundles (`sklearn.datasets.load_digits`), which is the test set
of the UCI ML repository dataset "Optical Recognition of Handwritten Digits" (Alpaydin & Kaynak,
1998; https://archive.ics.uci.edu/dataset/80), licensed CC BY 4.0. 1797 images, 10 classes; each
pixel counts the set pixels of a 4x4 block of a 32x32 bitmap, so values are integers 0..16.

Layout written:  /images  uint8  1797 x 8 x 8  (values 0..16, gzip)
                 /labels  uint8  1797
                 attributes: class_names, source, licence, max_value (16)
Run from the repository root:  python3 Datasets/make_digits_base.py   (needs scikit-learn, h5py)
DAKit itself never needs Python: `dakit data make digits` reads this file.
"""
import os
import h5py
import numpy as np
from sklearn.datasets import load_digits

digits = load_digits()
images = digits.images.astype(np.uint8)
assert images.shape == (1797, 8, 8) and images.max() == 16
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits8x8.h5")
with h5py.File(out, "w") as f:
    f.create_dataset("images", data=images, chunks=(256, 8, 8), compression="gzip", compression_opts=9, shuffle=True)
    f.create_dataset("labels", data=digits.target.astype(np.uint8), compression="gzip", compression_opts=9)
    f.attrs["class_names"] = [str(i) for i in range(10)]
    f.attrs["source"] = ("UCI ML repository, Optical Recognition of Handwritten Digits (Alpaydin & Kaynak 1998), "
                         "8x8 test-set copy bundled with scikit-learn (sklearn.datasets.load_digits)")
    f.attrs["licence"] = "CC BY 4.0"
    f.attrs["max_value"] = 16
print("wrote", out, os.path.getsize(out), "bytes")
