"""Click through the real app in headless Debian Chromium, as a new user would."""
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ARGS, CHROMIUM

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def test_click_through_data_train_predict(served_app, tiny_dataset, browser, tmp_path):
    from playwright.sync_api import expect

    demo, ctx = served_app
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(demo.local_url)
    page.get_by_text("4 classes").wait_for(timeout=30_000)
    assert page.locator("#dataset-thumbs img").count() >= 4

    page.get_by_role("tab", name="2. Model").click()
    recipe = page.locator("#recipe")
    recipe.get_by_text("Recommended for your 60 pictures:").wait_for(timeout=60_000)  # what one click would do
    expect(recipe).to_contain_text("Recipe: top layers")  # the exact recipe, under a closed fold
    expect(recipe.get_by_text("Recipe: top layers")).to_be_hidden()
    recipe.get_by_text("Details").click()
    expect(recipe.get_by_text("Recipe: top layers")).to_be_visible()
    page.locator("#freeze").get_by_text("Two-stage").click()
    page.locator("#head input").click()
    page.get_by_role("option", name="MLP: a hidden layer").click()
    page.locator("#epochs input").fill("4")
    expect(page.locator("#stage1-epochs input")).to_be_hidden()  # off the main path, under Advanced
    page.locator("#model-advanced").get_by_text("Advanced settings").click()
    page.locator("#stage1-epochs input").fill("2")
    page.locator("#stage1-epochs input").press("Enter")
    # the sentence follows each change: wait for the one that has them all (the epochs come after the mode)
    exact = ("two-stage fine-tuning, as chosen. Schedule: 2 head-only epochs at learning rate 1e-02, then 2 of every "
             "layer at 1e-03.")
    page.wait_for_function("text => document.querySelector('#recipe').textContent.includes(text)", arg=exact,
                           timeout=60_000)
    expect(recipe).to_contain_text("With your changes (the head, what trains, the epochs, the head-only epochs), for "
                                   "your 60 pictures:")
    recipe.get_by_text("Details").click()
    expect(recipe.get_by_text(exact)).to_be_visible()

    page.get_by_role("tab", name="3. Train").click()
    page.locator("#start-training").click()
    expect(page.locator("#start-training")).to_be_disabled()
    page.locator("#train-status").get_by_text("Done in").wait_for(timeout=180_000)
    expect(page.locator("#start-training")).to_be_enabled()
    for plot in ("#loss-plot", "#acc-plot"):
        traces = page.locator(f"{plot} .scatterlayer .trace")
        assert traces.count() == 3, f"{plot} should show raw, smoothed and valid curves"
        assert page.locator(plot).get_by_text("stage 2: every layer").count() == 1, "the switch is marked"
    log = page.locator("#train-log textarea").input_value()
    assert "Stage 2 from epoch 3" in log and "Epoch 4:" in log
    (run,) = ctx.runs()
    config = json.loads((run.path / "config.json").read_text())
    assert (config["freeze"], config["head"], config["stage1_epochs"]) == ("two_stage", "mlp", 2)
    page.screenshot(path=tmp_path / "train.png", full_page=True)

    page.get_by_role("tab", name="4. Evaluate").click()
    page.locator("#evaluate-button").click()
    page.locator("#evaluate-summary").get_by_text("Validation images").wait_for(timeout=120_000)
    page.locator("#confusion [role=gridcell]").nth(1).click()  # row 1 = the first class; column 1 = said the same
    page.locator("#cell-gallery img").first.wait_for(timeout=30_000)
    assert page.locator("#cell-gallery img").count() >= 1
    page.screenshot(path=tmp_path / "evaluate.png", full_page=True)

    page.get_by_role("tab", name="5. Predict").click()
    images = [sorted((tiny_dataset / "valid" / name).iterdir())[0] for name in ("star", "circle")]
    page.locator("#predict-files input[type=file]").set_input_files([str(p) for p in images])
    labels = page.locator(".prediction-label")
    labels.nth(1).wait_for(timeout=60_000)
    assert labels.count() == 2
    for i in range(2):
        text = labels.nth(i).inner_text()
        assert re.search(r"(circle|square|star|triangle)", text) and "%" in text, text


def test_the_webcam_box_labels_the_frames_it_streams(served_app, frozen_run):
    """Chromium's fake camera (a moving shape on green) streams into the Predict tab; its frames get labels."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    demo, ctx = served_app
    frozen_run.copy_into(ctx.runs_dir)
    fake_camera = ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=fake_camera)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1000}, permissions=["camera"]).new_page()
            page.goto(demo.local_url)
            page.get_by_role("tab", name="5. Predict").click()
            page.get_by_text("Live webcam").click()
            page.locator("#predict-webcam button").filter(has_text="Access Webcam").first.click()
            page.locator("#predict-webcam button[aria-label='capture photo']").click()  # streaming: starts it
            label = page.locator("#webcam-label")
            label.get_by_text("%").first.wait_for(timeout=60_000)
            assert re.search(r"(circle|square|star|triangle)", label.inner_text())
        finally:
            browser.close()


def test_the_runs_tab_lists_a_run_and_opens_it(served_app, frozen_run, browser):
    from playwright.sync_api import expect

    demo, ctx = served_app
    frozen_run.copy_into(ctx.runs_dir)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(demo.local_url)
    page.get_by_role("tab", name="8. Runs").click()
    table = page.locator("#runs-table")
    expect(table).to_contain_text(frozen_run.run_id, timeout=30_000)  # the tab re-read the runs folder
    assert "finished" in table.inner_text() and "frozen" in table.inner_text()
    page.locator("#runs-headline").get_by_text("best validation accuracy").wait_for(timeout=30_000)  # newest opened
    expect(page.locator("#runs-acc .scatterlayer .trace")).to_have_count(2, timeout=30_000)  # train, valid per epoch


def test_find_problems_audits_the_dataset_and_shows_the_suspects(served_app, frozen_run, browser):
    """With the frozen run trained, the audit reads the tiny set's features from the cache: a few seconds."""
    demo, _ = served_app
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(demo.local_url)
    page.get_by_text("4 classes").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Find problems").click()
    page.locator("#audit-button").click()
    page.locator("#audit-progress").get_by_text("Audited 60 pictures").wait_for(timeout=120_000)
    assert "look like another class" in page.locator("#audit-note").inner_text()
    page.locator("#audit-suspects img").first.wait_for(timeout=30_000)
    caption = re.compile(r"in (circle|square|star|triangle), looks like (circle|square|star|triangle) \(\d+%\)")
    assert page.locator("#audit-suspects").get_by_text(caption).count() >= 1
    assert page.locator("#audit-curves .scatterlayer .trace").count() == 8  # points and fitted curve per class


