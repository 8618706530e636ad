"""Fine-tuning the top layers on cached activations: the same loss and gradients as the whole model with its bottom
frozen, an activation cache that behaves like the feature cache and stays within its budget, and runs that train,
skip what cannot pay, and continue."""
import json
import os
import sqlite3

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from core import TrainConfig, train
from core.data.scan import scan_dataset
from core.events import Message, RunFinished, StageStarted
from core.models.backbones import get_backbone
from core.models.classifier import build_classifier
from core.models.split import split_backbone
from core.training.feature_store import ACTIVATIONS, FeatureStore
from core.training.features import FeatureSet, dataset_features
from core.training.recipes import DEEP_EPOCHS, deep_split, plan
from core.training.resume import read_last
from core.training.stages import top_classifier

SIZE = 64

pytestmark = pytest.mark.usefixtures("two_cores")  # the recipe priced for 2 cores


def _encoded(data, cache_dir, model=None, top=True, views=1):
    index = scan_dataset(data)
    config = TrainConfig(data=str(data), image_size=SIZE)
    spec = get_backbone("efficientnet_lite0")
    model = model or build_classifier(spec.name, len(index.classes), True, SIZE)
    items = list(dataset_features(spec, model.backbone, config, index.splits["train"], index.splits["valid"],
                                  torch.device("cpu"), views, store=FeatureStore(cache_dir), top=top))
    assert isinstance(items[-1], FeatureSet)
    return items[-1], index


def _loss_and_grads(module: nn.Module, x, y, trains: list[tuple[str, nn.Parameter]]):
    module.zero_grad(set_to_none=True)
    torch.manual_seed(7)  # drop-connect in the top's blocks and dropout in the head draw the same numbers
    loss = nn.functional.cross_entropy(module(x), y)
    loss.backward()
    return loss.item(), {name: p.grad.clone() for name, p in trains}


def test_cached_activations_give_the_loss_and_gradients_of_the_whole_model_with_its_bottom_frozen(tiny_dataset,
                                                                                                tmp_path):
    torch.manual_seed(0)
    model = build_classifier("efficientnet_lite0", 4, True, SIZE, dropout=0.2)
    encoded, index = _encoded(tiny_dataset, tmp_path, model)
    rows = encoded.positions < len(index.splits["train"])
    x_cached, y = encoded.activations[rows][:8].float(), encoded.labels[rows][:8]
    assert encoded.activations.dtype == torch.float16 and encoded.activations.shape[1:] == (192, 2, 2)

    top = top_classifier(model, get_backbone("efficientnet_lite0")).train()
    trains = [(n, p) for n, p in top.named_parameters()]
    cached_loss, cached_grads = _loss_and_grads(top, x_cached, y, trains)

    from core.data.images import load_image
    from core.data.transforms import eval_transform

    spec = get_backbone("efficientnet_lite0")
    plain = eval_transform(SIZE, spec.mean, spec.std)
    images = torch.stack([plain(load_image(path)) for path, _ in index.splits["train"][:8]])
    bottom, _ = split_backbone(spec, model.backbone)
    model.set_frozen(False)
    bottom.requires_grad_(False)
    model.train()
    bottom.eval()  # frozen: no drop-connect, BatchNorm statistics as pretrained
    whole_loss, whole_grads = _loss_and_grads(model, images, y, trains)

    assert cached_loss == pytest.approx(whole_loss, rel=2e-3)
    assert cached_grads.keys() == whole_grads.keys() and len(cached_grads) > 30
    flat = [torch.cat([g[name].flatten() for name in whole_grads]) for g in (cached_grads, whole_grads)]
    assert (flat[0] - flat[1]).norm() <= 0.01 * flat[1].norm()  # fp16 activations: rounding, nothing more
    for name, grad in whole_grads.items():
        assert nn.functional.cosine_similarity(cached_grads[name].flatten(), grad.flatten(), dim=0) > 0.995, name
    assert all(p.grad is None for p in bottom.parameters())


