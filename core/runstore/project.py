"""A project in one file: chosen runs and every image their splits use, saved as one .zip, and opened elsewhere
with the run list, curves, cached evaluations and calibrated predictions as they were."""
from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath


from core.data.builder import DATASETS_FOLDER, MAX_ZIP_BYTES, MAX_ZIP_FILES, safe_name
from core.data.images import has_image_extension, is_ignored, not_an_image_file
from core.errors import CheckpointError, DatasetError
from core.runstore.checkpoint import load_checkpoint
from core.runstore.folder import BEST, EVALUATION_SPLITS, EXPORT, OWNER, RunFolder, is_run_id
from core.runstore.relocate import relocate
from core.runstore.table import read_record
from core.system import atomic_write

FORMAT_VERSION = 1
APP_NAME = "Transfer Studio"
MANIFEST = "project.json"
STORED = {".pt", ".jpg", ".jpeg", ".png", ".webp", ".gif", ".npz"}  # already compressed: zipping again is slow
_NAME = re.compile(r'[^\x00-\x1f/\\:*?"<>|]{1,120}')


class ProjectError(ValueError):
    """A project .zip that cannot be saved or opened; the message says why and nothing was written."""


@dataclass
class ProjectSaved:
    """What `save_project` wrote: the file, its size, the runs, images per dataset, and images that were gone."""

    path: Path
    bytes: int
    runs: list[str]
    datasets: dict[str, int]
    images: int
    missing: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self) | {"path": str(self.path)}


@dataclass
class ProjectOpened:
    """What `open_project` did: each run's new folder, each dataset's new folder, what was left out and why."""

    runs: dict[str, Path]
    datasets: dict[str, Path]
    refused: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"runs": {k: str(v) for k, v in self.runs.items()},
                "datasets": {k: str(v) for k, v in self.datasets.items()}, "refused": self.refused}


def _safe_relative(text: str) -> bool:
    parts = PurePosixPath(text).parts
    return bool(parts) and not PurePosixPath(text).is_absolute() and ".." not in parts and ":" not in parts[0]


def _finished_run(runs_dir: Path, run_id: str) -> tuple[Path, dict]:
    """The folder and split.json of a run that has ended, or a sentence saying why it cannot be saved."""
    if not is_run_id(run_id):
        raise ProjectError(f"{run_id!r} is not a run id (a run folder's name).")
    folder = runs_dir / run_id
    if not folder.is_dir():
        raise ProjectError(f"There is no run {run_id} in {runs_dir}.")
    record = read_record(folder)  # a killed run reads as failed, once its log has been still for a while
    if record is None or record.status == "running":
        raise ProjectError(f"Run {run_id} is still training (or never finished); save the project once it has ended.")
    if not RunFolder(folder).has_checkpoint():
        raise ProjectError(f"Run {run_id} has no model file ({BEST}), so it cannot go into a project.")
    try:
        record = RunFolder(folder).read_split_record()
        relative = [p for items in record["splits"].values() for p, _ in items]
        root = str(record["root"])
    except (DatasetError, KeyError, TypeError, AttributeError):
        raise ProjectError(f"Run {run_id} has no readable split.json, so its images are unknown.") from None
    if not all(isinstance(p, str) and _safe_relative(p) for p in relative):
        raise ProjectError(f"The split.json of run {run_id} names images outside its dataset folder.")
    return folder, {"root": root, "files": relative}


def _current_evaluations(folder: Path) -> list[str]:
    """Splits whose cached evaluation still matches the checkpoint and the images (so it may be carried over)."""
    return [split for split in EVALUATION_SPLITS if RunFolder(folder).evaluation_current(split)]


def _dataset_base(root: str) -> str:
    try:
        return safe_name(Path(root).name, "dataset name")
    except DatasetError:
        return "dataset"


