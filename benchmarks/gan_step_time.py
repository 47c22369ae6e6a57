"""Time of one Improved-GAN training step (discriminator + generator) relative to a supervised step.

Both use the same discriminator (the reference MNIST net by default) and the same batch sizes
(100 labeled; for the GAN also 100 + 100 unlabeled and 2 x 100 generated), in one process, with
the Adam updates included and Lightning left out. The two kinds of step are timed in
alternating blocks so that load from other processes hits both alike; medians are reported.

    python -m benchmarks.gan_step_time [--threads 1] [--blocks 10] [--steps 10]   # from the repository root
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from ssl_kit.datamodules import MixedBatch
from ssl_kit.methods import ImprovedGAN
from ssl_kit.methods.optim import adam


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed block")
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = ImprovedGAN(num_classes=10, input_shape=(784,))
    disc, gen = model.discriminator, model.generator
    b = args.batch
    batch = MixedBatch(torch.rand(b, 784), torch.randint(0, 10, (b,)), torch.rand(2 * b, 784))
    model._data_dependent_init(batch)
    opt_d = adam(disc.parameters(), lr=3e-3, betas=(0.5, 0.999))
    opt_g = adam(gen.parameters(), lr=3e-3, betas=(0.5, 0.999))

    def supervised_step() -> None:
        opt_d.zero_grad()
        F.cross_entropy(disc(batch.x_l), batch.y_l).backward()
        opt_d.step()

    def gan_step() -> None:
        x_d, x_g = model._split_unlabeled(batch.x_u)
        opt_d.zero_grad()
        sup, unsup, _ = model.discriminator_losses(batch, x_d)
        (sup + unsup).backward()
        opt_d.step()
        disc.requires_grad_(False)
        opt_g.zero_grad()
        model.generator_loss(x_g).backward()
        opt_g.step()
        disc.requires_grad_(True)

    single_pass = model._discriminate_parts

    def gan_step_per_part() -> None:
        """The discriminator step as the reference runs it: one pass per part (labeled, unlabeled, fake)."""
        model._discriminate_parts = lambda *parts: [disc.discriminate(x)[0] for x in parts]
        try:
            gan_step()
        finally:
            model._discriminate_parts = single_pass

    steps = {"supervised": supervised_step, "gan": gan_step, "gan_per_part": gan_step_per_part}
    for fn in steps.values():  # warm-up
        for _ in range(3):
            fn()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.blocks):
        for name, fn in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                fn()
            times[name].append((time.perf_counter() - start) / args.steps)
    sup, gan, per_part = (statistics.median(times[name]) for name in steps)
    print(f"threads={args.threads} batch={b}: supervised step {1000 * sup:.1f} ms, "
          f"GAN D+G step {1000 * gan:.1f} ms (ratio {gan / sup:.2f}x), with one discriminator pass per part "
          f"{1000 * per_part:.1f} ms (single pass / per part: {gan / per_part:.2f})")


if __name__ == "__main__":
    main()
