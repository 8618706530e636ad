"""The English catalogue the translations answer: every word of gui/words*.py, and every sentence core can hand the GUI.

The gui's words are read from its words modules (str constants, and the str leaves of their dicts, lists and
tuples); core's sentences are gathered from core's source (string literals and f-strings with two words or more,
f-string fields written `{0}`, `{1}`, ...), so that a sentence added to core without its translations fails a test.
A translation file maps each English text to its translation, with the same {fields}.
"""
from __future__ import annotations

import ast
import importlib
import json
import re
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORE = HERE.parent / "core"
LOCALES = HERE / "locales"
WORD_MODULES = ("gui.words",)  # it star-imports the other words modules
# Core files whose text never reaches the app's pages: the terminal, a copied script, a model card in English.
CORE_SKIPPED = ("cli/", "bootstrap.py", "system.py", "__init__.py", "__main__.py", "export/model_card.py",
                "export/standalone_predict.py", "export/web_runtime.py", "export/web_page/")
LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "warn", "add_argument"}
WORDS_IN_A_SENTENCE = 2
SQL = re.compile(r"\s*(PRAGMA|SELECT|CREATE|INSERT|UPDATE|DELETE|BEGIN|WITH)\b")


def _leaves(value) -> list[str]:
    """The str leaves of a words constant: itself, or its dict values, list and tuple items (choice values too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _leaves(item)]
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(item, str) for item in value):
        return [value[0]]  # a (label, value) choice: the value is the code's, not the page's
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _leaves(item)]
    return []


def _is_words(text: str) -> bool:
    """Text worth translating: it has letters (a value such as "valid" or "tsne" is one word and still counts)."""
    return bool(re.search(r"[A-Za-z]{2,}", text))


@lru_cache(maxsize=1)
def gui_words() -> tuple[str, ...]:
    """Every English text of the gui's words modules, once each, in module order."""
    seen: dict[str, None] = {}
    for name in WORD_MODULES:
        module = importlib.import_module(name)
        for key, value in vars(module).items():
            if key.isupper():
                seen.update((text, None) for text in _leaves(value) if _is_words(text))
    return tuple(seen)


def _template(node: ast.JoinedStr) -> str:
    """An f-string as a format template: its fields numbered in order, literal braces doubled."""
    parts, number = [], 0
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
        else:
            parts.append("{%d}" % number)
            number += 1
    return "".join(parts)


def _numbered(text: str) -> str:
    """A literal's bare `{}` fields numbered `{0}`, `{1}`, ... (named fields stay as they are)."""
    count = iter(range(1000))
    return re.sub(r"(?<!\{)\{(?=[}:!])", lambda _: "{%d" % next(count), text)


def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Docstrings, the parts of f-strings, and the arguments of log calls: none is a sentence for the page."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            skipped.add(id(body[0].value))
        if isinstance(node, ast.JoinedStr):
            skipped.update(id(value) for value in node.values)
            skipped.update(id(inner) for value in node.values for inner in ast.walk(value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOG_CALLS:
            skipped.update(id(inner) for arg in node.args for inner in ast.walk(arg))
    return skipped


def _file_sentences(source: str) -> list[str]:
    """The sentences of one core file, as templates."""
    tree = ast.parse(source)
    skipped = _skipped_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.JoinedStr):
            found.append(_template(node))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(_numbered(node.value))
    return [text for text in found if not SQL.match(text)
            and " " in text.strip() and len(re.findall(r"[A-Za-z]{2,}", text)) >= WORDS_IN_A_SENTENCE]


@lru_cache(maxsize=1)
def core_sentences() -> tuple[str, ...]:
    """Every sentence core's source can hand the app, once each, in file order."""
    seen: dict[str, None] = {}
    for path in sorted(CORE.rglob("*.py")):
        relative = path.relative_to(CORE).as_posix()
        if not relative.startswith(CORE_SKIPPED):
            seen.update((text, None) for text in _file_sentences(path.read_text(encoding="utf-8")))
    return tuple(seen)


def translation_file(language: str, part: str) -> Path:
    """Where one language's translations of one part ("words" or "core") live."""
    return LOCALES / f"{language}.{part}.json"


@lru_cache(maxsize=None)
def translations(language: str) -> dict[str, str]:
    """English text -> this language's text, both parts together ({} for a language without files)."""
    table: dict[str, str] = {}
    for part in ("words", "core"):
        path = translation_file(language, part)
        if path.exists():
            table.update(json.loads(path.read_text(encoding="utf-8")))
    return table
