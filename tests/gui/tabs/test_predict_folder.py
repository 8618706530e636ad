"""The Predict tab's folder → CSV: only folders the app serves, progress, then a CSV to download."""
import csv
import shutil

from gui import AppContext
from gui.tabs.predict_folder import folder_stream


def test_a_served_folder_becomes_a_csv_and_an_outside_one_is_refused(frozen_run, tiny_dataset, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(tiny_dataset / "valid" / "circle", root / "inbox")
    ctx = AppContext(data_root=root, runs_dir=tmp_path / "runs", initial_dataset=root / "inbox")
    frozen_run.copy_into(ctx.runs_dir)
    updates = list(folder_stream(ctx, "inbox", None))
    assert "Predicting: 1/5" in updates[0][0]
    bar, csv_path, said = updates[-1]
    rows = list(csv.DictReader(open(csv_path)))
    assert len(rows) == 5 and {r["path"] for r in rows} == {p.name for p in (root / "inbox").iterdir()}
    assert "5 picture(s) predicted" in said
    refused = list(folder_stream(ctx, str(tiny_dataset), None))[-1]
    assert refused[1] is None and "outside the folders this app serves" in refused[2]
