"""IMSAT clustering: the loss, the clustering metrics, the neighbour radii and a fit without labels."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from sklearn.metrics import normalized_mutual_info_score

from ssl_kit.datamodules import LabeledUnlabeledDataModule
from ssl_kit.cli import main
from ssl_kit.metrics.clustering import cluster_accuracy, clustering_metrics, normalized_mutual_info
from ssl_kit.losses import imsat_loss, information_term, kth_neighbour_distance, marginal_entropy
from ssl_kit.methods import IMSAT, Supervised
from ssl_kit.methods.imsat import NeighbourRadii

REPO = Path(__file__).resolve().parents[1]

PROBS = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5], [0.6, 0.3, 0.1]]


def test_imsat_loss_matches_a_direct_computation() -> None:
    logits = torch.tensor(PROBS).log() + 3.0  # any shift of the logits gives the same probabilities
    h_cond = sum(-sum(p * math.log(p) for p in row) for row in PROBS) / len(PROBS)
    mean = [sum(row[k] for row in PROBS) / len(PROBS) for k in range(3)]  # 0.4125, 0.3875, 0.2
    h_marg = -sum(p * math.log(p) for p in mean)
    assert marginal_entropy(logits).item() == pytest.approx(h_marg, rel=1e-6)
    assert information_term(logits, mu=1.0).item() == pytest.approx(h_cond - h_marg, rel=1e-5)  # -I(X; Y)
    r_vat = torch.tensor(0.03)
    expected = 0.03 + 0.1 * (h_cond - 4.0 * h_marg)
    assert imsat_loss(r_vat, logits, lam=0.1, mu=4.0).item() == pytest.approx(expected, rel=1e-5)


def test_marginal_entropy_is_largest_for_balanced_clusters_and_finite_for_confident_ones() -> None:
    confident = torch.tensor([[60.0, -60.0], [-60.0, 60.0]])
    assert marginal_entropy(confident).item() == pytest.approx(math.log(2))
    one_cluster = torch.tensor([[200.0, 0.0], [200.0, 0.0]])  # class 1's probability underflows to 0
    assert marginal_entropy(one_cluster).item() == 0.0


def brute_force_accuracy(counts: torch.Tensor) -> float:
    k = counts.shape[0]
    best = max(sum(counts[i, perm[i]].item() for i in range(k)) for perm in itertools.permutations(range(k)))
    return 100.0 * best / counts.sum().item()


@pytest.mark.parametrize("seed", range(5))
def test_cluster_accuracy_matches_a_brute_force_search_over_permutations(seed: int) -> None:
    counts = torch.randint(0, 20, (5, 5), generator=torch.Generator().manual_seed(seed))
    assert cluster_accuracy(counts).item() == pytest.approx(brute_force_accuracy(counts), rel=1e-6)


def test_clustering_metrics_relabel_clusters_and_match_scikit_learn() -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, 4, (300,), generator=generator)
    clusters = (target + 1) % 4  # a perfect clustering, under other names
    noisy = torch.where(torch.rand(300, generator=generator) < 0.3, torch.randint(0, 4, (300,), generator=generator), clusters)
    metrics = clustering_metrics(4)
    for part in torch.arange(300).split(70):  # accumulated over batches
        metrics.update(torch.nn.functional.one_hot(noisy[part], 4).float(), target[part])
    result = metrics.compute()
    counts = torch.zeros(4, 4, dtype=torch.long).index_put_((noisy, target), torch.tensor(1), accumulate=True)
    assert result["cluster_acc"].item() == pytest.approx(brute_force_accuracy(counts), rel=1e-6)
    assert result["nmi"].item() == pytest.approx(normalized_mutual_info_score(target, noisy), rel=1e-5)
    assert normalized_mutual_info(torch.eye(4) * 7).item() == pytest.approx(1.0)


def test_kth_neighbour_distance_matches_sorted_distances() -> None:
    x = torch.randn(50, 3, 2, generator=torch.Generator().manual_seed(0))
    dist = torch.cdist(x.flatten(1), x.flatten(1)).sort(dim=1).values  # column 0: the point itself
    for k in (1, 3, 10):
        assert torch.allclose(kth_neighbour_distance(x, k, chunk_size=16), dist[:, k], atol=1e-5)
    rows = torch.tensor([7, 0, 49])
    assert torch.allclose(kth_neighbour_distance(x, 3, rows=rows, chunk_size=2), dist[rows, 3], atol=1e-5)
    with pytest.raises(ValueError, match="k < 50"):
        kth_neighbour_distance(x, 50)


def test_neighbour_radii_are_looked_up_by_input_and_computed_once() -> None:
    pool = torch.rand(200, 6, generator=torch.Generator().manual_seed(0))
    table = NeighbourRadii(pool, k=5)
    expected = kth_neighbour_distance(pool, 5)
    rows = torch.tensor([5, 199, 0, 17, 5])
    assert torch.allclose(table(pool[rows]), expected[rows])
    assert table.radii.isnan().sum() == 200 - 4  # only the rows seen so far
    assert torch.allclose(table(pool), expected)
    with pytest.raises(ValueError, match="not a row of the unlabeled pool"):
        table(pool[rows] + 0.01)


def moons_without_labels(**kwargs) -> LabeledUnlabeledDataModule:
    from ssl_kit.datamodules.toy import make_moons
    x, y = make_moons(200, 0.1, torch.Generator().manual_seed(0))
    return LabeledUnlabeledDataModule.from_tensors(x, y, x[:50], y[:50], num_labeled=0, unlabeled_batch_size=50, **kwargs)


def test_supervised_refuses_data_without_labels(tmp_path: Path) -> None:
    model = Supervised(num_classes=2, input_shape=(2,))
    trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         default_root_dir=tmp_path, use_distributed_sampler=False)
    with pytest.raises(ValueError, match="num_labeled=0"):
        trainer.fit(model, moons_without_labels())


def test_imsat_step_uses_the_adaptive_radius(tmp_path: Path) -> None:
    pl.seed_everything(0)
    model = IMSAT(num_classes=2, input_shape=(2,), eps=0.25, eps_knn=10, backbone_kwargs={"hidden": [16]})
    trainer = pl.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         default_root_dir=tmp_path, use_distributed_sampler=False, num_sanity_val_steps=0)
    data = moons_without_labels()
    trainer.fit(model, data)
    pool = data.unlabeled_inputs()
    radius = model.perturbation_radius(pool[:7])
    assert torch.allclose(radius.flatten(), 0.25 * kth_neighbour_distance(pool, 10)[:7])


@pytest.mark.parametrize("augmented", [False, True])
def test_imsat_defaults_take_the_papers_adaptive_radius_unless_the_data_is_augmented(tmp_path: Path,
                                                                                    augmented: bool) -> None:
    pl.seed_everything(0)
    model = IMSAT(num_classes=2, input_shape=(2,), backbone_kwargs={"hidden": [16]})
    data = moons_without_labels()
    if augmented:
        data.train_transform = lambda x: x + 0.01 * torch.randn_like(x)
    pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               default_root_dir=tmp_path, use_distributed_sampler=False, num_sanity_val_steps=0).fit(model, data)
    if augmented:  # radii are looked up by input, which augmentation changes: the fixed radius
        assert model.radii is None and model.perturbation_radius(torch.zeros(3, 2)) == 1.0
    else:  # each point's own 10th-neighbour distance (eps 1.0)
        pool = data.unlabeled_inputs()
        assert torch.allclose(model.perturbation_radius(pool[:5]).flatten(), kth_neighbour_distance(pool, 10)[:5])
    with pytest.raises(ValueError, match="eps_knn"):
        IMSAT(num_classes=2, input_shape=(2,), eps_knn="many")


def test_a_fit_without_labels_runs_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    main(["fit", "--config", str(REPO / "configs" / "imsat" / "toy_moons.yaml"), "--data.init_args.num_train", "200",
          "--data.init_args.unlabeled_batch_size", "100",
          "--trainer.max_steps", "4", "--trainer.val_check_interval", "2", "--trainer.log_every_n_steps", "1",
          "--trainer.callbacks", "[]",
          "--trainer.logger", "pytorch_lightning.loggers.CSVLogger", "--trainer.logger.save_dir", str(tmp_path),
          "--trainer.enable_progress_bar", "false"])
    (metrics_file,) = tmp_path.rglob("metrics.csv")
    rows = list(csv.DictReader(metrics_file.open()))
    # num_val 0: the periodic evaluation reads the test set and is logged under its true name
    accuracies = [float(r["test/cluster_acc"]) for r in rows if r.get("test/cluster_acc")]
    assert len(accuracies) == 2 and all(50.0 <= a <= 100.0 for a in accuracies)  # two clusters: >= 50 %
    assert any(r.get("train/marginal_entropy") for r in rows)
