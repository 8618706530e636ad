"""The Data tab's "Map" view, handler by handler: a real map drawn of a copy of the tiny dataset (and one with a run),
and hand-made maps over real picture files for clicks, selections, moves, set-asides, keeps and their undo."""
import hashlib
import json
import shutil
from pathlib import Path

import plotly.graph_objects as go
import pytest
from PIL import Image

from core.evaluation.data_map import DataMap, MapPoint
from core.evaluation.map_facts import FLAGS
from gui import words
from gui.context import AppContext
from gui.map_chart import GL_ABOVE, OTHER_COLOUR, SYMBOLS, map_figure
from gui.tabs.data_map import DRAW_OUTPUTS, draw_view, pick, run_choices, show_run
from gui.tabs.map_actions import act_on_clicked, act_on_selected, undo_on_map
from gui.tabs.map_views import SHOWN_SELECTED, facts_markdown, figure, live, may_show, new_state

CLASSES = ["circle", "square", "star", "triangle"]


def _snapshot(root: Path) -> dict:
    """Every file of the dataset (the journal aside) by path, with a hash of its bytes."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def _sent(state, kind: str, points: list) -> str:
    """What the page's script writes into the hidden box: the map's revision rides along."""
    return json.dumps({"kind": kind, "points": points, "revision": state["revision"], "nonce": 1})


def _click(ctx, state, index):
    return pick(ctx, state, _sent(state, "click", [index]))


@pytest.fixture
def hand_made(tiny_dataset, tmp_path):
    """A private copy of the tiny dataset and a hand-made map of it: every picture at a known place, a suspect
    (square_000 looks like circle), a duplicate, a kept picture and a picture outside the served folders."""
    root = shutil.copytree(tiny_dataset, tmp_path / "data" / "shapes")
    ctx = AppContext(data_root=tmp_path / "data", runs_dir=tmp_path / "runs", initial_dataset=root,
                     cache_dir=tmp_path / "cache")
    points = [MapPoint(str(path), split, path.parent.name, float(i % 8), float(i // 8), [], {})
              for i, (split, path) in enumerate((s, p) for s in ("train", "valid")
                                                for p in sorted((root / s).rglob("*.jpg")))]
    suspect = next(p for p in points if Path(p.path).name == "square_000.jpg" and p.split == "train")
    suspect.flags, suspect.facts = ["suspect", "duplicate"], {"suggested": "circle", "probability": 0.91, "group": 1}
    ctx.keeper.folder.mkdir(parents=True)
    Image.new("RGB", (32, 32), (200, 10, 10)).save(ctx.keeper.folder / "kept-1.jpg")
    (tmp_path / "elsewhere").mkdir()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(tmp_path / "elsewhere" / "far.jpg")
    points += [MapPoint(str(ctx.keeper.folder / "kept-1.jpg"), "kept", "star", 9.0, 9.0, ["kept"],
                        {"kept_id": "kept-1", "predicted": "star", "confidence": 0.55}),
               MapPoint(str(tmp_path / "elsewhere" / "far.jpg"), "train", "circle", 9.5, 9.5, [], {})]
    data_map = DataMap(str(root), CLASSES, "tsne", "backbone", "test", None, points, len(points), [],
                       {"map": 0.8, "features": 0.9}, {"total_s": 0.1}, [], 0)
    return ctx, root, data_map


@pytest.fixture
def mapped(hand_made):
    """The hand-made map's state, as the owner's own app draws it (kept pictures shown)."""
    ctx, root, data_map = hand_made
    return ctx, root, new_state(data_map)


def _index(state, name: str, split: str = "train") -> int:
    return next(i for i, p in enumerate(state["points"]) if Path(p["path"]).name == name and p["split"] == split)


def test_with_a_run_the_picker_lists_it_and_the_map_marks_its_answers(frozen_run, tiny_dataset, tmp_path):
    from core.runstore.kept import KeptStore
    from core.runstore.relocate import relocate

    data = shutil.copytree(tiny_dataset, tmp_path / "data" / "shapes")
    run = frozen_run.copy_into(tmp_path / "runs")
    relocate(run, data, tmp_path / "runs", {})
    ctx = AppContext(data_root=tmp_path / "data", runs_dir=tmp_path / "runs", initial_dataset=data,
                     cache_dir=tmp_path / "cache")
    picker = run_choices(ctx, str(data))
    assert [v for _, v in picker.choices] == ["", run.name] and picker.value == ""
    assert show_run(ctx, str(data), "").value == run.name, "the Evaluate tab's newest run, picked"
    assert [v for _, v in run_choices(ctx, str(tmp_path / "elsewhere")).choices] == [""]
    KeptStore(ctx.keeper.folder).keep(data / "valid" / "star" / "star_000.jpg", run.name, [("star", 0.8)],
                                      not_sure=False, source="predict")  # answered, its class not said yet
    shown = dict(zip(DRAW_OUTPUTS, list(draw_view(ctx, str(data), 20, run.name, "run", "pca"))[-1], strict=True))
    state = shown["state"]
    assert state["run"] == run.name and state["features"] == "run" and len(state["points"]) == 61
    valid = [p for p in state["points"] if p["split"] == "valid"]
    assert valid and all("predicted" in p["facts"] for p in valid)
    assert words.MAP_PCA_FACTS in shown["facts"]
    kept = state["points"][-1]
    assert (kept["split"], kept["class"]) == ("kept", ""), "a kept picture's class is not known until its owner says"
    trace = next(t for t in shown["plot"].data if t.name == words.MAP_KEPT_UNKNOWN_LEGEND)
    assert trace.marker.color == OTHER_COLOUR and list(trace.customdata) == [60]
    assert trace.hovertext[0].startswith(f"<b>class not known; the model answered {kept['facts']['predicted']} (")

    # a full app shared by a link (no Review tab): kept pictures stay off its map, even with a run that finds them
    shared = dict(zip(DRAW_OUTPUTS, list(draw_view(ctx, str(data), 20, run.name, "run", "pca", keeping=False))[-1],
                      strict=True))
    assert len(shared["state"]["points"]) == 60 and all(p["split"] != "kept" for p in shared["state"]["points"])
    assert words.MAP_KEPT_UNKNOWN_LEGEND not in {t.name for t in shared["plot"].data}


def test_a_real_map_of_the_tiny_dataset_places_every_picture_once(tiny_dataset, tmp_path):
    root = tiny_dataset  # only read: its features are those frozen training cached
    ctx = AppContext(data_root=root.parent, runs_dir=tmp_path / "runs", initial_dataset=root)
    outputs = list(draw_view(ctx, str(root), 20, "", "backbone", "tsne"))
    assert len(outputs) >= 2, "the bar first, then the map"
    shown = dict(zip(DRAW_OUTPUTS, outputs[-1], strict=True))
    state = shown["state"]
    assert "Drew 60 pictures" in shown["progress"] and shown["said"] == ""
    assert sorted(p["path"] for p in state["points"]) == sorted(str(p) for p in root.rglob("*.jpg"))
    plot = shown["plot"]
    assert isinstance(plot, go.Figure) and {t.name for t in plot.data} >= set(CLASSES)
    assert sorted(i for t in plot.data if t.customdata is not None for i in t.customdata) == list(range(60))
    assert "nearest neighbours share its class" in shown["facts"] and shown["all_to"].choices == [(c, c) for c in CLASSES]
    assert shown["gallery"] == [] and shown["picture"] is None
    bad = dict(zip(DRAW_OUTPUTS, list(draw_view(ctx, str(root), 20, "", "run", "tsne"))[-1], strict=True))
    assert bad["said"].startswith("⚠️ The run's own features need a run") and words.MAP_NOT_MADE in bad["progress"]


def test_the_figure_has_a_trace_per_class_a_shape_per_first_flag_and_webgl_past_a_thousand(mapped):
    ctx, root, state = mapped
    fig = figure(state)
    by_name = {t.name: t for t in fig.data}
    assert [t.name for t in fig.data[:4]] == CLASSES and all(t.type == "scatter" for t in fig.data)
    square = by_name["square"]
    at = list(square.customdata).index(_index(state, "square_000.jpg"))
    assert square.marker.symbol[at] == SYMBOLS["suspect"], "the first flag in FLAGS order wins"
    assert "square_000.jpg" in square.hovertext[at] and "may be in the wrong class, near-copy" in square.hovertext[at]
    legend = [t.name for t in fig.data[4:]]
    assert legend == [words.MAP_FLAG_LEGEND[f] for f in FLAGS if f in ("suspect", "kept")], "shapes drawn, in order"
    assert fig.layout.dragmode == "lasso"
    many = [{"index": i, "x": i, "y": i, "class": "circle", "flag": "", "hover": ""} for i in range(GL_ABOVE + 1)]
    assert map_figure(many, CLASSES).data[0].type == "scattergl"
    assert list(map_figure(many, CLASSES).data[0].customdata) == list(range(GL_ABOVE + 1))
    assert "80%" in facts_markdown(state) and "1 may be in the wrong class" in facts_markdown(state)


def test_a_click_shows_the_picture_its_facts_and_the_classes_it_can_move_to(mapped):
    ctx, root, state = mapped
    shown = pick(ctx, state, _sent(state, "click", [_index(state, "square_000.jpg")]))
    assert shown["picture"] == str(root / "train/square/square_000.jpg")
    facts = shown["picture_facts"]
    assert "**square_000.jpg**: class **square**, a training picture" in facts
    assert "looks more like **circle** (91% sure)" in facts and "near-copy of other pictures (group 1)" in facts
    assert [c for c, _ in shown["move_to"].choices] == ["circle", "star", "triangle"]
    assert shown["move_to"].value == "circle", "the class it looks like, offered first"
    kept = pick(ctx, state, _sent(state, "click", [len(state["points"]) - 2]))
    assert kept["picture"].endswith("kept-1.jpg") and "7. Review" in kept["picture_facts"]
    assert "run answers **star** (55%)" in kept["picture_facts"] and kept["move_to"].choices == []
    assert act_on_clicked(ctx, state, "set_aside")["said"] == words.MAP_KEPT_ELSEWHERE
    far = pick(ctx, state, _sent(state, "click", [len(state["points"]) - 1]))
    assert far["picture"] is None and "outside the folders this app serves" in far["picture_facts"]
    for junk in ("", "not json", '{"kind": "click", "points": [9999]}', '{"kind": "hack", "points": [1]}', "[1]"):
        assert pick(ctx, state, junk) == {}, junk


def test_move_set_aside_and_keep_on_a_click_then_undo_each_restores_disk_and_map(mapped):
    ctx, root, state = mapped
    before, i = _snapshot(root), _index(state, "square_000.jpg")
    _click(ctx, state, i)
    assert act_on_clicked(ctx, state, "move", "../elsewhere")["said"] == words.WARN.format(words.MAP_PICK_CLASS)
    moved = act_on_clicked(ctx, state, "move", "circle")
    assert moved["said"] == "Moved square_000.jpg from square to circle."
    assert (root / "train/circle/square_000.jpg").is_file() and not (root / "train/square/square_000.jpg").exists()
    point = state["points"][i]
    assert (point["class"], point["path"]) == ("circle", str(root / "train/circle/square_000.jpg"))
    assert "may be in the wrong class" not in moved["facts"], "moved to the class it looked like: no longer a suspect"
    assert moved["picture"] == point["path"] and [c for c, _ in moved["move_to"].choices] == ["square", "star",
                                                                                              "triangle"]
    assert undo_on_map(ctx, state)["said"] == words.MAP_UNDONE.format(count=1)
    assert _snapshot(root) == before and state["points"][i]["class"] == "square"

    aside = act_on_clicked(ctx, state, "set_aside")
    assert "set-aside folder" in aside["said"] and (root / "train/_set_aside/square/square_000.jpg").is_file()
    assert i not in [c for t in aside["plot"].data if t.customdata is not None for c in t.customdata]
    assert aside["picture"] is None and aside["picture_facts"] == words.MAP_CLICK_FIRST
    undo_on_map(ctx, state)
    assert _snapshot(root) == before and not state["points"][i]["gone"]

    _click(ctx, state, i)
    kept = act_on_clicked(ctx, state, "keep")
    assert kept["said"].startswith("square_000.jpg is fine as it is") and state["points"][i]["flags"] == ["duplicate"]
    assert _snapshot(root) == before, "keep changes nothing on disk"
    assert undo_on_map(ctx, state)["said"] == "Undone: square_000.jpg is marked again."
    assert state["points"][i]["flags"] == ["suspect", "duplicate"]
    assert undo_on_map(ctx, state)["said"] == "⚠️ There is no change to undo."


def test_a_selection_shows_at_most_the_cap_and_move_all_then_undo_puts_every_file_back(mapped):
    ctx, root, state = mapped
    before, everything = _snapshot(root), list(range(len(state["points"])))
    shown = pick(ctx, state, _sent(state, "select", everything + [9999, "x"]))
    assert len(shown["gallery"]) == SHOWN_SELECTED < len(everything) - 1
    note = shown["selection_note"]
    assert note.startswith("62 picture(s) selected (the first 60 shown") and "1 kept picture(s)" in note
    assert "1 lie outside" in note

    triangles = [i for i, p in enumerate(state["points"]) if p["class"] == "triangle" and p["split"] != "kept"]
    stars = [i for i, p in enumerate(state["points"]) if p["class"] == "star" and p["split"] != "kept"]
    pick(ctx, state, _sent(state, "select", triangles[:4] + stars[:2] + [everything[-2]]))
    done = act_on_selected(ctx, state, "move", "star")
    assert done["said"] == "Moved 4 picture(s) to star. (Already in star, left as they were: 2.)"
    assert all(state["points"][i]["class"] == "star" and "/star/" in state["points"][i]["path"] for i in triangles[:4])
    assert all(Path(state["points"][i]["path"]).is_file() for i in triangles[:4])
    assert [c for c, _ in done["gallery"]] == [state["points"][i]["path"] for i in triangles[:4] + stars[:2]] + [
        state["points"][everything[-2]]["path"]]
    drawn_selected = sorted(t.customdata[j] for t in done["plot"].data if t.selectedpoints for j in t.selectedpoints)
    assert drawn_selected == sorted(triangles[:4] + stars[:2] + [everything[-2]]), "moved dots stay selected"
    undone = undo_on_map(ctx, state)
    assert undone["said"] == words.MAP_UNDONE.format(count=4) and _snapshot(root) == before
    assert all(state["points"][i]["class"] == "triangle" for i in triangles[:4])

    aside = act_on_selected(ctx, state, "set_aside")
    assert aside["said"] == words.MAP_SET_ASIDE_ALL_DONE.format(count=6)
    assert aside["gallery"][0][0].endswith("kept-1.jpg"), "only the kept picture is left of the selection"
    undo_on_map(ctx, state)
    assert _snapshot(root) == before


def test_a_batch_stopped_by_a_missing_picture_says_which_and_the_map_follows_the_moved_ones(mapped):
    ctx, root, state = mapped
    before = _snapshot(root)
    circles = [i for i, p in enumerate(state["points"]) if p["class"] == "circle" and p["split"] == "train"][:3]
    missing = Path(state["points"][circles[1]]["path"])
    kept_aside = missing.read_bytes()
    missing.unlink()  # deleted in a file manager since the map was drawn
    pick(ctx, state, _sent(state, "select", circles))
    said = act_on_selected(ctx, state, "move", "square")["said"]
    assert said.startswith(f"⚠️ The batch stopped at {missing.name}: ")
    assert "The 1 picture(s) before it were changed" in said
    assert state["points"][circles[0]]["class"] == "square" and state["points"][circles[2]]["class"] == "circle"
    undo_on_map(ctx, state)
    missing.write_bytes(kept_aside)
    assert _snapshot(root) == before


def test_every_flag_has_a_shape_and_words():
    assert set(SYMBOLS) - {""} == set(FLAGS)
    for table in (words.MAP_FLAG_LEGEND, words.MAP_FLAG_COUNT_WORDS, words.MAP_FLAG_MEANINGS):
        assert set(table) == set(FLAGS)


def test_a_click_from_an_earlier_map_and_true_or_false_as_indices_are_ignored(mapped):
    ctx, root, state = mapped
    i = _index(state, "square_000.jpg")
    stale = json.dumps({"kind": "click", "points": [i], "revision": "map-1", "nonce": 1})
    assert pick(ctx, state, stale) == {} and state["clicked"] is None, "another drawing's indices name other dots"
    assert pick(ctx, state, json.dumps({"kind": "click", "points": [i]})) == {}, "no revision: not this map's"
    assert pick(ctx, state, _sent(state, "click", [True])) == {} and state["clicked"] is None
    assert live(state, [True, False, 1, 1.0, 0]) == [1, 0]
    pick(ctx, state, _sent(state, "select", [True, False, i]))
    assert state["selected"] == [i]


def test_a_shared_full_app_leaves_kept_pictures_off_the_map_and_never_points_to_review(hand_made):
    ctx, root, data_map = hand_made
    state = new_state(data_map, keeping=False)
    assert all(p["split"] != "kept" for p in state["points"]) and len(state["points"]) == len(data_map.points) - 1
    assert not any(t.name == words.MAP_FLAG_LEGEND["kept"] for t in figure(state).data)
    shown = pick(ctx, state, _sent(state, "select", list(range(len(state["points"])))))
    assert "kept" not in shown["selection_note"] and "Review" not in shown["selection_note"]
    kept = next(p.to_dict() for p in data_map.points if p.split == "kept")
    assert may_show(ctx, kept) and not may_show(ctx, kept, keeping=False)
    state["points"].append({**kept, "gone": False})  # however one got in: not shown, no Review tab named
    clicked = _click(ctx, state, len(state["points"]) - 1)
    assert clicked["picture"] is None and "Review" not in clicked["picture_facts"]
    assert act_on_clicked(ctx, state, "set_aside")["said"] == words.MAP_KEPT_NOT_HERE


def test_a_kept_picture_of_unknown_class_is_grey_and_worded_as_the_models_answer(mapped):
    ctx, root, state = mapped
    k = len(state["points"]) - 2
    state["points"][k]["class"] = ""  # not reviewed yet: only the run's answer is known
    trace = next(t for t in figure(state).data if t.name == words.MAP_KEPT_UNKNOWN_LEGEND)
    assert trace.marker.color == OTHER_COLOUR and list(trace.customdata) == [k]
    assert trace.hovertext[0].startswith("<b>class not known; the model answered star (55%)</b>")
    facts = _click(ctx, state, k)["picture_facts"]
    assert facts.startswith("**kept-1.jpg**: class not known; the model answered star (55%), kept from use")
    assert "class **" not in facts and "run answers" not in facts
    caption = pick(ctx, state, _sent(state, "select", [k]))["gallery"][0][1]
    assert caption == "class not known · kept-1.jpg"


def test_move_all_to_the_class_they_are_all_in_says_so(mapped):
    ctx, root, state = mapped
    before = _snapshot(root)
    stars = [i for i, p in enumerate(state["points"]) if p["class"] == "star" and p["split"] == "train"][:3]
    pick(ctx, state, _sent(state, "select", stars))
    assert act_on_selected(ctx, state, "move", "star")["said"] == words.MAP_ALL_ALREADY.format(to="star")
    pick(ctx, state, _sent(state, "select", [len(state["points"]) - 2]))  # the kept picture alone
    assert act_on_selected(ctx, state, "move", "star")["said"] == words.MAP_NOTHING_TO_CHANGE
    assert _snapshot(root) == before
