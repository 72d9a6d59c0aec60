"""ResNet and pre-activation ResNet for CIFAR-10 (UvA tutorial 5, seed 001).

Three groups of residual blocks with 16, 32 and 64 channels on 32x32, 16x16
and 8x8 feature maps; the first block of the second and third group halves
the resolution. With num_blocks=[3, 3, 3] the plain variant has 272,378
parameters and the pre-activation variant 272,250.
"""

from typing import List, Optional, Sequence

import torch
from torch import nn

from cifar_common import ACT_FN_BY_NAME, init_params


class ResNetBlock(nn.Module):
    """Original residual block: act(F(x) + x), F = conv-BN-act-conv-BN.

    Args:
        c_in: input channels.
        act_fn: activation constructor, e.g. nn.ReLU.
        subsample: if True the block halves height and width with stride 2 and
            projects the shortcut with a strided 1x1 convolution.
        c_out: output channels; only used when subsample is True, otherwise
            the block keeps c_in channels.
    """

    def __init__(self, c_in: int, act_fn, subsample: bool = False, c_out: int = -1):
        super().__init__()
        if not subsample:
            c_out = c_in
        stride = 2 if subsample else 1

        # BatchNorm follows each conv, so the convs need no bias. (The seed's
        # copy of this block lost the final BatchNorm; the tutorial has it, and
        # the 272,378-parameter total needs it.)
        self.net = nn.Sequential(
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, stride=stride, bias=False),
            nn.BatchNorm2d(c_out),
            act_fn(),
            nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        # The shortcut projection keeps its bias, as in the tutorial.
        self.downsample: Optional[nn.Module] = (
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=2) if subsample else None)
        self.act_fn = act_fn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.net(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return self.act_fn(z + x)


class PreActResNetBlock(nn.Module):
    """Pre-activation residual block: F(x) + x, F = BN-act-conv-BN-act-conv.

    Nothing is applied after the addition, so the identity path stays clean.
    Arguments as for ResNetBlock; the shortcut projection is BN-act-1x1 conv.
    """

    def __init__(self, c_in: int, act_fn, subsample: bool = False, c_out: int = -1):
        super().__init__()
        if not subsample:
            c_out = c_in
        stride = 2 if subsample else 1

        self.net = nn.Sequential(
            nn.BatchNorm2d(c_in),
            act_fn(),
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, stride=stride, bias=False),
            nn.BatchNorm2d(c_out),
            act_fn(),
            nn.Conv2d(c_out, c_out, kernel_size=3, padding=1, bias=False),
        )
        self.downsample: Optional[nn.Module] = nn.Sequential(
            nn.BatchNorm2d(c_in),
            act_fn(),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=2, bias=False),
        ) if subsample else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.net(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return z + x


RESNET_BLOCKS_BY_NAME = {
    "ResNetBlock": ResNetBlock,
    "PreActResNetBlock": PreActResNetBlock,
}


class ResNet(nn.Module):
    """CIFAR ResNet: stem -> groups of residual blocks -> global average pool -> linear.

    Args:
        num_classes: size of the classifier output.
        num_blocks: blocks per group; the first block of every group but the
            first subsamples.
        c_hidden: channels of each group.
        act_fn_name: key of cifar_common.ACT_FN_BY_NAME.
        block_name: key of RESNET_BLOCKS_BY_NAME.
    """

    def __init__(self, num_classes: int = 10, num_blocks: Sequence[int] = (3, 3, 3),
                 c_hidden: Sequence[int] = (16, 32, 64), act_fn_name: str = "relu",
                 block_name: str = "ResNetBlock"):
        super().__init__()
        if block_name not in RESNET_BLOCKS_BY_NAME:
            raise ValueError(f"unknown block {block_name!r}")
        act_fn = ACT_FN_BY_NAME[act_fn_name]
        block_class = RESNET_BLOCKS_BY_NAME[block_name]

        # Stem. Pre-activation blocks start with BN + activation themselves, so
        # their stem is a bare convolution.
        stem: List[nn.Module] = [
            nn.Conv2d(3, c_hidden[0], kernel_size=3, padding=1, bias=False)]
        if block_class is not PreActResNetBlock:
            stem += [nn.BatchNorm2d(c_hidden[0]), act_fn()]
        self.input_net = nn.Sequential(*stem)

        blocks: List[nn.Module] = []
        for group, count in enumerate(num_blocks):
            for index in range(count):
                subsample = index == 0 and group > 0
                blocks.append(block_class(
                    c_in=c_hidden[group - 1] if subsample else c_hidden[group],
                    act_fn=act_fn,
                    subsample=subsample,
                    c_out=c_hidden[group]))
        self.blocks = nn.Sequential(*blocks)

        self.output_net = nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
            nn.Linear(c_hidden[-1], num_classes),
        )
        init_params(self, act_fn_name, mode="fan_out")


    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_net(x)
        x = self.blocks(x)
        return self.output_net(x)
