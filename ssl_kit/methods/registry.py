"""The method registry: every method class under its class name.

The CLI help, the docs table and the tests iterate over :data:`METHODS`; a config may write
``class_path: VAT`` for a registered method. A new method registers itself with the
:func:`register_method` class decorator and is imported in ``ssl_kit/methods/__init__.py``.
"""

from __future__ import annotations

import importlib
from typing import TypeVar

from ssl_kit.utils.imports import import_object

T = TypeVar("T", bound=type)

METHODS: dict[str, type] = {}


def register_method(cls: T) -> T:
    """Class decorator: add ``cls`` to :data:`METHODS` under its class name.

    Raises:
        ValueError: another class is registered under the same name.
    """
    existing = METHODS.get(cls.__name__)
    if existing is not None and existing is not cls:
        raise ValueError(f"A method named {cls.__name__!r} is registered already ({existing.__module__}).")
    METHODS[cls.__name__] = cls
    return cls


def get_method(name: str) -> type:
    """The method class called ``name``: the one lookup of configs, checkpoints and the CLI.

    Args:
        name: a registered class name (``"VAT"``), the import path of a shipped method
            (``ssl_kit.methods.vat.VAT``) or of a user's own class (``my_package.MyMethod``).

    Raises:
        KeyError: no method has that name; the message lists the registered ones.
    """
    importlib.import_module("ssl_kit.methods")  # every shipped method registers itself on import
    short = name.rpartition(".")[2]
    if name in METHODS or (name.startswith("ssl_kit.") and short in METHODS):
        return METHODS[short]
    if "." in name:
        try:
            found = import_object(name)
        except ImportError:
            found = None
        if isinstance(found, type):
            return found
    raise KeyError(f"Unknown method {name!r}; registered methods: {', '.join(sorted(METHODS))}, or the import path "
                   "of your own class (my_package.MyMethod).")
