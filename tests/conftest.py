"""Shared fixtures: the data root, and small generated data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import ssl_kit  # noqa: F401  (importing it makes a relative $SSL_KIT_DATA absolute, once)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# The real MNIST lies beside the checkout on the development and CI machines.
if "SSL_KIT_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["SSL_KIT_DATA"] = str(SHARED_DATA)

torch.set_num_threads(min(2, os.cpu_count() or 1))

#: What ``-m "not slow"`` leaves out: tests that start processes (every DDP run), run every shipped
#: config, or train on generated image files. CI runs everything.
SLOW_MODULES = {"test_ddp.py", "test_configs.py"}
SLOW_NAME_PARTS = ("ddp", "fast_dev_run_on_fake_files", "through_the_cli", "leaves_the_matplotlib_backend",
                   "without_loading_torch", "user_package")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow tests (see :data:`SLOW_MODULES`) so ``pytest -m "not slow"`` is a fast loop."""
    for item in items:
        if item.path.name in SLOW_MODULES or any(part in item.name for part in SLOW_NAME_PARTS):
            item.add_marker(pytest.mark.slow)


def real_mnist_available() -> bool:
    """Whether the real MNIST files are under ``$SSL_KIT_DATA``."""
    root = Path(os.environ.get("SSL_KIT_DATA", "./data")) / "MNIST" / "raw"
    return (root / "train-images-idx3-ubyte").exists()


#: Files whose presence under ``$SSL_KIT_DATA`` means a data set is there (torchvision layout).
REAL_DATA_FILES = {
    "mnist": ["MNIST/raw/train-images-idx3-ubyte"],
    "svhn": ["SVHN/train_32x32.mat", "SVHN/test_32x32.mat"],
    "cifar10": [f"cifar-10-batches-py/{n}" for n in ("data_batch_1", "test_batch", "batches.meta")],
    "rotten_tomatoes": ["text/rotten_tomatoes.csv", "text/rotten_tomatoes_plots.csv"],
    "20newsgroups": ["text/20newsgroups_train.csv", "text/20newsgroups_test.csv"],
}


def real_data_available(dataset: str) -> bool:
    """Whether the real files of ``dataset`` (a key of :data:`REAL_DATA_FILES`) are under ``$SSL_KIT_DATA``."""
    root = Path(os.environ.get("SSL_KIT_DATA", "./data"))
    return all((root / f).exists() for f in REAL_DATA_FILES[dataset])


@pytest.fixture
def blobs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three Gaussian blobs in 5-D: 300 training and 90 test points."""
    g = torch.Generator().manual_seed(0)
    centers = 3 * torch.randn(3, 5, generator=g)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % 3
        return centers[y] + torch.randn(n, 5, generator=g), y

    return (*draw(300), *draw(90))
