"""Export with proof: the bundle's files, its parity with the app, its standalone predict.py run in a process of
its own (no torch, no core), the refusal of a model that disagrees, and the CLI."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main
from core.data import images as app_images
from core.data.images import UnreadableImage, load_image
from core.data.transforms import RESIZE_RATIO, eval_resize_crop
from core.export import standalone_predict as standalone
from core.export.bundle import ExportRefused, ExportResult, default_export_path, export_run, parse_formats
from core.export.model_card import APP_VERSION
from core.inference.predict import load_predictor
from core.runstore.folder import RunFolder

BUNDLE = {"model.onnx", "model.torchscript.pt", "labels.json", "preprocessing.json", "calibration.json",
          "parity.json", "predict.py", "MODEL_CARD.md"}
STANDALONE_IMPORTS = {"__future__", "argparse", "json", "os", "sys", "warnings", "pathlib", "numpy", "PIL",
                      "onnxruntime"}
# Runs predict.py as `python predict.py ARGS` would, then fails (exit 3) if torch or any part of core was imported.
WRAPPER = """
import runpy, sys
sys.argv = ["predict.py", *sys.argv[1:]]
code = 0
try:
    runpy.run_path("predict.py", run_name="__main__")
except SystemExit as stop:
    code = stop.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "core", "torchvision"))
if loaded:
    print("predict.py imported " + ", ".join(loaded[:5]), file=sys.stderr)
    sys.exit(3)
sys.exit(code)
"""


class Exported(NamedTuple):
    run_dir: Path
    result: ExportResult
    folder: Path  # the unzipped bundle


@pytest.fixture(scope="module")
def exported(frozen_run, tmp_path_factory) -> Exported:
    """One export of a private copy of the frozen run (both formats), unzipped."""
    root = tmp_path_factory.mktemp("export")
    run_dir = frozen_run.copy_into(root / "runs")
    result = export_run(run_dir, root / "bundle.zip")
    with zipfile.ZipFile(result.path) as bundle:
        bundle.extractall(root / "bundle")
    return Exported(run_dir, result, root / "bundle")


def _json(folder: Path, name: str):
    return json.loads((folder / name).read_text(encoding="utf-8"))


def test_the_bundle_holds_every_file_and_proves_parity_on_every_validation_picture(exported):
    run_dir, result, folder = exported
    assert {p.name for p in folder.iterdir()} == BUNDLE
    assert result.path.stat().st_size == result.bytes and result.seconds > 0
    assert not [p for p in result.path.parent.iterdir() if p.name.endswith(".tmp")], "no temporary file left"
    summary = _json(run_dir, "summary.json")
    assert _json(folder, "labels.json") == summary["classes"]
    pre = _json(folder, "preprocessing.json")
    assert (pre["image_size"], pre["resize_short_side"], pre["interpolation"]) == (224, 256, "bilinear")
    assert pre["input"]["dtype"] == "uint8" and pre["input"]["layout"].startswith("NHWC")
    assert len(pre["mean"]) == len(pre["std"]) == 3
    temperature, threshold = RunFolder(run_dir).read_calibration()
    calibration = _json(folder, "calibration.json")
    assert (calibration["temperature"], calibration["threshold"]) == (temperature, threshold)
    parity = _json(folder, "parity.json")
    assert set(parity["formats"]) == {"onnx", "torchscript"}
    for figures in parity["formats"].values():
        assert figures["images"] == 20 and figures["top1_agreement"] == 1.0, figures
        assert figures["max_abs_prob_diff"] < 1e-4, figures
    assert parity["total"]["images_compared"] == 40 and parity["temperature"] == temperature
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    for words in (*summary["classes"], "trained on 40 pictures", "measured on 20 pictures", APP_VERSION,
                  "efficientnet_lite0", "| circle | 10 | 5 |", "not sure"):
        assert words in card, words
    assert (folder / "predict.py").read_bytes() == Path(standalone.__file__).read_bytes()


def test_the_standalone_script_imports_nothing_but_onnxruntime_pillow_numpy_and_the_standard_library():
    tree = ast.parse(Path(standalone.__file__).read_text(encoding="utf-8"))
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert roots <= STANDALONE_IMPORTS, roots - STANDALONE_IMPORTS
    for name in ("MAX_PIXELS", "MIN_SIDE", "DRAFT_SIDE", "NEUTRAL"):  # the decoder's limits cannot drift apart
        assert getattr(standalone, name) == getattr(app_images, name), name


def _odd_pictures(folder: Path, big: bool = True) -> dict[str, Path]:
    """Pictures that exercise the decoder: alpha, EXIF rotation, 16-bit, palette transparency, a big JPEG, junk."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in ("alpha.png", "rotated.jpg", "deep.png", "palette.png", "big.jpg",
                                               "broken.jpg")}
    rgba = rng.integers(0, 256, (90, 140, 4), dtype=np.uint8)
    rgba[:, :70, 3] = 0  # the left half fully transparent: grey once composited
    Image.fromarray(rgba, "RGBA").save(paths["alpha.png"])
    wide = Image.new("RGB", (180, 100), (20, 40, 200))
    wide.paste((250, 240, 10), (0, 0, 60, 100))  # a yellow band on the left: where it ends up shows the rotation
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    wide.save(paths["rotated.jpg"], exif=exif, quality=95)
    Image.fromarray((rng.integers(0, 65536, (120, 100))).astype(np.uint16)).save(paths["deep.png"])
    palette = Image.fromarray(rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)).convert("P")
    palette.save(paths["palette.png"], transparency=3)
    if big:  # decoded at a reduced scale (Pillow's draft)
        Image.fromarray(rng.integers(0, 256, (2100, 2300, 3), dtype=np.uint8)).save(paths["big.jpg"], quality=80)
    else:
        del paths["big.jpg"]
    paths["broken.jpg"].write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 10)
    return paths


