"""Where data are read from and caches are written to.

Data folders are only read. ``SSL_KIT_DATA`` may be relative: it is made absolute once, when
``ssl_kit`` is imported, against the folder the process started in, so a later ``chdir`` (a test,
a launcher) and every subprocess see the same folder. Caches (ZCA fits, pre-trained vectors) go
to ``$SSL_KIT_CACHE``, else the platform's user cache folder (``$XDG_CACHE_HOME/ssl_kit`` or
``~/.cache/ssl_kit`` on Linux, ``~/Library/Caches/ssl_kit`` on macOS, ``%LOCALAPPDATA%`` on
Windows).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DATA_ENV = "SSL_KIT_DATA"
CACHE_ENV = "SSL_KIT_CACHE"


def resolve_data_env() -> None:
    """Make a relative ``$SSL_KIT_DATA`` absolute against the current folder, in the environment."""
    value = os.environ.get(DATA_ENV)
    if value and not os.path.isabs(value):
        os.environ[DATA_ENV] = os.path.abspath(os.path.expanduser(value))


def default_data_dir() -> str:
    """Data root: ``$SSL_KIT_DATA`` (absolute, see :func:`resolve_data_env`), else ``./data``."""
    return os.environ.get(DATA_ENV, "./data")


def cache_dir(kind: str) -> Path:
    """The user cache folder for one kind of cached object (``zca``, ``word_vectors``, ...)."""
    root = os.environ.get(CACHE_ENV)
    if root:
        base = Path(root).expanduser()
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "ssl_kit"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "ssl_kit" / "Cache"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ssl_kit"
    return base.resolve() / kind
