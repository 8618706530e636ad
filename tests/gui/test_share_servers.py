"""The Share tab's servers: the demo view on this network (reached here only through 127.0.0.1) answers exactly the
demo view's endpoints and stops answering when stopped; the public link fails fast offline and leaves nothing
running; a visitor password guards the page; the whole app is never shared without one."""
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from core.runstore.sharing import set_shared
from gui import words
from gui.share_servers import KINDS, lan_address
from gui.tabs import share as share_tab
from tests.gui.test_demo_view import _file_urls, _get, _post

VISITOR_PASSWORD = "plum tree 77"


@pytest.fixture
def sharing_ctx(two_stage_run, tiny_dataset, tmp_path):
    from gui import AppContext

    run = two_stage_run.copy_into(tmp_path / "runs")
    set_shared(run, True)
    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    yield ctx, run.name
    ctx.shares.stop_all()


def _local(shared) -> str:
    """The server's address on this computer: tests never send anything to the machine's network address."""
    return f"http://127.0.0.1:{shared.blocks.server_port}/"


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=5)
    except urllib.error.HTTPError:
        return False  # something still answers
    except OSError:
        return True
    return False


def test_the_network_server_serves_the_demo_view_only_and_stops(sharing_ctx, tiny_dataset):
    ctx, run_id = sharing_ctx
    shared = ctx.shares.start(ctx, "network")
    base = _local(shared)
    assert KINDS["network"].host == "0.0.0.0" and shared.view == "demo" and not shared.protected
    assert shared.url.endswith(f":{shared.blocks.server_port}/") and "127.0.0.1" not in shared.url
    if lan_address():
        assert shared.url == f"http://{lan_address()}:{shared.blocks.server_port}/"  # shown, never visited here
    client = Client(base, verbose=False)
    assert set(client.view_api(return_format="dict", print_info=False)["named_endpoints"]) == {
        "/predict", "/answer", "/evaluate"}
    for name in ("/train", "/check_dataset", "/export_run", "/export_web", "/share_network", "/publish_space"):
        with pytest.raises(ValueError, match="Cannot find a function"):
            client.predict(api_name=name)
    picture = min((tiny_dataset / "valid" / "star").iterdir())
    assert client.predict(image=handle_file(str(picture)), run="", api_name="/predict")["label"]
    status, answer, _ = _post(f"{base}api/v1/predict", picture.read_bytes())
    assert status == 200 and answer["run"] == run_id
    for url in _file_urls(base, picture) + _file_urls(base, ctx.runs_dir / run_id / "config.json"):
        status, body = _get(url)
        assert status in (403, 404) and body != picture.read_bytes(), url
    status, config = _get(f"{base}config")
    assert status == 200 and words.TAB_TRAIN not in config.decode() and words.TAB_SHARE not in config.decode()

    assert ctx.shares.get("network") is shared
    assert ctx.shares.stop("network") and ctx.shares.get("network") is None
    assert _refused(base)
    assert not ctx.shares.stop("network")


def test_the_public_link_fails_fast_offline_and_leaves_nothing_running(sharing_ctx):
    ctx, _ = sharing_ctx
    began = time.perf_counter()
    box, qr, said = share_tab.start(ctx, "public", "", False)
    took = time.perf_counter() - began
    if ctx.shares.get("public") is not None:  # a machine with internet: Gradio made a link
        assert box.value.startswith("https://") and "<img" in qr
        return
    assert took < 30 and said == words.WARN.format(words.SHARE_PUBLIC_OFFLINE) and qr == ""
    assert box.visible is False


def test_a_visitor_password_guards_the_shared_page(sharing_ctx):
    ctx, _ = sharing_ctx
    with pytest.raises(ValueError, match="at least 8"):
        ctx.shares.start(ctx, "network", password="short")
    with pytest.raises(ValueError, match="behind a password"):
        ctx.shares.start(ctx, "network", full=True)
    shared = ctx.shares.start(ctx, "network", password=VISITOR_PASSWORD)
    base = _local(shared)
    assert shared.protected and _get(f"{base}config")[0] == 401
    wrong = urllib.parse.urlencode({"username": "anyone", "password": VISITOR_PASSWORD + "x"}).encode()
    assert _post(f"{base}login", wrong, kind="application/x-www-form-urlencoded")[0] == 400
    right = urllib.parse.urlencode({"username": "anyone", "password": VISITOR_PASSWORD}).encode()
    status, _, cookie = _post(f"{base}login", right, kind="application/x-www-form-urlencoded")
    assert status == 200 and _get(f"{base}config", cookie.split(";")[0])[0] == 200


def test_the_whole_app_is_shared_only_behind_the_password(sharing_ctx):
    ctx, _ = sharing_ctx
    box, _, said = share_tab.start(ctx, "network", "", True)
    assert box.visible is False and "behind a password" in said and ctx.shares.get("network") is None
    box, qr, said = share_tab.start(ctx, "network", VISITOR_PASSWORD, True)
    shared = ctx.shares.get("network")
    assert shared.view == "full" and box.value == shared.url and "<img" in qr and "whole" not in said
    assert words.VIEW_NAMES["full"] in said and words.SHARE_WITH_PASSWORD in said
    base = _local(shared)
    right = urllib.parse.urlencode({"username": "anyone", "password": VISITOR_PASSWORD}).encode()
    cookie = _post(f"{base}login", right, kind="application/x-www-form-urlencoded")[2].split(";")[0]
    config = _get(f"{base}config", cookie)[1].decode()
    assert words.TAB_TRAIN in config and words.TAB_SHARE not in config  # visitors cannot share or stop shares
    assert "share_network" not in config and "publish_space" not in config
    assert share_tab.stop(ctx, "network")[2] == words.SHARE_STOPPED


def test_stopping_kills_the_tunnel_behind_a_public_link(sharing_ctx):
    """Gradio's close leaves its tunnel process forwarding the old public address to the freed port; stop kills it.
    (No tunnel can be made here: a real child process stands in for Gradio's frpc.)"""
    import subprocess
    import sys

    from gradio import tunneling

    ctx, _ = sharing_ctx
    shared = ctx.shares.start(ctx, "network")
    tunnel = tunneling.Tunnel("share.example", 7000, "127.0.0.1", shared.blocks.server_port, "token", None)
    tunnel.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    tunneling.CURRENT_TUNNELS.append(tunnel)
    child = tunnel.proc
    try:
        assert ctx.shares.stop("network")
        assert child.wait(timeout=10) is not None and tunnel not in tunneling.CURRENT_TUNNELS
    finally:
        if child.poll() is None:
            child.kill()
        if tunnel in tunneling.CURRENT_TUNNELS:
            tunneling.CURRENT_TUNNELS.remove(tunnel)


def test_the_qr_code_holds_the_address():
    html = share_tab.qr_html("http://192.168.1.20:7861/")
    assert html.startswith('<img src="data:image/svg+xml') and "192.168.1.20:7861" in html  # in its alt text


def test_the_visitors_sentence_names_the_shared_runs(sharing_ctx, tmp_path):
    from gui import AppContext

    ctx, run_id = sharing_ctx
    assert run_id in share_tab.visitors_sentence(ctx)
    empty = AppContext(data_root=tmp_path, runs_dir=tmp_path / "none", initial_dataset=tmp_path)
    assert share_tab.visitors_sentence(empty) == words.SHARE_VISITORS_NONE
    assert Path(ctx.runs_dir / run_id).is_dir()
