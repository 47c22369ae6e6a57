"""``ssl-kit``: the Lightning commands of every method and datamodule, plus ``benchmark`` and ``demo``.

This module only dispatches: the Lightning CLI lives in :mod:`ssl_kit.cli.lightning` (which the
benchmark runner also uses), so neither the runner nor the CLI imports the other in a cycle.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ssl_kit.cli.lightning import SSLKitCLI, build_cli

__all__ = ["COMMANDS", "SSLKitCLI", "build_cli", "main"]

LIGHTNING_COMMANDS = {
    "fit": "train a method: ssl-kit fit --config vat/mnist_quick (a shipped config's name, or a YAML file)",
    "validate": "evaluate a checkpoint on the validation set (--ckpt_path)",
    "test": "evaluate a checkpoint on the test set (--ckpt_path)",
    "predict": "write predictions.csv of the test split for a checkpoint (--ckpt_path); with --inputs: "
               "new data, as predict-files",
}
# Commands beyond Lightning's: name -> (module with a ``main(args)``, one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "benchmark": ("ssl_kit.benchmark", "methods x settings x seeds side by side: ssl-kit benchmark --config "
                                       "configs/benchmark/<grid>.yaml (CSV, Markdown table, plot)"),
    "demo": ("ssl_kit.cli.demo", "supervised vs VAT on the rings toy, with decision-boundary plots"),
    "robustness": ("ssl_kit.evaluation.attack", "test error of a checkpoint under an L2 adversarial attack of "
                                                "radius eps, on any datamodule"),
    "refit-bn": ("ssl_kit.evaluation.batch_norm", "recompute a checkpoint's batch-norm statistics over its "
                                                  "unlabeled pool, then test"),
    "predict-files": ("ssl_kit.checkpoints.predict", "predict new inputs (a folder of images, .npy/.npz/.pt, .csv rows) with "
                                         "a checkpoint: ssl-kit predict-files --ckpt last.ckpt --inputs photos/"),
}


def help_parser() -> argparse.ArgumentParser:
    """The top-level ``ssl-kit --help``: every command with one line each (each takes --help)."""
    parser = argparse.ArgumentParser(
        prog="ssl-kit", description="ssl_kit: semi-supervised learning with PyTorch Lightning.",
        epilog="Each command takes --help. Lightning commands accept the usual LightningCLI flags "
               "(--trainer.max_steps, --trainer.default_root_dir, --print_config, ...).")
    names = [*LIGHTNING_COMMANDS, *COMMANDS]
    sub = parser.add_subparsers(title="subcommands", metavar="{" + ",".join(names) + "}")
    for name, text in [*LIGHTNING_COMMANDS.items(), *((n, h) for n, (_, h) in COMMANDS.items())]:
        sub.add_parser(name, help=text, add_help=False)
    return parser


def main(args: list[str] | None = None) -> None:
    """Entry point of ``ssl-kit``: ``fit|validate|test|predict`` (LightningCLI), ``benchmark``, ``demo``."""
    argv = list(sys.argv[1:] if args is None else args)
    if not argv or argv[0] in ("-h", "--help"):
        help_parser().print_help()
        raise SystemExit(0 if argv else 2)
    if argv[0] == "predict" and any(a == "--inputs" or a.startswith("--inputs=") for a in argv[1:]):
        argv[0] = "predict-files"  # new data, not the datamodule's test split
    if argv[0] in COMMANDS:
        importlib.import_module(COMMANDS[argv[0]][0]).main(argv[1:])
        return
    build_cli(None if args is None else argv)  # None: LightningCLI reads the command line itself


if __name__ == "__main__":
    main()
