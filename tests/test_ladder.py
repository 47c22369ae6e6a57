"""Ladder networks and virtual adversarial ladder networks: maths, paths, statistics, DDP."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ssl_kit.datamodules.labeled_unlabeled import MixedBatch
from ssl_kit.losses.ladder import combinator_init, denoising_cost, gauss_combinator
from ssl_kit.methods import LadderNetwork, VirtualAdversarialLadder
from ssl_kit.methods import ladder as ladder_module
from ssl_kit.nets.ladder import LadderBatchNorm
from test_ddp import run_ddp_fit

TINY = {"hidden": [16, 8]}
SMALL = dict(backbone_kwargs=TINY, denoising_weights=[5.0, 2.0, 1.0, 0.5])


def mixed_batch(n_l: int = 6, n_u: int = 12, dim: int = 5, seed: int = 0) -> MixedBatch:
    g = torch.Generator().manual_seed(seed)
    return MixedBatch(torch.randn(n_l, dim, generator=g) * 3 + 1, torch.arange(n_l) % 3,
                      torch.randn(n_u, dim, generator=g) * 2 - 1)


def manual_clean_logits(model: LadderNetwork, x: torch.Tensor, use_running: bool) -> tuple[torch.Tensor, list]:
    """The clean encoder written out by hand: z = (W h - m) / sqrt(v + eps), h = act(gamma (z + beta))."""
    h, stats = x.flatten(1), []
    for index, layer in enumerate(model.encoder.layers):
        pre = h @ layer.transform.weight.T
        if use_running:
            m, v = layer.bn.running_mean, layer.bn.running_var
        else:
            m, v = pre.mean(0), pre.var(0, unbiased=False)
        stats.append((pre.mean(0), pre.var(0, unbiased=False)))
        z = (pre - m) / torch.sqrt(v + layer.bn.eps) + layer.beta
        if layer.gamma is not None:
            z = z * layer.gamma
        h = z if index == len(model.encoder.layers) - 1 else torch.relu(z)
    return h, stats


# ---------------------------------------------------------------------------- combinator and cost
def test_combinator_matches_paper_formula_on_hand_made_example() -> None:
    a = combinator_init((2,))
    expected_init = [0, 1, 0, 0, 0, 0, 1, 0, 0, 0]  # a2 = a7 = 1, the rest 0
    assert a[:, 0].tolist() == expected_init and a[:, 1].tolist() == expected_init
    z, u = torch.tensor([[0.7, -1.3]]), torch.tensor([[2.0, -0.5]])
    assert torch.equal(gauss_combinator(z, u, a), torch.zeros(1, 2))  # mu = v = 0 at the start

    params = [0.5, 1.5, -0.2, 0.3, 0.1, -0.4, 0.8, 0.25, 0.6, 1.1]
    a = torch.tensor(params).view(10, 1).repeat(1, 2)

    def sigmoid(t: float) -> float:
        return 1 / (1 + math.exp(-t))

    a1, a2, a3, a4, a5, a6, a7, a8, a9, a10 = params
    for i in range(2):
        ui, zi = u[0, i].item(), z[0, i].item()
        mu = a1 * sigmoid(a2 * ui + a3) + a4 * ui + a5
        v = a6 * sigmoid(a7 * ui + a8) + a9 * ui + a10
        assert gauss_combinator(z, u, a)[0, i].item() == pytest.approx((zi - mu) * v + mu, rel=1e-6)


def test_denoising_cost_normalises_by_std_and_divides_by_width() -> None:
    z_est = torch.tensor([[3.0, 5.0, 1.0], [7.0, 1.0, 1.0]])
    z_clean = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    mean, std = torch.tensor([1.0, 1.0, 1.0]), torch.tensor([2.0, 4.0, 1.0])
    # normalised estimate [[1, 1, 0], [3, 0, 0]]; squared errors per example 1 and 4+0; sum 5 / (N=2 * m=3)
    assert denoising_cost(z_est, z_clean, mean, std).item() == pytest.approx(5 / 6)
    assert denoising_cost(z_est, z_clean).item() == pytest.approx(((z_est - z_clean) ** 2).sum().item() / 6)


def test_decoder_set_to_identity_gives_zero_cost_without_noise() -> None:
    torch.manual_seed(0)
    model = LadderNetwork(num_classes=3, input_shape=(5,), noise_std=0.0, **SMALL)
    batch = mixed_batch()
    clean = model.encoder.run(batch.x_u)
    with torch.no_grad():  # z_hat = v z_tilde + mu (1 - v) with v = sigma_l, mu (1 - v) = mu_l: the clean pre-activation
        for key, a in model.decoder.combinators.items():
            l = int(key)
            a.zero_()
            if l == 0:
                a[9] = 1.0
            else:
                sigma, mu = clean.std[l].flatten(), clean.mean[l].flatten()
                a[9], a[4] = sigma, mu / (1 - sigma)
    costs = model.denoising_costs(clean, model.encoder.run(batch.x_u, noise=model.gaussian_corruption()))
    assert set(costs) == {0, 1, 2, 3}
    assert all(c.item() < 1e-8 for c in costs.values()), costs


def test_decoder_trains_towards_identity_without_noise() -> None:
    torch.manual_seed(0)
    model = LadderNetwork(num_classes=3, input_shape=(5,), noise_std=0.0, **SMALL)
    batch = mixed_batch()
    optimizer = torch.optim.Adam(model.decoder.parameters(), lr=0.05)
    clean = model.encoder.run(batch.x_u)
    clean = type(clean)({k: v.detach() for k, v in clean.z.items()}, {k: v.detach() for k, v in clean.mean.items()},
                        {k: v.detach() for k, v in clean.std.items()}, clean.logits.detach())

    def total() -> torch.Tensor:
        return sum(w * c for w, c in zip(model.denoising_weights, model.denoising_costs(clean, clean).values()))

    first = total().item()
    for _ in range(200):
        optimizer.zero_grad()
        loss = total()
        loss.backward()
        optimizer.step()
    assert total().item() < 0.03 * first  # about 1.3% after 200 steps; the exact identity is tested above


# ---------------------------------------------------------------------------- clean vs corrupted paths
def test_denoising_targets_use_clean_batch_statistics() -> None:
    torch.manual_seed(0)
    model = LadderNetwork(num_classes=3, input_shape=(5,), noise_std=0.5, **SMALL)
    batch = mixed_batch()
    torch.manual_seed(1)
    loss = model.training_step(batch, 0)
    # recompute with the same noise draws, the targets' statistics computed by hand
    torch.manual_seed(1)
    corr_l = model.encoder.run(batch.x_l, noise=model.gaussian_corruption())
    corr_u = model.encoder.run(batch.x_u, noise=model.gaussian_corruption())
    estimates = model.decoder(corr_u)
    _, stats = manual_clean_logits(model, batch.x_u, use_running=False)
    clean = model.encoder.run(batch.x_u)
    expected = F.cross_entropy(corr_l.logits, batch.y_l)
    wrong = expected.clone()
    for l, z_hat in estimates.items():
        w = model.denoising_weights[l]
        if l == 0:
            expected = expected + w * ((z_hat - batch.x_u) ** 2).mean()
            wrong = wrong + w * ((z_hat - batch.x_u) ** 2).mean()
            continue
        m, v = stats[l - 1]
        expected = expected + w * (((z_hat - m) / torch.sqrt(v + 1e-10) - clean.z[l]) ** 2).mean()
        wrong = wrong + w * (((z_hat - corr_u.mean[l]) / corr_u.std[l] - clean.z[l]) ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert abs(loss.item() - wrong.item()) > 1e-3  # the corrupted statistics would give another loss


@pytest.mark.parametrize("shape", [(7, 5), (4, 3, 2, 2)])
def test_ladder_batch_norm_matches_formula_with_gradients(shape) -> None:
    """The fused training-mode normalisation: outputs AND gradients equal the formula's, in float64."""
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(*shape, generator=g) * 3 + 2).double().requires_grad_()
    bn = LadderBatchNorm(shape[1], eps=1e-10).double().train()
    z, mean, std = bn(x)
    weights = [torch.randn(t.shape, generator=g, dtype=torch.float64) for t in (z, mean, std)]
    (grad,) = torch.autograd.grad(sum((w * t).sum() for w, t in zip(weights, (z, mean, std))), x)

    x_ref = x.detach().clone().requires_grad_()
    dims = [0, *range(2, len(shape))]
    m_ref = x_ref.mean(dim=dims, keepdim=True)
    s_ref = torch.sqrt(((x_ref - m_ref) ** 2).mean(dim=dims, keepdim=True) + 1e-10)
    z_ref = (x_ref - m_ref) / s_ref
    (grad_ref,) = torch.autograd.grad(sum((w * t).sum() for w, t in zip(weights, (z_ref, m_ref, s_ref))), x_ref)
    for got, want in [(z, z_ref), (mean, m_ref), (std, s_ref), (grad, grad_ref)]:
        torch.testing.assert_close(got, want)


