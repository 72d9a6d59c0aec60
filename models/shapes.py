"""shapes_cnn: a small CNN trained here on synthetic shapes, the pointing-game proof for cnnviz's CAMs.

Each 64x64 RGB image holds one filled shape (circle, square, triangle or cross; CLASSES) of 14-24 px,
in a random colour that stands out from the background under it, at a random place fully inside the
image, on a cluttered background (smooth colour noise, a few thin random lines, pixel noise). The label
is the shape's class, and its bounding box [x0, y0, x1, y1] (inclusive pixel bounds of the shape's own
pixels) says where a class activation map should point. Everything is drawn from numpy Generators with
fixed seeds (TRAIN_SEED, HELD_OUT_SEED, TEST_SEED), and training is deterministic: torch.manual_seed,
torch.use_deterministic_algorithms(True), one intra-op thread.

Input: [1, 3, 64, 64], the image as torchvision's ToTensor() + Normalize(IMAGENET_MEAN, IMAGENET_STD)
makes it (u8 / 255, then ImageNet mean/std), the same preprocessing as cnnviz's defaults.

export_models.py (kind "shapes") trains the model, exports it like any other model and then calls
export_test_set(), which writes <out>/shapes/:

- test_000.png ... test_049.png: the held-out test images (TEST_SEED);
- test.json: classes, preprocessing, and per image its file, label, class and box;
- pointing.json: what plain-PyTorch CAMs (cam_reference.py, as pytorch-grad-cam 1.5) on the exported
  files make of the test images: per layer of POINTING_LAYERS and method, the argmax of the 64x64
  map (first in row-major order), whether it falls inside the box (exactly, and with TOLERANCE_PX)
  and the hit rates; plus the model's accuracy on HELD_OUT_COUNT further held-out images;
- cam.<layer>.<method>.npy: [50, 64, 64] float32, those maps for the first POINTING_LAYERS entry,
  with the true label as target.
"""

import io
import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch import nn

from cam_reference import CAM_METHODS, cam_map, capture_cam_inputs

IMAGE_SIZE = 64
CLASSES = ("circle", "square", "triangle", "cross")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

TRAIN_SEED, HELD_OUT_SEED, TEST_SEED = 1, 2, 3
TRAIN_COUNT = 6000
HELD_OUT_COUNT = 1000
TEST_COUNT = 50
EPOCHS = 5
BATCH_SIZE = 64
LEARNING_RATE = 3e-3

# Target layers of the pointing game: the last conv block's output (its ReLU; what
# pytorch-grad-cam's README picks for VGG-style nets, features[-1]) and the last Conv2d itself.
POINTING_LAYERS = ("features.13", "features.11")
TOLERANCE_PX = 2


class ShapesCNN(nn.Module):
    """conv-BN-ReLU-pool x2 (64 -> 16 px), conv-BN-ReLU x2 at 16x16, global average pool, linear.

    VGG-style names: features.0 ... features.13 (features.11 is the last Conv2d, features.13 the
    last ReLU, output [1, 32, 16, 16]), avgpool, classifier.
    """

    def __init__(self, num_classes: int = len(CLASSES)):
        super().__init__()

        def block(c_in: int, c_out: int) -> List[nn.Module]:
            return [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1), nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(3, 8), nn.MaxPool2d(2),
            *block(8, 16), nn.MaxPool2d(2),
            *block(16, 32),
            *block(32, 32),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


# --------------------------------------------------------------------------
# Data.

def draw_shape(draw: ImageDraw.ImageDraw, label: int, x0: int, y0: int, size: int, fill) -> None:
    """The shape of class `label` inside the size x size square at (x0, y0)."""
    x1, y1 = x0 + size - 1, y0 + size - 1
    if label == 0:
        draw.ellipse((x0, y0, x1, y1), fill=fill)
    elif label == 1:
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    elif label == 2:
        draw.polygon(((x0, y1), (x1, y1), ((x0 + x1) / 2, y0)), fill=fill)
    else:
        arm = max(2, size // 3)  # bar thickness
        lo = x0 + (size - arm) // 2
        draw.rectangle((lo, y0, lo + arm - 1, y1), fill=fill)
        lo = y0 + (size - arm) // 2
        draw.rectangle((x0, lo, x1, lo + arm - 1), fill=fill)


def make_image(rng: np.random.Generator) -> Tuple[np.ndarray, int, Tuple[int, int, int, int]]:
    """One sample: [64, 64, 3] uint8 image, label, inclusive box (x0, y0, x1, y1)."""
    n = IMAGE_SIZE
    grid = int(rng.integers(3, 7))
    coarse = rng.integers(40, 216, (grid, grid, 3)).astype(np.uint8)
    image = Image.fromarray(coarse).resize((n, n), Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):  # clutter: thin lines in random colours
        ends = rng.integers(0, n, 4)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.line(tuple(int(v) for v in ends), fill=colour, width=1)

    label = int(rng.integers(0, len(CLASSES)))
    size = int(rng.integers(14, 25))
    x0, y0 = (int(v) for v in rng.integers(1, n - size, 2))  # fully inside, 1 px margin
    under = np.asarray(image, dtype=np.float64)[y0:y0 + size, x0:x0 + size].reshape(-1, 3).mean(axis=0)
    while True:  # a colour that stands out from what lies under the shape
        colour = rng.integers(0, 256, 3)
        if np.linalg.norm(colour - under) >= 120:
            break
    fill = tuple(int(c) for c in colour)
    draw_shape(draw, label, x0, y0, size, fill)
    mask = Image.new("L", (n, n), 0)
    draw_shape(ImageDraw.Draw(mask), label, x0, y0, size, 255)
    ys, xs = np.nonzero(np.asarray(mask))
    box = (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))

    noise = rng.integers(-8, 9, (n, n, 3))
    pixels = np.clip(np.asarray(image, dtype=np.int64) + noise, 0, 255).astype(np.uint8)
    return pixels, label, box


