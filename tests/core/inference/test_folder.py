"""A folder of pictures into one CSV: the same numbers as one picture at a time, a bad file a row with its reason."""
import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.inference.folder import FolderProgress, FolderTable, predict_folder
from core.inference.predict import load_predictor

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def folder(tiny_dataset, tmp_path):
    target = shutil.copytree(tiny_dataset / "valid" / "star", tmp_path / "pictures" / "stars")
    (target.parent / "broken.jpg").write_bytes(b"\xff\xd8 half a jpeg")
    (target.parent / "notes.txt").write_text("not a picture")
    return target.parent


def test_each_row_equals_the_single_prediction_and_bad_files_say_why(frozen_run, folder):
    predictor = load_predictor(frozen_run.run_dir)
    items = list(predict_folder(predictor, folder))
    table = items[-1]
    assert isinstance(table, FolderTable) and isinstance(items[-2], FolderProgress) and items[-2].done == 7
    rows = list(csv.DictReader(io.StringIO(table.csv)))
    assert (table.predicted, table.unreadable, len(rows)) == (5, 2, 7)
    for row in rows:
        if row["error"]:
            assert row["path"] in ("broken.jpg", "notes.txt") and row["top1"] == ""
            continue
        answer = predictor.answer([folder / row["path"]])[0]
        assert row["top1"] == answer.top[0][0] and float(row["confidence"]) == pytest.approx(answer.top[0][1], abs=1e-6)
        assert row["not_sure"] == ("no" if answer.sure else "yes")
    assert "not an image" in next(r["error"] for r in rows if r["path"] == "broken.jpg")
    assert "not an image file (.txt)" in next(r["error"] for r in rows if r["path"] == "notes.txt")


def test_cli_writes_the_folder_csv(frozen_run, folder, tmp_path):
    out = subprocess.run([sys.executable, "-m", "core", "predict", "--run", str(frozen_run.run_dir), "--folder",
                          str(folder), "--csv", str(tmp_path / "out.csv")], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "5 picture(s) predicted, 2 unreadable" in out.stderr
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 8