def test_the_activation_cache_is_reused_and_a_changed_file_is_encoded_again(tmp_path):
    from core.data.demo import make_shapes_dataset

    data = make_shapes_dataset(tmp_path / "shapes", train_per_class=3, valid_per_class=2, size=64)
    features_only, _ = _encoded(data, tmp_path / "cache", top=False)
    cold, _ = _encoded(data, tmp_path / "cache")
    assert cold.from_cache == 0  # features alone were cached: the activations were not
    assert torch.allclose(cold.features, features_only.features, atol=1e-4)
    warm, _ = _encoded(data, tmp_path / "cache")
    assert warm.from_cache == 20 and torch.equal(cold.activations, warm.activations)

    changed = next((data / "train" / "circle").iterdir())
    Image.new("RGB", (64, 64), (200, 30, 30)).save(changed)
    os.utime(changed, ns=(1, 1))
    after, _ = _encoded(data, tmp_path / "cache")
    assert after.from_cache == 19
    row = [path for path, _ in scan_dataset(data).splits["train"]].index(changed)
    assert not torch.equal(after.activations[row], cold.activations[row])
    assert FeatureStore(tmp_path / "cache", ACTIVATIONS).used_bytes() > 20 * 192 * 4 * 2


def _on_disk(store: FeatureStore) -> int:
    with sqlite3.connect(store.path) as db:  # the write-ahead log folded into the file first
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store.path.stat().st_size


def test_the_activation_cache_drops_the_rows_used_longest_ago_and_the_file_shrinks(tmp_path):
    store = FeatureStore(tmp_path, ACTIVATIONS)
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental: freed pages go back to the disk
    vector = np.ones(5000, np.float16)  # 10 KB
    for i in range(60):
        store.store("k", [(f"/data/{i}.png", "plain", (1, 1), vector * i)])
    wanted = [(f"/data/{i}.png", "plain", (1, 1)) for i in range(60)]
    assert len(store.lookup("k", wanted[:5])) == 5  # read just now: kept longest
    before = _on_disk(store)
    assert store.used_bytes() > 600_000 and before > 600_000
    dropped = store.trim(300_000)
    kept = store.lookup("k", wanted)
    assert 25 < dropped < 40 and store.used_bytes() <= 300_000
    assert set(range(5)) <= set(kept) and 59 in kept and 5 not in kept and kept[59][0] == 59
    assert _on_disk(store) <= 300_000 + 8 * 4096  # the file itself shrank, not only the rows


def test_an_activation_cache_of_an_earlier_layout_is_replaced(tmp_path):
    with sqlite3.connect(tmp_path / "activations.sqlite") as db:
        db.execute("CREATE TABLE activations_v1 (key TEXT, path TEXT, view TEXT, size INTEGER, mtime_ns INTEGER, "
                   "vector BLOB, UNIQUE (key, path, view))")
    store = FeatureStore(tmp_path, ACTIVATIONS)
    store.store("k", [("/data/a.png", "plain", (1, 1), np.ones(4, np.float16))])
    assert store.trim(0) == 1 and not (tmp_path / "activations.sqlite").exists()


def test_a_small_disk_budget_means_fewer_views_then_another_recipe(monkeypatch):
    counts = {"a": 100, "b": 100}
    per_image = get_backbone("efficientnet_lite0").top.bytes_per_image(224)
    monkeypatch.setenv("TRANSFER_STUDIO_ACTIVATION_MB", str(per_image * 450 / 2**20))  # room for 2 views + 40 valid
    chosen = plan(TrainConfig(data="x", freeze="top"), counts, "cpu", 40)
    assert chosen.config.views == 2 and "room for 2 version(s)" in chosen.reason
    monkeypatch.setenv("TRANSFER_STUDIO_ACTIVATION_MB", str(per_image * 100 / 2**20))
    with pytest.raises(ValueError, match="more than its cache may hold here .* TRANSFER_STUDIO_ACTIVATION_MB"):
        plan(TrainConfig(data="x", freeze="top"), counts, "cpu", 40)
    assert plan(TrainConfig(data="x"), counts, "cpu", 40).config.freeze == "two_stage"
    monkeypatch.setenv("TRANSFER_STUDIO_ACTIVATION_MB", str(per_image * 2000 / 2**20))  # the top's 4 views, not deeper
    assert plan(TrainConfig(data="x"), counts, "cpu", 40).config.freeze == "top"


