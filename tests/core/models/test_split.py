"""A backbone cut at its registry TopCut: the halves compute the whole, share its weights, and match the registry."""
import pytest
import torch

from core.models.backbones import BACKBONES, get_backbone
from core.models.split import BottomAndTop, split_backbone

SPLITTABLE = [name for name, spec in BACKBONES.items() if spec.top is not None]


@pytest.mark.parametrize("name", SPLITTABLE)
def test_top_of_bottom_is_the_backbone_and_the_registry_says_what_flows_between(name):
    spec = get_backbone(name)
    torch.manual_seed(0)
    backbone = spec.build(spec.source == "bundled", 64).eval()  # torchvision: random weights (no download here)
    bottom, top = split_backbone(spec, backbone)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        activations, features = BottomAndTop(bottom, top)(x)
        whole = backbone(x)
    assert activations.shape[1:] == (spec.top.channels, 64 // spec.top.stride, 64 // spec.top.stride)
    assert spec.top.bytes_per_image(64) == activations[0].numel() * 2
    assert torch.allclose(features, whole, atol=1e-5)
    owned = {id(p) for p in backbone.parameters()}
    top_params, bottom_params = {id(p) for p in top.parameters()}, {id(p) for p in bottom.parameters()}
    assert top_params and top_params <= owned and bottom_params <= owned and not top_params & bottom_params
    assert len(top_params | bottom_params) == len(owned)  # every weight on exactly one side


def test_the_top_applies_the_drop_connect_rates_of_its_blocks_in_the_whole_network():
    spec = get_backbone("efficientnet_lite0")
    backbone = spec.build(True, 64)
    bottom, top = split_backbone(spec, backbone)
    backbone.train(), bottom.eval()  # the whole network in training mode, the bottom as it is cached: eval
    for module in backbone.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        activations = bottom(x)
        torch.manual_seed(3)
        split = top(activations)
        torch.manual_seed(3)
        whole = x
        whole = backbone.net._swish(backbone.net._bn0(backbone.net._conv_stem(whole)))
        blocks = backbone.net._blocks
        for index, block in enumerate(blocks):  # blocks 12 on in training mode (drop-connect), the rest in eval
            whole = block(whole, drop_connect_rate=0.2 * index / len(blocks))
        whole = backbone.net._swish(backbone.net._bn1(backbone.net._conv_head(whole))).mean(dim=(2, 3))
    assert torch.allclose(split, whole, atol=1e-5) and not torch.allclose(split, backbone.eval()(x), atol=1e-3)
    assert top.rates[0] == pytest.approx(0.2 * 12 / 16)


def test_a_backbone_without_a_cut_is_refused_with_a_sentence():
    spec = get_backbone("vit_b_16")
    with pytest.raises(ValueError, match="no top to fine-tune alone"):
        split_backbone(spec, torch.nn.Identity())
