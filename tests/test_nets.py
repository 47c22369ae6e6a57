"""Backbone options: dropout per layer, and the small Keras-style CNN."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ssl_kit.nets import build_backbone


def dropout_rates(net: nn.Module) -> list[float]:
    return [m.p for m in net.modules() if isinstance(m, nn.Dropout)]


@pytest.mark.parametrize(
    "name, shape, kwargs, rates",
    [
        ("mlp", (20,), dict(hidden=[64, 64], dropout=[0.2, 0.5]), [0.2, 0.5]),
        ("mlp", (20,), dict(hidden=[64, 64], dropout=0.3), [0.3, 0.3]),
        ("conv_small", (3, 16, 16), dict(widths=(8, 8, 8, 8, 8), dropout=[0.1, 0.4]), [0.1, 0.4]),
        ("small_cnn", (1, 28, 28), dict(dropout=[0.25, 0.5]), [0.25, 0.5]),
    ],
)
def test_dropout_is_active_in_training_and_off_in_evaluation(name, shape, kwargs, rates) -> None:
    torch.manual_seed(0)
    net = build_backbone(name, shape, 10, **kwargs)
    assert dropout_rates(net) == rates
    x = torch.rand(8, *shape)
    net.train()
    assert not torch.equal(net(x), net(x))  # a fresh mask every pass
    net.eval()
    assert torch.equal(net(x), net(x))
    for module in net.modules():  # switching dropout off by hand changes nothing in evaluation
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    assert torch.allclose(net(x), net.eval()(x))


def test_no_dropout_by_default_in_mlp_and_small_cnn() -> None:
    assert dropout_rates(build_backbone("mlp", (20,), 3)) == []
    assert dropout_rates(build_backbone("small_cnn", (1, 28, 28), 10)) == [0.0, 0.0]


def test_small_cnn_has_the_keras_example_layout() -> None:
    net = build_backbone("small_cnn", (1, 28, 28), 10)
    assert sum(p.numel() for p in net.parameters()) == 1_199_882  # the Keras MNIST example's count
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64] and all(c.padding == (0, 0) for c in convs)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)


@pytest.mark.parametrize("kwargs, message", [(dict(dropout=[0.1]), "one rate or 2 rates"),
                                             (dict(dropout=1.0), r"in \[0, 1\)")])
def test_bad_dropout_rates_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        build_backbone("mlp", (20,), 3, hidden=[8, 8], **kwargs)


def test_small_cnn_refuses_flat_inputs() -> None:
    with pytest.raises(ValueError, match="flatten: false"):
        build_backbone("small_cnn", (784,), 10)
