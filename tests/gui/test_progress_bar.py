"""The progress bar: what it says and how full it is for each event, and when a job counts as over."""
import re

import pytest

from core.events import CheckProgress, FeaturesProgress, Message, RunFinished, RunStarted, StageStarted, StepDone
from gui.progress import format_duration, progress_html, status_html

STARTED = RunStarted(run_id="r", run_dir="runs/r", classes=["a", "b"], train_size=40, valid_size=10, epochs=10,
                     steps_per_epoch=2, device="cpu", mode="two_stage")
STAGE = StageStarted(stage=2, name="every layer", epoch=4, step=6, lr=1e-4, text="Stage 2")


def _step(images_per_s: float, eta_s: float = 83) -> StepDone:
    return StepDone(epoch=3, step=5, total_steps=20, loss=0.5, acc=0.8, lr=1e-3, images_per_s=images_per_s,
                    eta_s=eta_s)


def _finished(stopped: bool) -> RunFinished:
    return RunFinished(run_id="r", run_dir="runs/r", stopped=stopped, epochs_run=3, best_epoch=2, best_valid_acc=0.9,
                       checkpoint=None, wall_s=12)


def _fill(html: str) -> float:
    return float(re.search(r"width:([\d.]+)%", html).group(1))


def _label(html: str) -> str:
    return re.search(r"<span>(.*)</span>", html).group(1)


def test_a_head_step_on_cached_features_says_so_instead_of_zero_images_per_second():
    html = progress_html(_step(images_per_s=0.0), STARTED)
    assert "pictures/s" not in _label(html) and "only the new head learns now" in _label(html)
    assert "1:23 left in all" in _label(html) and _fill(html) == 25.0


def test_a_step_through_the_backbone_shows_its_speed_epoch_and_stage():
    label = _label(progress_html(_step(images_per_s=41.6), STARTED, STAGE))
    assert label.startswith("Epoch 3/10 (stage 2: every layer) · step 5/20") and "42 pictures/s" in label


def test_the_run_is_over_when_its_event_says_so_not_when_a_sentence_sounds_like_it():
    for stopped, word in ((False, "Finished"), (True, "Stopped")):
        html = progress_html(_finished(stopped))
        assert _fill(html) == 100.0 and _label(html) == word
    assert _fill(status_html("Finished reading the folder")) == 0.0  # words alone never fill the bar
    assert _fill(status_html("Checked 12 files", done=True)) == 100.0


def test_passes_over_files_and_the_learning_rate_sweep():
    check = progress_html(CheckProgress(done=30, total=120, images_per_s=250, eta_s=0.4))
    assert _label(check) == "Checking pictures: 30/120 · 250 pictures/s · 0:00 left" and _fill(check) == 25.0
    reading = _label(progress_html(FeaturesProgress(done=10, total=40, images_per_s=0, eta_s=0, cached=10)))
    assert reading.startswith("Reading each picture once with the starting model: 10/40 (10 read before)")
    assert "pictures/s" not in reading  # nothing went through the backbone yet: no speed to show
    sweep = _label(progress_html(_step(images_per_s=90, eta_s=5)))  # no RunStarted: the LR finder
    assert sweep == "Trying learning rates: 5/20 · 0:05 left"


def test_the_comparison_run_is_named_and_other_events_leave_the_bar_waiting():
    assert _label(progress_html(_step(10), STARTED, what="From scratch")).startswith("From scratch · Epoch 3/10")
    for event in (None, Message(text="hello"), STARTED):
        assert _fill(progress_html(event)) == 0.0 and _label(progress_html(event)) == "Waiting to start"


def test_labels_are_escaped():
    assert "&lt;b&gt;" in status_html("<b>")


@pytest.mark.parametrize("seconds, text", [(0, "0:00"), (59.6, "1:00"), (83, "1:23"), (-3, "0:00"), (3600, "60:00")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
