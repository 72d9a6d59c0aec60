#!/usr/bin/python3
"""Export cnnviz's model zoo and C++ test fixtures as TorchScript files.

Every model is built with torch.manual_seed(0) and random weights (nothing is
ever downloaded), put in eval mode, and written twice, as
<name>.script.pt (torch.jit.script) and <name>.trace.pt (torch.jit.trace).
Beside them <name>.json records what eager PyTorch says about the model
(parameter counts, output shape, and per-module call counts and output shapes
from forward hooks), for the C++ tests to compare against. See README.md.

Usage:
    /usr/bin/python3 models/export_models.py [--out DIR] [--only a,b] [--force] [--list]

Files are reused while up to date: each model has a <name>.stamp holding a
sha256 over this script, the models/*.py files the model is built from and
the torch/torchvision versions; a model whose files all exist and whose stamp
matches is skipped. Every file is written atomically (temp file + os.replace).

Under PyTorch >= 2.0 (the LibTorch 2.14 build's exports, made in the sid root
by scripts/modern-root) SPECS also holds MODERN_NAMES: current torchvision
architectures (EfficientNet, ConvNeXt, Swin, MaxViT, ViT, DeepLabV3, ...).
Under torch 1.13 they are not in SPECS, so the default export skips them.

This module is also imported by scripts/make-torchinfo-refs, which builds its
models through SPECS and instantiate() so both see the very same networks.
"""

import argparse
import hashlib
import io
import json
import os
import struct
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torchvision
from torch import nn

MODELS_DIR = Path(__file__).resolve().parent
if str(MODELS_DIR) not in sys.path:  # so that importing this file from elsewhere works
    sys.path.insert(0, str(MODELS_DIR))

import cifar_densenet  # noqa: E402  (needs MODELS_DIR on sys.path)
import cifar_googlenet  # noqa: E402
import cifar_resnet  # noqa: E402
import diff_variants  # noqa: E402
import fixtures  # noqa: E402
import references  # noqa: E402
import target_reference  # noqa: E402
import shapes  # noqa: E402
import unet  # noqa: E402

Shape = Tuple[int, ...]

# What a spec produces.
KIND_MODEL = "model"          # <name>.script.pt + <name>.trace.pt + <name>.json
KIND_FROZEN = "frozen"        # <name>.pt (torch.jit.freeze of the script) + <name>.json
KIND_OPTIMIZED = "optimized"  # <name>.pt (see optimize_for_inference below) + <name>.json
KIND_BAD = "bad"              # bad/* : files that must fail to load
KIND_REFERENCES = "references"  # references/* : test images and what PyTorch makes of them
KIND_SHAPES = "shapes"          # a model trained here (see shapes.py): the KIND_MODEL files + shapes/*
KIND_TARGET_REFERENCES = "target_references"  # references/targets/*: CAMs of ViTs, Swin, segmentation
KIND_DETECTION = "detection"    # <name>.script.pt + <name>.json: a torchvision detector, scripted only

# PyTorch >= 2.0: the MODERN_NAMES specs exist (see _MODERN_SPEC_LIST).
MODERN_TORCH = int(torch.__version__.split(".")[0]) >= 2

# PyTorch >= 2.0 also writes <name>.pt2 (torch.export.save of torch.export.export(model, inputs)) for
# these model specs: the fixtures, the seed architectures and today's torchvision families, the files
# of the .pt2 tests (tests/export_runtime_test.cc, tests/golden_test.cc).
PT2_NAMES = frozenset({
    "tiny_cnn", "edge", "two_inputs", "one_block_stages", "resnet18",
    "cifar_googlenet", "cifar_resnet", "cifar_preact_resnet", "cifar_densenet", "unet",
    "efficientnet_b0", "mnasnet0_5", "convnext_tiny", "regnet_y_400mf", "mobilenet_v3_small",
    "swin_t", "maxvit_t", "vit_b_16", "deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large", "tiny_vit",
    "fcn_resnet50",
})
# These also get <name>.dynamic.pt2 (exported at batch 2 with the batch dimension dynamic,
# torch.export.Dim: the graph computes sizes with Python operators on it) and <name>.b3.pt2 (static, at
# batch 3: PyTorch's own record of every shape there, the reference for the dynamic program run at 3).
DYNAMIC_PT2_NAMES = frozenset({"tiny_vit"})
# These also get <name>.nograd.trace.pt: traced under torch.no_grad(), as users often do, which bakes
# nn.MultiheadAttention's fused inference path (aten::_native_multi_head_attention, no derivative)
# into the file: the fixture for gradcam's message about it.
NOGRAD_TRACE_NAMES = frozenset({"tiny_vit"})

IMAGENET_INPUT: Tuple[Shape, ...] = ((1, 3, 224, 224),)
CIFAR_INPUT: Tuple[Shape, ...] = ((1, 3, 32, 32),)

