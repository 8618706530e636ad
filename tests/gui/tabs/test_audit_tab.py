"""The Data tab's "Find problems" view, handler by handler, on a real generated dataset with labels flipped on purpose."""
import hashlib
import shutil
from pathlib import Path

import gradio as gr
import pytest

from core.data.demo import make_shapes_dataset
from gui.context import AppContext
from gui.tabs.audit import audit_view, review, select, shown_suspects, undo_change

NAMES = ("bar", "shortcut", "shortcut_pictures", "suspects", "note", "changes", "to_class", "curves", "advice",
         "outliers", "duplicates", "state")  # what audit_view yields, in order
FLIPS = {("train", "circle", 3): "square", ("train", "star", 5): "triangle", ("train", "triangle", 7): "circle"}


def _snapshot(root: Path) -> dict:
    """Every file of the dataset (the journal aside) by path, with a hash of its bytes."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """A small shapes set (4 classes, 16 train + 4 valid each, 64 px) with 3 training pictures put in the wrong
    class folder under a telling name, audited once by the tab's handler."""
    data = tmp_path_factory.mktemp("audit-tab") / "data"
    root = make_shapes_dataset(data / "shapes", train_per_class=16, valid_per_class=4, size=64)
    for (split, shape, i), wrong in FLIPS.items():
        source = root / split / shape / f"{shape}_{i:03d}.jpg"
        shutil.move(source, root / split / wrong / f"flipped-{source.name}")
    ctx = AppContext(data_root=data, runs_dir=data.parent / "runs", initial_dataset=data,
                     cache_dir=data.parent / "cache")
    outputs = list(audit_view(ctx, "shapes", 20))
    assert len(outputs) >= 2, "progress first, then the report"
    return ctx, root, dict(zip(NAMES, outputs[-1], strict=True))


def test_the_audit_shows_the_flipped_pictures_among_the_top_suspects(audited):
    shown_now = audited[2]
    assert "Audited" in shown_now["bar"] and "No change" in shown_now["changes"]
    shown = [Path(item["image"]["orig_name"]).name for item in shown_now["suspects"].value]
    top = shown[:2 * len(FLIPS)]
    found = [name for name in top if name.startswith("flipped-")]
    assert len(found) >= 2, f"the flipped pictures should rank near the top, got {shown}"
    captions = {Path(item["image"]["orig_name"]).name: item["caption"] for item in shown_now["suspects"].value}
    for (split, shape, i), wrong in FLIPS.items():
        name = f"flipped-{shape}_{i:03d}.jpg"
        if name in captions:
            assert captions[name].startswith(f"in {wrong}, looks like {shape} ("), captions[name]
    assert {c[0] for c in shown_now["to_class"].choices} == {"circle", "square", "star", "triangle"}


def test_moving_a_suspect_to_its_suggested_class_then_undoing_restores_the_folders(audited):
    ctx, root, shown_now = audited
    state = shown_now["state"]
    before = _snapshot(root)
    suspect = next(s for s in shown_suspects(state) if Path(s["path"]).name.startswith("flipped-"))
    picture = Path(suspect["path"]) if Path(suspect["path"]).is_absolute() else root / suspect["path"]
    state, gallery, said, changes, selected = review(ctx, state, suspect["path"], "suggested")
    assert not picture.exists() and (picture.parent.parent / suspect["suggested"] / picture.name).is_file()
    assert said == f"Moved {picture.name} from {suspect['given']} to {suspect['suggested']}."
    assert picture.name not in [Path(item["image"]["orig_name"]).name for item in gallery.value]
    assert "Changes made to the folders (1)" in changes and selected is None

    state, gallery, said, changes, _ = undo_change(ctx, state)
    assert said.startswith("Undone:") and "(undone)" in changes
    assert _snapshot(root) == before, "undo puts back every byte where it was"
    assert picture.name in [Path(item["image"]["orig_name"]).name for item in gallery.value]
    *_, said, _, _ = undo_change(ctx, state)
    assert said == "⚠️ There is no change to undo."


def test_undo_puts_back_a_whole_batch_moved_on_the_map(audited):
    from core.data.relabel import move_pictures

    ctx, root, shown_now = audited
    state, before = shown_now["state"], _snapshot(root)
    stars = sorted((root / "train" / "star").glob("star_*.jpg"))[:3]
    assert len(move_pictures(root, stars, "circle")) == 3 and not any(p.exists() for p in stars)
    *_, said, changes, _ = undo_change(ctx, state)
    assert said == "Undone: 3 pictures went back where they were (they were changed together, on the map)."
    assert _snapshot(root) == before, "one undo puts back every picture of the batch"
    *_, said, _, _ = undo_change(ctx, state)
    assert said == "⚠️ There is no change to undo."


def test_a_click_selects_a_suspect_and_keep_drops_it_without_touching_the_disk(audited):
    ctx, root, shown_now = audited
    state = shown_now["state"]
    before, first = _snapshot(root), shown_suspects(state)[0]
    path, said, button, dropdown = select(state, gr.SelectData(None, {"index": 0, "value": None, "selected": True}))
    assert path == first["path"] and said.startswith(f"**{Path(path).name}**: in {first['given']}, looks like")
    assert button.value == f"Move to {first['suggested']}" and dropdown.value == first["suggested"]
    assert select(state, gr.SelectData(None, {"index": 999, "value": None}))[0] is None
    state, _, said, _, _ = review(ctx, state, first["path"], "keep")
    assert first not in shown_suspects(state) and said.startswith(f"Kept {Path(first['path']).name}")
    assert _snapshot(root) == before
    *_, said, _, _ = review(ctx, state, first["path"], "move", "circle")
    assert said == "⚠️ Click a picture of the gallery first.", "a kept picture is no longer offered"


def test_paths_outside_the_served_folders_are_refused_with_a_sentence(audited, tmp_path):
    ctx, _, shown_now = audited
    bar, said, *_ = list(audit_view(ctx, "/etc", 20))[-1]
    assert "Not audited" in bar and "outside the folders this app serves" in said
    elsewhere = make_shapes_dataset(tmp_path / "elsewhere", train_per_class=2, valid_per_class=1, size=32)
    state = {**shown_now["state"], "root": str(elsewhere)}  # a review state pointing outside: refused before any move
    suspect = shown_suspects(shown_now["state"])[0]
    moved = {**state, "suspects": [{**suspect, "path": str(elsewhere / "train" / "circle" / "circle_000.jpg")}]}
    before = _snapshot(elsewhere)
    *_, said, _, _ = review(ctx, moved, moved["suspects"][0]["path"], "set_aside")
    assert "outside the folders this app serves" in said and _snapshot(elsewhere) == before
    *_, said, _, _ = review(ctx, shown_now["state"], suspect["path"], "move", "../../escape")
    assert said == "⚠️ Pick the class to move it to first."


def test_the_learning_curves_chart_has_points_and_a_fitted_curve_per_class(audited):
    curves, advice = audited[2]["curves"], audited[2]["advice"]
    names = [trace.name for trace in curves.data]
    assert len(curves.data) == 2 * 4 and advice
    for shape in ("circle", "square", "star", "triangle"):
        points, fit = [t for t in curves.data if t.legendgroup == shape]
        assert points.mode == "markers" and fit.mode == "lines" and points.marker.color == fit.line.color
        assert len(points.x) >= 2 and len(fit.x) > len(points.x), names
