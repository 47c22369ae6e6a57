"""ssl_kit: semi-supervised learning on PyTorch Lightning.

``ssl_kit.METHODS`` maps each method's class name to its class (see
:mod:`ssl_kit.methods.registry`); it is loaded on first access, so ``import ssl_kit`` alone
stays light. ``ssl_kit.load(path)`` returns a trained model ready to predict on raw inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ssl_kit.utils.paths import resolve_data_env

resolve_data_env()  # a relative $SSL_KIT_DATA names the folder this process started in

__version__ = "0.1.0"

__all__ = ["METHODS", "__version__", "load", "load_model"]


def __getattr__(name: str) -> Any:
    """Load the method registry (and with it torch and Lightning) on first access."""
    if name == "METHODS":
        from ssl_kit.methods import METHODS

        return METHODS
    raise AttributeError(f"module 'ssl_kit' has no attribute {name!r}")


def load(path: str | Path, map_location: str = "cpu") -> Any:
    """A trained model ready to predict on raw inputs (see :func:`ssl_kit.checkpoints.predict.load`)."""
    from ssl_kit.checkpoints.predict import load as load_checkpoint

    return load_checkpoint(path, map_location)


load_model = load
