"""A gr.Blocks that speaks each visitor's language: the page's fixed words through Gradio's I18n (the browser picks
the language), and whatever a handler sends (messages, errors, charts, updated labels) translated on the server for
the language the request's browser asks for (its Accept-Language).

The tabs never see it: they build and answer in English, and only what crosses to the page is translated.
"""
from __future__ import annotations

import copy
import hashlib
import re
from types import SimpleNamespace

import anyio
import gradio as gr
from gradio.i18n import I18nData

from gui.i18n import ENGLISH, LANGUAGE, LANGUAGES, language_of, translate, translate_word

TEXT_PROPS = ("label", "info", "placeholder", "title", "description")
VALUE_SHOWN = {"markdown", "html", "button", "uploadbutton", "downloadbutton"}  # config types whose value is words
CHOICE_TYPES = {"radio", "dropdown", "checkboxgroup"}
# Gradio's frontend formats a translation as an ICU message: braces would be read as fields.
ICU_UNSAFE = ("{", "}")
TAG = re.compile(r"(<[^<>]+>)")


def words_in(text: str, language: str) -> str:
    """Text in `language`; in Markdown or HTML with tags, the text between the tags (the tags stay as they are)."""
    if "<" not in text or not TAG.search(text):
        return translate(text, language)
    return "".join(part if TAG.fullmatch(part) else translate(part, language) for part in TAG.split(text))


def _shown(block, key: str) -> bool:
    """Whether a prop of this component is words the page shows (a message box's value, not what a user typed)."""
    if key in TEXT_PROPS:
        return True
    if key != "value":
        return False
    if isinstance(block, (gr.Markdown, gr.HTML, gr.Button, gr.UploadButton, gr.DownloadButton)):
        return True
    return isinstance(block, gr.Textbox) and block.interactive is False


def _translated_choices(choices, language: str):
    """(label, value) choices with their labels translated; plain choices (classes, runs, files) left alone."""
    if not isinstance(choices, (list, tuple)):
        return choices
    out = []
    for choice in choices:
        if isinstance(choice, (list, tuple)) and len(choice) == 2 and isinstance(choice[0], str) \
                and choice[0] != choice[1]:
            out.append((translate(choice[0], language), choice[1]))
        else:
            out.append(choice)
    return out


def _figure(figure, language: str):
    """A Plotly figure with its titles, axis titles, trace names and annotations translated (a copy)."""
    import plotly.graph_objects as go

    figure = go.Figure(figure)
    if figure.layout.title.text:
        figure.layout.title.text = translate(figure.layout.title.text, language)
    for axes in (figure.for_each_xaxis, figure.for_each_yaxis):  # an axis title is ours, even one word ("step")
        axes(lambda axis: axis.update(title_text=translate_word(translate(axis.title.text, language), language))
             if axis.title.text else None)
    figure.for_each_trace(lambda trace: trace.update(name=translate(trace.name, language)) if trace.name else None)
    for note in figure.layout.annotations or ():
        if note.text:
            note.text = translate(note.text, language)
    return figure


def _update(block, update: dict, language: str) -> dict:
    """A prop update (gr.update or a component's constructor args) with its shown words translated."""
    update = dict(update)
    for key, value in update.items():
        if isinstance(value, str) and _shown(block, key):
            update[key] = words_in(value, language)
        elif key == "choices":
            update[key] = _translated_choices(value, language)
        elif key == "headers" and isinstance(value, (list, tuple)):
            update[key] = _headers(list(value), language)
    return update


def localize_value(block, value, language: str):
    """One output of a handler, as the page should get it in `language`."""
    if language == ENGLISH or value is None:
        return value
    if isinstance(value, gr.blocks.Block):  # what Gradio makes of a returned component: an update of its args
        return {**_update(block, value.constructor_args, language), "__type__": "update"}
    if isinstance(value, SimpleNamespace) and getattr(value, "_is_component_update", False):
        return SimpleNamespace(**_update(block, vars(value), language))
    if isinstance(value, dict) and value.get("__type__") == "update":
        return _update(block, value, language)
    if isinstance(value, str):
        return words_in(value, language) if _shown(block, "value") else value
    if isinstance(block, gr.Plot) and type(value).__module__.startswith("plotly"):
        return _figure(value, language)
    if isinstance(block, gr.Dataframe) and hasattr(value, "columns"):  # a table's headers, not its cells
        return value.set_axis(_headers(list(value.columns), language), axis="columns")
    return value


