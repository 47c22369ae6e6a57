"""Decision-boundary plots for 2-D data, as in the VAT paper's toy figure."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure  # drawn without pyplot: no backend switch
import pytorch_lightning as pl
import torch

from ssl_kit.datamodules.labeled_unlabeled import LabeledUnlabeledDataModule


@torch.no_grad()
def plot_decision_boundary(
    model: pl.LightningModule, data: LabeledUnlabeledDataModule, path: str | Path, title: str = "", resolution: int = 200
) -> Path:
    """Draw p(y=1|x) over the plane, the unlabeled points (grey) and the labeled ones (coloured).

    For a clustering model (no labeled points) the picture is p(cluster 1|x) and its boundary.

    Args:
        model: a trained model on 2-D inputs.
        data: its datamodule (set up, so that the split exists).
        path: PNG file to write.
        title: figure title.
        resolution: grid points per axis.
    """
    data.setup("fit")
    x_train, y_train, _, _ = data.tensors
    if x_train.shape[1:] != (2,):
        raise ValueError(f"Decision boundaries need 2-D inputs, got shape {tuple(x_train.shape[1:])}.")
    lo, hi = x_train.min(0).values - 0.3, x_train.max(0).values + 0.3
    gx, gy = torch.meshgrid(torch.linspace(lo[0], hi[0], resolution), torch.linspace(lo[1], hi[1], resolution), indexing="xy")
    classifier = model.eval_classifier
    was_training = classifier.training
    classifier.eval()
    grid = torch.stack([gx.flatten(), gy.flatten()], 1).to(model.device)
    prob = classifier(grid).softmax(-1)[:, 1].view(resolution, resolution).cpu()
    classifier.train(was_training)

    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.contourf(gx, gy, prob, levels=20, cmap="RdBu_r", alpha=0.6, vmin=0, vmax=1)
    ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(x_train[:, 0], x_train[:, 1], s=4, c="0.4", label="unlabeled")
    labeled = torch.tensor(data.split.labeled, dtype=torch.long)
    if len(labeled):  # none when clustering without labels
        ax.scatter(x_train[labeled, 0], x_train[labeled, 1], c=y_train[labeled], cmap="bwr", s=80,
                   edgecolors="k", marker="o", label="labeled")
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


class DecisionBoundaryPlot(pl.Callback):
    """Writes ``<log_dir>/decision_boundary.png`` at the end of training on 2-D data."""

    def __init__(self, filename: str = "decision_boundary.png") -> None:
        self.filename = filename

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        log_dir = Path(trainer.log_dir or trainer.default_root_dir)  # a collective: every rank asks
        if trainer.is_global_zero and hasattr(pl_module, "eval_classifier"):
            plot_decision_boundary(pl_module, trainer.datamodule, log_dir / self.filename)
