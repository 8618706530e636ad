"""The Hugging Face Space export: its files and front matter, its refusal of a disagreeing model, app.py served in a
process of its own as a Space runs it (no torch, no core) answering like the app, and publishing through a stand-in
hub client (the real huggingface.co cannot be reached from here) without ever letting the token out."""
from __future__ import annotations

import ast
import http.server
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import httpx
import pytest
import torch
import yaml

from core.export import standalone_predict as standalone
from core.export.bundle import ExportRefused
from core.export.parity import PARITY_BAR
from core.export.space import (PublishError, default_space_path, export_space, publish_space,
                               replace_folder, split_space_id, zip_folder)
from core.inference.predict import load_predictor
from core.runstore.folder import RunFolder
from tests.conftest import SPACE_TITLE, port_was_taken, unused_port

ROOT = Path(__file__).resolve().parents[3]
SPACE = {"app.py", "predict.py", "model.onnx", "labels.json", "preprocessing.json", "calibration.json",
         "parity.json", "requirements.txt", "README.md", ".gitattributes"}
TITLE = SPACE_TITLE
TOKEN = "hf_TestTokenNeverToBeSeen0123456789"
# Runs app.py as a Space does (`python app.py`), with torch and every part of this project unimportable: an attempt
# is written to stderr (the test fails on it) and refused.
PRELUDE = """
import runpy, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision", "core", "gui"):
            print("IMPORTED " + name, file=sys.stderr, flush=True)
            raise ImportError(name + " is not on a Space")
sys.meta_path.insert(0, Refuse())
sys.argv = ["app.py"]
runpy.run_path("app.py", run_name="__main__")
"""
STARTUP_S = 90


@pytest.fixture
def space(space_export):
    """The session's Space export (tests/conftest.py): read it, never change it."""
    return space_export


def _front_matter(text: str) -> tuple[dict, str]:
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def test_the_space_folder_holds_the_proven_bundle_the_app_and_its_pinned_requirements(space):
    run_dir, result = space
    folder = result.path
    assert folder == default_space_path(run_dir) == RunFolder(run_dir).export / f"{run_dir.name}-space"
    assert {p.name for p in folder.iterdir()} == SPACE
    assert result.bytes == sum(p.stat().st_size for p in folder.iterdir()) and result.seconds > 0
    assert [p.name for p in folder.parent.iterdir()] == [folder.name], "no staging folder or bundle left"
    print(f"\nSpace export: {result.bytes / 1e6:.2f} MB in {result.seconds:.1f} s")
    assert (folder / "predict.py").read_bytes() == Path(standalone.__file__).read_bytes()
    assert (folder / "app.py").read_bytes() == (ROOT / "assets" / "space" / "app.py").read_bytes()
    parity = json.loads((folder / "parity.json").read_text())
    assert set(parity["formats"]) == {"onnx"} and parity["formats"]["onnx"]["images"] == 20
    assert result.parity.total()["top1_agreement"] >= PARITY_BAR
    assert result.to_dict()["parity"]["top1_agreement"] == result.parity.total()["top1_agreement"]
    assert json.loads((folder / "labels.json").read_text()) == RunFolder(run_dir).read_summary()["classes"]
    calibration = json.loads((folder / "calibration.json").read_text())
    assert (calibration["temperature"], calibration["threshold"]) == RunFolder(run_dir).read_calibration()
    pins = dict(line.split("==") for line in (folder / "requirements.txt").read_text().splitlines())
    assert pins == {n: importlib.metadata.version(n) for n in ("onnxruntime", "pillow", "numpy")}  # gradio: the SDK
    assert (folder / ".gitattributes").read_text() == "*.onnx filter=lfs diff=lfs merge=lfs -text\n"


