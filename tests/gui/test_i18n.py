"""Languages: every English text has its translations, the translator fills templates and leaves data alone, and a
real Gradio app answers each request in the language its browser asks for."""
from __future__ import annotations

import json
import re
import threading

import gradio as gr
import pytest
from gradio_client import Client

from gui import words
from gui.i18n import LANGUAGE, LANGUAGES, Translator, language_of, translate
from gui.i18n_blocks import Blocks
from gui.i18n_catalogue import core_sentences, gui_words, translation_file, translations

FIELD = re.compile(r"(?<!\{)\{[^{}]*\}")
OTHERS = [language for language in LANGUAGES if language != "en"]


def _fields(text: str) -> set[str]:
    """The names of a template's fields (specs and conversions aside; bare {} numbered in order)."""
    names, auto = set(), 0
    for field in FIELD.findall(text.replace("{{", "").replace("}}", "")):
        name = re.split(r"[:!]", field[1:-1])[0]
        if name == "":
            name, auto = str(auto), auto + 1
        names.add(name)
    return names


@pytest.mark.parametrize("language", OTHERS)
@pytest.mark.parametrize("part, english", [("words", gui_words), ("core", core_sentences)])
def test_every_text_is_translated_with_the_same_fields(language, part, english):
    path = translation_file(language, part)
    table = json.loads(path.read_text(encoding="utf-8"))
    texts = english()
    missing = [text for text in texts if text not in table]
    assert not missing, f"{len(missing)} text(s) have no {language} translation in {path.name}, e.g. {missing[:5]}"
    stale = sorted(set(table) - set(texts))
    assert not stale, f"{path.name} translates {len(stale)} text(s) the app no longer has, e.g. {stale[:5]}"
    wrong = [text for text in texts if _fields(text) != _fields(table[text])]
    assert not wrong, f"{language} translations with other fields than the English: {wrong[:5]}"
    lines = [text for text in texts if text.count("\n") != table[text].count("\n")]
    assert not lines, f"{language} translations with other line breaks than the English: {lines[:5]}"


def test_a_sentence_added_to_core_is_found_by_the_catalogue(tmp_path):
    from gui.i18n_catalogue import _file_sentences

    source = 'def f(n, path):\n    """A docstring is no sentence for the page."""\n' \
             '    log.warning("nor is a log line with words")\n' \
             '    raise ValueError(f"{path} has {n} broken pictures; fix them first.")\n'
    assert _file_sentences(source) == ["{0} has {1} broken pictures; fix them first."]


@pytest.mark.parametrize("header, language", [
    ("es-ES,es;q=0.9,en;q=0.8", "es"), ("zh-CN,zh;q=0.9", "zh-CN"), ("zh-TW", "zh-CN"), ("fr-FR,fr;q=0.9", "en"),
    ("fr;q=0.9,es;q=0.8", "es"), ("en-US,en;q=0.9,es;q=0.5", "en"), ("es;q=0.2,zh;q=0.8", "zh-CN"), (None, "en"),
    ("", "en"), ("*", "en"),
])
def test_language_of_the_browser(header, language):
    assert language_of(header) == language


def test_translator_fills_templates_and_leaves_data_alone():
    table = {"Start training": "Empezar", "head only": "solo la cabeza",
             "Epoch {epoch}/{epochs} · step {step}": "Época {epoch}/{epochs} · paso {step}",
             "Swept the {trains} in {seconds:.0f} s.": "Barrido de {trains} en {seconds:.0f} s.",
             "{0} has {1} pictures": "{1} imágenes en {0}", "Stop": "Parar", "Stop now.": "Para ya.",
             "right": "correcta"}
    t = Translator(table)
    assert t.translate("Epoch 3/10 · step 7") == "Época 3/10 · paso 7"
    assert t.translate("Swept the head only in 12 s.") == "Barrido de solo la cabeza en 12 s."  # a field in words
    assert t.translate("cats/ has 40 pictures") == "40 imágenes en cats/"  # fields reordered, the path untouched
    assert t.translate("- **Start training**") == "- **Empezar**"
    assert t.translate("Start training\nStop") == "Empezar\nParar"
    assert t.translate("Stop now. Start training") == "Para ya. Empezar"
    assert t.translate("  Stop ") == "  Parar "
    assert t.translate("right") == "right"  # one lowercase word may be a class called "right"
    assert t.translate("Nothing we know") == "Nothing we know"


def test_a_template_keeps_to_its_own_sentence():
    table = {"Reading {count} images; engine: {engine}, {note}.": "Leyendo {count} imágenes; motor: {engine}, {note}.",
             "exported once and cached": "exportado y guardado",
             "The rest is kept too ({mb} MB).": "El resto se guarda ({mb} MB).",
             "Details:\n\n{recipe}": "Detalles:\n\n{recipe}", "Stop now.": "Para ya."}
    t = Translator(table)
    # {note} could take the next sentence too; each sentence is a catalogue text, so each is translated on its own
    assert t.translate("Reading 4 images; engine: ort, exported once and cached. The rest is kept too (2 MB).") == \
        "Leyendo 4 imágenes; motor: ort, exportado y guardado. El resto se guarda (2 MB)."
    # a field that holds several sentences of its own still fills its template
    assert t.translate("Details:\n\nStop now. Nothing we know.") == "Detalles:\n\nPara ya. Nothing we know."


