"""MNIST test error of one set of weights under two ways of keeping batch-norm running statistics.

Same weights, statistics rebuilt from scratch with the layers' own momentum, as training would
leave them: ``mixed`` feeds the labeled batch (the split's labeled examples, shuffled) and then an
unlabeled batch at every step, as VAT did before 2026-11-23; ``unlabeled`` feeds the unlabeled
batches alone, as VAT does now. The population refit (:class:`ssl_kit.callbacks.PopulationBatchNorm`)
is printed beside them. Usage::

    SSL_KIT_DATA=../shared/data python -m experiments.bn_running_statistics RUN/checkpoints/last.ckpt
"""

from __future__ import annotations

import argparse
import statistics

import torch
from torch.nn.modules.batchnorm import _BatchNorm

from ssl_kit.datamodules import MNISTDataModule
from experiments.refit_batch_norm import test_error
from ssl_kit.callbacks import recompute_batch_norm_statistics
from ssl_kit.evaluation import load_checkpoint as load_model


def running_statistics(
    model: torch.nn.Module,
    labeled: torch.Tensor | None,
    unlabeled: torch.Tensor,
    steps: int,
    batch_size: int,
    generator: torch.Generator,
) -> None:
    """Reset the running statistics, then run ``steps`` training-mode steps without gradient."""
    for layer in model.modules():
        if isinstance(layer, _BatchNorm):
            layer.reset_running_stats()
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            if labeled is not None:
                model(labeled[torch.randperm(len(labeled), generator=generator)])
            model(unlabeled[torch.randint(len(unlabeled), (batch_size,), generator=generator)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="Lightning checkpoint of an ssl_kit method trained on MNIST")
    parser.add_argument("--data-dir", default=None, help="root holding MNIST/raw (default: $SSL_KIT_DATA)")
    parser.add_argument("--num-labeled", type=int, default=100, help="labeled examples of the run's split")
    parser.add_argument("--split-seed", type=int, default=0, help="split seed of the run")
    parser.add_argument("--steps", type=int, default=100, help="training steps of running averages")
    parser.add_argument("--orders", type=int, default=5, help="random batch orders per scheme")
    parser.add_argument("--batch-size", type=int, default=250, help="unlabeled inputs per step")
    args = parser.parse_args()
    module = load_model(args.checkpoint)
    data = MNISTDataModule(data_dir=args.data_dir, num_labeled=args.num_labeled, split_seed=args.split_seed,
                           flatten=len(module.input_shape) == 1)
    data.setup("fit")
    x_train, _, x_test, y_test = data.tensors
    labeled = x_train[torch.tensor(data.split.labeled)]
    unlabeled = data.unlabeled_inputs()
    model = module.eval_classifier
    for scheme, labeled_batch in (("mixed", labeled), ("unlabeled", None)):
        errors = []
        for order in range(args.orders):
            generator = torch.Generator().manual_seed(order)
            running_statistics(model, labeled_batch, unlabeled, args.steps, args.batch_size, generator)
            errors.append(test_error(model, x_test, y_test))
        spread = statistics.stdev(errors) if len(errors) > 1 else 0.0
        print(f"{scheme}: {statistics.mean(errors):.2f} ± {spread:.2f} % ({', '.join(f'{e:.2f}' for e in errors)})")
    recompute_batch_norm_statistics(model, unlabeled, args.batch_size)
    print(f"population refit: {test_error(model, x_test, y_test):.2f} %")


if __name__ == "__main__":
    main()
