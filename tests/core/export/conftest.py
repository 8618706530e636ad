"""The web page export of the frozen run, made once for the export tests that read it (the graph's check and the
browser's), and the rule for onnxruntime-web's files: skipped where `make` has not fetched them, failed in CI."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest

from core.export.web import WebExportResult, export_web
from core.export.web_runtime import COMMAND, runtime_files


def require_web_runtime() -> None:
    """Skip (fail in CI) when onnxruntime-web's files are not where `make` puts them."""
    try:
        runtime_files()
    except FileNotFoundError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(str(err))
        pytest.skip(f"onnxruntime-web is not fetched: run {COMMAND}")


class WebExport(NamedTuple):
    run_dir: Path
    result: WebExportResult
    folder: Path  # the page's folder, unzipped


@pytest.fixture(scope="session")
def web_export(frozen_run, tmp_path_factory) -> WebExport:
    """One web page export of a private copy of the frozen run, unzipped."""
    require_web_runtime()
    root = tmp_path_factory.mktemp("web-export")
    run_dir = frozen_run.copy_into(root / "runs")
    result = export_web(run_dir, root / "page.zip")
    with zipfile.ZipFile(result.path) as page:
        page.extractall(root / "unzipped")
    return WebExport(run_dir, result, root / "unzipped" / f"{run_dir.name}-web")
