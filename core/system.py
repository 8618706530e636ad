"""What this process runs on: the cache folder, the CPU cores it may use, the device, mixed precision, and
files written atomically. Everything here is set up once per process, never per request."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import torch


def default_cache_dir() -> Path:
    """$TRANSFER_STUDIO_CACHE, else the user's cache folder; never inside a served folder."""
    if os.environ.get("TRANSFER_STUDIO_CACHE"):
        return Path(os.environ["TRANSFER_STUDIO_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "transfer-studio"


def cpu_threads() -> int:
    """CPU cores this process may use (a container's limit, not the host's core count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def compute_threads() -> int:
    """Threads this process computes with: $OMP_NUM_THREADS when set, else its share of the cores it may use
    (under torchrun, $WORLD_SIZE processes share them)."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    return max(1, cpu_threads() // max(1, int(os.environ.get("WORLD_SIZE", "1"))))


def configure_torch() -> None:
    """Process-wide torch settings, once at start-up (app or CLI): `compute_threads` threads, and cuDNN's
    autotuner (fixed input sizes). Never called per request, so no run changes another's."""
    import torch

    torch.set_num_threads(compute_threads())
    torch.backends.cudnn.benchmark = True


def resolve_device(name: str) -> "torch.device":
    """'auto' picks CUDA when present, else CPU; anything else is taken as a torch device name."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def device_type(name: str) -> str:
    """'cpu' or 'cuda' for a device name, 'auto' resolved."""
    return resolve_device(name).type


def autocast_dtype(device: "torch.device") -> "torch.dtype | None":
    """Mixed precision on CUDA: bf16 where the GPU has it, else fp16; None (plain fp32) elsewhere."""
    import torch

    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: "torch.device"):
    """torch.autocast on CUDA with `autocast_dtype`, a no-op context on CPU."""
    import torch

    dtype = autocast_dtype(device)
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def atomic_write(path: str | Path, write: Callable | bytes) -> Path:
    """Write through a temp file in the same folder, fsync, then rename: a crash never leaves half a file.

    `write` is the bytes to write, or a function that writes into the open binary file. A write that fails (a full
    disk) removes its temporary file; one killed mid-way leaves `.<name>.<random>.tmp`, which no reader opens
    (`core.runstore.owner.remove_temporaries` clears them). The folder is synced too, so the rename survives a
    power cut.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(write) if isinstance(write, bytes) else write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # never hide the error that stopped the write
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not every file system syncs a folder
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path


def read_json_object(path: str | Path) -> dict:
    """A JSON object file (a run's summary, config, label), or {} when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json_atomic(path: str | Path, data) -> Path:
    """JSON written atomically, for files other processes may read while a run writes them."""
    return atomic_write(path, json.dumps(data, indent=2).encode())
