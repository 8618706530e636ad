"""The classifier: a backbone plus a new head, with freezing that really freezes."""
from __future__ import annotations

from torch import nn

from core.models.backbones import get_backbone
from core.models.heads import build_head


class Classifier(nn.Module):
    """Backbone -> head. While `frozen`, the backbone has no gradients and never leaves eval mode.

    With `keep_bn_stats` (pretrained backbones), fine-tuning trains every weight but BatchNorm layers keep their
    ImageNet statistics: recomputing them from small batches of unfamiliar pictures changes every feature at once,
    which wrecks a head trained on the frozen features (two-stage) and makes validation (running stats) drift.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, frozen: bool, keep_bn_stats: bool = True):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.keep_bn_stats = keep_bn_stats
        self.set_frozen(frozen)

    def set_frozen(self, frozen: bool) -> None:
        """Freeze or unfreeze the backbone (two-stage training unfreezes it once, between its stages)."""
        self.frozen = frozen
        self.backbone.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True) -> "Classifier":
        # model.train() on a frozen backbone would let BatchNorm statistics drift on the new data,
        # which is what collapses the usual "freeze the params, call model.train()" recipe.
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        elif self.keep_bn_stats:
            for module in self.backbone.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward(self, x):
        return self.head(self.backbone(x))


def build_classifier(backbone: str, num_classes: int, frozen: bool, image_size: int, pretrained: bool = True,
                     head: str = "linear", hidden: int = 512, dropout: float = 0.2) -> Classifier:
    """A classifier for `num_classes` on the named backbone (ImageNet weights unless `pretrained` is False)."""
    spec = get_backbone(backbone)
    features = spec.build(pretrained and spec.pretrained, image_size)
    head_module = build_head(head, spec.feature_dim, num_classes, hidden, dropout)
    return Classifier(features, head_module, frozen, keep_bn_stats=spec.pretrained)