def test_the_readme_has_the_space_front_matter_then_the_model_card(space):
    meta, body = _front_matter((space.result.path / "README.md").read_text(encoding="utf-8"))
    assert meta["title"] == TITLE, "quoted so that YAML reads the colon, quotes and # as text"
    assert (meta["sdk"], meta["app_file"], meta["pinned"]) == ("gradio", "app.py", False)
    assert meta["sdk_version"] == importlib.metadata.version("gradio")
    assert meta["colorFrom"] and meta["colorTo"] and meta["emoji"] and "license" not in meta
    assert meta["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert body.lstrip().startswith(f"# Model card: {space.run_dir.name}") and "not sure" in body


def _imported(path: Path) -> set[str]:
    """Every module name an import statement of `path` names, and every name it imports from one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {part for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names for part in a.name.split(".")}
    for node in (n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)):
        names |= {*(node.module or "").split("."), *(a.name for a in node.names)}
    return names


def test_the_template_is_copied_never_imported_and_imports_only_what_a_space_has():
    tree = ast.parse((ROOT / "assets" / "space" / "app.py").read_text(encoding="utf-8"))
    roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert roots == {"__future__", "html", "json", "pathlib", "gradio", "predict"}, roots
    importers = [p for p in [*ROOT.glob("core/**/*.py"), *ROOT.glob("gui/**/*.py"), *ROOT.glob("tests/**/*.py")]
                 if any(name.split(".")[0] == "assets" for name in _imported(p))]
    assert importers == [], "core.export.space reads the template as a file: nothing imports it"
    assert not any(name.startswith("assets") for name in sys.modules)


class FirstClassAlways(torch.nn.Module):
    """A model that disagrees with the run's (cheap to export): the first class, whatever the picture."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(torch.linspace(1.0, 0.0, classes), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3))[:, None] * 0 + self.logits


def test_a_disagreeing_model_is_refused_and_the_existing_folder_is_left_as_it_was(space):
    model = FirstClassAlways(len(RunFolder(space.run_dir).read_summary()["classes"]))
    folder = space.result.path

    def snapshot() -> dict:
        return {p.relative_to(folder.parent).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
                for p in folder.parent.rglob("*")}
    before = snapshot()
    with pytest.raises(ExportRefused, match=r"onnx model gives the app's top class for only \d of 20"):
        export_space(space.run_dir, folder, module=model)
    assert snapshot() == before, "the existing Space folder is untouched and no staging folder is left"
    with pytest.raises(ExportRefused):
        export_space(space.run_dir, folder.parent / "another-space", module=model)
    assert snapshot() == before, "no new folder either"


def test_a_folder_of_other_files_is_never_replaced(frozen_run, tmp_path):
    desktop = tmp_path / "Desktop"
    desktop.mkdir()
    (desktop / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"already holds files a Space export did not make \(notes.txt\)"):
        export_space(frozen_run.run_dir, desktop)
    assert [p.name for p in desktop.iterdir()] == ["notes.txt"] and len(list(tmp_path.iterdir())) == 1


def test_a_folder_is_replaced_only_by_a_complete_one(tmp_path):
    out = tmp_path / "out"

    def fails(folder: Path) -> None:
        (folder / "half.txt").write_text("half")
        raise RuntimeError("stopped half-way")
    with pytest.raises(RuntimeError):
        replace_folder(out, fails)
    assert list(tmp_path.iterdir()) == [], "no folder, and no staging folder, after a failed build"
    replace_folder(out, lambda f: (f / "old.txt").write_text("old"))
    with pytest.raises(RuntimeError):
        replace_folder(out, fails)
    assert [p.name for p in out.iterdir()] == ["old.txt"] and list(tmp_path.iterdir()) == [out]
    replace_folder(out, lambda f: (f / "new.txt").write_text("new"))
    assert [p.name for p in out.iterdir()] == ["new.txt"] and list(tmp_path.iterdir()) == [out]


def test_zip_folder_packs_the_space_as_one_download(space, tmp_path):
    archive = zip_folder(space.result.path, tmp_path / "space.zip")
    with zipfile.ZipFile(archive) as z:
        assert set(z.namelist()) == SPACE
        assert z.read("model.onnx") == (space.result.path / "model.onnx").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["space.zip"]


def _start(folder: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """app.py in a process of its own on a free port (another if that one was taken), once it answers."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    for _ in range(3):
        port = unused_port()
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-c", PRELUDE], cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                    env=env | {"GRADIO_SERVER_PORT": str(port)})
        url, deadline = f"http://127.0.0.1:{port}/", time.monotonic() + STARTUP_S
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return proc, url
            except httpx.TransportError:
                time.sleep(0.25)
        proc.kill()
        proc.wait()
        if not port_was_taken(log.read_text()):
            break
    pytest.fail(f"app.py did not start:\n{log.read_text()[-3000:]}")


def test_app_py_serves_the_app_s_answers_as_on_a_space_without_torch_or_core(space, tmp_path):
    from gradio_client import Client, handle_file

    folder = space.result.path
    _, items = RunFolder(space.run_dir).split_items("valid")
    paths = [str(p) for p, _ in items]
    app = load_predictor(space.run_dir).answer(paths, 3)
    script = standalone.Model(folder)
    started = time.perf_counter()
    proc, url = _start(folder, tmp_path / "app.log")
    try:
        startup_s = time.perf_counter() - started
        config = httpx.get(url + "config", timeout=10).json()
        assert config["max_file_size"] == 20 * 1024 * 1024
        assert httpx.get(url + f"gradio_api/file={folder / 'model.onnx'}", timeout=10).status_code in (403, 404)
        client = Client(url, verbose=False)
        agreed, largest, first_s = 0, 0.0, None
        for path, want in zip(paths, app, strict=True):
            asked = time.perf_counter()
            label, line = client.predict(handle_file(path), api_name="/predict")
            first_s = first_s if first_s is not None else time.perf_counter() - asked
            got = {c["label"]: c["confidence"] for c in label["confidences"]}
            agreed += label["label"] == want.top[0][0]
            largest = max([largest, *(abs(got.get(name, 0.0) - p) for name, p in want.top)])
            assert line.startswith("**Not sure.**") is (not want.sure), (path, line)
            exact = script.answer(standalone.load_rgb(path), 3)  # the Space is predict.py, to the digit
            assert [[k, v] for k, v in got.items()] == exact["top"], path
    finally:
        proc.kill()
        proc.wait()
    log = (tmp_path / "app.log").read_text()
    assert "IMPORTED" not in log, log[-3000:]
    agreement = agreed / len(paths)
    print(f"\nSpace app: started in {startup_s:.1f} s, first answer in {first_s:.2f} s; top-1 agreement with the app "
          f"{agreement:.3f} on {len(paths)} pictures, largest probability difference {largest:.1e}")
    assert agreement >= PARITY_BAR and largest < 1e-3


class StandIn:
    """A stand-in for huggingface_hub.HfApi (the real hub cannot be reached here): records the calls; its upload
    copies the folder, so the test sees what would be uploaded."""

    def __init__(self, token: str, store: Path, fail: BaseException | None = None) -> None:
        self.token, self.store, self.fail, self.calls = token, store, fail, []

    def whoami(self) -> dict:
        self.calls.append(("whoami", {}))
        return {"name": "someone"}

    def create_repo(self, **kwargs) -> str:
        self.calls.append(("create_repo", kwargs))
        if self.fail:
            raise self.fail
        return f"https://huggingface.co/spaces/{kwargs['repo_id']}"

    def upload_folder(self, **kwargs) -> None:
        self.calls.append(("upload_folder", kwargs))
        shutil.copytree(kwargs["folder_path"], self.store)


def test_publish_creates_the_space_and_uploads_the_folder_mirrored(space, tmp_path):
    made = []

    def factory(token: str) -> StandIn:
        made.append(StandIn(token, tmp_path / f"uploaded{len(made)}"))
        return made[-1]
    url = publish_space(space.result.path, "alice/shape-sorter", TOKEN, api_factory=factory)
    assert url == "https://huggingface.co/spaces/alice/shape-sorter" and made[0].token == TOKEN
    (create, kw1), (upload, kw2) = made[0].calls
    assert create == "create_repo" and kw1 == {"repo_id": "alice/shape-sorter", "repo_type": "space",
                                                "space_sdk": "gradio", "exist_ok": True}
    assert upload == "upload_folder" and kw2["repo_id"] == "alice/shape-sorter" and kw2["repo_type"] == "space"
    assert set(kw2["delete_patterns"]) == SPACE and kw2["commit_message"]  # only the files an export makes
    assert {p.name for p in (tmp_path / "uploaded0").iterdir()} == SPACE
    assert publish_space(space.result.path, "shape-sorter", TOKEN, factory) == \
        "https://huggingface.co/spaces/someone/shape-sorter"
    assert [c for c, _ in made[1].calls] == ["whoami", "create_repo", "upload_folder"]
    for path in space.result.path.parent.rglob("*"):
        assert not path.is_file() or TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("name, words", [
    ("a/b/c", "owner/name"), ("-shapes", "not a valid"), ("sha--pes", "not a valid"), ("shapes.", "not a valid"),
    ("x" * 97, "at most 96"), ("sha pes", "not a valid"), ("", "owner/name"), ("alice/", "owner/name")])
def test_a_bad_space_name_is_refused_before_any_call(space, name, words):
    made = []
    with pytest.raises(PublishError, match=words):
        publish_space(space.result.path, name, TOKEN, api_factory=made.append)
    assert made == []


def test_good_space_names_split_into_owner_and_name():
    assert split_space_id("alice/shape_sorter.v2") == ("alice", "shape_sorter.v2")
    assert split_space_id(" demo-1 ") == (None, "demo-1")


def _published_error(space, tmp_path, fail: BaseException) -> PublishError:
    with pytest.raises(PublishError) as caught:
        publish_space(space.result.path, "alice/shapes", TOKEN, lambda t: StandIn(t, tmp_path / "up", fail))
    err = caught.value
    assert TOKEN not in str(err) and TOKEN not in repr(err) and err.__cause__ is None and err.__context__ is None
    return err


def test_hub_failures_become_plain_sentences_without_the_token(space, tmp_path):
    err = _published_error(space, tmp_path, RuntimeError(f"header Authorization: Bearer {TOKEN} was odd"))
    assert "RuntimeError" in str(err) and "Bearer ***" in str(err)
    assert "Could not reach huggingface.co" in str(_published_error(space, tmp_path, ConnectionError(TOKEN)))
    assert "Could not reach huggingface.co" in str(_published_error(space, tmp_path, TimeoutError()))
    err = _published_error(space, tmp_path, PermissionError(f"cannot read {TOKEN}.bin"))
    assert str(err) == "Publishing to Hugging Face failed (PermissionError: cannot read ***.bin)."


def test_the_real_hub_client_s_refusal_reads_as_a_sentence_without_the_token(space):
    """The real HfApi, against a local server that refuses every token and quotes it back (as a careless server
    might): a 401 becomes "refused the token", and the quoted token is not in the sentence."""
    from huggingface_hub import HfApi

    class Refusing(http.server.BaseHTTPRequestHandler):
        def do_any(self) -> None:
            body = json.dumps({"error": f"Invalid token {self.headers.get('authorization')}"}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        do_GET = do_POST = do_any

        def log_message(self, *args) -> None:
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for name in ("alice/shapes", "shapes"):
            with pytest.raises(PublishError, match="Hugging Face refused the token") as caught:
                publish_space(space.result.path, name, TOKEN, lambda t: HfApi(endpoint=endpoint, token=t))
            assert TOKEN not in str(caught.value)
    finally:
        server.shutdown()
        server.server_close()
