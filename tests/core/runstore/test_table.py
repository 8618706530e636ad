"""The runs table on real run folders: one record per run with its settings and result, the user's name and note,
the learning curves of metrics.jsonl, and deleting a run only when it is a plain, idle run folder."""
import json
import os
import time
from dataclasses import asdict

import pytest

from core.events import EpochDone, StageStarted
from core.runstore.log import CurvePoint, StageStart, read_curves
from core.runstore.table import delete_run, read_record, run_records, set_label


def _record(run_dir):
    return read_record(run_dir)


def _age(path, seconds):
    """Make `path` look last written `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def _append(run_dir, *lines):
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.writelines((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


@pytest.fixture
def runs(frozen_run, two_stage_run, tmp_path):
    folder = tmp_path / "runs"
    frozen_run.copy_into(folder)
    two_stage_run.copy_into(folder)
    return folder


def test_each_run_folder_is_one_record_with_its_settings_and_result_newest_first(runs, frozen_run, two_stage_run,
                                                                                  tiny_dataset):
    (runs / "baselines").mkdir()  # not a run: no config.json
    (runs / "baselines" / "notes.txt").write_text("x")
    broken = runs / "20991231-235959-broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"data": "x"}))
    (broken / "summary.json").write_text(json.dumps({"classes": 7}))  # unusable: the table goes on without it
    records = run_records(runs)
    assert [r.run_id for r in records] == sorted([frozen_run.run_id, two_stage_run.run_id], reverse=True)
    by_id = {r.run_id: r for r in records}
    for run, recipe, size in ((frozen_run, "frozen", 224), (two_stage_run, "two_stage", 96)):
        record, summary = by_id[run.run_id], json.loads((run.run_dir / "summary.json").read_text())
        assert (record.status, record.recipe, record.image_size) == ("finished", recipe, size)
        assert record.backbone == summary["backbone"] and record.classes == summary["classes"]
        assert record.best_valid_acc == summary["best_valid_acc"] == run.finished.best_valid_acc
        assert record.epochs_run == run.finished.epochs_run == record.epochs
        assert record.wall_s == pytest.approx(run.finished.wall_s)
        assert (record.dataset, record.dataset_path) == (tiny_dataset.name, str(tiny_dataset))
        stamp = run.run_id[:13]  # YYYYMMDD-HHMM
        assert record.started == f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}"
        assert record.has_checkpoint and (record.name, record.note) == ("", "")
        assert record.path == runs / run.run_id
        assert json.loads(json.dumps(record.to_dict()))["path"] == str(runs / run.run_id)
    assert run_records(runs / "nowhere") == []


def test_status_comes_from_the_log_when_the_summary_is_missing_or_stale(frozen_run, tmp_path):
    run = frozen_run.copy_into(tmp_path)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    (run / "summary.json").unlink()
    (run / "metrics.jsonl").write_text("\n".join(lines[:1]) + "\n")  # RunStarted only
    assert _record(run).status == "running"
    _age(run / "metrics.jsonl", 3600)
    _age(run / "config.json", 0)
    assert _record(run).status == "running", "config.json was just written: the run is still starting"
    _age(run / "config.json", 3600)  # nothing written for an hour: the process is gone
    assert _record(run).status == "failed"
    _append(run, {"event": "RunClosed", "epochs_run": 0})
    assert _record(run).status == "stopped"
    _append(run, {"event": "RunFailed", "error": "RuntimeError: boom"})
    assert _record(run).status == "failed"
    _append(run, {"event": "RunContinued"})
    assert _record(run).status == "running"
    assert _record(run).wall_s is None and _record(run).best_valid_acc is None
    assert _record(run).classes == json.loads(lines[0])["classes"]  # RunStarted's, with no summary


def test_a_continued_run_is_running_while_it_logs_and_its_wall_time_adds_up_its_sessions(frozen_run, tmp_path):
    run = frozen_run.copy_into(tmp_path)
    first = frozen_run.finished.wall_s
    started = next(line for line in (run / "metrics.jsonl").read_text().splitlines() if '"RunStarted"' in line)
    epoch = {"event": "EpochDone", "epoch": 11, "step": 99, "train_loss": 0.1, "train_acc": 1.0, "valid_loss": 0.1,
             "valid_acc": 1.0, "is_best": False, "elapsed_s": 2.5}
    _append(run, started, epoch)  # a second session: continued past its end
    assert (_record(run).status, _record(run).wall_s) == ("running", pytest.approx(first + 2.5))
    _append(run, {**frozen_run.finished.to_dict(), "wall_s": 3.0, "epochs_run": 11})
    assert (_record(run).status, _record(run).wall_s) == ("finished", pytest.approx(first + 3.0))
    assert [p.epoch for p in read_curves(run).points][-2:] == [10, 11]


def test_a_label_round_trips_without_control_characters_and_bad_labels_are_refused(frozen_run, tmp_path):
    run = frozen_run.copy_into(tmp_path)
    set_label(run, "  base\x00line\n", "first try\nsmall\tlr\x07\x1b[31m ")
    assert (_record(run).name, _record(run).note) == ("baseline", "first try\nsmall\tlr[31m")
    for name, note in (("n" * 81, ""), ("ok", "x" * 2001)):
        with pytest.raises(ValueError, match="characters long"):
            set_label(run, name, note)
    assert _record(run).name == "baseline", "a refused label leaves the old one"
    set_label(run, "n" * 80, "x" * 2000)
    assert len(_record(run).name) == 80 and len(_record(run).note) == 2000
    with pytest.raises(ValueError, match="not a run folder"):
        set_label(tmp_path, "name", "")


def test_curves_are_the_epochs_and_stages_of_the_log_even_torn_or_continued(two_stage_run, tmp_path):
    run = two_stage_run.copy_into(tmp_path)
    epochs = [CurvePoint(**asdict(e)) for e in two_stage_run.events
              if isinstance(e, EpochDone)]
    stages = [StageStart(e.stage, e.name, e.epoch, e.step) for e in two_stage_run.events if isinstance(e, StageStarted)]
    curves = read_curves(run)
    assert curves.points == epochs and len(epochs) == 3
    assert curves.stages == stages and [(s.stage, s.epoch) for s in stages] == [(2, 3)]  # every layer from epoch 3
    more = {**asdict(epochs[-1]), "event": "EpochDone", "epoch": 4, "step": epochs[-1].step + 5}
    _append(run, {"event": "SomethingNew", "x": 1}, "not json", {"event": "RunContinued"}, more,
            '{"event": "EpochDone", "epoch": 5, "st')  # the line being written when it was read
    curves = read_curves(run)
    assert [p.epoch for p in curves.points] == [1, 2, 3, 4] and curves.points[-1].step == more["step"]
    assert json.loads(json.dumps(curves.to_dict()))["points"][3]["epoch"] == 4
    assert read_curves(tmp_path / "nowhere").points == []


def test_delete_refuses_what_is_not_an_idle_run_folder_of_the_runs_folder(runs, frozen_run, two_stage_run, tmp_path):
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "config.json").write_text("{}")
    (runs / "link").symlink_to(runs / frozen_run.run_id, target_is_directory=True)
    (runs / "baselines").mkdir()
    for bad in ("../x", str(outside), "", ".", "..", ".hidden", "a/b", "missing"):
        with pytest.raises(ValueError):
            delete_run(runs, bad)
    with pytest.raises(ValueError, match="link"):
        delete_run(runs, "link")
    with pytest.raises(ValueError, match=r"no config\.json"):
        delete_run(runs, "baselines")
    with pytest.raises(ValueError, match="training now"):
        delete_run(runs, frozen_run.run_id, busy={frozen_run.run_id})
    _append(runs / two_stage_run.run_id, {"event": "RunContinued"})  # being trained further right now
    with pytest.raises(ValueError, match="training now"):
        delete_run(runs, two_stage_run.run_id)
    assert outside.is_dir() and (runs / frozen_run.run_id / "best.pt").is_file()
    assert {r.run_id for r in run_records(runs)} == {frozen_run.run_id, two_stage_run.run_id}


def test_delete_removes_the_run_folder_and_nothing_its_links_point_to(runs, frozen_run, two_stage_run, tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious.txt").write_text("mine")
    run = runs / frozen_run.run_id
    (run / "elsewhere").symlink_to(keep, target_is_directory=True)
    assert delete_run(runs, frozen_run.run_id, busy={two_stage_run.run_id}) == run
    assert not run.exists() and (keep / "precious.txt").read_text() == "mine"
    assert [r.run_id for r in run_records(runs)] == [two_stage_run.run_id]
    assert sorted(p.name for p in runs.iterdir()) == [two_stage_run.run_id], "no hidden leftovers"


def test_curves_read_epochs_logged_before_they_told_the_eta(tmp_path):
    from core.runstore.folder import RunFolder

    older = {"event": "EpochDone", "epoch": 1, "step": 2, "train_loss": 1.0, "train_acc": 0.5, "valid_loss": 0.9,
             "valid_acc": 0.6, "is_best": True, "elapsed_s": 3.0}  # no eta_s
    RunFolder(tmp_path).metrics.write_text(json.dumps(older) + "\n")
    (point,) = read_curves(tmp_path).points
    assert (point.epoch, point.valid_acc, point.eta_s) == (1, 0.6, None)
