"""A backbone cut in two at its registry `TopCut`: a bottom that stays frozen and a top that can train alone.

Both halves hold the backbone's own modules (no copies), so training the top trains the backbone, and the run's
checkpoint is the whole model as ever: top(bottom(x)) equals backbone(x), in eval and in training mode.
"""
from __future__ import annotations

import torch
from torch import nn

from core.models.backbones import BackboneSpec, TopCut


class LiteSteps(nn.Module):
    """Blocks [start, stop) of an EfficientNet-Lite, with the stem before the first block and the conv head and
    pooling after the last, at the drop-connect rates the whole network gives them."""

    def __init__(self, net: nn.Module, start: int, stop: int):
        super().__init__()
        count = len(net._blocks)
        self.stem = nn.ModuleList([net._conv_stem, net._bn0]) if start == 0 else None
        self.blocks = nn.ModuleList(list(net._blocks)[start:stop])
        self.head = nn.ModuleList([net._conv_head, net._bn1]) if stop == count else None
        self.swish = net._swish
        rate = net._global_params.drop_connect_rate or 0.0
        self.rates = [rate * index / count for index in range(start, stop)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stem is not None:
            x = self.swish(self.stem[1](self.stem[0](x)))
        for block, rate in zip(self.blocks, self.rates):
            x = block(x, drop_connect_rate=rate)
        if self.head is not None:
            x = self.swish(self.head[1](self.head[0](x))).mean(dim=(2, 3))
        return x


def _split_lite(backbone: nn.Module, path: str) -> tuple[nn.Module, nn.Module]:
    net = backbone.net
    start = int(path.rsplit(".", 1)[1])
    return LiteSteps(net, 0, start), LiteSteps(net, start, len(net._blocks))


def _split_resnet(model: nn.Module, path: str) -> tuple[nn.Module, nn.Module]:
    order = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    cut = order.index(path)
    bottom = nn.Sequential(*[getattr(model, name) for name in order[:cut]])
    return bottom, nn.Sequential(*[getattr(model, name) for name in order[cut:]], model.avgpool, nn.Flatten(1),
                                 model.fc)


# torchvision models whose forward is features -> avgpool -> [flatten] -> classifier
FLATTEN_BEFORE_CLASSIFIER = {"MobileNetV3": True, "EfficientNet": True, "ConvNeXt": False}


def _split_features(model: nn.Module, path: str) -> tuple[nn.Module, nn.Module]:
    """Cut `features` at "features.K" or inside its stage K at "features.K.J"."""
    indices = [int(part) for part in path.split(".")[1:]]
    stage = indices[0]
    features = list(model.features)
    bottom, top = features[:stage], features[stage:]
    if len(indices) == 2:
        inner = list(features[stage])
        bottom, top = bottom + inner[:indices[1]], inner[indices[1]:] + features[stage + 1:]
    ending = [model.avgpool] + ([nn.Flatten(1)] if FLATTEN_BEFORE_CLASSIFIER[type(model).__name__] else [])
    return nn.Sequential(*bottom), nn.Sequential(*top, *ending, model.classifier)


SPLITTERS = {"EfficientNetLiteFeatures": _split_lite, "ResNet": _split_resnet, "MobileNetV3": _split_features,
             "EfficientNet": _split_features, "ConvNeXt": _split_features}


def split_backbone(spec: BackboneSpec, backbone: nn.Module, cut: TopCut | None = None) -> tuple[nn.Module, nn.Module]:
    """(bottom, top) of `backbone` at `cut` (default: the registry's top cut), sharing its modules."""
    cut = cut or spec.top
    if cut is None or type(backbone).__name__ not in SPLITTERS:
        raise ValueError(f"{spec.title} has no top to fine-tune alone; choose another backbone or freezing mode")
    return SPLITTERS[type(backbone).__name__](backbone, cut.module)


class BottomAndTop(nn.Module):
    """images -> (activations at the cut, pooled features): one pass of the frozen backbone fills both caches."""

    def __init__(self, bottom: nn.Module, top: nn.Module):
        super().__init__()
        self.bottom, self.top = bottom, top

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        activations = self.bottom(x)
        return activations, self.top(activations)
