"""Run folders on disk: which runs can predict, the newest first, looked up by id and never by path."""
import json

from core.runstore.folder import BEST as CHECKPOINT_NAME
from core.runstore.table import find_run, list_runs, run_records


def _run_folder(runs, name, checkpoint=True, summary=True):
    folder = runs / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"backbone": "efficientnet_lite0", "data": "data/shapes"}))
    if summary:
        (folder / "summary.json").write_text(json.dumps({"backbone": "efficientnet_lite0", "classes": ["a", "b"],
                                                         "best_valid_acc": 0.5, "status": "finished"}))
    if checkpoint:
        (folder / CHECKPOINT_NAME).write_bytes(b"weights")
    return folder


def test_the_newest_run_that_can_predict_comes_first_and_unfinished_folders_are_skipped(tmp_path):
    runs = tmp_path / "runs"
    assert find_run(runs) is None and list_runs(runs) == []
    _run_folder(runs, "20261101-100000-efficientnet_lite0")
    _run_folder(runs, "20261102-100000-resnet18")
    _run_folder(runs, "20261103-100000-efficientnet_lite0", checkpoint=False)  # still training
    _run_folder(runs, "20261104-100000-efficientnet_lite0", summary=False)
    (runs / "20261105-notes.txt").write_text("a file, not a run")
    assert [r.run_id for r in list_runs(runs)] == ["20261102-100000-resnet18", "20261101-100000-efficientnet_lite0"]
    newest = find_run(runs)
    assert newest.run_id == "20261102-100000-resnet18" and newest.classes == ["a", "b"]
    (runs / "20261103-100000-efficientnet_lite0" / CHECKPOINT_NAME).write_bytes(b"weights")
    assert find_run(runs).run_id == "20261103-100000-efficientnet_lite0"
    every = [r.run_id for r in run_records(runs)]  # one listing: the table holds the same runs, and the rest
    assert set(every) == {f"2026110{d}-100000-{b}" for d, b in
                          [(1, "efficientnet_lite0"), (2, "resnet18"), (3, "efficientnet_lite0"),
                           (4, "efficientnet_lite0")]}


def test_a_run_is_found_by_its_folder_name_only(tmp_path):
    runs = tmp_path / "runs"
    _run_folder(runs, "20261101-100000-efficientnet_lite0")
    _run_folder(tmp_path, "outside")
    assert find_run(runs, "20261101-100000-efficientnet_lite0").path == runs / "20261101-100000-efficientnet_lite0"
    for bad in ["../outside", str(tmp_path / "outside"), "..", ".", "nope"]:
        assert find_run(runs, bad) is None, bad
