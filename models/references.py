"""Reference outputs for cnnviz's image tests, computed by PyTorch and torchvision themselves.

Writes <out>/references/:

- photo.png (320x240 RGB), photo.jpg (the same, JPEG quality 90), gray.png (200x150 L): test images,
  drawn with a fixed seed (smooth colour fields, shapes and noise, so resizing is exercised);
- <image>.<pipeline>.npy: the [1, C, H, W] float32 tensor torchvision's PIL pipeline makes of it
  (see PIPELINES), the reference for cnnviz's preprocessing;
- <model>.<variant>.<layer>.npy: the output of one module of the exported TorchScript file for the
  photo.direct_bilinear input, captured by a forward hook that clones it, on the eager model loaded
  with the file's state_dict; the reference for cnnviz's feature maps;
- <model>.<variant>.<layer>.weight.npy: that module's weight as stored in the file;
- cam.<model>.<variant>.<layer>.<method>.c<class>.npy (or .top1.npy): the [224, 224] float32 class
  activation map of the photo.direct_bilinear input for each method in CAM_METHODS and each case in
  CAM_CASES, computed as pytorch-grad-cam 1.5 does (see cam_map) from the layer's output and the
  gradient of the raw logit with respect to that output; cam.<model>.<variant>.<layer>.top1.json
  gives the top-1 class of the cases without a fixed class;
- saliency.<model>.<variant>.<method>.<class>.{grad,map,flashtorch}.npy and .json: saliency_reference.py's
  gradients and maps of the same input, computed on the TorchScript file itself;
- activation_max.vgg11.script.npy and .json: FlashTorch's gradient ascent on vgg11's features.8
  (activation_max_reference.py), the optimised inputs and each filter's first and last objective.

The CAM functions (capture_cam_inputs, raw_cam, cam_map) are shared with shapes.py.
"""

import io
import json
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
import torchvision
from PIL import Image, ImageDraw, ImageFilter
from torchvision import transforms as T

from cam_reference import CAM_METHODS, cam_map, capture_cam_inputs, module_at, score_cam_map
from saliency_reference import export_saliency_references, saliency_files
from activation_max_reference import activation_max_files, export_activation_max_references

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def draw_photo(width: int, height: int, seed: int) -> Image.Image:
    """A deterministic 'photo': blurred colour noise, a few shapes, fine noise on top."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (height // 8, width // 8, 3), dtype=np.uint8))
    image = base.resize((width, height), Image.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.3, height * 0.2, width * 0.7, height * 0.8), fill=(230, 40, 40))
    draw.rectangle((10, 10, 60, 90), fill=(20, 200, 60))
    draw.line((0, height - 1, width - 1, 0), fill=(250, 250, 250), width=3)
    noise = rng.integers(-12, 13, (height, width, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.int64) + noise, 0, 255).astype(np.uint8))


def to_tensor(transform: Callable[[Image.Image], torch.Tensor], image: Image.Image) -> np.ndarray:
    return transform(image).unsqueeze(0).numpy().astype(np.float32)


# name -> (mode the image is converted to, transform). All are torchvision's PIL path.
PIPELINES: Dict[str, Tuple[str, Callable[[Image.Image], torch.Tensor]]] = {
    "direct_bilinear": ("RGB", T.Compose([T.Resize((224, 224)), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])),
    "direct_nearest": ("RGB", T.Compose([T.Resize((224, 224), T.InterpolationMode.NEAREST), T.ToTensor(),
                                         T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])),
    # The seed's recipe: PIL's own Image.resize, whose default filter is bicubic.
    "direct_bicubic": ("RGB", T.Compose([lambda im: im.resize((224, 224)), T.ToTensor(),
                                         T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])),
    "resize256_crop224": ("RGB", T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                                            T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])),
    "upscale_400x300": ("RGB", T.Compose([T.Resize((300, 400)), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])),
    "gray32_raw": ("L", T.Compose([T.Resize((32, 32)), T.ToTensor()])),
    "rgb64": ("RGB", T.Compose([T.Resize((64, 64)), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])),
}

# (model, layer, torchvision constructor): module outputs and weights to record.
LAYERS = (
    ("vgg16", "features.0", torchvision.models.vgg16),   # the seed's feature maps (a ReLU(inplace) follows)
    ("vgg11", "features.3", torchvision.models.vgg11),   # the seed's kernels
    ("resnet18", "layer1.0.bn1", torchvision.models.resnet18),  # modified in place by the ReLU after it
)


# (model, layer, class; None = the top-1 class). features.18 of VGG11 is a Conv2d followed by
# ReLU(inplace=True): its map uses the conv's own (pre-ReLU) output and d(score)/d(that output).
CAM_CASES: Tuple[Tuple[str, str, Optional[int]], ...] = (
    ("vgg11", "features.20", 24),
    ("vgg11", "features.18", 24),
    ("resnet18", "layer4", 24),
    ("resnet18", "layer3.1", None),
)

# ScoreCAM runs one forward per channel (512 here), so one case, on the scripted file only.
SCORE_CAM_CASE = ("resnet18", "layer4", 24)

TORCHVISION_MODELS: Dict[str, Callable[..., torch.nn.Module]] = {
    "vgg11": torchvision.models.vgg11,
    "vgg16": torchvision.models.vgg16,
    "resnet18": torchvision.models.resnet18,
}


def cam_files() -> List[str]:
    """The cam.* files export_cam_references writes, relative to the output directory."""
    names = []
    for model_name, layer, target in CAM_CASES:
        for variant in ("script", "trace"):
            stem = f"references/cam.{model_name}.{variant}.{layer}"
            suffix = f"c{target}" if target is not None else "top1"
            names += [f"{stem}.{method}.{suffix}.npy" for method in CAM_METHODS]
            if target is None:
                names.append(f"{stem}.top1.json")
    names.append(f"references/cam.{SCORE_CAM_CASE[0]}.script.{SCORE_CAM_CASE[1]}.scorecam.c{SCORE_CAM_CASE[2]}.npy")
    return names


def export_cam_references(out_dir: Path, x: torch.Tensor,
                          save_npy: Callable[[str, np.ndarray], None],
                          save_text: Callable[[str, str], None]) -> None:
    """cam.* for every CAM_CASES entry, computed per file (script and trace) on the eager
    torchvision model loaded with that file's state_dict, after checking that the file itself
    gives the eager model's logits; script and trace must give the very same maps."""
    size = (x.shape[-1], x.shape[-2])  # (width, height), as cv2.resize takes it
    for model_name in dict.fromkeys(case[0] for case in CAM_CASES):
        # One forward/backward pass per target class, capturing all its layers at once.
        passes: Dict[Optional[int], List[str]] = {}
        for name, layer, target in CAM_CASES:
            if name == model_name:
                passes.setdefault(target, []).append(layer)
        maps: Dict[str, Dict[str, np.ndarray]] = {}
        for variant in ("script", "trace"):
            loaded = torch.jit.load(str(out_dir / f"{model_name}.{variant}.pt"))
            model = TORCHVISION_MODELS[model_name](weights=None).eval()
            model.load_state_dict(loaded.state_dict())
            with torch.no_grad():
                if not torch.equal(loaded(x), model(x)):
                    raise RuntimeError(f"{model_name}.{variant}.pt: logits differ from the eager model's")
            del loaded
            for target, layers in passes.items():
                captured, used = capture_cam_inputs(model, layers, x, target)
                suffix = f"c{target}" if target is not None else "top1"
                for layer in layers:
                    stem = f"cam.{model_name}.{variant}.{layer}"
                    if target is None:
                        save_text(f"{stem}.top1.json", json.dumps({"top1": used}) + "\n")
                    for method in CAM_METHODS:
                        result = cam_map(method, *captured[layer], size)[0]
                        key = f"{layer}.{method}.{suffix}"
                        maps.setdefault(variant, {})[key] = result
                        if variant == "trace" and not np.array_equal(result, maps["script"][key]):
                            raise RuntimeError(f"{model_name} {key}: the script and trace maps differ")
                        save_npy(f"{stem}.{method}.{suffix}.npy", result)
            if variant == "script" and model_name == SCORE_CAM_CASE[0]:
                name, layer, target = SCORE_CAM_CASE
                captured, _ = capture_cam_inputs(model, [layer], x, target)
                save_npy(f"cam.{name}.script.{layer}.scorecam.c{target}.npy",
                         score_cam_map(model, captured[layer][0], x, target, size)[0])


