"""The Lightning CLI of every method and datamodule (``ssl-kit fit|validate|test|predict``).

Built on LightningCLI's public surface only: trainer defaults through ``trainer_defaults`` and
default callbacks through the public :meth:`LightningCLI.instantiate_trainer`. The benchmark
runner builds its runs with :func:`build_cli`; :mod:`ssl_kit.cli` dispatches the commands.
"""

from __future__ import annotations

import sys
from typing import Any

from pytorch_lightning.callbacks import BasePredictionWriter, Callback, ModelCheckpoint, ProgressBar, RichProgressBar
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI

import ssl_kit.methods  # noqa: F401  (registers the method classes for class_path resolution)
from ssl_kit.datamodules import LabeledUnlabeledDataModule
from ssl_kit.callbacks import PredictionCSVWriter, StepProgressBar
from ssl_kit.utils.threads import ThreadPolicy
from ssl_kit.checkpoints.atomic import AtomicCheckpointIO
from ssl_kit.cli.errors import SSLKitArgumentParser, model_class_path, refuse_checkpoint_of_another_method
from ssl_kit.cli.config_files import resolve_config_args
from ssl_kit.methods.base import SSLModule
from ssl_kit.checkpoints.provenance import CheckpointMismatchError

TRAINER_DEFAULTS: dict[str, Any] = {
    # The training loader shards itself by rank (MixedBatchSampler); Lightning must not wrap it.
    "use_distributed_sampler": False,
    # Logs and checkpoints go under default_root_dir with Lightning's default logger (TensorBoard
    # when it is installed, CSV otherwise).
    "default_root_dir": "runs",
    "log_every_n_steps": 10,
}


def default_callbacks(trainer_config: dict[str, Any]) -> list[Callback]:
    """The callbacks this toolkit adds to a trainer unless its config sets its own or switches them off.

    A progress bar (step-based for ``max_steps`` runs, per epoch otherwise); a checkpoint
    callback that also keeps ``last.ckpt``; ``predictions.csv`` for ``predict``
    (:class:`~ssl_kit.callbacks.PredictionCSVWriter`); the CPU thread policy
    (:class:`~ssl_kit.utils.threads.ThreadPolicy`: one thread for small models, ``SSL_KIT_NUM_THREADS``
    overrides it).

    Args:
        trainer_config: the trainer's arguments as the CLI instantiated them (``callbacks``,
            ``enable_progress_bar``, ``enable_checkpointing``, ``fast_dev_run``, ``max_steps``,
            ``max_epochs``).
    """
    configured = trainer_config.get("callbacks") or []
    configured = configured if isinstance(configured, list) else [configured]
    extra: list[Callback] = []
    if trainer_config.get("enable_progress_bar", True) is not False and not any(isinstance(cb, ProgressBar) for cb in configured):
        steps_bound = (trainer_config.get("max_steps") or -1) > 0 and trainer_config.get("max_epochs") in (None, -1)
        extra.append(StepProgressBar() if steps_bound else RichProgressBar(leave=True))
    checkpointing = trainer_config.get("enable_checkpointing", True) is not False and not trainer_config.get("fast_dev_run")
    if checkpointing and not any(isinstance(cb, ModelCheckpoint) for cb in configured):
        extra.append(ModelCheckpoint(save_last=True))
    if not any(isinstance(cb, BasePredictionWriter) for cb in configured):
        extra.append(PredictionCSVWriter())
    if not any(isinstance(cb, ThreadPolicy) for cb in configured):
        extra.append(ThreadPolicy())
    return extra


class SSLKitCLI(LightningCLI):
    """LightningCLI with any :class:`SSLModule` as model and any datamodule of this toolkit as data.

    ``num_classes`` and ``input_shape`` are taken from the datamodule, so configs never repeat them.
    """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.num_classes", "model.init_args.num_classes", apply_on="instantiate")
        parser.link_arguments("data.input_shape", "model.init_args.input_shape", apply_on="instantiate")

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse ``args`` (default: the command line) with each ``--config`` name resolved to a file,
        then refuse a ``--ckpt_path`` of another method than the config builds (LightningCLI would
        re-parse the checkpoint's hyperparameters over the config and quietly use its method)."""
        if args is None:  # read the command line here, so LightningCLI does not see args and argv both
            self.config = parser.parse_args(resolve_config_args(sys.argv[1:]))
        else:
            super().parse_arguments(parser, resolve_config_args(args) if isinstance(args, list) else args)
        subcommand = self.config.get("subcommand")
        config = self.config.get(subcommand) if subcommand else self.config
        try:
            refuse_checkpoint_of_another_method(config.get("ckpt_path"), model_class_path(config))
        except CheckpointMismatchError as err:
            parser.error(str(err))

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        """Add :func:`default_callbacks` and atomic checkpoint writes
        (:class:`~ssl_kit.checkpoints.atomic.AtomicCheckpointIO`) unless the config sets ``plugins``."""
        config = self.config_init.get(self.subcommand) if self.subcommand else self.config_init
        trainer_config = {**dict(config.get("trainer") or {}), **kwargs}
        configured = trainer_config.get("callbacks") or []
        configured = list(configured) if isinstance(configured, list) else [configured]
        kwargs["callbacks"] = configured + default_callbacks(trainer_config)
        if not trainer_config.get("plugins"):
            kwargs["plugins"] = [AtomicCheckpointIO()]
        if trainer_config.get("strategy") == "ddp" and getattr(self.model, "needs_unused_parameter_detection", False):
            kwargs["strategy"] = "ddp_find_unused_parameters_true"  # e.g. the GAN: one network per backward
        return super().instantiate_trainer(**kwargs)


def build_cli(args: list[str] | None = None, run: bool = True, **kwargs: Any) -> SSLKitCLI:
    """Construct (and by default run) the CLI; ``kwargs`` override LightningCLI's arguments.

    A ``--config`` value may be a file or the name of a shipped config (``vat/mnist_quick``).
    """
    options: dict[str, Any] = {
        "parser_kwargs": {"description": "ssl_kit: semi-supervised learning with Lightning (`ssl-kit --help` "
                                         "lists every command)."},
        "model_class": SSLModule,
        "datamodule_class": LabeledUnlabeledDataModule,
        "subclass_mode_model": True,
        "subclass_mode_data": True,
        "trainer_defaults": TRAINER_DEFAULTS,
        "save_config_kwargs": {"overwrite": True},
        # one-line errors with the closest valid key (ssl_kit.cli.errors)
        "parser_class": SSLKitArgumentParser,
        # every method builds its own optimiser(s) and schedule: --optimizer / --lr_scheduler are refused
        "auto_configure_optimizers": False,
        "args": args,
        "run": run,
    }
    options.update(kwargs)
    return SSLKitCLI(**options)
