"""How accurately VAT's power iteration finds its direction in fp32, for several finite-difference steps xi.

VAT's direction is ``grad_r KL(p(y|x) || p(y|x + r))`` at ``r = xi * d`` (Miyato et al. 2018,
eq. 13), a finite-difference estimate of the Hessian-vector product ``H d``. With a small ``xi`` the
change in the logits falls below float32's resolution and the gradient is rounding noise. This
script computes the direction in fp32 at several ``xi`` and compares it, example by example, with
the fp64 direction at ``xi = 1e-6`` from the same start (the exact finite difference), and with the
dominant eigenvector (fp64, many power iterations); the last column is the mean divergence the
direction causes at the training radius ``--eps``. Batch norm runs in training mode with frozen
running statistics, as in a training step. Usage::

    SSL_KIT_DATA=../shared/data python -m experiments.vat_direction_precision RUN/checkpoints/last.ckpt
    SSL_KIT_DATA=../shared/data python -m experiments.vat_direction_precision --untrained configs/vat/mnist.yaml
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import torch
import torch.nn.functional as F
import yaml

from ssl_kit.datamodules import MNISTDataModule
from ssl_kit.evaluation import load_checkpoint as load_model
from ssl_kit.losses import vat as vat_losses
from ssl_kit.losses.common import kl_with_logits, l2_normalize
from ssl_kit.losses.vat import frozen_batchnorm_stats, virtual_adversarial_perturbation
from ssl_kit.methods import VAT


@contextmanager
def fixed_start(start: torch.Tensor) -> Iterator[None]:
    """Make the power iteration start from ``start`` (cast to the input's dtype) instead of a random draw."""
    with mock.patch.object(vat_losses.torch, "randn_like", lambda t: start.to(t.dtype)):
        yield


def direction(net: torch.nn.Module, x: torch.Tensor, start: torch.Tensor, xi: float, n_power: int) -> torch.Tensor:
    """Unit VAT direction of every example of ``x`` (training-mode batch norm, statistics frozen)."""
    with frozen_batchnorm_stats(net):
        with torch.no_grad():
            logits = net(x)
        with fixed_start(start):
            return virtual_adversarial_perturbation(net, x, logits, xi, 1.0, n_power)


def divergence_at(net: torch.nn.Module, x: torch.Tensor, unit: torch.Tensor, eps: float) -> float:
    """Mean ``KL(p(y|x) || p(y|x + eps * unit))``: how adversarial a direction is at the training radius."""
    with frozen_batchnorm_stats(net), torch.no_grad():
        return kl_with_logits(net(x), net(x + eps * unit)).item()


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-example cosine similarity, in fp64."""
    return F.cosine_similarity(a.flatten(1).double(), b.flatten(1).double(), dim=1)


def untrained_vat(config_path: str, seed: int) -> VAT:
    """A freshly initialised VAT model with the network of a VAT config file."""
    init_args = yaml.safe_load(open(config_path))["model"]["init_args"]
    torch.manual_seed(seed)
    return VAT(num_classes=10, input_shape=(1, 28, 28), backbone=init_args["backbone"],
               backbone_kwargs=init_args.get("backbone_kwargs", {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="checkpoint of a VAT run on MNIST, or a VAT config with --untrained")
    parser.add_argument("--untrained", action="store_true", help="use a fresh model built from the config given")
    parser.add_argument("--data-dir", default=None, help="root holding MNIST/raw (default: $SSL_KIT_DATA)")
    parser.add_argument("--examples", type=int, default=250, help="unlabeled training images (one batch)")
    parser.add_argument("--xi", type=float, nargs="+", default=[1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
    parser.add_argument("--n-power", type=int, default=1, help="power iterations of the compared directions")
    parser.add_argument("--top-iterations", type=int, default=20, help="fp64 iterations for the top eigenvector")
    parser.add_argument("--eps", type=float, default=5.0, help="radius at which the divergence is measured")
    parser.add_argument("--seed", type=int, default=0, help="seed of the image sample, start vectors, fresh model")
    args = parser.parse_args()
    model = untrained_vat(args.checkpoint, args.seed) if args.untrained else load_model(args.checkpoint)
    net32 = model.classifier.train()
    net64 = copy.deepcopy(net32).double()
    data = MNISTDataModule(data_dir=args.data_dir, num_labeled=100)
    x_train = data.load_tensors()[0]
    generator = torch.Generator().manual_seed(args.seed)
    x = x_train[torch.randperm(len(x_train), generator=generator)[: args.examples]].to(torch.float32)
    start, other_start = (torch.randn(x.shape, generator=generator) for _ in range(2))
    exact = direction(net64, x.double(), start, 1e-6, args.n_power)
    top = direction(net64, x.double(), other_start, 1e-6, args.top_iterations)
    print(f"{args.examples} MNIST training images; {args.n_power} power iteration(s); "
          f"|cos(exact, top eigenvector)| median {cosine(exact, top).abs().median():.3f}")
    print(f"| direction | cos(., exact): median | 10th percentile | abs cos(., top eigenvector): median "
          f"| KL at eps {args.eps:g} |")
    print("| --- | --- | --- | --- | --- |")
    rows = [(f"fp32, xi {xi:g}", direction(net32, x, start, xi, args.n_power)) for xi in args.xi]
    rows += [("exact (fp64, xi 1e-6)", exact), ("top eigenvector (fp64)", top), ("random", l2_normalize(start))]
    for name, unit in rows:
        to_exact, to_top = cosine(unit, exact), cosine(unit, top).abs()
        kl = divergence_at(net32, x, unit.to(torch.float32), args.eps)
        print(f"| {name} | {to_exact.median():.3f} | {to_exact.quantile(0.1):.3f} | {to_top.median():.3f} | {kl:.4f} |")


if __name__ == "__main__":
    main()
