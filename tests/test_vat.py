"""VAT maths against independent computations, and the VAT method's training step."""

from __future__ import annotations

import copy

import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn

from ssl_kit.datamodules import LabeledUnlabeledDataModule, MixedBatch
from ssl_kit.losses import (
    entropy_with_logits,
    fgm_perturbation,
    frozen_batchnorm_stats,
    kl_with_logits,
    vat_loss,
    virtual_adversarial_perturbation,
)
import ssl_kit.methods.vat as vat_method
from ssl_kit.methods import VAT


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.cosine_similarity(a.flatten(1), b.flatten(1), dim=1)


def test_kl_and_entropy_match_direct_formulas() -> None:
    q, p = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    qs, ps = q.softmax(1), p.softmax(1)
    assert kl_with_logits(q, p) == pytest.approx((qs * (qs.log() - ps.log())).sum(1).mean().item())
    assert entropy_with_logits(p) == pytest.approx(-(ps * ps.log()).sum(1).mean().item())
    extreme = torch.tensor([[100.0, -100.0, 0.0]])
    assert torch.isfinite(kl_with_logits(extreme, -extreme)) and torch.isfinite(entropy_with_logits(extreme))


@pytest.mark.parametrize("dtype, xi, min_cos", [(torch.float64, 1e-6, 0.999), (torch.float32, 1e-3, 0.99)])
def test_power_iteration_finds_dominant_eigenvector_of_the_hessian(dtype: torch.dtype, xi: float, min_cos: float) -> None:
    """For a linear-softmax model, the KL's Hessian at r = 0 is W^T (diag(p) - p p^T) W.

    In fp32, ``x + 1e-6 * d`` keeps only a few ulps of ``d`` for inputs of order 1, so the fp32
    case checks the iteration with a larger step; fp64 checks the default ``xi = 1e-6``.
    """
    torch.manual_seed(0)
    model = nn.Linear(8, 5).to(dtype)
    x = torch.randn(4, 8, dtype=dtype)
    logits = model(x)
    r = virtual_adversarial_perturbation(model, x, logits, xi=xi, eps=1.0, n_power=30)
    for i in range(len(x)):
        p = logits[i].softmax(0).detach().double()
        w = model.weight.detach().double()
        hessian = w.T @ (torch.diag(p) - torch.outer(p, p)) @ w
        # Independent check of the closed form with autograd's Hessian of the KL.
        kl = lambda rr: kl_with_logits(logits[i : i + 1].detach().double(), model.double()(x[i : i + 1].double() + rr))
        auto = torch.autograd.functional.hessian(kl, torch.zeros(1, 8, dtype=torch.float64)).reshape(8, 8)
        model.to(dtype)
        assert torch.allclose(auto, hessian, atol=1e-8)
        eigvals, eigvecs = torch.linalg.eigh(hessian)
        top = eigvecs[:, -1]
        assert abs(cosine(r[i : i + 1].double(), top[None])).item() > min_cos


@pytest.mark.parametrize("shape", [(10,), (3, 8, 8), (7, 16)])
def test_perturbation_has_norm_eps_for_any_shape(shape) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(int(torch.tensor(shape).prod()), 3))
    x = torch.randn(5, *shape)
    r = virtual_adversarial_perturbation(model, x, model(x), eps=2.5, n_power=2)
    assert r.shape == x.shape and not r.requires_grad
    assert torch.allclose(r.flatten(1).norm(dim=1), torch.full((5,), 2.5), atol=1e-4)


def test_embedding_model_is_perturbed_in_embedding_space() -> None:
    torch.manual_seed(0)
    embed, head = nn.Embedding(50, 6), nn.Linear(6, 2)
    tokens = torch.randint(0, 50, (4, 9))
    forward = lambda e: head(e.mean(dim=1))
    emb = embed(tokens)
    r = virtual_adversarial_perturbation(forward, emb, forward(emb), xi=1e-3, eps=0.5)
    assert r.shape == emb.shape and torch.allclose(r.flatten(1).norm(dim=1), torch.full((4,), 0.5), atol=1e-5)
    # mean pooling: the best direction moves every token of an example the same way
    assert torch.allclose(r[:, :1].expand_as(r), r, atol=1e-6)


