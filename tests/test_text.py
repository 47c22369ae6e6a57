"""Text: tokeniser and checkpoint, padding, perturbations on embeddings, the CLI end to end, DDP."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from conftest import REPO
from ssl_kit.datamodules import TensorDataModule, TextDataModule
from ssl_kit.datamodules.text import read_texts, trim_padding
from ssl_kit.losses import fgm_perturbation, virtual_adversarial_perturbation
from ssl_kit.methods import IMSAT, VAT, ImprovedGAN, LadderNetwork, Supervised
from ssl_kit.nets.text import TextClassifier, frequency_normalized

TESTS = Path(__file__).resolve().parent
WORDS = {"good": ["good", "great", "lovely", "superb"], "bad": ["bad", "awful", "dull", "boring"]}
FILLER = ["the", "film", "was", "a", "story", "and", "plot", "of", "it"]


def corpus(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Short snippets of 3-12 words: filler plus one or two sentiment words of the class."""
    g = torch.Generator().manual_seed(seed)
    texts, labels = [], []
    for i in range(n):
        label = "good" if i % 2 == 0 else "bad"
        length = int(torch.randint(3, 13, (1,), generator=g))
        words = [FILLER[int(j)] for j in torch.randint(0, len(FILLER), (length,), generator=g)]
        for _ in range(1 + i % 2):
            words.insert(int(torch.randint(0, len(words), (1,), generator=g)),
                         WORDS[label][int(torch.randint(0, 4, (1,), generator=g))])
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


