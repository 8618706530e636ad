"""onnxruntime-web's files for the web page export, pinned and checked: fetched once at install time (`make`, or
`python -m core.export.web_runtime`) from the npm registry with the standard library, never committed to git.

Why not committed: the three files weigh 15 MB, mostly one WebAssembly binary; each upgrade would add another 15 MB
to every clone of the repository forever. Instead the npm tarball's sha512 integrity (npm's own lock-file check) is
pinned here, only the page's files are extracted from it (by exact member name: no path from the archive is
trusted), and each file's sha256 is checked again whenever an export reads it, so a changed file is refused.
Users need no Node.js: the fetch runs beside pip in the Makefile.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

from core.export.folders import replace_folder

VERSION = "1.31.1"
TARBALL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{VERSION}.tgz"
INTEGRITY = "sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7NmuZPXrQ73k82URw=="
# The page's files: the wasm-only UMD script, the Emscripten loader it imports and the WebAssembly it runs (sha256).
FILES = {
    "ort.wasm.min.js": "b8a78c408c40da65fdc8ba0846f7b2948e92a4c6d6b23cc8e4165e428ad95443",
    "ort-wasm-simd-threaded.mjs": "30ed0b5cd1182ede931fea448afb567d4dc705ec957af09f108a2be5f770dac3",
    "ort-wasm-simd-threaded.wasm": "4b884c203b0fa48d057be3332c65513ff85aa3c5bddd6946acc0fab7ecda001d",
}
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "assets" / "onnxruntime-web" / VERSION
COMMAND = "make (or .venv/bin/python -m core.export.web_runtime)"
TIMEOUT_S = 120


class RuntimeTampered(ValueError):
    """A runtime file (or the downloaded tarball) is not the pinned one; the sentence says which."""


def runtime_files(folder: str | Path | None = None) -> dict[str, Path]:
    """The page's runtime files by name, each checked against its pinned sha256: FileNotFoundError saying how to
    fetch them when one is missing, RuntimeTampered when one differs."""
    folder = Path(folder) if folder else DEFAULT_DIR
    files = {name: folder / name for name in FILES}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"onnxruntime-web {VERSION} is not installed ({', '.join(missing)} missing in "
                                f"{folder}); run {COMMAND} to fetch it, once, then export again.")
    for name, path in files.items():
        if _sha256(path) != FILES[name]:
            raise RuntimeTampered(f"{path} is not onnxruntime-web {VERSION}'s {name} (its sha256 differs from the "
                                  f"pinned one); delete {folder} and run {COMMAND} to fetch it again.")
    return files


def _sha256(path: Path) -> str:
    """A file's sha256 in hex, read in 1 MB blocks (the WebAssembly binary is 12 MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_integrity(data: bytes, integrity: str = INTEGRITY) -> None:
    """RuntimeTampered unless `data` has npm's `sha512-<base64>` integrity."""
    algorithm, _, expected = integrity.partition("-")
    got = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if got != expected:
        raise RuntimeTampered(f"the downloaded onnxruntime-web tarball is not the pinned one ({algorithm} "
                              f"{got[:16]}... instead of {expected[:16]}...); nothing was installed.")


def extract(tarball: bytes, folder: str | Path, pinned: dict[str, str] = FILES) -> dict[str, Path]:
    """Write the `pinned` files (name -> sha256) of an npm tarball into `folder`, reading only the members named
    `package/dist/<name>` that are regular files (no other path of the archive is trusted), then swap the folder
    in whole; RuntimeTampered, with nothing written, when one is missing or differs."""
    folder, wanted = Path(folder), {f"package/dist/{name}": name for name in pinned}
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.name in wanted and member.isfile():
                found[wanted[member.name]] = archive.extractfile(member).read()
    for name, digest in pinned.items():
        if name not in found or hashlib.sha256(found[name]).hexdigest() != digest:
            problem = "not the pinned one" if name in found else "missing"
            raise RuntimeTampered(f"the onnxruntime-web tarball's {name} is {problem}; nothing was installed.")

    def build(staging: Path) -> None:
        staging.chmod(0o755)  # mkdtemp's 0o700 would hide the files from a web server run as another user
        for name, data in found.items():
            (staging / name).write_bytes(data)
    replace_folder(folder, build)
    return {name: folder / name for name in pinned}


def fetch(folder: str | Path | None = None, url: str = TARBALL) -> dict[str, Path]:
    """Make sure the pinned runtime is in `folder` (default DEFAULT_DIR): nothing is downloaded when it already is."""
    folder = Path(folder) if folder else DEFAULT_DIR
    try:
        return runtime_files(folder)
    except (FileNotFoundError, RuntimeTampered):
        pass
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (a pinned https URL)
        data = response.read()
    check_integrity(data)
    return extract(data, folder)


def main(argv: list[str] | None = None) -> int:
    """`python -m core.export.web_runtime [FOLDER]`: fetch the runtime (once) and say where it is."""
    parser = argparse.ArgumentParser(prog="python -m core.export.web_runtime",
                                     description=f"Fetch onnxruntime-web {VERSION} for the web page export, once, "
                                                 "checked against its pinned hashes.")
    parser.add_argument("folder", nargs="?", default=None, help=f"where to put it (default: {DEFAULT_DIR})")
    args = parser.parse_args(argv)
    try:
        files = fetch(args.folder)
    except (OSError, RuntimeTampered) as err:
        print(f"onnxruntime-web {VERSION} could not be installed: {err}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in files.values())
    print(f"onnxruntime-web {VERSION}: {len(files)} files, {size / 1e6:.1f} MB in {next(iter(files.values())).parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