def test_running_statistics_come_from_clean_unlabeled_pass() -> None:
    torch.manual_seed(0)
    model = LadderNetwork(num_classes=3, input_shape=(5,), noise_std=1.0, denoising_weights=SMALL["denoising_weights"],
                          backbone_kwargs={**TINY, "bn_momentum": 0.1})
    batch = mixed_batch()
    batch = batch._replace(x_l=batch.x_l + 50.0)  # labeled statistics far away
    model.training_step(batch, 0)
    _, stats = manual_clean_logits(model, batch.x_u, use_running=False)
    first = model.encoder.layers[0].bn
    m, v = stats[0]
    n = len(batch.x_u)
    torch.testing.assert_close(first.running_mean, 0.1 * m)
    torch.testing.assert_close(first.running_var, 0.9 + 0.1 * v * n / (n - 1))


def test_evaluation_uses_clean_path_with_running_statistics() -> None:
    torch.manual_seed(0)
    model = LadderNetwork(num_classes=3, input_shape=(5,), noise_std=1.0, **SMALL)
    batch = mixed_batch()
    for _ in range(3):
        model.training_step(batch, 0)
    model.eval()
    x = torch.randn(7, 5)
    expected, _ = manual_clean_logits(model, x, use_running=True)
    torch.testing.assert_close(model(x), expected)
    torch.testing.assert_close(model.eval_classifier(x), expected)
    probs = model.predict_step((x, torch.zeros(7, dtype=torch.long)), 0)
    torch.testing.assert_close(probs, expected.softmax(-1))
    # one example at a time gives the same answer: no batch statistics, no noise
    torch.testing.assert_close(torch.cat([model(x[i:i + 1]) for i in range(7)]), expected)