def test_vanishing_finite_difference_keeps_a_perturbation_of_norm_eps() -> None:
    """In fp32, x + 1e-6 * d == x for inputs of order 100: no example may lose its perturbation."""
    torch.manual_seed(0)
    model = nn.Linear(50, 3)
    x = 100 + torch.rand(6, 50)
    r = virtual_adversarial_perturbation(model, x, model(x), xi=1e-6, eps=0.5)
    assert torch.allclose(r.norm(dim=1), torch.full((6,), 0.5), atol=1e-5)


def test_no_gradient_into_clean_prediction_and_no_weight_grads_from_power_iteration() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x = torch.randn(6, 4)
    logits = model(x)
    r = virtual_adversarial_perturbation(model, x, logits, eps=1.0)
    assert all(p.grad is None for p in model.parameters())
    loss = vat_loss(model, x, logits, r)
    (grad_clean,) = torch.autograd.grad(loss, logits, allow_unused=True, retain_graph=True)
    assert grad_clean is None
    assert torch.autograd.grad(loss, model[0].weight)[0].abs().sum() > 0


def test_batchnorm_running_stats_untouched_by_perturbed_passes() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 10), nn.BatchNorm1d(10))
    x = torch.randn(8, 1, 8, 8)
    logits = model(x)
    before = copy.deepcopy(model.state_dict())
    with frozen_batchnorm_stats(model):
        r = virtual_adversarial_perturbation(model, x, logits, eps=1.0, n_power=3)
        vat_loss(model, x, logits, r).backward()
    after = model.state_dict()
    for key in before:
        if "running" in key or "num_batches" in key:
            assert torch.equal(before[key], after[key]), key
    assert all(m.track_running_stats for m in model.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d))


