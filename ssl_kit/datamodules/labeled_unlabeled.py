"""The datamodule every method trains from: class-balanced splits and mixed batches."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_info
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset, default_collate

from ssl_kit.datamodules.preprocessing import Preprocessing
from ssl_kit.datamodules.sampler import MixedBatchSampler
from ssl_kit.datamodules.splits import NumLabeled, SplitIndices, check_num_labeled, labeled_split
from ssl_kit.datamodules.strong_augment import build_strong_augmentation
from ssl_kit.datamodules.transforms import single_threaded
from ssl_kit.datamodules.user_inputs import ArrayLike, as_input_tensor, encode_labels, read_dataset
from ssl_kit.utils.paths import default_data_dir

BatchTransform = Callable[[torch.Tensor], torch.Tensor]


class MixedBatch(NamedTuple):
    """One training batch: labeled inputs ``x_l`` with labels ``y_l``, and unlabeled ``x_u``.

    ``x_u_strong`` is a second view of the same unlabeled examples, drawn independently, when the
    datamodule is asked for one (``strong_view``); otherwise ``None``.
    """

    x_l: torch.Tensor
    y_l: torch.Tensor
    x_u: torch.Tensor
    x_u_strong: torch.Tensor | None = None


def _identity(x: torch.Tensor) -> torch.Tensor:
    """The second view of data without augmentation: the inputs themselves."""
    return x


class _UnlabeledPool:
    """The unlabeled pool as a view: rows ``index`` of the training inputs, then the extra inputs.

    Gathering a batch by position reads the training tensor directly, so the pool costs no copy
    of the training set (about 600 MB for CIFAR-10 in float32).
    """

    def __init__(self, x_train: torch.Tensor, index: torch.Tensor, extra: torch.Tensor | None) -> None:
        self.x_train, self.index, self.extra = x_train, index, extra
        self.num_train = len(index)

    def __len__(self) -> int:
        return self.num_train + (len(self.extra) if self.extra is not None else 0)

    def __getitem__(self, positions: torch.Tensor) -> torch.Tensor:
        if self.extra is None:
            return self.x_train[self.index[positions]]
        in_train = positions < self.num_train
        dtype = torch.promote_types(self.x_train.dtype, self.extra.dtype)
        out = torch.empty((len(positions), *self.x_train.shape[1:]), dtype=dtype)
        out[in_train] = self.x_train[self.index[positions[in_train]]].to(dtype)
        out[~in_train] = self.extra[positions[~in_train] - self.num_train].to(dtype)
        return out


class _MixedBatchDataset(Dataset):
    """Gathers a whole mixed batch by tensor indexing (no per-item Python work)."""

    def __init__(
        self,
        x_labeled: torch.Tensor,
        y_labeled: torch.Tensor,
        x_unlabeled: torch.Tensor | _UnlabeledPool,
        transform: BatchTransform | None,
        second_view: BatchTransform | None = None,
        seed: int = 0,
    ) -> None:
        self.x_labeled, self.y_labeled, self.x_unlabeled = x_labeled, y_labeled, x_unlabeled
        self.transform, self.second_view, self.seed = transform, second_view, seed

    def second_view_of(self, x_u: torch.Tensor, u_pos: torch.Tensor) -> torch.Tensor:
        """The second view, drawn from a generator seeded by the stream seed and the batch's indices.

        Its draws are then a function of the batch alone: a run resumed mid-epoch (whose global RNG
        is restored only once the first batch has been built) and loader workers draw the same views.
        """
        mixed = int(((torch.arange(len(u_pos)) + 1) * (u_pos.long() * 2654435761 % 2147483647)).sum())
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed((self.seed * 1_000_003 + mixed) % 2**63)
            return self.second_view(x_u)

    def __getitem__(self, positions: tuple[torch.Tensor, torch.Tensor]) -> MixedBatch:
        l_pos, u_pos = positions
        # A batch gather is tiny: on one thread it is fast, split over busy cores it stalls
        # (a whole MixedBatch: ~10 k images/s split over 2 busy threads, 30-42 k on one).
        with single_threaded():
            x_l, x_u = self.x_labeled[l_pos], self.x_unlabeled[u_pos]
            x_u_strong = self.second_view_of(x_u, u_pos) if self.second_view is not None else None
            if self.transform is not None:  # independent draws for the two streams
                x_l, x_u = self.transform(x_l), self.transform(x_u)
        return MixedBatch(x_l, self.y_labeled[l_pos], x_u, x_u_strong)


class TransformedCollate:
    """Collates ``(x, ...)`` items, then applies a batch transform to ``x`` (picklable for loader workers)."""

    def __init__(self, transform: BatchTransform) -> None:
        self.transform = transform

    def __call__(self, items: list[tuple[torch.Tensor, ...]]) -> list[torch.Tensor]:
        x, *rest = default_collate(items)
        return [self.transform(x), *rest]


def batches_trained_this_epoch(trainer: pl.Trainer) -> int:
    """The training batches of the current epoch whose training step has run.

    The one place where this toolkit reads a Lightning internal: Lightning has no public count of
    the batches done in the current epoch (``global_step`` counts optimizer steps over the whole
    run, several per batch for manual optimisation), and an exact mid-epoch resume needs it. The
    fit loop's progress tracker is read here and nowhere else; ``tests/test_sampler.py`` checks it
    against ``batch_idx`` and fails loudly when Lightning changes it.
    """
    return int(trainer.fit_loop.epoch_loop.batch_progress.current.processed)


def refuse_distributed_sampler(loader: Any) -> None:
    """Raise if Lightning wrapped a training loader's rank-sharded sampler in a ``DistributedSampler``.

    The wrapper would shard the already sharded stream again and keep a fraction of each shard
    (12 of 40 unlabeled examples per rank on 2 processes), so the run would not train on what the
    protocol says.
    """
    if isinstance(getattr(loader, "sampler", None), DistributedSampler):
        raise ValueError(
            "This datamodule shards its batches by rank itself: build the Trainer with "
            "use_distributed_sampler=False (ssl-kit's CLI does) when training on several devices."
        )


class LabeledUnlabeledDataModule(pl.LightningDataModule):
    """Semi-supervised data: a few labeled examples, many unlabeled ones, mixed in every batch.

    Subclasses implement :meth:`load_tensors` to return the whole training and test sets as
    tensors (the fast, in-memory path). Users with their own data call :meth:`from_tensors` or
    :meth:`from_datasets`.

    The unlabeled pool is the training set with its labels dropped (as in the papers). Data that
    has *no* labels at all (e.g. a folder of unlabeled images) joins the pool through
    :meth:`load_extra_unlabeled` (or ``x_unlabeled`` of :meth:`from_tensors`): those examples are
    appended, in full, to the unlabeled pool of every split; they never enter the labeled or
    validation sets.

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
        num_labeled: labeled examples, drawn class-balanced from the training set; ``"all"``
            labels every training example (the unlabeled pool is the same data), ``0`` none (the
            batches' ``x_l`` and ``y_l`` are then empty, for clustering).
        labeled_batch_size: global labeled batch size; ``None`` (default): the class's
            ``default_labeled_batch_size`` capped at the labeled pool (one info line says so).
        unlabeled_batch_size: global unlabeled batch size; ``None`` (default): the class's
            ``default_unlabeled_batch_size`` capped at the unlabeled pool. An explicit size the
            pools cannot meet fails, naming every problem at once.
        num_val: validation examples held out of the labeled and unlabeled pools.
        split_seed: seed of the labeled / validation draw.
        stratified: draw the labeled and validation sets in the classes' natural proportions
            instead of exactly balanced.
        seed: seed of the batch streams; default: the seed given to ``seed_everything``.
        steps_per_epoch: training batches per epoch; default: one pass over the unlabeled pool.
        eval_batch_size: batch size of the validation, test and predict loaders.
        split_file: if it exists, the split is read from it; otherwise the drawn split is
            written there.
        num_workers: loader workers (0 is fastest for in-memory tensors).
        strong_view: also yield a second view of every unlabeled example as
            ``MixedBatch.x_u_strong``: ``"weak"`` (another independent draw of the training
            augmentation; the inputs themselves when there is none), ``"strong"`` (the training
            augmentation then RandAugment + Cutout for images, Gaussian noise + feature dropout for
            other inputs; see :func:`~ssl_kit.datamodules.strong_augment.build_strong_augmentation`) or
            ``None`` (no second view).
        strong_kwargs: arguments of the strong augmentation (``num_ops``, ``cutout`` for images;
            ``noise_std``, ``feature_drop`` for other inputs, by default of VAT's default radius,
            :func:`ssl_kit.defaults.strong_view_noise`). A method that needs a
            second view (FixMatch, the Π-model, Mean Teacher) asks for one when ``strong_view`` is
            ``None``.
    """

    num_classes: int
    input_shape: tuple[int, ...]
    #: Batch sizes used when none is given, capped at the pools (subclasses set their protocol's).
    default_labeled_batch_size: int = 100
    default_unlabeled_batch_size: int = 100

    def __init__(
        self,
        num_labeled: NumLabeled = 100,
        labeled_batch_size: int | None = None,
        unlabeled_batch_size: int | None = None,
        num_val: int = 0,
        split_seed: int = 0,
        seed: int | None = None,
        steps_per_epoch: int | None = None,
        eval_batch_size: int = 1000,
        split_file: str | None = None,
        num_workers: int = 0,
        stratified: bool = False,
        strong_view: Literal["weak", "strong"] | None = None,
        strong_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_num_labeled(num_labeled)
        if strong_view not in (None, "weak", "strong"):
            raise ValueError(f"strong_view must be 'weak', 'strong' or null, got {strong_view!r}.")
        for name, value in (("labeled_batch_size", labeled_batch_size),
                            ("unlabeled_batch_size", unlabeled_batch_size), ("eval_batch_size", eval_batch_size)):
            if value is not None and value < 1:  # subclasses may take None (ImageFolder: every labeled image)
                raise ValueError(f"{name} must be positive, got {value}.")
        if num_val < 0:
            raise ValueError(f"num_val must be 0 (no validation split) or positive, got {num_val}.")
        if steps_per_epoch is not None and steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be positive or null (one pass over the unlabeled pool), "
                             f"got {steps_per_epoch}.")
        self.num_labeled = num_labeled
        self.labeled_batch_size = labeled_batch_size
        self.unlabeled_batch_size = unlabeled_batch_size
        self.num_val = num_val
        self.split_seed = split_seed
        self.seed = seed
        self.steps_per_epoch = steps_per_epoch
        self.eval_batch_size = eval_batch_size
        self.split_file = split_file
        self.num_workers = num_workers
        self.stratified = stratified
        self.strong_view, self.strong_kwargs = strong_view, dict(strong_kwargs or {})
        self.train_transform: BatchTransform | None = None
        # Applied to the inputs of every evaluation batch (e.g. trimming per-batch padding of token ids).
        self.eval_transform: BatchTransform | None = None
        self.split: SplitIndices | None = None
        self._tensors: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._extra_unlabeled: torch.Tensor | None = None
        self._extra_loaded = False
        self._sampler: MixedBatchSampler | None = None
        self._sampler_state: dict[str, Any] | None = None
        self._input_norm: float | None = None
        self._neighbour_distance: float | None = None
        self._loader_checked = False

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
    def load_tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(x_train, y_train, x_test, y_test)``; subclasses implement this."""
        raise NotImplementedError

    def load_extra_unlabeled(self) -> torch.Tensor | None:
        """Return inputs that have no labels at all, ``(M, *input_shape)``, or ``None`` (default).

        Override this to add data beyond the training set to the unlabeled pool; it is called
        after :meth:`load_tensors`.
        """
        return None

    @property
    def extra_unlabeled(self) -> torch.Tensor | None:
        """The extra unlabeled inputs (checked, loaded once), appended to the unlabeled pool."""
        if not self._extra_loaded:
            self.tensors  # noqa: B018  (the training set loads first: subclasses may rely on it)
            extra = self.load_extra_unlabeled()
            if extra is not None and len(extra):
                train_dtype = self.tensors[0].dtype
                if extra.dtype != train_dtype:  # e.g. uint8 pixels beside [0, 1] floats in one batch
                    raise TypeError(f"The extra unlabeled inputs have dtype {extra.dtype} but the training inputs "
                                    f"{train_dtype}; convert them to the same dtype and scale.")
                self._extra_unlabeled = self._checked_inputs("extra unlabeled", extra)
            self._extra_loaded = True
        return self._extra_unlabeled

    @property
    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The whole data set, loaded once, checked, and kept in memory."""
        if self._tensors is None:
            self._tensors = self._checked(*self.load_tensors())
        return self._tensors

    def _checked(
        self, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        for name, x, y in (("training", x_train, y_train), ("test", x_test, y_test)):
            if y.dim() != 1:
                raise ValueError(f"The {name} labels must be a 1-D tensor of class indices, got shape {tuple(y.shape)}.")
            if len(x) != len(y):
                raise ValueError(f"The {name} set has {len(x)} inputs but {len(y)} labels.")
            if y.is_floating_point() or y.dtype == torch.bool:
                raise TypeError(f"The {name} labels must be integer class indices, got dtype {y.dtype}.")
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(
                    f"The {name} labels must lie in [0, {self.num_classes}); found {int(y.min())}..{int(y.max())}."
                )
            self._checked_inputs(name, x)
        return x_train, y_train.long(), x_test, y_test.long()

    def _checked_inputs(self, name: str, x: torch.Tensor) -> torch.Tensor:
        if x.is_floating_point() and not torch.isfinite(x).all():
            raise ValueError(f"The {name} inputs contain NaN or inf values.")
        if tuple(x.shape[1:]) != tuple(self.input_shape):
            raise ValueError(
                f"The {name} inputs have shape {tuple(x.shape[1:])} per example, "
                f"but input_shape is {tuple(self.input_shape)}."
            )
        return x

    # ----------------------------------------------------------------- set-up
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
                self.split = self._checked_split(SplitIndices.load(self.split_file), len(y_train))
            else:
                self.split = self.draw_split(y_train)
                if self.split_file and self._world()[0] == 0:  # every rank draws the same split
                    self.split.save(self.split_file)
        return self.split

    def _checked_split(self, split: SplitIndices, num_train: int) -> SplitIndices:
        """A split read from ``split_file``, refused if it does not fit this data and these settings."""
        for name, indices in (("labeled", split.labeled), ("unlabeled", split.unlabeled), ("val", split.val)):
            if indices and (min(indices) < 0 or max(indices) >= num_train):
                raise ValueError(
                    f"split_file {self.split_file}: {name} indices run from {min(indices)} to {max(indices)}, "
                    f"outside this training set of {num_train} examples (a split of another data set?)."
                )
        for name, wanted, found in (("num_labeled", self.num_labeled, len(split.labeled)),
                                    ("num_val", self.num_val, len(split.val))):
            if wanted not in (None, "all") and wanted != found:  # None: the subclass takes what the data gives
                raise ValueError(
                    f"split_file {self.split_file} holds {found} {name[4:]} examples but {name}={wanted}; "
                    f"set {name}: {found} to reuse the file, or point split_file elsewhere to draw a new split."
                )
        return split

    def draw_split(self, y_train: torch.Tensor) -> SplitIndices:
        """The labeled / unlabeled / validation split (default: :func:`~ssl_kit.datamodules.splits.labeled_split`)."""
        return labeled_split(y_train, self.num_labeled, self.num_classes, self.split_seed, self.num_val,
                             self.stratified)

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 0, 1
        return trainer.global_rank, trainer.world_size

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Refuse, at the first training batch, a training loader that Lightning has re-sharded."""
        trainer = self.trainer
        if not self._loader_checked and trainer is not None and trainer.training:
            refuse_distributed_sampler(trainer.train_dataloader)
            self._loader_checked = True
        return batch

    def _stream_seed(self) -> int:
        if self.seed is not None:
            return self.seed
        return int(os.environ.get("PL_GLOBAL_SEED", 0))

    def _unlabeled_pool(self) -> _UnlabeledPool:
        """The unlabeled pool (the split's unlabeled training rows, then the extra inputs), uncopied."""
        self.setup("fit")
        assert self.split is not None
        return _UnlabeledPool(self.tensors[0], torch.tensor(self.split.unlabeled), self.extra_unlabeled)

    def batches_per_epoch(self) -> int:
        """Training batches per epoch (``steps_per_epoch``, or one pass over the unlabeled pool), known
        without building the training loader (so a resumed sampler position is left alone)."""
        return self.steps_per_epoch or -(-len(self._unlabeled_pool()) // self.unlabeled_batch_size)

    def unlabeled_inputs(self, limit: int | None = None) -> torch.Tensor:
        """A copy of the unlabeled pool, untransformed: the training split's unlabeled part, then the extra inputs.

        Args:
            limit: copy only the first ``limit`` inputs (``None``: the whole pool).
        """
        pool = self._unlabeled_pool()
        count = len(pool) if limit is None else min(limit, len(pool))
        return pool[torch.arange(count)]

    @property
    def input_norm(self) -> float:
        """Scale of the inputs: median L2 distance to their mean over (a seeded sample of) the unlabeled pool.

        Methods set their default perturbation radii (``eps: null``) as a fraction of it
        (:func:`ssl_kit.defaults.input_norm`); measured once and kept.
        """
        if self._input_norm is None:
            from ssl_kit.defaults import input_norm  # the library's rule; imported late (ssl_kit imports datamodules)

            self._input_norm = input_norm(self._pool_sample())
        return self._input_norm

    @property
    def neighbour_distance(self) -> float:
        """Median distance of an unlabeled input to its 10th nearest neighbour (a seeded sample of the pool).

        Methods set their default perturbation radii (``eps: null``) as a fraction of it
        (:func:`ssl_kit.defaults.neighbour_distance`); measured once and kept.
        """
        if self._neighbour_distance is None:
            from ssl_kit.defaults import neighbour_distance  # imported late (ssl_kit imports datamodules)

            self._neighbour_distance = neighbour_distance(self._pool_sample())
        return self._neighbour_distance

    def _pool_sample(self, size: int = 10_000) -> torch.Tensor:
        """A seeded random sample of ``size`` unlabeled inputs (all of a smaller pool): the data's scales are measured on it."""
        pool = self._unlabeled_pool()
        return pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(0))[:size]]

    # ----------------------------------------------------------------- loaders
    def train_dataloader(self) -> DataLoader:
        """Mixed labeled + unlabeled batches from a rank-aware :class:`MixedBatchSampler`."""
        x_unlabeled = self._unlabeled_pool()
        assert self.split is not None
        x_train, y_train, _, _ = self.tensors
        labeled = torch.tensor(self.split.labeled, dtype=torch.long)
        rank, world_size = self._world()
        labeled_batch_size, unlabeled_batch_size = self.resolve_batch_sizes(len(labeled), len(x_unlabeled), world_size)
        self._sampler = MixedBatchSampler(
            num_labeled=len(labeled),
            num_unlabeled=len(x_unlabeled),
            labeled_batch_size=labeled_batch_size if len(labeled) else 0,  # no labels: empty x_l, y_l
            unlabeled_batch_size=unlabeled_batch_size,
            steps_per_epoch=self.steps_per_epoch,
            seed=self._stream_seed(),
            rank=rank,
            world_size=world_size,
        )
        if self._sampler_state is not None:
            self._sampler.load_state_dict(self._sampler_state)
            self._sampler_state = None
        self._loader_checked = False
        dataset = _MixedBatchDataset(x_train[labeled], y_train[labeled], x_unlabeled, self.train_transform,
                                     self.second_view_transform(), self._sampler.seed)  # a resumed run's seed too
        return DataLoader(dataset, sampler=self._sampler, batch_size=None, num_workers=self.num_workers)

    def pixel_range(self) -> tuple[float, float]:
        """``(low, high)`` of the pixel scale, for the strong augmentation's colour operations."""
        return (0.0, 1.0)

    def second_view_transform(self) -> BatchTransform | None:
        """The transform that makes ``MixedBatch.x_u_strong`` from the gathered inputs (see ``strong_view``)."""
        if self.strong_view is None:
            return None
        if self.strong_view == "weak":
            return self.train_transform or _identity
        kwargs = dict(self.strong_kwargs)
        if len(self.input_shape) != 3:  # vectors: noise on the scale of the data unless given
            from ssl_kit.defaults import default_radius, strong_view_noise  # late: ssl_kit imports datamodules

            radius = default_radius(self.neighbour_distance, self.input_shape)
            kwargs = {**strong_view_noise(radius, self.input_shape), **kwargs}
        return build_strong_augmentation(self.input_shape, self.train_transform, self.pixel_range(), **kwargs)

    def resolve_batch_sizes(self, num_labeled: int, num_unlabeled: int, world_size: int = 1) -> tuple[int, int]:
        """The GLOBAL ``(labeled, unlabeled)`` batch sizes of training on pools of these sizes.

        A size left ``None`` is the class default capped at its pool (rounded down to a multiple
        of ``world_size``), so a small data set trains without any batch argument; one info line
        names the capped sizes. Explicit sizes are kept; the sampler refuses those the pools cannot
        meet, naming every problem at once.
        """
        sizes, capped = [], []
        for name, given, default, pool in (
            ("labeled_batch_size", self.labeled_batch_size, self.default_labeled_batch_size, num_labeled),
            ("unlabeled_batch_size", self.unlabeled_batch_size, self.default_unlabeled_batch_size, num_unlabeled),
        ):
            size = given
            if size is None:
                size = max(world_size, min(default, pool) // world_size * world_size)
                if size < default:
                    capped.append(f"{name}={size} (default {default}, pool of {pool})")
            sizes.append(size)
        if capped:
            rank_zero_info("Batch sizes not given, capped at the pools: " + ", ".join(capped) + ".")
        return sizes[0], sizes[1]

    def _eval_loader(self, x: torch.Tensor, y: torch.Tensor) -> DataLoader:
        rank, world_size = self._world()
        # Contiguous, unpadded shards: metrics synced over ranks count every example once.
        shard = torch.tensor_split(torch.arange(len(x)), world_size)[rank]
        collate = None if self.eval_transform is None else TransformedCollate(self.eval_transform)
        # A private generator: iterating a loader draws its workers' base seed from a generator, and
        # from torch's global one by default, which would shift the training noise after every
        # periodic validation; so evaluating never changes what training does.
        return DataLoader(TensorDataset(x[shard], y[shard]), batch_size=self.eval_batch_size,
                          num_workers=self.num_workers, collate_fn=collate, generator=torch.Generator())

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
        if self.split.val:
            val = torch.tensor(self.split.val)
            return self._eval_loader(x_train[val], y_train[val])
        return self._eval_loader(x_test, y_test)

    def test_dataloader(self) -> DataLoader:
        """Labeled ``(x, y)`` batches of the test set."""
        _, _, x_test, y_test = self.tensors
        return self._eval_loader(x_test, y_test)

    def predict_dataloader(self) -> DataLoader:
        """``(x, y)`` batches of the test set; ``predict_step`` returns class probabilities."""
        return self.test_dataloader()

    # ----------------------------------------------------------------- checkpoint state
    def state_dict(self) -> dict[str, Any]:
        """Split indices and stream position, saved in every checkpoint."""
        state: dict[str, Any] = {}
        if self.split is not None:
            state["split"] = {"labeled": self.split.labeled, "unlabeled": self.split.unlabeled, "val": self.split.val}
        if self._sampler is not None:
            sampler_state = self._sampler.state_dict()
            trainer = self.trainer
            if trainer is not None and trainer.state.fn == "fit":
                # The loader prefetches (and loader workers run further ahead), so the sampler's own
                # position runs early; the batches whose training step has run are what a resumed run
                # must skip. Also when the checkpoint is written at the end of a mid-epoch validation.
                sampler_state["next_step"] = batches_trained_this_epoch(trainer)
            state["sampler"] = sampler_state
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the split and stream position of a checkpoint."""
        if "split" in state_dict:
            self.split = SplitIndices(**state_dict["split"])
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
        """A datamodule over in-memory tensors or NumPy arrays (``kwargs`` go to :class:`LabeledUnlabeledDataModule`).

        Labels may be indices, other integers or names (see :func:`~ssl_kit.datamodules.user_inputs.encode_labels`).
        ``x_unlabeled`` (optional) holds inputs without any labels; they are appended to the
        unlabeled pool.

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
        self._tensors = self._checked(x_train, y_train, x_test, y_test)
        self._x_unlabeled = None if x_unlabeled is None else as_input_tensor(x_unlabeled, "unlabeled inputs")
        self.extra_unlabeled  # noqa: B018  (check the extra inputs now: errors at construction)

    def load_extra_unlabeled(self) -> torch.Tensor | None:
        """The ``x_unlabeled`` given to the constructor."""
        return self._x_unlabeled
