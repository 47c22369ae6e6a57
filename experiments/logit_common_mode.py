"""How much of a classifier's logit variance is a per-example shift that the softmax ignores.

Adding the same number to all logits of an example leaves its prediction unchanged, so a network
whose last layer is batch norm (every logit gets the same spread across a batch) can meet that
layer's constraint with such shifts and still predict near-uniform probabilities. This script
measures, on MNIST training images and with the model in evaluation mode:

* ``common-mode share``: variance across examples of the per-example mean logit, divided by the
  mean over classes of each logit's variance across examples (1: logits differ between examples
  only by a shared shift; about 1/num_classes for unrelated logits);
* the median over examples of the standard deviation of an example's logits around their mean;
* the mean entropy of the predictions (nats).

Usage::

    SSL_KIT_DATA=../shared/data python -m experiments.logit_common_mode CKPT [CKPT ...]
"""

from __future__ import annotations

import argparse
import os

import torch

from ssl_kit.datamodules import MNISTDataModule
from ssl_kit.evaluation import load_checkpoint as load_model
from ssl_kit.losses import entropy_with_logits


def common_mode_share(logits: torch.Tensor) -> float:
    """Share of the logits' variance across examples carried by per-example mean shifts."""
    return float(logits.mean(dim=1).var() / logits.var(dim=0).mean())


def logit_summary(logits: torch.Tensor) -> dict[str, float]:
    """Common-mode share, median within-example logit spread and mean entropy of ``logits``."""
    return {
        "common_mode_share": common_mode_share(logits),
        "within_example_std": float(logits.std(dim=1).median()),
        "entropy": float(entropy_with_logits(logits)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="Lightning checkpoints (.ckpt) of MNIST models")
    parser.add_argument("--num-images", type=int, default=2000, help="first N MNIST training images")
    parser.add_argument("--data-dir", default=os.environ.get("SSL_KIT_DATA"), help="folder holding MNIST/")
    args = parser.parse_args(argv)

    images = MNISTDataModule(data_dir=args.data_dir).load_tensors()[0][: args.num_images]
    print("| checkpoint | common-mode share | within-example logit std (median) | entropy (nats) |")
    print("| --- | --- | --- | --- |")
    for path in args.checkpoints:
        model = load_model(path)
        x = images.reshape(len(images), *model.input_shape)
        with torch.no_grad():
            s = logit_summary(model.eval_classifier(x))
        print(f"| {path} | {s['common_mode_share']:.3f} | {s['within_example_std']:.2f} | {s['entropy']:.2f} |")


if __name__ == "__main__":
    main()
