"""`python -m core field`: kept pictures listed in review order, and the owner's verdicts applied from the shell."""
import json

from PIL import Image

from core.cli import main
from core.data.demo import make_shapes_dataset
from core.data.relabel import list_changes
from core.runstore.folder import KEPT, RunFolder
from core.runstore.kept import KeptStore

KEYS = {"id", "path", "run", "label", "confidence", "not_sure", "source", "time", "verdict", "truth"}


def _listing(capsys, *args) -> list[dict]:
    assert main(["field", *map(str, args)]) == 0
    return json.loads(capsys.readouterr().out)


def test_field_lists_in_review_order_and_files_labels_and_verdicts(frozen_run, tiny_dataset, tmp_path, capsys):
    runs = tmp_path / "runs"
    run_dir = frozen_run.copy_into(runs)
    shapes = sorted((tiny_dataset / "valid").rglob("*.jpg"))[::5]
    store = KeptStore(runs / KEPT)
    answers = [([("circle", 0.9), ("star", 0.1)], False), ([("star", 0.45), ("square", 0.4)], True),
               ([("square", 0.6), ("circle", 0.3)], False), ([("triangle", 0.5), ("star", 0.2)], True)]
    kept = [store.keep(path, run_dir.name, top, not_sure, "predict") for path, (top, not_sure) in
            zip(shapes, answers)]
    other = store.keep(kept[0].path, "another-run", [("circle", 0.9)], False, "demo")

    listed = _listing(capsys, "--runs", runs, "--run", run_dir.name)
    assert [row["id"] for row in listed] == [kept[1].id, kept[3].id, kept[2].id, kept[0].id]
    assert all(KEYS <= row.keys() for row in listed) and listed[0]["label"] == "star" and listed[0]["not_sure"]
    assert other.id in [row["id"] for row in _listing(capsys, "--runs", runs)], "without --run: every run's"

    data = make_shapes_dataset(tmp_path / "dataset", train_per_class=1, valid_per_class=1, size=64)
    assert main(["field", "--runs", str(runs), "--run", run_dir.name, "--label", f"{kept[1].id}=square", "--data",
                 str(data), "--right", kept[0].id, "--unknown", kept[3].id, "--delete", kept[2].id]) == 0
    said = capsys.readouterr()
    listed = json.loads(said.out)
    filed = data / "train" / "square" / f"field-{kept[1].id}.jpg"
    assert filed.read_bytes() == kept[1].path.read_bytes()
    change = list_changes(data)[-1]
    assert (change.kind, change.target, change.to_class) == ("add", f"train/square/field-{kept[1].id}.jpg", "square")
    assert {row["id"]: (row["verdict"], row["truth"]) for row in listed} == {
        kept[1].id: ("labelled", "square"), kept[0].id: ("right", "circle"), kept[3].id: ("unknown", None)}
    assert store.get(kept[1].id).change_id == change.id and store.get(kept[1].id).dataset == str(data.resolve())
    assert f"{kept[2].id}: deleted" in said.err and not kept[2].path.exists()

    assert main(["field", "--runs", str(runs), "--label", f"{kept[1].id}=circle"]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["field", "--runs", str(runs), "--label", f"{kept[1].id}=circle", "--data", str(data)]) == 2
    assert "filed already" in capsys.readouterr().err
    assert main(["field", "--runs", str(runs), "--right", "../../etc/passwd"]) == 2
    assert "not the id of a kept picture" in capsys.readouterr().err
    assert main(["field", "--runs", str(runs), "--label", "no-class"]) == 2
    assert "ID=CLASS" in capsys.readouterr().err


def test_field_distances_rank_far_pictures_first_among_equals(frozen_run, tmp_path, capsys):
    runs = tmp_path / "runs"
    run_dir = frozen_run.copy_into(runs)
    near_path = RunFolder(run_dir).dataset_index().splits["train"][0][0]
    far_path = tmp_path / "far.png"
    Image.new("RGB", (96, 96), (250, 250, 250)).save(far_path)
    store = KeptStore(runs / KEPT)
    near = store.keep(near_path, run_dir.name, [("circle", 0.7), ("star", 0.3)], False, "folder")
    far = store.keep(far_path, run_dir.name, [("star", 0.7), ("circle", 0.3)], False, "folder")

    listed = _listing(capsys, "--runs", runs, "--distances")
    assert [row["id"] for row in listed] == [far.id, near.id]
    assert listed[0]["distance"] > listed[1]["distance"]
