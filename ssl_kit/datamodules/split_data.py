"""A training and a test set in memory, and the split of the training rows into labeled / unlabeled / val."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from ssl_kit.datamodules.checkpoint_state import split_of_state, split_state
from ssl_kit.datamodules.input_checks import check_extra_unlabeled, check_loaded_split, check_tensors
from ssl_kit.datamodules.preprocessing import Preprocessing
from ssl_kit.datamodules.splits import NumLabeled, SplitIndices, check_num_labeled, labeled_split
from ssl_kit.datamodules.unlabeled_pool import PoolStatistics, UnlabeledPool
from ssl_kit.datamodules.world import world_of

Tensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class SplitDataModule(pl.LightningDataModule):
    """The data of a run and its split; the base of :class:`~ssl_kit.datamodules.LabeledUnlabeledDataModule`.

    Subclasses implement :meth:`load_tensors` (the whole training and test sets as tensors, the
    fast in-memory path) and set ``num_classes`` and ``input_shape``. The unlabeled pool is the
    training set with its labels dropped (as in the papers), then the inputs of
    :meth:`load_extra_unlabeled`, which have no labels at all (e.g. a folder of unlabeled images):
    those join the unlabeled pool of every split and never the labeled or validation sets.

    Args:
        num_labeled: labeled examples, drawn class-balanced from the training set; ``"all"``
            labels every training example (the unlabeled pool is the same data), ``0`` none (the
            batches' ``x_l`` and ``y_l`` are then empty, for clustering).
        num_val: validation examples held out of the labeled and unlabeled pools.
        split_seed: seed of the labeled / validation draw.
        stratified: draw the labeled and validation sets in the classes' natural proportions
            instead of exactly balanced.
        split_file: if it exists, the split is read from it; otherwise the drawn split is
            written there.
    """

    num_classes: int
    input_shape: tuple[int, ...]

    def __init__(self, num_labeled: NumLabeled = 100, num_val: int = 0, split_seed: int = 0,
                 stratified: bool = False, split_file: str | None = None) -> None:
        super().__init__()
        check_num_labeled(num_labeled)
        if num_val < 0:
            raise ValueError(f"num_val must be 0 (no validation split) or positive, got {num_val}.")
        self.num_labeled, self.num_val, self.split_seed = num_labeled, num_val, split_seed
        self.stratified, self.split_file = stratified, split_file
        self.split: SplitIndices | None = None
        self._tensors: Tensors | None = None
        self._extra_unlabeled: torch.Tensor | None = None
        self._extra_loaded = False
        self._pool_statistics = PoolStatistics(self._unlabeled_pool)

    @property
    def class_names(self) -> list[str]:
        """Names of the classes in index order (default ``"0".."K-1"``); kept in checkpoints and used by
        predictions and the confusion matrix."""
        names = self.__dict__.get("_class_names")
        return list(names) if names is not None else [str(k) for k in range(self.num_classes)]

    @class_names.setter
    def class_names(self, names: Sequence[str]) -> None:
        self._class_names = [str(name) for name in names]

    def preprocessing(self) -> Preprocessing:
        """How raw inputs become this datamodule's tensors (kept in checkpoints for prediction);
        default: inputs used as given. Image datamodules return their scaling / whitening."""
        return Preprocessing()

    # ----------------------------------------------------------------- data source
    def load_tensors(self) -> Tensors:
        """Return ``(x_train, y_train, x_test, y_test)``; subclasses implement this."""
        raise NotImplementedError

    def load_extra_unlabeled(self) -> torch.Tensor | None:
        """Inputs that have no labels at all, ``(M, *input_shape)``, or ``None`` (default); called after
        :meth:`load_tensors`. Override it to add data beyond the training set to the unlabeled pool."""
        return None

    @property
    def tensors(self) -> Tensors:
        """The whole data set, loaded once, checked, and kept in memory."""
        if self._tensors is None:
            self._tensors = check_tensors(self.load_tensors(), self.num_classes, self.input_shape)
        return self._tensors

    @property
    def extra_unlabeled(self) -> torch.Tensor | None:
        """The extra unlabeled inputs (checked, loaded once), appended to the unlabeled pool."""
        if not self._extra_loaded:
            x_train = self.tensors[0]  # the training set loads first: subclasses may rely on it
            extra = self.load_extra_unlabeled()
            if extra is not None and len(extra):
                self._extra_unlabeled = check_extra_unlabeled(extra, x_train, self.input_shape)
            self._extra_loaded = True
        return self._extra_unlabeled

    # ----------------------------------------------------------------- split
    def setup(self, stage: str | None = None) -> None:
        """Load the tensors and draw (or read) the split."""
        self.resolve_split(self.tensors[1])

    def resolve_split(self, y_train: torch.Tensor) -> SplitIndices:
        """The split of this run: read from ``split_file`` if it exists, else drawn (and saved there).

        Resolved once and kept; preprocessing fitted on the training inputs (ZCA) calls it while
        the tensors load, to leave the validation rows out of the fit.
        """
        if self.split is None:
            if self.split_file and Path(self.split_file).exists():
                self.split = check_loaded_split(SplitIndices.load(self.split_file), len(y_train), self.split_file,
                                                self.num_labeled, self.num_val)
            else:
                self.split = self.draw_split(y_train)
                if self.split_file and world_of(self.trainer)[0] == 0:  # every rank draws the same split
                    self.split.save(self.split_file)
        return self.split

    def draw_split(self, y_train: torch.Tensor) -> SplitIndices:
        """The labeled / unlabeled / validation split (default: :func:`~ssl_kit.datamodules.splits.labeled_split`)."""
        return labeled_split(y_train, self.num_labeled, self.num_classes, self.split_seed, self.num_val,
                             self.stratified)

    def state_dict(self) -> dict[str, Any]:
        """The split indices, saved in every checkpoint."""
        return split_state(self.split)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the split of a checkpoint."""
        self.split = split_of_state(state_dict) or self.split

    # ----------------------------------------------------------------- unlabeled pool
    def _unlabeled_pool(self) -> UnlabeledPool:
        """The unlabeled pool (the split's unlabeled training rows, then the extra inputs), uncopied."""
        self.setup("fit")
        assert self.split is not None
        return UnlabeledPool(self.tensors[0], torch.tensor(self.split.unlabeled), self.extra_unlabeled)

    def unlabeled_inputs(self, limit: int | None = None) -> torch.Tensor:
        """A copy of the unlabeled pool, untransformed: the training split's unlabeled part, then the extra
        inputs (only the first ``limit`` with a ``limit``)."""
        return self._unlabeled_pool().head(limit)

    @property
    def input_norm(self) -> float:
        """Scale of the inputs: median L2 distance to their mean over (a seeded sample of) the unlabeled pool.

        Methods set their default perturbation radii (``eps: null``) as a fraction of it
        (:func:`ssl_kit.defaults.input_norm`); measured once and kept.
        """
        return self._pool_statistics.input_norm

    @property
    def neighbour_distance(self) -> float:
        """Median distance of an unlabeled input to its 10th nearest neighbour (a seeded sample of the pool).

        Methods set their default perturbation radii (``eps: null``) as a fraction of it
        (:func:`ssl_kit.defaults.neighbour_distance`); measured once and kept.
        """
        return self._pool_statistics.neighbour_distance