def tiny_data(**kwargs) -> TextDataModule:
    train, test = corpus(80, 0), corpus(40, 1)
    options = dict(num_labeled=20, labeled_batch_size=10, unlabeled_batch_size=20, max_length=16,
                   min_frequency=1, eval_batch_size=16) | kwargs
    return TextDataModule.from_lists(*train, *test, **options)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pre-trained word vectors go to the test's folder, not the user's cache."""
    monkeypatch.setenv("SSL_KIT_CACHE", str(tmp_path / "cache"))


def write_csv(path: Path, texts: list[str], labels: list[str], delimiter: str = ",") -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["label", "text"])
        writer.writerows(zip(labels, texts))


# ----------------------------------------------------------------------------- data
def test_tokenizer_is_fitted_on_training_texts_only() -> None:
    train, test = corpus(80, 0), corpus(40, 1)
    test_texts = [t + " zebra" for t in test[0]]
    data = TextDataModule.from_lists(*train, test_texts, test[1], unlabeled_texts=["giraffe film"],
                                     num_labeled=20, num_val=10, min_frequency=1, max_length=16)
    split = data.resolve_split(data.labels["train"])
    data.texts["train"][split.val[0]] += " okapi"  # a word only a validation text has
    data.setup("fit")
    vocab = data.tokenizer.get_vocab()
    assert "zebra" not in vocab and "okapi" not in vocab
    assert "giraffe" in vocab and "superb" in vocab  # extra unlabeled and training texts are fitted
    assert data.class_names == ["bad", "good"] and data.num_classes == 2
    x_test = data.tensors[2]
    assert (x_test == 1).any(dim=1).all()  # every test text ends with the unknown word zebra


def test_tokenizer_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    data = tiny_data()
    model = Supervised(data.num_classes, data.input_shape, backbone="text_cnn",
                       backbone_kwargs={"vocab_size": 64, "embed_dim": 8, "hidden": 8})
    trainer = pl.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         limit_val_batches=0, use_distributed_sampler=False, enable_model_summary=False)
    trainer.fit(model, datamodule=data)
    trainer.save_checkpoint(tmp_path / "model.ckpt")
    checkpoint = torch.load(tmp_path / "model.ckpt", weights_only=False)
    assert model.classifier.token_counts.sum() > 0  # the word frequencies reached the backbone
    # another datamodule whose own vocabulary would differ (10 entries) takes the stored one
    other = tiny_data(max_vocab_size=10)
    assert other.fitted_tokenizer().get_vocab_size() < data.vocab_size
    other.load_state_dict(checkpoint[type(data).__qualname__])
    assert other.tokenizer.to_str() == data.tokenizer.to_str()
    assert torch.equal(other.tensors[2], data.tensors[2])
    assert other.split.labeled == data.split.labeled
    renamed = tiny_data(class_names=["good", "bad"])
    with pytest.raises(ValueError, match="trained on the classes"):
        renamed.load_state_dict(checkpoint[type(data).__qualname__])
    restored = Supervised.load_from_checkpoint(tmp_path / "model.ckpt")
    assert torch.equal(restored.classifier.token_counts, model.classifier.token_counts)


def test_texts_read_alike_from_csv_tsv_jsonl_and_datasets(tmp_path: Path) -> None:
    from datasets import Dataset

    texts, labels = corpus(12, 3)
    write_csv(tmp_path / "a.csv", texts, labels)
    write_csv(tmp_path / "a.tsv", texts, labels, delimiter="\t")
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"body": t, "y": l}) + "\n" for t, l in zip(texts, labels)))
    assert read_texts(tmp_path / "a.csv") == (texts, labels)
    assert read_texts(str(tmp_path / "a.tsv")) == (texts, labels)
    assert read_texts(tmp_path / "a.jsonl", "body", "y") == (texts, labels)
    assert read_texts(Dataset.from_dict({"text": texts, "label": labels})) == (texts, labels)
    with pytest.raises(ValueError, match="text column 'body'"):
        read_texts(tmp_path / "a.csv", text_column="body")


def test_batches_are_padded_to_their_longest_text() -> None:
    data = tiny_data()
    data.setup("fit")
    batch = data.on_after_batch_transfer(next(iter(data.train_dataloader())), 0)  # trimmed on the device
    assert batch.x_l.shape[1] == batch.x_u.shape[1]  # one width, so methods can concatenate them
    for x in (torch.cat([batch.x_l, batch.x_u]),):
        assert (x[:, -1] != 0).any() and x.shape[1] <= 16
    x, _ = next(iter(data.val_dataloader()))
    assert (x[:, -1] != 0).any()
    assert trim_padding(torch.tensor([[5, 6, 0, 0], [7, 0, 0, 0]])).tolist() == [[5, 6], [7, 0]]


# ----------------------------------------------------------------------------- network
@pytest.mark.parametrize("encoder", ["bilstm", "cnn", "mean"])
def test_extra_padding_never_changes_the_prediction(encoder: str) -> None:
    torch.manual_seed(0)
    net = TextClassifier((20,), 3, vocab_size=50, embed_dim=8, hidden=6, encoder=encoder).eval()
    net.token_counts.copy_(torch.rand(50))
    tokens = torch.tensor([[4, 9, 2, 0, 0], [7, 3, 11, 12, 5], [8, 0, 0, 0, 0]])
    padded = F.pad(tokens, (0, 7))
    torch.testing.assert_close(net(padded), net(tokens), atol=1e-5, rtol=1e-5)
    # a sequence's logits do not depend on the other sequences of its batch either
    torch.testing.assert_close(net(tokens[2:]), net(tokens)[2:], atol=1e-5, rtol=1e-5)


def test_mean_encoder_averages_the_real_tokens_embeddings() -> None:
    torch.manual_seed(0)
    net = TextClassifier((20,), 3, vocab_size=50, embed_dim=8, hidden=6, encoder="mean").eval()
    net.token_counts.copy_(torch.rand(50))
    tokens = torch.tensor([[4, 9, 2, 0], [8, 0, 0, 0]])
    e = net.embed(tokens)
    expected_features = torch.stack([torch.relu(net.encoder[0](e[0, :3].mean(dim=0))),
                                     torch.relu(net.encoder[0](e[1, :1].mean(dim=0)))])
    torch.testing.assert_close(net(tokens), net.head(expected_features))


def test_embeddings_are_normalised_with_word_frequencies() -> None:
    torch.manual_seed(0)
    table = torch.randn(30, 4) * 3 + 2
    frequencies = torch.rand(30)
    normalised = frequency_normalized(table, table, frequencies, eps=0.0)
    weights = (frequencies / frequencies.sum()).unsqueeze(1)
    torch.testing.assert_close((weights * normalised).sum(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close((weights * normalised**2).sum(0), torch.ones(4), atol=1e-5, rtol=0)


def embedded_batch(seed: int = 0) -> tuple[TextClassifier, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    net = TextClassifier((12,), 3, vocab_size=40, embed_dim=5, hidden=7, encoder="cnn").eval()
    tokens = torch.tensor([[3, 4, 5, 0, 0, 0], [6, 7, 8, 9, 10, 11], [12, 0, 0, 0, 0, 0]])
    mask = net.padding_mask(tokens)
    return net, net.embed(tokens).detach(), mask, torch.tensor([0, 2, 1])


@pytest.mark.parametrize("kind", ["vat", "fgm"])
def test_perturbation_has_the_norm_per_sequence_and_is_zero_on_padding(kind: str) -> None:
    net, e, mask, y = embedded_batch()
    forward = partial(net.classify_embedded, mask=mask)
    if kind == "vat":
        r = virtual_adversarial_perturbation(forward, e, forward(e), xi=0.1, eps=2.5, n_power=2, mask=mask.unsqueeze(-1))
    else:
        r = fgm_perturbation(forward, e, y, eps=2.5, mask=mask.unsqueeze(-1))
    torch.testing.assert_close(r.flatten(1).norm(dim=1), torch.full((3,), 2.5))
    assert (r[~mask] == 0).all()
    assert (r[mask].abs().sum(dim=-1) > 0).all()


def test_fgm_direction_is_the_normalised_gradient_wrt_embeddings() -> None:
    net, e, mask, y = embedded_batch(1)
    e_grad = e.clone().requires_grad_()
    loss = F.cross_entropy(net.classify_embedded(e_grad, mask), y)
    (grad,) = torch.autograd.grad(loss, e_grad)
    expected = 0.7 * grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1)
    r = fgm_perturbation(partial(net.classify_embedded, mask=mask), e, y, eps=0.7, mask=mask.unsqueeze(-1))
    torch.testing.assert_close(r, expected, atol=1e-6, rtol=1e-5)


def test_robustness_attacks_text_models_on_their_embeddings() -> None:
    from ssl_kit.evaluation.attack import robustness

    torch.manual_seed(0)
    data = tiny_data()
    model = Supervised(data.num_classes, data.input_shape, backbone="text_cnn",
                       backbone_kwargs={"vocab_size": 64, "embed_dim": 8, "hidden": 8})
    unattacked = robustness(model, data, eps=0.0)
    attacked = robustness(model, data, eps=20.0)
    assert unattacked.count == 40 and unattacked.attacked_error == unattacked.clean_error
    assert attacked.attacked_error > attacked.clean_error == unattacked.clean_error


# ----------------------------------------------------------------------------- methods
@pytest.mark.parametrize("method", [LadderNetwork, ImprovedGAN, IMSAT])
def test_methods_on_dense_inputs_refuse_text(method: type) -> None:
    data = tiny_data()
    model = method(data.num_classes, tuple(data.input_shape))  # a plain shape: refused when the data is attached
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         use_distributed_sampler=False, enable_model_summary=False)
    with pytest.raises(ValueError, match="cannot train on text"):
        trainer.fit(model, datamodule=data)


def test_vat_with_fgm_learns_the_tiny_corpus() -> None:
    torch.manual_seed(0)
    data = tiny_data()
    model = VAT(data.num_classes, data.input_shape, backbone="text_cnn", eps=1.0, xi=0.1, adv_weight=1.0, lr=0.01,
                backbone_kwargs={"vocab_size": 64, "embed_dim": 8, "hidden": 16, "dropout": 0.0})
    trainer = pl.Trainer(max_steps=60, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         use_distributed_sampler=False, enable_model_summary=False, check_val_every_n_epoch=None,
                         val_check_interval=60)
    trainer.fit(model, datamodule=data)
    assert trainer.callback_metrics[f"{model.periodic_split()}/error"] < 20.0  # num_val 0: logged as test/


def test_tiny_csv_corpus_trains_and_predicts_through_the_cli(tmp_path: Path) -> None:
    from ssl_kit.cli import main

    write_csv(tmp_path / "train.csv", *corpus(60, 0))
    write_csv(tmp_path / "test.csv", *corpus(20, 1))
    (tmp_path / "extra.txt").write_text("the film was a story\nit was dull and boring\n")
    data = ["--data.class_path=ssl_kit.datamodules.TextDataModule", f"--data.init_args.train={tmp_path / 'train.csv'}",
            f"--data.init_args.test={tmp_path / 'test.csv'}", f"--data.init_args.unlabeled={tmp_path / 'extra.txt'}",
            "--data.init_args.num_labeled=10", "--data.init_args.labeled_batch_size=10",
            "--data.init_args.unlabeled_batch_size=20"]
    quiet = ["--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={tmp_path}", "--trainer.logger=false"]
    main(["fit", "--config", str(REPO / "configs/vat/rotten_tomatoes.yaml"), *data, *quiet,
          "--model.init_args.adv_weight=1.0", "--trainer.fast_dev_run=2"])
    config = ["--config", str(REPO / "configs/supervised/20newsgroups.yaml"), *data, *quiet]
    main(["fit", *config, "--trainer.max_steps=2", "--trainer.limit_val_batches=0"])
    (checkpoint,) = tmp_path.rglob("last.ckpt")
    (tmp_path / "new.txt").write_text("a superb and lovely film\nawful dull plot\nzebra\n")
    main(["predict", *config, f"--ckpt_path={checkpoint}", f"--data.init_args.predict_file={tmp_path / 'new.txt'}"])
    (written,) = tmp_path.rglob("predictions.csv")
    rows = written.read_text().splitlines()
    assert rows[0].startswith("index,prediction,predicted_class,p_0,p_1") and len(rows) == 4


def test_ddp_two_cpu_processes_take_equal_text_batches(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", *corpus(60, 0))
    write_csv(tmp_path / "test.csv", *corpus(20, 1))
    out = tmp_path / "batches"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO), os.environ.get("PYTHONPATH", "")])}
    command = [
        sys.executable, "-m", "ssl_kit.cli", "fit", "--config", str(REPO / "configs/vat/rotten_tomatoes.yaml"),
        "--data.class_path=ssl_kit.datamodules.TextDataModule", f"--data.init_args.train={tmp_path / 'train.csv'}",
        f"--data.init_args.test={tmp_path / 'test.csv'}", "--data.init_args.num_labeled=10",
        "--data.init_args.labeled_batch_size=10", "--data.init_args.unlabeled_batch_size=20",
        "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
        "--trainer.max_steps", "3", "--trainer.logger", "false", "--trainer.enable_checkpointing", "false",
        "--trainer.enable_progress_bar", "false", "--trainer.limit_val_batches", "0",
        "--trainer.callbacks+=ddp_probe.RecordBatches", f"--trainer.callbacks.out_dir={out}",
    ]
    # two fresh interpreters: minutes on a busy 2-core machine, seconds otherwise
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    ranks = [torch.load(out / f"rank{r}.pt") for r in range(2)]
    assert [len(r["batches"]) for r in ranks] == [3, 3]
    for r in ranks:
        for x_l, _y_l, x_u in r["batches"]:
            assert x_l.dtype == torch.long and len(x_l) == 5 and len(x_u) == 10


def test_linear_baseline_is_a_grid_row_on_the_same_split(tmp_path: Path) -> None:
    """The TF-IDF + logistic regression reference runs through the benchmark runner, on the split
    the datamodule draws, and lands in the table beside the networks; on other data it fails clearly."""
    import yaml

    from ssl_kit.benchmark import read_results, run_benchmark
    from ssl_kit.benchmark.reference import tfidf_logistic_regression

    write_csv(tmp_path / "train.csv", *corpus(60, 0))
    write_csv(tmp_path / "test.csv", *corpus(30, 1))
    data = {"data.class_path": "ssl_kit.datamodules.TextDataModule", "data.init_args.train": str(tmp_path / "train.csv"),
            "data.init_args.test": str(tmp_path / "test.csv"), "data.init_args.num_labeled": 10,
            "data.init_args.labeled_batch_size": 10, "data.init_args.unlabeled_batch_size": 20}
    grid = {"name": "text_tiny", "seeds": [1],
            "methods": {"supervised": str(REPO / "configs/supervised/rotten_tomatoes.yaml"),
                        "tfidf_logreg": {"config": str(REPO / "configs/supervised/rotten_tomatoes.yaml"),
                                         "reference": "ssl_kit.benchmark.reference.tfidf_logistic_regression"}},
            "settings": {"tiny": data},
            "overrides": {"trainer.max_steps": 2, "trainer.limit_val_batches": 0}}
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump(grid))
    rows = {r["method"]: r for r in run_benchmark(tmp_path / "grid.yaml", tmp_path / "out", progress=False)}
    direct = TextDataModule(train=tmp_path / "train.csv", test=tmp_path / "test.csv", num_labeled=10)
    assert rows["tfidf_logreg"]["status"] == "ok" and rows["tfidf_logreg"]["steps"] == 0
    assert rows["tfidf_logreg"]["test_error"] == pytest.approx(tfidf_logistic_regression(direct))
    assert rows["supervised"]["status"] == "ok" and rows["supervised"]["steps"] == 2
    assert [r["method"] for r in read_results(tmp_path / "out" / "results.csv")] == ["supervised", "tfidf_logreg"]
    assert "| tiny | tfidf_logreg |" in (tmp_path / "out" / "results.md").read_text()
    with pytest.raises(TypeError, match="needs a TextDataModule"):
        tfidf_logistic_regression(TensorDataModule(torch.randn(40, 2), torch.arange(40) % 2, torch.randn(10, 2),
                                                   torch.arange(10) % 2, num_labeled=4))
