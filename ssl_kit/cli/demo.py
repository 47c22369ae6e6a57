"""``ssl-kit demo``: supervised vs semi-supervised on the rings toy, with decision-boundary plots."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl

from ssl_kit.datamodules import ToyDataModule
from ssl_kit.callbacks.decision_boundary import plot_decision_boundary
from ssl_kit.callbacks.step_progress import StepProgressBar
from ssl_kit.methods import VAT, Supervised
from ssl_kit.methods.base import SSLModule
from ssl_kit.utils.threads import ThreadPolicy

DEMO_STEPS = 1000


def demo_methods() -> dict[str, Callable[[], SSLModule]]:
    """Builders of the models the demo compares, all with the same small MLP.

    Builders rather than models, so that each model's initial weights come from the seed set
    just before it is built.
    """
    net = {"hidden": [100, 100], "batch_norm": False}
    return {
        "supervised": lambda: Supervised(num_classes=2, input_shape=(2,), backbone_kwargs=net, lr=0.01),
        "vat": lambda: VAT(num_classes=2, input_shape=(2,), backbone_kwargs=net, lr=0.01, eps=0.1, unsup_weight=1.0),
    }


def run_demo(output_dir: str = "demo_output", seed: int = 1, steps: int = DEMO_STEPS) -> dict[str, float]:
    """Train each demo method on the rings toy; return test errors (percent) and write PNG plots."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    errors: dict[str, float] = {}
    for name, build in demo_methods().items():
        pl.seed_everything(seed, verbose=False)
        model = build()
        data = ToyDataModule(dataset="rings")
        trainer = pl.Trainer(
            max_steps=steps, logger=False, enable_checkpointing=False, enable_model_summary=False,
            use_distributed_sampler=False, default_root_dir=out, num_sanity_val_steps=0, limit_val_batches=0,
            accelerator="cpu", devices=1, callbacks=[ThreadPolicy(), StepProgressBar()],
        )
        start = time.perf_counter()
        trainer.fit(model, data)
        result = trainer.test(model, data, verbose=False)[0]
        errors[name] = result["test/error"]
        path = plot_decision_boundary(model, data, out / f"rings_{name}.png",
                                      title=f"{name}: test error {errors[name]:.1f}%")
        print(f"{name:>10}: test error {errors[name]:5.1f}%  ({time.perf_counter() - start:.0f} s)  plot: {path}")
    return errors


def main(args: list[str] | None = None) -> None:
    """Parse ``ssl-kit demo`` arguments and run the demo."""
    parser = argparse.ArgumentParser(prog="ssl-kit demo", description=__doc__)
    parser.add_argument("--output_dir", default="demo_output", help="folder of the two PNG plots")
    parser.add_argument("--seed", type=int, default=1, help="seed of the data, the initial weights and the noise")
    parser.add_argument("--steps", type=int, default=DEMO_STEPS, help="training steps per method")
    ns = parser.parse_args(args)
    if ns.steps < 1:
        parser.error(f"--steps must be positive, got {ns.steps}.")
    run_demo(ns.output_dir, ns.seed, ns.steps)
