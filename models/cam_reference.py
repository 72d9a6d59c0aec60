"""Class activation maps as pytorch-grad-cam 1.5 computes them, in plain PyTorch and numpy.

The formulas and the order of operations follow pytorch-grad-cam's base_cam.py, grad_cam.py,
grad_cam_plusplus.py, xgrad_cam.py, layer_cam.py, hirescam.py, eigen_cam.py, grad_cam_elementwise.py,
utils/svd_on_activations.py and utils/image.py: activations and gradients become float32 numpy
arrays and every step after that is the same numpy expression. The one deliberate difference:
cv2.resize (INTER_LINEAR) is F.interpolate(bilinear, align_corners=False), which agrees with it to
2e-7. Checked against shared/reference/cam (VGG11 features.20, class 24 and top-1): <= 1.8e-7.

Used by references.py (the cam.* references) and shapes.py (the pointing game).
"""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F


def module_at(model: torch.nn.Module, path: str) -> torch.nn.Module:
    for part in path.split("."):
        model = getattr(model, part)
    return model


CAM_METHODS = ("gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "eigencam", "gradcamelementwise")


def capture_cam_inputs(model: torch.nn.Module, layers: Sequence[str], x: torch.Tensor,
                       target: Optional[int]) -> Tuple[Dict[str, Tuple[np.ndarray, np.ndarray]], int]:
    """One forward and backward pass, as pytorch-grad-cam's BaseCAM.forward runs it.

    Returns {layer: (activation, gradient)} as float32 numpy arrays [1, C, h, w], and the class
    whose raw logit was back-propagated (target, or the top-1 class when target is None). The
    activation is a clone of the module's output taken in a forward hook, so an in-place op after
    the module cannot change it; the gradient comes from a tensor hook registered on that output
    in the same forward hook, i.e. it is d(score)/d(the module's own output). Hooks return None:
    a forward hook that returned a value would replace the output.
    """
    activations: Dict[str, torch.Tensor] = {}
    gradients: Dict[str, torch.Tensor] = {}
    handles = []

    def make_hook(path: str):
        def store_grad(grad: torch.Tensor) -> None:
            gradients[path] = grad.detach().clone()

        def hook(_module, _inputs, output) -> None:
            activations[path] = output.detach().clone()
            if output.requires_grad:
                output.register_hook(store_grad)
        return hook

    for path in layers:
        handles.append(module_at(model, path).register_forward_hook(make_hook(path)))
    try:
        with torch.enable_grad():
            outputs = model(x)
            if target is None:
                target = int(np.argmax(outputs.detach().numpy(), axis=-1)[0])
            model.zero_grad()
            loss = sum([output[target] for output in outputs])  # ClassifierOutputTarget: raw logit
            loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    captured = {path: (activations[path].numpy().astype(np.float32),
                       gradients[path].numpy().astype(np.float32)) for path in layers}
    return captured, target


def get_2d_projection(activation_batch: np.ndarray) -> np.ndarray:
    """utils/svd_on_activations.py: the centred [hw, C] matrix projected on its first right
    singular vector, with whatever sign LAPACK gives it."""
    activation_batch = activation_batch.copy()
    activation_batch[np.isnan(activation_batch)] = 0
    projections = []
    for activations in activation_batch:
        reshaped_activations = activations.reshape(activations.shape[0], -1).transpose()
        reshaped_activations = reshaped_activations - reshaped_activations.mean(axis=0)
        _, _, vt = np.linalg.svd(reshaped_activations, full_matrices=True)
        projection = reshaped_activations @ vt[0, :]
        projections.append(projection.reshape(activations.shape[1:]))
    return np.float32(projections)


def raw_cam(method: str, activations: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """The [N, h, w] map before ReLU and scaling (get_cam_weights / get_cam_image)."""
    if method == "eigencam":
        return get_2d_projection(activations)
    if method == "gradcamelementwise":  # grad_cam_elementwise.py: relu(grads * activations), summed
        return np.maximum(grads * activations, 0).sum(axis=1)
    if method == "layercam":
        return (np.maximum(grads, 0) * activations).sum(axis=1)
    if method == "hirescam":
        return (grads * activations).sum(axis=1)
    if method == "gradcam":
        weights = np.mean(grads, axis=(2, 3))
    elif method == "gradcam++":
        grads_power_2 = grads**2
        grads_power_3 = grads_power_2 * grads
        sum_activations = np.sum(activations, axis=(2, 3))
        eps = 0.000001
        aij = grads_power_2 / (2 * grads_power_2 + sum_activations[:, :, None, None] * grads_power_3 + eps)
        aij = np.where(grads != 0, aij, 0)
        weights = np.maximum(grads, 0) * aij
        weights = np.sum(weights, axis=(2, 3))
    elif method == "xgradcam":
        sum_activations = np.sum(activations, axis=(2, 3))
        eps = 1e-7
        weights = grads * activations / (sum_activations[:, :, None, None] + eps)
        weights = weights.sum(axis=(2, 3))
    else:
        raise ValueError(f"unknown CAM method {method!r}")
    return (weights[:, :, None, None] * activations).sum(axis=1)


def scale_cam_image(cam: np.ndarray, target_size: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """utils/image.py: per image x - min, x / (1e-7 + max), then a bilinear resize to
    target_size = (width, height)."""
    result = []
    for img in cam:
        img = img - np.min(img)
        img = img / (1e-7 + np.max(img))
        if target_size is not None:
            width, height = target_size
            resized = F.interpolate(torch.from_numpy(np.float32(img))[None, None], size=(height, width),
                                    mode="bilinear", align_corners=False)
            img = resized[0, 0].numpy()
        result.append(img)
    return np.float32(result)


def cam_map(method: str, activations: np.ndarray, grads: np.ndarray,
            target_size: Tuple[int, int]) -> np.ndarray:
    """The [N, H, W] float32 map in [0, 1] that pytorch-grad-cam returns for one target layer:
    compute_cam_per_layer (ReLU, min-max, resize) then aggregate_multi_layers (ReLU, mean over the
    one layer, min-max again)."""
    cam = raw_cam(method, activations, grads)
    cam = np.maximum(cam, 0)
    scaled = scale_cam_image(cam, target_size)
    cam_per_target_layer = np.concatenate([scaled[:, None, :]], axis=1)
    cam_per_target_layer = np.maximum(cam_per_target_layer, 0)
    result = np.mean(cam_per_target_layer, axis=1)
    return scale_cam_image(result)


def score_cam_map(model: torch.nn.Module, activations: np.ndarray, x: torch.Tensor, target: int,
                  size: Tuple[int, int], batch_size: int = 16) -> np.ndarray:
    """ScoreCAM as pytorch-grad-cam 1.5's ScoreCAM.get_cam_weights computes it: each channel of the
    activation, upsampled with UpsamplingBilinear2d (align_corners=True) and min-max scaled with eps
    1e-8, masks the input; the raw target logits of the masked inputs, softmaxed over channels, weight
    the channels; then the shared post-processing (cam_map's ReLU, scaling and resize)."""
    with torch.no_grad():
        upsample = torch.nn.UpsamplingBilinear2d(size=x.shape[-2:])
        upsampled = upsample(torch.from_numpy(activations))
        maxs = upsampled.view(upsampled.size(0), upsampled.size(1), -1).max(dim=-1)[0][:, :, None, None]
        mins = upsampled.view(upsampled.size(0), upsampled.size(1), -1).min(dim=-1)[0][:, :, None, None]
        upsampled = (upsampled - mins) / (maxs - mins + 1e-8)
        inputs = x[:, None, :, :] * upsampled[:, :, None, :, :]
        scores = []
        for tensor in inputs:
            for i in range(0, tensor.size(0), batch_size):
                scores.extend(float(o[target]) for o in model(tensor[i:i + batch_size]))
        weights = torch.nn.Softmax(dim=-1)(torch.Tensor(scores).view(activations.shape[0], activations.shape[1])).numpy()
    cam = (weights[:, :, None, None] * activations).sum(axis=1)
    cam = np.maximum(cam, 0)
    scaled = scale_cam_image(cam, size)
    return scale_cam_image(np.maximum(scaled, 0))
