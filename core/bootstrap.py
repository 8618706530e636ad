"""`python launch.py` on a computer without `make`: set up `.venv` as `make run` does, then run the app in it.

Standard library only, and it still parses on Python 3.8, because it runs under whatever Python the user typed:
a system Python without torch, or one too old to say anything but "install a newer one". The rule for when to
install is make's (`.venv/.installed` missing or older than requirements.txt); the no-GPU install is make's exact
`pip install -r requirements.txt`. On a computer with an NVIDIA GPU, the pinned torch and torchvision come first
from PyTorch's own index, built for the CUDA version the driver supports.
"""
from __future__ import annotations

import collections
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

GUARD = "TRANSFER_STUDIO_IN_VENV"  # set for the re-run under .venv's Python, so that it can never start another
MIN_PYTHON = (3, 10)
PYTHON_ORG = "https://www.python.org/downloads/"
VENV_PYTHON = {"nt": ("Scripts", "python.exe"), "posix": ("bin", "python")}  # by os.name
STAMP = ".installed"  # make's target: written after a complete install, never after a failed one
TORCH_INDEX = "https://download.pytorch.org/whl/{tag}"
# PyTorch's CUDA builds, newest first: the first whose CUDA version the driver supports is installed.
CUDA_BUILDS = (((13, 0), "cu130"), ((12, 8), "cu128"), ((12, 6), "cu126"))
TORCH_PACKAGES = ("torch", "torchvision")
# Roughly what the first install downloads: PyPI's Linux torch brings NVIDIA's CUDA libraries; CUDA builds do too.
DOWNLOAD = {"linux": "3 GB", "win32": "1 GB", "darwin": "0.5 GB"}
DOWNLOAD_CUDA = "3 GB"
PIP_NOISE = "is ignored: it is neither a file nor a directory"  # this machine's local indexes; filtered, as by make
PIP_TAIL = 15  # pip's last lines, shown when an install fails
VENV_HELP = {
    "linux": "install it (on Debian or Ubuntu: sudo apt install python{major}.{minor}-venv), then start again.",
}
VENV_HELP_ELSEWHERE = f"reinstall Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer from {PYTHON_ORG}, then start again."
SETTING_UP = {  # by whether this is the first install
    True: "Setting up Transfer Studio in {venv}: installing PyTorch, Gradio and the other requirements. The first "
          "time takes a few minutes and downloads about {size}; later starts skip this.",
    False: "requirements.txt changed since the last start: updating {venv} (only what changed is downloaded).",
}
WEB_RUNTIME_MARK = Path("assets") / "onnxruntime-web" / ".fetched"  # make's target for the same fetch


def python_too_old(version: tuple = tuple(sys.version_info)) -> str | None:
    """The sentence for a Python older than 3.10 (the app's floor), None for a new enough one."""
    if tuple(version[:2]) >= MIN_PYTHON:
        return None
    return (f"Transfer Studio needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer, and this is Python "
            f"{version[0]}.{version[1]}: install a newer one from {PYTHON_ORG}, then start again with it.")


def venv_python(venv: Path, os_name: str = os.name) -> Path:
    """The virtual environment's Python: `bin/python`, or `Scripts\\python.exe` on Windows."""
    folder, name = VENV_PYTHON.get(os_name, VENV_PYTHON["posix"])
    return Path(venv) / folder / name


def install_needed(here: Path) -> bool:
    """make's rule: the stamp `.venv/.installed` is missing or older than requirements.txt."""
    stamp, requirements = Path(here) / ".venv" / STAMP, Path(here) / "requirements.txt"
    if not stamp.exists():
        return True
    return requirements.exists() and stamp.stat().st_mtime < requirements.stat().st_mtime


def in_project_venv(here: Path, prefix: str = sys.prefix) -> bool:
    """Whether this Python is the project's `.venv` (paths compared resolved: .venv may be a link)."""
    return Path(prefix).resolve() == (Path(here) / ".venv").resolve()


def own_environment(prefix: str = sys.prefix, base_prefix: str = sys.base_prefix) -> bool:
    """A virtual or conda environment other than .venv that already holds torch and gradio: the user's own choice
    (or a test run from another clone), used as it is rather than installed again. Nothing is imported."""
    is_env = prefix != base_prefix or (Path(prefix) / "conda-meta").is_dir()
    return is_env and all(importlib.util.find_spec(name) is not None for name in ("torch", "gradio"))


def pins(requirements: Path, names: tuple = TORCH_PACKAGES) -> list:
    """The `name==version` lines of requirements.txt for `names`, in that order (the versions live there only)."""
    found = {}
    for line in Path(requirements).read_text(encoding="utf-8").splitlines():
        spec = line.split("#", 1)[0].strip()
        name = re.split(r"[=<>!~\[; ]", spec, maxsplit=1)[0].lower()
        if name in names and "==" in spec:
            found[name] = spec
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"{requirements} pins no version of {', '.join(missing)} (a line like torch==2.1.0).")
    return [found[name] for name in names]


