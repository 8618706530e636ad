"""The app in each visitor's language: the language a request asks for, and English text translated into it.

The code keeps speaking English (gui.words, core's sentences); text is translated where it leaves for the page
(gui.i18n_blocks). A sentence is found whole in the catalogue, or as a template whose fields are filled (numbers,
file names and class names pass through untouched; a field that is itself a catalogue text is translated too), or
else it is cut into lines, then sentences, and each piece is tried. What is not found stays English.
"""
from __future__ import annotations

import contextvars
import re
import string
from dataclasses import dataclass
from functools import lru_cache

from gui.i18n_catalogue import translations

ENGLISH = "en"
LANGUAGES = {"en": "English", "es": "Español", "zh-CN": "简体中文"}
# A browser's language -> ours: its primary subtag decides (es-MX -> es; every Chinese -> Simplified Chinese).
PRIMARY = {"en": "en", "es": "es", "zh": "zh-CN"}
LANGUAGE = contextvars.ContextVar("language", default=ENGLISH)
# One lowercase word ("valid", "cat"): as likely a class or a value as a word of ours; never translated alone.
CODE_WORD = re.compile(r"[a-z][a-z0-9_\-]*")
MARKDOWN_PREFIX = re.compile(r"(\s*(?:[-*+]|\d+\.|#{1,6}|>)\s+|\s*(?:⚠️|✅|❌|ℹ️)\s*)(.+)", re.DOTALL)
SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z¿¡`*(\"'])")
PIECE_SEPARATORS = ("\n\n", "\n", " · ")
LIST_SEPARATOR = ", "
SENTENCE_JOINER = {"zh-CN": ""}  # Chinese puts no space after "。"
DEPTH = 4
LONGEST_TEMPLATE_MATCH = 2000  # longer texts are cut into pieces first: a regex over a whole log is slow
# Fields whose one-word values are our words, not a user's ("Done", "Stopped", "Finished"), as regex group names.
WORD_FIELDS = {"f_verb", "f_status", "f_state"}


def language_of(accept_language: str | None) -> str:
    """The first language of an Accept-Language header that the app speaks (by preference weight), else English."""
    offers = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = re.search(r"q=([0-9]*\.?[0-9]+)(?![0-9.])", params)
        offers.append((-float(weight.group(1)) if weight else -1.0, position, tag.strip()))
    for _, _, tag in sorted(offers):
        primary = tag.split("-")[0].lower()
        if primary in PRIMARY:
            return PRIMARY[primary]
    return ENGLISH


def _group(name: str, used: dict[str, str], greedy: bool, character: str) -> str:
    """A regex group for a template field; the same field twice must hold the same text. A field right before
    another takes what it can (in "{epochs}{stage}" the optional stage is what is left)."""
    safe = "f_" + re.sub(r"\W", "_", name)
    if safe in used:
        return f"(?P={safe})"
    used[safe] = name
    return f"(?P<{safe}>{character}*{'' if greedy else '?'})"


def _field_character(literal: str) -> str:
    """What a field's text may hold: a line break or " · " only where the template itself has one ("{duration}
    left" is not a whole progress line ending in "left"; an epoch line's last field is not the rest of the log)."""
    line = "." if "\n" in literal else "[^\n]"
    return line if " · " in literal else f"(?:(?! · ){line})"


def _fields(template: str) -> list[tuple[str, str | None]]:
    """A template's (literal, field name) pieces, bare `{}` fields numbered in order."""
    pieces, auto = [], 0
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        if name == "":
            name, auto = str(auto), auto + 1
        pieces.append((literal, name))
    return pieces


@dataclass(frozen=True)
class Template:
    """One catalogue text with fields: how to recognise it in English, and its translation with the fields named."""

    pattern: re.Pattern
    anchor: str  # its longest literal piece: a cheap test before the regex
    target: str
    literal_length: int

    def fill(self, match: re.Match, translate) -> str:
        """The translation with the English text's field values, each translated if it is catalogue text of several
        words, or of one word in a field that holds our words ({verb}: "Done"); a class called "Stop" stays."""
        values = {key: translate(value) if " " in value.strip() or key in WORD_FIELDS else value
                  for key, value in match.groupdict().items()}
        return self.target.format(**values)


def _target(translated: str) -> str:
    """The translation as a format string whose fields are the regex's group names (no spec: values are text)."""
    out = []
    for literal, name in _fields(translated):
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is not None:
            out.append("{f_" + re.sub(r"\W", "_", name) + "}")
    return "".join(out)


def _template(english: str, translated: str) -> Template | None:
    """A Template for an English text with fields, or None when its translation's fields do not match it."""
    used: dict[str, str] = {}
    regex, literals = [], []
    pieces = _fields(english)
    character = _field_character("".join(literal for literal, _ in pieces))
    for index, (literal, name) in enumerate(pieces):
        regex.append(re.escape(literal))
        literals.append(literal)
        if name is not None:
            following = pieces[index + 1] if index + 1 < len(pieces) else ("", None)
            regex.append(_group(name, used, following[0] == "" and following[1] is not None, character))
    if {name for _, name in _fields(translated) if name is not None} != set(used.values()):
        return None
    anchor = max(literals, key=len)
    return Template(re.compile("".join(regex), re.DOTALL), anchor, _target(translated), sum(map(len, literals)))


class Translator:
    """English -> one language: exact texts, then templates (the most literal text first), then piece by piece."""

    def __init__(self, table: dict[str, str], joiner: str = " ") -> None:
        self.joiner = joiner  # between sentences translated one by one
        self.exact: dict[str, str] = {}
        templates = []
        for english, translated in table.items():
            has_fields = any(name is not None for _, name in _fields(english))
            if not has_fields:
                self.exact[english.replace("{{", "{").replace("}}", "}")] = translated.replace(
                    "{{", "{").replace("}}", "}")
                continue
            template = _template(english, translated)
            if template is not None and re.search(r"[A-Za-z]{2,}", template.anchor):
                templates.append(template)
        self.templates = sorted(templates, key=lambda t: -t.literal_length)
        self.translate = lru_cache(maxsize=20_000)(self._translate)

    def _whole(self, text: str, depth: int, strict: bool = False) -> str | None:
        """The text's translation as one catalogue entry, or None; `strict`: only with each field in its sentence."""
        if CODE_WORD.fullmatch(text):
            return None
        if text in self.exact:
            return self.exact[text]
        if len(text) > LONGEST_TEMPLATE_MATCH:
            return None
        loose = None
        for template in self.templates:
            if template.anchor in text:
                match = template.pattern.fullmatch(text)
                if match and self._fits(match, depth):
                    return template.fill(match, lambda value: self.translate(value, depth + 1))
                loose = loose or (match and (template, match))
        if loose is None or strict or self._each_piece_whole(text, depth):
            return None  # the sentences are translated one by one
        return loose[0].fill(loose[1], lambda value: self.translate(value, depth + 1))

    def _fits(self, match: re.Match, depth: int) -> bool:
        """Whether each field of a match stays in its sentence: a value that runs over a line or a sentence end is a
        catalogue text itself. Else the template may have swallowed the sentences around it ("{names} have enough."
        takes all of "About 9 more pictures of a would help. b have enough.")."""
        spanning = [value for value in match.groupdict().values() if "\n" in value or SENTENCE_END.search(value)]
        return not spanning or depth < DEPTH and all(self._whole(value, depth + 1, True) is not None
                                                     for value in spanning)

    def _each_piece_whole(self, text: str, depth: int) -> bool:
        """Whether the text is several lines or sentences that are each a catalogue text (then a template that
        spans them is not the text's own)."""
        pieces = [piece for line in text.split("\n") for piece in SENTENCE_END.split(line.strip()) if piece.strip()]
        return len(pieces) > 1 and depth < DEPTH and all(self._whole(piece, depth + 1, True) is not None
                                                         for piece in pieces)

    def _translate(self, text: str, depth: int = 0) -> str:
        if depth > DEPTH or not text or not text.strip() or not re.search(r"[A-Za-z]{2,}", text):
            return text
        if text in self.exact and not CODE_WORD.fullmatch(text):  # a glued piece such as " · best so far, saved"
            return self.exact[text]
        stripped = text.strip()
        if stripped != text:
            start = text.index(stripped[0])
            return text[:start] + self._translate(stripped, depth) + text[start + len(stripped):]
        whole = self._whole(text, depth)
        if whole is not None:
            return whole
        for separator in PIECE_SEPARATORS:
            if separator in text:
                return separator.join(self._translate(piece, depth) for piece in text.split(separator))
        prefix = MARKDOWN_PREFIX.fullmatch(text)
        if prefix:
            return prefix.group(1) + self._translate(prefix.group(2), depth)
        if text.startswith("**") and text.endswith("**") and len(text) > 4:
            return "**" + self._translate(text[2:-2], depth) + "**"
        sentences = SENTENCE_END.split(text)
        if len(sentences) > 1:
            return self.joiner.join(self._translate(sentence, depth) for sentence in sentences)
        name, colon, rest = text.partition(": ")
        if colon and CODE_WORD.fullmatch(name):  # "flip: mirror left-right": the name stays, its words do not
            return name + colon + self._translate(rest, depth)
        if LIST_SEPARATOR in text:  # a list of our phrases ("the head, the learning rate"); one-word items stay
            return LIST_SEPARATOR.join(self._translate(item, depth) if " " in item.strip() else item
                                       for item in text.split(LIST_SEPARATOR))
        return text


@lru_cache(maxsize=None)
def translator(language: str) -> Translator | None:
    """The translator into a language (None for English, which needs none)."""
    return None if language == ENGLISH else Translator(translations(language), SENTENCE_JOINER.get(language, " "))


def translate(text: str, language: str | None = None) -> str:
    """English text in `language` (default: the language of the request being answered)."""
    found = translator(language or LANGUAGE.get())
    return text if found is None or not isinstance(text, str) else found.translate(text)


def translate_word(text: str, language: str | None = None) -> str:
    """A column header or other single word of ours, found only whole (even one lowercase word: no class here)."""
    found = translator(language or LANGUAGE.get())
    return text if found is None or not isinstance(text, str) else found.exact.get(text, text)