# Files in <out>/bad/, each of which torch.jit.load must reject.
BAD_FILES = (
    "state_dict.pt",       # torch.save() of a state_dict: a zip archive, but no TorchScript
    "not_a_model.png",     # a valid 8x8 PNG image
    "empty.pt",            # zero bytes
    "truncated.pt",        # the first half of tiny_cnn.script.pt
    "corrupt.pt",          # tiny_cnn.script.pt with its central directory and data clobbered
    "future_version.pt",   # tiny_cnn.script.pt whose <archive>/version record says 99
    "unknown_op.pt",       # tiny_cnn.script.pt whose code calls an op this torch lacks (as newer exports do)
    "text.pt",             # a text file
)
# With PyTorch >= 2 also bad/*.pt2, derived from tiny_cnn.pt2, each of which cnnviz must refuse in one
# line (tests/cli_bad_input_test.cc).
BAD_PT2_FILES = (
    "pt2_bad_json.pt2",       # models/model.json is not JSON
    "pt2_schema_99.pt2",      # its schema_version is 99.0
    "pt2_short_weight.pt2",   # the first weight file cut to half its size
    "pt2_missing_weight.pt2",  # the first weight file left out
    "pt2_bigger_sizes.pt2",   # the weights config gives the first weight twice its output channels
    "pt2_unknown_value.pt2",  # a node uses a value nothing defines
    "pt2_unknown_op.pt2",     # a node calls aten::relx, an operator no PyTorch has
    "pt2_aoti.pt2",           # has a data/aotinductor/ entry, as AOTInductor packages do
    # PyTorch 2.6's layout (serialized_exported_program.json beside torch.save archives), broken:
    "pt2_26_not_tensor.pt2",  # the state dict maps the first weight to an int
    "pt2_26_no_state.pt2",    # serialized_state_dict.pt left out
    "pt2_26_cut_state.pt2",   # serialized_state_dict.pt cut to half its size
)
FUTURE_VERSION = 99


@dataclass(frozen=True)
class Spec:
    """One exportable entry.

    Attributes:
        name: file stem and CLI name.
        kind: one of the KIND_* constants.
        build: returns the eager nn.Module (called after torch.manual_seed(0)).
        input_shapes: shapes of the example inputs, one per forward() argument.
        expected_params: parameter count the eager model must have; a mismatch
            is an error (it catches drift in the hand-written architectures).
        sources: models/*.py files the model is built from (part of the stamp).
        depends: specs whose files this one reads (exported first).
        variants: the TorchScript files of a model spec, "script" and/or "trace".
        modern: a PyTorch >= 2 spec (MODERN_NAMES). Traced with autograd on, so
            that nn.MultiheadAttention records the differentiable
            aten::scaled_dot_product_attention instead of its no-grad fast path
            aten::_native_multi_head_attention (no derivative, no meta kernel),
            and with strict=False, which allows the segmentation models' dict
            output.
    """

    name: str
    kind: str
    build: Callable[[], nn.Module]
    input_shapes: Tuple[Shape, ...]
    expected_params: Optional[int] = None
    sources: Tuple[str, ...] = ()
    depends: Tuple[str, ...] = ()
    variants: Tuple[str, ...] = ("script", "trace")
    modern: bool = False

    def files(self) -> List[str]:
        """Output files, relative to the output directory."""
        model_files = [f"{self.name}.{variant}.pt" for variant in self.variants]
        if MODERN_TORCH and self.name in PT2_NAMES:
            model_files.append(f"{self.name}.pt2")
        if MODERN_TORCH and self.name in DYNAMIC_PT2_NAMES:
            model_files += [f"{self.name}.dynamic.pt2", f"{self.name}.b3.pt2"]
        if MODERN_TORCH and self.name in NOGRAD_TRACE_NAMES:
            model_files.append(f"{self.name}.nograd.trace.pt")
        if self.kind == KIND_MODEL:
            return model_files + [f"{self.name}.json"]
        if self.kind == KIND_SHAPES:
            return model_files + [f"{self.name}.json"] + shapes.files()
        if self.kind in (KIND_FROZEN, KIND_OPTIMIZED):
            return [f"{self.name}.pt", f"{self.name}.json"]
        if self.kind == KIND_DETECTION:
            return [f"{self.name}.script.pt", f"{self.name}.json"]
        if self.kind == KIND_TARGET_REFERENCES:
            return target_reference.case_files()
        if self.kind == KIND_REFERENCES:
            return ["references/photo.png", "references/vgg16.trace.features.0.npy",
                    *references.cam_files(), *references.saliency_files(),
                    *references.activation_max_files()]
        return [f"bad/{file}" for file in BAD_FILES + (BAD_PT2_FILES if MODERN_TORCH else ())]


def _tv(builder: Callable[..., nn.Module], **kwargs: Any) -> Callable[[], nn.Module]:
    """A torchvision constructor with random weights (weights=None never downloads)."""
    return lambda: builder(weights=None, **kwargs)


