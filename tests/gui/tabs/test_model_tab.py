"""Model tab handlers: the recipe sentence, the summary and the LR finder, on real data and the real model."""
import threading

from core.config import FREEZE_MODES
from gui.form import DEFAULTS, FIELDS, config_from_inputs
from gui.tabs.model_tools import find_lr_stream, recipe_markdown, summary_markdown


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
    assert recipe_markdown(ctx, str(tiny_dataset), 20, *_values()).startswith("Recipe: top layers")
    assert "40 training images" in recipe_markdown(ctx, str(tiny_dataset), 20, *_values())
    assert recipe_markdown(ctx, str(tiny_dataset), 20, *_values(freeze="frozen")).startswith(
        f"Recipe: {FREEZE_MODES['frozen'].title}, as chosen")
    assert "choose a dataset in the Data tab" in recipe_markdown(ctx, "", 20, *_values())
    assert "nothing to freeze" in recipe_markdown(ctx, str(tiny_dataset), 20,
                                                  *_values(backbone="scratch_cnn", freeze="frozen"))


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
    assert "width:100.0%" in progress and "Reading images through the frozen backbone" in updates[-2][0]
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
