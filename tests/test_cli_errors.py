"""Short command-line errors: closest valid key, refused optimiser flags, foreign checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ssl_kit.cli_errors import init_arguments, refuse_checkpoint_of_another_method, short_message
from ssl_kit.methods import VAT, ImprovedGAN
from ssl_kit.provenance import CheckpointMismatchError

UNION_REPORT = """Parser key "model":
  Does not validate against any of the Union subtypes
  Errors:
    - Problem with given class_path 'ssl_kit.methods.VAT':
        Option '{option}' is not accepted
    - Expected a <class 'NoneType'>"""


def test_init_arguments_follow_kwargs_to_the_base_class() -> None:
    names = init_arguments(VAT)
    assert {"eps", "xi", "n_power"} <= set(names) and {"lr", "backbone", "ema_decay"} <= set(names)
    assert "lr_decay_start" in init_arguments(ImprovedGAN)


def test_misspelled_init_argument_names_the_closest_valid_one() -> None:
    message = short_message(UNION_REPORT.format(option="epsilon"), "")
    assert message == "--model.init_args.epsilon is not an argument of VAT; did you mean --model.init_args.eps?"
    assert "see --model.help VAT" in short_message(UNION_REPORT.format(option="qqqqqq"), "")


def test_unrecognized_option_names_the_closest_one_in_the_help() -> None:
    help_text = "  --trainer.max_steps MAX_STEPS\n  --trainer.max_epochs MAX_EPOCHS\n"
    assert short_message("unrecognized arguments: --trainer.max_stepz 3", help_text) == (
        "unknown option --trainer.max_stepz; did you mean --trainer.max_steps?")


@pytest.mark.parametrize("flag", ["--optimizer", "--lr_scheduler"])
def test_optimizer_flags_are_refused_with_what_to_do(flag: str) -> None:
    message = short_message(f"unrecognized arguments: {flag} torch.optim.SGD", "")
    assert message.startswith(f"{flag} is not used by ssl-kit") and "--model.init_args.lr" in message


def test_checkpoint_of_another_method_is_refused_before_the_config_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "vat.ckpt"
    torch.save({"ssl_kit": {"method": "VAT", "input_shape": [1, 28, 28], "num_classes": 10}}, path)
    with pytest.raises(CheckpointMismatchError,
                       match=r"trained as VAT on \(1, 28, 28\) inputs, 10 classes; this config builds LadderNetwork"):
        refuse_checkpoint_of_another_method(str(path), "ssl_kit.methods.LadderNetwork")
    refuse_checkpoint_of_another_method(str(path), "VAT")  # the same method: accepted