def test_every_language_translates_a_train_tab_message():
    message = words.EPOCH_STEP.format(epoch=2, epochs=5, stage="", step=3, total=9)
    for language in OTHERS:
        said = translate(message, language)
        assert said != message and "2/5" in said and "3/9" in said, (language, said)


def _tiny_app() -> gr.Blocks:
    with Blocks() as demo:
        button = gr.Button(words.START_TRAINING, elem_id="go")
        out = gr.Markdown(words.WAITING)
        status = gr.Textbox(interactive=False)
        typed = gr.Textbox()

        def answer(text):
            said = words.EPOCH_STEP.format(epoch=1, epochs=2, stage="", step=1, total=4)
            return said, f"{LANGUAGE.get()} in {threading.current_thread().name}", text

        def steps():
            for step in (1, 2):
                yield words.EPOCH_STEP.format(epoch=1, epochs=2, stage="", step=step, total=4)

        def fails():
            raise gr.Error(words.NOTHING_TRAINING)

        button.click(answer, typed, [out, status, typed], api_name="answer")
        button.click(steps, None, out, api_name="steps")
        button.click(fails, None, out, api_name="fails")
    return demo


def test_a_request_is_answered_in_its_browser_language():
    from tests.conftest import unused_port

    demo = _tiny_app()
    demo.launch(server_name="127.0.0.1", server_port=unused_port(), prevent_thread_lock=True, quiet=True)
    try:
        spanish = Client(demo.local_url, verbose=False, headers={"Accept-Language": "es-ES,es;q=0.9"})
        markdown, status, typed = spanish.predict(words.START_TRAINING, api_name="/answer")
        assert markdown == translate(words.EPOCH_STEP.format(epoch=1, epochs=2, stage="", step=1, total=4), "es")
        assert markdown.startswith("Época")
        assert status.startswith("es in ") and "MainThread" not in status  # the worker thread knew the language
        assert typed == words.START_TRAINING  # what a user typed is never translated
        steps = spanish.submit(api_name="/steps")
        assert [text.startswith("Época") for text in steps] and steps.result().startswith("Época")
        with pytest.raises(Exception, match=re.escape(translate(words.NOTHING_TRAINING, "es"))):
            spanish.predict(api_name="/fails")
        english = Client(demo.local_url, verbose=False, headers={"Accept-Language": "en-GB"})
        assert english.predict("x", api_name="/answer")[0].startswith("Epoch 1/2")
        chinese = Client(demo.local_url, verbose=False, headers={"Accept-Language": "zh-CN"})
        assert chinese.predict("x", api_name="/answer")[1].startswith("zh-CN in ")
        config = demo.get_config_file()
        button = next(c for c in config["components"] if c["props"].get("elem_id") == "go")
        key = re.search(r'"key": "([^"]+)"', button["props"]["value"]).group(1)
        assert config["i18n_translations"]["es"][key] == translations("es")[words.START_TRAINING]
        assert config["i18n_translations"]["zh-CN"][key] == translations("zh-CN")[words.START_TRAINING]
    finally:
        demo.close()


def test_the_demo_view_a_shared_link_serves_follows_the_browser(tmp_path):
    from gui import AppContext
    from gui.app import build_app

    ctx = AppContext(data_root=tmp_path, runs_dir=tmp_path / "runs", initial_dataset=tmp_path)
    demo = build_app(ctx, view="demo")
    assert isinstance(demo, Blocks)
    config = demo.get_config_file()
    for language in OTHERS:
        shown = set(config["i18n_translations"][language].values())
        for text in (words.DEMO_INTRO, words.DEMO_PREDICT, words.DEMO_EVALUATE, words.SHARED_RUN):
            assert translations(language)[text] in shown, (language, text)


def test_a_long_train_log_is_translated_line_by_line():
    lines = [words.EPOCH_LINE.format(epoch=epoch, valid_acc=0.9, train_acc=0.8, valid_loss=0.3, train_loss=0.4,
                                     best=words.BEST_SO_FAR if epoch % 3 == 0 else "") for epoch in range(1, 400)]
    lines.append(words.RUN_ENDED.format(verb=words.DONE, seconds=60, epochs=399, acc=0.9, best_epoch=3,
                                        run_id="r1"))
    for language in OTHERS:
        said = translate("\n".join(lines), language).splitlines()
        assert len(said) == len(lines)
        english = [line for line in said if translate(line, language) == line and line in lines]
        assert not english, (language, english[:3])
        assert all(translations(language)[words.BEST_SO_FAR] in said[epoch - 1] for epoch in (3, 6, 399))


def test_a_class_named_like_one_of_our_words_stays_as_it_is():
    text = words.FOUND.format(layout=words.LAYOUT_WORDS["split"], count=4, classes="Stop, Done, Predict, cat",
                              totals="x", skipped="y", files=3, seconds=1.0, remembered="")
    for language in OTHERS:
        assert "Stop, Done, Predict, cat" in translate(text, language), translate(text, language)
