"""The real app in headless Chromium set to Spanish, then to Simplified Chinese: tabs, buttons and the Train tab's
messages come in the browser's language (the expected words are read from the translation files, not typed here)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gui import words
from gui.i18n import _fields, translate

LOCALES = {"es-ES": "es", "zh-CN": "zh-CN"}
ASSETS = Path(__file__).resolve().parents[2] / "assets"


def literal(text: str, language: str) -> str:
    """The longest fixed piece of a text's translation: what must show whatever fills its fields."""
    pieces = [re.sub(r"[*`]", "", piece).strip() for piece, _ in _fields(translate(text, language))]
    return max(pieces, key=len)


@pytest.mark.parametrize("locale", list(LOCALES))
def test_the_page_and_the_train_tab_speak_the_browser_language(served_app, browser, locale):
    from playwright.sync_api import expect

    language = LOCALES[locale]
    demo, ctx = served_app
    page = browser.new_context(locale=locale, viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(demo.local_url)
    for tab in (words.TAB_DATA, words.TAB_MODEL, words.TAB_TRAIN, words.TAB_PREDICT):
        expect(page.get_by_role("tab", name=translate(tab, language), exact=True)).to_be_visible(timeout=30_000)
    assert page.get_by_role("tab", name=words.TAB_DATA, exact=True).count() == 0
    # the Data tab's check answers from the server, in this language
    summary = page.locator("#dataset-summary")
    summary.get_by_text(literal(words.FOUND, language)).first.wait_for(timeout=30_000)

    page.get_by_role("tab", name=translate(words.TAB_TRAIN, language), exact=True).click()
    start = page.locator("#start-training")
    expect(start).to_have_text(translate(words.START_TRAINING, language))
    page.get_by_role("tab", name=translate(words.TAB_MODEL, language), exact=True).click()
    page.locator("#epochs input").fill("2")
    page.locator("#epochs input").press("Enter")
    page.get_by_role("tab", name=translate(words.TAB_TRAIN, language), exact=True).click()
    start.click()
    status = page.locator("#train-status")
    status.get_by_text(literal(words.RUN_ENDED, language)).wait_for(timeout=180_000)
    log = page.locator("#train-log textarea").input_value()
    assert literal(words.EPOCH_LINE, language) in log, log
    english = [line for line in log.splitlines() if re.search(r"\b(the|and|of|images?|pictures?)\b", line)]
    assert not english, f"English left in the {locale} log: {english}"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":  # make screenshots: the README shows the Spanish one
        page.screenshot(path=ASSETS / f"train-tab-{locale}.png")
