"""Word vectors pre-trained on the unlabeled texts, the switch that turns them off, and the text views."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ssl_kit.datamodules import TextDataModule
from ssl_kit.methods import VAT
from ssl_kit.text.views import TextView
from ssl_kit.text.word_vectors import SkipGramSettings, train_skipgram
from test_text import tiny_data


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SSL_KIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def topic_corpus(n: int, seed: int, topics: int = 4, words: int = 25) -> torch.Tensor:
    """Texts of 12 words, each drawn from one topic's ``words`` ids (topic t: ``2 + t * words ...``)."""
    g = torch.Generator().manual_seed(seed)
    topic = torch.randint(0, topics, (n, 1), generator=g)
    return 2 + words * topic + torch.randint(0, words, (n, 12), generator=g)


def test_skipgram_moves_co_occurring_words_closer_than_random_pairs() -> None:
    settings = SkipGramSettings(epochs=10, batch_size=128, subsample=1.0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # hundreds of tiny updates: a second thread only adds hand-over time
    try:
        vectors = F.normalize(train_skipgram(topic_corpus(200, 0), 102, 16, settings)[2:], dim=1)
    finally:
        torch.set_num_threads(threads)
    cos = vectors @ vectors.T
    same_topic = torch.block_diag(*[torch.ones(25, 25)] * 4).bool()
    assert cos[same_topic & ~torch.eye(100, dtype=torch.bool)].mean() > cos[~same_topic].mean() + 0.4
    untrained = F.normalize(torch.empty(100, 16).uniform_(-1, 1, generator=torch.Generator().manual_seed(1)), dim=1)
    random_cos = untrained @ untrained.T
    assert (random_cos[same_topic & ~torch.eye(100, dtype=torch.bool)].mean() - random_cos[~same_topic].mean()).abs() < 0.1


def test_vectors_are_cached_by_content_outside_the_data_and_switch_off(private_cache: Path) -> None:
    data = tiny_data(pretrain_kwargs={"epochs": 2})
    first = data.word_vectors(8)
    assert first is not None and first.shape == (data.vocab_size, 8) and data.pretrain_seconds is not None
    (cached,) = (private_cache / "word_vectors").glob("*.pt")
    assert torch.equal(tiny_data(pretrain_kwargs={"epochs": 2}).word_vectors(8), first)
    assert len(list((private_cache / "word_vectors").glob("*.pt"))) == 1  # same texts: the same file
    tiny_data(pretrain_kwargs={"epochs": 3}).word_vectors(8)
    assert len(list((private_cache / "word_vectors").glob("*.pt"))) == 2  # other settings: another key
    assert tiny_data(pretrain_embeddings=False).word_vectors(8) is None


def test_vectors_are_trained_on_training_and_unlabeled_texts_never_test_texts() -> None:
    data = TextDataModule.from_lists(["alpha beta", "beta gamma", "gamma alpha", "alpha gamma"], [0, 1, 0, 1],
                                     ["secret words only here"] * 2, [0, 1], unlabeled_texts=["beta beta alpha"],
                                     num_labeled=2, labeled_batch_size=2, unlabeled_batch_size=2, min_frequency=1)
    assert data.fitting_tokens().shape[0] == 5
    assert "secret" not in data.fitted_tokenizer().get_vocab()


def test_the_backbone_starts_from_the_vectors_unless_switched_off() -> None:
    torch.manual_seed(0)
    data = tiny_data(pretrain_kwargs={"epochs": 2})
    data.setup("fit")
    model = VAT(num_classes=data.num_classes, input_shape=data.input_shape)
    model.classifier.prepare_for_data(data)
    vectors = data.word_vectors(64)
    assert torch.allclose(model.classifier.embedding.weight, vectors)
    off = tiny_data(pretrain_embeddings=False)
    off.setup("fit")
    plain = VAT(num_classes=off.num_classes, input_shape=off.input_shape)
    before = plain.classifier.embedding.weight.clone()
    plain.classifier.prepare_for_data(off)
    assert torch.equal(plain.classifier.embedding.weight, before)


def test_text_view_drops_and_replaces_words_and_keeps_one() -> None:
    torch.manual_seed(0)
    tokens = torch.tensor([[5, 6, 7, 8, 9, 10, 0, 0], [4, 0, 0, 0, 0, 0, 0, 0]])
    dropped = TextView(50, word_dropout=0.5, replace=0.0)(tokens.repeat(50, 1))
    real = dropped != 0
    assert (real[:, :-1] | ~real[:, 1:]).all()  # no padding between words: the kept words close up
    assert real.sum(1).min() >= 1 and real[::2].sum(1).float().mean() < 5
    kept = dropped[::2]
    assert all(row[row != 0].tolist() == sorted(row[row != 0].tolist()) for row in kept)  # order kept
    replaced = TextView(50, word_dropout=0.0, replace=1.0)(tokens)
    assert ((replaced != 0) == (tokens != 0)).all() and (replaced[tokens != 0] >= 2).all()


def test_consistency_methods_get_a_text_view_of_the_unlabeled_batch() -> None:
    data = tiny_data(strong_view="strong")
    data.setup("fit")
    batch = data.on_after_batch_transfer(next(iter(data.train_dataloader())), 0)
    assert batch.x_u_strong.shape == batch.x_u.shape == (20, batch.x_l.shape[1])
    assert not torch.equal(batch.x_u_strong, batch.x_u)
    assert ((batch.x_u_strong != 0).sum(1) <= (batch.x_u != 0).sum(1)).all()