# ---------------------------------------------------------------------------- construction
@pytest.mark.parametrize("shape", [(5,), (1, 28, 28), (3, 8, 8), (3, 32, 32)])
@pytest.mark.parametrize("cls", [LadderNetwork, VirtualAdversarialLadder])
def test_defaults_build_for_any_shape(cls, shape) -> None:
    model = cls(num_classes=4, input_shape=shape)
    model.eval()
    assert model(torch.randn(2, *shape)).shape == (2, 4)
    first_hidden = 256 if math.prod(shape) < 256 else 1000  # small inputs get the small encoder (issue 26)
    assert model.encoder.feature_shapes[:2] == [(math.prod(shape),), (first_hidden,)]


@pytest.mark.parametrize(("shape", "noise"), [((2,), 0.1), ((15,), 0.1), ((16,), 0.3), ((64,), 0.3)])
def test_low_dimensional_inputs_get_the_smaller_corruption_unless_given(shape: tuple[int, ...], noise: float) -> None:
    model = LadderNetwork(num_classes=2, input_shape=shape)
    assert model.noise_std == [noise] * (model.encoder.num_layers + 1)
    assert LadderNetwork(num_classes=2, input_shape=shape, noise_std=0.2).noise_std[0] == 0.2
    assert [type(c).__name__ for c in model.configure_callbacks()] == ["PopulationBatchNorm"]
    assert LadderNetwork(num_classes=2, input_shape=shape, population_statistics=False).configure_callbacks() == []


def test_paper_mnist_defaults() -> None:
    model = LadderNetwork(num_classes=10, input_shape=(1, 28, 28))
    assert model.encoder.feature_shapes == [(784,), (1000,), (500,), (250,), (250,), (250,), (10,)]
    assert model.denoising_weights == [1000.0, 10.0, 0.1, 0.1, 0.1, 0.1, 0.1]
    assert model.noise_std == [0.3] * 7
    combinator = model.decoder.combinators["3"]
    assert combinator.shape == (10, 250)  # ten parameters per unit


