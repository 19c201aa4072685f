"""Stop-word lists: short, normalised like the word units, and actually present in real text of their language."""

from __future__ import annotations

import unicodedata

import pytest

from curation.filters.stopwords import STOP_WORDS, stop_words
from curation.filters.words import split_words
from tests.curation.filters.conftest import fixture_text, mo_text

MAIN = "eng deu fra spa ita por nld rus ukr pol ces tur ara fas hin ind vie jpn zho kor".split()


def test_main_languages_have_short_lists_of_single_units():
    assert set(MAIN) <= set(STOP_WORDS)
    for lang in MAIN:
        words = STOP_WORDS[lang]
        assert 15 <= len(words) <= 30, lang
        for word in words:
            assert word == unicodedata.normalize("NFC", word).lower(), (lang, word)
            assert split_words(word) == [word], (lang, word)  # matchable against word units as they are split


def test_lookup_by_tag_alias_and_missing():
    assert stop_words("zho_Hant") is STOP_WORDS["zho"]
    assert stop_words("yue_Hant") is STOP_WORDS["zho"]
    assert stop_words("ENG") is STOP_WORDS["eng"]
    assert stop_words("tha_Thai") is None
    assert stop_words("und") is None


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("eng", lambda: fixture_text("debian-faq.en.txt")),
        ("rus", lambda: fixture_text("ls.1.ru.txt")),
        ("ara", lambda: fixture_text("django-messages.ar.txt")),
        ("zho", lambda: fixture_text("ls.1.zh_CN.txt")),
        ("jpn", lambda: mo_text("ja", "dpkg")),
        ("deu", lambda: mo_text("de", "apt")),
        ("fra", lambda: mo_text("fr", "apt")),
    ],
)
def test_real_text_contains_its_stop_words_and_not_others(lang, text):
    """Most of a language's list occurs in real text of it; an unrelated script's list hardly occurs at all."""
    units = set(split_words(text()))
    own = STOP_WORDS[lang] & units
    assert len(own) >= len(STOP_WORDS[lang]) // 3, sorted(STOP_WORDS[lang] - units)
    other = "ara" if lang != "ara" else "rus"
    assert len(STOP_WORDS[other] & units) < len(own)
