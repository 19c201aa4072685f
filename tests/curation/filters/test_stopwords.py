"""Stop-word lists: short, normalised like the word units, found in real prose of their language, not in lists."""

from __future__ import annotations

import unicodedata
from importlib import resources

import pytest

from curation.config_merge import merged_filter_config
from curation.filters.gopher_quality import GopherQualityFilter
from curation.filters.stopwords import stop_word_lists, stop_words
from curation.filters.words import split_words
from tests.curation.filters.conftest import fixture_text, mo_text

MAIN = "eng deu fra spa ita por nld rus ukr pol ces tur arb pes hin ind vie jpn zho kor fin hun".split()


def test_lists_are_short_and_made_of_single_word_units():
    lists = stop_word_lists()
    assert set(MAIN) <= set(lists)
    assert len(lists) >= 40
    for lang, words in lists.items():
        assert 10 <= len(words) <= 20, lang
        for word in words:
            assert word == unicodedata.normalize("NFC", word).lower(), (lang, word)
            assert split_words(word) == [word], (lang, word)  # matchable against word units as they are split


def test_data_file_carries_the_stopwords_iso_licence():
    header = resources.files("curation.filters").joinpath("stopwords.tsv").read_text(encoding="utf-8")[:3000]
    assert "stopwords-iso 1.1.0" in header and "MIT License" in header and "Copyright (c)" in header


def test_lookup_by_tag_alias_and_missing():
    lists = stop_word_lists()
    assert stop_words("zho_Hant") is lists["zho"]
    assert stop_words("yue_Hant") is lists["zho"]
    assert stop_words("ENG") is lists["eng"]
    assert stop_words("ary_Arab") is stop_words("arb_Arab") is lists["arb"]  # Arabic varieties share the list
    assert stop_words("prs_Arab") is lists["pes"]
    assert stop_words("srp_Latn") is lists["hrv"]
    assert stop_words("srp_Cyrl") is None  # no Cyrillic list: the check is skipped, not run with Latin words
    assert stop_words("tha_Thai") is None
    assert stop_words("und") is None


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("eng", lambda: fixture_text("debian-faq.en.txt")),
        ("rus", lambda: fixture_text("ls.1.ru.txt")),
        ("arb", lambda: fixture_text("django-messages.ar.txt")),
        ("zho", lambda: fixture_text("ls.1.zh_CN.txt")),
        ("jpn", lambda: mo_text("ja", "dpkg")),
        ("deu", lambda: mo_text("de", "apt")),
        ("fra", lambda: mo_text("fr", "apt")),
        ("fin", lambda: mo_text("fi", "coreutils")),
        ("tur", lambda: mo_text("tr", "coreutils")),
    ],
)
def test_real_text_contains_its_stop_words_and_not_others(lang, text):
    """Most of a language's list occurs in real text of it; an unrelated language's list hardly occurs at all."""
    units = set(split_words(text()))
    own = stop_word_lists()[lang] & units
    assert len(own) >= len(stop_word_lists()[lang]) // 2, sorted(stop_word_lists()[lang] - units)
    other = "arb" if lang != "arb" else "rus"
    assert len(stop_word_lists()[other] & units) < len(own)


def _only_stop_word_rule() -> GopherQualityFilter:
    cfg = merged_filter_config({})["gopher_quality"]
    off = {k: None for k, v in cfg.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return GopherQualityFilter({**off, "min_stop_words": 2})


def _windows(text: str, size: int = 100) -> list[str]:
    units = split_words(text)
    return [" ".join(units[i : i + size]) for i in range(0, len(units) - size + 1, size)]


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("de", "deu_Latn"), ("ru", "rus_Cyrl"), ("ja", "jpn_Jpan"), ("fi", "fin_Latn"), ("ko", "kor_Hang")],
)
def test_check_tells_prose_from_a_real_list(locale, lang):
    """100-word windows: a list of language names (iso-codes catalogue) fails, the language's messages pass."""
    flt = _only_stop_word_rule()
    names = _windows(mo_text(locale, "iso_639-2"))
    prose = _windows(mo_text(locale, "apt"))
    assert names and prose
    failed = [flt.evaluate(w, split_words(w), lang, lang[4:])[0] for w in names]
    passed = [flt.evaluate(w, split_words(w), lang, lang[4:])[0] for w in prose]
    assert failed.count("gopher_quality:too_few_stop_words") >= 0.8 * len(names)
    assert passed.count(None) >= 0.9 * len(prose)


def test_a_repeated_stop_word_counts_once():
    """Gopher asks for two different function words: keyword spam repeating "the" is not prose."""
    flt = _only_stop_word_rule()
    spam = " ".join(["the", "cheap", "pills"] * 30)
    reason, stats = flt.evaluate(spam, split_words(spam), "eng_Latn", "Latn")
    assert reason == "gopher_quality:too_few_stop_words" and stats["gopher_quality:stop_words"] == 1
