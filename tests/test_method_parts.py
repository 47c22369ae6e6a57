"""The parts of ``SSLModule`` on their own: trainer access, schedules, weight averaging, RNG states."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from ssl_kit.methods import Supervised
from ssl_kit.methods.attached import attached_datamodule, attached_trainer, total_steps
from ssl_kit.methods.averaging import EMAUpdate, check_ema_decay
from ssl_kit.methods.reporting import confusion_csv
from ssl_kit.methods.rng_state import capture_rng_states, restore_rng_states
from ssl_kit.methods.schedules import build_scheduler, check_schedule_arguments


def test_unattached_module_has_no_trainer_and_one_step() -> None:
    model = Supervised(num_classes=2, input_shape=(3,))
    with pytest.raises(RuntimeError):  # Lightning's public property refuses; the helper answers None
        _ = model.trainer
    assert attached_trainer(model) is None and attached_datamodule(model) is None
    assert total_steps(model) == 1 and model.training_progress() == 0.0
    # Without a trainer the optimiser and its schedule still build.
    config = model.configure_optimizers()
    assert config["lr_scheduler"]["scheduler"].get_last_lr() == [pytest.approx(2e-3)]


def test_linear_schedule_with_beta1_switch_lowers_beta1_at_decay_start() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=1.0)
    sched = build_scheduler(opt, "linear", 10, 0.5, None, 0.5, steps_per_epoch=lambda: 1 / 0)
    betas = []
    for _ in range(10):
        opt.step()
        sched.step()
        betas.append(opt.param_groups[0]["betas"][0])
    assert betas[:4] == [0.9] * 4 and betas[4:] == [0.5] * 6
    assert opt.param_groups[0]["lr"] == 0.0


def test_schedule_and_ema_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="SGD has none"):
        check_schedule_arguments("sgd", "linear", 0.5, None, 0.5)
    with pytest.raises(ValueError, match="'auto' or null"):
        check_ema_decay("slow")
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        check_ema_decay(1.0)


def test_ema_update_moves_floats_by_one_minus_decay_and_copies_counters() -> None:
    avg, cur = [torch.zeros(2), torch.tensor(3)], [torch.ones(2), torch.tensor(7)]
    EMAUpdate(0.75)(avg, cur, None)
    assert torch.allclose(avg[0], torch.full((2,), 0.25)) and int(avg[1]) == 7


def test_rng_states_restore_every_generator() -> None:
    states = capture_rng_states()
    first = (torch.rand(1).item(), np.random.rand(), random.random())
    restore_rng_states(states)
    assert (torch.rand(1).item(), np.random.rand(), random.random()) == first


def test_confusion_csv_rows_are_true_classes() -> None:
    text = confusion_csv(torch.tensor([[3, 1], [0, 2]]), ["a,b", "c"])
    assert text.splitlines()[1:] == ["true,a;b,c", "a;b,3,1", "c,0,2"]