_CIFAR_SOURCES = ("cifar_common.py",)
_SPEC_LIST = [
    # torchvision ImageNet models at 1x3x224x224.
    Spec("resnet18", KIND_MODEL, _tv(torchvision.models.resnet18), IMAGENET_INPUT, 11_689_512),
    Spec("vgg11", KIND_MODEL, _tv(torchvision.models.vgg11), IMAGENET_INPUT, 132_863_336),
    Spec("vgg16", KIND_MODEL, _tv(torchvision.models.vgg16), IMAGENET_INPUT, 138_357_544),
    Spec("alexnet", KIND_MODEL, _tv(torchvision.models.alexnet), IMAGENET_INPUT, 61_100_840),
    Spec("googlenet", KIND_MODEL,
         _tv(torchvision.models.googlenet, aux_logits=False, init_weights=True),
         IMAGENET_INPUT, 6_624_904),
    Spec("densenet121", KIND_MODEL, _tv(torchvision.models.densenet121), IMAGENET_INPUT,
         7_978_856),
    Spec("mobilenet_v2", KIND_MODEL, _tv(torchvision.models.mobilenet_v2), IMAGENET_INPUT,
         3_504_872),
    Spec("resnet50", KIND_MODEL, _tv(torchvision.models.resnet50), IMAGENET_INPUT, 25_557_032),
    # The UvA tutorial 5 CIFAR-10 models (seed 001); counts from the tutorial's table.
    Spec("cifar_googlenet", KIND_MODEL, cifar_googlenet.GoogleNet, CIFAR_INPUT, 260_650,
         _CIFAR_SOURCES + ("cifar_googlenet.py",)),
    Spec("cifar_resnet", KIND_MODEL, cifar_resnet.ResNet, CIFAR_INPUT, 272_378,
         _CIFAR_SOURCES + ("cifar_resnet.py",)),
    Spec("cifar_preact_resnet", KIND_MODEL,
         lambda: cifar_resnet.ResNet(block_name="PreActResNetBlock"), CIFAR_INPUT, 272_250,
         _CIFAR_SOURCES + ("cifar_resnet.py",)),
    Spec("cifar_densenet", KIND_MODEL, cifar_densenet.DenseNet, CIFAR_INPUT, 239_146,
         _CIFAR_SOURCES + ("cifar_densenet.py",)),
    # The classic U-Net (seed 003).
    Spec("unet", KIND_MODEL, unet.UNet, ((1, 1, 572, 572),), 31_030_658, ("unet.py",)),
    # Small fixtures for the C++ tests.
    Spec("tiny_cnn", KIND_MODEL, fixtures.TinyCNN, CIFAR_INPUT, 6_362, ("fixtures.py",)),
    Spec("edge", KIND_MODEL, fixtures.EdgeNet, ((1, 3, 8, 8),), 1_021, ("fixtures.py",)),
    Spec("two_inputs", KIND_MODEL, fixtures.TwoInputs, ((1, 3, 16, 16), (1, 10)), 397,
         ("fixtures.py",)),
    Spec("probed", KIND_MODEL, fixtures.ProbedCNN, ((1, 3, 16, 16),), 137, ("fixtures.py",)),
    Spec("nms_head", KIND_MODEL, fixtures.NmsHead, ((1, 3, 16, 16),), 140, ("fixtures.py",)),
    Spec("one_block_stages", KIND_MODEL, fixtures.OneBlockStages, ((1, 3, 8, 8),), 408,
         ("fixtures.py",)),
    # Variants of one small CNN for `cnnviz diff` and summary manifests (tests/cli_diff_test.cc).
    Spec("diff_base", KIND_MODEL, diff_variants.diff_base, ((1, 3, 16, 16),), 3_882,
         ("diff_variants.py",)),
    Spec("diff_wide", KIND_MODEL, diff_variants.diff_wide, ((1, 3, 16, 16),), 5_618,
         ("diff_variants.py",)),
    Spec("diff_removed", KIND_MODEL, diff_variants.diff_removed, ((1, 3, 16, 16),), 1_562,
         ("diff_variants.py",)),
    Spec("diff_renamed", KIND_MODEL, diff_variants.diff_renamed, ((1, 3, 16, 16),), 3_882,
         ("diff_variants.py",)),
    Spec("resnet18_frozen", KIND_FROZEN, _tv(torchvision.models.resnet18), IMAGENET_INPUT,
         11_689_512),
    Spec("resnet18_optimized", KIND_OPTIMIZED, _tv(torchvision.models.resnet18),
         IMAGENET_INPUT, 11_689_512),
    Spec("bad", KIND_BAD, fixtures.TinyCNN, CIFAR_INPUT, 6_362, ("fixtures.py",),
         depends=("tiny_cnn",)),
    Spec("references", KIND_REFERENCES, fixtures.TinyCNN, CIFAR_INPUT, None,
         ("references.py", "cam_reference.py", "saliency_reference.py",
          "activation_max_reference.py"), depends=("vgg16", "vgg11", "resnet18")),
    # Trained here on synthetic shapes (about a minute): the pointing-game fixture. build() gives
    # the untrained network; export() trains it.
    Spec("shapes_cnn", KIND_SHAPES, shapes.ShapesCNN, ((1, 3, 64, 64),), 15_588,
         ("shapes.py", "cam_reference.py")),
]


def _tv_modern(name: str, **kwargs: Any) -> Callable[[], nn.Module]:
    """torchvision.models.get_model(name) with random weights, looked up when called
    (torchvision 0.14 lacks some of these)."""
    return lambda: torchvision.models.get_model(name, weights=None, **kwargs)


def _vit_b_16() -> nn.Module:
    """ViT-B/16 with a non-zero head: torchvision initialises heads.head to zero, which
    makes every logit and every class-score gradient of an untrained ViT zero."""
    model = torchvision.models.vit_b_16(weights=None)
    nn.init.normal_(model.heads.head.weight, std=0.02)
    return model


# Segmentation models: no pretrained backbone (its default would be downloaded), no aux head.
_SEGMENTATION = {"weights_backbone": None, "aux_loss": False}

