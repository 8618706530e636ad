"""The Runs tab's handlers on real runs: the table and its filter, runs side by side, two compared picture by picture,
deleting (only when confirmed, never a training run), more epochs, an export and a project round trip."""
import json
import zipfile
from types import SimpleNamespace

import pytest

from core.runstore.log import read_curves
from core.runstore.table import run_records
from gui import AppContext
from gui.tabs.runs import (
    ask_delete,
    confirm_delete,
    dataset_choices,
    open_run,
    overlay,
    refreshed,
    save_label,
    table_rows,
)
from gui.tabs.runs_compare import compare_stream
from gui.tabs.runs_continue import continue_stream
from gui.tabs.runs_share import export, open_zip, save


@pytest.fixture
def ctx(tiny_dataset, tmp_path) -> AppContext:
    return AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)


@pytest.fixture
def two_runs(ctx, frozen_run, two_stage_run) -> tuple[str, str]:
    """Private copies of both shared runs (frozen: 10 epochs; two-stage: 3) in the app's runs folder."""
    frozen_run.copy_into(ctx.runs_dir)
    two_stage_run.copy_into(ctx.runs_dir)
    return frozen_run.run_id, two_stage_run.run_id


def test_the_table_has_a_row_per_run_and_filters_by_dataset(ctx, two_runs, frozen_run, tmp_path):
    elsewhere = ctx.runs_dir / "20200101-000000-other"  # a third run, on another dataset
    frozen_run.copy_into(tmp_path / "spare").rename(elsewhere)
    config = json.loads((elsewhere / "config.json").read_text())
    (elsewhere / "config.json").write_text(json.dumps({**config, "data": str(tmp_path / "flowers")}))

    records = run_records(ctx.runs_dir)
    rows = table_rows(records)
    assert sorted(row[-1] for row in rows) == sorted([*two_runs, elsewhere.name])
    frozen_row = next(row for row in rows if row[-1] == frozen_run.run_id)
    assert frozen_row[2] == "shapes" and frozen_row[4:6] == ["frozen", 10]
    assert frozen_row[6] == round(100 * frozen_run.finished.best_valid_acc, 1) and frozen_row[8] == "finished"
    choices = dataset_choices(records)
    assert [label for label, _ in choices] == ["All datasets", "flowers", "shapes"]
    shapes = dict(choices)["shapes"]
    assert sorted(row[-1] for row in table_rows(records, shapes)) == sorted(two_runs)
    assert [row[-1] for row in table_rows(records, str(tmp_path / "flowers"))] == [elsewhere.name]

    dataset, frame, opened, several, run_a, run_b = refreshed(ctx, shapes, "gone", [two_runs[0], "gone"], "gone",
                                                              None)
    assert len(frame) == 2 and dataset.value == shapes
    assert opened.value == records[0].run_id and several.value == [two_runs[0]]
    assert (run_a.value, run_b.value) == (records[1].run_id, records[0].run_id), "Compare starts on the newest two"
    kept = refreshed(ctx, shapes, None, [], records[2].run_id, records[1].run_id)
    assert (kept[4].value, kept[5].value) == (records[2].run_id, records[1].run_id), "a choice made stays"


def test_a_run_opens_with_its_curves_and_label_and_several_overlay_one_trace_each(ctx, two_runs):
    frozen, two_stage = two_runs
    assert save_label(ctx, two_stage, "small mlp", "96 px") == f"Saved the name and note of {two_stage}."
    assert save_label(ctx, "../etc", "x", "").startswith("⚠️")
    headline, loss, acc, config, evaluation, name, note = open_run(ctx, two_stage)
    assert "**small mlp**" in headline and (name, note) == ("small mlp", "96 px") and config["head"] == "mlp"
    assert [len(trace.x) for figure in (loss, acc) for trace in figure.data] == [3] * 4
    assert "Not evaluated" in evaluation
    assert acc.layout.shapes, "the switch to stage 2 is marked"

    acc_fig, loss_fig = overlay(ctx, [frozen, two_stage])
    for figure in (acc_fig, loss_fig):
        assert [trace.name for trace in figure.data] == [frozen, "small mlp"]
        assert [len(trace.y) for trace in figure.data] == [10, 3]
    assert list(acc_fig.data[0].y) == [p.valid_acc for p in read_curves(ctx.runs_dir / frozen).points]
    assert len(overlay(ctx, [frozen])[0].data) == 1 and len(overlay(ctx, [])[0].data) == 0


