"""The Evaluate tab's handlers: figures from a real run, the pictures behind a clicked cell, mistakes with Grad-CAM."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gui import AppContext
from gui.tabs.evaluate import (
    cell_pictures,
    confusion_table,
    diagnosis_markdown,
    evaluate_stream,
    mistake_pictures,
    summary_markdown,
)


@pytest.fixture
def evaluated(frozen_run, tiny_dataset, tmp_path):
    ctx = AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset)
    frozen_run.copy_into(ctx.runs_dir)
    updates = list(evaluate_stream(ctx, None, "valid"))
    return ctx, updates[-1][1]


def test_the_figures_and_the_matrix_come_from_the_run(evaluated):
    ctx, evaluation = evaluated
    assert "Validation images" in summary_markdown(evaluation) and "accuracy" in summary_markdown(evaluation)
    table = confusion_table(evaluation, False)
    assert [row[0] for row in table] == evaluation.predictions.classes
    assert sum(sum(row[1:]) for row in table) == 20  # 5 validation pictures of each of 4 classes
    assert all(row[1:].count("100%") <= 1 for row in confusion_table(evaluation, True))
    assert diagnosis_markdown(evaluation, ctx.runs()[0].path).startswith("- ")


def test_a_clicked_cell_shows_exactly_the_pictures_behind_it(evaluated):
    ctx, evaluation = evaluated
    matrix = evaluation.confusion()
    for row in range(len(matrix)):
        for column in range(len(matrix)):
            shown, said = cell_pictures(ctx, evaluation, row, column + 1)  # column 0 names the true class
            expected = {p for p, _ in evaluation.cell(row, column)}
            assert {p for p, _ in shown} == expected and len(shown) == matrix[row, column]
            assert said == ("" if expected else "No picture in that cell.")


def test_pictures_outside_the_served_folders_are_named_not_shown(evaluated, tmp_path):
    _, evaluation = evaluated
    elsewhere = AppContext(data_root=tmp_path / "other", runs_dir=tmp_path / "runs", initial_dataset=tmp_path / "other")
    row = int(np.argmax(evaluation.confusion().diagonal()))
    shown, said = cell_pictures(elsewhere, evaluation, row, row + 1)
    assert shown == [] and "outside the folders this app serves" in said


def test_mistakes_can_be_drawn_with_where_the_model_looked(evaluated):
    ctx, evaluation = evaluated
    plain = mistake_pictures(ctx, evaluation, False)
    with_cam = mistake_pictures(ctx, evaluation, True)
    assert plain and [c for _, c in plain] == [c for _, c in with_cam]
    assert isinstance(plain[0][0], str) and Path(plain[0][0]).is_file()
    assert isinstance(with_cam[0][0], Image.Image) and with_cam[0][0].size == (224, 224)


def test_a_threshold_the_user_picks_is_stored_with_the_run_and_prediction_honours_it(evaluated):
    from core.inference.predict import load_predictor
    from gui.tabs.evaluate import coverage_figure, reliability_figure, save_threshold, threshold_effect

    ctx, evaluation = evaluated
    assert threshold_effect(evaluation, 0.0)["coverage"] == 1.0
    strict = threshold_effect(evaluation, 0.999)
    assert strict["coverage"] <= 1.0 and reliability_figure(evaluation).data and coverage_figure(evaluation, 0.5).data
    assert "not sure" in save_threshold(ctx, evaluation, 0.99)
    predictor = load_predictor(ctx.runs()[0].path)
    assert predictor.threshold == 0.99 and predictor.temperature == evaluation.calibration.temperature


def test_the_predict_tab_shows_where_the_model_looked_and_says_not_sure_below_the_threshold(evaluated, tiny_dataset):
    from core.runstore.folder import RunFolder
    from gui.tabs.predict import looked_at, sure_note

    ctx, evaluation = evaluated
    picture = str(next((tiny_dataset / "valid" / "star").iterdir()))
    assert looked_at(ctx, picture, None).size == (224, 224)
    run = ctx.runs()[0].path
    RunFolder(run).write_calibration(1.0, 1.01)
    assert "Not sure" in sure_note(ctx, picture, None)
    RunFolder(run).write_calibration(1.0, 0.0)
    assert sure_note(ctx, picture, None) == ""


def test_the_heatmap_shows_the_same_matrix(evaluated):
    from gui.tabs.evaluate import confusion_figure

    _, evaluation = evaluated
    heat = confusion_figure(evaluation, False).data[0]
    assert heat.z.tolist() == evaluation.confusion().tolist() and list(heat.x) == evaluation.predictions.classes
