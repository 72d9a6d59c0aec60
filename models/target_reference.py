"""CAMs of transformers and segmentation models, as pytorch-grad-cam 1.5 computes them with its
targets (utils/model_targets.py) and reshape transforms (its ViT and Swin tutorials).

pytorch-grad-cam's ActivationsAndGradients applies reshape_transform to the layer's output in a
forward hook and to its gradient in a tensor hook; BaseCAM.forward back-propagates
sum(target(output) for each image). The targets, on one image's output:

- ClassifierOutputTarget(c):        output[c]
- ClassifierOutputSoftmaxTarget(c): softmax(output, -1)[c]
- SemanticSegmentationTarget(c, m): (output[c, :, :] * m).sum(), the model wrapped to return
  output["out"] (its segmentation tutorial's SegmentationModelOutputWrapper), m the pixels whose
  arg-max is c unless given.
- output:I (cnnviz's name) is ClassifierOutputTarget(I) on a model with a few outputs.

The reshape transforms: ViT tokens [N, 1 + h*w, D] -> tensor[:, 1:, :].reshape(N, h, w, D)
.transpose(2, 3).transpose(1, 2); channels-last [N, h, w, C] (torchvision's Swin) -> permute(0, 3,
1, 2). Everything after that is cam_reference.cam_map, checked against pytorch-grad-cam's own
output (cam_reference.py's docstring).

Writes <out>/references/targets/: one input .npy per image size, one map .npy per case, and
cases.json, which the C++ test walks: for each CAM case the model, the layer, the --reshape and
--target texts cnnviz is given, the class the reference resolved and the map files; for each
saliency case the model, the target, the class and the input gradient PyTorch computed.
"""

import io
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision import transforms as T

from cam_reference import cam_map, module_at

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# (model, layer, --reshape as cnnviz is told, the reference's reshape transform, --target as cnnviz
# is told, methods, image size). A target without an index is resolved as pytorch-grad-cam's users
# resolve it: the top-1 class; seg:auto, the arg-max class covering most pixels other than 0 (the
# background); seg:MASK, the given mask (mask.png) for the class with the highest mean logit other than 0.
CASES = (
    ("tiny_vit", "encoder.layers.encoder_layer_1.ln_1", "auto", "vit", "class", ("gradcam", "layercam", "eigencam"), 32),
    ("tiny_vit", "encoder.layers.encoder_layer_1.ln_1", "vit", "vit", "softmax:3", ("gradcam", "gradcam++"), 32),
    ("tiny_vit", "encoder.layers.encoder_layer_0.ln_1", "4x4", "grid:4x4", "output:7", ("hirescam",), 32),
    ("vit_b_16", "encoder.layers.encoder_layer_11.ln_1", "auto", "vit", "class:24", ("gradcam",), 224),
    ("swin_t", "norm", "auto", "swin", "class:24", ("gradcam", "xgradcam"), 224),
    ("swin_t", "features.7.1.norm1", "swin", "swin", "class", ("gradcam",), 224),
    ("deeplabv3_mobilenet_v3_large", "backbone.16", "auto", "none", "seg:auto", ("gradcam", "gradcamelementwise"), 224),
    ("lraspp_mobilenet_v3_large", "backbone.16", "none", "none", "seg:MASK", ("gradcam",), 224),
    ("fcn_resnet50", "backbone.layer4", "auto", "none", "seg:auto", ("gradcam",), 224),
    # MaxViT-T's last stage ([1, 512, 7, 7] after its grid attention), and seed 003's U-Net, whose
    # output [1, 2, 388, 388] is smaller than its gray 572 x 572 input (unpadded convolutions).
    ("maxvit_t", "blocks.3", "auto", "none", "class:24", ("gradcam", "eigencam"), 224),
    ("unet", "relu9_2", "auto", "none", "seg:MASK", ("gradcam", "hirescam"), 572),
)
# Models that take one gray channel in [0, 1] (PIL's convert("L"), ToTensor, no normalisation).
GRAY_MODELS = ("unet",)
# Saliency with a target (cnnviz saliency --target): the plain gradient of the target's score with
# respect to the input, by PyTorch's autograd on the eager model. (model, --target, image size).
SALIENCY_CASES = (
    ("tiny_vit", "softmax:3", 32),
    ("deeplabv3_mobilenet_v3_large", "seg:auto", 224),
)
MODELS = tuple(dict.fromkeys(case[0] for case in CASES))


