import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_share_without_internet_says_one_sentence_and_keeps_serving(tiny_dataset, tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "launch.py", "--no-browser", "--share", "--port", str(port), "--data", str(tiny_dataset),
         "--data-root", str(tiny_dataset.parent), "--runs", str(tmp_path / "runs")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 90
        while not any("public link" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
            lines.append(proc.stdout.readline())
        assert f"http://127.0.0.1:{port}/" in lines[-2]
        sentence = lines[-1].strip()
        assert sentence.startswith("The public link could not be created because") and sentence.count(". ") == 0
        assert not any("Could not create share link" in line for line in lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
            assert response.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
