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
  gives the top-1 class of the cases without a fixed class.

The CAM functions (capture_cam_inputs, raw_cam, cam_map) are shared with shapes.py.
"""

import io
import json
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image, ImageDraw, ImageFilter
from torchvision import transforms as T

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


def module_at(model: torch.nn.Module, path: str) -> torch.nn.Module:
    for part in path.split("."):
        model = getattr(model, part)
    return model


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
