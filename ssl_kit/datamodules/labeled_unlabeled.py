"""The datamodule every method trains from: class-balanced splits and mixed batches.

The contract is :class:`LabeledUnlabeledDataModule`; its parts live in modules of one job each and
are re-exported here, so ``from ssl_kit.datamodules.labeled_unlabeled import ...`` keeps working:
:mod:`.split_data` (the data and its split), :mod:`.mixed_batch` (the batch and its dataset),
:mod:`.unlabeled_pool` (the pool and its scales), :mod:`.input_checks`, :mod:`.batch_sizes`,
:mod:`.world` (rank, seed, DDP checks), :mod:`.checkpoint_state` and :mod:`.eval_loaders`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from pytorch_lightning.utilities import rank_zero_deprecation
from torch.utils.data import DataLoader, Dataset

from ssl_kit.datamodules.batch_sizes import resolve_batch_sizes
from ssl_kit.datamodules.checkpoint_state import sampler_state
from ssl_kit.datamodules.eval_loaders import eval_loader
from ssl_kit.datamodules.input_checks import check_batch_settings, check_tensors
from ssl_kit.datamodules.mixed_batch import BatchTransform, MixedBatch, MixedBatchDataset, TransformedCollate, identity
from ssl_kit.datamodules.sampler import MixedBatchSampler
from ssl_kit.datamodules.split_data import SplitDataModule
from ssl_kit.datamodules.strong_augment import build_strong_augmentation
from ssl_kit.datamodules.unlabeled_pool import UnlabeledPool
from ssl_kit.datamodules.user_inputs import ArrayLike, as_input_tensor, encode_labels, read_dataset
from ssl_kit.datamodules.world import batches_trained_this_epoch, refuse_distributed_sampler, stream_seed, world_of
from ssl_kit.defaults import is_low_dimensional, vector_strong_view
from ssl_kit.utils.paths import default_data_dir

# The parts' earlier private names, for scripts that imported them from here.
_MixedBatchDataset, _UnlabeledPool, _identity = MixedBatchDataset, UnlabeledPool, identity

__all__ = ["BatchTransform", "LabeledUnlabeledDataModule", "MixedBatch", "MixedBatchDataset", "SplitDataModule",
           "TensorDataModule", "TransformedCollate", "UnlabeledPool", "batches_trained_this_epoch",
           "dataset_to_tensors", "default_data_dir", "refuse_distributed_sampler"]


class LabeledUnlabeledDataModule(SplitDataModule):
    """Semi-supervised data: a few labeled examples, many unlabeled ones, mixed in every batch.

    Subclasses implement :meth:`load_tensors` to return the whole training and test sets as
    tensors (the fast, in-memory path); users with their own data call :meth:`from_tensors` or
    :meth:`from_datasets`. The data, its split and the unlabeled pool (the training set with its
    labels dropped, as in the papers, plus inputs that have no labels at all) are those of
    :class:`~ssl_kit.datamodules.split_data.SplitDataModule`; this class turns them into batches.

    Training batches are :class:`MixedBatch` tuples; ``labeled_batch_size`` and
    ``unlabeled_batch_size`` are GLOBAL (per optimizer step, over all devices). Validation and
    test loaders yield plain ``(x, y)`` batches.

    **Validation is never the test set under another name.** With ``num_val > 0`` the periodic
    evaluation reads the held-out validation split and is logged as ``val/*`` (``val/error``, ...),
    which checkpoint selection and early stopping may monitor. With ``num_val: 0`` (the default,
    the papers' protocol of reporting the test error at the end of a fixed schedule) there is no
    validation data: the periodic evaluation reads the test set and is logged under its true
    name, ``test/*`` (``val_split`` is ``"test"``), so a learning curve is still drawn but nothing
    logs ``val/error``, and a ``ModelCheckpoint(monitor="val/error")`` stops with Lightning's
    "could not find the monitored key" instead of selecting a checkpoint on the test set.

    Args:
        labeled_batch_size: global labeled batch size; ``None`` (default): the class's
            ``default_labeled_batch_size`` capped at the labeled pool (one info line says so).
        unlabeled_batch_size: global unlabeled batch size; ``None`` (default): the class's
            ``default_unlabeled_batch_size`` capped at the unlabeled pool. An explicit size the
            pools cannot meet fails, naming every problem at once.
        seed: seed of the batch streams; default: the seed given to ``seed_everything``.
        steps_per_epoch: training batches per epoch; default: one pass over the unlabeled pool.
        eval_batch_size: batch size of the validation, test and predict loaders.
        num_workers: loader workers (0 is fastest for in-memory tensors).
        second_view: also yield a second view of every unlabeled example as
            ``MixedBatch.x_u_strong``: ``"weak"`` (another independent draw of the training
            augmentation; the inputs themselves when there is none), ``"strong"`` (the training
            augmentation then RandAugment + Cutout for images, Gaussian noise + feature dropout for
            other inputs; see :func:`~ssl_kit.datamodules.strong_augment.build_strong_augmentation`) or
            ``None`` (no second view).
        strong_kwargs: arguments of the strong augmentation (``num_ops``, ``cutout``, ``fill`` for
            images; ``noise_std``, ``feature_drop``, ``max_displacement`` for other inputs, by default
            within half the data's neighbour distance, :func:`ssl_kit.defaults.vector_strong_view`).
            A method that needs a second view (FixMatch, the Π-model, Mean Teacher, Pseudo-Label)
            asks for one when ``second_view`` is ``None``.
        strong_view: deprecated name of ``second_view`` (it also named weak views), still accepted.
        **kwargs: the data and its split (``num_labeled``, ``num_val``, ``split_seed``,
            ``stratified``, ``split_file``): see :class:`~ssl_kit.datamodules.split_data.SplitDataModule`.
    """

    #: Batch sizes used when none is given, capped at the pools (subclasses set their protocol's).
    default_labeled_batch_size: int = 100
    default_unlabeled_batch_size: int = 100

    def __init__(
        self,
        labeled_batch_size: int | None = None,
        unlabeled_batch_size: int | None = None,
        seed: int | None = None,
        steps_per_epoch: int | None = None,
        eval_batch_size: int = 1000,
        num_workers: int = 0,
        second_view: Literal["weak", "strong"] | None = None,
        strong_kwargs: dict[str, Any] | None = None,
        strong_view: Literal["weak", "strong"] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if strong_view is not None:
            if second_view is not None and second_view != strong_view:
                raise ValueError(f"second_view={second_view!r} and its deprecated name strong_view={strong_view!r} "
                                 "disagree; give second_view only.")
            rank_zero_deprecation("strong_view is now second_view (it also names weak views); strong_view will "
                                  "be removed.")
            second_view = strong_view
        check_batch_settings(second_view, steps_per_epoch, labeled_batch_size=labeled_batch_size,
                             unlabeled_batch_size=unlabeled_batch_size, eval_batch_size=eval_batch_size)
        self.labeled_batch_size, self.unlabeled_batch_size = labeled_batch_size, unlabeled_batch_size
        self.seed, self.steps_per_epoch, self.eval_batch_size = seed, steps_per_epoch, eval_batch_size
        self.num_workers = num_workers
        self.second_view, self.strong_kwargs = second_view, dict(strong_kwargs or {})
        self.train_transform: BatchTransform | None = None
        # Applied to the inputs of every evaluation batch (e.g. trimming per-batch padding of token ids).
        self.eval_transform: BatchTransform | None = None
        self._sampler: MixedBatchSampler | None = None
        self._sampler_state: dict[str, Any] | None = None
        self._loader_checked = False

    # ----------------------------------------------------------------- training batches
    def train_dataloader(self) -> DataLoader:
        """Mixed labeled + unlabeled batches from a rank-aware :class:`MixedBatchSampler`."""
        x_unlabeled = self._unlabeled_pool()
        assert self.split is not None
        x_train, y_train, _, _ = self.tensors
        labeled = torch.tensor(self.split.labeled, dtype=torch.long)
        rank, world_size = world_of(self.trainer)
        labeled_batch_size, unlabeled_batch_size = self.resolve_batch_sizes(len(labeled), len(x_unlabeled), world_size)
        self._sampler = MixedBatchSampler(
            num_labeled=len(labeled), num_unlabeled=len(x_unlabeled),
            labeled_batch_size=labeled_batch_size if len(labeled) else 0,  # no labels: empty x_l, y_l
            unlabeled_batch_size=unlabeled_batch_size, steps_per_epoch=self.steps_per_epoch,
            seed=stream_seed(self.seed), rank=rank, world_size=world_size,
        )
        if self._sampler_state is not None:
            self._sampler.load_state_dict(self._sampler_state)
            self._sampler_state = None
        self._loader_checked = False
        dataset = MixedBatchDataset(x_train[labeled], y_train[labeled], x_unlabeled, self.train_transform,
                                    self.second_view_transform(), self._sampler.seed)  # a resumed run's seed too
        return DataLoader(dataset, sampler=self._sampler, batch_size=None, num_workers=self.num_workers)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Refuse, at the first training batch, a training loader that Lightning has re-sharded."""
        trainer = self.trainer
        if not self._loader_checked and trainer is not None and trainer.training:
            refuse_distributed_sampler(trainer.train_dataloader)
            self._loader_checked = True
        return batch

    def batches_per_epoch(self) -> int:
        """Training batches per epoch (``steps_per_epoch``, or one pass over the unlabeled pool), known
        without building the training loader (so a resumed sampler position is left alone)."""
        return self.steps_per_epoch or -(-len(self._unlabeled_pool()) // self.unlabeled_batch_size)

    def resolve_batch_sizes(self, num_labeled: int, num_unlabeled: int, world_size: int = 1) -> tuple[int, int]:
        """The GLOBAL ``(labeled, unlabeled)`` batch sizes on pools of these sizes (the rule of
        :func:`~ssl_kit.datamodules.batch_sizes.resolve_batch_sizes`)."""
        return resolve_batch_sizes((self.labeled_batch_size, self.unlabeled_batch_size),
                                   (self.default_labeled_batch_size, self.default_unlabeled_batch_size),
                                   (num_labeled, num_unlabeled), world_size)

    def pixel_range(self) -> tuple[float, float]:
        """``(low, high)`` of the pixel scale, for the strong augmentation's colour operations."""
        return (0.0, 1.0)

    @property
    def strong_view(self) -> str | None:
        """Deprecated name of :attr:`second_view`."""
        return self.second_view

    @strong_view.setter
    def strong_view(self, view: str | None) -> None:
        self.second_view = view

    def second_view_transform(self) -> BatchTransform | None:
        """The transform that makes ``MixedBatch.x_u_strong`` from the gathered inputs (see ``second_view``)."""
        if self.second_view is None:
            return None
        if self.second_view == "weak":
            return self.train_transform or identity
        kwargs = dict(self.strong_kwargs)
        if len(self.input_shape) != 3:  # vectors: within the data's neighbourhood unless given
            rule = vector_strong_view(self.neighbour_distance, self.input_shape, is_low_dimensional(self.input_shape))
            kwargs = {**rule, **kwargs}
        return build_strong_augmentation(self.input_shape, self.train_transform, self.pixel_range(), **kwargs)

    # ----------------------------------------------------------------- evaluation batches
    @property
    def val_split(self) -> str:
        """What :meth:`val_dataloader` reads: ``"val"`` (held-out split) or ``"test"`` (``num_val`` 0);
        methods log the periodic evaluation under this name."""
        return "val" if self.num_val else "test"

    def val_dataloader(self) -> DataLoader:
        """Labeled ``(x, y)`` batches of the validation split (or of the test set if ``num_val`` is 0,
        logged as ``test/*``: see :attr:`val_split`)."""
        self.setup("validate")
        assert self.split is not None
        x_train, y_train, x_test, y_test = self.tensors
        val = torch.tensor(self.split.val, dtype=torch.long)
        return self._eval_loader(x_train[val], y_train[val]) if len(val) else self._eval_loader(x_test, y_test)

    def test_dataloader(self) -> DataLoader:
        """Labeled ``(x, y)`` batches of the test set."""
        _, _, x_test, y_test = self.tensors
        return self._eval_loader(x_test, y_test)

    def predict_dataloader(self) -> DataLoader:
        """``(x, y)`` batches of the test set; ``predict_step`` returns class probabilities."""
        return self.test_dataloader()

    def _eval_loader(self, x: torch.Tensor, y: torch.Tensor) -> DataLoader:
        return eval_loader(x, y, self.eval_batch_size, self.num_workers, self.eval_transform, *world_of(self.trainer))

    # ----------------------------------------------------------------- checkpoint state
    def state_dict(self) -> dict[str, Any]:
        """Split indices and stream position, saved in every checkpoint."""
        return {**super().state_dict(), **sampler_state(self._sampler, self.trainer)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the split and stream position of a checkpoint."""
        super().load_state_dict(state_dict)
        self._sampler_state = state_dict.get("sampler")

    # ----------------------------------------------------------------- user data
    @classmethod
    def from_tensors(
        cls,
        x_train: ArrayLike,
        y_train: ArrayLike,
        x_test: ArrayLike,
        y_test: ArrayLike,
        num_classes: int | None = None,
        x_unlabeled: ArrayLike | None = None,
        class_names: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> TensorDataModule:
        """A :class:`TensorDataModule` over in-memory tensors or NumPy arrays (its arguments).

        Example:
            >>> dm = LabeledUnlabeledDataModule.from_tensors(x, y, x_test, y_test, num_labeled=20,
            ...                                              labeled_batch_size=20)
        """
        return TensorDataModule(x_train, y_train, x_test, y_test, num_classes=num_classes, x_unlabeled=x_unlabeled,
                                class_names=class_names, **kwargs)

    @classmethod
    def from_datasets(
        cls, train: Dataset, test: Dataset, num_classes: int | None = None, **kwargs: Any
    ) -> TensorDataModule:
        """A datamodule over two datasets (read once into memory) whose items are ``(x, y)`` pairs or dicts
        with an input key (``"x"``, ``"input"``, ``"image"``, ... :data:`~ssl_kit.datamodules.user_inputs.INPUT_KEYS`)
        and a label key (``"y"``, ``"label"``, ``"target"``, ... :data:`~ssl_kit.datamodules.user_inputs.LABEL_KEYS`)."""
        x_train, y_train = read_dataset(train)
        x_test, y_test = read_dataset(test)
        return TensorDataModule(x_train, y_train, x_test, y_test, num_classes=num_classes, **kwargs)


def dataset_to_tensors(dataset: Dataset, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Read a whole dataset of ``(x, y)`` pairs or dicts into inputs and class indices (see :func:`encode_labels`)."""
    x, y = read_dataset(dataset, batch_size)
    return x, encode_labels(y)[0][0]


class TensorDataModule(LabeledUnlabeledDataModule):
    """:class:`LabeledUnlabeledDataModule` over tensors the user already has in memory.

    Args:
        x_train: training inputs, ``(N, *input_shape)`` (tensor or NumPy array).
        y_train: training labels, ``(N,)``: class indices, other integers or names.
        x_test: test inputs.
        y_test: test labels.
        num_classes: number of classes when the labels are indices ``0..K-1`` (a class may be
            absent from the data); default: inferred by :func:`~ssl_kit.datamodules.user_inputs.encode_labels`
            (``0..max`` for indices, else one class per distinct label).
        x_unlabeled: optional inputs without labels, appended to the unlabeled pool.
        class_names: names of the classes in index order (or the vocabulary of name labels);
            default: the distinct labels as text.
        **kwargs: see :class:`LabeledUnlabeledDataModule`.
    """

    def __init__(
        self,
        x_train: ArrayLike,
        y_train: ArrayLike,
        x_test: ArrayLike,
        y_test: ArrayLike,
        num_classes: int | None = None,
        x_unlabeled: ArrayLike | None = None,
        class_names: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        (y_train, y_test), self.class_names = encode_labels(y_train, y_test, num_classes=num_classes,
                                                            class_names=class_names)
        self.num_classes = len(self.class_names)
        x_train, x_test = as_input_tensor(x_train, "training inputs"), as_input_tensor(x_test, "test inputs")
        self.input_shape = tuple(x_train.shape[1:])
        self._tensors = check_tensors((x_train, y_train, x_test, y_test), self.num_classes, self.input_shape)
        self._x_unlabeled = None if x_unlabeled is None else as_input_tensor(x_unlabeled, "unlabeled inputs")
        self.extra_unlabeled  # noqa: B018  (check the extra inputs now: errors at construction)

    def load_extra_unlabeled(self) -> torch.Tensor | None:
        """The ``x_unlabeled`` given to the constructor."""
        return self._x_unlabeled
