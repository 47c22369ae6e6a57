"""``ssl-kit``: the Lightning CLI for every method and datamodule, plus ``benchmark`` and ``demo``."""

from __future__ import annotations

import sys
from typing import Any

from pytorch_lightning.callbacks import BasePredictionWriter, ModelCheckpoint, ProgressBar, RichProgressBar
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

import ssl_kit.methods  # noqa: F401  (registers the method classes for class_path resolution)
from datamodules import LabeledUnlabeledDataModule
from ssl_kit.callbacks import PredictionCSVWriter
from ssl_kit.checkpoint_io import AtomicCheckpointIO
from ssl_kit.methods.base import SSLModule

TRAINER_DEFAULTS: dict[str, Any] = {
    # The training loader shards itself by rank (MixedBatchSampler); Lightning must not wrap it.
    "use_distributed_sampler": False,
    "default_root_dir": "runs",
    "log_every_n_steps": 10,
    "logger": {"class_path": "pytorch_lightning.loggers.CSVLogger", "init_args": {"save_dir": "runs"}},
}


class SSLKitCLI(LightningCLI):
    """LightningCLI with any :class:`SSLModule` as model and any datamodule of this toolkit as data.

    ``num_classes`` and ``input_shape`` are taken from the datamodule, so configs never repeat them.
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")
        parser.link_arguments("data.input_shape", "model.init_args.input_shape", apply_on="instantiate")

    def _instantiate_trainer(self, config: dict[str, Any], callbacks: list[Any]) -> Any:
        """Add this toolkit's defaults unless the config sets its own or switches them off.

        A rich progress bar; a checkpoint callback that also keeps ``last.ckpt``; checkpoints
        written atomically (:class:`~ssl_kit.checkpoint_io.AtomicCheckpointIO`); ``predict``
        writes ``predictions.csv`` (:class:`~ssl_kit.callbacks.PredictionCSVWriter`).
        """
        configured = list(callbacks) + list(config.get("callbacks") or [])
        extra = []
        if config.get("enable_progress_bar", True) is not False and not any(isinstance(cb, ProgressBar) for cb in configured):
            extra.append(RichProgressBar(leave=True))
        checkpointing = config.get("enable_checkpointing", True) is not False and not config.get("fast_dev_run")
        if checkpointing and not any(isinstance(cb, ModelCheckpoint) for cb in configured):
            extra.append(ModelCheckpoint(save_last=True))
        if not any(isinstance(cb, BasePredictionWriter) for cb in configured):
            extra.append(PredictionCSVWriter())
        if not config.get("plugins"):
            config = {**config, "plugins": [AtomicCheckpointIO()]}
        return super()._instantiate_trainer(config, [*callbacks, *extra])


DESCRIPTION = (
    "ssl_kit: semi-supervised learning (VAT, Improved GAN, Ladder / VAN, supervised baseline) with "
    "Lightning. Train with `ssl-kit fit --config configs/<method>/<dataset>.yaml`. Two more commands: "
    "`ssl-kit benchmark --config configs/benchmark/<grid>.yaml` (methods side by side: table and "
    "plot) and `ssl-kit demo` (supervised vs VAT on the rings toy); each takes --help."
)


def build_cli(args: list[str] | None = None, run: bool = True, **kwargs: Any) -> SSLKitCLI:
    """Construct (and by default run) the CLI; ``kwargs`` override LightningCLI's arguments."""
    options: dict[str, Any] = {
        "parser_kwargs": {"description": DESCRIPTION},
        "model_class": SSLModule,
        "datamodule_class": LabeledUnlabeledDataModule,
        "subclass_mode_model": True,
        "subclass_mode_data": True,
        "trainer_defaults": TRAINER_DEFAULTS,
        "save_config_kwargs": {"overwrite": True},
        "args": args,
        "run": run,
    }
    options.update(kwargs)
    return SSLKitCLI(**options)


def main(args: list[str] | None = None) -> None:
    """Entry point of ``ssl-kit``: ``fit|validate|test|predict`` (LightningCLI), ``benchmark``, ``demo``."""
    argv = list(sys.argv[1:] if args is None else args)
    if argv and argv[0] == "benchmark":
        from ssl_kit.benchmark import main as benchmark_main

        benchmark_main(argv[1:])
        return
    if argv and argv[0] == "demo":
        from ssl_kit.demo import main as demo_main

        demo_main(argv[1:])
        return
    build_cli(None if args is None else argv)  # None: LightningCLI reads sys.argv itself


if __name__ == "__main__":
    main()
