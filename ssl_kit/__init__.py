"""ssl_kit: semi-supervised learning on PyTorch Lightning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__version__ = "0.1.0"


def load(path: str | Path, map_location: str = "cpu") -> Any:
    """A trained model ready to predict on raw inputs (see :func:`ssl_kit.predict.load`)."""
    from ssl_kit.predict import load as load_checkpoint

    return load_checkpoint(path, map_location)


load_model = load
