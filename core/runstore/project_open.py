"""Open a saved project .zip: its runs into a runs folder and its datasets under the data root, pointing at each
other as they did; the zip is read by core.data.archive, so a hostile or oversized one is refused before anything is
written, and a refusal part-way leaves nothing behind."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.data.archive import (MANIFEST_KIND, PICTURE, RUN_FILE, Member, MemberDamaged, ZipLimits, check_room, members,
                               open_zip, size_problem, unpack)
from core.data.builder import DATASETS_FOLDER
from core.data.images import has_image_extension, is_ignored, not_an_image_file
from core.errors import CheckpointError
from core.runstore.checkpoint import load_checkpoint
from core.runstore.folder import BEST, RunFolder
from core.runstore.project import APP_NAME, FORMAT_VERSION, MANIFEST, ProjectError
from core.runstore.relocate import relocate

_NAME = re.compile(r'[^\x00-\x1f/\\:*?"<>|]{1,120}')
RUNS = "runs"  # the zip's folder of runs (beside DATASETS_FOLDER)
KINDS = {RUNS: RUN_FILE, DATASETS_FOLDER: PICTURE}  # the zip's top folder -> the kind capping one member in it
OTHER_FORMAT = {  # whether the project's format is newer than this app's -> the sentence refusing it
    True: "{name} is a project in format {version}; this version of the app reads format {reads}: update the app to "
          "open it.",
    False: "{name} is a project in format {version}; this version of the app reads format {reads}.",
}


@dataclass
class ProjectOpened:
    """What `open_project` did: each run's new folder, each dataset's new folder, what was left out and why."""

    runs: dict[str, Path]
    datasets: dict[str, Path]
    refused: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"runs": {k: str(v) for k, v in self.runs.items()},
                "datasets": {k: str(v) for k, v in self.datasets.items()}, "refused": self.refused}


def _refused(name: str, reason: str) -> ProjectError:
    return ProjectError(f"{name!r} in the project was refused: {reason}. Nothing was opened.")


def _manifest(archive: zipfile.ZipFile, files: list[Member], limits: ZipLimits, zip_name: str) -> tuple[dict, dict]:
    """Runs and datasets of project.json by name, each name checked to be a plain folder name."""
    listed = next((m for m in files if m.parts == (MANIFEST,)), None)
    if listed is None:
        raise ProjectError(f"{zip_name} is not a {APP_NAME} project (it has no {MANIFEST}).")
    if problem := size_problem(listed, MANIFEST_KIND, limits):
        raise _refused(MANIFEST, problem)
    try:
        data = json.loads(archive.read(listed.info))
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise ProjectError(f"The {MANIFEST} of {zip_name} is unreadable ({type(err).__name__}).") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise ProjectError(OTHER_FORMAT[newer].format(name=zip_name, version=version, reads=FORMAT_VERSION))
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


def _plan_members(files: list[Member], runs: dict, datasets: dict) -> tuple[list, list[dict]]:
    """(member, kind, name, rest) of what will be unpacked, and the members left out with the reason."""
    wanted, refused = [], []
    for member in files:
        if member.parts == (MANIFEST,) or is_ignored(PurePosixPath(*member.parts)):
            continue
        kind, name, rest = (member.parts + ("", ""))[:2] + (member.parts[2:],)
        in_run = bool(rest) and kind == RUNS and name in runs
        in_dataset = bool(rest) and kind == DATASETS_FOLDER and name in datasets
        if in_run or (in_dataset and has_image_extension(PurePosixPath(*rest))):
            wanted.append((member, kind, name, rest))
        else:
            reason = not_an_image_file(PurePosixPath(*rest)) if in_dataset else "not part of a run or dataset listed "\
                f"in {MANIFEST} (left out)"
            refused.append({"name": member.name, "reason": reason})
    return wanted, refused


def open_project(zip_path: str | Path, runs_dir: str | Path, data_root: str | Path,
                 limits: ZipLimits = ZipLimits()) -> ProjectOpened:
    """Unpack a saved project: datasets to <data_root>/datasets, runs to runs_dir, both pointing at the new folders.

    Every member's path, its size for its kind (a picture, a run file), the room on the disk and the datasets budget
    (limits.data_bytes) are checked first, then every checkpoint; nothing is left behind when anything is refused."""
    zip_path, runs_dir = Path(zip_path), Path(runs_dir).resolve()
    datasets_dir = Path(data_root).resolve() / DATASETS_FOLDER
    with open_zip(zip_path, ProjectError) as archive:
        files = members(archive, limits, ProjectError, "project")
        for member in files:  # every path is checked before project.json is even read
            if member.problem:
                raise _refused(member.name, member.problem)
        runs, datasets = _manifest(archive, files, limits, zip_path.name)
        wanted, refused = _plan_members(files, runs, datasets)
        for run_id, run in list(runs.items()):
            has_model = any(k == RUNS and n == run_id and r == (BEST,) for _, k, n, r in wanted)
            if not has_model or run.get("dataset") not in datasets:
                reason = "its dataset is not in the project (left out)" if has_model else f"it has no {BEST} (left out)"
                refused.append({"name": f"{RUNS}/{run_id}", "reason": reason})
                del runs[run_id]
        if not runs:
            raise ProjectError(f"{zip_path.name} holds no run that can be opened.")
        used = {run["dataset"] for run in runs.values()}
        refused += [{"name": f"{DATASETS_FOLDER}/{name}", "reason": "no run of the project uses it (left out)"}
                    for name in datasets if name not in used]
        wanted = [w for w in wanted if (w[1] == RUNS and w[2] in runs) or (w[1] != RUNS and w[2] in used)]
        for member, kind, _, _ in wanted:
            if problem := size_problem(member, KINDS[kind], limits):
                raise _refused(member.name, problem)
        incoming = {kind: sum(w[0].size for w in wanted if w[1] == kind) for kind in KINDS}
        check_room(limits, {runs_dir: incoming[RUNS], datasets_dir: incoming[DATASETS_FOLDER]}, datasets_dir,
                   incoming[DATASETS_FOLDER], ProjectError)
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
        tmp = {RUNS: temps[0], DATASETS_FOLDER: temps[1]}
        for member, kind, name, rest in wanted:
            _extract(archive, member, tmp[kind] / name, rest)
        for run_id in runs:
            try:
                load_checkpoint(RunFolder(tmp[RUNS] / run_id).best)
            except (CheckpointError, OSError) as err:
                raise ProjectError(f"The model file of run {run_id} was refused: {err} Nothing was opened.") from None
        final_datasets = _free_names(datasets, datasets_dir)
        final_runs = _free_names(runs, runs_dir)
        for run_id, run in runs.items():
            try:
                relocate(tmp[RUNS] / run_id, final_datasets[run["dataset"]], runs_dir, run)
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
                raise ProjectError(f"The files of run {run_id} are damaged ({type(err).__name__}: {err}); "
                                   "nothing was opened.") from None
        places = [(tmp[DATASETS_FOLDER] / name, final) for name, final in final_datasets.items()]
        for source, final in places + [(tmp[RUNS] / run_id, final) for run_id, final in final_runs.items()]:
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


def _extract(archive: zipfile.ZipFile, member: Member, folder: Path, rest: tuple[str, ...]) -> None:
    destination = folder.joinpath(*rest)
    if folder.resolve() not in destination.resolve().parents:
        raise _refused(member.name, "a path that would write outside its folder")
    try:
        unpack(archive, member, destination)
    except MemberDamaged as err:
        raise _refused(member.name, str(err)) from None


def _free_names(names, folder: Path) -> dict[str, Path]:
    """A free folder in `folder` for each name: the name itself, else name-2, name-3, ..."""
    chosen: dict[str, Path] = {}
    for name in names:
        candidates = (folder / (name if i == 1 else f"{name}-{i}") for i in range(1, 100_000))
        chosen[name] = next(p for p in candidates if not p.exists() and p not in chosen.values())
    return chosen
