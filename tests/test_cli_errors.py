"""Short command-line errors: closest valid key, refused optimiser flags, foreign checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ssl_kit.cli.errors import init_arguments, refuse_checkpoint_of_another_method, short_message
from ssl_kit.methods import VAT, ImprovedGAN
from ssl_kit.checkpoints.provenance import CheckpointMismatchError

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


# ----------------------------------------------------------------------------- through ssl-kit
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]", "--trainer.enable_model_summary",
         "false"]


def run_cli(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    from ssl_kit.cli import main

    with pytest.raises(SystemExit) as stop:
        main(args)
    return stop.value.code, capsys.readouterr().err


def test_misspelled_key_on_the_command_line_is_one_short_line(capsys: pytest.CaptureFixture) -> None:
    code, err = run_cli(["fit", "--config", "vat/toy_rings", "--model.init_args.epsilon", "0.3"], capsys)
    assert code == 2 and len(err.strip().splitlines()) <= 2
    assert "did you mean --model.init_args.eps?" in err and "usage" not in err


@pytest.mark.parametrize("flag", ["--optimizer", "--lr_scheduler"])
def test_optimizer_flags_on_the_command_line_are_refused(flag: str, capsys: pytest.CaptureFixture) -> None:
    code, err = run_cli(["fit", "--config", "improved_gan/toy_rings", flag, "torch.optim.SGD"], capsys)
    assert code == 2 and f"{flag} is not used by ssl-kit" in err and "--model.init_args.lr" in err


def test_cli_refuses_a_config_of_another_method_and_predicts_new_rows(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import csv

    from ssl_kit.cli import main

    monkeypatch.chdir(tmp_path)
    main(["fit", "--config", "vat/toy_rings", "--trainer.max_steps", "2", "--trainer.default_root_dir", str(tmp_path),
          *QUIET])
    ckpt = next(tmp_path.glob("**/last.ckpt"))
    code, err = run_cli(["test", "--config", "ladder/toy_rings", "--ckpt_path", str(ckpt), *QUIET], capsys)
    assert code == 2 and "trained as VAT on (2,) inputs, 2 classes; this config builds LadderNetwork" in err

    rows = tmp_path / "points.csv"
    rows.write_text("x0,x1\n0.1,0.2\n1.0,0.0\n")
    main(["predict", "--ckpt_path", str(ckpt), "--inputs", str(rows), "--output", str(tmp_path / "out.csv")])
    written = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert [r["id"] for r in written] == ["0", "1"] and set(written[0]) == {"id", "prediction", "p_0", "p_1"}
