"""The main path's words stay plain: their reading ease (textstat's Flesch, bench/readability.py) stays well above
that of the words they replaced, so a rewording that makes them harder fails here."""
import pytest

from bench.readability import (
    AFTER,
    BEFORE_EASE,
    MARGIN,
    RECIPE,
    constant,
    fill,
    main_path_texts,
    plain,
    reading_ease,
    sample_recipe,
)
from gui import words


@pytest.mark.parametrize("section", sorted(AFTER))
def test_every_main_path_name_is_a_word_of_the_app_and_every_field_gets_a_sample(section):
    for name in AFTER[section]:
        if name != RECIPE:
            text = fill(constant(words, name), words, name)
            assert text.strip() and "{" not in text and "}" not in text, name


def test_the_main_path_reads_easier_than_before_the_plain_words():
    texts = [text for section in main_path_texts(words, AFTER, sample_recipe(words)).values() for text in section]
    assert len(texts) == sum(len(names) for names in AFTER.values())
    assert reading_ease(texts) >= BEFORE_EASE + MARGIN


def test_the_measure_tells_jargon_from_plain_words():
    jargon = plain("Recipe: top layers: the head learns on the frozen backbone first, then the backbone's last stage "
                   "adapts too, at 1/10 of the learning rate, on what the layers below it computed once per image.")
    assert reading_ease([jargon]) < reading_ease([plain(sample_recipe(words))])
    assert plain("**Start** `here`\n2. <b>Train</b> ·  now") == "Start here. 2. Train, now."