def test_perturbation_under_bf16_autocast_is_finite_and_nonzero() -> None:
    """Under bf16 autocast the power iteration still runs in fp32: same direction as without autocast."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 4))
    x = torch.rand(8, 20)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x)
        assert logits.dtype == torch.bfloat16
        torch.manual_seed(1)
        r = virtual_adversarial_perturbation(model, x, logits, xi=1e-6, eps=1.0, n_power=3)
    assert r.dtype == torch.float32 and torch.isfinite(r).all()
    assert torch.allclose(r.norm(dim=1), torch.ones(8), atol=1e-4)
    torch.manual_seed(1)
    r_fp32 = virtual_adversarial_perturbation(model, x, model(x), xi=1e-6, eps=1.0, n_power=3)
    assert F.cosine_similarity(r, r_fp32, dim=1).abs().min() > 0.99


def test_fgm_is_the_normalised_input_gradient_of_a_linear_model() -> None:
    torch.manual_seed(0)
    model = nn.Linear(5, 3).double()
    x, y = torch.randn(4, 5, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    r = fgm_perturbation(model, x, y, eps=0.3)
    p = model(x).softmax(1).detach()
    grad = (p - F.one_hot(y, 3)) @ model.weight.detach()  # d CE / d x, per example
    assert torch.allclose(cosine(r, grad), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(r.norm(dim=1), torch.full((4,), 0.3, dtype=torch.float64))


def make_batch() -> MixedBatch:
    g = torch.Generator().manual_seed(0)
    return MixedBatch(torch.randn(8, 6, generator=g), torch.arange(8) % 3, torch.randn(20, 6, generator=g))


@pytest.mark.parametrize("entmin", [False, True])
def test_training_step_loss_is_the_sum_of_its_terms(entmin: bool) -> None:
    model = VAT(num_classes=3, input_shape=(6,), backbone_kwargs={"hidden": [16], "batch_norm": False}, eps=0.7, entmin=entmin)
    batch = make_batch()
    torch.manual_seed(1)
    loss = model.training_step(batch, 0)
    net = model.classifier
    torch.manual_seed(1)
    logits_u = net(batch.x_u)
    r = virtual_adversarial_perturbation(net, batch.x_u, logits_u, 1e-6, 0.7, 1)
    expected = F.cross_entropy(net(batch.x_l), batch.y_l) + kl_with_logits(logits_u, net(batch.x_u + r))
    if entmin:
        expected = expected + entropy_with_logits(logits_u)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_training_step_passes_its_hyperparameters_to_the_perturbation(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict = {}

    def spy(forward, x, logits, xi, eps, n_power):
        seen.update(xi=xi, eps=eps, n_power=n_power, x=x)
        return virtual_adversarial_perturbation(forward, x, logits, xi, eps, n_power)

    monkeypatch.setattr(vat_method, "virtual_adversarial_perturbation", spy)
    batch = make_batch()
    VAT(num_classes=3, input_shape=(6,), eps=0.7, xi=3e-5, n_power=2).training_step(batch, 0)
    assert (seen["xi"], seen["eps"], seen["n_power"]) == (3e-5, 0.7, 2)
    assert seen["x"] is batch.x_u  # the unlabeled batch is perturbed


def test_training_step_updates_bn_stats_from_the_clean_unlabeled_pass_only() -> None:
    torch.manual_seed(0)
    model = VAT(num_classes=3, input_shape=(6,), backbone_kwargs={"hidden": [16, 16]}, eps=1.0, adv_weight=1.0)
    reference, mixed = copy.deepcopy(model.classifier), copy.deepcopy(model.classifier)
    batch = make_batch()._replace(x_l=make_batch().x_l + 3.0)  # labeled statistics far from the unlabeled ones
    model.training_step(batch, 0)
    with torch.no_grad():
        reference(batch.x_u)
        mixed(batch.x_l)
        mixed(batch.x_u)
    first_mean = next(name for name, _ in reference.named_buffers() if name.endswith("running_mean"))
    assert not torch.allclose(model.classifier.get_buffer(first_mean), mixed.get_buffer(first_mean))
    for (name, a), b in zip(model.classifier.named_buffers(), reference.buffers()):
        assert torch.allclose(a, b), name


def test_vat_trains_end_to_end_and_logs_its_terms(tmp_path) -> None:
    """A short run on easy data: VAT trains end to end through Lightning and logs its terms."""
    pl.seed_everything(0)
    x = torch.randn(200, 2)
    y = (x.norm(dim=1) > 1.2).long()
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:50], y[:50], num_labeled=10, labeled_batch_size=10, unlabeled_batch_size=50)
    model = VAT(num_classes=2, input_shape=(2,), backbone_kwargs={"hidden": [32], "batch_norm": False}, eps=0.1, entmin=True)
    trainer = pl.Trainer(max_steps=60, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         use_distributed_sampler=False, default_root_dir=tmp_path, enable_model_summary=False)
    dm.setup("fit")
    x_l, y_l = dm.tensors[0][dm.split.labeled], dm.tensors[1][dm.split.labeled]
    with torch.no_grad():
        untrained_loss = F.cross_entropy(model.eval()(x_l), y_l)
    trainer.fit(model, dm)
    logged = trainer.callback_metrics
    for key in ("train/loss", "train/loss_sup", "train/loss_vat", "train/entropy", "train/rarest_class_share"):
        assert key in logged and torch.isfinite(logged[key])
    assert 0.0 <= logged["train/rarest_class_share"] <= 1.0
    with torch.no_grad():
        trained_loss = F.cross_entropy(model.eval()(x_l), y_l)
    assert trained_loss < 0.8 * untrained_loss


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(eps=0.0), "eps > 0"), (dict(unsup_weight=-1.0), "unsup_weight >= 0"), (dict(adv_weight=1.0, adv_eps=0.0), "adv_eps > 0"),
     (dict(lr_decay_start=-0.5), "lr_decay_start")],
)
def test_bad_hyperparameters_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VAT(num_classes=3, input_shape=(6,), **kwargs)


def test_bf16_mixed_training_runs(tmp_path) -> None:
    pl.seed_everything(0)
    x = torch.randn(100, 4)
    y = (x[:, 0] > 0).long()
    dm = LabeledUnlabeledDataModule.from_tensors(x, y, x[:20], y[:20], num_labeled=10, labeled_batch_size=10, unlabeled_batch_size=20)
    model = VAT(num_classes=2, input_shape=(4,), backbone_kwargs={"hidden": [16]})
    trainer = pl.Trainer(max_steps=3, precision="bf16-mixed", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, use_distributed_sampler=False, default_root_dir=tmp_path)
    trainer.fit(model, dm)
    assert torch.isfinite(trainer.callback_metrics["train/loss_vat"])
