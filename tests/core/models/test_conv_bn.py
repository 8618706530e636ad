"""The conv + BatchNorm rewrites change speed only: same parameters, outputs and gradients as the published model."""
import copy

import pytest
import torch
from torch import nn

from core.models.backbones import _drop_classifier, get_backbone, load_efficientnet_lite
from core.models.classifier import Classifier
from core.models.lite import EfficientNetLiteFeatures
from core.models.conv_bn import BatchNormInConv, ConvWithFrozenBatchNorm
from core.models.onnx import OnnxRunner, export_onnx


def _pair(pretrained: bool, size: int = 96):
    torch.manual_seed(0)
    fast = load_efficientnet_lite(0, size, pretrained=pretrained)
    plain = load_efficientnet_lite(0, size, pretrained=pretrained, fast=False)
    plain.load_state_dict(fast.state_dict())
    head = nn.Linear(1280, 3)
    return (Classifier(fast, head, frozen=False, keep_bn_stats=pretrained),
            Classifier(plain, nn.Linear(1280, 3), frozen=False, keep_bn_stats=pretrained), head)


def _step(model: Classifier, x, y):
    model.zero_grad()
    torch.manual_seed(1)  # the same drop-connect masks for both models
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    return loss.item(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("pretrained", [True, False], ids=["fine-tune, statistics kept", "from scratch"])
def test_rewritten_model_has_the_same_loss_and_gradients(pretrained):
    fast, plain, head = _pair(pretrained)
    plain.head.load_state_dict(head.state_dict())
    assert list(fast.state_dict()) == list(plain.state_dict())
    fast.train(), plain.train()
    x, y = torch.randn(4, 3, 96, 96), torch.tensor([0, 1, 2, 0])
    # In float64 the rewrite's arithmetic is checked exactly; in float32 oneDNN's kernels on an AVX2-only CPU round
    # the published model's own ops by up to 3 % of a gradient (against its non-oneDNN kernels), which would say
    # nothing about the rewrite.
    fast64, plain64 = copy.deepcopy(fast).double(), copy.deepcopy(plain).double()
    (fast_loss, fast_grads), (plain_loss, plain_grads) = _step(fast64, x.double(), y), _step(plain64, x.double(), y)
    assert fast_loss == pytest.approx(plain_loss, rel=1e-12)
    assert fast_grads.keys() == plain_grads.keys()
    for name, grad in plain_grads.items():
        assert (fast_grads[name] - grad).abs().max() <= 1e-10 * grad.abs().max() + 1e-14, name
    fast.eval(), plain.eval()
    with torch.no_grad():
        assert (fast(x) - plain(x)).abs().max() < 1e-4


def test_every_conv_bn_pair_is_rewritten_and_only_asymmetric_padding_is_left():
    net = load_efficientnet_lite(0, 224, pretrained=False)
    assert isinstance(net, EfficientNetLiteFeatures)
    convs = [m for m in net.modules() if isinstance(m, ConvWithFrozenBatchNorm)]
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(convs) == len(norms) > 40 and all(isinstance(m, BatchNormInConv) for m in norms)
    pads = [m.static_padding.padding for m in convs if isinstance(m.static_padding, nn.ZeroPad2d)]
    assert pads and all(left != right for left, right, _, _ in pads)  # the stride-2 ones
    assert len(pads) < len([m for m in convs if max(m.kernel_size) > 1]) / 2


def _torchvision_pair(arch: str):
    import torchvision

    torch.manual_seed(0)
    fast = get_backbone(arch).build(False, 64)
    for m in fast.modules():  # statistics as far from the identity as a pretrained model's
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.5), m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5), m.bias.data.normal_(0, 0.2)
    plain = _drop_classifier(getattr(torchvision.models, arch)())
    plain.load_state_dict(fast.state_dict())
    return fast, plain


@pytest.mark.parametrize("arch", ["resnet18", "resnet50", "mobilenet_v3_large", "efficientnet_b0"])
def test_torchvision_backbones_fold_every_batchnorm_with_the_same_loss_and_gradients(arch):
    spec = get_backbone(arch)
    fast, plain = _torchvision_pair(arch)
    norms = [m for m in fast.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(isinstance(m, BatchNormInConv) for m in norms), "every BatchNorm is applied in its conv"
    assert not any(isinstance(m, BatchNormInConv) for m in plain.modules())
    head = nn.Linear(spec.feature_dim, 3)
    fast_model = Classifier(fast, head, frozen=False, keep_bn_stats=True)
    plain_model = Classifier(plain, nn.Linear(spec.feature_dim, 3), frozen=False, keep_bn_stats=True)
    plain_model.head.load_state_dict(head.state_dict())
    fast_model.train(), plain_model.train()
    x, y = torch.randn(2, 3, 64, 64), torch.tensor([0, 2])
    (fast_loss, fast_grads), (plain_loss, plain_grads) = _step(fast_model, x, y), _step(plain_model, x, y)
    assert fast_loss == pytest.approx(plain_loss, rel=1e-5)
    assert fast_grads.keys() == plain_grads.keys()
    for name, grad in plain_grads.items():
        assert (fast_grads[name] - grad).abs().max() <= 1e-4 * grad.abs().max() + 1e-8, name


def test_a_folded_torchvision_backbone_exports_to_onnx_with_the_same_features(tmp_path):
    fast, plain = _torchvision_pair("mobilenet_v3_large")
    fast.eval(), plain.eval()
    runner = OnnxRunner(export_onnx(fast, 64, tmp_path / "m.onnx"))
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        assert (runner(x) - plain(x)).abs().max() < 1e-4
