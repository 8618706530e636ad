import asyncio
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client

from gui import words
from tests.conftest import START_ATTEMPTS, port_was_taken, start_app, unused_port

ROOT = Path(__file__).resolve().parents[2]


def _launch_until(args: list[str], ready: str, timeout: float = 90) -> tuple[subprocess.Popen, int, list[str]]:
    """`launch.py --port P ...` read line by line until a line holds `ready`; a port taken meanwhile is retried."""
    for _ in range(START_ATTEMPTS):
        port = unused_port()
        proc = subprocess.Popen([sys.executable, "launch.py", "--port", str(port), *args], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines, deadline = [], time.monotonic() + timeout
        while not any(ready in line for line in lines):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:  # it exited: all of its output has been read
                break
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines)
        else:
            return proc, port, lines
        proc.wait(timeout=30)
        assert port_was_taken("".join(lines)), "".join(lines)
    raise AssertionError(f"no free port in {START_ATTEMPTS} tries")


def test_share_without_internet_says_one_sentence_and_keeps_serving(tiny_dataset, tmp_path):
    proc, port, lines = _launch_until(
        ["--no-browser", "--share", "--data", str(tiny_dataset), "--data-root", str(tiny_dataset.parent),
         "--runs", str(tmp_path / "runs")], ready="public link")
    try:
        assert f"http://127.0.0.1:{port}/" in lines[-2]
        sentence = lines[-1].strip()
        assert sentence.startswith("The public link could not be created because") and sentence.count(". ") == 0
        assert not any("Could not create share link" in line for line in lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config") as response:  # no password: the demo view
            config = response.read().decode()
        assert words.DEMO_PREDICT in config and words.TAB_TRAIN not in config
        # the page says it too, at its top
        box, said = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(api_name="/public_link")
        assert said == sentence and box["visible"] is False
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_share_with_a_password_file_serves_the_full_app_behind_a_login_and_never_prints_it(tiny_dataset, tmp_path):
    secret = "never-print-me-7"
    auth = tmp_path / "auth.txt"
    auth.write_text(f"# the owner\nowner:{secret}\n")
    proc, port, lines = _launch_until(
        ["--no-browser", "--share", "--auth-file", str(auth), "--host", "127.0.0.1", "--data", str(tiny_dataset),
         "--data-root", str(tiny_dataset.parent), "--runs", str(tmp_path / "runs")], ready="public link")
    try:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/config")
            raise AssertionError("the page was served without a login")
        except urllib.error.HTTPError as err:
            assert err.code == 401
        form = urllib.parse.urlencode({"username": "owner", "password": secret}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/login", data=form)) as reply:
            cookie = reply.headers["set-cookie"].split(";")[0]
        page = urllib.request.Request(f"http://127.0.0.1:{port}/config", headers={"Cookie": cookie})
        with urllib.request.urlopen(page) as reply:
            config = reply.read().decode()
        assert words.TAB_TRAIN in config and secret not in config  # the full app, once logged in
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=30)
    assert secret not in "".join(lines) + rest
    assert not any(secret in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file() and p != auth)


def test_what_the_terminal_says_about_who_may_see_what(tmp_path):
    from core.runstore.sharing import save_password
    from launch import choose_view, exposure_message, password_check, read_auth

    assert choose_view(demo=False, share=True, protected=False) == "demo"
    assert choose_view(demo=False, share=True, protected=True) == "full"
    assert choose_view(demo=True, share=False, protected=True) == "demo"
    assert choose_view(demo=False, share=False, protected=False) == "full"
    assert exposure_message("127.0.0.1", "full", False) is None and exposure_message("localhost", "demo", True) is None
    said = exposure_message("0.0.0.0", "full", False)
    assert "0.0.0.0" in said and words.VIEW_NAMES["full"] in said and words.UNPROTECTED in said
    said = exposure_message("0.0.0.0", "demo", True)
    assert words.VIEW_NAMES["demo"] in said and words.PROTECTED in said
    with pytest.raises(ValueError) as refused:
        read_auth(["owner-without-a-password", "x:y"], None)
    assert "user:password" in str(refused.value)
    bad = tmp_path / "bad.txt"
    bad.write_text("a:b\nsecret-line-no-colon\n")
    with pytest.raises(ValueError, match="Line 2 of") as refused:
        read_auth([], str(bad))
    assert "secret-line" not in str(refused.value)
    assert read_auth(["a:b:c", " u :p"], None) == [("a", "b:c"), ("u", "p")]
    assert password_check([], tmp_path / "none.json") is None
    stored = tmp_path / "auth.json"
    save_password(stored, "owner", "long enough")
    check = password_check([("guest", "pw")], stored)

    def login(user, password):  # Gradio awaits a coroutine check: the hash runs off its event loop
        return asyncio.run(check(user, password))

    assert login("guest", "pw") and login("owner", "long enough") and not login("owner", "pw")
    stored.unlink()  # cleared in Settings while the app runs: the password it started with still opens it
    assert login("owner", "long enough")


def test_help_recommends_the_password_file_over_a_password_in_the_command_line(capsys):
    from launch import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--help"])
    said = " ".join(capsys.readouterr().out.split())  # argparse wraps the help at the terminal's width
    assert "Prefer --auth-file: a password given here shows in the process list" in said


def test_an_app_whose_port_was_taken_before_it_could_bind_starts_on_a_fresh_port(tiny_dataset, tmp_path):
    """The tests' start-up helper: the close-then-reuse race of a chosen port is survived, not lost."""
    from gui import AppContext

    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        demo = start_app(ctx, ports=[taken, unused_port()])
        try:
            assert demo.server_port != taken
            with urllib.request.urlopen(demo.local_url) as response:
                assert response.status == 200
        finally:
            demo.close()
