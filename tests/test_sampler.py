"""Properties of the rank-aware mixed batch sampler."""

from __future__ import annotations

import itertools

import pytest
import pytorch_lightning as pl
import torch

from ssl_kit.datamodules import LabeledUnlabeledDataModule, MixedBatchSampler
from ssl_kit.datamodules.labeled_unlabeled import batches_trained_this_epoch
from ssl_kit.methods import Supervised


def rank_samplers(world_size: int, seed: int = 0, **kwargs) -> list[MixedBatchSampler]:
    args = dict(num_labeled=20, num_unlabeled=103, labeled_batch_size=12, unlabeled_batch_size=24, seed=seed)
    args.update(kwargs)
    return [MixedBatchSampler(rank=r, world_size=world_size, **args) for r in range(world_size)]


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_equal_batch_counts_and_shares(world_size: int) -> None:
    samplers = rank_samplers(world_size)
    batches = [list(s) for s in samplers]
    assert {len(b) for b in batches} == {samplers[0].steps_per_epoch}
    assert samplers[0].steps_per_epoch == -(-103 // 24)
    for rank_batches in batches:
        for l_idx, u_idx in rank_batches:
            assert len(l_idx) == 12 // world_size and len(u_idx) == 24 // world_size


@pytest.mark.parametrize("world_size", [2, 3, 4])
def test_union_of_ranks_is_the_single_device_batch(world_size: int) -> None:
    single = list(rank_samplers(1)[0])
    per_rank = [list(s) for s in rank_samplers(world_size)]
    for step, (l_idx, u_idx) in enumerate(single):
        assert torch.equal(torch.cat([per_rank[r][step][0] for r in range(world_size)]), l_idx)
        assert torch.equal(torch.cat([per_rank[r][step][1] for r in range(world_size)]), u_idx)


@pytest.mark.parametrize("world_size", [2, 4])
def test_unlabeled_shards_disjoint_within_a_pass(world_size: int) -> None:
    # 4 steps x 24 = 96 <= 103: one pass over the pool, so no index may appear on two ranks.
    samplers = rank_samplers(world_size, steps_per_epoch=4)
    seen = [torch.cat([u for _, u in s]).tolist() for s in samplers]
    for a, b in itertools.combinations(seen, 2):
        assert not set(a) & set(b)
    assert sum(len(s) for s in seen) == len(set().union(*map(set, seen)))


def test_every_labeled_example_used_and_cycles_differ() -> None:
    sampler = rank_samplers(1, num_labeled=10, labeled_batch_size=10)[0]
    batches = [l.tolist() for l, _ in sampler]
    for b in batches:
        assert sorted(b) == list(range(10))  # each batch is one full pass here
    assert len({tuple(b) for b in batches}) > 1  # but not the same order every cycle


def test_streams_depend_on_seed_and_epoch() -> None:
    a, b, c = (rank_samplers(1, seed=s)[0] for s in (0, 0, 1))
    first = [u.tolist() for _, u in a]
    assert first == [u.tolist() for _, u in b]
    assert first != [u.tolist() for _, u in c]
    a.set_epoch(1)
    assert first != [u.tolist() for _, u in a]


def test_resume_from_state_continues_the_stream() -> None:
    full = [(l.tolist(), u.tolist()) for l, u in rank_samplers(2)[1]]
    sampler = rank_samplers(2)[1]
    it = iter(sampler)
    head = [next(it) for _ in range(2)]
    state = sampler.state_dict()
    resumed = rank_samplers(2)[1]
    resumed.load_state_dict(state)
    rest = [(l.tolist(), u.tolist()) for l, u in resumed]
    assert [(l.tolist(), u.tolist()) for l, u in head] + rest == full


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(labeled_batch_size=30), "exceeds the 20 labeled examples"),
        (dict(world_size=5), "multiple of the 5 devices"),
        (dict(num_labeled=0), "labeled pool is empty"),
        (dict(labeled_batch_size=0), "labeled pool is empty"),
        (dict(num_unlabeled=0), "unlabeled pool is empty"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs: dict, message: str) -> None:
    args = dict(num_labeled=20, num_unlabeled=103, labeled_batch_size=12, unlabeled_batch_size=24)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        MixedBatchSampler(**args)


@pytest.mark.parametrize("world_size", [1, 2])
def test_no_labels_gives_empty_labeled_positions_on_every_rank(world_size: int) -> None:
    for rank in range(world_size):
        sampler = MixedBatchSampler(num_labeled=0, num_unlabeled=100, labeled_batch_size=0, unlabeled_batch_size=20,
                                    rank=rank, world_size=world_size)
        batches = list(sampler)
        assert len(batches) == 5 and all(len(l_pos) == 0 and len(u_pos) == 20 // world_size for l_pos, u_pos in batches)


class RecordPosition(pl.Callback):
    """Checks ``batches_trained_this_epoch`` where checkpoints are written: after each batch and after
    a mid-epoch validation."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int, int]] = []
        self.after_val: list[tuple[int, int]] = []
        self.last_batch_idx = -1

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self.last_batch_idx = batch_idx
        self.seen.append((trainer.current_epoch, batch_idx, batches_trained_this_epoch(trainer)))

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.after_val.append((self.last_batch_idx, batches_trained_this_epoch(trainer)))


def test_lightning_loop_position_matches_the_batches_trained() -> None:
    """Guard of the one Lightning internal the toolkit reads (the fit loop's progress counter, for an
    exact mid-epoch resume): if Lightning renames or redefines it, this fails before a resumed run
    silently replays or skips batches."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 2, generator=g), torch.arange(64) % 2
    data = LabeledUnlabeledDataModule.from_tensors(x, y, x[:16], y[:16], num_labeled=8, labeled_batch_size=4,
                                                   unlabeled_batch_size=16, steps_per_epoch=5)
    record = RecordPosition()
    trainer = pl.Trainer(max_epochs=2, callbacks=[record], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, use_distributed_sampler=False,
                         val_check_interval=2, num_sanity_val_steps=0)
    trainer.fit(Supervised(2, (2,)), data)
    assert [(e, i, n) for e, i, n in record.seen] == [(e, i, i + 1) for e in range(2) for i in range(5)]
    assert record.after_val and all(n == i + 1 for i, n in record.after_val)