def test_build_a_two_class_dataset_by_uploading_files_then_train_it(served_app, browser, tmp_path):
    from playwright.sync_api import expect

    from tests.messy import _noise_image

    demo, ctx = served_app
    uploads = {"red": [], "blue": []}
    for colour, rgb in (("red", (220, 40, 40)), ("blue", (40, 40, 220))):
        for i in range(8):
            path = tmp_path / "uploads" / colour / f"{colour}-{i}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            _noise_image(rgb, seed=i + (50 if colour == "blue" else 0)).save(path)
            uploads[colour].append(str(path))
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(demo.local_url)
    page.get_by_text("4 classes").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Build a dataset").click()
    page.locator("#builder-name input, #builder-name textarea").fill("colours")
    status = page.locator("#builder-status")
    for colour, files in uploads.items():
        page.locator("#builder-class-name input, #builder-class-name textarea").fill(colour)
        page.locator("#builder-add-class").click()
        status.get_by_text(f"Class {colour} is ready").wait_for(timeout=30_000)
        page.locator("#builder-upload input[type=file]").set_input_files(files)
        status.get_by_text(f"Added 8 picture(s) to {colour}").wait_for(timeout=30_000)
    expect(page.locator(".builder-class")).to_have_count(2)
    for colour in uploads:  # the galleries' last re-render has arrived: a click on an older one would be lost
        page.locator(".builder-class").get_by_text(f"{colour} · 8 picture(s)").wait_for(timeout=30_000)
    folder = ctx.data_root / "datasets" / "colours"
    assert sorted(p.name for p in folder.iterdir()) == ["blue", "red"]
    page.locator(".builder-class").filter(has_text="red").locator("button img, .thumbnail-item").first.click()
    page.locator("#builder-remove").click()
    status.get_by_text("Removed").wait_for(timeout=30_000)
    assert len(list((folder / "red").iterdir())) == 7

    page.locator("#builder-use").click()
    page.locator("#dataset-summary").get_by_text("2 classes").wait_for(timeout=30_000)
    assert "one folder per class" in page.locator("#dataset-summary").inner_text()
    page.get_by_role("tab", name="3. Train").click()
    page.locator("#start-training").click()
    page.locator("#train-status").get_by_text("Done in").wait_for(timeout=240_000)
    (run,) = ctx.runs()
    assert run.classes == ["blue", "red"]
    split = json.loads((run.path / "split.json").read_text())
    assert split["layout"] == "flat" and len(split["splits"]["valid"]) == 3  # 20 % of 7 and of 8, rounded


@pytest.mark.timeout(600)
@pytest.mark.skipif(os.environ.get("UPDATE_SCREENSHOTS") != "1", reason="make screenshots re-makes assets/")
def test_screenshot_train_tab_mid_run(tmp_path, browser):
    """assets/ for the README: the first start (Start here), the Model tab's recipe sentence, and train-tab.png: the
    demo data, two-stage, caught in its second stage, then stopped."""
    from core.data.demo import ensure_demo_dataset
    from gui import AppContext
    from tests.conftest import start_app

    dataset = ensure_demo_dataset(tmp_path / "data")
    ctx = AppContext(data_root=dataset.parent, runs_dir=tmp_path / "runs", initial_dataset=dataset)
    demo = start_app(ctx)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 980})
        page.goto(demo.local_url)
        page.get_by_text("4 classes").wait_for(timeout=30_000)
        page.locator("#start-here").wait_for(timeout=30_000)
        ASSETS.mkdir(exist_ok=True)
        page.screenshot(path=ASSETS / "first-start.png")  # the Start here line over the Data tab
        page.get_by_role("tab", name="2. Model").click()
        page.locator("#recipe").get_by_text("Recommended for your").wait_for(timeout=60_000)
        page.screenshot(path=ASSETS / "model-tab.png")  # the recipe in one sentence, the glosses
        page.locator("#freeze").get_by_text("Two-stage").click()
        page.locator("#model-advanced").get_by_text("Advanced settings").click()
        page.locator("#stage1-epochs input").fill("3")
        page.get_by_role("tab", name="3. Train").click()
        page.locator("#start-training").click()
        page.wait_for_function("document.querySelector('#train-log textarea').value.includes('Epoch 4:')",
                               timeout=240_000)
        for plot in ("#loss-plot", "#acc-plot"):  # both charts redrawn with the stage switch marked
            page.locator(plot).get_by_text("stage 2: every layer").wait_for(timeout=60_000)
        shot = tmp_path / "train-tab.png"
        page.screenshot(path=shot)
        page.locator("#stop-training").click()
        page.locator("#train-status").get_by_text("Stopped in").wait_for(timeout=60_000)
        shutil.copy(shot, ASSETS / "train-tab.png")
    finally:
        demo.close()
