"""The Share tab's exports: the web page and the Space folder as downloads with their proof, and publishing with a
token that is used once and never shown (against a stand-in for the hub client: huggingface.co cannot be reached
here). The exports themselves are the session's (tests/conftest.py; tests/core/export checks them): here the tab
hands them out, so each exporter gives back a copy of the session's real export instead of making it again."""
import dataclasses
import shutil
import zipfile
from pathlib import Path

import pytest

from gui import words
from gui.tabs import share as share_tab

TOKEN = "hf_ShareTabTokenNeverShown987654321"


@pytest.fixture
def share_ctx(frozen_run, tiny_dataset, tmp_path, space_export, monkeypatch):
    from gui import AppContext

    def space_copy(run_dir, out_dir):  # the session's Space folder, where the tab asked for it
        shutil.copytree(space_export.result.path, out_dir)
        return dataclasses.replace(space_export.result, path=Path(out_dir))

    monkeypatch.setattr("core.export.space.export_space", space_copy)
    frozen_run.copy_into(tmp_path / "runs")
    return AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)


class Hub:
    """A stand-in for huggingface_hub.HfApi: records the calls and keeps a copy of what would be uploaded."""

    def __init__(self, token: str, store: Path) -> None:
        self.token, self.store, self.calls = token, store, []

    def create_repo(self, **kwargs) -> str:
        self.calls.append(("create_repo", kwargs))
        return f"https://huggingface.co/spaces/{kwargs['repo_id']}"

    def upload_folder(self, **kwargs) -> None:
        self.calls.append(("upload_folder", kwargs))
        shutil.copytree(kwargs["folder_path"], self.store)


def test_the_space_folder_is_one_download_with_its_proof(share_ctx):
    path, said = share_tab.make_space(share_ctx, "")
    assert path and Path(path).suffix == ".zip", said
    with zipfile.ZipFile(path) as archive:
        assert {"app.py", "model.onnx", "README.md", "requirements.txt"} <= set(archive.namelist())
    assert "validation pictures" in said and "of 20" in said


def test_publishing_uses_the_token_once_and_never_shows_it(share_ctx, tmp_path):
    made = []

    def factory(token):
        made.append(Hub(token, tmp_path / "uploaded"))
        return made[-1]

    box, said = share_tab.publish(share_ctx, "", TOKEN, "alice/shapes", api_factory=factory)
    assert box == "" and said == words.SHARE_PUBLISHED.format(url="https://huggingface.co/spaces/alice/shapes")
    assert made[0].token == TOKEN and (tmp_path / "uploaded" / "app.py").is_file()
    box, said = share_tab.publish(share_ctx, "", TOKEN, "not a name", api_factory=factory)
    assert box == "" and "not a valid" in said and TOKEN not in said and len(made) == 1  # refused before any call
    assert share_tab.publish(share_ctx, "", "  ", "alice/shapes", api_factory=factory)[1] == words.WARN.format(
        words.SHARE_NO_TOKEN)
    for path in share_ctx.runs_dir.parent.rglob("*"):
        assert not path.is_file() or TOKEN.encode() not in path.read_bytes(), path


def test_the_web_page_is_one_download_with_its_proof(share_ctx, web_export, monkeypatch):
    def page_copy(run_dir, out):  # the session's web page, where the tab asked for it
        shutil.copyfile(web_export.result.path, out)
        return dataclasses.replace(web_export.result, path=Path(out))

    monkeypatch.setattr("core.export.web.export_web", page_copy)
    path, said = share_tab.make_page(share_ctx, "")
    assert path and Path(path).suffix == ".zip", said
    with zipfile.ZipFile(path) as archive:
        assert any(name.endswith("/index.html") for name in archive.namelist())
    assert "of 20" in said
