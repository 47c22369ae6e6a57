"""ssl_kit: semi-supervised learning on PyTorch Lightning.

``ssl_kit.METHODS`` maps each method's class name to its class (see
:mod:`ssl_kit.methods.registry`); it is loaded on first access, so ``import ssl_kit`` alone
stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["METHODS", "__version__"]


def __getattr__(name: str) -> Any:
    """Load the method registry (and with it torch and Lightning) on first access."""
    if name == "METHODS":
        from ssl_kit.methods import METHODS

        return METHODS
    raise AttributeError(f"module 'ssl_kit' has no attribute {name!r}")