def cuda_version(nvidia_smi: str) -> tuple | None:
    """The CUDA version the driver supports, from `nvidia-smi`'s header ("CUDA Version: 12.8"); None without one."""
    found = re.search(r"CUDA Version\s*:\s*(\d+)\.(\d+)", nvidia_smi or "")
    return (int(found.group(1)), int(found.group(2))) if found else None


def wheel_tag(cuda: tuple | None) -> str | None:
    """PyTorch's CUDA build for a driver's CUDA version (cu128 for 12.8 or newer ...); None: the default build."""
    if cuda is None:
        return None
    return next((tag for floor, tag in CUDA_BUILDS if tuple(cuda) >= floor), None)


def build_name(tag: str) -> str:
    """`cu128` -> `12.8`: the CUDA version a PyTorch build is made for."""
    return f"{tag[2:-1]}.{tag[-1]}"


def torch_choice(nvidia_smi: str | None) -> tuple:
    """(wheel tag or None, sentence or None) for `nvidia-smi`'s output; (None, None) when there is no NVIDIA GPU."""
    cuda = cuda_version(nvidia_smi or "")
    if cuda is None:
        return None, None
    tag, driver = wheel_tag(cuda), f"{cuda[0]}.{cuda[1]}"
    if tag is None:
        oldest = build_name(CUDA_BUILDS[-1][1])
        return None, (f"Found an NVIDIA GPU, but its driver supports only CUDA {driver} (PyTorch's GPU builds need "
                      f"{oldest} or newer): installing the default PyTorch build; update the NVIDIA driver to "
                      f"train on the GPU.")
    return tag, (f"Found an NVIDIA GPU (driver supports CUDA {driver}): installing PyTorch built for CUDA "
                 f"{build_name(tag)}.")


def read_nvidia_smi() -> str | None:
    """`nvidia-smi`'s output when it is on the PATH and answers within 20 s; None otherwise."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return None
    try:
        done = subprocess.run([command], capture_output=True, text=True, timeout=20, errors="replace")
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _collecting(rest: str) -> str:
    return "  Collecting " + rest.split(" (from ", 1)[0]


def _file_name(path: str) -> str:
    return re.split(r"[/\\]", path)[-1]


def _processing(rest: str) -> str:
    return "  Collecting " + _file_name(rest)


def _downloading(rest: str) -> str | None:
    name, _, size = rest.partition(" (")
    big = size.endswith((" MB)", " GB)"))  # the small ones pass by too fast to matter
    return f"    downloading {_file_name(name)} ({size}" if big else None


def _installing(rest: str) -> str:
    return f"  Installing {len(rest.split(','))} packages (this takes a minute or two)..."


def _installed(rest: str) -> str:
    return f"  Installed {len(rest.split())} packages."


# pip's lines worth a newcomer's attention, by how they start, and the short line each becomes.
PIP_LINES = (("Collecting ", _collecting), ("Processing ", _processing), ("Downloading ", _downloading),
             ("Installing collected packages: ", _installing), ("Successfully installed ", _installed),
             ("ERROR: ", lambda rest: "ERROR: " + rest))


def short_line(line: str) -> str | None:
    """pip's output line as a short progress line, or None for the ones not shown."""
    text = line.strip()
    for start, shorten in PIP_LINES:
        if text.startswith(start):
            return shorten(text[len(start):])
    return None


def run_pip(python: Path, args: list, here: Path) -> tuple:
    """`python -m pip install ARGS` with its output reduced to short lines: (exit code, pip's last lines)."""
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", *args]
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONUNBUFFERED="1")
    tail = collections.deque(maxlen=PIP_TAIL)
    with subprocess.Popen(command, cwd=str(here), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, encoding="utf-8", errors="replace") as pip:
        for line in pip.stdout:
            if PIP_NOISE in line:
                continue
            tail.append(line.rstrip())
            shown = short_line(line)
            if shown:
                print(shown, flush=True)
    return pip.returncode, list(tail)