def case_files() -> List[str]:
    return ["references/targets/cases.json", "references/targets/mask.png"]


def draw_mask(width: int, height: int) -> Image.Image:
    """A given segmentation mask: a disc left of centre (non-zero inside)."""
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).ellipse((width * 0.15, height * 0.25, width * 0.55, height * 0.75), fill=255)
    return mask


def capture(model: Callable[[torch.Tensor], Any], layer: torch.nn.Module, x: torch.Tensor,
            target: Callable[[torch.Tensor], torch.Tensor], reshape: Callable[[torch.Tensor], torch.Tensor]):
    """pytorch-grad-cam's ActivationsAndGradients and BaseCAM.forward for one image and one layer."""
    store: Dict[str, torch.Tensor] = {}

    def hook(_module, _inputs, output):
        store["a"] = reshape(output.detach().clone())

        def grad_hook(grad):
            store["g"] = reshape(grad.detach().clone())
        output.register_hook(grad_hook)

    handle = layer.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            outputs = model(x)
            loss = sum(target(output) for output in outputs)
            loss.backward()
    finally:
        handle.remove()
    return store["a"].numpy().astype(np.float32), store["g"].numpy().astype(np.float32), outputs.detach()


def vit_reshape(t: torch.Tensor) -> torch.Tensor:
    side = int(round((t.size(1) - 1) ** 0.5))
    return t[:, 1:, :].reshape(t.size(0), side, side, t.size(2)).transpose(2, 3).transpose(1, 2)


