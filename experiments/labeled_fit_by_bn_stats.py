"""Are a trained MNIST model's labeled examples fitted only under their own batch's statistics?

Every training step normalises the labeled batch with its own batch-norm statistics; at MNIST's 100
labels that batch is always the same 100 images. A network could learn to classify them only under
those statistics, and then fail on them (and their neighbours) under the population statistics used
at test. This script classifies the labeled examples of a checkpoint three ways: as one batch in
training mode (as in training), in one batch with ``--unlabeled`` random unlabeled inputs, and in
evaluation mode (running statistics; after :class:`ssl_kit.callbacks.PopulationBatchNorm`, the
refitted population statistics). The split is the one stored in the checkpoint. Usage::

    SSL_KIT_DATA=../shared/data python -m experiments.labeled_fit_by_bn_stats CKPT [CKPT ...]
"""

from __future__ import annotations

import argparse

import torch

from experiments.robustness import checkpoint_mnist_data
from ssl_kit.evaluation import load_checkpoint as load_model
from ssl_kit.losses import frozen_batchnorm_stats


def describe(name: str, predicted: torch.Tensor, labels: torch.Tensor) -> str:
    """One line: accuracy on the labeled examples and the (true, predicted) pairs it gets wrong."""
    wrong = predicted != labels
    pairs = list(zip(labels[wrong].tolist(), predicted[wrong].tolist()))
    return f"  {name:32s} labeled accuracy {100.0 * (~wrong).float().mean().item():5.1f} %, errors {pairs}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="Lightning checkpoints of ssl_kit methods trained on MNIST")
    parser.add_argument("--data-dir", default=None, help="root holding MNIST/raw (default: $SSL_KIT_DATA)")
    parser.add_argument("--unlabeled", type=int, default=250, help="unlabeled inputs batched with the labeled ones")
    parser.add_argument("--seed", type=int, default=0, help="seed of the unlabeled draw")
    args = parser.parse_args()
    for path in args.checkpoints:
        module = load_model(path)
        data = checkpoint_mnist_data(path, module, args.data_dir)
        if data.split is None:  # a default draw would not be this run's labeled examples
            raise SystemExit(f"{path}: no MNISTDataModule split stored in this checkpoint.")
        split = data.split
        x_train, y_train, _, _ = data.tensors
        labeled = torch.tensor(split.labeled)
        x_l, y_l = x_train[labeled], y_train[labeled]
        generator = torch.Generator().manual_seed(args.seed)
        unlabeled = torch.tensor(split.unlabeled)[torch.randperm(len(split.unlabeled), generator=generator)]
        x_u = x_train[unlabeled[: args.unlabeled]]
        net = module.classifier
        print(f"{path}: {type(module).__name__}, {len(labeled)} labeled examples")
        with torch.no_grad(), frozen_batchnorm_stats(net):
            net.train()
            print(describe("own batch (as in training)", net(x_l).argmax(1), y_l))
            print(describe(f"batched with {len(x_u)} unlabeled", net(torch.cat([x_l, x_u]))[: len(x_l)].argmax(1), y_l))
            net.eval()
            print(describe("running statistics (evaluation)", net(x_l).argmax(1), y_l))


if __name__ == "__main__":
    main()
