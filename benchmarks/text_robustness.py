"""Test error of text models under an FGM attack on their normalised word embeddings.

Every test text's embeddings ``e`` (evaluation mode: no dropout) are moved to ``e + eps * g / ||g||``
with ``g`` the gradient of the cross-entropy at the true label with respect to ``e``, the norm
taken over the whole sequence and the padding left alone (``ssl_kit.losses.fgm_perturbation``
with the padding mask; Miyato, Dai & Goodfellow 2017, eqs. 2-3).

Usage (run folders of ``ssl-kit benchmark``, each with ``config.yaml`` and ``logs/checkpoints/last.ckpt``)::

    python benchmarks/text_robustness.py --eps 1 2 benchmarks/output/text/runs/*
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ssl_kit.lightning_cli import build_cli  # noqa: E402
from ssl_kit.losses import fgm_perturbation  # noqa: E402


def attacked_errors(run_dir: Path, eps_values: list[float]) -> dict[float, float]:
    """Test error (%) of the run's last checkpoint for each attack radius (0: clean)."""
    cli = build_cli(["--config", str(run_dir / "config.yaml"), "--trainer.logger=false"], run=False)
    model, data = cli.model, cli.datamodule
    checkpoint = torch.load(run_dir / "logs" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    data.load_state_dict(checkpoint[type(data).__qualname__])
    model.load_state_dict(checkpoint["state_dict"])
    net = model.eval_classifier.eval()
    wrong = {eps: 0 for eps in eps_values}
    total = 0
    for x, y in data.test_dataloader():
        mask = net.padding_mask(x)
        with torch.no_grad():
            e = net.embed(x)
        forward = partial(net.classify_embedded, mask=mask)
        for eps in eps_values:
            r = fgm_perturbation(forward, e, y, eps, mask=mask.unsqueeze(-1)) if eps > 0 else torch.zeros_like(e)
            with torch.no_grad():
                wrong[eps] += int((forward(e + r).argmax(dim=1) != y).sum())
        total += len(y)
    return {eps: 100.0 * n / total for eps, n in wrong.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--eps", type=float, nargs="+", default=[1.0, 2.0])
    ns = parser.parse_args(argv)
    eps_values = [0.0, *ns.eps]
    print("| run | " + " | ".join(f"eps {e:g}" for e in eps_values) + " |")
    print("| --- |" + " --- |" * len(eps_values))
    for run in ns.runs:
        errors = attacked_errors(run, eps_values)
        print(f"| {run.name} | " + " | ".join(f"{errors[e]:.1f}" for e in eps_values) + " |", flush=True)


if __name__ == "__main__":
    main()
