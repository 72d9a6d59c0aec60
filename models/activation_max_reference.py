"""Activation maximisation as FlashTorch 0.1.3's GradientAscent computes it, in plain PyTorch.

The eager torchvision model, loaded with the exported file's state_dict, gets a forward hook on the
layer that stores mean(output[:, filter]) as the layer returns (FlashTorch's _record_activation). Each
step runs the model, takes the gradient of that mean with respect to the input (what FlashTorch's
backward hook on the first Conv2d records), divides it by sqrt(mean(g^2)) + 1e-5 and adds lr times
it. One difference: FlashTorch draws its start, np.uint8(np.random.uniform(150, 180, (H, W, 3))),
from numpy; here (and in cnnviz) it is floor(150 + 30 * torch.rand((H, W, C), generator=g)) with
g = torch.Generator().manual_seed(seed), one draw per filter in order, then ToTensor and
Normalize(ImageNet mean, std) as FlashTorch's apply_transforms.
"""

import json
from typing import Callable, List, Sequence, Tuple

import numpy as np
import torch
import torchvision

from cam_reference import module_at

# (model, layer, filters, input size, steps, lr, seed)
ACTIVATION_MAX_CASE = ("vgg11", "features.8", (0, 5, 17), 64, 5, 1.0, 3)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def start_noise(filters: Sequence[int], size: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mean = torch.tensor(IMAGENET_MEAN).view(-1, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(-1, 1, 1)
    images = []
    for _ in filters:
        u = torch.rand((size, size, 3), generator=generator)
        x = (150 + 30 * u).floor().div(255).permute(2, 0, 1)
        images.append((x - mean) / std)
    return torch.stack(images)


def ascend(model: torch.nn.Module, layer: str, filter_idx: int, x: torch.Tensor, steps: int,
           lr: float) -> Tuple[torch.Tensor, List[float]]:
    """FlashTorch's _ascent for one filter and a [1, C, H, W] start; the objective at every step."""
    stored = {}

    def hook(_module, _inputs, output):
        stored["activation"] = torch.mean(output[:, filter_idx, :, :])

    handle = module_at(model, layer).register_forward_hook(hook)
    values = []
    try:
        for _ in range(steps):
            x = x.detach().requires_grad_(True)
            model(x)
            values.append(float(stored["activation"]))
            (g,) = torch.autograd.grad(stored["activation"], x)
            g = g / (torch.sqrt(torch.mean(torch.mul(g, g))) + 1e-5)
            x = x + g * lr
    finally:
        handle.remove()
    return x.detach(), values


def activation_max_files() -> List[str]:
    return ["references/activation_max.vgg11.script.npy", "references/activation_max.vgg11.script.json"]


def export_activation_max_references(out_dir, save_npy: Callable[[str, np.ndarray], None],
                                     save_text: Callable[[str, str], None]) -> None:
    name, layer, filters, size, steps, lr, seed = ACTIVATION_MAX_CASE
    scripted = torch.jit.load(str(out_dir / f"{name}.script.pt"))
    model = getattr(torchvision.models, name)(weights=None).eval()
    model.load_state_dict(scripted.state_dict())
    start = start_noise(filters, size, seed)
    finals, report = [], []
    for i, f in enumerate(filters):
        x, values = ascend(model, layer, f, start[i:i + 1], steps, lr)
        finals.append(x[0])
        report.append({"filter": f, "first": values[0], "last": values[-1]})
    save_npy(f"activation_max.{name}.script.npy", torch.stack(finals).numpy())
    save_text(f"activation_max.{name}.script.json",
              json.dumps({"layer": layer, "input": [1, 3, size, size], "steps": steps, "lr": lr, "seed": seed,
                          "filters": report}) + "\n")
