"""A project in one file: runs and their images saved as one .zip and opened elsewhere as they were; a hostile or
oversized zip is refused with a sentence and leaves nothing behind."""
import json
import shutil
import stat
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from core.data.archive import ZipLimits
from core.evaluation.metrics import Evaluation, evaluate_run
from core.inference.predict import load_predictor
from core.runstore.project import MANIFEST, ProjectError, save_project
from core.runstore.project_open import open_project
from core.runstore.folder import RunFolder
from core.runstore.table import list_runs


@pytest.fixture(scope="module")
def project(frozen_run, two_stage_run, tmp_path_factory):
    """Both shared runs (copied, the frozen one evaluated first) saved once and opened once into fresh folders."""
    base = tmp_path_factory.mktemp("project")
    runs = base / "a" / "runs"
    frozen, two_stage = frozen_run.copy_into(runs), two_stage_run.copy_into(runs)
    evaluation = next(item for item in evaluate_run(frozen, "valid") if isinstance(item, Evaluation))
    saved = save_project(runs, [frozen.name, two_stage.name], base / "p.zip")
    opened = open_project(saved.path, base / "b" / "runs", base / "b" / "data")
    calibration = RunFolder(opened.runs[frozen.name]).read_calibration()  # before any evaluation could fit it again
    return SimpleNamespace(base=base, runs=runs, frozen=frozen, two_stage=two_stage, evaluation=evaluation,
                           saved=saved, opened=opened, new_runs=base / "b" / "runs", data_root=base / "b" / "data",
                           calibration=calibration)


def _items(run_dir: Path) -> list[tuple[str, int]]:
    record = json.loads((run_dir / "split.json").read_text())
    return [(str(Path(record["root"]) / p), y) for items in record["splits"].values() for p, y in items]


def test_the_zip_holds_both_runs_and_one_copy_of_their_dataset(project, tiny_dataset):
    saved, frozen = project.saved, project.frozen
    assert saved.runs == [frozen.name, project.two_stage.name] and saved.datasets == {"shapes": 60}
    assert saved.images == 60 and saved.missing == [] and saved.bytes == saved.path.stat().st_size
    with zipfile.ZipFile(saved.path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read(MANIFEST))
    for name in ("best.pt", "calibration.json", "metrics.jsonl", "config.json", "split.json", "summary.json",
                 "evaluation.json", "evaluation.npz", "predictions.csv"):
        assert f"runs/{frozen.name}/{name}" in names
    assert {f"datasets/shapes/{p.relative_to(tiny_dataset).as_posix()}" for p in tiny_dataset.rglob("*.jpg")} < names
    assert manifest["format_version"] == 1 and [d["name"] for d in manifest["datasets"]] == ["shapes"]
    first = manifest["runs"][0]
    assert first["dataset"] == "shapes" and first["calibration_current"] and first["evaluations_current"] == ["valid"]
    assert not any(n.startswith("runs/") and Path(n).name.startswith(".") for n in names)


def test_the_opened_runs_list_the_same_and_point_at_the_opened_dataset(project):
    ids = {project.frozen.name, project.two_stage.name}
    before, after = list_runs(project.runs), [r for r in list_runs(project.new_runs) if r.run_id in ids]
    assert [(r.run_id, r.classes, r.best_valid_acc, r.backbone, r.status) for r in after] == \
           [(r.run_id, r.classes, r.best_valid_acc, r.backbone, r.status) for r in before]
    dataset = project.data_root.resolve() / "datasets" / "shapes"
    assert project.opened.datasets == {"shapes": dataset}
    assert not list(project.new_runs.glob(".*")) and not list((project.data_root / "datasets").glob(".*"))
    for old in (project.frozen, project.two_stage):
        new = project.opened.runs[old.name]
        assert new == project.new_runs.resolve() / old.name
        assert (new / "metrics.jsonl").read_bytes() == (old / "metrics.jsonl").read_bytes()
        assert json.loads((new / "config.json").read_text())["data"] == str(dataset)
        items = _items(new)
        assert len(items) == len(_items(old)) and all(Path(p).is_file() for p, _ in items)
        assert all(Path(p).is_relative_to(dataset) for p, _ in items)


def test_the_cached_evaluation_comes_back_without_recomputing_at_the_new_place(project):
    new = project.opened.runs[project.frozen.name]
    items = list(evaluate_run(new, "valid"))
    assert len(items) == 1 and isinstance(items[0], Evaluation)  # no progress: read back, not computed again
    assert items[0].metrics() == project.evaluation.metrics()
    assert all(Path(p).is_file() and Path(p).is_relative_to(project.opened.datasets["shapes"])
               for p in items[0].predictions.paths)
    assert str(new.parent.parent) not in (project.frozen / "predictions.csv").read_text()  # source left as it was


