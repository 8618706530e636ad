"""The dataset map in headless Chromium: a real mouse click on a dot opens its picture, a lasso drawn with the mouse
selects exactly the dots inside it, and "Move all" moves those files, which Undo puts back."""
import hashlib
import json
import re
from pathlib import Path

from core.data.demo import make_shapes_dataset
from gui import AppContext
from tests.conftest import start_app, unused_port

SHOTS = Path("/tmp/shots")
DOTS = """() => {
  const gd = document.querySelector('#data-map .js-plotly-plot');
  const box = gd.getBoundingClientRect(), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const dots = [];
  gd.data.forEach((trace) => (trace.customdata || []).forEach((index, j) => dots.push({index, hover: trace.hovertext[j],
    x: box.left + xa._offset + xa.d2p(trace.x[j]), y: box.top + ya._offset + ya.d2p(trace.y[j])})));
  return dots;
}"""  # every dot's map index, hover text and place on the screen, from Plotly's own axes


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def _name_and_class(hover: str) -> tuple[str, str]:
    cls, name, _ = re.sub(r"</?b>", "", hover).split("<br>")
    return name, cls


def _loneliest(dots: list[dict]) -> dict:
    """The dot farthest from any other: a click on it cannot hit a neighbour."""
    return max(dots, key=lambda a: min((a["x"] - b["x"]) ** 2 + (a["y"] - b["y"]) ** 2 for b in dots if b is not a))


def _lasso_box(dots: list[dict], margin: float = 6.0) -> tuple[float, float, float, float]:
    """A rectangle around a few dots of two classes or more, grown from a dot (those nearest the map's middle tried
    first) until no dot lies within `margin` pixels of its edge (a dot on the line could fall either way)."""
    middle_x, middle_y = sum(d["x"] for d in dots) / len(dots), sum(d["y"] for d in dots) / len(dots)
    for centre in sorted(dots, key=lambda d: (d["x"] - middle_x) ** 2 + (d["y"] - middle_y) ** 2):
        for half in range(20, 160, 3):
            box = (centre["x"] - half, centre["y"] - half * 0.7, centre["x"] + half, centre["y"] + half * 0.7)
            inside = [d for d in dots if box[0] < d["x"] < box[2] and box[1] < d["y"] < box[3]]
            near_edge = [d for d in dots
                         if (min(abs(d["x"] - box[0]), abs(d["x"] - box[2])) < margin
                             and box[1] - margin < d["y"] < box[3] + margin)
                         or (min(abs(d["y"] - box[1]), abs(d["y"] - box[3])) < margin
                             and box[0] - margin < d["x"] < box[2] + margin)]
            classes = {_name_and_class(d["hover"])[1] for d in inside}
            if 3 <= len(inside) <= len(dots) // 2 and len(classes) >= 2 and not near_edge:
                return box
    raise AssertionError("no clean rectangle around dots of several classes found on the map")


def _lasso(page, left: float, top: float, right: float, bottom: float, steps: int = 8) -> None:
    """Draw a lasso along the rectangle's edges with the mouse (the map's drag mode is the lasso)."""
    page.mouse.move(left, top)
    page.mouse.down()
    for x, y in ((right, top), (right, bottom), (left, bottom), (left, top)):
        page.mouse.move(x, y, steps=steps)
    page.mouse.up()


