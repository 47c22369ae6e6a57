"""experiments/plot_val_curves.py: one PNG from several runs' metrics.csv, clear errors on bad input."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def write_metrics(folder: Path, values: list[float]) -> Path:
    """A Lightning-style metrics.csv with training rows (no val/error) between validation rows."""
    folder.mkdir(parents=True)
    with open(folder / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["epoch", "step", "train/loss", "val/error"])
        writer.writeheader()
        for i, value in enumerate(values):
            writer.writerow({"epoch": i, "step": 1000 * i + 499, "train/loss": 0.5, "val/error": ""})
            writer.writerow({"epoch": i, "step": 1000 * i + 999, "train/loss": "", "val/error": value})
    return folder


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    """Call the script's ``main`` with the given arguments; returns ``(exit code, stdout + stderr)``."""
    spec = importlib.util.spec_from_file_location("plot_val_curves", EXPERIMENTS / "plot_val_curves.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    def call(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["plot_val_curves.py", *args])
        try:
            script.main()
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
            print(stop.code, file=sys.stderr)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return call


def test_plots_every_run_and_refuses_bad_input(tmp_path: Path, run) -> None:
    a = write_metrics(tmp_path / "a", [9.0, 3.0, 2.0])
    b = write_metrics(tmp_path / "b", [8.0, 25.0, 5.0])
    out = tmp_path / "curves.png"
    code, text = run("--out", str(out), "--published", "1.36", f"linear: seed 1:{a}", f"exp:{b}")
    assert code == 0, text
    assert "2 runs" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    code, text = run("--out", str(out), f"exp:{tmp_path / 'nowhere'}")
    assert code != 0 and "metrics.csv does not exist" in text
    code, text = run("--out", str(out), str(a))
    assert code != 0 and "expected GROUP:LOG_DIR" in text
    code, text = run("--out", str(out), "--metric", "val/accuracy", f"exp:{a}")
    assert code != 0 and "no val/accuracy values logged" in text
