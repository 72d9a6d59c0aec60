"""GoogleNet (Inception v1 style) scaled down for CIFAR-10.

Architecture from the UvA deep-learning course, tutorial 5 ("Inception, ResNet
and DenseNet"), as retold in shared/seeds/001: a 3x3 stem, nine Inception
blocks in three resolution stages (32x32, 16x16, 8x8) and a global-average-pool
classifier. With ReLU and 10 classes it has exactly 260,650 parameters.

Submodule attribute names (input_net, inception_blocks, output_net, conv_1x1,
conv_3x3, conv_5x5, max_pool) follow the tutorial so that summaries line up
with it.
"""

from typing import Callable, Dict

import torch
from torch import nn

from cifar_common import ACT_FN_BY_NAME, init_params


def _conv_bn_act(c_in: int, c_out: int, kernel_size: int,
                 act_fn: Callable[[], nn.Module]) -> nn.Sequential:
    """Conv (same padding) -> BatchNorm -> activation, the unit every branch uses."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=kernel_size, padding=kernel_size // 2),
        nn.BatchNorm2d(c_out),
        act_fn(),
    )


class InceptionBlock(nn.Module):
    """Four parallel branches (1x1, 1x1->3x3, 1x1->5x5, maxpool->1x1) concatenated on channels.

    Args:
        c_in: input channels.
        c_red: 1x1 reduction widths before the big convolutions, keys "3x3" and "5x5".
        c_out: output widths of the branches, keys "1x1", "3x3", "5x5" and "max".
        act_fn: activation constructor, e.g. nn.ReLU.
    """

    def __init__(self, c_in: int, c_red: Dict[str, int], c_out: Dict[str, int],
                 act_fn: Callable[[], nn.Module]):
        super().__init__()
        self.conv_1x1 = _conv_bn_act(c_in, c_out["1x1"], 1, act_fn)
        # Each Sequential is flat (six layers), matching the tutorial's module tree.
        self.conv_3x3 = nn.Sequential(
            *_conv_bn_act(c_in, c_red["3x3"], 1, act_fn),
            *_conv_bn_act(c_red["3x3"], c_out["3x3"], 3, act_fn),
        )
        self.conv_5x5 = nn.Sequential(
            *_conv_bn_act(c_in, c_red["5x5"], 1, act_fn),
            *_conv_bn_act(c_red["5x5"], c_out["5x5"], 5, act_fn),
        )
        self.max_pool = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, padding=1, stride=1),
            *_conv_bn_act(c_in, c_out["max"], 1, act_fn),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.conv_1x1(x), self.conv_3x3(x), self.conv_5x5(x), self.max_pool(x)]
        return torch.cat(branches, dim=1)


# (c_in, c_red, c_out) of each Inception block; "pool" marks a 2x downsampling
# max-pool between stages. This is the tutorial's original configuration.
_RED_A = {"3x3": 32, "5x5": 16}
_RED_B = {"3x3": 48, "5x5": 16}
GOOGLENET_LAYOUT = [
    (64, _RED_A, {"1x1": 16, "3x3": 32, "5x5": 8, "max": 8}),
    (64, _RED_A, {"1x1": 24, "3x3": 48, "5x5": 12, "max": 12}),
    "pool",  # 32x32 -> 16x16
    (96, _RED_A, {"1x1": 24, "3x3": 48, "5x5": 12, "max": 12}),
    (96, _RED_A, {"1x1": 16, "3x3": 48, "5x5": 16, "max": 16}),
    (96, _RED_A, {"1x1": 16, "3x3": 48, "5x5": 16, "max": 16}),
    (96, _RED_A, {"1x1": 32, "3x3": 48, "5x5": 24, "max": 24}),
    "pool",  # 16x16 -> 8x8
    (128, _RED_B, {"1x1": 32, "3x3": 64, "5x5": 16, "max": 16}),
    (128, _RED_B, {"1x1": 32, "3x3": 64, "5x5": 16, "max": 16}),
]


class GoogleNet(nn.Module):
    """CIFAR GoogleNet: stem -> Inception stages -> global average pool -> linear."""

    def __init__(self, num_classes: int = 10, act_fn_name: str = "relu"):
        super().__init__()
        act_fn = ACT_FN_BY_NAME[act_fn_name]

        # A first 3x3 convolution lifts the 3 colour channels to 64 features.
        self.input_net = _conv_bn_act(3, 64, 3, act_fn)

        blocks = []
        for entry in GOOGLENET_LAYOUT:
            if entry == "pool":
                blocks.append(nn.MaxPool2d(3, stride=2, padding=1))
            else:
                c_in, c_red, c_out = entry
                blocks.append(InceptionBlock(c_in, c_red=c_red, c_out=c_out, act_fn=act_fn))
        self.inception_blocks = nn.Sequential(*blocks)

        self.output_net = nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
            nn.Linear(128, num_classes),
        )
        init_params(self, act_fn_name)


    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_net(x)
        x = self.inception_blocks(x)
        return self.output_net(x)
