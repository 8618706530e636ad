"""Exact rewrites of conv + BatchNorm pairs that make fine-tuning on CPU faster, the parameters untouched.

- TensorFlow-style "same" padding that is symmetric (every stride-1 convolution of EfficientNet-Lite) becomes
  the convolution's own padding instead of a zero-pad layer that copies the whole activation map, forward and
  backward.
- A BatchNorm that keeps its statistics (eval mode: a pretrained backbone, frozen or fine-tuned) is applied
  inside the convolution before it: conv(x, w * s) + (beta - mean * s) with s = gamma / sqrt(var + eps). The
  parameters stay w, gamma and beta, so gradients, optimizer state and checkpoints are those of the plain model;
  only the BatchNorm's own passes over the activation map disappear. A BatchNorm in training mode (a backbone
  trained from scratch) runs as usual.
What it buys per backbone is measured by `bench/speed.py` and stated in the README's Performance section.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NET_PAIRS = (("_conv_stem", "_bn0"), ("_conv_head", "_bn1"))
BLOCK_PAIRS = (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))


class ConvWithFrozenBatchNorm(nn.Conv2d):
    """A convolution (EfficientNet-Lite's keep their static padding) that also applies its partner BatchNorm while
    that one is in eval mode."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn = self.__dict__["partner_bn"]  # a plain reference, not a submodule: the state_dict keeps its keys
        pad = self._modules.get("static_padding")
        if pad is not None:
            x = pad(x)
        weight, bias = self.weight, self.bias
        if not bn.training:
            scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
            weight = weight * scale.view(-1, 1, 1, 1)
            bias = bn.bias - bn.running_mean * scale + (0 if self.bias is None else self.bias * scale)
        return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class BatchNormInConv(nn.BatchNorm2d):
    """A BatchNorm whose eval-mode work is done by the convolution before it; in training mode, itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) if self.training else x


def pad_inside_conv(conv: nn.Module) -> None:
    """Move a symmetric static zero-pad into the convolution's own padding (an asymmetric one, stride 2, stays)."""
    pad = getattr(conv, "static_padding", None)
    if isinstance(pad, nn.ZeroPad2d):
        left, right, top, bottom = pad.padding
        if left == right and top == bottom:
            conv.padding = (top, left)
            conv.static_padding = nn.Identity()


def fold_batchnorm(conv: nn.Module, bn: nn.Module) -> None:
    """Let `conv` apply `bn` whenever `bn` is in eval mode; same parameters, same module tree."""
    if not (type(bn) is nn.BatchNorm2d and bn.affine and bn.track_running_stats and isinstance(conv, nn.Conv2d)
            and conv.padding_mode == "zeros" and conv.out_channels == bn.num_features):
        return
    conv.__class__ = ConvWithFrozenBatchNorm
    bn.__class__ = BatchNormInConv
    conv.__dict__["partner_bn"] = bn


def speed_up_efficientnet_lite(net: nn.Module) -> nn.Module:
    """Both rewrites on every conv + BatchNorm pair of an `efficientnet_lite_pytorch` EfficientNet, in place."""
    pairs = [(net, names) for names in NET_PAIRS]
    pairs += [(block, names) for block in net._blocks for names in BLOCK_PAIRS if hasattr(block, names[0])]
    for owner, (conv_name, bn_name) in pairs:
        conv, bn = getattr(owner, conv_name), getattr(owner, bn_name)
        pad_inside_conv(conv)
        fold_batchnorm(conv, bn)
    return net


def torchvision_pairs(model: nn.Module) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
    """Conv + BatchNorm pairs of a torchvision model where the BatchNorm reads the convolution's output alone:
    adjacent in an nn.Sequential (Conv2dNormActivation, ResNet's downsample) or a ResNet's own conv/bn pairs."""
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

    named = {ResNet: (("conv1", "bn1"),), BasicBlock: (("conv1", "bn1"), ("conv2", "bn2")),
             Bottleneck: (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))}
    pairs = []
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module.children())
            pairs += [(a, b) for a, b in zip(children, children[1:])
                      if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d)]
        pairs += [(getattr(module, c), getattr(module, b)) for c, b in named.get(type(module), ())]
    return pairs


def speed_up_torchvision(model: nn.Module) -> nn.Module:
    """The BatchNorm rewrite on every pair `torchvision_pairs` finds, in place."""
    for conv, bn in torchvision_pairs(model):
        fold_batchnorm(conv, bn)
    return model
