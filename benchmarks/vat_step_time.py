"""Cost of a VAT step, measured in one process on the VAT paper's MNIST MLP.

Prints three ratios (medians over timed steps, after warm-up):

* VAT step / supervised step, both plain PyTorch with Adam (fused where supported, as
  ``ssl_kit.methods.optim.adam`` builds it for every method), batch 100 labeled (+ 250 unlabeled
  for VAT) — the issue's target is at most 3.0;
* the same ratio in matrix-multiply FLOPs (counted by ``torch.utils.flop_counter``), the work
  that neither implementation can skip: the VAT step has six passes of matrix products over a
  larger batch, so its time ratio sits far below its FLOP ratio only because Adam and per-pass
  overheads are shared by both steps;
* Lightning ``VAT`` training step (``Trainer.fit``, timed between batch starts, data from the
  datamodule's sampler) / a plain PyTorch loop doing the same maths on batches gathered by index
  from the same in-memory tensors — target at most 1.1.

    python -m benchmarks.vat_step_time [--steps 60] [--threads 2] [--profile]   # from the repository root

``--profile`` also prints where the plain steps' time goes (``torch.profiler``, 10 steps each,
operators by self CPU time).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ssl_kit.datamodules import LabeledUnlabeledDataModule
from ssl_kit.losses import frozen_batchnorm_stats, vat_loss, virtual_adversarial_perturbation
from ssl_kit.methods import VAT
from ssl_kit.nets import MLP
from ssl_kit.methods.optim import adam

HIDDEN = [1200, 600, 300, 150]
N_L, N_U, EPS = 100, 250, 5.0


def median_step_time(step, steps: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plain_steps(data: dict[str, torch.Tensor]):
    """Supervised and VAT steps in plain PyTorch (same network, same maths as ssl_kit's VAT)."""
    net = MLP((784,), 10, hidden=HIDDEN, top_bn=True)
    opt = adam(net.parameters(), lr=2e-3)  # as ssl_kit's methods build it
    x_all, y_all, labeled = data["x"], data["y"], data["labeled"]
    g = torch.Generator().manual_seed(0)

    def batch():
        l_idx = labeled[torch.randint(len(labeled), (N_L,), generator=g)]
        u_idx = torch.randint(len(x_all), (N_U,), generator=g)
        return x_all[l_idx], y_all[l_idx], x_all[u_idx]

    def supervised_step() -> None:
        x_l, y_l, _ = batch()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(net(x_l), y_l).backward()
        opt.step()

    def vat_step() -> None:
        x_l, y_l, x_u = batch()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x_l), y_l)
        with torch.no_grad():
            logits_u = net(x_u)
        with frozen_batchnorm_stats(net):
            r = virtual_adversarial_perturbation(net, x_u, logits_u, 1e-6, EPS, 1)
            loss = loss + vat_loss(net, x_u, logits_u, r)
        loss.backward()
        opt.step()

    return supervised_step, vat_step


class StepTimer(pl.Callback):
    """Times the interval between consecutive batch starts (one whole training step each)."""

    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_batch_start(self, *args) -> None:
        self.starts.append(time.perf_counter())


def lightning_step_time(data: dict[str, torch.Tensor], steps: int, warmup: int = 5) -> float:
    dm = LabeledUnlabeledDataModule.from_tensors(
        data["x"], data["y"], data["x"][:100], data["y"][:100], num_classes=10,
        num_labeled=100, labeled_batch_size=N_L, unlabeled_batch_size=N_U,
    )
    model = VAT(10, (784,), backbone_kwargs={"hidden": HIDDEN, "top_bn": True}, eps=EPS)
    timer = StepTimer()
    trainer = pl.Trainer(
        max_steps=warmup + steps + 1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0, callbacks=[timer],
        use_distributed_sampler=False, accelerator="cpu", devices=1,
    )
    trainer.fit(model, dm)
    gaps = [b - a for a, b in zip(timer.starts, timer.starts[1:])][warmup:]
    return statistics.median(gaps)


def step_flops(step) -> int:
    """Matrix-multiply FLOPs of one call of ``step`` (forward, backward and all)."""
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops()


def print_profile(name: str, step, steps: int = 10, rows: int = 8) -> None:
    """Operators of ``steps`` calls of ``step`` by self CPU time, per step."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    ops = sorted(prof.key_averages(), key=lambda op: op.self_cpu_time_total, reverse=True)
    total = sum(op.self_cpu_time_total for op in ops) / steps / 1e3
    print(f"{name}: {total:.1f} ms of operator time per step; largest:")
    for op in ops[:rows]:
        print(f"    {op.key:<40} {op.self_cpu_time_total / steps / 1e3:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="also print an operator breakdown of both steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.rand(5000, 784)
    y = torch.arange(5000) % 10
    data = {"x": x, "y": y, "labeled": torch.arange(100)}
    supervised_step, vat_step = plain_steps(data)
    t_sup = median_step_time(supervised_step, args.steps)
    t_vat = median_step_time(vat_step, args.steps)
    t_pl = lightning_step_time(data, args.steps)
    f_sup, f_vat = step_flops(supervised_step), step_flops(vat_step)
    print(f"threads={args.threads} steps={args.steps} (medians)")
    print(f"supervised step (plain)   {1e3 * t_sup:8.1f} ms")
    print(f"VAT step (plain)          {1e3 * t_vat:8.1f} ms   VAT / supervised = {t_vat / t_sup:.2f}  (target <= 3.0)")
    print(f"matrix FLOPs per step     supervised {f_sup / 1e6:.0f} M, VAT {f_vat / 1e6:.0f} M   ratio = {f_vat / f_sup:.2f}")
    print(f"VAT step (Lightning)      {1e3 * t_pl:8.1f} ms   Lightning / plain = {t_pl / t_vat:.2f}  (target <= 1.1)")
    if args.profile:
        print_profile("supervised step (plain)", supervised_step)
        print_profile("VAT step (plain)", vat_step)


if __name__ == "__main__":
    main()