def _headers(names: list, language: str) -> list:
    """A table's column names translated when all of them are ours (a confusion matrix's are classes: left alone)."""
    translated = [translate_word(name, language) if isinstance(name, str) else name for name in names]
    ours = all(isinstance(name, str) and (new != name or not re.search("[A-Za-z]", name))
               for name, new in zip(names, translated))
    return translated if ours else names


def localize_outputs(block_fn, predictions, language: str):
    """A handler's return value (one output, a list of them, or a dict by component) in `language`."""
    outputs = list(block_fn.outputs)
    if language == ENGLISH or not outputs:
        return predictions
    if isinstance(predictions, dict) and predictions and all(isinstance(k, gr.blocks.Block) for k in predictions):
        return {block: localize_value(block, value, language) for block, value in predictions.items()}
    if len(outputs) == 1 and not block_fn.batch:
        return localize_value(outputs[0], predictions, language)
    if isinstance(predictions, (list, tuple)):
        return [localize_value(block, value, language) for block, value in zip(outputs, predictions)] \
            + list(predictions[len(outputs):])
    return predictions


def _request_language(request) -> str:
    """The language a request's browser asks for (the first of a batch)."""
    request = request[0] if isinstance(request, list) and request else request
    headers = getattr(request, "headers", None) or {}
    return language_of(headers.get("accept-language"))


def _key(text: str) -> str:
    return "ts." + hashlib.sha1(text.encode()).hexdigest()[:12]


def static_translations(config: dict) -> dict[str, dict[str, str]]:
    """Mark the fixed words of a page's config for Gradio's I18n, in place; returns its dictionaries per language."""
    found: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}

    def mark(text: str):
        versions = {language: words_in(text, language) for language in LANGUAGES}
        if all(version == text for version in versions.values()) or any(
                mark in version for version in versions.values() for mark in ICU_UNSAFE):
            return text
        key = _key(text)
        for language, version in versions.items():
            found[language][key] = version
        return str(I18nData(key))

    _change_shown_props(config.get("components", []), mark)
    return found


def _change_shown_props(components: list, change) -> None:
    """Apply `change` to every shown text of a config's components (labels, infos, words values, choice labels)."""
    for component in components:
        props = component.get("props", {})
        kind = component.get("type", "")
        for key in TEXT_PROPS + ("value",):
            shown = key != "value" or kind in VALUE_SHOWN or (kind == "textbox" and props.get("interactive") is False)
            if shown and isinstance(props.get(key), str):
                props[key] = change(props[key])
        if kind in CHOICE_TYPES and isinstance(props.get("choices"), list):
            props["choices"] = [[change(choice[0]), choice[1]] if isinstance(choice, (list, tuple)) and
                                isinstance(choice[0], str) and choice[0] != choice[1] else choice
                                for choice in props["choices"]]


class Blocks(gr.Blocks):
    """gr.Blocks whose page and answers follow each visitor's language (see the module's docstring)."""

    def get_config_file(self):
        """The page's config, its fixed words marked for the browser to translate. Gradio's /config route (what the
        page fetches after a login) takes the dictionaries from `i18n_instance`, so they are kept there too."""
        config = super().get_config_file()
        self.plain_config = copy.deepcopy(config)
        found = static_translations(config)
        found["zh"] = found["zh-CN"]  # zh-TW, zh-HK: Simplified rather than English
        self.i18n_instance = gr.I18n(**found)
        config["i18n_translations"] = found
        return config

    def get_api_info(self, all_endpoints: bool = False, page: str | None = None):
        """The API page's description, from the unmarked config (its labels in English, not translation keys)."""
        marked, self.config = self.config, getattr(self, "plain_config", self.config)
        try:
            return super().get_api_info(all_endpoints, page)
        finally:
            self.config = marked

    async def process_api(self, block_fn, inputs, state=None, request=None, *args, **kwargs):
        """Answer in the request's language: handlers (in worker threads too) see it as gui.i18n.LANGUAGE; what a
        gr.render draws is translated on the way out."""
        language = _request_language(request)
        token = LANGUAGE.set(language)
        try:
            output = await super().process_api(block_fn, inputs, state, request, *args, **kwargs)
        except gr.Error as error:
            error.message = translate(error.message)
            raise
        finally:
            LANGUAGE.reset(token)
        if language != ENGLISH and output.get("render_config"):
            _change_shown_props(output["render_config"].get("components", []),
                                lambda text: words_in(text, language))
        return output

    async def postprocess_data(self, block_fn, predictions, state):
        """The handler's outputs, translated (off the event loop) into the request's language before Gradio sends
        them."""
        language = LANGUAGE.get()
        if language != ENGLISH:
            predictions = await anyio.to_thread.run_sync(localize_outputs, block_fn, predictions, language)
        return await super().postprocess_data(block_fn, predictions, state)
