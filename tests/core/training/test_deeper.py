"""Best quality and the automatic recipe's deeper stage: everything above the registry's deeper cut trains on
activations cached there, from the best model so far; the automatic recipe runs it only where the curves say so."""
import json

import pytest
import torch

from core import RunFinished, TrainConfig, train
from core.events import Message, StageStarted
from core.models.backbones import get_backbone
from core.models.classifier import build_classifier
from core.models.split import split_backbone
from core.training import stages
from core.training.escalation import Decision
from core.training.resume import read_last
from core.training.stages import DEEPER, deep_classifier


@pytest.fixture(scope="module")
def deep_run(tiny_dataset, tmp_path_factory):
    """Best quality, chosen: 2 head epochs, 1 of the top layers, 2 of the deeper layers."""
    return list(train(TrainConfig(data=str(tiny_dataset), out=str(tmp_path_factory.mktemp("runs")), freeze="deep",
                                  epochs=5, stage1_epochs=2, image_size=96, patience=0)))


def test_best_quality_trains_the_top_then_the_deeper_layers_and_leaves_the_first_ones_as_pretrained(deep_run):
    finished = deep_run[-1]
    assert isinstance(finished, RunFinished) and finished.epochs_run == 5
    started = [(e.stage, e.name, e.epoch) for e in deep_run if isinstance(e, StageStarted)]
    assert started == [(2, "top layers", 3), (3, "deeper layers", 4)]
    said = [e.text for e in deep_run if isinstance(e, Message)]
    assert DEEPER["chosen"].format(epochs=2) in said
    assert any("where the deeper layers begin are kept too" in text for text in said)

    spec = get_backbone("efficientnet_lite0")
    last = read_last(finished.run_dir)
    assert last.part == "deep" and last.stage == 3 and last.stage_epochs == 2
    pretrained = build_classifier("efficientnet_lite0", 4, True, 96)
    trained = build_classifier("efficientnet_lite0", 4, True, 96)
    deep_classifier(trained, spec).load_state_dict(last.weights)
    below, above = split_backbone(spec, trained.backbone, spec.deep)
    below_0, above_0 = split_backbone(spec, pretrained.backbone, spec.deep)
    assert all(torch.equal(a, b) for a, b in zip(below.state_dict().values(), below_0.state_dict().values()))
    middle = [f"blocks.{i}." for i in range(0, 12 - 5)]  # blocks 5-11: above the deeper cut, below the top's
    start = above_0.state_dict()
    moved = {k for k, v in above.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, start[k])}
    assert any(k.startswith(tuple(middle)) for k in moved)  # only the deeper stage trains these


def test_a_deep_run_continues_in_its_deeper_stage(deep_run, tmp_path):
    import shutil

    from core.training.continued import continue_run

    run_dir = shutil.copytree(deep_run[-1].run_dir, tmp_path / "run")
    events = list(continue_run(run_dir, epochs=1))
    assert isinstance(events[-1], RunFinished) and events[-1].epochs_run == 6
    assert read_last(run_dir).part == "deep" and read_last(run_dir).stage_epochs == 3
    assert not [e for e in events if isinstance(e, StageStarted)]  # it goes on in stage 3, no stage starts


@pytest.mark.parametrize("decision, stages_run", [
    (Decision(False, "near_top", 0.98, 0.1, 0.01), [2]),  # the top layers get there: the run ends after them
    (Decision(True, "far", 0.3, 0.0, 0.2), [3]),  # the head alone is far below: straight to the deeper layers
])
def test_the_automatic_recipe_goes_as_deep_as_the_curves_say(decision, stages_run, tiny_dataset, tmp_path,
                                                             monkeypatch):
    """The decision itself is pinned on synthetic curves (test_escalation); here, what the run does with it."""
    monkeypatch.setattr(stages, "deeper_pays", lambda curve, n_valid: decision)
    monkeypatch.setattr(stages, "solved", lambda run: None)  # whatever the head gets on 20 pictures
    events = list(train(TrainConfig(data=str(tiny_dataset), out=str(tmp_path / "runs"), freeze="deep", epochs=5,
                                    stage1_epochs=2, image_size=96, patience=0, when_solved="skip")))
    finished = events[-1]
    assert [e.stage for e in events if isinstance(e, StageStarted)] == stages_run
    said = [e.text for e in events if isinstance(e, Message)]
    assert DEEPER[decision.why].format(acc=decision.best, epochs=2) in said
    assert finished.epochs_run == (3 if decision.why == "near_top" else 4)
    summary = json.loads((tmp_path / "runs" / finished.run_id / "summary.json").read_text())
    assert summary["status"] == "finished"
