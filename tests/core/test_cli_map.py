"""`python -m core map`: the dataset map as JSON on standard output, with the same defaults as build_map."""
import inspect
import json
import shutil

from core.cli import main
from core.cli.parser import build_parser
from core.data.demo import make_shapes_dataset
from core.evaluation.data_map import build_map


def test_map_prints_every_picture_with_its_class_place_and_flags(tiny_dataset, tmp_path, capsys):
    assert main(["map", "--data", str(tiny_dataset), "--method", "pca", "--runs", str(tmp_path / "runs")]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved["method"] == "pca" and saved["features"] == "backbone" and saved["run"] is None
    assert len(saved["points"]) == len({p["path"] for p in saved["points"]}) == 60
    assert {p["split"] for p in saved["points"]} == {"train", "valid"}
    point = saved["points"][0]
    assert point.keys() == {"path", "split", "class", "x", "y", "flags", "facts"} and isinstance(point["flags"], list)
    assert point["class"] == point["path"].split("/")[-2]
    assert {"features_s", "flags_s", "layout_s", "total_s"} == saved["timings"].keys()
    assert saved["facts"] == []  # a PCA map says nothing of nearness


def test_map_of_a_run_by_its_id_shows_its_answers(two_stage_run, capsys):
    runs = two_stage_run.run_dir.parent
    assert main(["map", "--run", two_stage_run.run_id, "--runs", str(runs), "--method", "pca"]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved["run"] == two_stage_run.run_id
    assert all("predicted" in p["facts"] for p in saved["points"] if p["split"] == "valid")


def test_map_refuses_what_it_cannot_draw_and_says_why(tiny_dataset, tmp_path, capsys):
    assert main(["map", "--data", str(tiny_dataset), "--features", "run"]) == 2
    assert "error: The run's own features need a run" in capsys.readouterr().err
    assert main(["map", "--method", "pca"]) == 2
    assert "--data" in capsys.readouterr().err
    for name in ("a", "b"):  # one readable picture of each class
        (tmp_path / "few" / name).mkdir(parents=True)
        shutil.copy(make_shapes_dataset(tmp_path / "src", 1, 1, 64) / "train" / "circle" / "circle_000.jpg",
                    tmp_path / "few" / name / "good.jpg")
        (tmp_path / "few" / name / "bad.jpg").write_bytes(b"no")
    assert main(["map", "--data", str(tmp_path / "few"), "--method", "pca", "--runs", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "Too few pictures" in out.err


def test_map_defaults_are_build_map_s():
    args = build_parser().parse_args(["map", "--data", "x"])
    defaults = inspect.signature(build_map).parameters
    for name in ("features", "method", "valid_fraction", "seed", "backbone"):
        assert getattr(args, name) == defaults[name].default, name
