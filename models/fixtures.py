"""Tiny models used as fixtures by the C++ tests.

Each is small enough to export, load and run in milliseconds:

- TinyCNN: three conv layers and a classifier at 1x3x32x32.
- EdgeNet: one model that packs the module-graph corner cases a summary
  tool has to get right (see its docstring) at 1x3x8x8.
- TwoInputs: forward(img, vec) with an image [1,3,16,16] and a vector [1,10].
- ProbedCNN: a classifier with a detached side branch at 1x3x16x16.
- OneBlockStages: stages of one block whose block holds a Sequential at
  1x3x8x8, so a stage and its block's body own the very same parameters.
- NmsHead: a conv whose scores go through torchvision.ops.nms at 1x3x16x16,
  so its files call torchvision::nms (the detection models' case).

All of them script and trace with torch 1.13.
"""

from typing import Dict, Tuple

import torch
import torchvision
from torch import nn


class TinyCNN(nn.Module):
    """conv(3->8)-ReLU-pool, conv(8->16)-ReLU-pool, conv(16->32)-ReLU-GAP, linear(32->10)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class ScaledConv(nn.Module):
    """A conv child plus a parameter of the module's own (a per-channel gain)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1)
        self.gain = nn.Parameter(torch.ones(1, c_out, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.gain


class CountAndPool(nn.Module):
    """Returns a tuple whose first item is not a tensor: (channel count, pooled [N, C])."""

    def __init__(self):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> Tuple[int, torch.Tensor]:
        return x.size(1), torch.flatten(self.pool(x), 1)


class DictHeads(nn.Module):
    """Returns a Dict[str, Tensor] with two linear heads over the same features:
    "mean" [N, c_out] and "logvar" [N, 1]. The shapes differ on purpose, so a
    test can tell which value a tool reports."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.mean = nn.Linear(c_in, c_out)
        self.logvar = nn.Linear(c_in, 1)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"mean": self.mean(x), "logvar": self.logvar(x)}


class EdgeNet(nn.Module):
    """Corner cases of module graphs, in execution order:

    - stem: a module with a direct nn.Parameter (gain) besides its child conv;
    - shared / alias: one Conv2d instance registered under two attribute names,
      called once through each (its parameters exist once);
    - repeat: a Sequential called three times in a loop;
    - stages: a ModuleList whose children the parent calls one by one;
    - skip: nn.Identity;
    - pool: returns (int, Tensor);
    - heads: returns Dict[str, Tensor];
    - unused: a Linear that is never called.

    Input [1, 3, 8, 8], output [1, 4].
    """

    def __init__(self):
        super().__init__()
        self.stem = ScaledConv(3, 8)
        self.shared = nn.Conv2d(8, 8, kernel_size=1)
        self.alias = self.shared
        self.repeat = nn.Sequential(nn.Conv2d(8, 8, kernel_size=3, padding=1), nn.ReLU())
        self.stages = nn.ModuleList([nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2)])
        self.skip = nn.Identity()
        self.pool = CountAndPool()
        self.heads = DictHeads(8, 4)
        self.unused = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.shared(x)
        for _ in range(3):
            x = self.repeat(x)
        x = self.alias(x)
        for stage in self.stages:
            x = stage(x)
        x = self.skip(x)
        channels, pooled = self.pool(x)
        heads = self.heads(pooled)
        # Using `channels` keeps the int output of `pool` alive in both graphs.
        return heads["mean"] + heads["logvar"] / channels


class TwoInputs(nn.Module):
    """forward(img [N,3,16,16], vec [N,10]) -> [N,5]: image features and an
    embedding of the vector are concatenated and classified."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.embed = nn.Linear(10, 8)
        self.head = nn.Linear(16, 5)

    def forward(self, img: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.features(img), self.embed(vec)], dim=1))


class ProbedCNN(nn.Module):
    """A classifier with a side probe whose output never reaches the scores
    (it is detached): the "no gradient path" case of CAM tools.

    Input [1, 3, 16, 16], output [1, 3].
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, kernel_size=3, padding=1), nn.ReLU())
        self.probe = nn.Conv2d(4, 2, kernel_size=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        p = self.probe(f)
        # The probe runs and is used, but through detach(): no gradient flows back to it.
        return self.head(f.mean((2, 3))) + 0.0 * p.detach().mean()


class NmsHead(nn.Module):
    """A conv and a pool whose scores rank four fixed boxes with torchvision.ops.nms.

    Its TorchScript files call torchvision::nms, an operator that lives in
    torchvision's C++ library, not in LibTorch: the case of every detection
    model. Input [1, 3, 16, 16], output [1, 5]; 140 parameters.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, kernel_size=3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.register_buffer("boxes", torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0],
                                                    [20.0, 20.0, 30.0, 30.0], [0.0, 20.0, 10.0, 30.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.pool(self.conv(x)).flatten(1)
        keep = torchvision.ops.nms(self.boxes, f[0, :4].sigmoid(), 0.5)
        return f + 0.0 * keep.sum().to(f.dtype)


class _BodyBlock(nn.Module):
    """A block whose body is a Sequential (as in EfficientNet's MBConv and MNASNet's blocks)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.layers = nn.Sequential(nn.Conv2d(cin, cout, kernel_size=3, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class OneBlockStages(nn.Module):
    """Two stages, the first of one block: `stages.0` and `stages.0.0.layers` are both Sequentials
    holding the very same parameters without being one module shared (EfficientNet-B0's and
    MNASNet's one-block stages). Input [1, 3, 8, 8], output [1, 4, 8, 8]; 408 parameters.
    """

    def __init__(self):
        super().__init__()
        self.stages = nn.Sequential(nn.Sequential(_BodyBlock(3, 4)),
                                    nn.Sequential(_BodyBlock(4, 4), _BodyBlock(4, 4)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)
