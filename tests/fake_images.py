"""Tiny SVHN / CIFAR-10 files in the real formats, for tests (no network, no official data)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import scipy.io

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_fake_svhn(root: Path, num_train: int = 200, num_test: int = 50, seed: int = 0) -> Path:
    """Write ``root/SVHN/{train,test}_32x32.mat`` with the real keys: ``X`` (32, 32, 3, N) uint8, ``y`` (N, 1).

    Labels are 1..10 as in the official files (10 is the digit 0); image ``n`` has label
    ``n % 10 + 1`` and its pixels are random except pixel (0, 0, 0), which stores ``n % 256``.
    """
    rng = np.random.default_rng(seed)
    folder = root / "SVHN"
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train", num_train), ("test", num_test)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        x[0, 0, 0, :] = np.arange(n) % 256
        y = (np.arange(n) % 10 + 1).astype(np.uint8).reshape(n, 1)
        scipy.io.savemat(folder / f"{name}_32x32.mat", {"X": x, "y": y})
    return root


def write_fake_cifar10(root: Path, per_batch: int = 40, num_test: int = 50, seed: int = 0) -> Path:
    """Write ``root/cifar-10-batches-py/`` with ``data_batch_1..5``, ``test_batch`` and ``batches.meta``.

    Each batch is a latin-1 pickle of ``{"data": uint8 (N, 3072) in CHW order, "labels": list}``
    like the official files; image ``n`` of a batch has label ``n % 10``.
    """
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = num_test if name == "test_batch" else per_batch
        batch = {
            "batch_label": name,
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "labels": [i % 10 for i in range(n)],
            "filenames": [f"{name}_{i}.png" for i in range(n)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    meta = {"label_names": CIFAR_CLASSES, "num_cases_per_batch": per_batch, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return root
