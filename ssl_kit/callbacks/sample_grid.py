"""Grids of generated examples (for methods with a generator, e.g. Improved GAN)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure  # drawn without pyplot: no backend switch
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from torchvision.utils import save_image


def as_images(samples: torch.Tensor, image_shape: Sequence[int] | None = None) -> torch.Tensor | None:
    """``samples`` as ``(n, C, H, W)`` images, or ``None`` if they cannot be drawn as images.

    Image batches pass through; flat examples are reshaped to ``image_shape`` if given, else to
    a square grey image when their size is a perfect square (784 -> 1x28x28).
    """
    if image_shape is not None:
        return samples.reshape(len(samples), *image_shape)
    if samples.dim() == 4:
        return samples
    if samples.dim() == 3:
        return samples.unsqueeze(1)
    size = samples[0].numel()
    side = math.isqrt(size)
    if side * side == size and side > 1:
        return samples.reshape(len(samples), 1, side, side)
    return None


def guess_value_range(samples: torch.Tensor) -> tuple[float, float]:
    """(0, 1) for sigmoid outputs, (-1, 1) for tanh outputs, else the samples' own range."""
    lo, hi = float(samples.min()), float(samples.max())
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    if lo >= -1.0 and hi <= 1.0:
        return -1.0, 1.0
    return lo, hi


def save_sample_grid(
    samples: torch.Tensor,
    path: str | Path,
    nrow: int = 10,
    image_shape: Sequence[int] | None = None,
    value_range: tuple[float, float] | None = None,
) -> Path | None:
    """Write ``samples`` as a PNG image grid (``torchvision.utils.save_image``), or as a scatter plot of
    the first two coordinates for non-image data. Returns the path written (``None`` if nothing).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = samples.detach().float().cpu()
    images = as_images(samples, image_shape)
    if images is not None:
        save_image(images, path, nrow=nrow, normalize=True, value_range=value_range or guess_value_range(images),
                   padding=2, pad_value=1.0)
        return path
    flat = samples.flatten(1)
    if flat.shape[1] < 2:
        return None
    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    ax.scatter(flat[:, 0], flat[:, 1], s=6, c="tab:red")
    ax.set_title("generated samples (first two coordinates)", fontsize=8)
    ax.set_aspect("equal")
    fig.savefig(path, dpi=80, bbox_inches="tight")
    return path


class SampleGrid(pl.Callback):
    """Writes ``<log_dir>/samples/epoch_XXXX.png`` every ``every_n_epochs`` epochs and ``final.png`` at the end.

    The module must have a ``sample(n)`` method (as :class:`~ssl_kit.methods.ImprovedGAN` does).
    Image data become a ``torchvision`` grid; 2-D (or other non-image) data a scatter plot.

    Args:
        every_n_epochs: epochs between two grids (0: only the final one).
        num_samples: generated examples per grid.
        nrow: images per row.
        image_shape: shape to draw flat examples as (default: square grey images when possible).
        value_range: pixel range mapped to black..white (default: guessed from the samples).
        dirname: sub-folder of the log folder.
    """

    def __init__(
        self,
        every_n_epochs: int = 10,
        num_samples: int = 100,
        nrow: int = 10,
        image_shape: Sequence[int] | None = None,
        value_range: tuple[float, float] | None = None,
        dirname: str = "samples",
    ) -> None:
        if every_n_epochs < 0 or num_samples < 1:
            raise ValueError("every_n_epochs must be >= 0 and num_samples >= 1.")
        self.every_n_epochs = every_n_epochs
        self.num_samples = num_samples
        self.nrow = nrow
        self.image_shape = image_shape
        self.value_range = value_range
        self.dirname = dirname

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule, name: str) -> None:
        # ``trainer.log_dir`` is a collective under DDP: every rank must ask for it.
        folder = Path(trainer.log_dir or trainer.default_root_dir) / self.dirname
        if not trainer.is_global_zero:
            return
        if not callable(getattr(pl_module, "sample", None)):
            rank_zero_warn(f"SampleGrid: {type(pl_module).__name__} has no sample(n) method; nothing drawn.")
            return
        samples = pl_module.sample(self.num_samples)
        save_sample_grid(samples, folder / name, self.nrow, self.image_shape, self.value_range)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if self.every_n_epochs and epoch % self.every_n_epochs == 0:
            self._write(trainer, pl_module, f"epoch_{epoch:04d}.png")

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._write(trainer, pl_module, "final.png")
