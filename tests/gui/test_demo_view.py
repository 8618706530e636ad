"""Sharing: the demo view serves only the shared runs and registers no other endpoint; files of the dataset are not
served; the owner's password is kept as a hash and Gradio's login guards the page, its API and the HTTP endpoint."""
import json
import shutil
import stat
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from core.runstore.sharing import check_password, password_path, set_shared, shared_runs
from gui import words
from tests.conftest import START_ATTEMPTS, port_was_taken, unused_port

PASSWORD = "correct horse 42"


def _start(ctx, **kwargs):
    """gui.start on 127.0.0.1 with a view and a password check, on a fresh port if the first was taken meanwhile."""
    from gui import start

    for _ in range(START_ATTEMPTS):
        try:
            return start(ctx, "127.0.0.1", unused_port(), **kwargs)
        except OSError as err:
            if not port_was_taken(str(err)):
                raise
    raise AssertionError("no free port")


def _get(url: str, cookie: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _post(url: str, body: bytes, cookie: str = "", kind: str = "") -> tuple[int, dict, str]:
    headers = {**({"Cookie": cookie} if cookie else {}), **({"Content-Type": kind} if kind else {})}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read() or b"null"), reply.headers.get("set-cookie", "")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null"), ""


def _fake_run(runs: Path, name: str, status: str = "finished") -> Path:
    path = runs / name
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")  # what makes a folder a run
    (path / "summary.json").write_text(json.dumps({"status": status, "classes": ["a", "b"]}))
    (path / "best.pt").write_bytes(b"")
    return path


def test_shared_runs_are_the_marked_ones_else_the_newest_finished_run(tmp_path):
    old, new, running = (_fake_run(tmp_path, "20240101-000000-a"), _fake_run(tmp_path, "20240102-000000-a"),
                         _fake_run(tmp_path, "20240103-000000-a", status="running"))
    assert [r.run_id for r in shared_runs(tmp_path)] == [new.name]  # a running run is never the default
    set_shared(new, False)  # the owner keeps the newest private: the next finished one is the default
    assert [r.run_id for r in shared_runs(tmp_path)] == [old.name]
    set_shared(running, True)
    set_shared(old, True)
    assert [r.run_id for r in shared_runs(tmp_path)] == [running.name, old.name]
    assert shared_runs(tmp_path / "nothing") == []


def test_the_settings_password_is_stored_hashed_for_the_owner_alone(tmp_path):
    from gui.context import AppContext
    from gui.tabs.settings import password_state, set_password

    ctx = AppContext(data_root=tmp_path, runs_dir=tmp_path / "runs", initial_dataset=tmp_path, cache_dir=tmp_path / "c")
    said, *cleared = set_password(ctx, "owner", PASSWORD, PASSWORD + "!")
    assert "differ" in said and cleared == ["", ""] and not password_path(ctx.cache_dir).exists()
    assert "at least 8" in set_password(ctx, "owner", "short", "short")[0]
    said, *cleared = set_password(ctx, "owner", PASSWORD, PASSWORD)
    assert said == words.PASSWORD_SAVED.format(user="owner") and cleared == ["", ""]  # the page forgets it
    stored = password_path(ctx.cache_dir)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert PASSWORD not in stored.read_text() and PASSWORD.encode().hex() not in stored.read_text()
    assert check_password(stored, "owner", PASSWORD)
    assert not check_password(stored, "owner", PASSWORD + " ") and not check_password(stored, "Owner", PASSWORD)
    assert password_state(ctx) == words.PASSWORD_IS_SET


@pytest.fixture
def demo_runs(two_stage_run, tmp_path):
    """Two runs: the older one shared, the newer one (which would be the default) not."""
    runs = tmp_path / "runs"
    shared = two_stage_run.copy_into(runs)
    private = Path(shutil.copytree(shared, runs / (shared.name + "-9")))
    set_shared(shared, True)
    return runs, shared.name, private.name


