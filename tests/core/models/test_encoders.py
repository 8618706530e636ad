"""ONNX Runtime against PyTorch on the real bundled weights; the disk feature cache; cached augmented views."""
import os

import numpy as np
import pytest
import torch
from PIL import Image

from core import EpochDone, TrainConfig, train
from core.data.scan import scan_dataset
from core.data.transforms import eval_transform
from core.inference.predict import load_predictor
from core.models.backbones import get_backbone, load_efficientnet_lite
from core.models.encoders import frozen_encoder, torch_runner, weights_id
from core.models.onnx import OnnxRunner, export_onnx
from core.training.feature_store import FeatureStore
from core.training.features import FeatureSet, dataset_features


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private, empty cache folder for exports and features."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("TRANSFER_STUDIO_CACHE", str(folder))
    return folder


def _batch(data, size=224) -> torch.Tensor:
    spec = get_backbone("efficientnet_lite0")
    files = sorted(data.glob("valid/*/*"))[:6]
    transform = eval_transform(size, spec.mean, spec.std)
    return torch.stack([transform(Image.open(f).convert("RGB")) for f in files])


def test_onnx_runtime_matches_pytorch_features_and_imagenet_top1(tiny_dataset, tmp_path):
    net = load_efficientnet_lite(0, 224, pretrained=True, with_classifier=True).eval()
    x = _batch(tiny_dataset)
    runner = OnnxRunner(export_onnx(net, 224, tmp_path / "lite0.onnx"))
    with torch.inference_mode():
        expected = net(x)
    got = runner(x)
    assert got.shape == (6, 1000)
    assert (got - expected).abs().max().item() < 1e-3
    assert torch.equal(got.argmax(1), expected.argmax(1))


def test_frozen_encoder_exports_once_and_reuses_the_file(tiny_dataset, cache):
    spec = get_backbone("efficientnet_lite0")
    backbone = load_efficientnet_lite(0, 64, pretrained=True)
    first = frozen_encoder(spec, backbone, 64, "p", torch.device("cpu"))
    again = frozen_encoder(spec, backbone, 64, "p", torch.device("cpu"))
    assert (first.engine, first.note) == ("onnxruntime", "exported once and cached")
    assert again.note == "from the cached export"
    assert len(list((cache / "onnx").glob("*.onnx"))) == 1
    x = _batch(tiny_dataset, 64)
    assert (first.run(x)[0] - torch_runner(backbone, torch.device("cpu"))(x)).abs().max().item() < 1e-3
    assert "efficientnet-lite0" in weights_id(spec) and first.key.startswith("efficientnet_lite0|")


def _features(data, cache_dir, views=1, engine="auto", augment="flip,crop"):
    index = scan_dataset(data)
    config = TrainConfig(data=str(data), image_size=64, engine=engine, augment=augment)
    spec = get_backbone("efficientnet_lite0")
    backbone = load_efficientnet_lite(0, 64, pretrained=True)
    items = list(dataset_features(spec, backbone, config, index.splits["train"], index.splits["valid"],
                                  torch.device("cpu"), views, store=FeatureStore(cache_dir)))
    return items[-1], [i for i in items if not isinstance(i, FeatureSet)]


def test_second_pass_reads_the_cache_and_only_a_changed_or_new_file_is_encoded_again(tmp_path, cache):
    from core.data.demo import make_shapes_dataset

    data = make_shapes_dataset(tmp_path / "shapes", train_per_class=3, valid_per_class=2, size=64)
    cold, _ = _features(data, cache)
    warm, progress = _features(data, cache)
    assert (cold.from_cache, warm.from_cache) == (0, 20)
    assert progress[-1].cached == 20 and torch.equal(cold.features, warm.features)

    changed = next((data / "train" / "circle").iterdir())
    Image.new("RGB", (64, 64), (200, 30, 30)).save(changed)
    os.utime(changed, ns=(1, 1))
    Image.new("RGB", (64, 64), (30, 200, 30)).save(data / "train" / "square" / "added.png")
    after, _ = _features(data, cache)
    assert after.from_cache == 19 and len(after.features) == 21
    position = [path for path, _ in scan_dataset(data).splits["train"]].index(changed)
    row = int((after.positions == position).nonzero())
    assert not any(torch.equal(after.features[row], f) for f in cold.features)


def test_augmented_views_are_different_reproducible_and_view_zero_is_the_plain_image(tiny_dataset, tmp_path):
    plain, _ = _features(tiny_dataset, tmp_path / "a", views=1)
    viewed, messages = _features(tiny_dataset, tmp_path / "b", views=3)
    again, _ = _features(tiny_dataset, tmp_path / "c", views=3)
    n = 40
    x, y = viewed.views(n, 3)
    assert x.shape == (3, n, 1280) and len(y) == n
    assert (x[0] - plain.subset(0, n)[0]).abs().max() < 1e-4
    assert (x[1] - x[0]).abs().mean() > 1e-3 and (x[2] - x[1]).abs().mean() > 1e-3
    assert (again.views(n, 3)[0] - x).abs().max() < 1e-4
    assert "3 versions of each training image" in messages[0].text


def _run(data, tmp_path, engine):
    config = TrainConfig(data=str(data), out=str(tmp_path / "runs"), freeze="frozen", epochs=5, image_size=64,
                         views=1, patience=0, engine=engine)
    return list(train(config))


def test_onnx_runtime_and_pytorch_training_reach_the_same_result(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_STUDIO_CACHE", str(tmp_path / "ort-cache"))
    fast = _run(tiny_dataset, tmp_path / "ort", "onnxruntime")
    monkeypatch.setenv("TRANSFER_STUDIO_CACHE", str(tmp_path / "torch-cache"))
    plain = _run(tiny_dataset, tmp_path / "torch", "pytorch")
    curves = [[(e.train_loss, e.valid_loss, e.valid_acc) for e in run if isinstance(e, EpochDone)]
              for run in (fast, plain)]
    assert len(curves[0]) == 5
    assert np.allclose(curves[0], curves[1], atol=2e-3)
    assert fast[-1].best_valid_acc == plain[-1].best_valid_acc


def test_prediction_runs_on_onnx_runtime_with_the_same_answers(tiny_dataset, frozen_run, cache):
    fast, plain = load_predictor(frozen_run.run_dir), load_predictor(frozen_run.run_dir, engine="pytorch")
    assert (fast.engine, plain.engine) == ("onnxruntime", "pytorch")
    assert fast.logits.runner.input == "pixels", "preprocessing runs inside the exported graph"
    images = sorted(tiny_dataset.glob("valid/*/*"))[:5]
    for a, b in zip(fast.predict(images, k=4), plain.predict(images, k=4)):
        assert [label for label, _ in a] == [label for label, _ in b]
        assert np.allclose([p for _, p in a], [p for _, p in b], atol=1e-4)
    assert not list(frozen_run.run_dir.glob("**/*.onnx")), "exports live in the cache only"
    assert len(list((cache / "onnx").glob("run-*.onnx"))) == 1
