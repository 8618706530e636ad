"""The dataset map on real pictures through the real backbone: every picture placed once (test and kept pictures
included, a broken file named), a planted wrong label among its look-alikes and flagged, and a run's answers and own
features. The feature passes are made once per module (the cache keeps them for the maps after the first)."""
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from core.data.demo import make_shapes_dataset
from core.data.images import has_image_extension
from core.evaluation.data_map import FLAGS, DataMap, MapPoint, build_map, load_map
from core.events import Message
from core.runstore.folder import KEPT, RunFolder
from core.runstore.kept import KeptStore

OUR_RUN, OTHER_RUN = "20250101-000000-ours", "20250101-000000-other"


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """(dataset, the planted picture, the broken file, the kept picture of a run on this dataset, the runs folder).

    The planted picture is a circle moved into square/ (a copy would also be its original's near-duplicate)."""
    base = tmp_path_factory.mktemp("map")
    root = make_shapes_dataset(base / "shapes", 16, 4, 96)  # 3 of its classes: enough for the probe, quick to read
    make_shapes_dataset(base / "more", 2, 0, 96, seed=5)
    shutil.move(base / "more" / "train", root / "test")
    for split in ("train", "valid", "test"):
        shutil.rmtree(root / split / "star")
    planted = root / "train" / "square" / "planted_circle.jpg"
    (root / "train" / "circle" / "circle_000.jpg").rename(planted)
    broken = root / "train" / "triangle" / "broken.jpg"
    broken.write_bytes(b"not a picture at all")
    runs = base / "runs"
    RunFolder(runs / OUR_RUN).write_config({"data": str(root)})
    RunFolder(runs / OTHER_RUN).write_config({"data": str(base / "elsewhere")})
    store = KeptStore(runs / KEPT)
    kept = store.keep(root / "valid" / "circle" / "circle_001.jpg", OUR_RUN, [("circle", 0.8), ("square", 0.2)],
                      False, "predict")
    store.keep(root / "valid" / "triangle" / "triangle_001.jpg", OTHER_RUN, [("triangle", 0.9)], False, "predict")
    return root, planted, broken, kept, runs


@pytest.fixture(scope="module")
def data_map(planted) -> DataMap:
    root, _, _, _, runs = planted
    items = list(build_map(root, kept_dir=runs / KEPT))
    assert isinstance(items[-1], DataMap) and not any(isinstance(i, DataMap) for i in items[:-1])
    return items[-1]


def _readable(root: Path, broken: Path) -> set[str]:
    return {str(p) for p in root.rglob("*") if p.is_file() and has_image_extension(p) and p != broken}


def test_every_picture_is_placed_exactly_once_and_the_broken_file_is_named(planted, data_map):
    root, _, broken, kept, _ = planted
    ours = [p for p in data_map.points if p.split != "kept"]
    assert len(ours) == len({p.path for p in ours}) == len(_readable(root, broken))
    assert {p.path for p in ours} == _readable(root, broken)
    assert [p.split for p in data_map.points] == sorted((p.split for p in data_map.points),
                                                        key=["train", "valid", "test", "kept"].index)
    assert {s: sum(p.split == s for p in data_map.points) for s in ("train", "valid", "test", "kept")} == {
        "train": 48, "valid": 12, "test": 6, "kept": 1}
    assert [path for path, _ in data_map.skipped] == [str(broken)] and data_map.skipped[0][1]
    assert data_map.laid_out == len(data_map.points) and all(np.isfinite([p.x, p.y]).all() for p in data_map.points)
    assert (data_map.method, data_map.features, data_map.run, data_map.classes) == (
        "tsne", "backbone", None, ["circle", "square", "triangle"])


def test_the_planted_wrong_label_lands_among_its_look_alikes_and_is_a_suspect(planted, data_map):
    _, planted_path, _, _, _ = planted
    point = next(p for p in data_map.points if p.path == str(planted_path))
    assert point.cls == "square" and point.flags[0] == "suspect"
    assert point.facts["suggested"] == "circle" and point.facts["probability"] > 0.5
    others = [p for p in data_map.points if p.split != "kept" and p is not point]
    xy = np.array([[p.x, p.y] for p in others])
    nearest = np.argsort(np.linalg.norm(xy - (point.x, point.y), axis=1))[:5]
    assert sum(others[i].cls == "circle" for i in nearest) >= 4, [others[i].cls for i in nearest]
    strays = [f for f in data_map.facts if f.kind == "strays" and (f.cls, f.among) == ("square", "circle")]
    assert strays and str(planted_path) in strays[0].paths
    assert data_map.agreement["map"] > 0.8 and data_map.agreement["features"] > 0.8


def test_flags_follow_their_order_and_test_and_kept_pictures_are_marked(planted, data_map):
    _, _, _, kept, _ = planted
    assert all(p.flags == [f for f in FLAGS if f in p.flags] for p in data_map.points)
    assert all(("test" in p.flags) == (p.split == "test") for p in data_map.points)
    assert not any({"mistake", "not_sure"} & set(p.flags) or "predicted" in p.facts
                   for p in data_map.points if p.split != "kept")  # no run chosen: no answers
    [point] = [p for p in data_map.points if p.split == "kept"]
    # not reviewed yet: its class is not known (the run's answer is only a guess), the answer is in its facts
    assert point.path == str(Path(kept.path).absolute()) and "kept" in point.flags and point.cls == ""
    assert point.facts == {"kept_id": kept.id, "predicted": "circle", "confidence": 0.8}


