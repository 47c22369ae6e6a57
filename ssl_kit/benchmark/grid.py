"""Benchmark grids: a YAML file of methods × settings × seeds, parsed and checked into run specs.

A grid file looks like this (every key but ``methods`` and ``seeds`` is optional)::

    name: toy                                  # default: the file's stem
    methods:                                   # name -> LightningCLI config (or a mapping)
      supervised: configs/supervised/toy_rings.yaml
      vat:
        config: configs/vat/toy_rings.yaml     # one path or a list, layered in order
        overrides: {model.init_args.eps: 0.3}  # CLI flags for this method only
      tfidf_logreg:                            # a reference without a training loop:
        config: configs/supervised/rotten_tomatoes.yaml   # its data section gives the split
        reference: ssl_kit.benchmark.reference.tfidf_logistic_regression  # callable(datamodule) -> error (%)
    settings:                                  # name -> overrides (and optional extra configs)
      labels16: {data.init_args.num_labeled: 16}
      labels32: {config: configs/extra.yaml, data.init_args.num_labeled: 32}
    seeds: [1, 2, 3]
    overrides: {trainer.max_steps: 300}        # CLI flags for every run
    baseline: supervised                       # the reference row of the table
    published: {vat/labels16: 1.36, ladder: 1.06}   # "method/setting" or "method" -> error (%)
    launcher: {partition: gpu, timeout_min: 60}    # cluster options (see .launcher_config)

Overrides are dotted LightningCLI keys without the leading ``--``; later sources win:
grid ``overrides`` < method ``overrides`` < setting overrides. Relative config paths are
looked up from the current directory, then from each folder above the grid file, then among the
shipped configs (so a grid runs from any folder).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ssl_kit.benchmark.launcher_config import check_launcher
from ssl_kit.cli.config_files import resolve_config as shipped_config

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
TOP_LEVEL_KEYS = {"name", "description", "methods", "settings", "seeds", "overrides", "baseline", "published",
                  "launcher"}
DEFAULT_SETTING = "default"
# Flags the runner sets itself: a grid may not set them (seeds come from ``seeds``).
RESERVED_KEYS = ("seed_everything", "trainer.logger", "trainer.default_root_dir")


class GridError(ValueError):
    """A benchmark grid file is malformed; the message names the file, the key and the fix."""


@dataclass(frozen=True)
class RunSpec:
    """One run of the grid: a method's config(s) plus overrides, with one seed.

    Attributes:
        method: method name in the grid.
        setting: setting name in the grid.
        seed: value of ``seed_everything``.
        configs: config files as written in the grid (used in the resume key).
        config_paths: the same files, resolved to existing paths (used to run).
        overrides: merged dotted overrides, in application order.
        reference: dotted path of a ``callable(datamodule) -> test error (%)`` run instead of
            ``fit``/``test`` (a reference such as a linear model), or None for a normal run.
    """

    method: str
    setting: str
    seed: int
    configs: tuple[str, ...]
    config_paths: tuple[str, ...]
    overrides: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    reference: str | None = None

    @property
    def run_id(self) -> str:
        """Folder-safe identifier, unique in a grid: ``method__setting__seed<seed>``."""
        return f"{self.method}__{self.setting}__seed{self.seed}"

    @property
    def key(self) -> str:
        """Resume key: a hash of method, configs (names and contents), overrides and seed.

        Machine independent: the config files enter by the names written in the grid and by a
        hash of their bytes, so editing a config runs its rows again.
        """
        fields = {"method": self.method, "setting": self.setting, "seed": self.seed,
                  "configs": list(self.configs), "contents": [_file_digest(p) for p in self.config_paths],
                  "overrides": [[k, v] for k, v in self.overrides]}
        if self.reference is not None:  # only then, so keys of training runs stay as they were
            fields["reference"] = self.reference
        payload = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha1(payload.encode()).hexdigest()[:12]

    def cli_args(self) -> list[str]:
        """LightningCLI arguments of this run (without the subcommand)."""
        args: list[str] = []
        for path in self.config_paths:
            args += ["--config", path]
        args += [f"--{key}={format_value(value)}" for key, value in self.overrides]
        args.append(f"--seed_everything={self.seed}")
        return args


@dataclass
class Grid:
    """A parsed benchmark grid.

    Attributes:
        name: grid name (titles, default output folder).
        path: the grid file, if it came from one.
        methods: method name -> (config files as written, resolved paths, overrides).
        references: method name -> dotted path of its reference callable (methods without a
            training loop, see :class:`RunSpec`).
        settings: setting name -> (extra config files, resolved paths, overrides).
        seeds: seeds, in order.
        overrides: overrides for every run.
        baseline: the method shown as the baseline row, if any.
        published: ``"method/setting"`` or ``"method"`` -> published test error (%).
        description: free text copied into the report.
    """

    name: str
    methods: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, Any]]]
    settings: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, Any]]]
    seeds: list[int]
    overrides: dict[str, Any] = field(default_factory=dict)
    baseline: str | None = None
    published: dict[str, float] = field(default_factory=dict)
    description: str = ""
    path: Path | None = None
    references: dict[str, str] = field(default_factory=dict)
    launcher: dict[str, Any] = field(default_factory=dict)

    def runs(self, methods: list[str] | None = None, settings: list[str] | None = None,
             seeds: list[int] | None = None) -> list[RunSpec]:
        """All runs, setting-major then method then seed; ``methods`` / ``settings`` / ``seeds`` restrict them."""
        if methods:
            unknown = sorted(set(methods) - set(self.methods))
            if unknown:
                raise GridError(f"Unknown method(s) {unknown}; the grid has {sorted(self.methods)}.")
        if settings:
            unknown = sorted(set(settings) - set(self.settings))
            if unknown:
                raise GridError(f"Unknown setting(s) {unknown}; the grid has {sorted(self.settings)}.")
        if seeds:
            unknown = sorted(set(seeds) - set(self.seeds))
            if unknown:
                raise GridError(f"Unknown seed(s) {unknown}; the grid has {self.seeds}.")
        specs = []
        for setting, (s_cfg, s_paths, s_over) in self.settings.items():
            if settings and setting not in settings:
                continue
            for method, (m_cfg, m_paths, m_over) in self.methods.items():
                if methods and method not in methods:
                    continue
                merged = {**self.overrides, **m_over, **s_over}
                for seed in self.seeds:
                    if seeds and seed not in seeds:
                        continue
                    specs.append(RunSpec(method, setting, seed, m_cfg + s_cfg, m_paths + s_paths,
                                         tuple(merged.items()), self.references.get(method)))
        return specs

    def published_error(self, method: str, setting: str) -> float | None:
        """The published error for ``method`` in ``setting`` (specific key first), or None."""
        return self.published.get(f"{method}/{setting}", self.published.get(method))

    def require_files(self, methods: list[str] | None = None) -> None:
        """Raise :class:`GridError` naming the first config file (of ``methods``, or all) that is missing."""
        entries = [(f"methods.{m}", v) for m, v in self.methods.items() if not methods or m in methods]
        entries += [(f"settings.{s}", v) for s, v in self.settings.items()]
        for where, (written, resolved, _) in entries:
            for name, found in zip(written, resolved):
                if not Path(found).is_file():
                    raise _fail(f"{self.path or '<grid>'}: {where}", f"config file {name!r} does not exist "
                                "(looked in the current directory and above the grid file); fix the path, "
                                "remove the entry or leave the method out (--methods).")

    def config_files(self) -> list[str]:
        """Every config file the grid references, as written."""
        files = [f for cfgs, _, _ in self.methods.values() for f in cfgs]
        return files + [f for cfgs, _, _ in self.settings.values() for f in cfgs]


def _file_digest(path: str) -> str:
    """Short SHA-1 of a file's bytes (empty when the file cannot be read, e.g. in a parsed-only grid)."""
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return ""


