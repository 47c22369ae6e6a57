"""Short command-line errors: the closest valid key for a misspelled one, refused optimiser flags,
and a checkpoint of another method refused before Lightning's CLI swaps the model silently.

``LightningCLI`` prints its whole usage (about 50 lines) before a parse error, and
``--model.init_args.epsilon`` ends with a jsonargparse union report that never names ``eps``.
:class:`SSLKitArgumentParser` prints one line and the nearest valid key instead (``difflib``).

``--optimizer`` / ``--lr_scheduler`` are refused: every method builds its own optimiser(s) and the
paper's schedule (the Improved GAN two Adams stepped in one manual-optimisation step), which
Lightning's automatic optimiser would silently replace (VAT) or break (the GAN's two).
"""

from __future__ import annotations

import difflib
import inspect
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from pytorch_lightning.cli import LightningArgumentParser

from ssl_kit.checkpoints.provenance import CheckpointMismatchError, describe, read_record

OPTIMIZER_REFUSAL = (
    "{flag} is not used by ssl-kit: every method builds its own optimiser(s) and learning-rate schedule "
    "(Adam and the paper's decay; the Improved GAN one per network). Set --model.init_args.lr, betas, "
    "weight_decay, lr_decay_start or lr_epoch_decay instead, or subclass the method and override "
    "configure_optimizers."
)


def init_arguments(cls: type) -> list[str]:
    """The keyword arguments ``cls(...)`` accepts, following ``**kwargs`` up the class hierarchy."""
    names: list[str] = []
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        names += [p.name for p in params if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                  and p.name not in names]
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names


def closest(word: str, candidates: list[str]) -> str | None:
    """The candidate nearest to ``word`` (``difflib``), or ``None`` when none is close."""
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def _import(path: str) -> type | None:
    from ssl_kit.methods.registry import get_method

    try:
        return get_method(path)
    except KeyError:
        return None


def short_message(message: str, help_text: str) -> str:
    """One or two lines for a parse error: the unknown key and the closest valid one, if any."""
    refused = re.search(r"--(optimizer|lr_scheduler)\b", message)
    if refused or re.search(r"[Kk]ey '?\"?(optimizer|lr_scheduler)", message):
        return OPTIMIZER_REFUSAL.format(flag=f"--{refused.group(1) if refused else 'optimizer'}")
    option = re.search(r"Option '(?P<opt>\w+)' is not accepted", message)
    group = re.search(r'Parser key "(?P<group>[\w.]+)"', message)
    class_path = re.search(r"class_path '(?P<cls>[\w.]+)'", message)
    if option and group and class_path:
        cls = _import(class_path.group("cls"))
        key = f"--{group.group('group')}.init_args."
        hint = closest(option.group("opt"), init_arguments(cls)) if cls is not None else None
        name = class_path.group("cls").rpartition(".")[2]
        text = f"{key}{option.group('opt')} is not an argument of {name}"
        return text + (f"; did you mean {key}{hint}?" if hint else f" (see --{group.group('group')}.help {name}).")
    unknown = re.search(r"nrecognized arguments: .*?(?P<arg>--[\w.\-]+)", message)
    if unknown:
        valid = sorted(set(re.findall(r"--[\w.\-]+", help_text)))
        hint = closest(unknown.group("arg"), valid)
        return f"unknown option {unknown.group('arg')}" + (f"; did you mean {hint}?" if hint else ".")
    return message.strip().splitlines()[0] if message.strip() else "invalid arguments"


class SSLKitArgumentParser(LightningArgumentParser):
    """``LightningArgumentParser`` whose errors are one line with the closest valid key, not the usage."""

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:  # type: ignore[override]
        if not self.exit_on_error:  # callers that catch the error (the benchmark) keep the full text
            super().error(message, ex)
        parser = getattr(ex, "subcommand_parser", None) or self
        prog = parser.prog.replace(" [options]", "")
        sys.stderr.write(f"{prog}: error: {short_message(message, parser.format_help())}\n"
                         f"(`{prog} --help` lists every option)\n")
        raise SystemExit(2)


def refuse_checkpoint_of_another_method(ckpt_path: str | None, model_class_path: str | None) -> None:
    """Stop when ``--ckpt_path`` was trained as another method than the config builds.

    LightningCLI re-parses the checkpoint's hyperparameters over the config, class path included,
    so without this check ``ssl-kit test --config configs/ladder/...yaml --ckpt_path vat.ckpt``
    silently tests VAT.
    """
    if not ckpt_path or not model_class_path or not Path(ckpt_path).is_file():
        return
    record = read_record(ckpt_path)
    method = record.get("method")
    built = model_class_path.rpartition(".")[2]
    if method is not None and method != built:
        raise CheckpointMismatchError(
            f"This checkpoint was trained as {describe(record)}; this config builds {built}. Use the config it was "
            f"trained with (model.class_path: {method}; the run folder's config.yaml holds it)."
        )


def model_class_path(config: Any) -> str | None:
    """The ``model.class_path`` of a parsed (sub)command config, if it names one."""
    model = config.get("model") if hasattr(config, "get") else None
    return model.get("class_path") if hasattr(model, "get") else None