# Today's torchvision architectures at 1x3x224x224, for the LibTorch 2.14 build: exported only
# under PyTorch >= 2.0 (torchvision 0.14 has no maxvit_t, and torch 1.13's TorchScript cannot
# read 2.x's scripted attention and interpolation). Parameter counts as PyTorch 2.14.1 /
# torchvision 0.27 count them. All of them script and trace on 2.14.1; a variant that stops
# working would be dropped from its spec's `variants`, with the reason here.
_MODERN_SPEC_LIST = [
    Spec("efficientnet_b0", KIND_MODEL, _tv_modern("efficientnet_b0"), IMAGENET_INPUT,
         5_288_548, modern=True),
    Spec("mnasnet0_5", KIND_MODEL, _tv_modern("mnasnet0_5"), IMAGENET_INPUT, 2_218_512,
         modern=True),
    Spec("convnext_tiny", KIND_MODEL, _tv_modern("convnext_tiny"), IMAGENET_INPUT, 28_589_128,
         modern=True),
    Spec("regnet_y_400mf", KIND_MODEL, _tv_modern("regnet_y_400mf"), IMAGENET_INPUT, 4_344_144,
         modern=True),
    Spec("mobilenet_v3_small", KIND_MODEL, _tv_modern("mobilenet_v3_small"), IMAGENET_INPUT,
         2_542_856, modern=True),
    Spec("swin_t", KIND_MODEL, _tv_modern("swin_t"), IMAGENET_INPUT, 28_288_354, modern=True),
    Spec("maxvit_t", KIND_MODEL, _tv_modern("maxvit_t"), IMAGENET_INPUT, 30_919_624,
         modern=True),
    Spec("vit_b_16", KIND_MODEL, _vit_b_16, IMAGENET_INPUT, 86_567_656, modern=True),
    # A ViT small enough to export three ways (static, dynamic batch, batch 3) for the .pt2 tests.
    Spec("tiny_vit", KIND_MODEL, lambda: torchvision.models.VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
        num_classes=10), CIFAR_INPUT, 24_234, modern=True),
    Spec("deeplabv3_mobilenet_v3_large", KIND_MODEL,
         _tv_modern("deeplabv3_mobilenet_v3_large", **_SEGMENTATION), IMAGENET_INPUT,
         11_025_477, modern=True),
    Spec("fcn_resnet50", KIND_MODEL, _tv_modern("fcn_resnet50", **_SEGMENTATION),
         IMAGENET_INPUT, 32_957_013, modern=True),
    # Seed 004's Faster R-CNN: calls torchvision::nms and roi_align (torchvision's C++ library).
    Spec("fasterrcnn_resnet50_fpn", KIND_DETECTION,
         _tv_modern("fasterrcnn_resnet50_fpn", weights_backbone=None), IMAGENET_INPUT, 41_808_406,
         modern=True),
    Spec("lraspp_mobilenet_v3_large", KIND_MODEL,
         _tv_modern("lraspp_mobilenet_v3_large", **_SEGMENTATION), IMAGENET_INPUT, 3_221_538,
         modern=True),
    # CAMs of the transformers and segmentation models above with pytorch-grad-cam's targets and
    # reshape transforms (target_reference.py).
    Spec("target_references", KIND_TARGET_REFERENCES, fixtures.TinyCNN, CIFAR_INPUT, None,
         ("target_reference.py", "cam_reference.py"),
         depends=("references",) + target_reference.MODELS, modern=True),
]
MODERN_NAMES: Tuple[str, ...] = tuple(spec.name for spec in _MODERN_SPEC_LIST)

SPECS: Dict[str, Spec] = {spec.name: spec
                          for spec in _SPEC_LIST + (_MODERN_SPEC_LIST if MODERN_TORCH else [])}


# --------------------------------------------------------------------------
# Building models and recording what eager PyTorch knows about them.

def instantiate(spec: Spec) -> Tuple[nn.Module, Tuple[torch.Tensor, ...]]:
    """The eval-mode model, built right after torch.manual_seed(0), and example inputs."""
    torch.manual_seed(0)
    model = spec.build().eval()
    return model, example_inputs(spec)


def example_inputs(spec: Spec) -> Tuple[torch.Tensor, ...]:
    # A private generator keeps the inputs independent of what build() drew.
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.randn(shape, generator=generator) for shape in spec.input_shapes)


def first_shape(value: Any) -> Optional[List[int]]:
    """Shape of the tensor that stands for a module output, or None if there is none.

    A tensor stands for itself, a tuple/list for its first tensor (searched
    depth first), a dict for its last value.
    """
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (tuple, list)):
        for item in value:
            shape = first_shape(item)
            if shape is not None:
                return shape
        return None
    if isinstance(value, dict) and value:
        return first_shape(list(value.values())[-1])
    return None


def count_params(model: nn.Module) -> Tuple[int, int]:
    """(total, trainable) parameter counts; parameters() yields a shared tensor once."""
    params = list(model.parameters())
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad))


def collect_facts(spec: Spec, model: nn.Module,
                  inputs: Sequence[torch.Tensor]) -> Tuple[Dict[str, Any], Any]:
    """Runs one hooked eager forward pass; returns the model's description as
    JSON-ready data, and the forward's output.

    "modules" lists every path of named_modules(remove_duplicate=False), the
    root ("") included, in registration order. Calls are counted per module
    instance, so a module registered under two names reports the calls made
    through either; such a second name carries "alias_of": <first path>.
    output_shape is that of the first call ([] when it produced no tensor,
    e.g. None), or null when the module never ran. num_params counts the
    parameters of the module's subtree, a shared tensor once.
    """
    stats: Dict[int, Dict[str, Any]] = {}
    handles = []

    def hook(module: nn.Module, _inputs: Any, output: Any) -> None:
        record = stats[id(module)]
        if record["num_calls"] == 0:
            record["output_shape"] = first_shape(output) or []
        record["num_calls"] += 1

    named = list(model.named_modules(remove_duplicate=False))
    first_path: Dict[int, str] = {}
    for path, module in named:
        if id(module) not in stats:
            stats[id(module)] = {"num_calls": 0, "output_shape": None}
            first_path[id(module)] = path
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            output = model(*inputs)
    finally:
        for handle in handles:
            handle.remove()

    modules = []
    for path, module in named:
        entry = {"path": path, "class": type(module).__name__, **stats[id(module)],
                 "num_params": count_params(module)[0]}
        if first_path[id(module)] != path:
            entry["alias_of"] = first_path[id(module)]
        modules.append(entry)

    total, trainable = count_params(model)
    facts = {
        "name": spec.name,
        "input_shapes": [list(shape) for shape in spec.input_shapes],
        "total_params": total,
        "trainable_params": trainable,
        "output_shape": first_shape(output) or [],
        "files": [f for f in spec.files() if f.endswith(".pt")],
        "modules": modules,
    }
    return facts, output


# --------------------------------------------------------------------------
# Writing files.

@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yields a temporary path on final's file system and moves it into place on success.

    The temporary file lives in a private directory beside `final` and has
    final's own name, because torch.jit.save names the archive's root folder
    after the file (tiny_cnn.script.pt holds tiny_cnn.script/...).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    tmp = tmp_dir / final.name
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
        tmp_dir.rmdir()


