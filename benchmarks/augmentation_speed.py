"""Images per second of the training augmentation (translate 2 px + horizontal flip), per back-end.

Measures the two interchangeable back-ends of ``ssl_kit.datamodules.transforms`` on CIFAR-sized float
images, and the whole training-batch path of the datamodule (gather 32 labeled + 128 unlabeled
images by index, augment both streams), on CPU with a fixed number of torch threads. Then the
strong view of FixMatch-style methods (``ssl_kit.datamodules.strong_augment``: translate 4 + flip, then
RandAugment with 3 operations + Cutout, per image), alone and in USB's FixMatch batch (64 labeled +
448 unlabeled, weak and strong views).

    python -m benchmarks.augmentation_speed --threads 2   # from the repository root

Each figure is the best of ``--repeats`` timings of ``--iters`` calls (the best, because other
processes on a shared machine only ever slow a run down).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import torch

from ssl_kit.datamodules.labeled_unlabeled import _MixedBatchDataset
from ssl_kit.datamodules.strong_augment import build_strong_augmentation
from ssl_kit.datamodules.transforms import build_augmentation


def images_per_second(fn: Callable[[], object], images_per_call: int, iters: int, repeats: int) -> float:
    """Best throughput over ``repeats`` timings of ``iters`` calls of ``fn``."""
    fn()  # warm-up
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        best = max(best, images_per_call * iters / (time.perf_counter() - start))
    return best


def main(argv: list[str] | None = None) -> None:
    """Print a Markdown table of images per second."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (cores)")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pool", type=int, default=10000, help="images in the in-memory training set")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = (3, 32, 32)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"torch {torch.__version__}, {args.threads} thread(s) of {os.cpu_count()} cores, load average {load}, "
          f"images {shape}, translate 2 + hflip\n")
    print("| back-end | batch | images / s |")
    print("| --- | --- | --- |")
    for backend in ("torch", "albumentations"):
        aug = build_augmentation(shape, translate=2, hflip=True, backend=backend)  # type: ignore[arg-type]
        for batch in (32, 128):
            x = torch.randn(batch, *shape)
            rate = images_per_second(lambda: aug(x), batch, args.iters, args.repeats)
            print(f"| {backend} | {batch} | {rate:,.0f} |")
        pool = torch.randn(args.pool, *shape)
        labels = torch.zeros(args.pool, dtype=torch.long)
        dataset = _MixedBatchDataset(pool, labels, pool, aug)

        def mixed_batch() -> object:
            return dataset[(torch.randint(0, args.pool, (32,)), torch.randint(0, args.pool, (128,)))]

        rate = images_per_second(mixed_batch, 160, args.iters, args.repeats)
        print(f"| {backend}: whole MixedBatch (gather + augment, 32 + 128) | 160 | {rate:,.0f} |")
    strong_view(shape, args)


def strong_view(shape: tuple[int, int, int], args: argparse.Namespace) -> None:
    """Rows for the strong view (RandAugment 3 ops + Cutout after translate 4 + flip)."""
    weak = build_augmentation(shape, translate=4, hflip=True)
    strong = build_strong_augmentation(shape, weak, num_ops=3, cutout=0.5)
    for batch in (64, 448):
        x = torch.rand(batch, *shape)
        rate = images_per_second(lambda: strong(x), batch, args.iters, args.repeats)
        print(f"| strong view (RandAugment 3 + Cutout) | {batch} | {rate:,.0f} |")
    pool = torch.rand(args.pool, *shape)
    dataset = _MixedBatchDataset(pool, torch.zeros(args.pool, dtype=torch.long), pool, weak, strong)

    def fixmatch_batch() -> object:
        return dataset[(torch.randint(0, args.pool, (64,)), torch.randint(0, args.pool, (448,)))]

    rate = images_per_second(fixmatch_batch, 64 + 2 * 448, args.iters, args.repeats)
    print(f"| whole FixMatch MixedBatch (64 + 448 weak + 448 strong) | 960 | {rate:,.0f} |")


if __name__ == "__main__":
    main()
