"""Test error under an L2 fast-gradient attack, for any method and datamodule (``ssl-kit robustness``).

Every evaluation input x is moved to ``x + eps * g / ||g||_2``, with ``g`` the gradient of the
cross-entropy at the true label with respect to x (the fast gradient method with an L2 constraint,
Goodfellow et al. 2015; eq. 8 of Miyato et al. 2018), computed on the network the method
evaluates with, in evaluation mode (running batch-norm statistics, no noise). The norm is over the
whole example, so ``eps`` is in the units of the datamodule's inputs (MNIST in [0, 1]: 0.3 is the
VAN paper's robustness protocol).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import pytorch_lightning as pl
import torch
from torch import nn

from ssl_kit.evaluation.checkpoints import (
    checkpoint_datamodule,
    checkpoint_parser,
    classifier,
    load_checkpoint,
    parse_with_data_flags,
)
from ssl_kit.losses import fgm_perturbation


class RobustnessResult(NamedTuple):
    """Clean and attacked error, in percent, over ``count`` examples."""

    clean_error: float
    attacked_error: float
    count: int


def _loader(datamodule: pl.LightningDataModule, split: str):
    if split not in ("test", "val"):
        raise ValueError(f"split must be 'test' or 'val', got {split!r}.")
    datamodule.prepare_data()
    datamodule.setup("test" if split == "test" else "validate")
    return datamodule.test_dataloader() if split == "test" else datamodule.val_dataloader()


def robustness(
    model: nn.Module,
    datamodule: pl.LightningDataModule,
    eps: float = 0.3,
    clip: tuple[float, float] | None = None,
    split: str = "test",
    device: str | torch.device = "cpu",
) -> RobustnessResult:
    """Clean and L2 fast-gradient-attacked error of ``model`` on a datamodule's evaluation data.

    Args:
        model: a trained method (its ``eval_classifier`` is attacked) or any classifier returning logits.
        datamodule: gives ``(x, y)`` batches through ``test_dataloader`` or ``val_dataloader``.
        eps: L2 norm of the perturbation per example, in input units.
        clip: ``(low, high)`` to clip attacked inputs to the valid range; ``None``: no clipping.
        split: ``"test"`` or ``"val"``.
        device: where the network runs.
    """
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps}.")
    net = classifier(model).to(device).eval()
    clean = attacked = count = 0
    for x, y in _loader(datamodule, split):
        x, y = x.to(device), y.to(device)
        x_adv = x + fgm_perturbation(net, x, y, eps)
        if clip is not None:
            x_adv = x_adv.clamp(*clip)
        with torch.no_grad():
            clean += int((net(x).argmax(-1) != y).sum())
            attacked += int((net(x_adv).argmax(-1) != y).sum())
        count += len(y)
    if not count:
        raise ValueError(f"The datamodule's {split} loader yielded no examples.")
    return RobustnessResult(100.0 * clean / count, 100.0 * attacked / count, count)


def main(argv: Sequence[str] | None = None) -> list[RobustnessResult]:
    """``ssl-kit robustness CKPT [CKPT ...] [--eps 0.3] [--config RUN.yaml] [--data.* ...]``.

    Prints (and with ``--output`` writes) one Markdown table row per checkpoint; returns the results.
    """
    parser = checkpoint_parser("ssl-kit robustness", (__doc__ or "").split("\n\n")[0])
    parser.add_argument("--eps", type=float, default=0.3, help="L2 norm of the attack per example (input units)")
    parser.add_argument("--clip", type=float, nargs=2, metavar=("LOW", "HIGH"), help="clip attacked inputs")
    parser.add_argument("--split", choices=("test", "val"), default="test")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--output", help="also write the Markdown table to this file")
    args, data_flags = parse_with_data_flags(parser, argv)
    rows = [f"| checkpoint | method | clean {args.split} error (%) | FGM L2 eps {args.eps:g} error (%) |",
            "| --- | --- | --- | --- |"]
    results = []
    for path in args.checkpoints:
        model = load_checkpoint(path, args.model_class)
        data = checkpoint_datamodule(path, args.config, data_flags)
        result = robustness(model, data, args.eps, tuple(args.clip) if args.clip else None, args.split, args.device)
        results.append(result)
        rows.append(f"| {path} | {type(model).__name__} | {result.clean_error:.2f} | {result.attacked_error:.2f} |")
    table = "\n".join(rows)
    print(table)
    if args.output:
        with open(args.output, "w") as f:
            f.write(table + "\n")
    return results
