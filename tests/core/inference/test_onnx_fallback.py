"""When a run cannot be exported to ONNX, prediction says so once in the app's log and answers from PyTorch."""
import logging

import pytest

import core.models.onnx as onnx
from core.inference.predict import load_predictor


@pytest.fixture
def run_dir(frozen_run):
    return frozen_run.run_dir


def test_an_export_failure_is_logged_with_its_reason_and_prediction_falls_back(run_dir, tiny_dataset, tmp_path,
                                                                             monkeypatch, caplog):
    def broken_export(*args, **kwargs):
        raise RuntimeError("this exporter cannot handle that layer")

    monkeypatch.setattr(onnx, "export_onnx", broken_export)
    monkeypatch.setenv("TRANSFER_STUDIO_CACHE", str(tmp_path))  # nothing exported there yet
    with caplog.at_level(logging.WARNING, logger="core.inference.predict"):
        predictor = load_predictor(run_dir)
    assert predictor.engine == "pytorch" and "cannot handle that layer" in predictor.note
    logged = [r for r in caplog.records if "cannot handle that layer" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.WARNING
    image = next((tiny_dataset / "valid" / "star").iterdir())
    top = predictor.predict([image], k=4)[0]
    assert sorted(label for label, _ in top) == ["circle", "square", "star", "triangle"]
    assert sum(p for _, p in top) == pytest.approx(1.0, abs=1e-4)


def test_without_a_failure_prediction_runs_on_onnx_runtime_and_says_nothing(run_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="core.inference.predict"):
        predictor = load_predictor(run_dir)
    assert predictor.engine == "onnxruntime" and predictor.note == "" and not caplog.records
