"""The "Start here" line: shown on a first start, hidden for good once the owner says so (a file in the app's cache
folder, beside its other settings), shown again for a fresh cache folder, and never in the demo view."""
import json

from gui import AppContext, start_here
from gui.app import build_app
from tests.conftest import start_app


def _ctx(tiny_dataset, tmp_path, cache: str) -> AppContext:
    return AppContext(data_root=tiny_dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=tiny_dataset,
                      cache_dir=tmp_path / cache)


def _rows(demo) -> list:
    return [block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "start-here"]


def test_hidden_for_good_for_its_cache_folder_and_shown_for_a_fresh_one(tiny_dataset, tmp_path):
    ctx = _ctx(tiny_dataset, tmp_path, "cache")
    (row,) = _rows(build_app(ctx))
    assert row.visible and not start_here.store_path(ctx.cache_dir).exists()
    assert not start_here.hide(ctx).visible  # the button's handler
    assert json.loads(start_here.store_path(ctx.cache_dir).read_text()) == {"dismissed": True}
    (row,) = _rows(build_app(_ctx(tiny_dataset, tmp_path, "cache")))  # the next start, same cache folder
    assert not row.visible
    visitors = _ctx(tiny_dataset, tmp_path, "fresh")
    (row,) = _rows(build_app(visitors, share_tab=False))  # a full app shared with visitors, fresh cache folder
    assert row.visible
    assert not start_here.hide(visitors, remember=False).visible and not start_here.dismissed(visitors.cache_dir)
    assert _rows(build_app(visitors, view="demo")) == []


def test_the_line_points_at_the_demo_shapes_or_the_owners_folder(tmp_path):
    def starting_on(folder: str) -> AppContext:
        return AppContext(data_root=tmp_path / "data", runs_dir=tmp_path / "runs",
                          initial_dataset=tmp_path / "data" / folder, cache_dir=tmp_path / "cache")

    text = start_here.line(starting_on(start_here.DEMO_FOLDER))
    assert text.startswith("**Start here**, in three steps. **1. Data**: the demo shapes are already picked")
    assert "**3. Train**: press *Start training*. **5. Predict**: drop a picture in. The **2. Model** tab" in text
    assert "**1. Data**: your folder `pets` is already picked" in start_here.line(starting_on("pets"))
    start_here.store_path(tmp_path / "cache").parent.mkdir(parents=True)
    start_here.store_path(tmp_path / "cache").write_text("{not json")
    assert not start_here.dismissed(tmp_path / "cache")  # an unreadable file: shown


def test_got_it_hides_the_line_in_chromium_and_after_a_reload(tiny_dataset, tmp_path, browser):
    from playwright.sync_api import expect

    ctx = _ctx(tiny_dataset, tmp_path, "cache")
    demo = start_app(ctx)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(demo.local_url)
        line = page.locator("#start-here")
        expect(line).to_contain_text("Start here", timeout=30_000)
        expect(line).to_be_visible()
        page.locator("#start-here-hide").click()
        expect(line).to_be_hidden(timeout=10_000)
        assert start_here.dismissed(ctx.cache_dir)
        page.reload()
        page.get_by_text("4 classes").wait_for(timeout=30_000)  # the page has loaded and run its load events
        expect(page.locator("#start-here")).to_be_hidden()
    finally:
        demo.close()