def test_gamma_model_reconstructs_top_only_and_conv_encoder_trains() -> None:
    torch.manual_seed(0)
    spec = ["conv:8:3:same", "maxpool:2", "conv:8:3:valid", "conv:classes:1:valid", "gap"]
    model = LadderNetwork(num_classes=3, input_shape=(3, 12, 12), backbone="ladder_conv",
                          backbone_kwargs={"conv_spec": spec}, gamma=True)
    assert list(model.decoder.combinators) == [str(model.encoder.num_layers)]
    assert model.encoder.feature_shapes[-1] == (3,)
    batch = MixedBatch(torch.randn(4, 3, 12, 12), torch.tensor([0, 1, 2, 0]), torch.randn(6, 3, 12, 12))
    loss = model.training_step(batch, 0)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="Γ-model"):
        LadderNetwork(num_classes=3, input_shape=(3, 12, 12), backbone="ladder_conv", backbone_kwargs={"conv_spec": spec})
    with pytest.raises(ValueError, match="top layer alone"):
        LadderNetwork(num_classes=3, input_shape=(5,), gamma=True, **SMALL)


def test_a_training_batch_of_one_example_is_named() -> None:
    model = LadderNetwork(num_classes=3, input_shape=(5,), backbone_kwargs=TINY)
    batch = MixedBatch(torch.randn(1, 5), torch.tensor([0]), torch.randn(6, 5))
    with pytest.raises(ValueError, match=r"at least 2 examples"):
        model.training_step(batch, 0)


def test_bad_arguments_have_clear_errors() -> None:
    with pytest.raises(ValueError, match="noise_std needs 4 entries"):
        LadderNetwork(num_classes=3, input_shape=(5,), backbone_kwargs=TINY, noise_std=[0.3, 0.3])
    with pytest.raises(ValueError, match="too small"):
        LadderNetwork(num_classes=3, input_shape=(3, 4, 4), backbone="ladder_conv", gamma=True)
    with pytest.raises(ValueError, match="Unknown variant"):
        VirtualAdversarialLadder(num_classes=3, input_shape=(5,), variant="vat")
    with pytest.raises(ValueError, match="noise_std and denoising_weights must be >= 0"):
        LadderNetwork(num_classes=3, input_shape=(5,), backbone_kwargs=TINY, noise_std=-0.3)
    with pytest.raises(ValueError, match="noise_std and denoising_weights must be >= 0"):
        LadderNetwork(num_classes=3, input_shape=(5,), backbone_kwargs=TINY, denoising_weights=[1, -1, 1, 1])
    with pytest.raises(ValueError, match="xi > 0"):
        VirtualAdversarialLadder(num_classes=3, input_shape=(5,), backbone_kwargs=TINY, eps=0.1, xi=-1)
    with pytest.raises(ValueError, match="lr_decay_start"):
        LadderNetwork(num_classes=3, input_shape=(5,), backbone_kwargs=TINY, lr_decay_start=2.0)
    with pytest.raises(ValueError, match="needs a LadderEncoder backbone .* builds a MLP"):
        LadderNetwork(num_classes=3, input_shape=(5,), backbone="mlp")
    with pytest.raises(ValueError, match="unsup_weight must be >= 0"):
        LadderNetwork(num_classes=3, input_shape=(5,), backbone_kwargs=TINY, unsup_weight=-1.0)


# ---------------------------------------------------------------------------- virtual adversarial ladder
def test_van_layerwise_perturbations_have_requested_norms_on_unlabeled_only(monkeypatch) -> None:
    torch.manual_seed(0)
    eps = [0.3, 2.0, 0.0]
    model = VirtualAdversarialLadder(num_classes=3, input_shape=(5,), variant="lvan_lw", eps=eps,
                                     n_power=2, noise_std=0.0, **SMALL)
    assert model.adv_layers == [0, 1]  # eps 0 and the logits are never perturbed
    batch = mixed_batch()
    seen: dict[int, torch.Tensor] = {}
    original = model.perturbation

    def record(layer, z, logits):
        r = original(layer, z, logits)
        seen[layer] = r
        assert len(z) == len(batch.x_u)  # adversarial noise on the unlabeled examples only
        return r

    monkeypatch.setattr(model, "perturbation", record)
    clean = model.encoder.run(batch.x_u)
    corrupted = model.corrupted_unlabeled_pass(batch.x_u, clean)
    assert set(seen) == {0, 1}
    for layer in (0, 1):
        torch.testing.assert_close(seen[layer].flatten(1).norm(dim=1), torch.full((len(batch.x_u),), eps[layer]))
    # without Gaussian noise the input layer's corruption is exactly the perturbation
    torch.testing.assert_close(corrupted.z[0] - batch.x_u, seen[0])
    model.training_step(batch, 0).backward()


