"""`python launch.py` without make: nvidia-smi's header -> PyTorch build, make's stamp rule, and the whole start run by
a Python that is not .venv's (the system one, or one too old), with tiny scripts standing in for pip and nvidia-smi."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core import bootstrap

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = Path("/usr/bin/python3")
OLD_PYTHON = Path("/root/.pyenv/versions/3.8.18/bin/python")
STAMP = ROOT / ".venv" / ".installed"

# nvidia-smi's first lines as drivers print them (a desktop on 570, a server on 580, an old 470, a 550 on Windows).
SMI_570 = """Tue Mar  4 10:12:33 2025
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 570.86.15              Driver Version: 570.86.15      CUDA Version: 12.8     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
|   0  NVIDIA GeForce RTX 4090        Off |   00000000:01:00.0  On |                  Off |
"""
SMI_580 = """+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.65.06              Driver Version: 580.65.06      CUDA Version: 13.0     |
|   0  NVIDIA H200                    On  |   00000000:19:00.0 Off |                    0 |
"""
SMI_470 = """+-----------------------------------------------------------------------------+
| NVIDIA-SMI 470.182.03   Driver Version: 470.182.03   CUDA Version: 11.4     |
|   0  Tesla K80           Off  | 00000000:00:1E.0 Off |                    0 |
"""
SMI_WINDOWS_550 = """+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 552.22                 Driver Version: 552.22         CUDA Version: 12.4     |
|   0  NVIDIA GeForce RTX 3060      WDDM  |   00000000:01:00.0  On |                  N/A |
"""
SMI_NO_DRIVER = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the "
                 "latest NVIDIA driver is installed and running.\n")
SMI_NO_DEVICE = "No devices were found\n"
# pip 23's output for part of requirements.txt on this machine (its local indexes' warnings included), then a failure.
PIP_OUTPUT = """Looking in links: /opt/wheels
WARNING: Location 'file:///opt/pypi/simple/segno/' is ignored: it is neither a file nor a directory.
Collecting segno==1.6.6 (from -r requirements.txt (line 12))
  Downloading segno-1.6.6-py3-none-any.whl (76 kB)
Processing /opt/pypi/files/plotly-7.1.0-py3-none-any.whl
Collecting narwhals>=1.15.1 (from plotly==7.1.0)
  Downloading https://files.example.org/packages/torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl (906.4 MB)
