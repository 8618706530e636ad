"""A training's events reach the page from a thread of their own: the training never waits while the page draws."""
import threading
import time

import pytest

from core.events import EpochDone, Message, RunStarted, StepDone
from gui.training_job import BarState, Training, in_turns, train_in_line

STARTED = RunStarted(run_id="r", run_dir="runs/r", classes=["a", "b"], train_size=4, valid_size=2, epochs=3,
                     steps_per_epoch=2, device="cpu", mode="frozen")


def _step(n: int) -> StepDone:
    return StepDone(epoch=1, step=n, total_steps=40, loss=1.0, acc=0.5, lr=0.1, images_per_s=0, eta_s=1)


def _epoch(n: int) -> EpochDone:
    return EpochDone(epoch=n, step=2 * n, train_loss=1, train_acc=0.5, valid_loss=1, valid_acc=0.5, is_best=False,
                     elapsed_s=n)


def test_the_training_goes_on_while_the_page_draws_and_nothing_is_lost():
    """A page that takes 0.3 s per draw: the steps still come every 20 ms, and every event arrives, in order."""
    gaps, stop = [], threading.Event()

    def training():
        last = time.monotonic()
        yield STARTED
        for n in range(1, 41):
            time.sleep(0.02)
            now = time.monotonic()
            gaps.append(now - last)
            last = now
            yield _step(n)

    received, batches = [], 0
    for batch in in_turns(Training(training()), refresh_s=0.1):
        received += batch
        batches += 1
        time.sleep(0.3)  # building and sending the charts
    assert received == [STARTED, *[_step(n) for n in range(1, 41)]]
    assert max(gaps) < 0.2, "the training waited for the page"
    assert batches < 10, "what came while the page drew is drawn together"
    assert not stop.is_set()


def test_the_start_and_a_runs_first_epoch_are_drawn_at_once_the_rest_at_most_every_refresh():
    def training():  # a little apart, so that each one is taken as it comes
        for event in (STARTED, _step(1), _epoch(1), _step(2), _epoch(2), Message(text="done")):
            time.sleep(0.05)
            yield event

    batches = [b for b in in_turns(Training(training()), refresh_s=10) if b]
    assert batches[0] == [STARTED] and batches[1] == [_step(1), _epoch(1)]
    assert batches[2:] == [[_step(2), _epoch(2), Message(text="done")]], "a later epoch waits for the next draw"


def test_what_the_training_raised_is_raised_to_the_page_after_the_events_before_it():
    def training():
        yield STARTED
        yield _step(1)
        raise OSError("disk full")

    received = []
    with pytest.raises(OSError, match="disk full"):
        for batch in in_turns(Training(training()), refresh_s=10):
            received += batch
    assert received == [STARTED, _step(1)]


def test_a_page_that_goes_away_stops_the_training_without_waiting_and_its_place_is_kept_until_it_ends(tmp_path):
    """Gradio closes a handler on its event loop: closing must not wait for the training's last validation and
    checkpoints, and the run, the job and the place in line stay taken until the training has really ended."""
    from gui.context import AppContext
    from gui.training_job import TrainingPage

    ctx = AppContext(data_root=tmp_path, runs_dir=tmp_path / "runs", initial_dataset=tmp_path)
    ended = threading.Event()

    def training(stop):
        try:
            yield STARTED
            while not stop.is_set():  # as core.train: it checks its stop event between steps
                time.sleep(0.01)
                yield _step(1)
            time.sleep(1.0)  # then validates and writes its checkpoints
        finally:
            ended.set()

    page = train_in_line(ctx, "s", training, TrainingPage())
    next(page)  # the run started: drawn at once
    assert ctx.training_ids() == {"r"}
    started = time.monotonic()
    page.close()
    assert time.monotonic() - started < 0.5, "closing waited for the training"
    assert not ended.is_set() and ctx.training_ids() == {"r"} and len(ctx.trainings) == 1
    assert ended.wait(5)
    deadline = time.monotonic() + 5
    while (ctx.training_ids() or len(ctx.trainings)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ctx.training_ids() == frozenset() and len(ctx.trainings) == 0, "given up once the training ended"


def test_a_quiet_training_still_lets_the_page_look_every_beat():
    def training():
        yield STARTED
        time.sleep(0.5)  # a long validation: no event
        yield _step(1)

    batches = list(in_turns(Training(training()), refresh_s=0.01, beat_s=0.1))
    assert [] in batches and [e for b in batches for e in b] == [STARTED, _step(1)]


def test_the_bar_takes_the_eta_an_epochs_end_tells():
    """The ETA that counts the epoch's validation and checkpoints replaces its last step's, on the same bar."""
    bar = BarState()
    for event in (STARTED, _step(2), _epoch(1)):  # an epoch that tells no ETA (a log written before): the step's
        bar.add(event)
    assert "step 2/40" in bar.html() and "0:01 left in all" in bar.html()
    bar.add(EpochDone(epoch=1, step=2, train_loss=1, train_acc=0.5, valid_loss=1, valid_acc=0.5, is_best=True,
                      elapsed_s=1, eta_s=95))
    assert "step 2/40" in bar.html() and "1:35 left in all" in bar.html()
