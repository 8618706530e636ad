"""The web page export: one folder in the zip with the page, the graph, the runtime and the facts; a graph that takes
pictures of any size and resizes them as the app does; the refusal of a model that disagrees; onnxruntime-web's
files refused when missing, changed, or smuggled in a tarball by another name; the page's decoding rule, as
model.json states it, gives the app's decoded size."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from core.data.images import load_image
from core.data.transforms import eval_resize_crop
from core.evaluation.metrics import evaluation_of
from core.export import web_runtime
from core.export.bundle import ExportRefused
from core.export.model_card import APP_VERSION
from core.export.web import PAGE_FILES, default_web_export_path, export_web
from core.export.web_graph import resize_crop_graph, web_graph_runner
from core.export.web_runtime import RuntimeTampered, check_integrity, extract, fetch, runtime_files
from core.inference.predict import load_predictor
from core.runstore.folder import RunFolder

FOLDER_FILES = {*PAGE_FILES, "model.onnx", "model.json", "parity.json", *web_runtime.FILES}
ADDRESS = re.compile(r"\b(?:https?|wss?|ftp):|(?<![\w:/])//\w", re.IGNORECASE)  # absolute or scheme-less URLs


def _json(folder: Path, name: str):
    return json.loads((folder / name).read_text(encoding="utf-8"))


def test_the_zip_holds_one_folder_with_the_page_the_graph_the_runtime_and_the_model_facts(web_export):
    run_dir, result, folder = web_export
    with zipfile.ZipFile(result.path) as page:
        names = page.namelist()
        assert {info.external_attr >> 16 for info in page.infolist()} == {0o644}, "readable by a web server"
    assert sorted(names) == sorted(f"{run_dir.name}-web/{name}" for name in FOLDER_FILES)
    assert result.bytes == result.path.stat().st_size and result.seconds > 0
    assert result.page_bytes == sum(p.stat().st_size for p in folder.iterdir())
    assert not [p for p in result.path.parent.iterdir() if p.name.endswith(".tmp")], "no temporary file left"
    assert default_web_export_path(run_dir) == run_dir / "export" / f"{run_dir.name}-web.zip"
    labels, summary = _json(folder, "model.json"), _json(run_dir, "summary.json")
    temperature, threshold = RunFolder(run_dir).read_calibration()
    metrics = evaluation_of(run_dir, "valid").metrics()
    assert labels["classes"] == summary["classes"]
    assert (labels["temperature"], labels["not_sure_below"]) == (temperature, threshold)
    assert (labels["image_size"], labels["resize_short_side"]) == (224, 256)
    assert (labels["run_id"], labels["backbone"], labels["app_version"]) == (run_dir.name, "efficientnet_lite0",
                                                                            APP_VERSION)
    assert labels["validation"]["accuracy"] == metrics["accuracy"] and labels["validation"]["images"] == 20
    assert labels["files"] == {p.name: p.stat().st_size for p in folder.iterdir() if p.name != "model.json"}
    for name, path in runtime_files().items():
        assert (folder / name).read_bytes() == path.read_bytes(), name
    for name in ("index.html", "app.js", "style.css"):
        text = (folder / name).read_text(encoding="utf-8")
        assert not ADDRESS.findall(text), (name, ADDRESS.findall(text))
    parity = _json(folder, "parity.json")
    assert parity["formats"]["web"]["images"] == 20 and parity["formats"]["web"]["top1_agreement"] == 1.0
    assert result.parity.total()["top1_agreement"] == 1.0 and result.to_dict()["parity"]["images_compared"] == 20
    assert result.parity.total()["max_abs_prob_diff"] < 0.02, result.parity.total()


def _page_size(width: int, height: int, jpeg: bool, decoding: dict) -> tuple[int, int]:
    """The size app.js decodes a picture to, by model.json's decoding record (app.js's draftScale, in Python)."""
    most = min(width // decoding["jpeg_draft_side"], height // decoding["jpeg_draft_side"])
    scale = next((s for s in decoding["jpeg_draft_scales"] if most >= s), 1) if jpeg else 1
    return -(-width // scale), -(-height // scale)


def test_the_decoding_rule_in_model_json_gives_the_apps_decoded_size(web_export, tmp_path):
    decoding = _json(web_export.folder, "model.json")["decoding"]
    assert (decoding["min_side"], decoding["background"], decoding["jpeg_draft_side"]) == (8, [128, 128, 128], 1024)
    assert "JPEG" in decoding["rule"] and "ICC" in decoding["rule"] and "full size" in decoding["rule"]
    sizes = [(2047, 3001), (2048, 2049), (3001, 4097), (4097, 8193), (8193, 9001), (1500, 1100)]
    for (width, height), suffix in [(size, ".jpg") for size in sizes] + [((4100, 2050), ".png")]:
        path = tmp_path / f"{width}x{height}{suffix}"
        Image.new("RGB", (width, height), (40, 90, 160)).save(path)
        got = load_image(path).size
        assert got == _page_size(width, height, suffix == ".jpg", decoding), (width, height, suffix, got)
    assert _page_size(4097, 8193, True, decoding) == (1025, 2049)  # scale 4: not 8, and rounded up


def test_the_graph_takes_pictures_of_any_size_and_answers_like_the_app(web_export):
    graph = web_graph_runner(web_export.folder / "model.onnx")
    session = ort.InferenceSession(str(web_export.folder / "model.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == [1, "height", "width", 3]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    predictor = load_predictor(web_export.run_dir, engine="pytorch")
    _, items = RunFolder(web_export.run_dir).split_items("valid")
    picture = Image.open(items[0][0]).convert("RGB")
    for width, height in ((97, 300), (640, 480), (300, 97), (1001, 1003)):
        resized = picture.resize((width, height), Image.BILINEAR)
        got = graph(np.asarray(resized))
        (want,) = predictor.predict([resized], k=len(predictor.classes))
        assert got.shape == (4,) and abs(float(got.sum()) - 1) < 1e-5, (width, height, got)
        assert predictor.classes[int(got.argmax())] == want[0][0], (width, height)
        assert np.allclose(sorted(got, reverse=True), [p for _, p in want], atol=0.05), (width, height, got, want)


def test_the_graphs_resize_and_crop_give_torchvisions_pixels_but_a_few_one_grey_level_off():
    rng = np.random.default_rng(0)
    for size in (224, 96):
        side = round(size * 256 / 224)
        session = ort.InferenceSession(resize_crop_graph(side, size).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        for height, width in ((480, 640), (300, 300), (1000, 333), (257, 900), (97, 130), (side, side + 1),
                              (1024, 1365)):
            coarse = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
            picture = Image.fromarray(coarse).resize((width, height), Image.BICUBIC)
            want = np.asarray(eval_resize_crop(size)(picture)).astype(int)
            (got,) = session.run(None, {"pixels": np.asarray(picture)[None]})
            assert got.shape == (1, size, size, 3), (height, width, got.shape)
            difference = np.abs(got[0].astype(int) - want)
            assert difference.max() <= 2 and difference.mean() < 0.03, (size, height, width, difference.mean())


def test_a_web_page_whose_model_disagrees_with_the_app_is_refused_and_writes_nothing(web_export, tmp_path):
    model = load_predictor(web_export.run_dir, engine="pytorch").model
    last = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():  # every class's output moved to the next class: each top answer changes
        last.weight.copy_(last.weight.roll(1, 0))
        last.bias.copy_(last.bias.roll(1, 0))
    out = tmp_path / "out" / "refused.zip"
    with pytest.raises(ExportRefused, match=r"web model gives the app's top class for only 0 of 20 .*99\.9"):
        export_web(web_export.run_dir, out, module=model)
    assert not out.exists() and not (out.parent.exists() and any(out.parent.iterdir()))


def test_missing_runtime_files_are_named_with_the_command_that_fetches_them(tmp_path):
    out = tmp_path / "page.zip"
    with pytest.raises(FileNotFoundError, match=r"onnxruntime-web 1\.31\.1 is not installed .*run make"):
        export_web(tmp_path / "any-run", out, runtime=tmp_path / "empty")
    assert not out.exists()


def test_a_changed_runtime_file_is_refused(tmp_path):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    for name in web_runtime.FILES:
        (runtime / name).write_bytes(b"not onnxruntime-web")
    with pytest.raises(ExportRefused, match=r"ort\.wasm\.min\.js is not onnxruntime-web 1\.31\.1's .*sha256"):
        export_web(tmp_path / "any-run", tmp_path / "page.zip", runtime=runtime)
    assert not (tmp_path / "page.zip").exists()


def _tarball(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def test_the_fetch_reads_only_the_pinned_members_and_installs_nothing_else(tmp_path):
    good = b"console.log('runtime');"
    tarball = _tarball({"package/dist/a.js": good, "../escape.js": b"x", "package/dist/../../escape2.js": b"x",
                        "/tmp/absolute.js": b"x", "package/README.md": b"readme", "package/dist/c.js": b"other"},
                       links={"package/dist/b.js": "/etc/passwd"})
    digest = hashlib.sha256(good).hexdigest()
    folder = tmp_path / "runtime" / "1.0"
    with pytest.raises(RuntimeTampered, match="b.js is missing"):  # a link is not a file: never followed
        extract(tarball, folder, {"a.js": digest, "b.js": digest})
    with pytest.raises(RuntimeTampered, match="c.js is not the pinned one"):
        extract(tarball, folder, {"a.js": digest, "c.js": digest})
    assert not folder.exists()
    assert extract(tarball, folder, {"a.js": digest}) == {"a.js": folder / "a.js"}
    assert [p.name for p in folder.iterdir()] == ["a.js"] and (folder / "a.js").read_bytes() == good
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "runtime", "runtime/1.0", "runtime/1.0/a.js"], "nothing outside the folder, no temporary left"
    check_integrity(tarball, "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode())
    with pytest.raises(RuntimeTampered, match="not the pinned one"):
        check_integrity(tarball)


def test_the_fetch_refuses_a_tarball_that_is_not_the_pinned_one(tmp_path):
    (tmp_path / "fake.tgz").write_bytes(_tarball({f"package/dist/{name}": b"x" for name in web_runtime.FILES}))
    with pytest.raises(RuntimeTampered, match="tarball is not the pinned one"):
        fetch(tmp_path / "runtime", url=(tmp_path / "fake.tgz").as_uri())
    assert not (tmp_path / "runtime").exists()
