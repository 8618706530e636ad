"""Export a run as a Hugging Face Space folder (a Gradio app on the proven ONNX bundle) and publish it to the hub.

The Space holds the ONNX bundle's own files (predict.py, model.onnx, labels, preprocessing, calibration, parity), so
it answers exactly as the bundle's proven predict.py does, plus app.py (a copy of assets/space/app.py), requirements.txt
pinned to this install's versions and README.md (the Space's front matter, then the model card).
"""
from __future__ import annotations

import importlib.metadata
import json
import re
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from core.export import standalone_predict as standalone
from core.export.bundle import export_run
from core.export.folders import replace_folder
from core.export.parity import Parity
from core.runstore.folder import RunFolder
from core.system import atomic_write, read_json_object

# The Space's app.py: a Gradio app, so it lives outside core (which stays UI-free) with the other files exports ship
# (assets/); copied, never imported.
APP_TEMPLATE = Path(__file__).resolve().parents[2] / "assets" / "space" / "app.py"
# From the ONNX bundle, as it wrote them (calibration.json only when the run has one); MODEL_CARD.md becomes README.md.
BUNDLE_FILES = ("predict.py", standalone.MODEL, standalone.LABELS, standalone.PREPROCESSING, standalone.CALIBRATION,
                "parity.json")
CARD = "MODEL_CARD.md"
REQUIREMENTS = ("gradio", "onnxruntime", "pillow", "numpy")  # what app.py and predict.py import
GITATTRIBUTES = "*.onnx filter=lfs diff=lfs merge=lfs -text\n"
# Every file an export writes: publishing again removes those of them the new folder lacks (a calibration.json the
# run no longer has would change the answers) and leaves whatever the owner added to the Space by hand.
MADE_FILES = (*BUNDLE_FILES, "app.py", "requirements.txt", "README.md", ".gitattributes")
EMOJI, COLOR_FROM, COLOR_TO = "🔍", "blue", "green"
TITLE_MAX = 60
HUB = "https://huggingface.co"
NAME_MAX = 96
NAME_RULES = ("letters, digits, '-', '_' and '.', at most 96 characters, not starting or ending with '-' or '.', "
              "without '--' or '..'")
TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9]{8,}")  # any Hugging Face token a hub message might quote


class PublishError(ValueError):
    """The Space could not be published; the sentence says why (never with the token in it)."""


@dataclass
class SpaceExportResult:
    """What a Space export wrote: the folder, its size, how long it took, and the parity it was proven with."""

    path: Path
    bytes: int
    seconds: float
    parity: Parity

    def to_dict(self) -> dict:
        """What the CLI prints: the folder and its size, the seconds taken and the parity figures."""
        return {"path": str(self.path), "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "format": "space", "parity": self.parity.summary()}


def default_space_path(run_dir: str | Path) -> Path:
    """Where a Space export goes unless told: <run folder>/export/<run id>-space."""
    return RunFolder(run_dir).export / f"{Path(run_dir).name}-space"


def installed_versions(names: tuple[str, ...] = REQUIREMENTS) -> dict[str, str]:
    """This install's version of each package the Space needs; ValueError naming a missing one."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            raise ValueError(f"{name} is not installed, so the Space cannot pin its version; install the app's "
                             "requirements, then export again.") from None
    return versions


def space_title(run_dir: Path) -> str:
    """The run's user name (Runs tab) or its id, on one line and short enough for a Space card."""
    name = str(read_json_object(RunFolder(run_dir).label).get("name") or "").strip() or run_dir.name
    name = " ".join(name.split())
    return name if len(name) <= TITLE_MAX else name[:TITLE_MAX - 1].rstrip() + "…"


def readme(title: str, card: str, versions: dict[str, str], license: str | None = None) -> str:
    """README.md: the Space's YAML front matter (strings JSON-quoted, which YAML reads as they are), then the card."""
    fields = {"title": title, "emoji": EMOJI, "colorFrom": COLOR_FROM, "colorTo": COLOR_TO, "sdk": "gradio",
              "sdk_version": versions["gradio"], "python_version": f"{sys.version_info[0]}.{sys.version_info[1]}",
              "app_file": "app.py", "pinned": False, "license": license}
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items() if value is not None]
    return "\n".join(["---", *lines, "---", "", card.rstrip("\n"), ""])


def folder_bytes(folder: Path) -> int:
    """The size of every file under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def refuse_foreign_folder(out_dir: Path) -> None:
    """ValueError with a sentence when `out_dir` holds files an export did not make (`--out ~/Desktop` must never
    replace a Desktop): only a missing or empty folder, or an earlier Space export, is replaced."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file, not a folder; choose a new folder for the Space.")
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in MADE_FILES)
    if foreign:
        raise ValueError(f"{out_dir} already holds files a Space export did not make ({', '.join(foreign[:3])}"
                         f"{', ...' if len(foreign) > 3 else ''}); choose a new or empty folder: nothing was "
                         "written.")