def format_value(value: Any) -> str:
    """Render an override value for the command line (YAML/JSON syntax for non-strings)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def resolve_config(path: str, grid_path: Path | None) -> Path | None:
    """Find ``path``: absolute, else from the current directory, else from folders above the grid,
    else among the shipped configs (``configs/vat/mnist.yaml`` or ``vat/mnist``)."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    if candidate.is_file():
        return candidate.resolve()
    if grid_path is not None:
        for folder in Path(grid_path).resolve().parents:
            if (folder / candidate).is_file():
                return folder / candidate
    shipped = Path(shipped_config(path))
    return shipped if shipped.is_absolute() and shipped.is_file() else None


def _fail(where: str, message: str) -> GridError:
    return GridError(f"{where}: {message}")


def _check_name(where: str, kind: str, name: Any) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or "__" in name:
        raise _fail(where, f"{kind} name {name!r} must be letters, digits, '_', '.', '-' (no '__').")
    return name


def _check_overrides(where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(where, f"overrides must be a mapping of dotted CLI keys to values, got {value!r}.")
    out = {}
    for key, val in value.items():
        if not isinstance(key, str) or not key or key.startswith("-"):
            raise _fail(where, f"override key {key!r} must be a dotted CLI key without '--', "
                               "e.g. trainer.max_steps.")
        if key in RESERVED_KEYS:
            raise _fail(where, f"{key!r} is set by the benchmark runner (seeds come from 'seeds'); remove it.")
        out[key] = val
    return out


def _check_reference(where: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", value):
        raise _fail(where, f"reference must be a dotted path to a callable(datamodule) -> test error (%), "
                           f"e.g. ssl_kit.benchmark.reference.tfidf_logistic_regression; got {value!r}.")
    return value


def _check_configs(where: str, value: Any, grid_path: Path | None, check_files: bool
                   ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    files = [value] if isinstance(value, str) else value
    if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
        raise _fail(where, f"config must be a path or a list of paths, got {value!r}.")
    resolved = []
    for f in files:
        found = resolve_config(f, grid_path)
        if found is None and check_files:
            raise _fail(where, f"config file {f!r} does not exist (looked in the current directory and "
                               "above the grid file); fix the path or remove the entry.")
        resolved.append(str(found) if found is not None else f)
    return tuple(files), tuple(resolved)


def parse_grid(raw: Any, path: Path | None = None, check_files: bool = True) -> Grid:
    """Check a grid given as a mapping (e.g. loaded YAML) and build a :class:`Grid`.

    Args:
        raw: the grid mapping.
        path: the file it came from (for messages and relative config paths).
        check_files: whether every referenced config file must exist.

    Raises:
        GridError: naming the file, the key and what to change.
    """
    src = str(path) if path is not None else "<grid>"
    if not isinstance(raw, Mapping):
        raise _fail(src, "a grid must be a YAML mapping with at least 'methods' and 'seeds'.")
    unknown = sorted(set(raw) - TOP_LEVEL_KEYS)
    if unknown:
        raise _fail(src, f"unknown key(s) {unknown}; allowed: {sorted(TOP_LEVEL_KEYS)}.")

    methods_raw = raw.get("methods")
    if not isinstance(methods_raw, Mapping) or not methods_raw:
        raise _fail(src, "'methods' must be a non-empty mapping of method name -> config path.")
    methods, references = {}, {}
    for name, entry in methods_raw.items():
        where = f"{src}: methods.{name}"
        _check_name(where, "method", name)
        if isinstance(entry, Mapping):
            extra = sorted(set(entry) - {"config", "overrides", "reference"})
            if extra or "config" not in entry:
                raise _fail(where, "a method mapping takes 'config' (required), 'overrides' and 'reference' only.")
            cfg, over = entry["config"], entry.get("overrides")
            if "reference" in entry:
                references[name] = _check_reference(where, entry["reference"])
        else:
            cfg, over = entry, None
        methods[name] = (*_check_configs(where, cfg, path, check_files), _check_overrides(where, over))

    settings_raw = raw.get("settings")
    if settings_raw is None:
        settings_raw = {DEFAULT_SETTING: {}}
    if not isinstance(settings_raw, Mapping) or not settings_raw:
        raise _fail(src, "'settings' must be a non-empty mapping of setting name -> overrides.")
    settings = {}
    for name, entry in settings_raw.items():
        where = f"{src}: settings.{name}"
        _check_name(where, "setting", name)
        entry = dict(entry or {}) if isinstance(entry, Mapping) or entry is None else entry
        if not isinstance(entry, dict):
            raise _fail(where, f"a setting must be a mapping of overrides (and 'config'), got {entry!r}.")
        cfg = entry.pop("config", [])
        settings[name] = (*_check_configs(where, cfg, path, check_files), _check_overrides(where, entry))

    seeds = raw.get("seeds")
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise _fail(src, f"'seeds' must be a non-empty list of integers, got {seeds!r}.")
    if len(set(seeds)) != len(seeds):
        raise _fail(src, f"'seeds' has duplicates: {seeds}.")

    baseline = raw.get("baseline", "supervised" if "supervised" in methods else None)
    if baseline is not None and baseline not in methods:
        raise _fail(src, f"baseline {baseline!r} is not one of the methods {sorted(methods)}.")

    published_raw = raw.get("published") or {}
    if not isinstance(published_raw, Mapping):
        raise _fail(src, "'published' must map 'method/setting' or 'method' to an error in percent.")
    published = {}
    for key, value in published_raw.items():
        method, _, setting = str(key).partition("/")
        if method not in methods or (setting and setting not in settings):
            raise _fail(src, f"published key {key!r} names no method/setting of this grid.")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(src, f"published[{key!r}] must be a number (test error in percent), got {value!r}.")
        published[str(key)] = float(value)

    name = raw.get("name") or (path.stem if path is not None else "grid")
    _check_name(src, "grid", name)
    try:
        launcher = check_launcher(raw.get("launcher"))
    except ValueError as err:
        raise _fail(src, str(err)) from err
    return Grid(name=name, methods=methods, settings=settings, seeds=list(seeds),
                overrides=_check_overrides(f"{src}: overrides", raw.get("overrides")), baseline=baseline,
                published=published, description=str(raw.get("description") or ""), path=path,
                references=references, launcher=launcher)


def load_grid(path: str | Path, check_files: bool = True) -> Grid:
    """Read and check a grid YAML file (see the module docstring for the format); ``path`` may also
    name a shipped grid (``benchmark/toy``)."""
    path = Path(shipped_config(str(path)))
    if not path.is_file():
        raise GridError(f"Grid file {str(path)!r} does not exist.")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise GridError(f"{path}: not valid YAML ({err}).") from err
    return parse_grid(raw, path, check_files)
