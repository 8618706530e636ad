"""The app's words live in gui/words.py: the tabs hold no sentences of their own, and every name has its words."""
import ast
import inspect
import re
import string
from pathlib import Path

import pytest

from gui import words

GUI = Path(words.__file__).parent
WORDY_KEYWORDS = {"label", "info", "placeholder", "title"}
WORDY_FIRST_ARGUMENT = {"Markdown", "Button", "Tab", "Accordion", "Error", "HTML", "Checkbox"}


def _gradio_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "gr"):
            yield node


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)
                                                and node.value.strip() != "")


@pytest.mark.parametrize("path", sorted(p for p in GUI.rglob("*.py") if p.name != "words.py"),
                         ids=lambda p: str(p.relative_to(GUI)))
def test_gradio_components_take_their_words_from_the_words_module(path):
    found = []
    for call in _gradio_calls(ast.parse(path.read_text())):
        texts = [k.arg for k in call.keywords if k.arg in WORDY_KEYWORDS and _is_text(k.value)]
        if call.func.attr in WORDY_FIRST_ARGUMENT and call.args and _is_text(call.args[0]):
            texts.append("first argument")
        found += [f"line {call.lineno}: gr.{call.func.attr}({t}=...)" for t in texts]
    assert not found, f"words written in {path.name} instead of gui/words.py: {found}"


def test_every_health_warning_kind_has_a_title():
    from core.data import health_rules

    source = inspect.getsource(health_rules)
    kinds = set(re.findall(r'warning\("(\w+)"', source)) | set(re.findall(r'^\s+"(\w+)": "', source, re.M))
    assert {"empty_class", "leakage", "tiny"} <= kinds  # the patterns still find what the rules raise
    assert kinds == set(words.WARNING_TITLES)


@pytest.mark.parametrize("folders", [("train/", "valid/"), ("train/",), ("",)], ids=["split", "train-only", "flat"])
def test_every_layout_the_scan_reports_has_its_words(tmp_path, folders):
    from PIL import Image

    from core.data.scan import scan_dataset

    for folder in folders:
        for cls in ("cat", "dog"):
            (tmp_path / folder / cls).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (16, 16)).save(tmp_path / folder / cls / f"{i}.png")
    layout = scan_dataset(tmp_path, 0.2).layout
    assert "{seed}" in words.LAYOUT_WORDS[layout] or layout == "split"


def test_templates_name_their_fields():
    """Positional `{}` holes are only used by WARN; every other template says what goes where."""
    for name, value in vars(words).items():
        if name.isupper() and isinstance(value, str) and name != "WARN":
            holes = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
            assert all(holes), f"words.{name} has an unnamed {{}}"
