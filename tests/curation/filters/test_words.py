"""Word units: whole words in spaced scripts (marks included), one unit per character in CJK / Thai-family text."""

from __future__ import annotations

import unicodedata

import pytest

from curation.filters.words import WordSplitter, split_words
from tests.curation.filters.conftest import fixture_text, mo_text


def _letters_only(token: str) -> bool:
    return bool(token) and all(unicodedata.category(c)[0] in "LM" for c in token)


def _unspaced(ch: str) -> bool:
    """Han or kana letters (the katakana middle dot is punctuation, not a unit)."""
    name = unicodedata.name(ch, "")
    return unicodedata.category(ch)[0] == "L" and name.startswith(("CJK UNIFIED", "HIRAGANA", "KATAKANA"))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(lambda: fixture_text("debian-faq.en.txt"), id="eng"),
        pytest.param(lambda: fixture_text("ls.1.ru.txt"), id="rus"),
        pytest.param(lambda: fixture_text("django-messages.ar.txt"), id="ara"),
        pytest.param(lambda: mo_text("hi", "at-spi2-core"), id="hin"),
    ],
)
def test_spaced_scripts_keep_whole_words(text):
    """Every whitespace token made only of letters and combining marks comes out as one unit (vowel signs too)."""
    text = text()
    units = set(split_words(text))
    tokens = {t.lower() for t in text.split() if _letters_only(t)}
    assert tokens
    assert tokens <= units, sorted(tokens - units)[:10]
    if any(unicodedata.category(c) in ("Mn", "Mc") for t in tokens for c in t):  # marks really were exercised
        assert any(any(unicodedata.category(c) in ("Mn", "Mc") for c in u) for u in units)


def _strip_edges(token: str) -> str:
    """Independent reference: drop leading/trailing characters that are not letters, marks or digits."""
    keep = [unicodedata.category(c)[0] in "LMN" for c in token]
    if not any(keep):
        return ""
    return token[keep.index(True) : len(token) - keep[::-1].index(True)]


@pytest.mark.parametrize("name", ["debian-faq.en.txt", "ls.1.ru.txt", "django-messages.ar.txt"])
def test_spaced_units_are_whitespace_tokens_without_edge_punctuation(name):
    """Gopher's whitespace words, minus punctuation at the edges; punctuation-only tokens are not words."""
    text = fixture_text(name)
    expected = [w for w in (_strip_edges(t.lower()) for t in text.split()) if w]
    assert split_words(text) == expected
    assert len(expected) < len(text.split())  # the texts do hold punctuation-only tokens ("--", "*")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(lambda: fixture_text("ls.1.zh_CN.txt"), id="zho"),
        pytest.param(lambda: mo_text("ja", "dpkg"), id="jpn"),
    ],
)
def test_han_and_kana_characters_are_units(text):
    text = text()
    units = split_words(text)
    cjk_chars = [c for c in text.lower() if _unspaced(c)]
    cjk_units = [u for u in units if any(_unspaced(c) for c in u)]
    assert len(cjk_chars) > 500
    assert cjk_units == cjk_chars  # one unit per character, in order
    latin = {t.lower() for t in text.split() if t.isascii() and t.isalpha()}
    assert latin and latin <= set(units)  # Latin words inside CJK text stay words


def test_splitter_is_reusable_and_matches_helper():
    text = fixture_text("ls.1.ru.txt")
    splitter = WordSplitter()
    assert splitter(text) == splitter(text) == split_words(text)