def make_dataset(seed: int, count: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[count, 64, 64, 3] uint8 images, [count] labels, [count, 4] boxes."""
    rng = np.random.default_rng(seed)
    samples = [make_image(rng) for _ in range(count)]
    return (np.stack([s[0] for s in samples]), np.array([s[1] for s in samples], dtype=np.int64),
            np.array([s[2] for s in samples], dtype=np.int64))


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float32 [N, 3, H, W] as ToTensor() + Normalize(ImageNet) computes it."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().float().div(255)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return x.sub(mean).div(std)


# --------------------------------------------------------------------------
# Training.

def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        predicted = torch.cat([model(chunk).argmax(1) for chunk in x.split(256)])
    return float((predicted == y).float().mean())


def train(log: Callable[[str], None] = lambda line: None) -> Tuple[nn.Module, Dict[str, float]]:
    """The trained model in eval mode and facts about its training (seconds, accuracies)."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)  # the same result whatever --threads says (and faster here)
    torch.use_deterministic_algorithms(True)
    try:
        start = time.monotonic()
        images, labels, _ = make_dataset(TRAIN_SEED, TRAIN_COUNT)
        x, y = to_input(images), torch.from_numpy(labels)
        held_images, held_labels, _ = make_dataset(HELD_OUT_SEED, HELD_OUT_COUNT)
        held_x, held_y = to_input(held_images), torch.from_numpy(held_labels)
        data_seconds = time.monotonic() - start

        torch.manual_seed(0)
        model = ShapesCNN()
        optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        steps = EPOCHS * ((TRAIN_COUNT + BATCH_SIZE - 1) // BATCH_SIZE)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LEARNING_RATE, total_steps=steps)
        shuffle = torch.Generator().manual_seed(0)
        for epoch in range(EPOCHS):
            model.train()
            order = torch.randperm(TRAIN_COUNT, generator=shuffle)
            for batch in order.split(BATCH_SIZE):
                loss = F.cross_entropy(model(x[batch]), y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
            model.eval()
            log(f"epoch {epoch + 1}: loss {float(loss):.4f}, held-out accuracy "
                f"{accuracy(model, held_x, held_y):.4f} ({time.monotonic() - start:.1f} s)")
        facts = {
            "train_seconds": time.monotonic() - start,
            "data_seconds": data_seconds,
            "train_accuracy": accuracy(model, x, y),
            "held_out_accuracy": accuracy(model, held_x, held_y),
        }
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    return model.eval(), facts


# --------------------------------------------------------------------------
# The test set and the pointing game.

def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def inside(point: Tuple[int, int], box: Tuple[int, int, int, int], tolerance: int) -> bool:
    x, y = point
    x0, y0, x1, y1 = box
    return x0 - tolerance <= x <= x1 + tolerance and y0 - tolerance <= y <= y1 + tolerance


def pointing_game(model: nn.Module, x: torch.Tensor, labels: np.ndarray, boxes: np.ndarray,
                  layer: str) -> Tuple[Dict[str, dict], Dict[str, np.ndarray]]:
    """Per method: argmax, hits and rates over the test images; and the [N, 64, 64] maps."""
    results: Dict[str, dict] = {m: {"argmax": [], "max_count": [], "hit": [], "hit_tolerance": []}
                                for m in CAM_METHODS}
    maps: Dict[str, List[np.ndarray]] = {m: [] for m in CAM_METHODS}
    for i in range(x.shape[0]):
        captured, _ = capture_cam_inputs(model, [layer], x[i:i + 1], int(labels[i]))
        box = tuple(int(v) for v in boxes[i])
        for method in CAM_METHODS:
            cam = cam_map(method, *captured[layer], (x.shape[-1], x.shape[-2]))[0]
            maps[method].append(cam)
            flat = int(np.argmax(cam))  # the first maximum in row-major order
            point = (flat % cam.shape[1], flat // cam.shape[1])
            entry = results[method]
            entry["argmax"].append(list(point))
            entry["max_count"].append(int(np.count_nonzero(cam == cam.max())))
            entry["hit"].append(inside(point, box, 0))
            entry["hit_tolerance"].append(inside(point, box, TOLERANCE_PX))
    for method, entry in results.items():
        n = len(entry["hit"])
        rates = {"hits": sum(entry["hit"]), "rate": sum(entry["hit"]) / n,
                 "hits_tolerance": sum(entry["hit_tolerance"]),
                 "rate_tolerance": sum(entry["hit_tolerance"]) / n}
        results[method] = {**rates, **entry}
    return results, {m: np.stack(v).astype(np.float32) for m, v in maps.items()}


def format_json(value, indent: str = "") -> str:
    """JSON text with a line per dict entry down to the level whose values are all lists or
    scalars (those stay on one line each)."""
    if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
        inner = indent + " "
        if isinstance(value, dict):
            items = [f"{inner}{json.dumps(k)}: {format_json(v, inner).strip()}" for k, v in value.items()]
            text = "{\n" + ",\n".join(items) + f"\n{indent}}}"
        else:
            items = [f"{inner}{format_json(v, inner).strip()}" for v in value]
            text = "[\n" + ",\n".join(items) + f"\n{indent}]"
    elif isinstance(value, dict) and indent == "":
        items = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
        text = "{\n" + ",\n".join(items) + "\n}"
    else:
        text = json.dumps(value)
    return text + "\n" if indent == "" else text


def export_test_set(out_dir: Path, name: str, facts: Dict[str, float],
                    write_bytes: Callable[[Path, bytes], None]) -> Dict[str, dict]:
    """Writes shapes/* (see the module docstring) for the exported <name>.script.pt and
    <name>.trace.pt, whose maps must agree exactly; returns the pointing results."""
    shapes_dir = out_dir / "shapes"
    images, labels, boxes = make_dataset(TEST_SEED, TEST_COUNT)
    entries = []
    for i in range(TEST_COUNT):
        file_name = f"test_{i:03d}.png"
        write_bytes(shapes_dir / file_name, png_bytes(images[i]))
        entries.append({"file": file_name, "label": int(labels[i]), "class": CLASSES[int(labels[i])],
                        "box": [int(v) for v in boxes[i]]})
    test = {
        "model": name,
        "classes": list(CLASSES),
        "input_shape": [1, 3, IMAGE_SIZE, IMAGE_SIZE],
        "preprocessing": "ToTensor() (u8 / 255) then Normalize(mean, std); no resize",
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "box": "[x0, y0, x1, y1], inclusive pixel bounds of the shape's pixels",
        "seed": TEST_SEED,
        "images": entries,
    }
    write_bytes(shapes_dir / "test.json", format_json(test).encode())

    # The test images as read back from the PNG files, as a user's pipeline reads them.
    read_back = np.stack([np.asarray(Image.open(shapes_dir / e["file"]).convert("RGB")) for e in entries])
    if not np.array_equal(read_back, images):
        raise RuntimeError("shapes: a test PNG does not read back as written")
    x = to_input(read_back)

    pointing: Dict[str, dict] = {}
    first_maps: Dict[str, np.ndarray] = {}
    for variant in ("script", "trace"):
        loaded = torch.jit.load(str(out_dir / f"{name}.{variant}.pt"))
        model = ShapesCNN().eval()
        model.load_state_dict(loaded.state_dict())
        with torch.no_grad():
            logits = model(x)
            if not torch.equal(loaded(x), logits):
                raise RuntimeError(f"{name}.{variant}.pt: logits differ from the eager model's")
        predicted = logits.argmax(1).numpy()
        for layer in POINTING_LAYERS:
            results, maps = pointing_game(model, x, labels, boxes, layer)
            if variant == "script":
                pointing[layer] = results
                if layer == POINTING_LAYERS[0]:
                    first_maps = maps
            elif results != pointing[layer] or (layer == POINTING_LAYERS[0] and any(
                    not np.array_equal(maps[m], first_maps[m]) for m in CAM_METHODS)):
                raise RuntimeError(f"shapes: {name}.script.pt and {name}.trace.pt give different maps")

    for method, maps in first_maps.items():
        buffer = io.BytesIO()
        np.save(buffer, maps)
        write_bytes(shapes_dir / f"cam.{POINTING_LAYERS[0]}.{method}.npy", buffer.getvalue())
    summary = {
        "model": name,
        "layers": list(POINTING_LAYERS),
        "target": "the true label of each image (ClassifierOutputTarget(label))",
        "argmax": "first maximum of the 64x64 map in row-major order, as [x, y]",
        "tolerance_px": TOLERANCE_PX,
        "test_accuracy": float((predicted == labels).mean()),
        "predicted": [int(v) for v in predicted],
        "train_accuracy": round(facts["train_accuracy"], 4),
        "held_out_accuracy": round(facts["held_out_accuracy"], 4),
        "held_out_count": HELD_OUT_COUNT,
        "pointing": pointing,
    }
    write_bytes(shapes_dir / "pointing.json", format_json(summary).encode())
    return summary


def files() -> List[str]:
    """What export_test_set writes, relative to the output directory."""
    return ([f"shapes/test_{i:03d}.png" for i in range(TEST_COUNT)]
            + ["shapes/test.json", "shapes/pointing.json"]
            + [f"shapes/cam.{POINTING_LAYERS[0]}.{method}.npy" for method in CAM_METHODS])