def test_the_opened_run_predicts_the_same_calibrated_answers(project):
    new = project.opened.runs[project.frozen.name]
    assert project.calibration == RunFolder(project.frozen).read_calibration() is not None
    original, opened = load_predictor(project.frozen), load_predictor(new)
    assert (opened.temperature, opened.threshold) == (original.temperature, original.threshold)
    images = [p for p, _ in _items(new)][-4:]
    for a, b in zip(original.answer(images), opened.answer(images)):
        assert [label for label, _ in a.top] == [label for label, _ in b.top] and a.sure == b.sure
        assert [p for _, p in a.top] == pytest.approx([p for _, p in b.top], abs=1e-5)


def test_opening_again_takes_fresh_names_beside_the_first(project):
    again = open_project(project.saved.path, project.new_runs, project.data_root)
    assert again.datasets == {"shapes": project.data_root.resolve() / "datasets" / "shapes-2"}
    assert again.runs[project.frozen.name].name == f"{project.frozen.name}-2"
    assert json.loads((again.runs[project.frozen.name] / "split.json").read_text())["root"] == \
           str(again.datasets["shapes"])
    assert len(list_runs(project.new_runs)) == 4


def test_two_datasets_with_the_same_folder_name_get_distinct_names_and_running_runs_are_refused(
        two_stage_run, tiny_dataset, tmp_path):
    runs = tmp_path / "runs"
    first = two_stage_run.copy_into(runs)
    second = Path(shutil.copytree(first, runs / "second-run"))
    other = Path(shutil.copytree(tiny_dataset, tmp_path / "elsewhere" / "shapes"))
    record = json.loads((second / "split.json").read_text())
    (second / "split.json").write_text(json.dumps(record | {"root": str(other)}))
    saved = save_project(runs, [first.name, second.name], tmp_path / "two.zip")
    assert saved.datasets == {"shapes": 60, "shapes-2": 60}
    with zipfile.ZipFile(saved.path) as archive:
        manifest = json.loads(archive.read(MANIFEST))
    assert [r["dataset"] for r in manifest["runs"]] == ["shapes", "shapes-2"]
    summary = json.loads((second / "summary.json").read_text())
    (second / "summary.json").write_text(json.dumps(summary | {"status": "running"}))
    with open(second / "metrics.jsonl", "a") as log:  # as a continuation in progress writes it
        log.write(json.dumps({"event": "RunStarted", "run_id": second.name}) + "\n")
    with pytest.raises(ProjectError, match="still training"):
        save_project(runs, [first.name, second.name], tmp_path / "three.zip")
    assert not (tmp_path / "three.zip").exists()


def _zip(path: Path, members: dict, links: tuple[str, ...] = ()) -> Path:
    """A project-looking zip: a valid project.json for run r1 on dataset d, plus the given members."""
    manifest = {"format_version": 1, "runs": [{"run_id": "r1", "dataset": "d"}], "datasets": [{"name": "d"}]}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MANIFEST, json.dumps(manifest))
        for name, data in members.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


_BOTH = {"runs/r1/best.pt": b"x" * 5000, "datasets/d/a/1.jpg": b"x" * 3000}  # a run and its picture


def _nothing_written(tmp_path: Path) -> None:
    for folder in (tmp_path / "runs", tmp_path / "data"):
        assert list(folder.rglob("*")) == [], folder


def _refused(tmp_path: Path, project: Path, match: str, limits: ZipLimits = ZipLimits()) -> None:
    """Opening `project` into tmp_path's runs and data folders is refused (`match`) and leaves them empty."""
    (tmp_path / "runs").mkdir()
    (tmp_path / "data").mkdir()
    with pytest.raises(ProjectError, match=match):
        open_project(project, tmp_path / "runs", tmp_path / "data", limits)
    _nothing_written(tmp_path)


@pytest.mark.parametrize("members, links, limits, match", [
    ({"runs/r1/../../../evil": b"x"}, (), ZipLimits(), r"path with \.\."),
    ({"/tmp/evil.txt": b"x"}, (), ZipLimits(), "absolute path"),
    ({"runs/r1/best.pt": b"x"}, ("runs/r1/link",), ZipLimits(), "symbolic link"),
    ({f"datasets/d/a/{i}.jpg": b"x" for i in range(3)}, (), ZipLimits(files=3), "at most 3 are accepted"),
    ({"datasets/d/a/1.jpg": b"x" * 5000}, (), ZipLimits(total_bytes=1000), r"unpacks to 5,0\d\d bytes; at most 1,000 bytes"),
    ({"runs/r1/summary.json": b"{}"}, (), ZipLimits(), "no run that can be opened"),
    ({"runs/r1/best.pt": b"x", "runs/r1/./best.pt": b"y"}, (), ZipLimits(), "a second file of the same name"),
    (_BOTH, (), ZipLimits(run_file_bytes=4000), r"best.pt' .* too large .* per run file"),
    (_BOTH, (), ZipLimits(picture_bytes=2000), r"1.jpg' .* too large .* per picture"),
    (_BOTH, (), ZipLimits(manifest_bytes=10), r"project.json' .* per project manifest"),
    (_BOTH, (), ZipLimits(data_bytes=2000), "may hold at most 0 MB.*--max-data-mb"),
    (_BOTH, (), ZipLimits(margin_bytes=2**62), "MB free; this needs .* Free some space"),
])
def test_a_hostile_or_oversized_zip_is_refused_with_a_sentence_and_writes_nothing(tmp_path, members, links, limits,
                                                                                  match):
    _refused(tmp_path, _zip(tmp_path / "bad.zip", members, links), match, limits)