def _run_files(folder: Path) -> list[Path]:
    """Every file of a run folder except half-written temporaries, hidden files, its exported bundles (which can be
    made again) and the record of the process that trained it; links are not followed."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and p.suffix != ".tmp"
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts)
                  and p.relative_to(folder).parts[0] != EXPORT and p.name != OWNER)


def save_project(runs_dir: str | Path, run_ids: list[str], out: str | Path) -> ProjectSaved:
    """Write the runs and the images their splits use into one .zip (atomically), to reopen them elsewhere."""
    runs_dir, out = Path(runs_dir), Path(out)
    if not run_ids:
        raise ProjectError("Choose at least one run to save in the project.")
    runs = {run_id: _finished_run(runs_dir, run_id) for run_id in dict.fromkeys(run_ids)}
    datasets: dict[str, dict] = {}  # real path of a dataset root -> its name in the project, root, files
    for _, split in runs.values():
        key = os.path.realpath(split["root"])
        if key not in datasets:
            base, taken = _dataset_base(split["root"]), {d["name"] for d in datasets.values()}
            name = next(n for n in (base if i == 1 else f"{base}-{i}" for i in range(1, 10_000)) if n not in taken)
            datasets[key] = {"name": name, "root": split["root"], "files": set()}
        datasets[key]["files"].update(split["files"])
    images = {key: [p for p in sorted(d["files"]) if (Path(d["root"]) / p).is_file()] for key, d in datasets.items()}
    missing = [str(Path(d["root"]) / p) for key, d in datasets.items() for p in sorted(d["files"] - set(images[key]))]
    manifest = {"format": "transfer-studio-project", "format_version": FORMAT_VERSION, "app": APP_NAME,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "runs": [{"run_id": run_id, "dataset": datasets[os.path.realpath(split["root"])]["name"],
                          "calibration_current": RunFolder(folder).calibration_current(),
                          "evaluations_current": _current_evaluations(folder)}
                         for run_id, (folder, split) in runs.items()],
                "datasets": [{"name": d["name"], "files": len(images[k]), "root": d["root"]}
                             for k, d in datasets.items()]}

    def write(f) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
            for run_id, (folder, _) in runs.items():
                for path in _run_files(folder):
                    _add(archive, path, f"runs/{run_id}/{path.relative_to(folder).as_posix()}")
            for key, d in datasets.items():
                for relative in images[key]:
                    _add(archive, Path(d["root"]) / relative, f"datasets/{d['name']}/{relative}")

    atomic_write(out, write)
    return ProjectSaved(out, out.stat().st_size, list(runs), {d["name"]: len(images[k]) for k, d in datasets.items()},
                        sum(map(len, images.values())), missing)


def _add(archive: zipfile.ZipFile, path: Path, name: str) -> None:
    kind = zipfile.ZIP_STORED if path.suffix.lower() in STORED else zipfile.ZIP_DEFLATED
    archive.write(path, name, compress_type=kind)


def _member_parts(info: zipfile.ZipInfo) -> tuple[str, ...]:
    """The path parts of a zip member, or the sentence refusing the whole project (as in the dataset builder)."""
    name = info.filename.replace("\\", "/")
    where = f"{info.filename!r} in the project"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ProjectError(f"{where} has an absolute path (it would write outside its folder); nothing was opened.")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise ProjectError(f"{where} is a path with .. (it would write outside its folder); nothing was opened.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ProjectError(f"{where} is a symbolic link; nothing was opened.")
    return parts


def _manifest(archive: zipfile.ZipFile, zip_name: str) -> tuple[dict, dict]:
    """Runs and datasets of project.json by name, each name checked to be a plain folder name."""
    try:
        data = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise ProjectError(f"{zip_name} is not a {APP_NAME} project (it has no {MANIFEST}).") from None
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise ProjectError(f"The {MANIFEST} of {zip_name} is unreadable ({type(err).__name__}).") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ProjectError(f"{zip_name} is a project in format {version}; this version of the app reads format "
                           f"{FORMAT_VERSION}" + (": update the app to open it." if newer else "."))
    try:
        runs, datasets = {r["run_id"]: r for r in data["runs"]}, {d["name"]: d for d in data["datasets"]}
    except (KeyError, TypeError):
        raise ProjectError(f"The {MANIFEST} of {zip_name} does not list runs and datasets as expected.") from None
    if not all(isinstance(r, dict) and isinstance(r.get("dataset"), str) for r in runs.values()):
        raise ProjectError(f"The {MANIFEST} of {zip_name} names a run's dataset wrongly; nothing was opened.")
    for name in [*runs, *datasets]:
        if not (isinstance(name, str) and _NAME.fullmatch(name) and name.strip() == name and name[0] != "."):
            raise ProjectError(f"{name!r} in the {MANIFEST} of {zip_name} is not a plain folder name; "
                               "nothing was opened.")
    return runs, datasets


def _plan_members(archive: zipfile.ZipFile, runs: dict, datasets: dict) -> tuple[list, list[dict]]:
    """(member, kind, name, rest) of what will be unpacked, and the members left out with the reason."""
    wanted, refused = [], []
    for info in archive.infolist():
        parts = _member_parts(info)
        if info.is_dir() or parts == (MANIFEST,) or is_ignored(PurePosixPath(*parts)):
            continue
        kind, name, rest = (parts + ("", "", ""))[:2] + (parts[2:],)
        in_run = bool(rest) and kind == "runs" and name in runs
        in_dataset = bool(rest) and kind == DATASETS_FOLDER and name in datasets
        if in_run or (in_dataset and has_image_extension(PurePosixPath(*rest))):
            wanted.append((info, kind, name, rest))
        else:
            reason = not_an_image_file(PurePosixPath(*rest)) if in_dataset else "not part of a run or dataset listed "\
                f"in {MANIFEST} (left out)"
            refused.append({"name": info.filename, "reason": reason})
    return wanted, refused


def open_project(zip_path: str | Path, runs_dir: str | Path, data_root: str | Path, max_files: int = MAX_ZIP_FILES,
                 max_bytes: int = MAX_ZIP_BYTES) -> ProjectOpened:
    """Unpack a saved project: datasets to <data_root>/datasets, runs to runs_dir, both pointing at the new folders;
    every member and checkpoint is checked first, and nothing is left behind when anything is refused."""
    zip_path, runs_dir = Path(zip_path), Path(runs_dir).resolve()
    datasets_dir = Path(data_root).resolve() / DATASETS_FOLDER
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ProjectError(f"{zip_path.name} is not a readable .zip file ({err}).") from None
    with archive:
        members = [i for i in archive.infolist() if not i.is_dir()]
        if len(members) > max_files:
            raise ProjectError(f"The project holds {len(members):,} files; at most {max_files:,} are accepted.")
        total = sum(i.file_size for i in members)
        if total > max_bytes:
            raise ProjectError(f"The project unpacks to {total / 1e6:,.1f} MB; at most {max_bytes / 1e6:,.1f} MB "
                               "are accepted.")
        if len({i.filename for i in members}) != len(members):
            raise ProjectError(f"{zip_path.name} holds the same file twice; nothing was opened.")
        for info in archive.infolist():
            _member_parts(info)  # every path is checked before project.json is even read
        runs, datasets = _manifest(archive, zip_path.name)
        wanted, refused = _plan_members(archive, runs, datasets)
        for run_id, run in list(runs.items()):
            has_model = any(k == "runs" and n == run_id and r == (BEST,) for _, k, n, r in wanted)
            if not has_model or run.get("dataset") not in datasets:
                reason = "its dataset is not in the project" if has_model else f"it has no {BEST}"
                refused.append({"name": f"runs/{run_id}", "reason": f"{reason} (left out)"})
                del runs[run_id]
        if not runs:
            raise ProjectError(f"{zip_path.name} holds no run that can be opened.")
        used = {run["dataset"] for run in runs.values()}
        refused += [{"name": f"{DATASETS_FOLDER}/{name}", "reason": "no run of the project uses it (left out)"}
                    for name in datasets if name not in used]
        wanted = [w for w in wanted if (w[1] == "runs" and w[2] in runs) or (w[1] != "runs" and w[2] in used)]
        return _unpack(archive, wanted, refused, runs, {k: v for k, v in datasets.items() if k in used},
                       runs_dir, datasets_dir)


def _unpack(archive, wanted, refused, runs, datasets, runs_dir: Path, datasets_dir: Path) -> ProjectOpened:
    """Extract into hidden folders beside the destinations, check and relocate there, then move into place."""
    created = sorted({p for d in (runs_dir, datasets_dir) for p in (d, *d.parents) if not p.exists()},
                     key=lambda p: len(p.parts))  # removed again, deepest first, when nothing could be opened
    temps: list[Path] = []
    moved: list[tuple[Path, Path]] = []
    try:
        for folder in (runs_dir, datasets_dir):
            folder.mkdir(parents=True, exist_ok=True)
            temps.append(Path(tempfile.mkdtemp(dir=folder, prefix=".opening-")))
        tmp = {"runs": temps[0], DATASETS_FOLDER: temps[1]}
        for info, kind, name, rest in wanted:
            _extract(archive, info, tmp[kind] / name, rest)
        for run_id in runs:
            try:
                load_checkpoint(RunFolder(tmp["runs"] / run_id).best)
            except (CheckpointError, OSError) as err:
                raise ProjectError(f"The model file of run {run_id} was refused: {err} Nothing was opened.") from None
        final_datasets = _free_names(datasets, datasets_dir)
        final_runs = _free_names(runs, runs_dir)
        for run_id, run in runs.items():
            try:
                relocate(tmp["runs"] / run_id, final_datasets[run["dataset"]], runs_dir, run)
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
                raise ProjectError(f"The files of run {run_id} are damaged ({type(err).__name__}: {err}); "
                                   "nothing was opened.") from None
        places = [(tmp[DATASETS_FOLDER] / name, final) for name, final in final_datasets.items()]
        for source, final in places + [(tmp["runs"] / run_id, final) for run_id, final in final_runs.items()]:
            if final.exists():
                raise ProjectError(f"{final} appeared while the project was opening; nothing was opened.")
            os.rename(source, final)
            moved.append((final, source))
    except BaseException:
        for final, source in reversed(moved):
            os.rename(final, source)
        for folder in temps:
            shutil.rmtree(folder, ignore_errors=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    for folder in temps:
        shutil.rmtree(folder, ignore_errors=True)
    return ProjectOpened(final_runs, final_datasets, refused)


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, folder: Path, rest: tuple[str, ...]) -> None:
    destination = folder.joinpath(*rest)
    if folder.resolve() not in destination.resolve().parents:
        raise ProjectError(f"{info.filename!r} in the project would write outside its folder; nothing was opened.")
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)  # fails where a file took the folder's name
        with archive.open(info) as source, open(destination, "wb") as out:
            shutil.copyfileobj(source, out)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise ProjectError(f"{info.filename!r} is damaged inside the project ({err}); nothing was opened.") from None


def _free_names(names, folder: Path) -> dict[str, Path]:
    """A free folder in `folder` for each name: the name itself, else name-2, name-3, ..."""
    chosen: dict[str, Path] = {}
    for name in names:
        candidates = (folder / (name if i == 1 else f"{name}-{i}") for i in range(1, 100_000))
        chosen[name] = next(p for p in candidates if not p.exists() and p not in chosen.values())
    return chosen
