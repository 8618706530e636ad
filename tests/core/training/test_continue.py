"""Continue a finished run past its end, resume a failed one: same curves as one uninterrupted run where the schedule
allows it, and the best checkpoint is never lost."""
import json
import pickle
import threading
from pathlib import Path

import pytest
import torch

from core import EpochDone, RunFinished, RunStarted, StageStarted, StepDone, TrainConfig, train
from core.errors import CheckpointError
from core.runstore.checkpoint import load_checkpoint
from core.training.continued import continue_run
from core.runstore.folder import LAST as LAST_NAME
from core.training.resume import read_last


def _config(data, out, **overrides) -> TrainConfig:
    return TrainConfig(data=str(data), out=str(out), **{"freeze": "frozen", "patience": 0, "views": 2, **overrides})


def _run(events) -> tuple[list, RunFinished]:
    events = list(events)
    assert isinstance(events[-1], RunFinished), events[-1]
    return events, events[-1]


def _epochs(events) -> list[tuple]:
    return [(e.epoch, e.step, round(e.train_loss, 6), round(e.valid_loss, 6), e.valid_acc)
            for e in events if isinstance(e, EpochDone)]


def _weights(run_dir) -> dict[str, torch.Tensor]:
    return load_checkpoint(Path(run_dir) / LAST_NAME)["state_dict"]


@pytest.fixture(scope="module")
def eight_epochs(tiny_dataset, tmp_path_factory):
    """One uninterrupted 8-epoch frozen run on the constant schedule, the reference."""
    return _run(train(_config(tiny_dataset, tmp_path_factory.mktemp("eight"), epochs=8, scheduler="none", lr=3e-3)))


def test_four_epochs_then_four_continued_equal_one_eight_epoch_run(tiny_dataset, tmp_path, eight_epochs):
    reference, _ = eight_epochs
    first, finished = _run(train(_config(tiny_dataset, tmp_path, epochs=4, scheduler="none", lr=3e-3)))
    run_dir = finished.run_dir
    more, done = _run(continue_run(run_dir, epochs=4))

    started = next(e for e in more if isinstance(e, RunStarted))
    assert (started.run_id, started.first_epoch, started.first_step) == (finished.run_id, 5, first[-2].step)
    assert _epochs(first) + _epochs(more) == _epochs(reference), "the continued curve is the uninterrupted one"
    steps = [e for e in more if isinstance(e, StepDone)]
    assert steps[-1].step == steps[-1].total_steps, "progress counts the continued run's steps after the old ones"
    ref_dir = eight_epochs[1].run_dir
    for name, tensor in _weights(ref_dir).items():
        assert torch.equal(tensor, _weights(run_dir)[name]), name
    lines = [json.loads(line)["event"] for line in open(f"{run_dir}/metrics.jsonl")]
    assert lines.count("EpochDone") == 8 and lines.count("RunStarted") == 2
    summary = json.loads(open(f"{run_dir}/summary.json").read())
    assert (summary["status"], summary["epochs_run"]) == ("finished", 8)
    assert json.loads(open(f"{run_dir}/config.json").read())["epochs"] == 8
    assert done.best_valid_acc == eight_epochs[1].best_valid_acc


def test_continuing_never_loses_the_best_checkpoint(frozen_run, tmp_path):
    run_dir = frozen_run.copy_into(tmp_path)
    before = (run_dir / "best.pt").read_bytes()
    best = load_checkpoint(run_dir / "best.pt")
    calibration = (run_dir / "calibration.json").read_text()
    events, done = _run(continue_run(run_dir, epochs=3))
    after = load_checkpoint(run_dir / "best.pt")
    improved = [e.epoch for e in events if isinstance(e, EpochDone) and e.is_best]
    if improved:
        assert after["epoch"] == improved[-1] and after["valid_acc"] >= best["valid_acc"]
        assert json.loads((run_dir / "calibration.json").read_text())["checkpoint"] != json.loads(calibration)["checkpoint"]
    else:
        assert (run_dir / "best.pt").read_bytes() == before, "no better epoch: the old best stays, byte for byte"
        assert (run_dir / "calibration.json").read_text() == calibration
    assert done.best_valid_acc >= best["valid_acc"]
    assert [e.epoch for e in events if isinstance(e, EpochDone)] == [11, 12, 13]


