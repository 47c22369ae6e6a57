"""The README as a user copies it: its set-up commands are the ones CI runs, its Python blocks run,
and every shipped config its commands name exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl

from ssl_kit.cli.config_files import resolve_config
from conftest import real_mnist_available

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    """The fenced code blocks of one language, in order."""
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def command_lines() -> list[str]:
    """Every command of the README's bash blocks, comments removed."""
    lines = [line.split("  #")[0].strip() for block in code_blocks("bash") for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_two_set_up_commands_are_what_ci_runs() -> None:
    setup = command_lines()[:2]
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert setup[0].startswith("pip install") and "pytest" in setup[1]
    assert all(command in ci for command in setup), setup


def test_every_shipped_config_the_readme_names_exists() -> None:
    named = []
    for line in command_lines():
        words = line.split()
        named += [words[i + 1] for i, word in enumerate(words[:-1]) if word == "--config" and "<" not in words[i + 1]]
    assert named
    for name in named:
        if name.startswith("my_"):  # the user's own file in the example
            continue
        assert Path(resolve_config(name)).is_file(), name


class FewSteps(pl.Trainer):
    """The README's Trainer, cut to two steps without logs or checkpoints."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(max_steps=2, max_epochs=None, limit_val_batches=0, logger=False, enable_checkpointing=False,
                      enable_progress_bar=False, enable_model_summary=False)
        super().__init__(*args, **kwargs)


def test_python_blocks_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python blocks in order, in one namespace (as a reader pastes them into one session)."""
    blocks = code_blocks("python")
    if any("MNIST" in block for block in blocks) and not real_mnist_available():
        pytest.skip("a block reads the real MNIST")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pl, "Trainer", FewSteps)
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    assert blocks
    for index, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {index}", "exec"), namespace)