Installing collected packages: segno, narwhals, plotly
Successfully installed narwhals-2.29.0 plotly-7.1.0 segno-1.6.6
"""
PIP_FAILURE = """Collecting torch==2.14.1 (from -r requirements.txt (line 2))
ERROR: Could not find a version that satisfies the requirement torch==2.14.1 (from versions: none)
ERROR: No matching distribution found for torch==2.14.1
"""


@pytest.mark.parametrize("text, tag, said", [
    (SMI_570, "cu128", "Found an NVIDIA GPU (driver supports CUDA 12.8): installing PyTorch built for CUDA 12.8."),
    (SMI_580, "cu130", "Found an NVIDIA GPU (driver supports CUDA 13.0): installing PyTorch built for CUDA 13.0."),
    (SMI_570.replace("12.8", "12.9"), "cu128", "driver supports CUDA 12.9): installing PyTorch built for CUDA 12.8."),
    (SMI_570.replace("12.8", "12.6"), "cu126", "installing PyTorch built for CUDA 12.6."),
    (SMI_WINDOWS_550, None, "driver supports only CUDA 12.4 (PyTorch's GPU builds need 12.6 or newer): installing "
                            "the default PyTorch build; update the NVIDIA driver to train on the GPU."),
    (SMI_470, None, "driver supports only CUDA 11.4"),
    (SMI_NO_DRIVER, None, None), (SMI_NO_DEVICE, None, None), (None, None, None),
])
def test_nvidia_smi_picks_the_pytorch_build_and_says_why(text, tag, said):
    got_tag, sentence = bootstrap.torch_choice(text)
    assert got_tag == tag
    assert sentence == said if said is None else said in sentence
    assert bootstrap.cuda_version(SMI_470) == (11, 4) and bootstrap.wheel_tag((12, 5)) is None


def test_the_stamp_rule_is_makes(tmp_path):
    (tmp_path / ".venv").mkdir()
    requirements, stamp = tmp_path / "requirements.txt", tmp_path / ".venv" / ".installed"
    requirements.write_text("segno==1.6.6\n")
    assert bootstrap.install_needed(tmp_path)  # no stamp: never installed
    stamp.touch()
    for stamp_time, needed in [(1_000, True), (2_000, False), (3_000, False)]:  # older, same age, newer
        os.utime(requirements, (2_000, 2_000))
        os.utime(stamp, (stamp_time, stamp_time))
        assert bootstrap.install_needed(tmp_path) is needed


def test_venv_python_per_operating_system():
    venv = Path("project") / ".venv"
    assert bootstrap.venv_python(venv, "nt") == venv / "Scripts" / "python.exe"
    assert bootstrap.venv_python(venv, "posix") == venv / "bin" / "python"


def test_torch_pins_come_from_requirements_txt(tmp_path):
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    torch, vision = bootstrap.pins(ROOT / "requirements.txt")
    assert torch.startswith("torch==") and vision.startswith("torchvision==") and {torch, vision} <= set(lines)
    (tmp_path / "requirements.txt").write_text("torch>=2\ntorchvision==0.29.1  # pinned\n")
    with pytest.raises(ValueError, match="pins no version of torch"):
        bootstrap.pins(tmp_path / "requirements.txt")


def test_pips_output_becomes_short_lines():
    shown = [line for line in map(bootstrap.short_line, (PIP_OUTPUT + PIP_FAILURE).splitlines()) if line]
    assert shown == [
        "  Collecting segno==1.6.6", "  Collecting plotly-7.1.0-py3-none-any.whl", "  Collecting narwhals>=1.15.1",
        "    downloading torch-2.14.1-cp311-cp311-manylinux_2_28_x86_64.whl (906.4 MB)",
        "  Installing 3 packages (this takes a minute or two)...", "  Installed 3 packages.",
        "  Collecting torch==2.14.1",
        "ERROR: Could not find a version that satisfies the requirement torch==2.14.1 (from versions: none)",
        "ERROR: No matching distribution found for torch==2.14.1"]


def test_python_older_than_3_10_gets_one_sentence():
    assert bootstrap.python_too_old((3, 10, 0)) is None
    assert bootstrap.python_too_old((3, 9, 18)) == (
        "Transfer Studio needs Python 3.10 or newer, and this is Python 3.9: install a newer one from "
        "https://www.python.org/downloads/, then start again with it.")
    if not OLD_PYTHON.exists():
        pytest.skip(f"no {OLD_PYTHON} to run launch.py with")
    done = subprocess.run([str(OLD_PYTHON), str(ROOT / "launch.py"), "--help"], capture_output=True, text=True,
                          timeout=30, env=_env())
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.strip() == bootstrap.python_too_old((3, 8))


def _env(**extra: str) -> dict:
    env = {key: value for key, value in os.environ.items() if key != bootstrap.GUARD}
    return {**env, **extra}


def _copy_app(folder: Path) -> Path:
    """launch.py, core/__init__.py, core/bootstrap.py and requirements.txt: all a start needs before .venv."""
    (folder / "core").mkdir(parents=True)
    for name in ("launch.py", "requirements.txt", "core/__init__.py", "core/bootstrap.py"):
        shutil.copy2(ROOT / name, folder / name)
    return folder


def _system_python() -> Path:
    if not SYSTEM_PYTHON.exists():
        pytest.skip(f"no {SYSTEM_PYTHON}: the test needs a Python that is not a virtual environment")
    return SYSTEM_PYTHON


def test_the_system_python_runs_launch_in_the_venv_without_installing(tmp_path):
    python = _system_python()
    if not STAMP.exists():
        pytest.skip(f"{STAMP} is missing: the project's .venv is not installed")
    app = _copy_app(tmp_path / "app")
    (app / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
    os.utime(app / "requirements.txt", (STAMP.stat().st_mtime - 1,) * 2)  # the stamp is fresh: nothing to install
    done = subprocess.run([str(python), "launch.py", "--help"], cwd=app, capture_output=True, text=True,
                          timeout=60, env=_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: launch.py [-h]") and "Setting up" not in done.stdout + done.stderr
    bad = subprocess.run([str(python), "launch.py", "--port", "x"], cwd=app, capture_output=True, text=True,
                         timeout=60, env=_env())
    assert bad.returncode == 2 and "invalid int value: 'x'" in bad.stderr  # the app's exit code, passed through


FAKE_PYTHON = """#!/bin/sh
# Stands in for .venv's Python: it passes the "does it run" check, pip prints real pip lines (fails when told), the app
# prints its arguments.
[ "$1" = "-c" ] && exit 0
echo "$*" >> "{log}"
case "$1 $2" in
  "-m pip") case "$*" in *index-url*) [ -n "$FAIL_TORCH" ] && {{ echo "ERROR: No matching distribution"; exit 1; }};;
            esac
            cat "{pip_output}"; exit "${{PIP_RC:-0}}";;
  "-m core.export.web_runtime") echo "offline"; exit 1;;
