"""Shared fixtures: small real datasets, runs trained once per session, and real app servers on unused ports."""
from __future__ import annotations

import os
import shutil
import socket
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest

from core.data.demo import make_shapes_dataset
from core.events import RunFinished

START_ATTEMPTS = 5
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def unused_port() -> int:
    """A port nobody held a moment ago: only a candidate, since another process may take it before it is bound."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_was_taken(text: str) -> bool:
    """Whether an error (Gradio's, uvicorn's or the OS's) says the port was already in use."""
    text = text.lower()
    return "cannot find empty port" in text or "address already in use" in text or "errno 98" in text


def start_app(ctx, ports=None):
    """`gui.start` on 127.0.0.1: a port taken between choosing and binding it is given up for a fresh one."""
    from gui import start

    ports = ports if ports is not None else (unused_port() for _ in range(START_ATTEMPTS))
    last = OSError("no port to try")
    for port in ports:
        try:
            return start(ctx, "127.0.0.1", port)
        except OSError as err:
            if not port_was_taken(str(err)):
                raise
            last = err
    raise last


@pytest.fixture(scope="session", autouse=True)
def private_health_cache(tmp_path_factory):
    """Health checks made by the tests (and the apps they start) remember files in a temporary folder."""
    before = os.environ.get("TRANSFER_STUDIO_CACHE")
    os.environ["TRANSFER_STUDIO_CACHE"] = str(tmp_path_factory.mktemp("health-cache"))
    yield
    if before is None:
        os.environ.pop("TRANSFER_STUDIO_CACHE", None)
    else:
        os.environ["TRANSFER_STUDIO_CACHE"] = before


@pytest.fixture
def two_cores(monkeypatch):
    """The automatic recipe prices work for the cores this process may use: price it for a 2-core machine."""
    monkeypatch.setattr("core.training.recipes.compute_threads", lambda: 2)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """4 shape classes, 10 training and 5 validation images each, real JPEG files."""
    return make_shapes_dataset(tmp_path_factory.mktemp("data") / "shapes", train_per_class=10, valid_per_class=5, size=112)


class TrainedRun(NamedTuple):
    """A finished run: every event it yielded and its last one. Shared by the session: read it, never change it."""

    events: list
    finished: RunFinished

    @property
    def run_dir(self) -> Path:
        return Path(self.finished.run_dir)

    @property
    def run_id(self) -> str:
        return self.finished.run_id

    def copy_into(self, runs_dir: Path) -> Path:
        """A private copy of the run folder under `runs_dir`, same name: for a test that serves or changes it."""
        return Path(shutil.copytree(self.run_dir, Path(runs_dir) / self.run_id))


@pytest.fixture(scope="session")
def session_runs(tmp_path_factory) -> Path:
    """The one folder the shared runs are trained into, so their names are unique and sort by training time."""
    return tmp_path_factory.mktemp("session-runs")


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _train_once(data: Path, out: Path, **settings):
    """Train one run into `out`, hand it to the session, then check that no test changed its folder."""
    from core import TrainConfig, train

    events = list(train(TrainConfig(data=str(data), out=str(out), patience=0, **settings)))
    assert isinstance(events[-1], RunFinished) and events[-1].checkpoint, events[-1]
    run = TrainedRun(events, events[-1])
    before = _snapshot(run.run_dir)
    yield run
    assert _snapshot(run.run_dir) == before, f"a test changed the shared run {run.run_dir}: copy_into() first"


@pytest.fixture(scope="session")
def frozen_run(tiny_dataset, session_runs):
    """One frozen-backbone run on the tiny dataset (default recipe settings, 224 px, 10 epochs)."""
    yield from _train_once(tiny_dataset, session_runs, freeze="frozen", epochs=10)


@pytest.fixture(scope="session")
def two_stage_run(tiny_dataset, session_runs):
    """One small two-stage run: 2 head-only epochs, then 1 of every layer, 96 px, MLP head."""
    yield from _train_once(tiny_dataset, session_runs, freeze="two_stage", epochs=3, stage1_epochs=2,
                           when_solved="continue", image_size=96, head="mlp")


@pytest.fixture
def served_app(tiny_dataset, tmp_path):
    """The real Gradio app on 127.0.0.1 and an unused port, serving the tiny dataset; closed after the test."""
    from gui import AppContext

    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    demo = start_app(ctx)
    try:
        yield demo, ctx
    finally:
        ctx.shares.stop_all()  # what the Share tab started
        demo.close()


def require_web_runtime() -> None:
    """Skip (fail in CI) when onnxruntime-web's files are not where `make` puts them."""
    from core.export.web_runtime import COMMAND, runtime_files

    try:
        runtime_files()
    except FileNotFoundError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(str(err))
        pytest.skip(f"onnxruntime-web is not fetched: run {COMMAND}")


class WebExport(NamedTuple):
    run_dir: Path
    result: object  # core.export.web.WebExportResult
    folder: Path  # the page's folder, unzipped


@pytest.fixture(scope="session")
def web_export(frozen_run, tmp_path_factory) -> WebExport:
    """One web page export of a private copy of the frozen run, unzipped."""
    from core.export.web import export_web

    require_web_runtime()
    root = tmp_path_factory.mktemp("web-export")
    run_dir = frozen_run.copy_into(root / "runs")
    result = export_web(run_dir, root / "page.zip")
    with zipfile.ZipFile(result.path) as page:
        page.extractall(root / "unzipped")
    return WebExport(run_dir, result, root / "unzipped" / f"{run_dir.name}-web")


SPACE_TITLE = 'Shapes: "circle" & co # not a comment'


class SpaceExport(NamedTuple):
    run_dir: Path
    result: object  # core.export.space.SpaceExportResult


@pytest.fixture(scope="session")
def space_export(frozen_run, tmp_path_factory) -> SpaceExport:
    """One Space export of a private copy of the frozen run, named with YAML's special characters, to its default
    place: read by the Space tests and the Share tab's."""
    from core.export.space import export_space
    from core.runstore.table import set_label

    run_dir = frozen_run.copy_into(tmp_path_factory.mktemp("space") / "runs")
    set_label(run_dir, SPACE_TITLE, "")
    return SpaceExport(run_dir, export_space(run_dir))


@pytest.fixture
def browser():
    """Debian's headless Chromium through playwright (skipped where it is missing, failed in CI)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
