"""Objects named by dotted paths in configs and on the command line (``package.module.Name``)."""

from __future__ import annotations

import importlib
from typing import Any


def import_object(path: str, default_module: str | None = None) -> Any:
    """The object at dotted ``path``; a bare name is looked up in ``default_module``.

    Args:
        path: ``package.module.Name``, or ``Name`` when ``default_module`` is given.
        default_module: module searched for a bare name.

    Raises:
        ImportError: the module cannot be imported or has no such name (the message names both).
    """
    module_name, _, attr = path.rpartition(".")
    module_name = module_name or default_module or ""
    if not module_name:
        raise ImportError(f"{path!r} is not a dotted path (package.module.Name)")
    module = importlib.import_module(module_name)
    if not hasattr(module, attr):
        raise ImportError(f"module {module_name!r} has no attribute {attr!r}")
    return getattr(module, attr)