def test_demo_view_predicts_with_shared_runs_only_and_has_no_other_endpoint(tiny_dataset, demo_runs):
    from gui import AppContext

    runs, shared, private = demo_runs
    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=runs, initial_dataset=tiny_dataset)
    demo = _start(ctx, view="demo")
    try:
        client = Client(demo.local_url, verbose=False)
        assert set(client.view_api(return_format="dict", print_info=False)["named_endpoints"]) == {
            "/predict", "/answer", "/evaluate"}
        image = handle_file(str(min((tiny_dataset / "valid" / "star").iterdir())))
        label = client.predict(image=image, run=shared, api_name="/predict")
        assert label["label"] in {"circle", "square", "star", "triangle"}
        assert client.predict(image=image, run="", api_name="/answer")["top"][0]["label"] == label["label"]
        with pytest.raises(Exception, match="is not shared in this demo"):
            client.predict(image=image, run=private, api_name="/predict")
        with pytest.raises(Exception, match="is not shared in this demo"):
            client.predict(run_id=private, split_name="valid", api_name="/evaluate")
        evaluated = client.predict(run_id=shared, split_name="valid", api_name="/evaluate")
        assert "images" in evaluated[1] and str(tiny_dataset) not in json.dumps(evaluated)  # figures, no pictures
        for name in ("/train", "/stop", "/check_dataset", "/continue_run", "/export_run", "/open_project",
                     "/build_dataset", "/predict_folder"):
            with pytest.raises(ValueError, match="Cannot find a function"):
                client.predict(api_name=name)

        rest = f"{demo.local_url}api/v1/predict"
        body = Path(image["path"]).read_bytes()
        status, answer, _ = _post(f"{rest}?run={private}", body)
        assert status == 404 and answer["error"] == words.NOT_SHARED.format(run_id=private)
        status, answer, _ = _post(rest, body)  # no run named: the shared one, not the newest
        assert status == 200 and answer["run"] == shared

        status, config = _get(f"{demo.local_url}config")
        text = config.decode()
        assert status == 200 and words.TAB_TRAIN not in text and words.TAB_DATA not in text
        assert str(tiny_dataset) not in text and words.DEMO_PREDICT in text
    finally:
        demo.close()


def _file_urls(base: str, path: Path) -> list[str]:
    """A dataset file asked for plainly, URL-encoded, double-encoded and through `..`."""
    text = str(path)
    dotted = f"{path.parent}/../{path.parent.name}/{path.name}"
    return [f"{base}gradio_api/file={text}", f"{base}gradio_api/file={urllib.parse.quote(text, safe='')}",
            f"{base}gradio_api/file={urllib.parse.quote(urllib.parse.quote(text, safe=''), safe='')}",
            f"{base}gradio_api/file={dotted}", f"{base}file={text}"]


def test_the_demo_view_serves_no_dataset_file_where_the_full_app_does(tiny_dataset, tmp_path):
    from gui import AppContext

    picture = min((tiny_dataset / "train" / "circle").iterdir())
    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    full = _start(ctx)
    try:
        status, body = _get(f"{full.local_url}gradio_api/file={picture}")
        assert status == 200 and body == picture.read_bytes()  # the check below can fail
    finally:
        full.close()
    demo = _start(ctx, view="demo")
    try:
        for url in _file_urls(demo.local_url, picture):
            status, body = _get(url)
            assert status in (403, 404) and body != picture.read_bytes(), url
    finally:
        demo.close()


def test_a_password_guards_the_page_its_api_and_the_http_endpoint(tiny_dataset, tmp_path, capfd):
    from gui import AppContext
    from launch import password_check

    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    demo = _start(ctx, auth=password_check([("owner", PASSWORD)], tmp_path / "none.json"))
    try:
        base = demo.local_url
        assert _get(f"{base}config")[0] == 401
        status, answer, _ = _post(f"{base}api/v1/predict", b"x")
        assert status == 401 and answer["error"] == words.REST_LOGIN
        with pytest.raises(ValueError, match="(?i)login|auth"):
            Client(base, verbose=False)
        form = urllib.parse.urlencode({"username": "owner", "password": PASSWORD + "x"}).encode()
        assert _post(f"{base}login", form, kind="application/x-www-form-urlencoded")[0] == 400
        form = urllib.parse.urlencode({"username": "owner", "password": PASSWORD}).encode()
        status, _, cookie = _post(f"{base}login", form, kind="application/x-www-form-urlencoded")
        assert status == 200 and "access-token" in cookie
        cookie = cookie.split(";")[0]
        status, config = _get(f"{base}config", cookie)
        assert status == 200 and words.TAB_SETTINGS in config.decode()
        status, answer, _ = _post(f"{base}api/v1/predict", b"x", cookie)
        assert status == 404 and "No trained run yet" in answer["error"]  # past the login: no run to answer with
        page = _get(base, cookie)[1] + _get(base)[1] + config
        assert PASSWORD.encode() not in page
    finally:
        demo.close()
    said = capfd.readouterr()
    assert PASSWORD not in said.out + said.err
    assert not any(PASSWORD in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())


def test_the_runs_tab_tick_shares_a_run_and_says_so(tmp_path):
    from gui.context import AppContext
    from gui.demo import is_shown, mark_shared

    runs = tmp_path / "runs"
    old, new = _fake_run(runs, "20240101-000000-a"), _fake_run(runs, "20240102-000000-a")
    for path in (old, new):
        (path / "config.json").write_text("{}")
    ctx = AppContext(data_root=tmp_path, runs_dir=runs, initial_dataset=tmp_path)
    assert is_shown(ctx, new.name) and not is_shown(ctx, old.name)  # nothing ticked: the newest finished run
    assert mark_shared(ctx, old.name, True) == words.SHARED_ON.format(run_id=old.name)
    assert is_shown(ctx, old.name) and not is_shown(ctx, new.name)
    assert "no run called" in mark_shared(ctx, "../elsewhere", True)