def test_the_map_as_json(data_map):
    saved = json.loads(json.dumps(data_map.to_dict(), allow_nan=False))
    assert {"data", "classes", "method", "features", "backbone", "run", "points", "laid_out", "sampled", "facts",
            "agreement", "timings", "skipped", "from_cache"} <= saved.keys()
    assert saved["sampled"] is False and set(saved["timings"]) == {"features_s", "flags_s", "layout_s", "total_s"}
    assert saved["points"][0].keys() == {"path", "split", "class", "x", "y", "flags", "facts"}
    assert MapPoint("a", "train", "c", 1.234567, 2.0).to_dict()["x"] == 1.2346


def test_a_pca_map_from_the_cache_has_no_facts_and_a_stopped_one_no_map(planted, data_map):
    root, _, _, _, _ = planted
    pca = load_map(root, method="pca", cap=50)
    assert pca.from_cache == len(pca.points) == len(data_map.points) - 1  # no kept pictures asked for
    assert pca.facts == [] and pca.laid_out == 50
    stop = threading.Event()
    stop.set()
    assert not any(isinstance(i, DataMap) for i in build_map(root, stop=stop))


def test_settings_that_make_no_map_say_why(tmp_path):
    with pytest.raises(ValueError, match="The run's own features need a run"):
        load_map(tmp_path, features="run")
    with pytest.raises(ValueError, match="'pixels' is not a choice of features"):
        load_map(tmp_path, features="pixels")
    with pytest.raises(ValueError, match="'umap' is not a way to draw the map"):
        load_map(tmp_path, method="umap")
    with pytest.raises(ValueError, match="Name the dataset folder"):
        load_map(None)
    for name in ("a", "b"):  # two pictures of four can be read
        (tmp_path / "few" / name).mkdir(parents=True)
        shutil.copy(make_shapes_dataset(tmp_path / "src", 1, 1, 64) / "train" / "circle" / "circle_000.jpg",
                    tmp_path / "few" / name / "good.jpg")
        (tmp_path / "few" / name / "bad.jpg").write_bytes(b"no")
    items = list(build_map(tmp_path / "few", method="pca"))
    assert not any(isinstance(i, DataMap) for i in items)
    assert any(isinstance(i, Message) and i.level == "warning" and "Too few pictures" in i.text for i in items)


@pytest.fixture(scope="module")
def run_maps(two_stage_run) -> tuple[DataMap, DataMap]:
    """The fine-tuned run's map from the backbone's features and from its own (PCA: nearness is not the point)."""
    return tuple(load_map(None, run=two_stage_run.run_dir, features=features, method="pca")
                 for features in ("backbone", "run"))


def test_a_run_answers_its_validation_pictures_and_only_they_can_be_its_mistakes(two_stage_run, run_maps):
    temperature, threshold = RunFolder(two_stage_run.run_dir).read_calibration()
    for data_map in run_maps:
        assert data_map.run == two_stage_run.run_id and data_map.backbone == "efficientnet_lite0"
        assert len(data_map.points) == 60 and {p.split for p in data_map.points} == {"train", "valid"}
        for point in data_map.points:
            if point.split == "valid":
                assert ("mistake" in point.flags) == (point.facts["predicted"] != point.cls)
                assert ("not_sure" in point.flags) == (point.facts["confidence"] < threshold)
            else:
                assert not {"mistake", "not_sure"} & set(point.flags) and "predicted" not in point.facts


def test_a_fine_tuned_run_s_own_features_draw_another_map(two_stage_run, run_maps):
    from core.runstore.checkpoint import load_checkpoint

    backbone, own = run_maps
    assert [p.path for p in backbone.points] == [p.path for p in own.points]
    assert (backbone.features, own.features) == ("backbone", "run")
    same = np.allclose([[p.x, p.y] for p in backbone.points], [[p.x, p.y] for p in own.points], atol=1e-3)
    # the fixture trains the head alone for 2 epochs, then every layer: the best epoch says which backbone it kept
    trained = load_checkpoint(RunFolder(two_stage_run.run_dir).best)["epoch"] > 2
    assert same != trained, "its own features are the pretrained backbone's exactly when its best epoch is the head's"
    # the flags come from the backbone's features either way
    assert [[f for f in p.flags if f in ("suspect", "outlier", "duplicate")] for p in backbone.points] == [
        [f for f in p.flags if f in ("suspect", "outlier", "duplicate")] for p in own.points]


def test_kept_pictures_are_those_of_runs_on_this_dataset_less_the_filed_ones_whose_copy_is_on_the_map(tmp_path):
    from core.evaluation.map_points import kept_class, kept_pictures

    root, runs = tmp_path / "data", tmp_path / "runs"
    root.mkdir()
    RunFolder(runs / OUR_RUN).write_config({"data": str(root)})
    RunFolder(runs / OTHER_RUN).write_config({"data": str(tmp_path / "elsewhere")})
    store = KeptStore(runs / KEPT)
    picture = make_shapes_dataset(tmp_path / "pics", 1, 0, 64) / "train" / "circle" / "circle_000.jpg"
    said = store.update(store.keep(picture, OUR_RUN, [("circle", 0.7)], False, "predict").id, verdict="labelled",
                        truth="square")
    store.update(store.keep(picture, OUR_RUN, [("circle", 0.9)], False, "predict").id, verdict="labelled",
                 truth="circle", change_id=1, dataset=str(root))  # filed: its copy is a dataset picture now
    unknown = store.update(store.keep(picture, OUR_RUN, [("star", 0.6)], False, "predict").id, verdict="unknown")
    store.keep(picture, OTHER_RUN, [("circle", 0.9)], False, "predict")
    found = kept_pictures(runs / KEPT, root.resolve())
    assert [p.id for p in found] == [said.id, unknown.id]
    assert [kept_class(p) for p in found] == ["square", ""], "the owner's word, and no class for none of these"
