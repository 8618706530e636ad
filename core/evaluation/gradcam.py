"""Grad-CAM (Selvaraju et al. 2017): where in the picture the evidence for a class lies, from the gradient of the
class score at the backbone's last convolutional stage. A few hooks instead of the `grad-cam` package, which would
bring OpenCV, matplotlib, ttach and tqdm for the same arithmetic."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.models.backbones import get_backbone


class CamUnavailable(ValueError):
    """This backbone has no convolutional map to explain a prediction with."""


def cam_layer(backbone_name: str, backbone: nn.Module) -> nn.Module:
    """The module of `backbone` whose activations Grad-CAM weighs, or CamUnavailable saying why not."""
    spec = get_backbone(backbone_name)
    if spec.cam_layer is None:
        raise CamUnavailable(f"{spec.title} has no convolutional map, so there is no heatmap of where it looked.")
    return backbone.get_submodule(spec.cam_layer)


def gradcam(model: nn.Module, backbone_name: str, x: torch.Tensor, target: int | None = None) -> tuple[np.ndarray, int]:
    """The heatmap (H x W of the input, 0 to 1) of class `target` (the predicted class when None) for one
    preprocessed image `x` (1 x 3 x H x W), and that class. Works whether or not the backbone is frozen."""
    saved: dict[str, torch.Tensor] = {}

    def keep(module, inputs, output):
        output = output if output.requires_grad else output.detach().requires_grad_()
        output.retain_grad()
        saved["activations"] = output
        return output

    handle = cam_layer(backbone_name, model.backbone).register_forward_hook(keep)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            logits = model(x)
            target = int(logits.argmax(1)) if target is None else target
            logits[0, target].backward()
    finally:
        handle.remove()
        model.train(was_training)
        model.zero_grad(set_to_none=True)
    activations = saved["activations"]
    weights = activations.grad.mean(dim=(2, 3), keepdim=True)  # each channel's importance for the class
    cam = torch.relu((weights * activations).sum(dim=1, keepdim=True)).detach()
    cam = nn.functional.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    top = cam.max()
    return (cam / top if top > 0 else cam).numpy(), target


def overlay(image: Image.Image, heat: np.ndarray, alpha: float = 0.45) -> Image.Image:
    """The heatmap over the picture (resized to the heatmap), red where the evidence is, for people."""
    base = np.asarray(image.convert("RGB").resize(heat.shape[::-1]), dtype=np.float32)
    colour = np.stack([heat, np.zeros_like(heat), 1 - heat], axis=-1) * 255  # red hot, blue cold
    mixed = base * (1 - alpha * heat[..., None]) + colour * alpha * heat[..., None]
    return Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8))
