"""Saliency maps in plain PyTorch on the exported TorchScript files themselves.

The gradient of the raw score of one class with respect to the input, as FlashTorch 0.1.3's
Backprop.calculate_gradients(guided=False) computes it (a one-hot backward at the class; its hook on
the first Conv2d keeps exactly d score / d input), and the methods cnnviz builds on it:

- vanilla: that gradient (Simonyan et al. 2014);
- smoothgrad: its mean over `samples` copies x + N(0, sigma^2), sigma = noise * (max(x) - min(x)),
  copy s drawn as torch.randn(x.shape, generator=g) in order from g = torch.Generator().manual_seed(seed)
  (Smilkov et al. 2017); each copy is run alone here, cnnviz batches them;
- gradxinput: the gradient times the input (Shrikumar et al. 2016; Captum's InputXGradient);
- guided: guided backpropagation (Springenberg et al. 2015) as pytorch-grad-cam's
  GuidedBackpropReLUModel computes it: every torch.nn.ReLU module replaced by a function whose
  backward is grad * [input > 0] * [grad > 0];
- guided-flashtorch: FlashTorch's guided=True, whose ReLU backward hook returns
  grad.clamp(min=0) * (the ReLU's output).
The guided methods run on the eager torchvision model loaded with the file's state_dict (a TorchScript
module's ReLUs cannot be replaced from Python).

Maps: the max over channels of |g| scaled as pytorch-grad-cam scales CAMs, and FlashTorch's "max
gradients" panel, standardize_and_clip(g.max(dim=0)) (mean 0, unbiased std 1, x 0.1 + 0.5, clipped).
"""

import json
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
import torchvision

# (model, method, class; None = the top-1 class). SmoothGrad with few samples keeps the export short.
SALIENCY_CASES: Tuple[Tuple[str, str, Optional[int]], ...] = (
    ("vgg11", "vanilla", 24),
    ("vgg11", "smoothgrad", 24),
    ("vgg11", "gradxinput", None),
    ("resnet18", "vanilla", None),
    ("resnet18", "smoothgrad", 24),
    ("vgg11", "guided", 24),
    ("vgg11", "guided-flashtorch", 24),
    ("resnet18", "guided", None),
)
EAGER = {"vgg11": torchvision.models.vgg11, "resnet18": torchvision.models.resnet18}


class _GuidedReLU(torch.autograd.Function):
    """pytorch-grad-cam's GuidedBackpropReLU (times_output False) or FlashTorch's hook (True)."""

    @staticmethod
    def forward(ctx, x, times_output):
        y = x.clamp(min=0)
        ctx.save_for_backward(x, y)
        ctx.times_output = times_output
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if ctx.times_output:
            return grad.clamp(min=0) * y, None
        return grad * (x > 0).type_as(grad) * (grad > 0).type_as(grad), None


class _GuidedReLUModule(torch.nn.Module):
    def __init__(self, times_output: bool):
        super().__init__()
        self.times_output = times_output

    def forward(self, x):
        return _GuidedReLU.apply(x, self.times_output)


def guided_model(model_name: str, scripted: torch.nn.Module, times_output: bool) -> torch.nn.Module:
    """The eager model with the file's weights and every torch.nn.ReLU module made guided."""
    model = EAGER[model_name](weights=None).eval()
    model.load_state_dict(scripted.state_dict())
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.ReLU):
                setattr(parent, name, _GuidedReLUModule(times_output))
    return model
SMOOTHGRAD = {"samples": 6, "noise": 0.2, "seed": 7}


def input_gradient(model: torch.nn.Module, x: torch.Tensor, target: Optional[int]) -> Tuple[torch.Tensor, int]:
    """d model(x)[0, target] / dx for a [1, C, H, W] x, and the class used (top-1 when None)."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = model(x)
        if target is None:
            target = int(out[0].argmax())
        one_hot = torch.zeros_like(out)
        one_hot[0, target] = 1
        out.backward(gradient=one_hot)
    return x.grad.detach()[0], target


def attribution(model: torch.nn.Module, x: torch.Tensor, method: str, target: Optional[int]) -> Tuple[np.ndarray, int]:
    g, target = input_gradient(model, x, target)
    if method == "smoothgrad":
        noise = float(np.float32(SMOOTHGRAD["noise"]))  # cnnviz takes the share as float32
        sigma = noise * (float(x.max()) - float(x.min()))
        generator = torch.Generator().manual_seed(SMOOTHGRAD["seed"])
        total = torch.zeros_like(g)
        for _ in range(SMOOTHGRAD["samples"]):
            noisy = x + torch.randn(x.shape, generator=generator) * sigma
            total += input_gradient(model, noisy, target)[0]
        g = total / SMOOTHGRAD["samples"]
    elif method == "gradxinput":
        g = g * x[0]
    return g.numpy().astype(np.float32), target


def abs_max_map(g: np.ndarray) -> np.ndarray:
    m = np.abs(g).max(axis=0)
    m = m - m.min()
    return (m / (1e-7 + m.max())).astype(np.float32)


def flashtorch_max_map(g: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(g).max(dim=0)[0]
    std = t.std()
    if std == 0:
        std += 1e-7
    return (t.sub(t.mean()).div(std).mul(0.1)).add(0.5).clamp(0.0, 1.0).numpy()


def saliency_files() -> List[str]:
    names = []
    for model_name, method, target in SALIENCY_CASES:
        for variant in ("script", "trace"):
            stem = f"references/saliency.{model_name}.{variant}.{method}.{'c%d' % target if target is not None else 'top1'}"
            names += [f"{stem}.grad.npy", f"{stem}.map.npy", f"{stem}.flashtorch.npy", f"{stem}.json"]
    return names


def export_saliency_references(out_dir, x: torch.Tensor, save_npy: Callable[[str, np.ndarray], None],
                               save_text: Callable[[str, str], None]) -> None:
    for model_name, method, target in SALIENCY_CASES:
        for variant in ("script", "trace"):
            model = torch.jit.load(str(out_dir / f"{model_name}.{variant}.pt")).eval()
            if method.startswith("guided"):
                model = guided_model(model_name, model, method == "guided-flashtorch")
            g, used = attribution(model, x, method, target)
            stem = f"saliency.{model_name}.{variant}.{method}.{'c%d' % target if target is not None else 'top1'}"
            save_npy(f"{stem}.grad.npy", g)
            save_npy(f"{stem}.map.npy", abs_max_map(g))
            save_npy(f"{stem}.flashtorch.npy", flashtorch_max_map(g))
            save_text(f"{stem}.json", json.dumps({"class": used, **(SMOOTHGRAD if method == "smoothgrad" else {})}) + "\n")