#: MNIST's median 10th-neighbour distance ([0, 1] pixels, 10,000-image sample; ssl_kit.defaults.neighbour_distance).
MNIST_NEIGHBOUR_DISTANCE = 5.97


def test_van_automatic_radii_follow_the_reference_ratios_on_mnist_shapes() -> None:
    model = VirtualAdversarialLadder(num_classes=10, input_shape=(1, 28, 28))
    assert model.encoder.feature_shapes[:6] == [(784,), (1000,), (500,), (250,), (250,), (250,)]
    model.neighbour_distance = MNIST_NEIGHBOUR_DISTANCE
    reference = list(ladder_module.REFERENCE_LW_EPS) + [ladder_module.REFERENCE_LW_EPS[-1]] * 2 + [0.0]
    radii = [model.layer_eps(layer) for layer in range(6)]
    assert radii[-1] == 0.0 and 5 not in model.adv_layers  # the top hidden layer is never perturbed
    for ours, theirs in zip(radii[:-1], reference[:-1]):
        assert theirs / 2 <= ours <= theirs * 2, (radii, reference)


def test_van_automatic_input_radius_scales_with_the_data() -> None:
    model = VirtualAdversarialLadder(num_classes=2, input_shape=(5,), **SMALL)
    model.neighbour_distance = 1.0
    small = model.layer_eps(0)
    model.neighbour_distance = 3.0
    assert model.layer_eps(0) == pytest.approx(3 * small)
    assert model.adv_layers == [0, 1] and model.layer_eps(2) == 0.0


def test_van_perturbation_is_absent_at_evaluation(monkeypatch) -> None:
    torch.manual_seed(0)
    model = VirtualAdversarialLadder(num_classes=3, input_shape=(5,), variant="lvan_lw", **SMALL)
    model.training_step(mixed_batch(), 0)

    def forbidden(*args, **kwargs):
        raise AssertionError("a perturbation was computed at evaluation")

    monkeypatch.setattr(ladder_module, "virtual_adversarial_perturbation", forbidden)
    model.eval()
    x = torch.randn(9, 5)
    expected, _ = manual_clean_logits(model, x, use_running=True)
    torch.testing.assert_close(model(x), expected)
    torch.testing.assert_close(model.predict_step(x, 0), expected.softmax(-1))
    with pytest.raises(AssertionError, match="perturbation was computed"):  # the patch is live in training
        model.train()
        model.training_step(mixed_batch(), 0)


@pytest.mark.parametrize("unsup_weight", [1.0, 0.25])
def test_lvac_adds_a_vat_cost_and_keeps_gaussian_corruption(monkeypatch, unsup_weight: float) -> None:
    """``CE + unsup_weight * (sum_l lambda_l C_d^(l) + VAT cost)``."""
    torch.manual_seed(0)
    model = VirtualAdversarialLadder(num_classes=3, input_shape=(5,), variant="lvac_lw", eps=0.5,
                                     unsup_weight=unsup_weight, **SMALL)
    logged: dict[str, torch.Tensor] = {}
    monkeypatch.setattr(model, "log", lambda name, value, **kw: logged.__setitem__(name, value))
    loss = model.training_step(mixed_batch(), 0)
    assert logged["train/loss_vat"].item() > 0
    expected = logged["train/loss_sup"] + unsup_weight * (logged["train/loss_denoise"] + logged["train/loss_vat"])
    torch.testing.assert_close(loss, expected)
    assert {"train/loss_denoise_0", "train/loss_denoise_3"} <= set(logged)
    assert 0.0 <= logged["train/rarest_class_share"].item() <= 1.0


# ---------------------------------------------------------------------------- DDP
def test_ddp_ladder_toy_has_no_unused_parameters(tmp_path: Path) -> None:
    ranks = run_ddp_fit("configs/ladder/toy_rings.yaml", tmp_path)
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert len(ranks[0]["batches"]) == len(ranks[1]["batches"]) == 6
