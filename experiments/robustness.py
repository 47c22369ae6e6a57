"""MNIST test error under an L2 fast-gradient attack: the script behind the robustness table.

As in the VAN paper (Shinoda et al. 2017): every MNIST test image x (float in [0, 1]) is moved to
``x + eps * g / ||g||_2`` with ``g`` the gradient of the cross-entropy at the true label with
respect to x (:func:`ssl_kit.losses.fgm_perturbation`), computed on the model in evaluation mode
(the network used for test, batch-norm running statistics, no noise). ``--clip`` additionally clips
the attacked image to [0, 1] (off by default). ``ssl-kit robustness`` (:mod:`ssl_kit.evaluation`)
does the same for any datamodule; this script reads MNIST only and needs no run config.

Usage::

    python -m experiments.robustness --eps 0.3 CKPT [CKPT ...] [--out results.md]

A checkpoint is loaded with the class recorded by the Lightning CLI (``_class_path`` in its
hyper-parameters), or with ``--model-class module.Class`` for checkpoints saved otherwise.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from ssl_kit.datamodules import MNISTDataModule
from ssl_kit.evaluation import load_checkpoint as load_model
from ssl_kit.losses import fgm_perturbation
from ssl_kit.methods.base import SSLModule


def checkpoint_mnist_data(path: str, model: SSLModule, data_dir: str | None = None) -> MNISTDataModule:
    """The MNIST data module of a checkpoint's run: its stored split (labeled, unlabeled, validation).

    Checkpoints written without a stored split (not trained through the data module) get the
    default one, which a run with ``num_val > 0`` did not use; a note says so.
    """
    data = MNISTDataModule(data_dir=data_dir, flatten=len(model.input_shape) == 1)
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    state = checkpoint.get(MNISTDataModule.__qualname__, {})
    if "split" in state:
        data.load_state_dict({"split": state["split"]})
    else:
        print(f"{path}: no stored split; using the default one (100 labels, split seed 0, no validation).")
    return data


@torch.no_grad()
def _errors(logits: torch.Tensor, y: torch.Tensor) -> int:
    return int((logits.argmax(-1) != y).sum())


def attacked_error(model: SSLModule, x: torch.Tensor, y: torch.Tensor, eps: float, clip: bool,
                   batch_size: int = 500) -> tuple[float, float]:
    """``(clean error, attacked error)`` in percent on ``(x, y)``."""
    net = model.eval_classifier
    clean = attacked = 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        clean += _errors(net(xb), yb)
        x_adv = xb + fgm_perturbation(net, xb, yb, eps)
        if clip:
            x_adv = x_adv.clamp(0.0, 1.0)
        attacked += _errors(net(x_adv), yb)
    return 100.0 * clean / len(x), 100.0 * attacked / len(x)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="Lightning checkpoints (.ckpt)")
    parser.add_argument("--eps", type=float, default=0.3, help="L2 norm of the attack per image")
    parser.add_argument("--clip", action="store_true", help="clip attacked images to [0, 1]")
    parser.add_argument("--model-class", default=None, help="module.Class when a checkpoint does not record it")
    parser.add_argument("--data-dir", default=os.environ.get("SSL_KIT_DATA"), help="folder holding MNIST/")
    parser.add_argument("--out", default=None, help="also write the Markdown table here")
    args = parser.parse_args(argv)

    rows = [f"| checkpoint | method | clean test error % | FGM L2 eps={args.eps:g} test error % | seconds |",
            "| --- | --- | --- | --- | --- |"]
    for path in args.checkpoints:
        model = load_model(path, args.model_class)
        data = MNISTDataModule(data_dir=args.data_dir, flatten=len(model.input_shape) == 1)
        _, _, x_test, y_test = data.load_tensors()
        start = time.time()
        clean, attacked = attacked_error(model, x_test, y_test, args.eps, args.clip)
        rows.append(f"| {path} | {type(model).__name__} | {clean:.2f} | {attacked:.2f} | {time.time() - start:.0f} |")
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")


if __name__ == "__main__":
    main()
