"""Int8 static quantization of the real EfficientNet-Lite0 backbone, calibrated on real decoded images."""
import numpy as np
import pytest

from core.data.images import load_image
from core.data.transforms import eval_transform
from core.models.backbones import get_backbone
from core.models.classifier import build_classifier
from core.models.onnx import OnnxRunner, export_onnx
from core.models.quantize import quantize_int8

SIZE = 64


def _images(files) -> np.ndarray:
    spec = get_backbone("efficientnet_lite0")
    transform = eval_transform(SIZE, spec.mean, spec.std)
    return np.stack([transform(load_image(f)).numpy() for f in files])


def test_int8_backbone_is_smaller_and_gives_nearly_the_fp32_features(tiny_dataset, tmp_path):
    backbone = build_classifier("efficientnet_lite0", 4, True, SIZE).backbone
    fp32 = export_onnx(backbone, SIZE, tmp_path / "fp32.onnx")
    train = _images(sorted(tiny_dataset.glob("train/*/*"))[::2])  # 20 images, 5 of each class
    valid = _images(sorted(tiny_dataset.glob("valid/*/*")))  # images the calibration never saw

    int8 = quantize_int8(fp32, [train[:10], train[10:]], tmp_path / "int8" / "backbone.onnx")

    assert int8.is_file() and not list(int8.parent.glob(".*.tmp"))
    assert int8.stat().st_size < fp32.stat().st_size / 3  # int8 weights: about a quarter of the floats
    expected, got = OnnxRunner(fp32)(valid).numpy(), OnnxRunner(int8)(valid).numpy()
    assert got.shape == expected.shape == (len(valid), get_backbone("efficientnet_lite0").feature_dim)
    cosine = (expected * got).sum(1) / (np.linalg.norm(expected, axis=1) * np.linalg.norm(got, axis=1))
    assert cosine.min() > 0.9, cosine.min()
    assert not np.allclose(got, expected, atol=1e-6)  # it really is another (quantized) model


def test_quantize_int8_refuses_missing_calibration_in_words(tiny_dataset, tmp_path):
    fp32 = export_onnx(build_classifier("efficientnet_lite0", 4, True, SIZE).backbone, SIZE, tmp_path / "fp32.onnx")
    with pytest.raises(ValueError, match="calibration"):
        quantize_int8(fp32, [], tmp_path / "int8.onnx")
    with pytest.raises(ValueError, match="NCHW"):
        quantize_int8(fp32, [np.zeros((2, SIZE, SIZE, 3), np.float32)], tmp_path / "int8.onnx")
    assert not (tmp_path / "int8.onnx").exists()


def test_the_int8_engine_keeps_features_of_its_own_and_a_frozen_run_trains_on_them(tiny_dataset, tmp_path):
    from core import TrainConfig, train
    from core.events import FeaturesProgress, Message, RunFinished

    def run(engine):
        return list(train(TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "runs"), freeze="frozen", epochs=4,
                                      image_size=64, views=1, engine=engine)))

    fp32 = run("onnxruntime")
    int8 = run("onnxruntime-int8")
    said = " ".join(e.text for e in int8 if isinstance(e, Message))
    assert "engine: onnxruntime-int8, quantized to int8 on your images" in said
    assert [e for e in int8 if isinstance(e, FeaturesProgress)][-1].cached == 0  # not the fp32 features
    again = run("onnxruntime-int8")
    assert [e for e in again if isinstance(e, FeaturesProgress)][-1].cached == 60
    for events in (fp32, int8):
        assert isinstance(events[-1], RunFinished) and events[-1].best_valid_acc >= 0.5


def test_an_int8_engine_that_cannot_quantize_falls_back_to_float_features_under_their_own_key(tmp_path):
    import torch

    from core.models.encoders import Calibration, frozen_encoder

    spec = get_backbone("efficientnet_lite0")
    backbone = build_classifier("efficientnet_lite0", 4, True, SIZE).backbone
    broken = frozen_encoder(spec, backbone, SIZE, "p", torch.device("cpu"), "onnxruntime-int8", tmp_path,
                            calibration=Calibration("none", lambda: []))  # nothing to calibrate on
    plain = frozen_encoder(spec, backbone, SIZE, "p", torch.device("cpu"), "onnxruntime", tmp_path)
    assert broken.engine == "onnxruntime" and broken.note.startswith("int8 quantization failed")
    assert broken.key == plain.key and "int8" not in broken.key


def test_the_weights_range_follows_the_cpu_unless_chosen():
    from core.models.quantize import Int8Options, cpu_has_vnni, reduced_range

    assert reduced_range() is (not cpu_has_vnni())  # 7-bit weights exactly where U8S8 products can saturate
    assert reduced_range(Int8Options(reduce_range=True)) and not reduced_range(Int8Options(reduce_range=False))
