"""Attacks on the full app: paths and run ids that try to reach outside the served folders, bombs, floods.

A secret file, a dataset and a trained run lie outside the served folders (and a symlink inside the data folder
points at them); every route and endpoint that takes a path or a run id is tried with `../`, absolute, URL-encoded
and double-encoded forms, and no response may carry the secret marker or answer from the outside run.
"""
import os
import shutil
import struct
import time
import zipfile
import zlib
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from gradio_client import Client, handle_file

from core.data.demo import make_shapes_dataset
from core.errors import DatasetError
from tests.conftest import start_app

MARKER = "S3CR3T"  # in the secret file's text and the outside dataset's class names; never in what an attack sends
GB = 2**30


class Site:
    """The app under attack and what lies outside its folders."""

    def __init__(self, demo, ctx, data: Path, outside: Path, run_id: str, evil_run: Path):
        self.demo, self.ctx, self.data, self.outside = demo, ctx, data, outside
        self.run_id, self.evil_run = run_id, evil_run
        self.url = demo.local_url.rstrip("/")


@pytest.fixture(scope="module")
def site(tmp_path_factory, frozen_run):
    from gui import AppContext

    root = tmp_path_factory.mktemp("attacks")
    data, outside = root / "data", root / "outside"
    dataset = make_shapes_dataset(data / "shapes", train_per_class=3, valid_per_class=2, size=64)
    secret = make_shapes_dataset(outside / "secret-shapes", train_per_class=3, valid_per_class=2, size=64)
    for split in ("train", "valid"):
        for folder in sorted((secret / split).iterdir()):
            folder.rename(folder.with_name(f"{MARKER}-{folder.name}"))
    (outside / "secret.txt").write_text(f"{MARKER} the owner's password\n")
    evil_run = Path(shutil.copytree(frozen_run.run_dir, outside / "evil-run"))
    os.symlink(outside, data / "leak")  # a symlink inside the data folder pointing outside
    os.symlink(outside / "secret.txt", data / "leak.txt")
    runs = root / "runs"
    frozen_run.copy_into(runs)
    os.symlink(evil_run, runs / "linked-run")
    ctx = AppContext(data_root=data, runs_dir=runs, initial_dataset=dataset)
    demo = start_app(ctx)
    try:
        yield Site(demo, ctx, data, outside, frozen_run.run_id, evil_run)
    finally:
        demo.close()


def _forms(target: Path, base: Path) -> list[str]:
    """Ways to name `target` from inside `base`: relative ../, absolute, through the symlink, encoded twice."""
    relative = os.path.relpath(target, base)
    return [relative, str(target), f"{base}/{relative}", str(base / "leak" / target.name),
            "leak/" + target.name, quote(relative, safe=""), quote(quote(relative, safe=""), safe=""),
            relative.replace("/", "\\"), f"{base}/%2e%2e/{target.parent.name}/{target.name}"]


def _clean(response) -> None:
    assert MARKER not in str(response), f"the secret leaked: {str(response)[:300]}"


def _refused(call) -> str:
    """Call an endpoint that must refuse; the refusal (an error or a sentence) must not carry the secret."""
    try:
        result = call()
    except Exception as err:  # noqa: BLE001 -- gradio_client raises the server's sentence as an AppError
        _clean(err)
        return str(err)
    _clean(result)
    return str(result)


def test_dataset_paths_outside_the_served_folders_are_refused_by_train_check_and_folder_predict(site):
    client = Client(site.demo.local_url, verbose=False)
    runs_before = sorted(p.name for p in site.ctx.runs_dir.iterdir())
    for form in _forms(site.outside / "secret-shapes", site.data):
        status = _refused(lambda f=form: client.predict(dataset=f, epochs=1, api_name="/train"))
        assert "outside the folders" in status or "not" in status.lower(), (form, status)
        _refused(lambda f=form: client.predict(f, 20, api_name="/check_dataset"))
        _refused(lambda f=form: client.predict(f, site.run_id, api_name="/predict_folder"))
    assert sorted(p.name for p in site.ctx.runs_dir.iterdir()) == runs_before, "no run was trained on it"


def test_run_ids_that_are_paths_are_refused_by_every_endpoint(site, tiny_dataset):
    client = Client(site.demo.local_url, verbose=False)
    image = min((tiny_dataset / "valid" / "circle").iterdir())
    forms = _forms(site.evil_run, site.ctx.runs_dir) + ["linked-run", "..", "/", "."]
    for form in forms:
        for endpoint in ("/predict", "/answer"):
            said = _refused(lambda f=form, e=endpoint: client.predict(image=handle_file(str(image)), run=f,
                                                                       api_name=e))
            assert "confidences" not in said and "top" not in said, (endpoint, form, said)
        _refused(lambda f=form: client.predict(f, "valid", api_name="/evaluate"))
        _refused(lambda f=form: client.predict(f, site.run_id, "valid", api_name="/compare_runs"))
        _refused(lambda f=form: client.predict(f, 1, api_name="/continue_run"))
        response = httpx.post(f"{site.url}/api/v1/predict?run={quote(form, safe='')}", content=image.read_bytes())
        _clean(response.text)
        assert response.status_code >= 400 and "top" not in response.json(), (form, response.text)
    assert not (site.evil_run / "evaluation.json").exists(), "the outside run was never evaluated"


