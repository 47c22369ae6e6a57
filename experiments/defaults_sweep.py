"""Train methods with their defaults on small data sets, one run per line of output.

Used to choose the constants of :mod:`ssl_kit.defaults` (the relative radius, the EMA horizon) and
to check that each method's defaults beat the supervised baseline. Example::

    OMP_NUM_THREADS=1 python experiments/defaults_sweep.py --data rings moons digits \\
        --method vat --eps-fraction 0.05 0.1 0.2 0.3 --seeds 1 2 3 --steps 1000 --out sweep.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402

import ssl_kit.defaults as defaults  # noqa: E402
from ssl_kit.datamodules import DigitsDataModule, MNISTDataModule, ToyDataModule  # noqa: E402
from ssl_kit.methods import VAT, ImprovedGAN, LadderNetwork, Supervised, VirtualAdversarialLadder  # noqa: E402

METHODS = {"supervised": Supervised, "vat": VAT, "improved_gan": ImprovedGAN, "ladder": LadderNetwork,
           "van": VirtualAdversarialLadder}


def make_data(name: str) -> pl.LightningDataModule:
    if name in ("rings", "moons"):
        return ToyDataModule(dataset=name)
    if name == "digits":
        return DigitsDataModule()
    if name == "mnist100":
        return MNISTDataModule(num_labeled=100, data_dir=os.environ.get("SSL_KIT_DATA", "./data"))
    raise ValueError(name)


def run(method: str, data: str, seed: int, steps: int, model_kwargs: dict) -> tuple[float, float]:
    pl.seed_everything(seed, verbose=False)
    dm = make_data(data)
    model = METHODS[method](dm.num_classes, dm.input_shape, **model_kwargs)
    trainer = pl.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0,
                         use_distributed_sampler=False, accelerator="cpu", devices=1,
                         default_root_dir=tempfile.mkdtemp(prefix="defaults_sweep_"))  # test writes a confusion matrix there
    start = time.perf_counter()
    trainer.fit(model, datamodule=dm)
    seconds = time.perf_counter() - start
    error = trainer.test(model, datamodule=dm, verbose=False)[0]["test/error"]
    return float(error), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", default=["rings"])
    parser.add_argument("--method", nargs="+", default=["vat"])
    parser.add_argument("--eps-fraction", nargs="+", type=float, default=[defaults.EPS_FRACTION])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model-arg", nargs="*", default=[], help="key=value (value parsed as YAML)")
    parser.add_argument("--out", default="defaults_sweep.csv")
    args = parser.parse_args()
    import yaml

    torch.set_num_threads(args.threads)
    model_kwargs = {k: yaml.safe_load(v) for k, v in (a.split("=", 1) for a in args.model_arg)}
    new = not Path(args.out).exists()
    with open(args.out, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(["method", "data", "eps_fraction", "seed", "steps", "model_args", "test_error", "seconds"])
        for data in args.data:
            for method in args.method:
                for fraction in args.eps_fraction:
                    defaults.EPS_FRACTION = fraction
                    for seed in args.seeds:
                        error, seconds = run(method, data, seed, args.steps, model_kwargs)
                        row = [method, data, fraction, seed, args.steps, " ".join(args.model_arg), f"{error:.2f}",
                               f"{seconds:.1f}"]
                        writer.writerow(row)
                        f.flush()
                        print(",".join(map(str, row)), flush=True)


if __name__ == "__main__":
    main()
