"""A project in one file: chosen runs and every image their splits use, saved as one .zip (this module: the format
and saving) and opened elsewhere as they were (core.runstore.project_open, whose names this module also serves)."""
from __future__ import annotations

import json
import os
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from core.data.archive import MB, ZipLimits
from core.data.builder import safe_name
from core.errors import DatasetError
from core.runstore.folder import BEST, EVALUATION_SPLITS, EXPORT, OWNER, RunFolder, is_run_id
from core.runstore.table import read_record
from core.system import atomic_write

FORMAT_VERSION = 1
APP_NAME = "Transfer Studio"
MANIFEST = "project.json"
STORED = {".pt", ".jpg", ".jpeg", ".png", ".webp", ".gif", ".npz"}  # already compressed: zipping again is slow
# a file over what opening a project accepts for its kind: saving refuses it first, each kind in its own sentence
RUN_FILE_TOO_LARGE = ("{path} is {size:,.0f} MB; a project carries at most {cap:,.0f} MB per run file, so it could not "
                      "be opened again. Make it smaller or leave that run out.")
PICTURE_TOO_LARGE = ("{path} is {size:,.0f} MB; a project carries at most {cap:,.0f} MB per picture, so it could not "
                     "be opened again. Make it smaller or leave that run out.")


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


def _check_fits(run_files: list[Path], pictures: list[Path], limits: ZipLimits) -> None:
    """Refuse, before anything is written, a project that opening would refuse: too many files, a picture or a
    run file over its cap, or more bytes in all than one project may unpack."""
    if len(run_files) + len(pictures) + 1 > limits.files:
        raise ProjectError(f"These runs and their pictures are {len(run_files) + len(pictures):,} files; a project "
                           f"holds at most {limits.files - 1:,}. Save fewer runs at a time.")
    total = 0
    for paths, cap, said in ((run_files, limits.run_file_bytes, RUN_FILE_TOO_LARGE),
                             (pictures, limits.picture_bytes, PICTURE_TOO_LARGE)):
        for path in paths:
            size = path.stat().st_size
            total += size
            if size > cap:
                raise ProjectError(said.format(path=path, size=size / MB, cap=cap / MB))
    if total > limits.total_bytes:
        raise ProjectError(f"These runs and their pictures come to {total / MB:,.0f} MB; a project holds at most "
                           f"{limits.total_bytes / MB:,.0f} MB. Save fewer runs at a time.")


def save_project(runs_dir: str | Path, run_ids: list[str], out: str | Path,
                 limits: ZipLimits = ZipLimits()) -> ProjectSaved:
    """Write the runs and the images their splits use into one .zip (atomically), to reopen them elsewhere; a
    project that opening with `limits` would refuse is refused before anything is written."""
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
    _check_fits([p for folder, _ in runs.values() for p in _run_files(folder)],
                [Path(d["root"]) / p for key, d in datasets.items() for p in images[key]], limits)
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