def test_click_and_lasso_on_the_map_open_the_right_pictures_and_move_all_is_undone(tmp_path, browser):
    # its own small dataset (files are moved): 40 pictures, whose features are read in a few seconds
    root = make_shapes_dataset(tmp_path / "data" / "shapes", train_per_class=8, valid_per_class=2, size=64)
    ctx = AppContext(data_root=tmp_path / "data", runs_dir=tmp_path / "runs", initial_dataset=root)
    demo = start_app(ctx)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(demo.local_url)
        page.get_by_text("4 classes").wait_for(timeout=30_000)
        page.get_by_role("tab", name="Map").click()
        page.locator("#map-draw").click()
        page.locator("#map-progress").get_by_text("Drew 40 pictures").wait_for(timeout=120_000)
        page.locator("#data-map").scroll_into_view_if_needed()
        page.wait_for_function("() => document.querySelector('#data-map .js-plotly-plot')?.__transferStudioMap")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#data-map").screenshot(path=SHOTS / "map.png")
        dots = page.evaluate(DOTS)
        assert sorted(d["index"] for d in dots) == list(range(40))

        lone = _loneliest(dots)
        name, cls = _name_and_class(lone["hover"])
        page.mouse.click(lone["x"], lone["y"])
        facts = page.locator("#map-picture-facts")
        facts.get_by_text(f"{name}: class {cls}").wait_for(timeout=30_000)
        assert page.locator("#map-picture img").count() == 1
        assert Path(page.locator("#map-picture img").get_attribute("src").split("?")[0]).name.endswith(
            Path(name).suffix)

        left, top, right, bottom = _lasso_box(dots)
        inside = sorted(d["index"] for d in dots if left < d["x"] < right and top < d["y"] < bottom)
        _lasso(page, left, top, right, bottom)
        note = page.locator("#map-selection-note")
        note.get_by_text(f"{len(inside)} picture(s) selected").wait_for(timeout=30_000)
        sent = json.loads(page.locator("#map-picked textarea").input_value())
        assert sent["kind"] == "select" and sorted(sent["points"]) == inside, "exactly the dots inside the lasso"
        assert sent["revision"].startswith("map-"), "the drawn map's revision, checked by Python"
        gallery = page.locator("#map-gallery")
        assert gallery.locator("img").count() == len(inside)
        selected = {_name_and_class(d["hover"]) for d in dots if d["index"] in inside}
        for picture, picture_cls in selected:
            assert gallery.get_by_text(f"{picture_cls} · {picture}").count() == 1

        before = _snapshot(root)
        counts = {c: sum(k == c for _, k in selected) for c in {k for _, k in selected}}
        target = min(counts, key=counts.get)  # the class fewest of them are in: the others move
        page.locator("#map-all-to input").click()
        page.get_by_role("option", name=target, exact=True).click()
        page.locator("#map-move-all").get_by_text(f"Move all to {target}").wait_for(timeout=10_000)
        page.locator("#map-move-all").click()
        moving = len(selected) - counts[target]
        page.locator("#map-said").get_by_text(f"Moved {moving} picture(s) to {target}.").wait_for(timeout=30_000)
        after = _snapshot(root)
        for picture, _ in selected:
            assert [p for p in after if Path(p).name.startswith(Path(picture).stem)
                    and Path(p).parent.name == target], f"{picture} is in {target} now"
        assert after != before and len(after) == len(before)

        page.locator("#map-undo").click()
        page.locator("#map-said").get_by_text(f"Undone: {moving} picture(s) put back").wait_for(timeout=30_000)
        assert _snapshot(root) == before, "every moved file back where it was"
        page.locator("#data-map").scroll_into_view_if_needed()
        other = next(d for d in page.evaluate(DOTS) if _name_and_class(d["hover"]) in selected)
        page.mouse.click(other["x"], other["y"])  # the figure was drawn again: its clicks still reach Python
        facts.get_by_text("{}: class {}".format(*_name_and_class(other["hover"]))).wait_for(timeout=30_000)
    finally:
        demo.close()


def test_past_a_thousand_dots_the_map_is_webgl_and_its_clicks_and_lasso_still_reach_python(browser):
    """The bridge on map_chart's WebGL figure alone (no dataset needed): 1,200 dots on a 40 x 30 grid, a lasso
    drawn halfway between grid lines around 10 x 8 of them."""
    import gradio as gr

    from gui.map_chart import BRIDGE_CSS, BRIDGE_JS, map_figure

    columns, rows = 40, 30
    drawn = [{"index": i, "x": i % columns, "y": i // columns, "class": "ab"[i % columns >= columns // 2],
              "flag": "", "hover": f"<b>{'ab'[i % columns >= columns // 2]}</b><br>{i}.jpg<br>-"}
             for i in range(columns * rows)]
    with gr.Blocks() as demo:
        gr.Plot(map_figure(drawn, ["a", "b"]), elem_id="data-map", show_label=False)
        picked = gr.Textbox(elem_id="map-picked")
        said = gr.Markdown(elem_id="said")
        picked.change(lambda value: f"got {len(json.loads(value)['points'])}", picked, said)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=unused_port(), quiet=True,
                js=BRIDGE_JS, css=BRIDGE_CSS)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(demo.local_url)
        page.wait_for_function("() => document.querySelector('#data-map .js-plotly-plot')?.__transferStudioMap")
        assert page.evaluate("() => document.querySelector('#data-map .js-plotly-plot')._fullData[0].type") == \
            "scattergl"
        at = {d["index"]: (d["x"], d["y"]) for d in page.evaluate(DOTS)}
        target = 12 * columns + 17
        page.mouse.click(*at[target])
        page.locator("#said").get_by_text("got 1").wait_for(timeout=30_000)
        sent = json.loads(page.locator("#map-picked textarea").input_value())
        assert sent["points"] == [target] and sent["revision"] == "map", "the figure's uirevision rides along"
        left, right = (at[14][0] + at[15][0]) / 2, (at[24][0] + at[25][0]) / 2  # halfway between grid columns
        ys = (at[9 * columns][1] + at[10 * columns][1]) / 2, (at[17 * columns][1] + at[18 * columns][1]) / 2
        _lasso(page, left, min(ys), right, max(ys), steps=2)  # each step redraws 1,200 dots in software WebGL
        inside = sorted(y * columns + x for x in range(15, 25) for y in range(10, 18))
        page.locator("#said").get_by_text(f"got {len(inside)}").wait_for(timeout=30_000)
        assert sorted(json.loads(page.locator("#map-picked textarea").input_value())["points"]) == inside
    finally:
        demo.close()
