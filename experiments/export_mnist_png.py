"""Write MNIST as a folder of PNG files, the layout a user's own image data has.

The small-data grid's ``mnist100_png`` setting (``configs/benchmark/small.yaml``) reads it through
:class:`ssl_kit.datamodules.ImageFolderDataModule`, so the image-folder path is measured on real images::

    python -m experiments.export_mnist_png --out data/mnist_png

writes ``data/mnist_png/{train,test}/<digit>/<index>.png`` (60,000 + 10,000 8-bit grayscale files,
about 1 minute) from the raw files under ``$SSL_KIT_DATA/MNIST/raw`` (or ``--data_dir``). Files
that already exist are kept, so an interrupted export resumes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from PIL import Image
from torchvision.datasets import MNIST


def export(data_dir: str, out: Path) -> dict[str, int]:
    """Write both splits under ``out``; returns the number of files per split."""
    counts = {}
    for split, train in (("train", True), ("test", False)):
        dataset = MNIST(data_dir, train=train, download=False)
        for digit in range(10):
            (out / split / str(digit)).mkdir(parents=True, exist_ok=True)
        for index, (image, label) in enumerate(zip(dataset.data.numpy(), dataset.targets.tolist())):
            path = out / split / str(label) / f"{index:05d}.png"
            if not path.exists():
                Image.fromarray(image, mode="L").save(path)
        counts[split] = len(dataset)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=os.environ.get("SSL_KIT_DATA", "./data"),
                        help="folder holding MNIST/raw (default: $SSL_KIT_DATA)")
    parser.add_argument("--out", type=Path, default=Path("data/mnist_png"))
    args = parser.parse_args()
    counts = export(args.data_dir, args.out)
    print(f"{counts['train']} training and {counts['test']} test images under {args.out}/{{train,test}}/<digit>/")


if __name__ == "__main__":
    main()
