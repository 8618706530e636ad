"""Health report: bad files named with reasons, warnings with what to do, leakage pairs, and a file cache."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from core.data.health import check_dataset, run_check
from core.events import CheckProgress
from tests.messy import BAD, _noise_image, make_messy_dataset

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    return make_messy_dataset(tmp_path_factory.mktemp("messy") / "pets")


def kinds(report) -> dict:
    return {w["kind"]: w for w in report.warnings}


def test_messy_folder_report_names_every_bad_file_with_its_reason(messy, tmp_path):
    report = run_check(messy, cache_dir=tmp_path / "cache")
    assert report.layout == "flat" and report.classes == ["cat", "dog"]
    reasons = {s["path"]: s["reason"] for s in report.skipped}
    assert set(reasons) == set(BAD)
    for path, words in BAD.items():
        assert words in reasons[path], (path, reasons[path])
    used = sum(sum(counts.values()) for counts in report.splits.values())
    assert used == 12 * 2 + 15  # every generated photo and every odd-but-valid file, nothing else
    warnings = kinds(report)
    assert warnings["empty_class"]["paths"] == ["empty"]
    assert warnings["tiny"]["paths"] == ["dog/tiny.png"]
    assert warnings["few_images"]["paths"] == ["dog"]
    assert "leakage" not in warnings
    assert json.loads(json.dumps(report.to_dict()))["splits"] == report.splits


def _split_dataset(root: Path) -> Path:
    for s, (split, n) in enumerate((("train", 12), ("valid", 4))):
        for c, (label, color) in enumerate((("cat", (200, 40, 40)), ("dog", (40, 40, 200)))):
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                _noise_image(color, seed=1000 * s + 100 * c + i).save(folder / f"{i}.jpg", quality=90)
    return root


def test_leakage_between_train_and_valid_is_reported_with_the_pairs(tmp_path):
    root = _split_dataset(tmp_path / "ds")
    (root / "valid/cat/copy.jpg").write_bytes((root / "train/cat/3.jpg").read_bytes())
    Image.open(root / "train/dog/5.jpg").resize((48, 48)).save(root / "valid/dog/smaller.jpg", quality=70)
    (root / "train/cat/twin.jpg").write_bytes((root / "train/cat/7.jpg").read_bytes())
    (root / "train/dog/mislabelled.jpg").write_bytes((root / "train/cat/8.jpg").read_bytes())
    warnings = kinds(run_check(root, cache_dir=tmp_path / "cache"))
    assert warnings["leakage"]["paths"] == [["train/cat/3.jpg", "valid/cat/copy.jpg"], ["train/dog/5.jpg", "valid/dog/smaller.jpg"]]
    assert warnings["duplicates"]["paths"] == [["train/cat/7.jpg", "train/cat/twin.jpg"], ["train/cat/8.jpg", "train/dog/mislabelled.jpg"]]
    assert warnings["label_conflict"]["paths"] == [["train/cat/8.jpg", "train/dog/mislabelled.jpg"]]
    assert "near_duplicates" not in warnings  # distinct photos are not flagged


def test_missing_valid_class_and_imbalance_are_warned(tmp_path):
    root = _split_dataset(tmp_path / "ds")
    for p in (root / "valid/dog").iterdir():
        p.unlink()
    for i in range(40):
        _noise_image((200, 40, 40), seed=5000 + i).save(root / "train/cat" / f"extra{i}.jpg")
    warnings = kinds(run_check(root, cache_dir=tmp_path / "cache"))
    assert warnings["missing_in_valid"]["paths"] == ["dog"]
    assert "52" in warnings["imbalance"]["message"] and warnings["imbalance"]["paths"] == ["cat", "dog"]


def test_second_check_reuses_the_cache_until_a_file_changes(tmp_path):
    root = _split_dataset(tmp_path / "ds")
    cache = tmp_path / "cache"
    cold = list(check_dataset(root, cache_dir=cache))
    assert isinstance(cold[0], CheckProgress) and cold[-1].from_cache == 0 and cold[-1].files == 32
    warm = run_check(root, cache_dir=cache)
    assert warm.from_cache == 32 and warm.warnings == cold[-1].warnings
    changed = root / "train/cat/0.jpg"
    changed.write_bytes(b"")  # a file that broke since the last check is re-read, not trusted from the cache
    os.utime(changed, ns=(1, 1))
    again = run_check(root, cache_dir=cache)
    assert again.from_cache == 31 and again.skipped == [{"path": "train/cat/0.jpg", "reason": "empty file (0 bytes)"}]


def test_cli_check_prints_one_json_object(messy, tmp_path):
    result = subprocess.run([sys.executable, "-m", "core", "check", "--data", str(messy), "--cache", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"layout", "classes", "splits", "skipped", "warnings"} <= report.keys()
    assert report["layout"] == "flat" and len(report["skipped"]) == len(BAD)
    bad = subprocess.run([sys.executable, "-m", "core", "check", "--data", str(tmp_path / "nope")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "does not exist" in bad.stderr
