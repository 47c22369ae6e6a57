"""The method registry: every method class under its class name.

The CLI help, the docs table and the tests iterate over :data:`METHODS`; a config may write
``class_path: VAT`` for a registered method. A new method registers itself with the
:func:`register_method` class decorator and is imported in ``ssl_kit/methods/__init__.py``.
"""

from __future__ import annotations

from typing import TypeVar

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
    """The registered method class called ``name`` (e.g. ``"VAT"``).

    Raises:
        KeyError: no method has that name; the message lists the known ones.
    """
    try:
        return METHODS[name]
    except KeyError:
        raise KeyError(f"Unknown method {name!r}; registered methods: {', '.join(sorted(METHODS))}.") from None