def write_bytes(final: Path, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def format_facts(facts: Dict[str, Any]) -> str:
    """JSON text with one top-level field, or one module entry, per line."""
    lines = []
    for key, value in facts.items():
        if key == "modules":
            entries = ",\n".join("  " + json.dumps(entry) for entry in value)
            lines.append(f' "modules": [\n{entries}\n ]')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def save_module(module: torch.jit.ScriptModule, final: Path) -> None:
    with atomic_path(final) as tmp:
        torch.jit.save(module, str(tmp))


def verify_saved(path: Path, inputs: Sequence[torch.Tensor], expected: torch.Tensor,
                 exact: bool) -> None:
    """Reloads a saved module and checks that it reproduces the eager output.

    Frozen/optimized modules fold BatchNorm into convs, so they get a tolerance.
    """
    loaded = torch.jit.load(str(path))
    with torch.no_grad():
        got = loaded(*inputs)
    got = first_tensor(got)  # scripted GoogLeNet returns a tuple, segmentation models a dict
    if list(got.shape) != list(expected.shape):
        raise RuntimeError(f"{path.name}: output shape {list(got.shape)}, "
                           f"eager gives {list(expected.shape)}")
    rtol, atol = (1e-5, 1e-6) if exact else (1e-3, 1e-4)
    scale = float(expected.abs().max()) or 1.0
    if not torch.allclose(got / scale, expected / scale, rtol=rtol, atol=atol):
        raise RuntimeError(f"{path.name}: output differs from the eager model")


def export_torchscript(spec: Spec, out_dir: Path, model: Optional[nn.Module] = None) -> None:
    """Writes the TorchScript file(s) and the JSON facts of a model/frozen/optimized/shapes spec;
    `model` (eval mode) replaces the freshly built one, e.g. a trained network."""
    if model is None:
        model, inputs = instantiate(spec)
    else:
        inputs = example_inputs(spec)
    facts, expected = collect_facts(spec, model, inputs)
    if spec.kind == KIND_DETECTION:
        facts["detector"] = True  # scripted, it returns (losses, detections) and takes List[Tensor]
    if spec.expected_params is not None and facts["total_params"] != spec.expected_params:
        raise RuntimeError(f"has {facts['total_params']:,} parameters, "
                           f"expected {spec.expected_params:,}")

    modules: Dict[str, torch.jit.ScriptModule] = {}
    if spec.kind in (KIND_MODEL, KIND_SHAPES):
        if "script" in spec.variants:
            modules[f"{spec.name}.script.pt"] = torch.jit.script(model)
        if "trace" in spec.variants:
            # check_trace would re-run the model twice more; verify_saved checks the result.
            if spec.modern:  # autograd on: see Spec.modern
                modules[f"{spec.name}.trace.pt"] = torch.jit.trace(
                    model, inputs, check_trace=False, strict=False)
            else:
                with torch.no_grad():
                    modules[f"{spec.name}.trace.pt"] = torch.jit.trace(model, inputs,
                                                                       check_trace=False)
    elif spec.kind == KIND_DETECTION:
        # torch.jit.script only: a detector's list-of-dicts output cannot be traced. Scripted, its
        # forward takes List[Tensor] and returns (losses, detections); checked by running it below.
        path = out_dir / f"{spec.name}.script.pt"
        save_module(torch.jit.script(model), path)
        with torch.no_grad():
            _, detections = torch.jit.load(str(path))([inputs[0][0]])
        if not isinstance(detections, list) or len(detections) != 1 or "boxes" not in detections[0]:
            raise RuntimeError(f"{path.name}: the reloaded detector returned {type(detections)}")
    elif spec.kind == KIND_FROZEN:
        modules[f"{spec.name}.pt"] = torch.jit.freeze(torch.jit.script(model))
    elif spec.kind == KIND_OPTIMIZED:
        modules[f"{spec.name}.pt"] = optimize_for_inference(torch.jit.script(model))

    for file_name, module in modules.items():
        save_module(module, out_dir / file_name)
        verify_saved(out_dir / file_name, inputs, first_tensor(expected),
                     exact=spec.kind in (KIND_MODEL, KIND_SHAPES))
    if MODERN_TORCH and spec.name in NOGRAD_TRACE_NAMES:
        path = out_dir / f"{spec.name}.nograd.trace.pt"
        with torch.no_grad():
            save_module(torch.jit.trace(model, inputs, check_trace=False), path)
        if "_native_multi_head_attention" not in str(torch.jit.load(str(path)).inlined_graph):
            raise RuntimeError(f"{path.name}: no fused attention in the no-grad trace")
        verify_saved(path, inputs, first_tensor(expected), exact=False)
    if MODERN_TORCH and spec.name in PT2_NAMES:
        export_program(model, inputs, out_dir / f"{spec.name}.pt2", first_tensor(expected))
    if MODERN_TORCH and spec.name in DYNAMIC_PT2_NAMES:
        for batch, file_name, dynamic in ((2, f"{spec.name}.dynamic.pt2", True), (3, f"{spec.name}.b3.pt2", False)):
            batched = [x.expand(batch, *x.shape[1:]).contiguous() for x in inputs]
            with torch.no_grad():
                batched_expected = first_tensor(model(*batched))
            export_program(model, batched, out_dir / file_name, batched_expected, dynamic_batch=dynamic)
    write_bytes(out_dir / f"{spec.name}.json", format_facts(facts).encode())


def export_program(model: nn.Module, inputs: Sequence[torch.Tensor], final: Path,
                   expected: torch.Tensor, dynamic_batch: bool = False) -> None:
    """Writes torch.export.save(torch.export.export(model, inputs)) atomically and checks that the
    reloaded program reproduces the eager output. dynamic_batch: dimension 0 of every input is
    dynamic (1 to 64)."""
    dynamic_shapes = None
    if dynamic_batch:
        batch = torch.export.Dim("batch", min=1, max=64)
        dynamic_shapes = tuple({0: batch} for _ in inputs)
    program = torch.export.export(model, tuple(inputs), dynamic_shapes=dynamic_shapes)
    with atomic_path(final) as tmp:
        torch.export.save(program, str(tmp))
        with torch.no_grad():
            got = first_tensor(torch.export.load(str(tmp)).module()(*inputs))
    scale = float(expected.abs().max()) or 1.0
    if list(got.shape) != list(expected.shape) or not torch.allclose(got / scale, expected / scale,
                                                                     rtol=1e-5, atol=1e-6):
        raise RuntimeError(f"{final.name}: output differs from the eager model")


def first_tensor(value: Any) -> torch.Tensor:
    """The tensor that stands for an output: the first of a tuple/list, the last value
    of a dict (as in first_shape)."""
    while isinstance(value, (tuple, list, dict)):
        value = list(value.values())[-1] if isinstance(value, dict) else value[0]
    return value


def optimize_for_inference(scripted: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """torch.jit.optimize_for_inference as it runs on a build without MKLDNN.

    On an MKLDNN build (Debian's torch 1.13 is one) the real function turns
    conv weights into prim::ConstantMKLDNNTensor nodes, which save without
    their values: torch.jit.load then fails with "required keyword attribute
    'value' is undefined" (its docstring warns that serialization is not
    supported). So run its other steps: freeze (which folds BatchNorm), then
    the frozen conv-add-relu fusion and the linear-to-matmul transposition.
    """
    frozen = torch.jit.freeze(scripted.eval())
    graph = frozen.graph  # the live graph of forward(); the passes edit it in place
    torch._C._jit_pass_fuse_frozen_conv_add_relu(graph)  # pylint: disable=protected-access
    torch._C._jit_pass_transpose_frozen_linear(graph)  # pylint: disable=protected-access
    return frozen


# --------------------------------------------------------------------------
# Bad inputs.

def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A valid RGB PNG (a colour gradient), written by hand with zlib/struct."""
    def chunk(tag: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(tag + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", crc)

    # Each scanline: filter type 0 (none), then R, G, B per pixel.
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 128))
        for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def corrupt_archive(archive: bytes) -> bytes:
    """The archive with its first central-directory header and part of its first
    record's payload overwritten; the length and the end record stay intact,
    so the file still looks like a zip."""
    data = bytearray(archive)
    end = data.rfind(b"PK\x05\x06")  # end of central directory record
    if end < 0:
        raise RuntimeError("tiny_cnn.script.pt has no zip end record")
    central = struct.unpack_from("<I", data, end + 16)[0]
    data[central:central + 46] = b"\xA5" * 46  # a whole fixed-size header
    name_len, extra_len = struct.unpack_from("<HH", data, 26)  # first local header
    payload = 30 + name_len + extra_len
    data[payload:payload + 32] = b"\x5A" * 32
    return bytes(data)


def is_version_record(name: str) -> bool:
    """True for the top-level '<archive>/version' record of a TorchScript zip."""
    parts = name.split("/")
    return len(parts) == 2 and parts[1] == "version"


def rewrite_archive(archive: bytes, edit) -> bytes:
    """The archive rewritten by zipfile with each record's payload passed through
    edit(name, payload). Every record keeps its name, order and compression (torch
    stores tensor data and version uncompressed and deflates code), and stored
    records keep torch's 64-byte data alignment via a padding extra field."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            payload = edit(info.filename, source.read(info))
            record = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            record.compress_type = info.compress_type
            record.external_attr = info.external_attr
            if record.compress_type == zipfile.ZIP_STORED:
                # Local header = 30 bytes + name + extra; pad so the data starts
                # on a 64-byte boundary, like torch's writer does.
                fixed = out.tell() + 30 + len(info.filename.encode()) + 4
                pad = -fixed % 64
                record.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            target.writestr(record, payload)
    return out.getvalue()


def with_unknown_op(archive: bytes) -> bytes:
    """The archive with its ReLU code calling aten::relx, an op no torch has: what
    loading a model that uses an op added after torch 1.13 looks like. Same length,
    so the debug source ranges stay valid."""
    edited = []

    def edit(name: str, payload: bytes) -> bytes:
        if "/code/" in name and name.endswith(".py") and b"torch.relu(" in payload:
            edited.append(name)
            return payload.replace(b"torch.relu(", b"torch.relx(")
        return payload

    result = rewrite_archive(archive, edit)
    if not edited:
        raise RuntimeError("tiny_cnn.script.pt has no torch.relu call to rewrite")
    return result


def with_version(archive: bytes, version: int) -> bytes:
    """The archive with its '<archive>/version' record set to `version`."""
    found = []

    def edit(name: str, payload: bytes) -> bytes:
        if is_version_record(name):
            found.append(name)
            return f"{version}\n".encode()
        return payload

    result = rewrite_archive(archive, edit)
    if not found:
        raise RuntimeError("tiny_cnn.script.pt has no <archive>/version record")
    return result


def torch_save_bytes(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def layout_26(program: bytes, state_dict: Optional[bytes]) -> bytes:
    """The program in PyTorch 2.6's archive layout: its models/model.json as
    serialized_exported_program.json, beside torch.save archives of the state dict (left out when
    None) and of the (empty) constants, each stored uncompressed, as 2.6's torch.export.save does."""
    source = zipfile.ZipFile(io.BytesIO(program))
    model_json = next(source.read(i) for i in source.infolist() if i.filename.endswith("models/model.json"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("serialized_exported_program.json", model_json)
        if state_dict is not None:
            target.writestr("serialized_state_dict.pt", state_dict)
        target.writestr("serialized_constants.pt", torch_save_bytes({}))
        target.writestr("version", b"8.2")
    return out.getvalue()


def bad_programs(program: bytes, state_dict: Dict[str, Any]) -> Dict[str, bytes]:
    """BAD_PT2_FILES, made from tiny_cnn.pt2 (and its state dict) by editing one record each (None
    drops a record)."""
    def edited(edit, extra: Optional[Tuple[str, bytes]] = None) -> bytes:
        source = zipfile.ZipFile(io.BytesIO(program))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for info in source.infolist():
                payload = edit(info.filename, source.read(info))
                if payload is not None:
                    target.writestr(info.filename, payload)
            if extra is not None:
                prefix = source.infolist()[0].filename.split("/")[0]
                target.writestr(f"{prefix}/{extra[0]}", extra[1])
        return out.getvalue()

    def on_json(name: str, change) -> Callable[[str, bytes], Optional[bytes]]:
        def edit(record: str, payload: bytes) -> Optional[bytes]:
            if not record.endswith(name):
                return payload
            data = json.loads(payload)
            change(data)
            return json.dumps(data).encode()
        return edit

    def schema_99(data: Dict[str, Any]) -> None:
        data["schema_version"]["major"] = 99

    def bigger_sizes(data: Dict[str, Any]) -> None:
        first = next(iter(data["config"].values()))
        first["tensor_meta"]["sizes"][0]["as_int"] *= 2

    def node_input(change) -> Callable[[Dict[str, Any]], None]:
        def apply(data: Dict[str, Any]) -> None:
            change(data["graph_module"]["graph"]["nodes"])
        return apply

    def unknown_value(nodes: List[Dict[str, Any]]) -> None:
        nodes[1]["inputs"][0]["arg"] = {"as_tensor": {"name": "no_such_value"}}

    def unknown_op(nodes: List[Dict[str, Any]]) -> None:
        relu = next(n for n in nodes if n["target"].startswith("torch.ops.aten.relu"))
        relu["target"] = "torch.ops.aten.relx.default"

    first_weight = "data/weights/weight_0"
    return {
        "pt2_bad_json.pt2": edited(lambda n, p: b"{not json" if n.endswith("models/model.json") else p),
        "pt2_schema_99.pt2": edited(on_json("models/model.json", schema_99)),
        "pt2_short_weight.pt2": edited(lambda n, p: p[:len(p) // 2] if n.endswith(first_weight) else p),
        "pt2_missing_weight.pt2": edited(lambda n, p: None if n.endswith(first_weight) else p),
        "pt2_bigger_sizes.pt2": edited(on_json("model_weights_config.json", bigger_sizes)),
        "pt2_unknown_value.pt2": edited(on_json("models/model.json", node_input(unknown_value))),
        "pt2_unknown_op.pt2": edited(on_json("models/model.json", node_input(unknown_op))),
        "pt2_aoti.pt2": edited(lambda n, p: p, ("data/aotinductor/model/model.so", b"\x7fELF")),
        "pt2_26_not_tensor.pt2": layout_26(program, torch_save_bytes({**state_dict, "features.0.weight": 3})),
        "pt2_26_no_state.pt2": layout_26(program, None),
        "pt2_26_cut_state.pt2": layout_26(program, torch_save_bytes(state_dict)[:len(torch_save_bytes(state_dict)) // 2]),
    }


def export_bad(spec: Spec, out_dir: Path) -> None:
    """Writes bad/*, derived from tiny_cnn, and checks that torch.jit.load rejects each."""
    bad_dir = out_dir / "bad"
    script = (out_dir / "tiny_cnn.script.pt").read_bytes()
    model, _ = instantiate(spec)
    state_dict = io.BytesIO()
    torch.save(model.state_dict(), state_dict)

    contents = {
        "state_dict.pt": state_dict.getvalue(),
        "not_a_model.png": png_bytes(),
        "empty.pt": b"",
        "truncated.pt": script[:len(script) // 2],
        "corrupt.pt": corrupt_archive(script),
        "future_version.pt": with_version(script, FUTURE_VERSION),
        "unknown_op.pt": with_unknown_op(script),
        "text.pt": b"This is a text file, not a TorchScript archive.\n",
    }
    assert set(contents) == set(BAD_FILES)
    if MODERN_TORCH:
        for file_name, data in bad_programs((out_dir / "tiny_cnn.pt2").read_bytes(), model.state_dict()).items():
            write_bytes(bad_dir / file_name, data)
    for file_name, data in contents.items():
        write_bytes(bad_dir / file_name, data)
        try:
            torch.jit.load(str(bad_dir / file_name))
        except Exception:  # noqa: BLE001 - any load error is the expected outcome
            continue
        raise RuntimeError(f"bad/{file_name} loads, but must not")


# --------------------------------------------------------------------------
# Stamps and the command line.

def stamp_of(spec: Spec) -> str:
    """sha256 over this script, the spec's model sources and the torch versions."""
    digest = hashlib.sha256()
    digest.update(spec.name.encode() + b"\0")
    for path in [Path(__file__).resolve()] + [MODELS_DIR / s for s in spec.sources]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"torch={torch.__version__} torchvision={torchvision.__version__}".encode())
    return digest.hexdigest()


def is_up_to_date(spec: Spec, out_dir: Path, stamp: str) -> bool:
    stamp_file = out_dir / f"{spec.name}.stamp"
    if not stamp_file.is_file() or stamp_file.read_text().strip() != stamp:
        return False
    return all((out_dir / f).is_file() for f in spec.files())


def export_shapes(spec: Spec, out_dir: Path) -> str:
    """Trains the model, exports it, writes shapes/*; returns a summary for the log line."""
    model, facts = shapes.train()
    export_torchscript(spec, out_dir, model)
    summary = shapes.export_test_set(out_dir, spec.name, facts, write_bytes)
    gradcam = summary["pointing"][shapes.POINTING_LAYERS[0]]["gradcam"]
    return (f"trained in {facts['train_seconds']:.0f} s, held-out accuracy "
            f"{facts['held_out_accuracy']:.3f}, Grad-CAM pointing game {gradcam['hits']}/"
            f"{len(gradcam['hit'])}")


def export(spec: Spec, out_dir: Path, force: bool) -> str:
    """Exports one spec unless it is up to date; returns the line to print."""
    stamp = stamp_of(spec)
    if not force and is_up_to_date(spec, out_dir, stamp):
        return f"{spec.name}: up to date"
    start = time.monotonic()
    # Drop the stamp first so an interrupted export never looks up to date.
    (out_dir / f"{spec.name}.stamp").unlink(missing_ok=True)
    note = ""
    if spec.kind == KIND_BAD:
        export_bad(spec, out_dir)
    elif spec.kind == KIND_REFERENCES:
        references.export_references(out_dir, write_bytes)
    elif spec.kind == KIND_TARGET_REFERENCES:
        target_reference.export_target_references(out_dir, lambda name: instantiate(SPECS[name])[0], write_bytes)
    elif spec.kind == KIND_SHAPES:
        note = "; " + export_shapes(spec, out_dir)
    else:
        export_torchscript(spec, out_dir)
    write_bytes(out_dir / f"{spec.name}.stamp", (stamp + "\n").encode())
    return f"{spec.name}: exported ({time.monotonic() - start:.1f} s{note})"


def default_out_dir() -> Path:
    if os.environ.get("CNNVIZ_MODEL_DIR"):
        return Path(os.environ["CNNVIZ_MODEL_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "cnnviz" / "models"


def selected_specs(only: Optional[str]) -> List[Spec]:
    """Specs named by --only (all if None; "pt2" names every PT2_NAMES spec) plus their
    dependencies, in SPECS order."""
    if only is None:
        return list(SPECS.values())
    names = {name.strip() for name in only.split(",") if name.strip()}
    if "pt2" in names:
        names = (names - {"pt2"}) | PT2_NAMES
    unknown = sorted(names - SPECS.keys())
    too_old = [name for name in unknown if name in MODERN_NAMES]
    if too_old:
        raise ValueError(f"{', '.join(too_old)} need(s) PyTorch >= 2.0 (this is "
                         f"{torch.__version__}); export them in the sid root "
                         "(scripts/modern-root run python3 models/export_models.py)")
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)} (see --list)")
    pending = list(names)
    while pending:
        for dep in SPECS[pending.pop()].depends:
            if dep not in names:
                names.add(dep)
                pending.append(dep)
    return [spec for spec in SPECS.values() if spec.name in names]


def default_threads() -> int:
    """Half the cores, at most 4: the export often shares the machine with a
    build, and an oversubscribed OpenMP pool runs slower than a single thread."""
    return max(1, min((os.cpu_count() or 1) // 2, 4))


def configure_torch(threads: Optional[int]) -> None:
    """Threads and warnings for a quiet batch run."""
    if threads is None and "OMP_NUM_THREADS" in os.environ:
        threads = torch.get_num_threads()  # torch already follows OMP_NUM_THREADS
    torch.set_num_threads(threads or default_threads())
    # Expected and harmless here: tracing constant-folds shapes, and scripted
    # torchvision GoogLeNet always returns its GoogLeNetOutputs tuple.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="Scripted GoogleNet always returns")
    # PyTorch 2.x on Python 3.14 warns on every torch.jit.script/trace/save/load call.
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is not supported in Python 3\.14",
                            category=FutureWarning)


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Export cnnviz's TorchScript models and test fixtures.")
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: $CNNVIZ_MODEL_DIR, else "
                             "${XDG_CACHE_HOME:-$HOME/.cache}/cnnviz/models)")
    parser.add_argument("--only", metavar="NAMES",
                        help="comma-separated names to export (plus what they depend on); "
                             "pt2: the models that have a .pt2")
    parser.add_argument("--force", action="store_true",
                        help="export even if the files are up to date")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="torch intra-op threads (default: $OMP_NUM_THREADS, else "
                             "half the cores, at most 4)")
    parser.add_argument("--list", action="store_true",
                        help="print the exportable names and exit")
    parser.add_argument("--print-dir", action="store_true",
                        help="print the output directory and exit")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.print_dir:
        print((args.out or default_out_dir()).expanduser())
        return 0
    if args.list:
        for spec in SPECS.values():
            shapes = " ".join("x".join(map(str, s)) for s in spec.input_shapes)
            print(f"{spec.name:<20} {spec.kind:<10} {shapes}")
        return 0

    context = ""  # "<model>: " once a model is being exported
    try:
        specs = selected_specs(args.only)
        out_dir = (args.out or default_out_dir()).expanduser()
        out_dir.mkdir(parents=True, exist_ok=True)
        configure_torch(args.threads)
        for spec in specs:
            context = f"{spec.name}: "
            print(export(spec, out_dir, args.force), flush=True)
    except KeyboardInterrupt:
        print("export_models: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - report any failure in one line
        lines = str(error).strip().splitlines() or [type(error).__name__]
        print(f"export_models: {context}{type(error).__name__}: {lines[0]}", file=sys.stderr)
        return 1
    return 0


def reexec_with_fixed_hash_seed() -> None:
    """Restarts this script under PYTHONHASHSEED=0 unless it already runs so.

    torch.jit.save writes each module's __constants__ in the iteration order
    of a Python set of strings, which changes with the per-process hash seed;
    a fixed seed makes exports byte for byte reproducible.
    """
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]],
                  env)


if __name__ == "__main__":
    reexec_with_fixed_hash_seed()
    sys.exit(main())
