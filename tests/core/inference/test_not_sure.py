"""The run's "not sure" threshold is honoured everywhere a prediction leaves the app: the Predictor, the CLI, the
HTTP endpoint and the Predict tab; training leaves the calibration of its best checkpoint beside it."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.inference.predict import load_predictor
from core.runstore.folder import RunFolder

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def run_dir(frozen_run, tmp_path):
    return frozen_run.copy_into(tmp_path / "runs")


def test_training_leaves_a_calibration_that_belongs_to_its_checkpoint(run_dir):
    temperature, threshold = RunFolder(run_dir).read_calibration()
    assert temperature > 0 and 0 < threshold < 1
    predictor = load_predictor(run_dir)
    assert (predictor.temperature, predictor.threshold) == (temperature, threshold)
    (run_dir / "best.pt").touch()  # another checkpoint: that calibration no longer applies
    assert RunFolder(run_dir).read_calibration() is None and load_predictor(run_dir).threshold is None


@pytest.mark.parametrize("threshold, not_sure", [(0.0, False), (1.01, True)])
def test_the_threshold_decides_the_cli_answer(run_dir, tiny_dataset, threshold, not_sure):
    RunFolder(run_dir).write_calibration(1.0, threshold)
    image = next((tiny_dataset / "valid" / "star").iterdir())
    assert load_predictor(run_dir).answer([image])[0].sure is not not_sure
    out = subprocess.run([sys.executable, "-m", "core", "predict", "--run", str(run_dir), str(image)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["not_sure"] is not_sure


def test_the_http_endpoint_and_the_predict_tab_say_not_sure_below_the_threshold(served_app, frozen_run, tiny_dataset):
    import httpx
    from gradio_client import Client, handle_file

    from gui.tabs.predict import _answers

    demo, ctx = served_app
    run = frozen_run.copy_into(ctx.runs_dir)
    image = next((tiny_dataset / "valid" / "circle").iterdir())
    for threshold, not_sure in ((0.0, False), (1.01, True)):
        RunFolder(run).write_calibration(1.0, threshold)
        reply = httpx.post(demo.local_url + "api/v1/predict", content=image.read_bytes(), timeout=60).json()
        assert reply["not_sure"] is not_sure and reply["top"][0]["label"] == "circle"
        ((result, sure),) = _answers(ctx, None, [str(image)])
        assert sure is not not_sure and max(result, key=result.get) == "circle"
        answer = Client(demo.local_url, verbose=False).predict(image=handle_file(str(image)), api_name="/answer")
        assert answer["not_sure"] is not_sure and answer["top"][0]["label"] == "circle"


def test_a_stopped_run_still_leaves_the_calibration_of_the_checkpoint_it_kept(tiny_dataset, tmp_path):
    import threading

    from core import EpochDone, RunFinished, TrainConfig, train

    stop = threading.Event()
    for event in train(TrainConfig(data=str(tiny_dataset), out=str(tmp_path), freeze="frozen", epochs=50,
                                   image_size=64), stop):
        if isinstance(event, EpochDone) and event.epoch == 2:
            stop.set()
    assert isinstance(event, RunFinished) and event.stopped
    assert RunFolder(event.run_dir).read_calibration() is not None