esac
echo "app ran under .venv's Python with: $*  guard=$TRANSFER_STUDIO_IN_VENV"
exit 3
"""


def _fake_setup(tmp_path: Path, smi: str, pip_output: str) -> tuple:
    """A copy of the app whose .venv/bin/python is a tiny script, and a PATH whose nvidia-smi prints `smi`."""
    app, bin_dir, log = _copy_app(tmp_path / "app"), tmp_path / "bin", tmp_path / "calls.log"
    (tmp_path / "pip.txt").write_text(pip_output)
    for path, text in [(app / ".venv" / "bin" / "python", FAKE_PYTHON.format(log=log, pip_output=tmp_path / "pip.txt")),
                       (bin_dir / "nvidia-smi", f"#!/bin/sh\ncat <<'EOF'\n{smi}EOF\n")]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755)
    return app, log, f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def test_a_first_start_on_a_gpu_installs_the_cuda_torch_then_the_rest_then_runs_the_app(tmp_path):
    python = _system_python()
    app, log, path = _fake_setup(tmp_path, SMI_570, PIP_OUTPUT)
    done = subprocess.run([str(python), "launch.py", "--no-browser", "--port", "7999"], cwd=app, capture_output=True,
                          text=True, timeout=60, env=_env(PATH=path))
    torch, vision = bootstrap.pins(ROOT / "requirements.txt")
    calls = log.read_text().splitlines()
    assert calls[0].endswith(f"--index-url https://download.pytorch.org/whl/cu128 {torch} {vision}")
    assert calls[1].endswith(f"-r {app / 'requirements.txt'}") and calls[2] == "-m core.export.web_runtime"
    assert calls[3] == f"{app / 'launch.py'} --no-browser --port 7999"
    said = done.stdout.splitlines()
    assert said[0] == ("Setting up Transfer Studio in .venv: installing PyTorch, Gradio and the other requirements. "
                       "The first time takes a few minutes and downloads about 3 GB; later starts skip this.")
    assert said[1] == "Found an NVIDIA GPU (driver supports CUDA 12.8): installing PyTorch built for CUDA 12.8."
    assert "  Collecting segno==1.6.6" in said and "WARNING" not in done.stdout
    assert said[-3].startswith("Note: onnxruntime-web could not be fetched; the app runs, but the web page export")
    assert said[-2:] == ["Set up done: starting Transfer Studio.",
                         f"app ran under .venv's Python with: {app / 'launch.py'} --no-browser --port 7999  guard=1"]
    assert done.returncode == 3 and (app / ".venv" / ".installed").exists()


def test_a_failed_install_says_what_to_do_and_writes_no_stamp(tmp_path):
    python = _system_python()
    app, log, path = _fake_setup(tmp_path, SMI_570, PIP_FAILURE)
    done = subprocess.run([str(python), "launch.py"], cwd=app, capture_output=True, text=True, timeout=60,
                          env=_env(PATH=path, FAIL_TORCH="1", PIP_RC="1"))
    assert ("Could not install PyTorch built for CUDA 12.8 (offline, or no such build for this computer): installing "
            "the default PyTorch build instead.") in done.stdout
    assert "pip's last lines:\n" + PIP_FAILURE in done.stdout
    assert done.stderr.strip() == ("Installing the requirements failed (pip's last lines are above): check the "
                                   "internet connection and the free disk space, then start again; what was "
                                   "installed is kept.")
    assert done.returncode == 1 and not (app / ".venv" / ".installed").exists()
    assert "launch.py" not in log.read_text()  # the app was not started


def test_no_gpu_installs_requirements_txt_as_make_does(tmp_path):
    python = _system_python()
    app, log, path = _fake_setup(tmp_path, SMI_NO_DRIVER, PIP_OUTPUT)
    stamp = app / ".venv" / ".installed"
    stamp.touch()
    os.utime(stamp, (1_000, 1_000))  # installed before requirements.txt last changed
    done = subprocess.run([str(python), "launch.py"], cwd=app, capture_output=True, text=True, timeout=60,
                          env=_env(PATH=path))
    assert done.stdout.splitlines()[0] == ("requirements.txt changed since the last start: updating .venv (only what "
                                           "changed is downloaded).")
    assert log.read_text().splitlines()[0].endswith(f"install --disable-pip-version-check --progress-bar off "
                                                    f"-r {app / 'requirements.txt'}")
    assert stamp.stat().st_mtime > (app / "requirements.txt").stat().st_mtime


def test_in_the_venv_with_a_fresh_stamp_nothing_happens(tmp_path):
    started = []
    sys.addaudithook(lambda event, _: started.append(event) if event in ("subprocess.Popen", "os.exec") else None)
    import launch  # noqa: F401  (importing it starts nothing)

    here = tmp_path / "app"
    here.mkdir()
    (here / ".venv").symlink_to(sys.prefix, target_is_directory=True)  # as if this test's Python were its .venv
    (here / "requirements.txt").write_text("")
    stamp = Path(sys.prefix) / ".installed"
    if not stamp.exists():
        pytest.skip(f"{stamp} is missing")
    os.utime(here / "requirements.txt", (stamp.stat().st_mtime - 1,) * 2)
    assert bootstrap.in_project_venv(here) and not bootstrap.install_needed(here)
    assert bootstrap.enter_venv(here, ["--help"]) is None
    assert bootstrap.own_environment()  # another clone run with this venv's Python: used as it is, nothing set up
    assert bootstrap.enter_venv(tmp_path, ["--help"]) is None and not (tmp_path / ".venv").exists()
    assert started == []


def test_a_python_without_ensurepip_is_told_what_to_install(tmp_path):
    """Debian's and Ubuntu's python3 without python3-venv: ensurepip cannot be found (here: blocked in sys.modules)."""
    python = _system_python()
    code = ("import sys; sys.modules['ensurepip'] = None; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from core.bootstrap import create_venv; create_venv(Path(sys.argv[2]))")
    done = subprocess.run([str(python), "-c", code, str(ROOT), str(tmp_path / ".venv")], capture_output=True,
                          text=True, timeout=30, env=_env())
    version = subprocess.run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    assert done.returncode == 1 and not (tmp_path / ".venv").exists()
    assert done.stderr.strip() == ("This Python cannot create .venv because its venv module (with ensurepip) is "
                                   f"missing: install it (on Debian or Ubuntu: sudo apt install python{version}-venv), "
                                   "then start again.")


def test_a_venv_whose_python_is_gone_or_broken_is_made_again(tmp_path):
    """A Python upgrade (Homebrew, pyenv) leaves .venv/bin/python a dangling link: the start makes .venv afresh."""
    venv = tmp_path / ".venv"
    python = bootstrap.venv_python(venv)
    assert not bootstrap.venv_works(venv)  # none yet
    python.parent.mkdir(parents=True)
    python.symlink_to(tmp_path / "gone" / "python3")
    assert python.is_symlink() and not bootstrap.venv_works(venv)
    python.unlink()
    python.write_text("#!/bin/sh\nexit 1\n")  # runs, but is not a Python this app can use
    python.chmod(0o755)
    assert not bootstrap.venv_works(venv)
    python.unlink()
    python.symlink_to(sys.executable)
    assert bootstrap.venv_works(venv)