def test_automatic_on_a_cpu_picks_the_top_layers_and_prices_both(monkeypatch):
    recipe = plan(TrainConfig(data="x"), {"a": 700, "b": 700}, "cpu", 350)
    cfg = recipe.config
    assert cfg.freeze == "deep" and cfg.stage1_epochs == 20 and cfg.epochs == 25 + DEEP_EPOCHS and cfg.views == 2
    assert deep_split(cfg.epochs - cfg.stage1_epochs) == (5, DEEP_EPOCHS)  # the top's epochs as before, then deeper
    assert "Fine-tuning every layer on 1400 training images" in recipe.reason
    assert "the second stage is skipped" in recipe.reason and cfg.when_solved == "skip"
    chosen = plan(TrainConfig(data="x", freeze="top"), {"a": 700, "b": 700}, "cpu", 350)
    assert chosen.config.when_solved == "continue" and "skipped" not in chosen.reason  # what the user chose runs
    assert plan(TrainConfig(data="x"), {"a": 700, "b": 700}, "cuda", 350).config.freeze == "two_stage"
    assert plan(TrainConfig(data="x", backbone="vit_b_16"), {"a": 60}, "cpu").config.freeze == "two_stage"
    with pytest.raises(ValueError, match="no top that trains alone"):
        TrainConfig(data="x", backbone="vit_b_16", freeze="top").validate()


@pytest.fixture(scope="module")
def top_run(tiny_dataset, tmp_path_factory):
    events = list(train(TrainConfig(data=str(tiny_dataset), out=str(tmp_path_factory.mktemp("runs")), freeze="top",
                                    epochs=4, stage1_epochs=2, image_size=96, when_solved="continue", patience=0)))
    return events


def test_a_top_layers_run_trains_the_top_and_leaves_the_bottom_as_pretrained(top_run):
    from core.runstore.checkpoint import CheckpointMeta, load_checkpoint

    finished = top_run[-1]
    assert isinstance(finished, RunFinished) and finished.epochs_run == 4
    started = [e for e in top_run if isinstance(e, StageStarted)]
    assert [s.name for s in started] == ["top layers"] and started[0].epoch == 3
    spec = get_backbone("efficientnet_lite0")
    pretrained = build_classifier("efficientnet_lite0", 4, True, 96)
    last = read_last(finished.run_dir)
    assert last.part == "top" and last.stage == 2
    trained = top_classifier(build_classifier("efficientnet_lite0", 4, True, 96), spec)
    trained.load_state_dict(last.weights)
    start = top_classifier(pretrained, spec).state_dict()
    moved = [k for k, v in trained.state_dict().items() if k.startswith("backbone.") and v.dtype.is_floating_point
             and not torch.equal(v, start[k])]
    assert len(moved) > 20  # the top's weights trained

    best = load_checkpoint(finished.run_dir + "/best.pt")
    kept = build_classifier("efficientnet_lite0", 4, True, 96)
    kept.load_state_dict(best["state_dict"])
    bottom, top = split_backbone(spec, kept.backbone)
    pretrained_bottom, pretrained_top = split_backbone(spec, pretrained.backbone)
    assert all(torch.equal(a, b) for a, b in zip(bottom.state_dict().values(), pretrained_bottom.state_dict().values()))
    meta = CheckpointMeta.from_payload(best)
    top_moved = not all(torch.equal(a, b) for a, b in zip(top.state_dict().values(),
                                                          pretrained_top.state_dict().values()))
    assert top_moved == (meta.stage == 2) and meta.frozen == (meta.stage == 1)


