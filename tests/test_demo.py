"""``ssl-kit demo``, the README's first command, on a shortened schedule."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import pytest

from ssl_kit.cli.demo import main, run_demo


def test_demo_trains_both_methods_and_writes_their_plots(tmp_path: Path) -> None:
    errors = run_demo(str(tmp_path), seed=3, steps=60)
    assert set(errors) == {"supervised", "vat"}
    assert all(0.0 <= e <= 100.0 for e in errors.values())
    for name in errors:
        image = matplotlib.image.imread(tmp_path / f"rings_{name}.png")
        assert image.shape[0] > 100 and image.shape[1] > 100


def test_demo_seed_fixes_the_initial_weights(tmp_path: Path) -> None:
    """Same seed, same result: the models are built after seeding, not before."""
    first = run_demo(str(tmp_path / "a"), seed=5, steps=5)
    second = run_demo(str(tmp_path / "b"), seed=5, steps=5)
    assert first == second


def test_demo_refuses_a_non_positive_step_count(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["--steps", "0"])
    assert "--steps must be positive" in capsys.readouterr().err


def test_demo_progress_bar_counts_steps_not_epochs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run bounded by max_steps alone showed "Epoch 99/-2" with Lightning's per-epoch bar."""
    import pytorch_lightning as pl

    from ssl_kit.callbacks import StepProgressBar

    bars = []
    build = pl.Trainer

    def spy(*args: object, **kwargs: object) -> pl.Trainer:
        trainer = build(*args, **kwargs)
        bars.append(trainer.progress_bar_callback)
        return trainer

    monkeypatch.setattr(pl, "Trainer", spy)
    run_demo(str(tmp_path), seed=1, steps=2)
    assert len(bars) == 2 and all(isinstance(bar, StepProgressBar) for bar in bars)