def export_references(out_dir: Path, write_bytes: Callable[[Path, bytes], None]) -> None:
    ref = out_dir / "references"
    ref.mkdir(parents=True, exist_ok=True)

    def save_npy(name: str, array: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(array))
        write_bytes(ref / name, buffer.getvalue())

    def save_image(name: str, image: Image.Image, **kwargs) -> None:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG" if name.endswith(".png") else "JPEG", **kwargs)
        write_bytes(ref / name, buffer.getvalue())

    photo = draw_photo(320, 240, seed=1)
    gray = draw_photo(200, 150, seed=2).convert("L")
    save_image("photo.png", photo)
    save_image("photo.jpg", photo, quality=90)
    save_image("gray.png", gray)

    # Re-open the written files, as a user's pipeline would.
    images = {name: Image.open(ref / name) for name in ("photo.png", "photo.jpg", "gray.png")}
    for image_name, image in images.items():
        for pipeline, (mode, transform) in PIPELINES.items():
            save_npy(f"{image_name}.{pipeline}.npy", to_tensor(transform, image.convert(mode)))

    x = torch.from_numpy(np.load(ref / "photo.png.direct_bilinear.npy"))
    for model_name, layer, build in LAYERS:
        for variant in ("script", "trace"):
            scripted = torch.jit.load(str(out_dir / f"{model_name}.{variant}.pt"))
            eager = build(weights=None).eval()
            eager.load_state_dict(scripted.state_dict())
            module = module_at(eager, layer)
            captured = {}

            def hook(_module, _inputs, output, captured=captured):
                # A forward hook that returned a value would replace the module's output.
                captured["out"] = output.detach().clone()

            handle = module.register_forward_hook(hook)
            with torch.no_grad():
                eager(x)
            handle.remove()
            save_npy(f"{model_name}.{variant}.{layer}.npy", captured["out"].numpy())
            save_npy(f"{model_name}.{variant}.{layer}.weight.npy",
                     module_at(scripted, layer).weight.detach().numpy())

    def save_text(name: str, text: str) -> None:
        write_bytes(ref / name, text.encode())

    export_cam_references(out_dir, x, save_npy, save_text)
    export_saliency_references(out_dir, x, save_npy, save_text)
    export_activation_max_references(out_dir, save_npy, save_text)