def test_the_file_route_serves_nothing_outside_the_served_folders(site):
    inside = min((site.ctx.initial_dataset / "train" / "circle").iterdir())
    assert httpx.get(f"{site.url}/gradio_api/file={inside}").status_code == 200  # the route itself works
    secret = site.outside / "secret.txt"
    tries = _forms(secret, site.data) + [str(site.data / "leak.txt"), quote(str(secret), safe=""),
                                         quote(quote(str(secret), safe=""), safe="")]
    for form in tries:
        for url in (f"{site.url}/gradio_api/file={form}", f"{site.url}/gradio_api/file={site.data}/{form}"):
            response = httpx.get(url)
            _clean(response.text)
            assert response.status_code >= 400, (url, response.status_code)


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height grey pixels and holds a few rows of them: a pixel bomb of a few KB."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = zlib.compress(b"\0" * (width + 1) * 4, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


@pytest.fixture
def memory():
    """How much the test process (and so the in-process server) grew at its peak during the test, in bytes: the
    peak is reset first (/proc/self/clear_refs), since earlier tests of the session may have trained models."""
    Path("/proc/self/clear_refs").write_text("5")
    before = _status("VmRSS")
    return lambda: _status("VmHWM") - before


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    pixel = folder / "bomb.png"
    pixel.write_bytes(_png_header(30_000, 30_000))
    big = folder / "big.png"
    big.write_bytes(_png_header(10_000, 10_000))  # under Pillow's own refusal, over the app's pixel limit
    declared = folder / "declared.zip"  # says one member unpacks to 10 GB
    with zipfile.ZipFile(declared, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cats/a.png", b"\0" * 1024)
        archive.filelist[0].file_size = 10 * GB
    zeros = folder / "zeros.zip"  # 100 MB of zeros, a few hundred KB packed
    with zipfile.ZipFile(zeros, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("cats/zeros.png", "w") as out:
        for _ in range(100):
            out.write(b"\0" * 2**20)
    many = folder / "many.zip"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        for n in range(100_000):
            archive.writestr(f"cats/{n}.png", b"")
    return {"pixel": pixel, "big": big, "declared": declared, "zeros": zeros, "many": many}


def test_zip_and_pixel_bombs_are_refused_by_the_builder_in_a_sentence_within_2_gb(site, bombs, memory):
    from gui.tabs.builder import add_pictures, add_zip

    with pytest.raises(DatasetError, match="unpacks to 10.7 GB"):
        add_zip(site.ctx, "bombs", bombs["declared"])
    with pytest.raises(DatasetError, match="holds 100,000 files"):
        add_zip(site.ctx, "bombs", bombs["many"])
    said = add_zip(site.ctx, "bombs", bombs["zeros"])
    assert "Added 0" in said and "too large (100 MB unpacked" in said, said
    said = add_pictures(site.ctx, "bombs", "cats", [bombs["pixel"], bombs["big"]])
    assert said.count("too many pixels") == 2, said
    folder = site.data / "datasets" / "bombs"
    assert not [p for p in folder.rglob("*") if p.is_file()], "nothing was written"
    assert memory() < 2 * GB, "the bomb was never decoded or unpacked"


def test_pixel_bombs_sent_to_predict_are_refused_in_a_sentence_within_2_gb(site, bombs, memory):
    client = Client(site.demo.local_url, verbose=False)
    for name in ("pixel", "big"):
        said = _refused(lambda n=name: client.predict(image=handle_file(str(bombs[n])), api_name="/predict"))
        assert "too many pixels" in said, said
        response = httpx.post(f"{site.url}/api/v1/predict", content=bombs[name].read_bytes())
        assert response.status_code == 422 and "too many pixels" in response.json()["error"]
    assert memory() < 2 * GB, "the bomb was never decoded or unpacked"


def test_uploads_are_bounded_in_count_and_by_the_data_folder_size(site, tiny_dataset, tmp_path):
    from dataclasses import replace

    from gui.tabs.builder import add_pictures, add_zip

    pictures = sorted((tiny_dataset / "train" / "circle").iterdir())
    few = replace(site.ctx, max_files=3)
    with pytest.raises(DatasetError, match="at most 3 are accepted in one drop"):
        add_pictures(few, "bounded", "circle", pictures[:4])
    full = replace(site.ctx, max_data_mb=0)
    with pytest.raises(DatasetError, match="may hold at most 0 MB"):
        add_pictures(full, "bounded", "circle", pictures[:1])
    archive = tmp_path / "pics.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        packed.write(pictures[0], "circle/a.jpg")
    with pytest.raises(DatasetError, match="--max-data-mb"):
        add_zip(full, "bounded", archive)
    assert "Added 1" in add_zip(site.ctx, "bounded", archive)


def test_sixteen_prediction_clients_are_all_answered_while_a_training_runs(site, tiny_dataset):
    from bench.visitors import visit

    trainer = Client(site.demo.local_url, verbose=False)
    training = trainer.submit(dataset=str(site.ctx.initial_dataset), freeze="frozen", epochs=400, patience=0,
                              api_name="/train")
    deadline = time.monotonic() + 120
    while not site.ctx.trainings.busy() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert site.ctx.trainings.busy(), "the training started"
    try:
        image = min((tiny_dataset / "valid" / "square").iterdir())
        figures = visit(site.demo.local_url, image, site.run_id, rest_clients=13, gradio_clients=3, each=3)
        assert figures["answered"] == figures["asked"] == 48, figures
        assert not training.done(), "the training was still running while they were answered"
    finally:
        trainer.predict(api_name="/stop")
        training.result()

