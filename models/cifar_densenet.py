"""DenseNet for CIFAR-10 (UvA tutorial 5, seed 001).

Four dense blocks of six bottleneck layers each (growth rate 16, bottleneck
factor 2), joined by transition layers that halve channels and resolution.
With the defaults it has 239,146 parameters.
"""

from typing import List, Sequence

import torch
from torch import nn

from cifar_common import ACT_FN_BY_NAME, init_params


class DenseLayer(nn.Module):
    """BN-act-1x1 conv (bottleneck) -> BN-act-3x3 conv; the new maps are concatenated
    in front of the input maps.

    Args:
        c_in: input channels.
        bn_size: bottleneck width as a multiple of growth_rate.
        growth_rate: channels this layer adds.
        act_fn: activation constructor, e.g. nn.ReLU.
    """

    def __init__(self, c_in: int, bn_size: int, growth_rate: int, act_fn):
        super().__init__()
        c_mid = bn_size * growth_rate
        self.net = nn.Sequential(
            nn.BatchNorm2d(c_in),
            act_fn(),
            nn.Conv2d(c_in, c_mid, kernel_size=1, bias=False),
            nn.BatchNorm2d(c_mid),
            act_fn(),
            nn.Conv2d(c_mid, growth_rate, kernel_size=3, padding=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.net(x), x], dim=1)


class DenseBlock(nn.Module):
    """num_layers DenseLayers in sequence; layer i sees c_in + i * growth_rate channels."""

    def __init__(self, c_in: int, num_layers: int, bn_size: int, growth_rate: int, act_fn):
        super().__init__()
        self.block = nn.Sequential(*[
            DenseLayer(c_in + i * growth_rate, bn_size=bn_size,
                       growth_rate=growth_rate, act_fn=act_fn)
            for i in range(num_layers)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class TransitionLayer(nn.Module):
    """BN-act-1x1 conv to c_out channels, then 2x2 average pooling."""

    def __init__(self, c_in: int, c_out: int, act_fn):
        super().__init__()
        self.transition = nn.Sequential(
            nn.BatchNorm2d(c_in),
            act_fn(),
            nn.Conv2d(c_in, c_out, kernel_size=1, bias=False),
            nn.AvgPool2d(kernel_size=2, stride=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.transition(x)


class DenseNet(nn.Module):
    """CIFAR DenseNet: 3x3 stem -> dense blocks with transitions -> BN-act-pool-linear.

    Args:
        num_classes: size of the classifier output.
        num_layers: DenseLayers in each DenseBlock.
        bn_size: bottleneck factor of every DenseLayer.
        growth_rate: channels each DenseLayer adds.
        act_fn_name: key of cifar_common.ACT_FN_BY_NAME.
    """

    def __init__(self, num_classes: int = 10, num_layers: Sequence[int] = (6, 6, 6, 6),
                 bn_size: int = 2, growth_rate: int = 16, act_fn_name: str = "relu"):
        super().__init__()
        act_fn = ACT_FN_BY_NAME[act_fn_name]
        c_hidden = growth_rate * bn_size

        # The stem has no BN/activation: every DenseLayer starts with them.
        self.input_net = nn.Sequential(nn.Conv2d(3, c_hidden, kernel_size=3, padding=1))

        blocks: List[nn.Module] = []
        for index, count in enumerate(num_layers):
            blocks.append(DenseBlock(c_hidden, num_layers=count, bn_size=bn_size,
                                     growth_rate=growth_rate, act_fn=act_fn))
            c_hidden += count * growth_rate
            if index < len(num_layers) - 1:  # no transition after the last block
                blocks.append(TransitionLayer(c_hidden, c_hidden // 2, act_fn=act_fn))
                c_hidden //= 2
        self.blocks = nn.Sequential(*blocks)

        self.output_net = nn.Sequential(
            nn.BatchNorm2d(c_hidden),
            act_fn(),
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
            nn.Linear(c_hidden, num_classes),
        )
        init_params(self, act_fn_name)


    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_net(x)
        x = self.blocks(x)
        return self.output_net(x)