def test_a_top_layers_run_continues_from_its_last_state_on_features_of_the_pretrained_backbone(top_run, tmp_path,
                                                                                               monkeypatch):
    import shutil

    from core.training.continued import continue_run

    run_dir = shutil.copytree(top_run[-1].run_dir, tmp_path / "run")
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "engine": "pytorch"}))
    monkeypatch.setenv("TRANSFER_STUDIO_CACHE", str(tmp_path / "empty-cache"))  # everything is encoded again
    events = list(continue_run(run_dir, epochs=1))
    assert isinstance(events[-1], RunFinished) and events[-1].epochs_run == 5
    assert read_last(run_dir).part == "top" and read_last(run_dir).stage_epochs == 3

    index = scan_dataset(config["data"])  # the cache holds the pretrained backbone's features, not the trained one's
    pretrained = build_classifier("efficientnet_lite0", 4, True, 96).backbone
    spec = get_backbone("efficientnet_lite0")
    settings = TrainConfig(data=config["data"], image_size=96, engine="pytorch")
    cached, fresh = [[x for x in dataset_features(spec, pretrained, settings, index.splits["train"],
                                                  index.splits["valid"], torch.device("cpu"), config["views"],
                                                  store=FeatureStore(folder), top=True)][-1]
                     for folder in (tmp_path / "empty-cache", tmp_path / "fresh")]
    assert cached.from_cache == len(cached.positions) and fresh.from_cache == 0
    assert torch.allclose(cached.features, fresh.features, atol=1e-4)


def _colours(root, per_class=10):
    """Red pictures and blue pictures with a little noise: a set any head gets entirely right."""
    rng = np.random.default_rng(0)
    for split in ("train", "valid"):
        for name, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class):
                noise = rng.integers(-20, 20, (64, 64, 3))
                Image.fromarray(np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)).save(folder / f"{i}.png")
    return root


@pytest.mark.parametrize("settings, stage", [({}, "top layers"),
                                             ({"freeze": "two_stage", "when_solved": "skip"}, "every layer")])
def test_a_second_stage_is_skipped_when_the_head_already_solves_the_set_and_the_log_says_so(settings, stage, tmp_path):
    data = _colours(tmp_path / "colours")  # 20 validation pictures: enough to trust a perfect score
    events = list(train(TrainConfig(data=str(data), out=str(tmp_path / "runs"), epochs=8, stage1_epochs=6,
                                    image_size=64, device="cpu", **settings)))
    said = [e.text for e in events if isinstance(e, Message)]
    assert any(f"gets every validation image right: the second stage ({stage}, 2 epochs) is skipped" in text
               for text in said), said
    assert "the second stage is skipped" in said[0]
    assert not [e for e in events if isinstance(e, StageStarted)]
    finished = events[-1]
    assert finished.best_valid_acc == 1.0 and finished.epochs_run <= 6 and not finished.stopped
    summary = json.loads((tmp_path / "runs" / finished.run_id / "summary.json").read_text())
    assert summary["skipped_stage"] == f"{stage}: gets every validation image right"

    chosen = {**settings, "freeze": settings.get("freeze", "top"), "when_solved": "auto"}  # chosen, not automatic
    again = list(train(TrainConfig(data=str(data), out=str(tmp_path / "runs"), epochs=8, stage1_epochs=6,
                                   image_size=64, patience=0, device="cpu", **chosen)))
    assert [e.name for e in again if isinstance(e, StageStarted)] == [stage] and again[-1].epochs_run == 8

    from core.training.continued import continue_run

    more = list(continue_run(tmp_path / "runs" / finished.run_id, epochs=1, device="cpu"))  # asked for: it trains
    said = " ".join(e.text for e in more if isinstance(e, Message))
    assert f"Then the second stage as planned ({stage}, 2 epochs)." in said
    assert [e.name for e in more if isinstance(e, StageStarted)] == [stage]
