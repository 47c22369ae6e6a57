"""Refit a trained model's batch-norm statistics on its run's unlabeled pool (``ssl-kit refit-bn``).

The population statistics of Ioffe & Szegedy (2015, Algorithm 2, step 10), computed over the
unlabeled pool of any :class:`~ssl_kit.datamodules.LabeledUnlabeledDataModule`: what
:class:`~ssl_kit.callbacks.PopulationBatchNorm` does at the end of training, for checkpoints
trained without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from ssl_kit.datamodules import LabeledUnlabeledDataModule
from ssl_kit.callbacks.population_batch_norm import recompute_batch_norm_statistics
from ssl_kit.evaluation.checkpoints import (
    checkpoint_datamodule,
    checkpoint_parser,
    classifier,
    error_rate,
    load_checkpoint,
    parse_with_data_flags,
    read_checkpoint,
)


def refit_batch_norm(
    model: nn.Module, datamodule: LabeledUnlabeledDataModule, batch_size: int = 250, max_inputs: int | None = None
) -> int:
    """Recompute the batch-norm statistics of ``model``'s evaluated network over the unlabeled pool.

    Args:
        model: a method (its ``eval_classifier``, the weight average if any, is refitted) or a network.
        datamodule: its :meth:`~ssl_kit.datamodules.LabeledUnlabeledDataModule.unlabeled_inputs` are the pool.
        batch_size: inputs per forward pass.
        max_inputs: use only the first ``max_inputs`` of the pool (``None``: all of it).

    Returns:
        The number of batch-norm layers refitted (0: the network has none and is untouched).
    """
    if not hasattr(datamodule, "unlabeled_inputs"):
        raise TypeError(f"refit_batch_norm needs a LabeledUnlabeledDataModule, got {type(datamodule).__name__}.")
    net = classifier(model)
    return recompute_batch_norm_statistics(net, datamodule.unlabeled_inputs(max_inputs), batch_size)


def main(argv: Sequence[str] | None = None) -> list[tuple[float, float]]:
    """``ssl-kit refit-bn CKPT [CKPT ...] [--save] [--config RUN.yaml] [--data.* ...]``.

    Prints the test error before and after the refit per checkpoint; returns ``(before, after)`` pairs.
    """
    parser = checkpoint_parser("ssl-kit refit-bn", (__doc__ or "").split("\n\n")[0])
    parser.add_argument("--batch_size", type=int, default=250, help="inputs per forward pass of the refit")
    parser.add_argument("--max_inputs", type=int, help="use only the first N inputs of the unlabeled pool")
    parser.add_argument("--save", action="store_true", help="write CKPT's refitted copy as <name>.refit.ckpt")
    args, data_flags = parse_with_data_flags(parser, argv)
    errors = []
    for path in args.checkpoints:
        model = load_checkpoint(path, args.model_class)
        data = checkpoint_datamodule(path, args.config, data_flags)
        data.prepare_data()
        data.setup("test")
        before = error_rate(model, data.test_dataloader())
        layers = refit_batch_norm(model, data, args.batch_size, args.max_inputs)
        after = error_rate(model, data.test_dataloader())
        errors.append((before, after))
        print(f"{path}: {type(model).__name__}, {layers} batch-norm layers refitted, "
              f"test error {before:.2f} % -> {after:.2f} %")
        if args.save and layers:
            checkpoint = read_checkpoint(path)
            checkpoint["state_dict"] = model.state_dict()
            target = Path(path).with_suffix(".refit.ckpt")
            torch.save(checkpoint, target)
            print(f"  written {target}")
    return errors