def venv_works(venv: Path) -> bool:
    """Whether .venv's Python runs and is new enough (a Python upgrade can leave its link dangling)."""
    python = venv_python(venv)
    if not python.exists():
        return False
    check = "import sys; sys.exit(sys.version_info < (%d, %d))" % MIN_PYTHON
    try:
        return subprocess.run([str(python), "-c", check], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def create_venv(venv: Path) -> None:
    """Create `venv` with pip (as `python3 -m venv` does); exit with a sentence saying what to install if it can't."""
    help_text = VENV_HELP.get(sys.platform, VENV_HELP_ELSEWHERE).format(major=sys.version_info[0],
                                                                          minor=sys.version_info[1])
    if any(importlib.util.find_spec(name) is None for name in ("venv", "ensurepip")):
        sys.exit(f"This Python cannot create {venv.name} because its venv module (with ensurepip) is missing: "
                 f"{help_text}")
    import venv as venv_module

    print(f"Creating {venv.name}, a private Python environment for Transfer Studio (once)...", flush=True)
    try:  # clear: a broken one (its Python gone or too old) is made afresh
        venv_module.EnvBuilder(with_pip=True, symlinks=os.name != "nt", clear=True).create(str(venv))
    except (OSError, subprocess.CalledProcessError) as err:
        shutil.rmtree(venv, ignore_errors=True)  # half made: the next start would take it for a finished one
        sys.exit(f"This Python could not create {venv.name} ({type(err).__name__}: {err}); {help_text}")


def install_torch(python: Path, requirements: Path, tag: str, here: Path) -> bool:
    """The pinned torch and torchvision from PyTorch's index for CUDA build `tag`; False (said) when that fails."""
    code, _ = run_pip(python, ["--index-url", TORCH_INDEX.format(tag=tag), *pins(requirements)], here)
    if code != 0:
        print(f"Could not install PyTorch built for CUDA {build_name(tag)} (offline, or no such build for this "
              f"computer): installing the default PyTorch build instead.", flush=True)
    return code == 0


def fetch_web_runtime(python: Path, here: Path) -> None:
    """onnxruntime-web for the web page export, as `make run` fetches it; the app runs without it, so a failure is a
    note, not a stop."""
    done = subprocess.run([str(python), "-m", "core.export.web_runtime"], cwd=str(here))
    if done.returncode == 0:
        mark = Path(here) / WEB_RUNTIME_MARK
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()
        return
    print(f"Note: onnxruntime-web could not be fetched; the app runs, but the web page export needs it "
          f"({venv_python(Path('.venv'))} -m core.export.web_runtime fetches it when online).", flush=True)


def set_up(here: Path) -> None:
    """Create .venv if needed and install requirements.txt into it, with progress; exit with a sentence on failure."""
    here = Path(here)
    venv, requirements = here / ".venv", here / "requirements.txt"
    python = venv_python(venv)
    if not venv_works(venv):
        create_venv(venv)
    first = not (venv / STAMP).exists()  # no install has ever finished in this .venv
    tag, sentence = torch_choice(read_nvidia_smi())
    size = DOWNLOAD_CUDA if tag else DOWNLOAD.get(sys.platform, DOWNLOAD["win32"])
    print(SETTING_UP[first].format(venv=venv.name, size=size), flush=True)
    if sentence:
        print(sentence, flush=True)
    if tag:
        install_torch(python, requirements, tag, here)
    code, tail = run_pip(python, ["-r", str(requirements)], here)
    if code != 0:
        print("\n".join(["pip's last lines:", *tail]), flush=True)
        sys.exit("Installing the requirements failed (pip's last lines are above): check the internet connection "
                 "and the free disk space, then start again; what was installed is kept.")
    fetch_web_runtime(python, here)
    (venv / STAMP).touch()
    print("Set up done: starting Transfer Studio.", flush=True)


def run_in_venv(here: Path, argv: list) -> int:
    """Run launch.py with `argv` under .venv's Python and return its exit code. Ctrl+C reaches both processes: this
    one waits, silent, while the app closes."""
    env = dict(os.environ, **{GUARD: "1"})
    child = subprocess.Popen([str(venv_python(Path(here) / ".venv")), str(Path(here) / "launch.py"), *argv], env=env)
    while True:
        try:
            code = child.wait()
            return code if code >= 0 else 128 - code  # killed by signal N: the shell's 128 + N
        except KeyboardInterrupt:
            continue  # the app got the same Ctrl+C and is closing


def enter_venv(here: Path, argv: list) -> None:
    """Return when this Python may run the app (it is .venv's, installed up to date, or the user's own environment
    with the requirements); otherwise set .venv up as needed, run launch.py in it and exit with its exit code."""
    too_old = python_too_old(tuple(sys.version_info))
    if too_old:
        sys.exit(too_old)
    if os.environ.get(GUARD):
        return
    inside = in_project_venv(here)
    if (inside and not install_needed(here)) or (not inside and own_environment()):
        return
    try:
        if install_needed(here) or not venv_works(Path(here) / ".venv"):
            set_up(here)
        code = run_in_venv(here, argv)
    except KeyboardInterrupt:
        print("\nStopped; the next start carries on from here.", flush=True)
        code = 130
    sys.exit(code)
