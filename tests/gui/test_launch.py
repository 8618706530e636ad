import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