def grid_reshape(rows: int, cols: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def reshape(t: torch.Tensor) -> torch.Tensor:
        return t[:, t.size(1) - rows * cols:, :].reshape(t.size(0), rows, cols, t.size(2)).transpose(2, 3).transpose(1, 2)
    return reshape


def channels_last(t: torch.Tensor) -> torch.Tensor:
    return t.permute(0, 3, 1, 2)


def export_target_references(out_dir: Path, build: Callable[[str], torch.nn.Module],
                             write_bytes: Callable[[Path, bytes], None]) -> None:
    ref = out_dir / "references" / "targets"
    ref.mkdir(parents=True, exist_ok=True)

    def save_npy(name: str, array: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array))
        write_bytes(ref / name, buffer.getvalue())

    photo = Image.open(out_dir / "references" / "photo.png").convert("RGB")
    inputs: Dict[int, torch.Tensor] = {}
    for size in sorted({case[6] for case in CASES if case[0] not in GRAY_MODELS}):
        transform = T.Compose([T.Resize((size, size)), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
        inputs[size] = transform(photo).unsqueeze(0)
        save_npy(input_name(size, False), inputs[size].numpy())
    for size in sorted({case[6] for case in CASES if case[0] in GRAY_MODELS}):
        inputs[-size] = T.Compose([T.Resize((size, size)), T.ToTensor()])(photo.convert("L")).unsqueeze(0)
        save_npy(input_name(size, True), inputs[-size].numpy())
    mask_buffer = io.BytesIO()
    draw_mask(224, 224).save(mask_buffer, format="PNG")
    write_bytes(ref / "mask.png", mask_buffer.getvalue())
    given_mask = torch.from_numpy((np.asarray(draw_mask(224, 224)) != 0).astype(np.float32))

    # One thread, as the C++ test runs them: a parallel reduction sums in another order, and an
    # element-wise map of 960 channels moves by up to 1e-3 between 1 and 2 threads (measured on eager
    # DeepLabV3's backbone.16 with GradCAMElementWise).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _export_cases(out_dir, build, inputs, given_mask, save_npy, write_bytes, ref)
    finally:
        torch.set_num_threads(threads)


def input_name(size: int, gray: bool) -> str:
    return f"input{size}{'gray' if gray else ''}.npy"


def _export_cases(out_dir: Path, build, inputs, given_mask, save_npy, write_bytes, ref) -> None:
    models: Dict[str, torch.nn.Module] = {}
    cases: List[Dict[str, Any]] = []
    for number, (name, layer, reshape_text, reference_reshape, target_text, methods, size) in enumerate(CASES):
        if name not in models:
            models[name] = build(name)
            scripted = torch.jit.load(str(out_dir / f"{name}.script.pt"))
            with torch.no_grad():
                x = inputs[-size if name in GRAY_MODELS else size]
                got, want = scripted(x), models[name](x)
                got = got["out"] if isinstance(got, dict) else got
                want = want["out"] if isinstance(want, dict) else want
                if not torch.allclose(got, want, rtol=1e-5, atol=1e-5):
                    raise RuntimeError(f"{name}.script.pt: output differs from the eager model's")
        model = models[name]
        gray = name in GRAY_MODELS
        x = inputs[-size if gray else size]
        segmentation = target_text.startswith("seg")
        # A dict output is read at "out" (pytorch-grad-cam's SegmentationModelOutputWrapper).
        forward = (lambda t, m=model: (lambda o: o["out"] if isinstance(o, dict) else o)(m(t))) if segmentation else model
        with torch.no_grad():
            output = forward(x)[0]
        kind, _, rest = target_text.partition(":")
        if segmentation:
            if rest == "auto":
                counts = torch.bincount(output.argmax(0).flatten(), minlength=output.size(0))
                counts[0] = 0
                index = int(counts.argmax())
                mask = (output.argmax(0) == index).float()
                cnnviz_target = "seg:auto"
            elif rest.isdigit():  # seg:K, the pixels where K is the arg-max
                index = int(rest)
                mask = (output.argmax(0) == index).float()
                cnnviz_target = target_text
            else:  # the given mask: cnnviz reads the PNG
                index = int(output.mean((1, 2))[1:].argmax()) + 1
                # Resized to the output (nearest), as cnnviz reads the PNG: U-Net's is 388 x 388.
                mask = torch.nn.functional.interpolate(given_mask[None, None], size=tuple(output.shape[-2:]), mode="nearest")[0, 0]
                cnnviz_target = f"seg:{index}:MASK"
            target = lambda out, c=index, m=mask: (out[c, :, :] * m).sum()
        elif kind in ("class", "output"):
            index = int(rest) if rest else int(output.argmax())
            target = lambda out, c=index: out[c]
            cnnviz_target = target_text
        elif kind == "softmax":
            index = int(rest)
            target = lambda out, c=index: torch.softmax(out, dim=-1)[c]
            cnnviz_target = target_text
        else:
            raise ValueError(target_text)
        if reference_reshape == "vit":
            reshape = vit_reshape
        elif reference_reshape.startswith("grid:"):
            reshape = grid_reshape(*map(int, reference_reshape[5:].split("x")))
        elif reference_reshape == "swin":
            reshape = channels_last
        else:
            reshape = lambda t: t
        activations, grads, _ = capture(forward, module_at(model, layer), x, target, reshape)
        files = []
        for method in methods:
            file_name = f"case{number}.{method}.npy"
            save_npy(file_name, cam_map(method, activations, grads, (size, size))[0])
            files.append({"method": method, "map": file_name})
        cases.append({"model": name, "layer": layer, "reshape": reshape_text, "target": cnnviz_target,
                      "index": index, "input": input_name(size, gray), "maps": files,
                      "layer_shape": list(activations.shape)})
    saliency: List[Dict[str, Any]] = []
    for number, (name, target_text, size) in enumerate(SALIENCY_CASES):
        model = models[name]
        segmentation = target_text.startswith("seg")
        forward = (lambda t, m=model: m(t)["out"]) if segmentation else model
        x = inputs[size].clone().requires_grad_(True)
        with torch.enable_grad():
            output = forward(x)[0]
            kind, _, rest = target_text.partition(":")
            if segmentation:
                counts = torch.bincount(output.detach().argmax(0).flatten(), minlength=output.size(0))
                counts[0] = 0
                index = int(counts.argmax())
                score = (output[index] * (output.detach().argmax(0) == index).float()).sum()
            else:
                index = int(rest)
                score = torch.softmax(output, dim=-1)[index]
            score.backward()
        file_name = f"saliency{number}.gradient.npy"
        save_npy(file_name, x.grad[0].numpy().astype(np.float32))
        saliency.append({"model": name, "target": target_text, "index": index, "input": f"input{size}.npy", "gradient": file_name})
    write_bytes(ref / "cases.json", (json.dumps({"cam": cases, "saliency": saliency}, indent=1) + "\n").encode())
