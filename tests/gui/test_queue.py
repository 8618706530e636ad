"""One training at a time per app: a second Start waits with its place shown, can leave the line, and predictions
keep being answered meanwhile."""
import threading
import time

import gradio as gr
import pytest
from gradio_client import Client, handle_file

from gui.progress import in_line
from gui.queue import TrainingQueue
from gui.tabs.runs_continue import continue_stream


def test_tickets_train_one_at_a_time_first_come_first_served():
    line, stop = TrainingQueue(guess_s=120), threading.Event()
    first, second, third = line.join(), line.join(), line.join()
    assert list(line.wait(first, stop)) == []  # the front ticket trains at once
    assert line.busy()
    line.report(first, 90.0)
    (standing,) = [s for _, s in zip(range(1), line.wait(third, stop))]
    assert standing.place == 3 and standing.eta_s == pytest.approx(90.0 + 90.0, abs=1)  # its ETA + a typical run
    assert line.standing(second).place == 2
    line.leave(first)
    assert line.standing(second) is None  # now it trains
    assert line.standing(third).place == 2


def test_stop_leaves_the_line_and_the_next_one_moves_up():
    line = TrainingQueue()
    front, waiter, behind = line.join(), line.join(), line.join()
    assert line.standing(front) is None
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    places = [s.place for s in line.wait(waiter, stop, poll_s=0.05)]
    assert places and set(places) == {2} and time.monotonic() - started < 2
    assert len(line) == 2 and line.standing(behind).place == 2


def test_the_place_and_wait_in_words():
    assert in_line(2, 125) == "second in line, about 2 min"
    assert in_line(3, 20) == "third in line, under a minute"
    assert in_line(12, 600).startswith("number 12 in line")


def _until(job, text: str, timeout: float = 60.0) -> list:
    """The job's latest update once one of its fields holds `text`; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for update in reversed(job.outputs()):
            if any(text in str(field) for field in update):
                return update
        if job.done():
            raise AssertionError(f"ended without {text!r}: {job.outputs()[-1:]}")
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} within {timeout} s: {job.outputs()[-1:]}")


class _Follow:
    """A streaming handler run on a thread of the test, its updates kept as they come."""

    def __init__(self, updates):
        self.updates: list = []
        self.thread = threading.Thread(target=self._follow, args=(updates,), daemon=True)
        self.thread.start()

    def _follow(self, updates) -> None:
        for update in updates:
            self.updates.append(update)

    def until(self, text: str, timeout: float = 60.0) -> tuple:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [u for u in self.updates if any(text in str(field) for field in u)]
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} within {timeout} s: {self.updates[-1:]}")


def test_a_second_start_waits_in_line_then_leaves_and_predictions_go_on(served_app, tiny_dataset, frozen_run):
    demo, ctx = served_app
    run_dir = frozen_run.copy_into(ctx.runs_dir)
    owner, visitor, other = (Client(demo.local_url, verbose=False) for _ in range(3))
    training = owner.submit(dataset=str(tiny_dataset), freeze="frozen", epochs=400, patience=0, api_name="/train")
    _until(training, "Epoch 1:")
    second = visitor.submit(dataset=str(tiny_dataset), freeze="frozen", epochs=2, patience=0, api_name="/train")
    waiting = _until(second, "second in line")
    assert "Another training is running" in waiting[-1]
    # The Runs tab's Continue joins the same line (called here as its handler is: /continue_run's run picker
    # only takes the runs the page listed when it loaded).
    continued = continue_stream(ctx, run_dir.name, 2, gr.Request(session_hash="other-page"))
    third = _Follow(continued)
    third.until("third in line")

    asked = time.monotonic()
    image = min((tiny_dataset / "valid" / "circle").iterdir())
    label = other.predict(image=handle_file(str(image)), run=run_dir.name, api_name="/predict")
    assert label["label"] and time.monotonic() - asked < 30
    assert not training.done(), "the prediction was answered while the training ran"

    assert visitor.predict(api_name="/stop").startswith("Stopping")
    assert second.result()[-1] == "Left the line before starting: nothing was trained."
    third.until("second in line")  # it moved up
    assert ctx.request_stop("train", "other-page")  # its page's Stop
    assert third.until("nothing was trained")[-1] == "Left the line before starting: nothing was trained."
    owner.predict(api_name="/stop")
    assert training.result()[-1].startswith("Stopped in ")
    assert len(ctx.trainings) == 0 and len(ctx.runs()) == 2  # the copied run and the one trained; no third
