"""Train tab handler: a run, then the optional from-scratch comparison drawn on the same charts."""
import json
from types import SimpleNamespace

from gui.form import DEFAULTS, FIELDS
from gui.tabs.train import BASELINES_DIR, train_stream


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
    _, loss_fig, acc_fig, log, status = outputs[-1]

    for figure in (loss_fig, acc_fig):
        names = _trace_names(figure)
        assert "valid (each epoch)" in names and "from scratch: valid" in names
        scratch = figure.data[names.index("from scratch: valid")]
        own = figure.data[names.index("valid (each epoch)")]
        assert len(scratch.x) == 3 and list(scratch.x) == list(own.x)  # same epochs on the same step axis
    scratch_acc = acc_fig.data[_trace_names(acc_fig).index("from scratch: valid")].y
    assert all(0 <= a <= 1 for a in scratch_acc)
    assert "For comparison, the small CNN trained from scratch" in status and "Finished after 3 epoch(s)" in status
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
