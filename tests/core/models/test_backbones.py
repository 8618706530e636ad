from pathlib import Path

import pytest
import torch
from PIL import Image

from core.data.transforms import eval_transform
from core.models.backbones import (
    BACKBONES,
    LITE_MEAN,
    LITE_STD,
    BackboneUnavailable,
    get_backbone,
    load_efficientnet_lite,
)

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


TORCHVISION = [name for name, spec in BACKBONES.items() if spec.source == "torchvision"]


@pytest.mark.parametrize("name", TORCHVISION)
def test_every_torchvision_backbone_loads_its_cached_weights_and_gets_the_new_head(name, tmp_path, monkeypatch):
    """The registry's file name and size are torchvision's own; a state_dict in the hub cache is what gets loaded."""
    import torchvision.models as tvm

    from core.models.classifier import build_classifier

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    spec = get_backbone(name)
    weights = tvm.get_model_weights(name).DEFAULT
    assert spec.weights_file == weights.url.rsplit("/", 1)[1]
    assert spec.weights_mb == pytest.approx(weights.meta["_file_size"], abs=0.1)
    assert spec.params_m == pytest.approx(weights.meta["num_params"] / 1e6, abs=0.05)
    assert not spec.available()

    torch.manual_seed(0)
    reference = tvm.get_model(name)
    spec.weights_path().parent.mkdir(parents=True)
    torch.save(reference.state_dict(), spec.weights_path())
    assert spec.available() and spec.weights_path().parent == Path(torch.hub.get_dir()) / "checkpoints"

    model = build_classifier(name, 7, True, 224, head="mlp", hidden=32).eval()
    loaded = model.backbone.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in reference.state_dict().items() if k in loaded)
    assert len(loaded) >= len(reference.state_dict()) - 2  # only the ImageNet classifier's last layer is gone
    with torch.inference_mode():
        features = model.backbone(torch.randn(2, 3, 224, 224))
        assert features.shape == (2, spec.feature_dim)
        assert model.head(features).shape == (2, 7)


@pytest.mark.parametrize("name", ["efficientnet_lite1", "efficientnet_lite2", "scratch_cnn"])
def test_bundled_and_scratch_backbones_build_offline(name):
    from core.models.classifier import build_classifier

    spec = get_backbone(name)
    assert spec.available()
    model = build_classifier(name, 3, spec.pretrained, 96, head="bn_mlp").eval()
    with torch.inference_mode():
        assert model.backbone(torch.randn(2, 3, 96, 96)).shape == (2, spec.feature_dim)
        assert model(torch.randn(2, 3, 96, 96)).shape == (2, 3)


def test_choosing_a_backbone_without_its_file_stops_before_a_run_folder_is_made(tiny_dataset, tmp_path, monkeypatch):
    from core import TrainConfig, train

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(BackboneUnavailable, match="resnet34-b627a593.pth"):
        next(train(TrainConfig(data=str(tiny_dataset), backbone="resnet34", out=str(tmp_path / "runs"))))
    assert not (tmp_path / "runs").exists()
