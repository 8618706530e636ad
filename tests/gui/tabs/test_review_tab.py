"""The Review tab's handlers on real kept pictures and a private copy of a run and its dataset: review order,
ticking by a click, filing into the dataset and undoing it, verdicts, training again with the filed pictures, and
the field report."""
import shutil
from types import SimpleNamespace

import pytest

from core.runstore.folder import RunFolder
from core.runstore.relocate import relocate
from core.runstore.table import read_record
from gui import words
from gui.tabs import review, review_learn


@pytest.fixture
def review_ctx(frozen_run, tiny_dataset, tmp_path):
    from gui import AppContext

    data = shutil.copytree(tiny_dataset, tmp_path / "data" / "shapes")
    run = frozen_run.copy_into(tmp_path / "runs")
    relocate(run, data, tmp_path / "runs", {})
    ctx = AppContext(data_root=tmp_path / "data", runs_dir=tmp_path / "runs", initial_dataset=data,
                     cache_dir=tmp_path / "cache", keep_predictions=True)
    predictor = ctx.predictors.get(run)
    for name in ("circle", "square", "star"):
        picture = min((data / "valid" / name).iterdir())
        answer = predictor.answer([picture])[0]
        ctx.keeper.keep(picture, run.name, answer.top, True, "predict")  # answered sure
    odd = min((data / "valid" / "triangle").iterdir())
    ctx.keeper.keep(odd, run.name, [("circle", 0.4), ("triangle", 0.35), ("star", 0.25)], False, "webcam")
    return ctx, run, data


def test_not_sure_pictures_come_first_and_a_click_ticks_one(review_ctx):
    ctx, run, _ = review_ctx
    said, gallery, box, order = review.refresh(ctx, "")
    kept = {p.id: p for p in ctx.keeper.store().list()}
    assert len(gallery) == len(order) == 4 and kept[order[0]].not_sure and not kept[order[1]].not_sure
    assert gallery[0][1].startswith(words.REVIEW_NOT_SURE_MARK) and "4 picture(s) kept" in said
    ticked, path, facts, classes = review.select(ctx, 0, order, [])
    assert ticked == [order[0]] and path == str(kept[order[0]].path) and "webcam" in facts
    assert classes.choices and {c for c, _ in classes.choices} == {"circle", "square", "star", "triangle"}
    assert review.select(ctx, 0, order, ticked)[0] == []  # a second click unticks it


def test_filing_puts_the_picture_in_the_class_folder_undo_takes_it_back_and_training_learns_it(review_ctx):
    ctx, run, data = review_ctx
    _, _, _, order = review.refresh(ctx, "")
    doubtful = order[0]
    said, box = review.file_as(ctx, [doubtful], "triangle", "")
    filed = data / "train" / "triangle" / f"field-{doubtful}.jpg"
    assert filed.is_file() and "Filed 1 picture(s) as triangle" in said and box == ""
    assert review.mark(ctx, [doubtful], "right") == words.WARN.format(words.REVIEW_FILED_FIRST.format(count=1))
    assert review_learn.waiting(ctx, run.name) == [(filed.resolve(), "triangle")]
    assert review.undo_filing(ctx).startswith("Undone") and not filed.exists()
    assert ctx.keeper.store().get(doubtful).verdict is None and review_learn.waiting(ctx, run.name) == []

    review.file_as(ctx, [doubtful], "triangle", "")
    assert review.mark(ctx, order[1:3], "right") == words.REVIEW_DONE_RIGHT.format(count=2)
    assert review.mark(ctx, [order[3]], None) == words.REVIEW_DONE_DELETE.format(count=1)
    assert review.mark(ctx, [], "right") == words.WARN.format(words.REVIEW_PICK_FIRST)
    text, chart, rows = review_learn.report_parts(ctx, run.name)
    assert "Of the 3 picture(s) you reviewed, it had **2** right" in text and chart is not None
    assert sum(row[1] for row in rows) == 3

    request = SimpleNamespace(session_hash="review-test")
    updates = list(review_learn.train_again_stream(ctx, run.name, 1, request))
    assert "Finished" in updates[-1][-1] or "finished" in updates[-1][-1], updates[-1]
    assert read_record(run).field_pictures == 1 and review_learn.waiting(ctx, run.name) == []
    assert review.undo_filing(ctx).startswith("Undone") and not filed.exists()  # after it learned from it:
    assert read_record(run).field_pictures == 0  # out of its split too, so that it can be continued again
    assert all(path.exists() for path, _ in RunFolder(run).dataset_index().splits["train"])
