"""Batch-norm statistics recomputed over the training inputs once training ends."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info, rank_zero_warn
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from ssl_kit.nets.ladder import LadderBatchNorm


def recompute_batch_norm_statistics(model: nn.Module, inputs: torch.Tensor, batch_size: int = 250) -> int:
    """Replace the running statistics of every batch-norm layer by their average over ``inputs``.

    The population statistics of Ioffe & Szegedy (2015, Algorithm 2, step 10): the mean of the
    batch means and of the unbiased batch variances over equal-sized batches of ``inputs``, instead
    of the exponential average that training leaves behind. The model runs in evaluation mode (no
    noise, no dropout), so the statistics are those of the network that is evaluated; only its
    batch-norm layers switch to training mode. A last, smaller batch is dropped unless it is the
    only one. Momenta and train/eval modes are restored afterwards.

    Args:
        model: the network whose ``_BatchNorm`` layers (with running statistics) and ladder
            normalisations (:class:`~ssl_kit.nets.ladder.LadderBatchNorm`) are refitted.
        inputs: training inputs, ``(N, *input_shape)``; moved batch by batch to the model's device.
        batch_size: inputs per forward pass.

    Returns:
        The number of batch-norm layers refitted (0 leaves the model untouched).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}.")
    if len(inputs) == 0:
        raise ValueError("No inputs to compute batch-norm statistics from.")
    layers = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    ladder = [m for m in model.modules() if isinstance(m, LadderBatchNorm)]
    layers += ladder
    if not layers:
        return 0
    modes = {m: m.training for m in model.modules()}
    momenta = [m.momentum for m in layers]
    device = next(iter(model.state_dict().values())).device
    batches = list(inputs.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) < batch_size:
        batches.pop()
    try:
        model.eval()
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None  # cumulative (equal-weight) average over the batches
            layer.train()
        for layer in ladder:
            layer.track_running_stats = True  # update on every pass, not only the ladder's clean one
        with torch.no_grad():
            for batch in batches:
                model(batch.to(device))
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        for layer in ladder:
            layer.track_running_stats = False
        for module, training in modes.items():
            module.train(training)
    return len(layers)


class PopulationBatchNorm(pl.Callback):
    """When training ends, refit the evaluated network's batch-norm statistics on the unlabeled pool.

    The running averages that training leaves behind mix labeled and unlabeled batches and lag the
    last weight updates; the VAT authors' code recomputes the statistics over the unlabeled training
    set after the last update, before testing ("finetune batch stat" in takerum/vat). This callback
    does the same with :func:`recompute_batch_norm_statistics` on the method's
    ``eval_classifier`` (the weight average when ``ema_decay`` is set), then re-saves the
    checkpoints that hold the final weights (``last.ckpt``, and the latest one when a checkpoint
    callback monitors nothing), so ``ssl-kit test --ckpt_path ...`` sees the refitted statistics.
    Every process computes the same statistics from the whole pool, so DDP needs no reduction.

    The ladder's own normalisation is refitted too; networks without batch norm (the
    weight-normalised GAN discriminator) are left as they are, with a warning.

    Args:
        batch_size: inputs per forward pass (the reference uses its unlabeled batch size, 250).
        max_inputs: use only the first ``max_inputs`` of the pool (``None``: all of it).
    """

    def __init__(self, batch_size: int = 250, max_inputs: int | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}.")
        if max_inputs is not None and max_inputs < 1:
            raise ValueError(f"max_inputs must be positive or None, got {max_inputs}.")
        self.batch_size = batch_size
        self.max_inputs = max_inputs
        self._last_step_saved: int | None = None

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        """Note the step of every checkpoint written, to know which files hold the final weights."""
        self._last_step_saved = trainer.global_step

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Refit the statistics, then re-save the checkpoints of the final weights."""
        data = trainer.datamodule
        if data is None or not hasattr(data, "unlabeled_inputs"):
            raise ValueError(
                "PopulationBatchNorm needs a LabeledUnlabeledDataModule (its unlabeled_inputs()); "
                f"got {type(data).__name__ if data is not None else 'no datamodule'}."
            )
        inputs = data.unlabeled_inputs(self.max_inputs)
        model = getattr(pl_module, "eval_classifier", pl_module)
        refitted = recompute_batch_norm_statistics(model, inputs, self.batch_size)
        if not refitted:
            rank_zero_warn(f"PopulationBatchNorm: {type(model).__name__} has no torch batch-norm layer; nothing to refit.")
            return
        rank_zero_info(f"Batch-norm statistics of {refitted} layers recomputed over {len(inputs)} unlabeled inputs.")
        saved_now = self._last_step_saved == trainer.global_step
        for path in final_checkpoints(trainer, saved_now):
            trainer.save_checkpoint(path)


def final_checkpoints(trainer: pl.Trainer, saved_now: bool) -> list[str]:
    """The checkpoint files that hold the final weights: every ``last.ckpt`` and, when a checkpoint
    was written at the final step (``saved_now``), the latest file of each checkpoint callback that
    monitors nothing (with several such callbacks, each one's latest file is taken to be of this step).
    """
    paths: list[str] = []
    for callback in trainer.checkpoint_callbacks:
        candidates = [getattr(callback, "last_model_path", "")]
        if getattr(callback, "monitor", "set") is None and saved_now:  # top-k file of these weights
            candidates.append(getattr(callback, "best_model_path", ""))
        paths += [p for p in candidates if p and p not in paths]
    return paths
