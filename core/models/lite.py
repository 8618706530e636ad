"""EfficientNet-Lite as a feature extractor: the published network without its ImageNet classifier (the bundled
backbone; loaded by core.models.backbones)."""
from __future__ import annotations

import torch
from torch import nn


class EfficientNetLiteFeatures(nn.Module):
    """EfficientNet-Lite without its ImageNet classifier: images -> (N, 1280) pooled features."""

    def __init__(self, net: nn.Module):
        super().__init__()
        del net._fc, net._dropout
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x).mean(dim=(2, 3))