def test_the_standalone_decoder_and_resize_crop_give_the_apps_very_pixels(tmp_path):
    paths = _odd_pictures(tmp_path)
    (tmp_path / "empty.jpg").write_bytes(b"")
    Image.new("RGB", (5, 40)).save(tmp_path / "tiny.png")
    for path in [*paths.values(), tmp_path / "empty.jpg", tmp_path / "tiny.png"]:
        try:
            want = np.asarray(load_image(path))
        except UnreadableImage:
            with pytest.raises(standalone.UnreadableImage):
                standalone.load_rgb(path)
            continue
        assert np.array_equal(np.asarray(standalone.load_rgb(path)), want), path.name
    assert np.asarray(load_image(paths["rotated.jpg"])).shape == (180, 100, 3), "EXIF rotation was applied"
    rng = np.random.default_rng(1)
    for width, height in ((300, 200), (200, 300), (256, 256), (257, 511), (999, 1000), (97, 130), (224, 224)):
        picture = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        for size in (224, 96, 33):
            got = standalone.resize_crop(picture, round(size * RESIZE_RATIO), size)
            assert np.array_equal(np.asarray(got), np.asarray(eval_resize_crop(size)(picture))), (width, height, size)


def test_predict_py_in_its_own_process_answers_like_the_app_without_torch(exported, tiny_dataset, tmp_path, capsys):
    odd = _odd_pictures(tmp_path / "pictures", big=False)  # the big JPEG's decoding is checked above
    valid = sorted((tiny_dataset / "valid").rglob("*.jpg"))[::6]
    paths = [str(p) for p in [*valid, *odd.values()]]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", WRAPPER, *paths], check=False, cwd=exported.folder, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 1, done.stderr  # 1: the broken file; 3 would mean torch or core was imported
    assert main(["predict", "--run", str(exported.run_dir), *paths]) == 1
    app = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    bundle = [json.loads(line) for line in done.stdout.splitlines()]
    assert [b["path"] for b in bundle] == [a["path"] for a in app] == paths
    for got, want in zip(bundle, app, strict=True):
        if "error" in want:
            assert got == want
            continue
        assert [label for label, _ in got["top"]] == [label for label, _ in want["top"]], got["path"]
        assert np.allclose([p for _, p in got["top"]], [p for _, p in want["top"]], atol=1e-4), (got, want)
        assert got["not_sure"] == want["not_sure"], got["path"]
    assert sum("error" in b for b in bundle) == 1 and bundle[-1]["path"].endswith("broken.jpg")


def test_an_export_whose_model_disagrees_with_the_app_is_refused_and_writes_nothing(exported, tmp_path):
    model = load_predictor(exported.run_dir, engine="pytorch").model
    last = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():  # every class's output moved to the next class: each top answer changes
        last.weight.copy_(last.weight.roll(1, 0))
        last.bias.copy_(last.bias.roll(1, 0))
    out = tmp_path / "out" / "refused.zip"
    with pytest.raises(ExportRefused, match=r"torchscript model gives the app's top class for only 0 of 20 .*99\.9"):
        export_run(exported.run_dir, out, "torchscript", module=model)
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))


def test_the_cli_exports_only_the_formats_asked_for_to_the_default_place(exported, capsys):
    assert main(["export", "--run", str(exported.run_dir), "--format", "onnx"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert Path(printed["path"]) == default_export_path(exported.run_dir) == \
        exported.run_dir / "export" / f"{exported.run_dir.name}.zip"
    assert printed["bytes"] == Path(printed["path"]).stat().st_size and printed["formats"] == ["onnx"]
    assert printed["parity"]["top1_agreement"] == 1.0 and set(printed["parity"]["formats"]) == {"onnx"}
    with zipfile.ZipFile(printed["path"]) as bundle:
        assert set(bundle.namelist()) == BUNDLE - {"model.torchscript.pt"}
    assert main(["export", "--run", str(exported.run_dir), "--format", "tflite"]) == 2
    assert "unknown export format 'tflite'; choose from onnx, torchscript" in capsys.readouterr().err


def test_parse_formats_keeps_the_registry_order_and_refuses_nothing_chosen():
    assert parse_formats("torchscript, onnx") == ["onnx", "torchscript"]
    with pytest.raises(ValueError, match="at least one"):
        parse_formats(" , ")
