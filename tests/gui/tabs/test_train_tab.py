"""Train tab handler: a run, then the optional from-scratch comparison drawn on the same charts."""
import json
from dataclasses import replace
from types import SimpleNamespace

from core.events import EpochDone, Message, RunFinished, RunStarted, StepDone
from gui.form import DEFAULTS, FIELDS
from gui.tabs.train import BASELINES_DIR, log_line, stop_training, train_stream


def _settings(**changes) -> dict:
    values = {name: getattr(DEFAULTS, name) for name in FIELDS}
    values.update(augment=["flip"], **changes)
    return values


def _trace_names(figure) -> list[str]:
    return [trace.name for trace in figure.data]


def test_scratch_comparison_overlays_its_curves_and_keeps_newest_run_the_users(tiny_dataset, tmp_path):
    from gui import AppContext

    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    request = SimpleNamespace(session_hash="session")  # the handler reads only the session's id
    outputs = list(train_stream(ctx, str(tiny_dataset), 20, _settings(freeze="frozen", epochs=3, patience=0),
                                request, compare_scratch=True))
    bar, loss_fig, acc_fig, log, status = outputs[-1]
    assert 'width:100.0%' in bar and "<span>Finished</span>" in bar  # the user's run ended, whatever came after
    assert any("From scratch · Epoch" in update[0] for update in outputs)

    for figure in (loss_fig, acc_fig):
        names = _trace_names(figure)
        assert "valid (each epoch)" in names and "from scratch: valid" in names
        scratch = figure.data[names.index("from scratch: valid")]
        own = figure.data[names.index("valid (each epoch)")]
        assert len(scratch.x) == 3 and list(scratch.x) == list(own.x)  # same epochs on the same step axis
    scratch_acc = acc_fig.data[_trace_names(acc_fig).index("from scratch: valid")].y
    assert all(0 <= a <= 1 for a in scratch_acc)
    assert "For comparison, a small model that learned from zero" in status and "after 3 epoch(s)." in status
    assert status.startswith("Done in ")
    assert "From scratch: Run" in log

    own_runs = [p for p in (tmp_path / "runs").iterdir() if p.name != BASELINES_DIR]
    baselines = list((tmp_path / "runs" / BASELINES_DIR).iterdir())
    assert len(own_runs) == 1 and len(baselines) == 1
    config = json.loads((baselines[0] / "config.json").read_text())
    assert (config["backbone"], config["freeze"], config["epochs"]) == ("scratch_cnn", "finetune", 3)
    assert (baselines[0] / "split.json").read_text() == (own_runs[0] / "split.json").read_text()


def test_without_the_box_only_the_users_run_is_drawn(tiny_dataset, tmp_path):
    from gui import AppContext

    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    outputs = list(train_stream(ctx, str(tiny_dataset), 20, _settings(freeze="frozen", epochs=2, patience=0),
                                SimpleNamespace(session_hash="s")))
    _, loss_fig, _, _, status = outputs[-1]
    assert not any(name.startswith("from scratch") for name in _trace_names(loss_fig))
    assert "from scratch" not in status and not (tmp_path / "runs" / BASELINES_DIR).exists()


def test_a_backbone_whose_weights_go_missing_says_at_the_end_what_the_model_tab_says(tiny_dataset, tmp_path,
                                                                                     monkeypatch):
    from gui import AppContext, words
    from gui.tabs.model_tools import recipe_markdown

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    settings = _settings(backbone="resnet18", freeze="frozen", epochs=1)
    *_, status = list(train_stream(ctx, str(tiny_dataset), 20, settings, SimpleNamespace(session_hash="s")))[-1]
    before = recipe_markdown(ctx, str(tiny_dataset), 20, *settings.values())
    assert status == before and words.WEIGHTS_MISSING.format(sentence="").strip("; ") in status


def test_terminal_commands_repeat_the_choices_for_the_cli_and_torchrun(tiny_dataset, tmp_path):
    from gui import AppContext
    from gui.tabs.train import terminal_commands

    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    text = terminal_commands(ctx, str(tiny_dataset), 25, _settings(freeze="frozen", epochs=3))
    first, torchrun = text.splitlines()[0], text.splitlines()[-1]
    assert first.startswith(f"python -m core train --data {tiny_dataset}")
    assert "--freeze frozen --epochs 3" in first and "--valid-fraction 0.25" in first
    assert torchrun == "torchrun --nproc_per_node 2 -m core train " + first.removeprefix("python -m core train ")
    assert terminal_commands(ctx, "/etc", 20, _settings()).startswith("# ")


def _finished(**changes) -> RunFinished:
    values = dict(run_id="r1", run_dir="runs/r1", stopped=False, epochs_run=4, best_epoch=3, best_valid_acc=0.875,
                  checkpoint="best.pt", wall_s=12.4)
    return RunFinished(**{**values, **changes})


def test_log_lines_by_event_and_the_comparison_runs_own_words():
    started = RunStarted(run_id="r1", run_dir="runs/r1", classes=["a", "b"], train_size=40, valid_size=10, epochs=4,
                         steps_per_epoch=2, device="cpu", mode="frozen")
    assert log_line(started) == ("Run r1 started: 2 classes, 40 pictures to learn from and 10 held back to check it. "
                                 "It trains only the new head (the backbone stays frozen), on the processor (CPU).")
    on_gpu = replace(started, device="cuda:1", mode="two_stage")
    assert log_line(on_gpu).endswith("It trains the new head, then every layer, on the graphics card (GPU).")
    unknown = replace(started, device="xpu", mode="something_new")
    assert log_line(unknown).endswith("It trains something_new, on xpu.")  # core's own words where none fits
    epoch = EpochDone(epoch=2, step=4, train_loss=0.5, train_acc=0.75, valid_loss=0.25, valid_acc=1.0, is_best=True,
                      elapsed_s=1.0)
    assert log_line(epoch) == ("Epoch 2: 100.0% of the held-back pictures right, 75.0% of the training ones · "
                               "loss 0.250 (training 0.500) · best so far, saved")
    assert log_line(Message(text="Skipped x.jpg")) == "Skipped x.jpg"
    assert log_line(StepDone(epoch=1, step=1, total_steps=8, loss=1, acc=0, lr=0.1, images_per_s=0, eta_s=1)) is None
    assert log_line(_finished()) == ("Done in 12 s, after 4 epoch(s). The model got 87.5% of the held-back pictures "
                                     "right (best at epoch 3). It is saved as run r1. Try it in the Predict tab.")
    assert log_line(_finished(stopped=True)).startswith("Stopped in 12 s, after 4 epoch(s).")
    assert log_line(_finished(stopped=True, skipped=2)).endswith("2 file(s) skipped (see the Data tab).")
    assert log_line(_finished(best_valid_acc=None, best_epoch=None)).startswith("Stopped before the model")
    assert log_line(_finished(stopped=True), scratch=True) == (
        "From scratch: For comparison, a small model that learned from zero on the same pictures got 87.5% right "
        "(epoch 3, 12 s), stopped early.")
    assert log_line(epoch, scratch=True).startswith("From scratch: Epoch 2:")


def test_stop_without_a_run_says_nothing_is_training(tmp_path):
    from gui import AppContext

    ctx = AppContext(data_root=tmp_path, runs_dir=tmp_path / "runs", initial_dataset=tmp_path)
    request = SimpleNamespace(session_hash="s")
    assert stop_training(ctx, request) == "Nothing is training."
    with ctx.job("train", "s") as stop:
        assert stop_training(ctx, request).startswith("Stopping") and stop.is_set()
