"""Wide ResNet (Zagoruyko & Komodakis 2016, arXiv 1605.07146) as used by semi-supervised benchmarks.

WRN-28-2 is the network of Oliver et al. 2018 (arXiv 1804.09170), FixMatch and USB's classic-CV
table: pre-activation basic blocks, leaky ReLU (slope 0.1), batch norm with a slow running
average (momentum 0.001), global average pooling and one linear layer; about 1.5 M parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

BN_MOMENTUM = 0.001
SLOPE = 0.1


class _Block(nn.Module):
    """Pre-activation basic block: BN-LReLU-conv3x3-BN-LReLU-conv3x3, plus a 1x1 shortcut where the shape changes.

    ``activate_shortcut``: the first block feeds the activated input to the shortcut too (so the
    stem's raw output is normalised before anything adds to it).
    """

    def __init__(self, c_in: int, c_out: int, stride: int, activate_shortcut: bool = False) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in, momentum=BN_MOMENTUM)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.act = nn.LeakyReLU(SLOPE)
        self.shortcut = None if c_in == c_out and stride == 1 else nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)
        self.activate_shortcut = activate_shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.bn1(x))
        residual = x if self.shortcut is None else self.shortcut(h if self.activate_shortcut else x)
        return residual + self.conv2(self.act(self.bn2(self.conv1(h))))


class WideResNet(nn.Module):
    """WRN-``depth``-``width`` classifier for images ``(C, H, W)``.

    Args:
        input_shape: shape of one image.
        num_classes: number of output logits.
        depth: total depth, ``6 n + 4`` (28: four blocks per stage).
        width: widening factor (2: stages of 32, 64 and 128 channels).
    """

    def __init__(self, input_shape: Sequence[int], num_classes: int, depth: int = 28, width: int = 2) -> None:
        super().__init__()
        if len(input_shape) != 3 or (depth - 4) % 6:
            raise ValueError(f"WideResNet needs image inputs (C, H, W) and depth = 6 n + 4; got {tuple(input_shape)}, "
                             f"depth {depth}.")
        per_stage = (depth - 4) // 6
        channels = [16, 16 * width, 32 * width, 64 * width]
        layers: list[nn.Module] = [nn.Conv2d(input_shape[0], channels[0], 3, padding=1, bias=True)]
        for stage in range(3):
            for i in range(per_stage):
                c_in = channels[stage] if i == 0 else channels[stage + 1]
                stride = (1 if stage == 0 else 2) if i == 0 else 1
                layers.append(_Block(c_in, channels[stage + 1], stride, activate_shortcut=stage == 0 and i == 0))
        layers += [nn.BatchNorm2d(channels[3], momentum=BN_MOMENTUM, eps=1e-3), nn.LeakyReLU(SLOPE),
                   nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(channels[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu")
            elif isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def wrn28_2(input_shape: Sequence[int], num_classes: int, **kwargs: int) -> WideResNet:
    """WRN-28-2, the classic-CV semi-supervised backbone (about 1.5 M parameters)."""
    return WideResNet(input_shape, num_classes, **{"depth": 28, "width": 2, **kwargs})