def test_a_failed_two_stage_run_resumes_where_it_stopped_on_its_own_schedule(tiny_dataset, tmp_path):
    """A crash in stage 2 (an exception thrown into the generator, as a failing disk would) and a resume give the
    uninterrupted run's curve, on the default one-cycle schedule: the schedule is restored, not restarted."""
    settings = dict(freeze="two_stage", epochs=4, stage1_epochs=2, image_size=64, batch=8, views=1,
                    when_solved="continue")
    reference, _ = _run(train(_config(tiny_dataset, tmp_path / "reference", **settings)))
    run = train(_config(tiny_dataset, tmp_path / "crashed", **settings))
    seen = []
    for event in run:
        seen.append(event)
        if isinstance(event, EpochDone) and event.epoch == 3:
            with pytest.raises(OSError):
                run.throw(OSError("the disk went away"))
            break
    run_dir = next((tmp_path / "crashed").iterdir())
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"
    assert read_last(run_dir).stage == 2
    resumed, done = _run(continue_run(run_dir))
    assert _epochs(seen) + _epochs(resumed) == _epochs(reference)
    assert done.epochs_run == 4 and json.loads((run_dir / "summary.json").read_text())["status"] == "finished"
    with pytest.raises(ValueError, match="finished its plan"):
        next(continue_run(run_dir))


def test_a_crashed_continuation_resumes_on_the_continuations_own_schedule(tiny_dataset, tmp_path):
    """Continue 4 epochs on a cosine decay; the same continuation crashing after its second epoch and resumed gives
    the same curve: the continuation's schedule and epochs are in last.pt, not re-derived from the first plan."""
    settings = dict(epochs=2, scheduler="cosine", lr=3e-3)
    _, whole = _run(train(_config(tiny_dataset, tmp_path / "whole", **settings)))
    reference, _ = _run(continue_run(whole.run_dir, epochs=4))
    _, crashed = _run(train(_config(tiny_dataset, tmp_path / "crashed", **settings)))
    run = continue_run(crashed.run_dir, epochs=4)
    seen = []
    for event in run:
        seen.append(event)
        if isinstance(event, EpochDone) and event.epoch == 4:
            with pytest.raises(OSError):
                run.throw(OSError("power cut"))
            break
    resumed, done = _run(continue_run(crashed.run_dir))
    assert _epochs(seen) + _epochs(resumed) == _epochs(reference)
    assert done.epochs_run == 6
    lrs = [e.lr for e in resumed if isinstance(e, StepDone)]
    assert lrs == sorted(lrs, reverse=True), "still decaying, not a fresh warm-up"


def test_a_two_stage_run_stopped_in_its_head_stage_continues_the_head_then_stage_2_as_planned(tiny_dataset, tmp_path):
    settings = dict(freeze="two_stage", epochs=3, stage1_epochs=2, image_size=64, batch=8, views=1,
                    when_solved="continue")
    stop = threading.Event()
    events = []
    for event in train(_config(tiny_dataset, tmp_path, **settings), stop):
        events.append(event)
        if isinstance(event, EpochDone):
            stop.set()
    run_dir = Path(events[-1].run_dir)
    assert events[-1].epochs_run == 1 and read_last(run_dir).stage == 1
    more, done = _run(continue_run(run_dir, epochs=2))
    stage_2 = next(e for e in more if isinstance(e, StageStarted))
    assert [e.epoch for e in more if isinstance(e, EpochDone)] == [2, 3, 4] and stage_2.epoch == 4
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["stage1_epochs"], config["epochs"]) == (3, 4), "two more head epochs, then stage 2's one"
    assert done.epochs_run == 4


def test_last_state_is_untrusted_input(frozen_run, tmp_path):
    run_dir = frozen_run.copy_into(tmp_path)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (run_dir / LAST_NAME).write_bytes(pickle.dumps({"state_dict": Payload(), "format_version": 1}))
    with pytest.raises(CheckpointError):
        next(continue_run(run_dir, epochs=1))
    assert not marker.exists()
    (run_dir / LAST_NAME).unlink()
    with pytest.raises(CheckpointError, match="cannot be continued"):
        next(continue_run(run_dir, epochs=1))