def test_the_comparison_says_what_compare_runs_found(ctx, two_runs):
    from core.evaluation.compare import RunDiff, compare_runs

    frozen, two_stage = two_runs
    last = list(compare_stream(ctx, frozen, two_stage))[-1]
    diff = next(item for item in compare_runs(ctx.runs_dir / frozen, ctx.runs_dir / two_stage)
                if isinstance(item, RunDiff))  # read back from the evaluations the handler cached
    _, sentence, per_class, settings, fixed, broken, note = last
    assert f"{len(diff.fixed)} picture(s) now right, {len(diff.broken)} now wrong" in sentence
    assert f"{diff.accuracy_a:.1%}" in sentence and f"{diff.accuracy_b:.1%}" in sentence
    assert [row[0] for row in per_class] == diff.classes and sum(row[1] for row in per_class) == diff.images == 20
    assert {row[0] for row in settings} >= {"freeze", "image_size", "head"}
    assert [path for path, _ in fixed] == [c.path for c in diff.fixed] and len(broken) == len(diff.broken)
    assert note == ""  # the pictures lie in the served data folder
    for (path, caption), change in zip(fixed + broken, diff.fixed + diff.broken):
        assert caption.startswith(f"true {change.true} · A said {change.predicted_a}")
    assert "Pick two different runs" in list(compare_stream(ctx, frozen, frozen))[-1][1]


def test_delete_needs_the_second_click_and_never_takes_a_training_run(ctx, two_runs):
    frozen, two_stage = two_runs
    sentence, pending = ask_delete(ctx, frozen)
    assert pending == frozen and f"Yes, delete {frozen}" in sentence and (ctx.runs_dir / frozen).is_dir()
    assert confirm_delete(ctx, None).startswith("⚠️") and (ctx.runs_dir / frozen).is_dir()

    with ctx.training_runs() as claim:  # as the Train tab does on RunStarted
        assert claim(two_stage) and two_stage in ctx.training_ids()
        assert ask_delete(ctx, two_stage) == ("⚠️ " + f"{two_stage} is training now; stop it before deleting it.",
                                              None)
        assert "training now" in confirm_delete(ctx, two_stage) and (ctx.runs_dir / two_stage).is_dir()
    assert ctx.training_ids() == frozenset()

    assert confirm_delete(ctx, pending) == f"Deleted run {frozen}."
    assert [r.run_id for r in run_records(ctx.runs_dir)] == [two_stage]
    with (ctx.runs_dir / two_stage / "metrics.jsonl").open("a") as log:  # trains in another process, by its log
        log.write(json.dumps({"event": "RunStarted", "run_id": two_stage}) + "\n")
    assert ask_delete(ctx, two_stage)[1] is None and (ctx.runs_dir / two_stage).is_dir()


def test_one_more_epoch_joins_the_old_curve_and_the_run_counts_as_training_meanwhile(ctx, two_runs):
    _, two_stage = two_runs
    request = SimpleNamespace(session_hash="s")
    seen_training = []
    for update in continue_stream(ctx, two_stage, 1, request):
        seen_training.append(two_stage in ctx.training_ids())
    bar, loss, acc, status = update
    assert seen_training[0] and ctx.training_ids() == frozenset()
    assert status.startswith(f"Finished: run {two_stage} has now trained 4 epoch(s)") and "100.0%" in bar
    for figure in (loss, acc):
        assert [list(trace.x) for trace in figure.data] == [[1, 2, 3, 4]] * 2  # 3 old epochs, then the new one
    assert [p.epoch for p in read_curves(ctx.runs_dir / two_stage).points] == [1, 2, 3, 4]

    resumed = list(continue_stream(ctx, two_stage, None, request))[-1][-1]
    assert resumed.startswith("⚠️") and two_stage in resumed  # nothing failed, so nothing to resume: core says why
    assert len(read_curves(ctx.runs_dir / two_stage).points) == 4
    assert list(continue_stream(ctx, two_stage, 0, request))[-1][-1].startswith("⚠️")
    with ctx.training_runs() as claim:
        claim(two_stage)
        assert "is training now" in list(continue_stream(ctx, two_stage, 1, request))[-1][-1]


def test_export_gives_a_zip_and_its_parity_in_words(ctx, two_runs):
    _, two_stage = two_runs
    path, sentence = export(ctx, two_stage, ["onnx", "torchscript"])
    assert path.endswith(f"{two_stage}.zip") and "predict.py" in zipfile.ZipFile(path).namelist()
    assert "ONNX Runtime and TorchScript agree with the app on 20 of 20 validation pictures" in sentence
    assert "largest probability difference 0.0000" in sentence
    assert export(ctx, two_stage, []) == (None, "⚠️ Tick at least one format.")
    assert export(ctx, None, ["onnx"])[1].startswith("⚠️")


def test_a_saved_project_opens_in_another_app_with_the_same_runs(ctx, two_runs, tmp_path):
    path, sentence = save(ctx, list(two_runs))
    assert path.endswith(".zip") and sentence.startswith("Saved 2 run(s) and 60 picture(s)")  # (10 train + 5 valid) × 4
    assert save(ctx, [])[0] is None

    other = AppContext(data_root=tmp_path / "other-data", runs_dir=tmp_path / "other-runs",
                       initial_dataset=tmp_path / "other-data")
    said = open_zip(other, path)
    assert said.startswith("Opened 2 run(s)") and str(other.data_root) in said
    before = {r.run_id: (r.best_valid_acc, r.epochs_run) for r in run_records(ctx.runs_dir)}
    after = {r.run_id: (r.best_valid_acc, r.epochs_run) for r in run_records(other.runs_dir)}
    assert after == before
    assert open_zip(other, str(tmp_path / "missing.zip")).startswith("⚠️")
