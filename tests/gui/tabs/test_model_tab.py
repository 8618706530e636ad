"""Model tab handlers: the recipe sentence, the summary and the LR finder, on real data and the real model."""
import threading

import pytest

from core.config import FREEZE_MODES
from gui import words
from gui.form import DEFAULTS, FIELDS, config_from_inputs
from gui.tabs.model_tools import (
    _planned,
    find_lr_stream,
    plain_duration,
    recipe_markdown,
    run_seconds,
    summary_markdown,
)


def _values(**changes) -> list:
    values = {name: getattr(DEFAULTS, name) for name in FIELDS}
    values["augment"] = ["flip", "crop"]
    values.update(changes)
    return [values[name] for name in FIELDS]


def _ctx(tiny_dataset, tmp_path):
    from gui import AppContext

    return AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)


def test_empty_boxes_mean_automatic_and_checkboxes_become_the_augment_string():
    config = config_from_inputs("d", 25, "runs", dict(zip(FIELDS, _values(epochs=None, lr=0, augment=[]))))
    assert config.epochs is None and config.lr is None and config.augment == "none" and config.valid_fraction == 0.25
    config = config_from_inputs("d", 20, "runs", dict(zip(FIELDS, _values(epochs=7.0, lr=0.01, batch=16.0))))
    assert (config.epochs, config.lr, config.batch) == (7, 0.01, 16)


def test_recipe_sentence_follows_the_data_and_the_choices(tiny_dataset, tmp_path):
    ctx = _ctx(tiny_dataset, tmp_path)
    automatic = recipe_markdown(ctx, str(tiny_dataset), 20, *_values())
    sentence, fold = automatic.split("\n\n", 1)
    assert sentence.startswith("**Recommended for your 60 pictures:**") and "on this computer." in sentence
    assert any(text.format(minutes=1, hours=1) in sentence for _, text in words.DURATIONS)
    assert sentence.endswith(" if your pictures turn out hard.") and " Up to " in sentence  # the deeper stage, maybe
    best = recipe_markdown(ctx, str(tiny_dataset), 20, *_values(freeze="deep")).split("\n\n", 1)[0]
    assert best.startswith("**With your changes (what trains)") and "turn out hard" not in best  # it always runs
    assert fold.startswith("<details><summary>Details</summary>") and fold.endswith("</details>")
    assert "Recipe: top layers" in fold and "40 training images" in fold  # the exact recipe, under the fold
    frozen = recipe_markdown(ctx, str(tiny_dataset), 20, *_values(freeze="frozen"))
    assert frozen.startswith("**With your changes (what trains), for your 60 pictures:**")
    assert f"Recipe: {FREEZE_MODES['frozen'].title}, as chosen" in frozen
    changed = recipe_markdown(ctx, str(tiny_dataset), 20, *_values(epochs=4.0, lr=0.01, augment=["crop", "flip"]))
    assert changed.startswith("**With your changes (the epochs, the learning rate), for your 60 pictures:**")
    assert "Choose a folder of pictures in the Data tab" in recipe_markdown(ctx, "", 20, *_values())
    assert "nothing to freeze" in recipe_markdown(ctx, str(tiny_dataset), 20,
                                                  *_values(backbone="scratch_cnn", freeze="frozen"))


@pytest.mark.parametrize("seconds, text", [(3, "less than a minute"), (44, "less than a minute"),
                                           (60, "about 1 minute"), (100, "about 2 minutes"),
                                           (3000, "about 50 minutes"), (4000, "about 1 hour"),
                                           (9000, "about 2 hours")])
def test_the_run_length_in_words(seconds, text):
    assert plain_duration(seconds) == text


def test_the_estimate_grows_with_the_work(tiny_dataset, tmp_path, two_cores):
    """The tiny set's one click (top layers) is priced at seconds on 2 cores; two-stage costs more, and more epochs
    of it more again, while reading each picture once costs the same in both."""
    ctx, settings = _ctx(tiny_dataset, tmp_path), dict(zip(FIELDS, _values()))
    automatic = _planned(ctx, str(tiny_dataset), 20, settings)
    short, long = (_planned(ctx, str(tiny_dataset), 20, {**settings, "freeze": "two_stage", "epochs": epochs})
                   for epochs in (4, 22))
    assert 1 < run_seconds(automatic) < 45 and run_seconds(automatic) < run_seconds(short) < run_seconds(long)
    assert automatic.plan.deeper_s > 0  # what "up to" adds: the deeper stage, where the pictures turn out hard
    reading = [run_seconds(p) - p.plan.finetune_s for p in (short, long)]
    assert reading[0] == pytest.approx(reading[1]) and reading[0] > 0
    assert long.plan.finetune_s == pytest.approx(short.plan.finetune_s * 11 / 2)  # 11 epochs of every layer, not 2


def test_a_backbone_whose_weights_are_missing_is_named_with_its_file(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    text = recipe_markdown(_ctx(tiny_dataset, tmp_path), str(tiny_dataset), 20, *_values(backbone="resnet50"))
    assert "resnet50-11ad3fa6.pth" in text and "98 MB" in text and str(tmp_path / "torch") in text


def test_summary_and_lr_finder_panels(tiny_dataset, tmp_path):
    ctx = _ctx(tiny_dataset, tmp_path)
    text = summary_markdown(ctx, str(tiny_dataset), 20, *_values(head="mlp", hidden=64, image_size=96))
    assert text.startswith("**") and f"{1280 * 64 + 64 + 64 * 4 + 4:,} trainable in stage 1" in text
    updates = list(find_lr_stream(ctx, str(tiny_dataset), 20, *_values(freeze="frozen", image_size=64)))
    progress, figure, sentence, suggestion = updates[-1]
    assert "width:100.0%" in progress and "Reading each picture once with the starting model" in updates[-2][0]
    assert "Suggested learning rate" in sentence and 1e-6 < suggestion < 1
    assert figure.layout.xaxis.type == "log" and len(figure.data[0].x) >= 10


def test_the_lr_finder_waits_for_no_training(tiny_dataset, tmp_path):
    ctx = _ctx(tiny_dataset, tmp_path)
    ticket = ctx.trainings.join()
    next(ctx.trainings.wait(ticket, threading.Event()), None)  # at the front: it trains now
    try:
        assert ctx.trainings.busy()
        (_, _, sentence, suggestion), = find_lr_stream(ctx, str(tiny_dataset), 20, *_values(freeze="frozen"))
        assert "A training is running" in sentence and suggestion is None
    finally:
        ctx.trainings.leave(ticket)