def export_space(run_dir: str | Path, out_dir: str | Path | None = None, module: nn.Module | None = None
                 ) -> SpaceExportResult:
    """Export a run as a Hugging Face Space folder at `out_dir` (default `default_space_path`), its model proven
    against the app's first (ExportRefused, nothing written, an existing folder untouched, if it disagrees)."""
    start = time.perf_counter()
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir else default_space_path(run_dir)
    refuse_foreign_folder(out_dir)
    versions = installed_versions()
    proven = {}

    def build(folder: Path) -> None:
        zipped = folder / ".bundle.zip"
        proven["parity"] = export_run(run_dir, zipped, "onnx", module=module).parity
        with zipfile.ZipFile(zipped) as bundle:
            names = set(bundle.namelist())
            for name in BUNDLE_FILES:
                if name in names:
                    (folder / name).write_bytes(bundle.read(name))
            card = bundle.read(CARD).decode("utf-8")
        zipped.unlink()
        (folder / "app.py").write_bytes(APP_TEMPLATE.read_bytes())
        # gradio is the Space's SDK: sdk_version in README.md installs it, so requirements.txt leaves it out
        pins = "".join(f"{n}=={v}\n" for n, v in versions.items() if n != "gradio")
        for name, text in (("requirements.txt", pins), ("README.md", readme(space_title(run_dir), card, versions)),
                           (".gitattributes", GITATTRIBUTES)):
            (folder / name).write_text(text, "utf-8", newline="\n")  # the same bytes on every system

    replace_folder(out_dir, build)
    return SpaceExportResult(out_dir, folder_bytes(out_dir), time.perf_counter() - start, proven["parity"])


def zip_folder(folder: str | Path, out_zip: str | Path) -> Path:
    """The folder as one .zip (its files at the archive's top level), written atomically: one download."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())

    def write(f) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(folder).as_posix())
    return atomic_write(out_zip, write)


def split_space_id(space_id: str) -> tuple[str | None, str]:
    """"owner/name" or "name" -> (owner or None, name), each checked against the hub's rules; ValueError if not."""
    parts = str(space_id).strip().split("/")
    if len(parts) > 2 or not all(parts):
        raise PublishError(f"{space_id!r} is not a Space name; write it as owner/name or just name.")
    for part in parts:
        if (len(part) > NAME_MAX or not re.fullmatch(r"[A-Za-z0-9._-]+", part) or part[0] in "-." or part[-1] in "-."
                or "--" in part or ".." in part):
            raise PublishError(f"{part!r} is not a valid Hugging Face name: use {NAME_RULES}.")
    return (parts[0] if len(parts) == 2 else None), parts[-1]


def _hub_api(token: str):
    from huggingface_hub import HfApi

    return HfApi(token=token)


HTTP_SENTENCES = {
    401: "Hugging Face refused the token; check that it is a valid access token (huggingface.co/settings/tokens).",
    403: "Hugging Face refused the token for this Space; it needs write permission for {owner}.",
    404: "Hugging Face does not know {owner}, or the token cannot see it; check the owner's name.",
    409: "{repo} already exists on Hugging Face and is not a Space that can take this upload; choose another name.",
    429: "Hugging Face is limiting requests from this token; wait a few minutes, then publish again.",
}
UNREACHABLE = ("ConnectionError", "TimeoutError", "TransportError", "ConnectError", "TimeoutException",
               "NetworkError", "RequestError", "ProxyError", "SSLError", "OfflineModeIsEnabled")


def scrub(text: str, token: str) -> str:
    """`text` without the token (nor anything that looks like a Hugging Face token), on one short line."""
    text = text.replace(token, "***") if token else text
    return " ".join(TOKEN_LIKE.sub("***", text).split())[:300]


def hub_sentence(err: BaseException, token: str, owner: str, repo: str) -> str:
    """A plain sentence for a failed hub call: the HTTP status's meaning, an unreachable hub, or the scrubbed cause."""
    status = getattr(getattr(err, "response", None), "status_code", None)
    if status in HTTP_SENTENCES:
        return HTTP_SENTENCES[status].format(owner=owner or "this account", repo=repo)
    if isinstance(status, int) and status >= 500:
        return f"Hugging Face had a server error ({status}); try again later."
    if status is None and any(c.__name__ in UNREACHABLE for c in type(err).__mro__):
        return "Could not reach huggingface.co; check the internet connection (and any proxy), then publish again."
    return f"Publishing to Hugging Face failed ({type(err).__name__}: {scrub(str(err), token)})."


def publish_space(folder: str | Path, space_id: str, token: str, api_factory: Callable | None = None) -> str:
    """Create (or reuse) the Space `space_id` ("owner/name", or "name" under the token's account) and upload the
    exported folder to it, the Space's files then mirroring the folder's; returns the Space's URL. The token is
    only handed to the hub client: never stored, logged or put in an error (PublishError, a plain sentence)."""
    folder = Path(folder)
    if not (folder / "app.py").is_file() or not (folder / "README.md").is_file():
        raise PublishError(f"{folder} is not an exported Space folder (no app.py or README.md); export the run as "
                           "a Space first.")
    owner, name = split_space_id(space_id)
    if not isinstance(token, str) or not token.strip():
        raise PublishError("Give a Hugging Face access token with write permission (huggingface.co/settings/tokens).")
    token, repo = token.strip(), f"{owner}/{name}"
    try:
        api = (api_factory or _hub_api)(token)
        if owner is None:
            owner = str((api.whoami() or {}).get("name") or "")
            if not owner:
                raise PublishError("Hugging Face did not say whose token this is; write the Space as owner/name.")
            repo = "/".join(split_space_id(f"{owner}/{name}"))
        api.create_repo(repo_id=repo, repo_type="space", space_sdk="gradio", exist_ok=True)
        api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type="space", delete_patterns=list(MADE_FILES),
                          commit_message=f"Transfer Studio: {folder.name}")
    except PublishError as err:
        problem = scrub(str(err), token)
    except Exception as err:  # any hub failure becomes one sentence, raised outside this block
        problem = hub_sentence(err, token, owner, repo)
    else:
        return f"{HUB}/spaces/{repo}"
    raise PublishError(problem)  # outside the except block: the hub's error (and its text) is not chained to it
