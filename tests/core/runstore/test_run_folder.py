"""The run folder's one owner: only core.runstore spells a run's file names, and RunFolder's rule for a current
evaluation follows the checkpoint and the split's files."""
import re
import time
from pathlib import Path

import pytest

from core.errors import DatasetError
from core.runstore import folder as names
from core.runstore.folder import RunFolder

ROOT = Path(__file__).resolve().parents[3]
RUN_FILES = [names.CONFIG, names.SPLIT, names.SUMMARY, names.METRICS, names.SKIPPED, names.BEST, names.LAST,
             names.CALIBRATION, names.LABEL, names.OWNER, names.SHARED, "evaluation.json", "evaluation.test.json",
             "predictions.csv", "evaluation.npz", names.BASELINES]
# Folder names that are also ordinary words (the Audit tab's state["kept"]): caught only where they make a path.
RUN_FOLDERS = [names.KEPT]


def as_path(name: str) -> str:
    """A pattern for `name` used as a folder of a path: `runs / "kept"`, "runs/kept/..."."""
    return rf"""/\s*["']{re.escape(name)}["/']|["'/]{re.escape(name)}/"""


# The exported bundle's standalone predict.py imports nothing of the app, so it names its own bundle files.
STANDALONE = ROOT / "core" / "export" / "standalone_predict.py"


def test_only_the_runstore_spells_a_run_s_file_names():
    quoted = re.compile("|".join(rf"""["'/]{re.escape(name)}["']""" for name in RUN_FILES)
                        + "".join(f"|{as_path(name)}" for name in RUN_FOLDERS)
                        + r"""|f["']evaluation\{|f["']predictions\{""")
    offenders = []
    for path in [*ROOT.glob("core/**/*.py"), *ROOT.glob("gui/**/*.py"), ROOT / "launch.py"]:
        if path.is_relative_to(ROOT / "core" / "runstore") or path == STANDALONE:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if quoted.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "ask core.runstore.folder.RunFolder instead:\n" + "\n".join(offenders)


def test_the_grep_would_catch_a_spelled_name(tmp_path):
    quoted = re.compile(rf"""["'/]{re.escape(names.SPLIT)}["']""")
    assert quoted.search('json.loads((run_dir / "split.json").read_text())')
    kept = re.compile(as_path(names.KEPT))
    assert kept.search('store = KeptStore(runs / "kept")') and kept.search('Path("runs/kept/x.jpg")')
    assert not kept.search('state["kept"]') and not kept.search('{"kept": []}')


def test_an_evaluation_is_current_for_the_same_checkpoint_and_pictures_only(frozen_run, tmp_path):
    from core.evaluation.metrics import evaluation_of

    run = RunFolder(frozen_run.copy_into(tmp_path / "runs"))
    assert not run.evaluation_current("valid")
    evaluation_of(run.path, "valid")
    assert run.evaluation_current("valid") and all(p.is_file() for p in run.evaluation("valid").all())
    record = run.read_split_record()
    record["splits"]["valid"] = record["splits"]["valid"][1:]  # one picture fewer: the pictures changed
    run.write_split(record)
    assert not run.evaluation_current("valid")
    record["splits"]["valid"] = run.read_split_record()["splits"]["valid"]
    evaluation_of(run.path, "valid")
    assert run.evaluation_current("valid")
    time.sleep(0.01)
    run.best.write_bytes(run.best.read_bytes())  # the same bytes written again: a new checkpoint file
    assert not run.evaluation_current("valid") and run.read_calibration() is None


def test_a_split_it_cannot_read_is_a_sentence(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    with pytest.raises(DatasetError, match="no readable split.json"):
        run.split_items("valid")
    run.split.write_text("[1, 2]")
    with pytest.raises(DatasetError, match="not a split record"):
        run.split_items("valid")
    with pytest.raises(ValueError, match="split must be one of"):
        run.evaluation("train")
    assert run.read_config() == {} and run.read_skipped() == {} and not run.is_run()


def test_a_damaged_split_or_summary_never_breaks_a_lookup(frozen_run, tmp_path):
    from core.runstore.table import find_run

    run = RunFolder(frozen_run.copy_into(tmp_path / "runs"))
    assert find_run(run.path.parent, run.run_id).run_id == run.run_id
    run.split.write_text('{"root": ".", "layout": "flat", "classes": ["a"], "splits": [1, 2]}')
    with pytest.raises(DatasetError, match="damaged"):
        run.dataset_index()
    assert not run.evaluation_current("valid")
    run.write_summary({**run.read_summary(), "epochs_run": "three"})
    assert find_run(run.path.parent, run.run_id) is None


def test_a_test_evaluation_under_the_old_names_is_removed_when_it_is_redone(tmp_path):
    run = RunFolder(tmp_path)
    for name in names.OLD_TEST_EVALUATION:
        (tmp_path / name).write_text("{}")
    run.remove_old_test_evaluation()
    assert list(tmp_path.iterdir()) == []
