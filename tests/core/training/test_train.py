import json
import threading
from pathlib import Path

import pytest
import torch

from core import EpochDone, Message, RunFinished, RunStarted, StepDone, TrainConfig, train
from core.data.scan import scan_dataset
from core.inference.predict import load_predictor
from core.models.classifier import build_classifier
from core.runstore.checkpoint import load_checkpoint


def _config(data, tmp_path, **overrides) -> TrainConfig:
    return TrainConfig(data=str(data), out=str(tmp_path / "runs"), **{"freeze": "frozen", "patience": 0, **overrides})


def _bn_buffers(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items() if "running_" in k or "num_batches" in k}


def _valid_accuracy_of_predictions(run_dir, data) -> tuple[float, int]:
    """Accuracy of the run's predictor on the dataset's validation images, and how many there are."""
    images = sorted(Path(data).glob("valid/*/*"))
    tops = load_predictor(run_dir).predict(images, k=1)
    return sum(top[0][0] == image.parent.name for top, image in zip(tops, images)) / len(images), len(images)


def test_frozen_training_learns_and_writes_a_complete_run_folder(frozen_run):
    events, finished = frozen_run
    assert isinstance(events[0], RunStarted) and isinstance(finished, RunFinished)
    steps = [e.step for e in events if isinstance(e, StepDone)]
    assert steps == list(range(1, len(steps) + 1))
    assert not finished.stopped and finished.epochs_run == 10
    assert finished.best_valid_acc >= 0.75, finished  # 4 classes: chance is 0.25

    run_dir = frozen_run.run_dir
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 10
    kinds = [json.loads(line)["event"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished" and kinds.count("EpochDone") == 10
    ckpt = load_checkpoint(run_dir / "best.pt")
    assert ckpt["classes"] == ["circle", "square", "star", "triangle"]
    assert ckpt["preprocess"]["image_size"] == 224 and ckpt["valid_acc"] == finished.best_valid_acc
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "finished"


def test_frozen_backbone_batchnorm_statistics_stay_bit_identical(frozen_run):
    trained = build_classifier("efficientnet_lite0", 4, True, 224, pretrained=False)
    trained.load_state_dict(load_checkpoint(frozen_run.finished.checkpoint)["state_dict"])
    pretrained = build_classifier("efficientnet_lite0", 4, True, 224)
    before, after = _bn_buffers(pretrained.backbone), _bn_buffers(trained.backbone)
    assert before.keys() == after.keys() and len(before) > 100
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(torch.equal(a, b) for a, b in zip(pretrained.backbone.parameters(), trained.backbone.parameters()))


def test_frozen_classifier_keeps_backbone_in_eval_mode_and_without_gradients():
    model = build_classifier("efficientnet_lite0", 3, True, 64)
    model.train()
    assert model.head.training
    assert not any(m.training for m in model.backbone.modules())
    assert not any(p.requires_grad for p in model.backbone.parameters())
    before = _bn_buffers(model.backbone)
    model(torch.randn(4, 3, 64, 64)).sum().backward()
    assert all(torch.equal(before[k], v) for k, v in _bn_buffers(model.backbone).items())
    assert all(p.grad is None for p in model.backbone.parameters())

    torch.nn.Module.train(model)  # the naive recipe: frozen parameters, but the whole model in train mode
    model(torch.randn(4, 3, 64, 64))
    assert not all(torch.equal(before[k], v) for k, v in _bn_buffers(model.backbone).items())


def test_stop_after_an_epoch_keeps_the_best_checkpoint_loadable(tiny_dataset, tmp_path):
    stop = threading.Event()
    events = []
    for event in train(_config(tiny_dataset, tmp_path, epochs=50), stop):
        events.append(event)
        if isinstance(event, EpochDone) and event.epoch == 2:
            stop.set()
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.stopped and finished.epochs_run == 2
    ckpt = load_checkpoint(finished.checkpoint)
    assert ckpt["epoch"] == finished.best_epoch <= 2 and ckpt["valid_acc"] == finished.best_valid_acc
    accuracy, n = _valid_accuracy_of_predictions(finished.run_dir, tiny_dataset)
    assert abs(accuracy - ckpt["valid_acc"]) <= 1 / n, "the loaded model is the one that was validated"


def test_fine_tuning_stopped_mid_epoch_still_saves_a_validated_checkpoint(tiny_dataset, tmp_path):
    stop = threading.Event()
    events = []
    config = _config(tiny_dataset, tmp_path, freeze="finetune", epochs=5, batch=8, image_size=96)
    for event in train(config, stop):
        events.append(event)
        if isinstance(event, StepDone):
            stop.set()
    finished = events[-1]
    assert finished.stopped and finished.epochs_run == 1 and finished.checkpoint
    assert sum(isinstance(e, StepDone) for e in events) == 1
    ckpt = load_checkpoint(finished.checkpoint)
    pretrained = build_classifier("efficientnet_lite0", 4, False, 96).state_dict()
    moved = [k for k, v in ckpt["state_dict"].items() if k.startswith("backbone") and not torch.equal(v, pretrained[k])]
    assert moved, "fine-tuning should change backbone weights"


def test_closing_the_generator_ends_the_run_and_records_it(tiny_dataset, tmp_path):
    run = train(_config(tiny_dataset, tmp_path, epochs=50))
    for event in run:
        if isinstance(event, EpochDone):
            break
    run.close()
    (run_dir,) = list((tmp_path / "runs").iterdir())
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["event"] == "RunClosed"
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "stopped"
    assert load_predictor(run_dir).classes == ["circle", "square", "star", "triangle"]


def test_a_run_on_the_messy_folder_completes_and_skips_what_the_health_check_skips(tmp_path):
    from core.data.health import run_check
    from tests.messy import BAD, make_messy_dataset

    data = make_messy_dataset(tmp_path / "messy")
    events = list(train(_config(data, tmp_path, epochs=3, valid_fraction=0.25, seed=1)))
    finished = events[-1]
    assert isinstance(finished, RunFinished) and finished.checkpoint and finished.skipped == len(BAD)
    run_dir = Path(finished.run_dir)
    skipped = {Path(s["path"]).relative_to(data).as_posix(): s["reason"] for s in json.loads((run_dir / "skipped.json").read_text())}
    report = run_check(data, valid_fraction=0.25, seed=1, cache_dir=tmp_path / "cache")
    assert skipped == {s["path"]: s["reason"] for s in report.skipped}
    warnings = [e.text for e in events if isinstance(e, Message) and e.level == "warning"]
    assert any("truncated.jpg" in w and "truncated" in w for w in warnings)
    split = json.loads((run_dir / "split.json").read_text())
    assert split["layout"] == "flat" and split["seed"] == 1 and split["valid_fraction"] == 0.25
    valid = {path for path, _ in split["splits"]["valid"]}
    assert valid == {p.relative_to(data).as_posix() for p, _ in scan_dataset(data, 0.25, 1).splits["valid"]}
    assert {path.split("/")[0] for path in valid} == {"cat", "dog"}  # stratified: every class is validated


def test_invalid_settings_are_rejected_before_any_run_folder_is_made(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match="freeze"):
        next(train(_config(tiny_dataset, tmp_path, freeze="sometimes")))
    assert not (tmp_path / "runs").exists()


def test_a_crash_mid_run_leaves_the_last_good_checkpoint_loadable(tiny_dataset, tmp_path):
    import shutil

    data = tmp_path / "vanishing"
    shutil.copytree(tiny_dataset, data)
    run = train(_config(data, tmp_path, freeze="finetune", epochs=3, batch=8, image_size=96))
    for event in run:
        if isinstance(event, EpochDone):
            shutil.rmtree(data / "train")  # the disk goes away under a running fine-tune
            break
    with pytest.raises(RuntimeError, match="no training image could be read"):
        list(run)
    (run_dir,) = list((tmp_path / "runs").iterdir())
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["event"] == "RunFailed"
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"
    assert not list(run_dir.glob("*.tmp"))
    ckpt = load_checkpoint(run_dir / "best.pt")
    assert ckpt["epoch"] == 1, "the last epoch that finished"
    accuracy, n = _valid_accuracy_of_predictions(run_dir, tiny_dataset)
    assert abs(accuracy - ckpt["valid_acc"]) <= 1 / n, "the loaded model is the one that was validated"
