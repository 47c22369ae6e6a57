"""MNIST test error of trained checkpoints before and after the end-of-training batch-norm refit.

Measures what :class:`ssl_kit.callbacks.PopulationBatchNorm` changes on checkpoints that were
trained without it: the weights stay, only the batch-norm statistics are recomputed over the
run's unlabeled pool (the split stored in the checkpoint: the whole MNIST training set, less the
validation images of a run with ``num_val > 0``), as the callback does at the end of training. Usage::

    SSL_KIT_DATA=../shared/data python -m experiments.refit_batch_norm RUN/checkpoints/last.ckpt ...
"""

from __future__ import annotations

import argparse

import torch

from experiments.reference_bn_eps import set_batch_norm_eps
from experiments.robustness import checkpoint_mnist_data
from ssl_kit.callbacks import recompute_batch_norm_statistics
from ssl_kit.evaluation import load_checkpoint as load_model


def test_error(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Test error in percent of ``model`` in evaluation mode."""
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(chunk).argmax(1) for chunk in x.split(batch_size)])
    return 100.0 * (pred != y).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="Lightning checkpoints of ssl_kit methods trained on MNIST")
    parser.add_argument("--data-dir", default=None, help="root holding MNIST/raw (default: $SSL_KIT_DATA)")
    parser.add_argument("--batch-size", type=int, default=250, help="inputs per batch of the refit")
    parser.add_argument(
        "--batch-norm-eps",
        type=float,
        default=None,
        help="eps of every batch-norm layer (not stored in checkpoints; e.g. 1e-6 for runs trained with "
        "experiments/reference_bn_eps.py)",
    )
    args = parser.parse_args()
    for path in args.checkpoints:
        module = load_model(path)
        method = type(module).__name__
        data = checkpoint_mnist_data(path, module, args.data_dir)
        _, _, x_test, y_test = data.tensors
        model = module.eval_classifier
        if args.batch_norm_eps is not None:
            set_batch_norm_eps(model, args.batch_norm_eps)
        before = test_error(model, x_test, y_test)
        layers = recompute_batch_norm_statistics(model, data.unlabeled_inputs(), args.batch_size)
        after = test_error(model, x_test, y_test)
        print(f"{path}: {method}, {layers} batch-norm layers, test error {before:.2f} % -> {after:.2f} %")


if __name__ == "__main__":
    main()