def test_a_planted_600_mb_picture_is_refused_and_nothing_big_is_written(project, tmp_path):
    planted = Path(shutil.copy(project.saved.path, tmp_path / "planted.zip"))
    with zipfile.ZipFile(planted, "a", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("datasets/shapes/train/circle/huge.png", "w", force_zip64=True) as out:
        for _ in range(600):
            out.write(bytes(2**20))  # 600 MB of zeros, streamed: about 600 KB once packed
    assert planted.stat().st_size - project.saved.bytes < 2_000_000
    _refused(tmp_path, planted, r"'datasets/shapes/train/circle/huge.png' in the project was refused: "
                                r"too large \(600 MB unpacked; at most 50 MB per picture\)")


def test_a_member_that_unpacks_past_its_declared_size_refuses_the_project_and_leaves_nothing(tmp_path):
    from tests.core.data.test_archive import lie_about_size

    bad = _zip(tmp_path / "liar.zip", {})
    with zipfile.ZipFile(bad, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("runs/r1/best.pt", bytes(5 * 2**20))  # 5 MB of zeros; its headers will say 1,000 bytes
        archive.writestr("datasets/d/a/1.jpg", b"x")
    lie_about_size(bad, "runs/r1/best.pt", 1000)
    _refused(tmp_path, bad, r"'runs/r1/best.pt' in the project was refused: damaged inside the zip \(Bad CRC-32")


class _Payload:
    """Unpickling this runs open(marker, 'w'): a crafted checkpoint that would write a file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_a_checkpoint_carrying_code_refuses_the_whole_project_and_never_runs(tiny_dataset, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "state_dict": {}, "x": _Payload(marker)}, evil)
    image = next(tiny_dataset.rglob("*.jpg"))
    bad = _zip(tmp_path / "bad.zip", {"runs/r1/best.pt": evil.read_bytes(), "runs/r1/summary.json": b"{}",
                                      "datasets/d/train/a/x.jpg": image.read_bytes()})
    (tmp_path / "runs").mkdir()
    (tmp_path / "data").mkdir()
    with pytest.raises(ProjectError, match="model file of run r1 was refused"):  # folders it made go again too
        open_project(bad, tmp_path / "runs" / "new", tmp_path / "data" / "new" / "root")
    assert not marker.exists()
    _nothing_written(tmp_path)
    torch.load(evil, weights_only=False)  # the payload is real: loaded without the guard, it writes the file
    assert marker.exists()


def test_the_cli_saves_and_opens_a_project_as_json(two_stage_run, tmp_path, capsys):
    from core.cli import main

    run = two_stage_run.copy_into(tmp_path / "runs")
    assert main(["project", "save", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "p.zip"), run.name]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved["runs"] == [run.name] and saved["datasets"] == {"shapes": 60}
    assert main(["project", "open", saved["path"], "--runs", str(tmp_path / "new"),
                 "--data-root", str(tmp_path / "data")]) == 0
    opened = json.loads(capsys.readouterr().out)
    assert Path(opened["runs"][run.name]).is_dir() and opened["refused"] == []
    assert main(["project", "open", str(tmp_path / "missing.zip"), "--runs", str(tmp_path / "new")]) == 2
    assert "not a readable .zip" in capsys.readouterr().err


@pytest.mark.parametrize("limits, match", [
    (ZipLimits(picture_bytes=100), "per picture, so it could not be opened again"),
    (ZipLimits(run_file_bytes=1000), "per run file"),
    (ZipLimits(total_bytes=10_000_000), "a project holds at most"),
    (ZipLimits(files=5), r"[0-9,]+ files; a project holds at most 4\."),
])
def test_a_project_that_opening_would_refuse_is_not_saved(project, tmp_path, limits, match):
    with pytest.raises(ProjectError, match=match):
        save_project(project.runs, [project.frozen.name], tmp_path / "p.zip", limits)
    assert list(tmp_path.iterdir()) == []
