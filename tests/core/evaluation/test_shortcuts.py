"""Shortcut check on real generated pictures: a class saved at another size, brighter, or in another format is
named with the property that gives it away; the unbiased set gets no warning."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.demo import make_shapes_dataset
from core.data.scan import scan_dataset
from core.evaluation.shortcuts import check_shortcuts, jpeg_quality, picture_properties


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    return make_shapes_dataset(tmp_path_factory.mktemp("shortcuts") / "plain", train_per_class=10, valid_per_class=5)


def altered(plain: Path, target: Path, shape: str, change) -> Path:
    """A copy of the set where every picture of `shape` goes through `change` (PIL image -> PIL image)."""
    shutil.copytree(plain, target)
    for path in target.glob(f"*/{shape}/*.jpg"):
        with Image.open(path) as img:
            change(img.convert("RGB")).save(path, quality=92)
    return target


def test_the_unbiased_set_gets_no_warning(plain):
    report = check_shortcuts(scan_dataset(plain))
    assert report.warning is None and not report.told_apart and not report.examples
    assert report.pictures == 60 and report.unreadable == 0 and report.chance == 0.25
    assert report.accuracy < 0.5
    assert {s.name for s in report.properties} >= {"width", "brightness", "jpeg_quality", "camera", "sharpness"}
    json.dumps(report.to_dict())


def test_a_class_saved_at_another_size_is_named_with_its_width_and_height(plain, tmp_path):
    root = altered(plain, tmp_path / "size", "square", lambda img: img.resize((224, 224)))
    report = check_shortcuts(scan_dataset(root))
    assert report.told_apart == ["square"]
    assert {s.name for s in report.properties[:2]} == {"width", "height"}
    assert "image width" in report.warning and "image height" in report.warning
    assert "square pictures are all 224 px wide, the others all 160 px wide" in report.warning
    assert len(report.examples["square"]) == 3 and all("/square/" in p for p in report.examples["square"])
    json.dumps(report.to_dict())


def test_a_class_with_a_brightness_offset_is_named_with_brightness(plain, tmp_path):
    brighter = lambda img: Image.fromarray(np.clip(np.asarray(img, np.int16) + 100, 0, 255).astype(np.uint8))
    report = check_shortcuts(scan_dataset(altered(plain, tmp_path / "bright", "square", brighter)))
    assert report.told_apart == ["square"] and report.properties[0].name == "brightness"
    assert "by brightness" in report.warning and "square pictures are mostly at a brightness of" in report.warning


def test_two_classes_in_different_file_formats_are_guessed_from_the_format(tmp_path):
    rng = np.random.default_rng(0)
    for name, suffix in (("ripe", ".png"), ("unripe", ".jpg")):
        (tmp_path / "fruit" / name).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(tmp_path / "fruit" / name / f"{i}{suffix}")
    report = check_shortcuts(scan_dataset(tmp_path / "fruit"))
    assert report.accuracy >= 0.9 and report.chance == 0.5
    assert report.warning.startswith("The class can be guessed from file format")
    assert "ripe pictures are all saved as PNG; unripe pictures are all saved as JPEG" in report.warning


def test_properties_are_read_from_the_file(tmp_path):
    path = tmp_path / "a.jpg"
    Image.new("RGB", (300, 200), (200, 100, 50)).save(path, quality=75)
    facts = picture_properties(path)
    assert (facts["width"], facts["height"], facts["format"], facts["camera"]) == (300, 200, "JPEG", "none")
    assert facts["aspect"] == 1.5 and abs(facts["red_green"] - 100) < 3 and facts["sharpness"] < 1
    with Image.open(path) as img:
        assert jpeg_quality(img.quantization) == 75
    (tmp_path / "b.jpg").write_bytes(b"not a picture")
    assert picture_properties(tmp_path / "b.jpg") is None
