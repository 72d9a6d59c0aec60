"""Variants of one small CNN for `cnnviz diff` and the summary manifest (--expect-file).

Every variant is an nn.Sequential of named children (so the root's class is the
same in each) at 1x3x16x16:

- diff_base: stem (conv 3->8, ReLU), body (conv 8->16, ReLU), block (conv 16->16,
  ReLU), pool (global average), flatten, head (linear 16->10).
- diff_wide: body's conv widened to 24 channels (block's conv then takes 24).
- diff_removed: diff_base without `block`.
- diff_renamed: diff_base with `block` registered as `stage`: the same structure,
  and, built after the same seed in the same order, the same weights.

All of them script and trace with torch 1.13.
"""

from collections import OrderedDict

from torch import nn


def _conv_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.ReLU())


def diff_net(width: int = 16, block_name: str = "block", with_block: bool = True) -> nn.Sequential:
    children = [("stem", _conv_relu(3, 8)), ("body", _conv_relu(8, width))]
    if with_block:
        children.append((block_name, _conv_relu(width, 16)))
    children += [("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()),
                 ("head", nn.Linear(16 if with_block else width, 10))]
    return nn.Sequential(OrderedDict(children))


def diff_base() -> nn.Sequential:
    return diff_net()


def diff_wide() -> nn.Sequential:
    return diff_net(width=24)


def diff_removed() -> nn.Sequential:
    return diff_net(with_block=False)


def diff_renamed() -> nn.Sequential:
    return diff_net(block_name="stage")
