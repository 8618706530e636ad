"""Faults that lose nothing: SIGKILL while checkpoints are written, a pickle payload in best.pt, a full disk."""
import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import core.runstore.checkpoint as checkpoint_module
from core import TrainConfig, train
from core.errors import CheckpointError
from core.runstore.checkpoint import CheckpointMeta, load_checkpoint
from core.runstore.folder import OWNER as OWNER_NAME
from core.runstore.table import read_record
from core.system import atomic_write
from core.errors import DiskFull

ROOT = Path(__file__).resolve().parents[3]
KILLS = int(os.environ.get("TS_KILLS", "12"))  # the figure, 50, is run by bench/kill_checkpoints.py


@pytest.mark.timeout(240)
def test_sigkill_while_writing_checkpoints_never_leaves_one_that_does_not_load(tiny_dataset, tmp_path):
    """Forked writers of a real model's best.pt and last.pt, and one real training process, killed at random
    moments: after every kill both files load; half-written temporaries are left under another name, never *.pt."""
    out = tmp_path / "kills.json"
    done = subprocess.run([sys.executable, "bench/kill_checkpoints.py", "--kills", str(KILLS), "--training-kills", "1",
                           "--data", str(tiny_dataset), "--seed", str(KILLS), "--out", str(out)],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=200)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    fast, training = result["fast"], result["training"]
    assert (fast["kills"], fast["unloadable"], training["unloadable"]) == (KILLS, 0, 0), done.stdout
    assert fast["inside_write"] >= KILLS // 3, "most kills should land inside a write; the test would prove nothing"
    for row in fast["rows"] + training["rows"]:
        assert row["checkpoints"] == ["best.pt", "last.pt"] and not row["unloadable"]
        assert all(name.endswith(".tmp") and name.startswith((".best.pt.", ".last.pt.")) for name in row["temporaries"])
    epochs = [row["epochs"]["best.pt"] for row in fast["rows"]]
    assert epochs == sorted(epochs) and epochs[-1] > 1, "each writer went on from the previous one's checkpoints"
    assert training["rows"][0]["marked_failed"]


def test_a_best_checkpoint_with_a_pickle_payload_is_refused_and_runs_nothing(frozen_run, tmp_path):
    from core.inference.predict import load_predictor

    run = frozen_run.copy_into(tmp_path)
    witness = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(witness), "w"))

    good = load_checkpoint(run / "best.pt")
    torch.save({**good, "x": Payload()}, run / "best.pt")
    with pytest.raises(CheckpointError, match="not a model file"):
        load_checkpoint(run / "best.pt")
    with pytest.raises(CheckpointError, match="not a model file"):
        load_predictor(run)
    assert not witness.exists(), "the payload ran"
    torch.load(run / "best.pt", weights_only=False)  # what an unsafe loader would do: the payload is live
    assert witness.exists()


def _full_at_second_save(monkeypatch) -> list:
    """The second best.pt save finds the disk full half-way through its temporary file."""
    calls = []

    def full(path, write):
        calls.append(Path(path).name)
        if len(calls) < 2:
            return atomic_write(path, write)

        def half(f):
            f.write(b"\0" * 4096)
            raise OSError(errno.ENOSPC, "No space left on device")
        return atomic_write(path, half)

    monkeypatch.setattr(checkpoint_module, "atomic_write", full)
    return calls


def _check_kept(runs: Path) -> Path:
    (run,) = list(runs.iterdir())
    best = CheckpointMeta.from_payload(load_checkpoint(run / "best.pt"))
    assert best.epoch == 1, "the first checkpoint, untouched"
    assert not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp")) and not (run / OWNER_NAME).exists()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and "the disk is full" in summary["error"]
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "RunFailed" and last["error"] == summary["error"]
    assert read_record(run).status == "failed"
    return run


def test_a_full_disk_stops_the_run_with_a_sentence_and_keeps_the_last_good_checkpoint(tiny_dataset, tmp_path,
                                                                                   monkeypatch):
    calls = _full_at_second_save(monkeypatch)
    config = TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "runs"), freeze="frozen", epochs=6, patience=0,
                         image_size=64, views=1, scheduler="none", lr=3e-3)
    with pytest.raises(DiskFull) as caught:
        for _ in train(config):
            pass
    assert calls == ["best.pt", "best.pt"] and caught.value.errno == errno.ENOSPC
    assert str(caught.value).startswith("the disk is full: the run stopped at epoch 2 and the last good checkpoint "
                                        "(epoch 1) is kept")
    _check_kept(tmp_path / "runs")


def test_the_train_tab_says_the_disk_is_full_in_one_sentence(tiny_dataset, tmp_path, monkeypatch):
    from gui import AppContext, words
    from gui.form import DEFAULTS, FIELDS
    from gui.tabs.train import train_stream

    _full_at_second_save(monkeypatch)
    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    settings = {**{name: getattr(DEFAULTS, name) for name in FIELDS}, "augment": ["flip"], "freeze": "frozen",
                "epochs": 6, "patience": 0, "image_size": 64, "views": 1, "scheduler": "none", "lr": 3e-3}
    *_, (bar, _, _, _, status) = train_stream(ctx, str(tiny_dataset), 20, settings, SimpleNamespace(session_hash="s"))
    assert status.startswith(words.WARN.format("the disk is full: the run stopped at epoch 2"))
    assert "(epoch 1) is kept" in status and "Errno" not in status and words.FAILED in bar
    _check_kept(tmp_path / "runs")
