"""Gopher repetition rules: real text passes, the same real paragraph said many times does not."""

from __future__ import annotations

import re
from collections import Counter
from itertools import accumulate

import pytest

from curation.config_merge import merged_filter_config
from curation.filters.gopher_repetition import GopherRepetitionFilter, NgramStats, duplicate_fractions
from curation.filters.words import split_words
from tests.curation.filters.conftest import faq_paragraph, faq_section, fixture_text, mo_text


def repetition(override: dict | None = None) -> GopherRepetitionFilter:
    cfg = merged_filter_config({"gopher_repetition": override or {}})["gopher_repetition"]
    return GopherRepetitionFilter(cfg)


def run(flt: GopherRepetitionFilter, text: str, lang: str = "eng_Latn", script: str = "Latn"):
    return flt.evaluate(text, split_words(text), lang, script)


def dup_frac(words: list[str], n: int) -> float:
    return NgramStats(words).dup_frac(n)


def reference_fracs(words: list[str], n: int) -> tuple[float, float]:
    """(top, dup) n-gram character fractions from word tuples, plainly (the definitions, no hashing)."""
    prefix = [0, *accumulate(map(len, words))]
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams or not prefix[-1]:
        return 0.0, 0.0
    counts = Counter(grams)
    gram, top = counts.most_common(1)[0]
    first = grams.index(gram)
    top_frac = 0.0 if top < 2 else min(1.0, top * (prefix[first + n] - prefix[first]) / prefix[-1])
    seen: set[tuple[str, ...]] = set()
    covered = set()
    for i, g in enumerate(grams):
        if g in seen:
            covered.update(range(i, i + n))
        seen.add(g)
    return top_frac, sum(len(words[i]) for i in covered) / prefix[-1]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        pytest.param(lambda: fixture_text("debian-faq.en.txt"), "eng_Latn", id="eng"),
        pytest.param(lambda: fixture_text("ls.1.ru.txt"), "rus_Cyrl", id="rus"),
        pytest.param(lambda: fixture_text("ls.1.zh_CN.txt"), "zho_Hans", id="zho"),
    ],
)
def test_real_documents_pass(text, lang):
    reason, stats = run(repetition(), text(), lang, lang.split("_")[1])
    assert reason is None, stats
    assert stats["gopher_repetition:dup_line_frac"] < 0.3


def test_paragraph_repeated_twenty_times_is_rejected():
    para = faq_paragraph()
    reason, stats = run(repetition(), "\n\n".join([para] * 20))
    assert reason is not None and reason.startswith("gopher_repetition:")
    assert stats["gopher_repetition:dup_para_frac"] == pytest.approx(19 / 20)
    assert stats["gopher_repetition:dup_10gram_char_frac"] > 0.9
    assert run(repetition(), para)[0] is None  # the paragraph itself is fine


def test_repeats_count_after_the_first_occurrence():
    """Text said twice: the second copy is duplicate, the first only where it repeats itself: (1 + f) / 2."""
    words = split_words(faq_section())
    for n in (5, 10):
        once = dup_frac(words, n)
        assert dup_frac(words + words, n) == pytest.approx((1 + once) / 2)


def test_duplicate_lines():
    lines = [line.strip() for line in faq_paragraph().split("\n")]
    frac, char_frac = duplicate_fractions(lines + lines)
    assert frac == 0.5 and char_frac == 0.5
    assert duplicate_fractions(lines) == (0.0, 0.0)


def test_japanese_uses_character_scaled_ngrams():
    """Character units repeat more at the same n: word-level n would reject real Japanese (apt's messages)."""
    text = mo_text("ja", "apt")
    reason, stats = run(repetition(), text, "jpn_Jpan", "Jpan")
    assert reason is None, stats
    assert "gopher_repetition:dup_5gram_char_frac" not in stats
    sizes = [int(m[1]) for k in stats if (m := re.fullmatch(r"gopher_repetition:dup_(\d+)gram_char_frac", k))]
    assert sizes and min(sizes) > 10
    unscaled = {key: value for key, value in GopherRepetitionFilter.DEFAULTS.items() if "gram" in key}
    strict = repetition({"languages": {"jpn": unscaled}})
    assert run(strict, text, "jpn_Jpan", "Jpan")[0] == "gopher_repetition:dup_5gram_char_frac"


def test_ngram_sizes_are_configurable():
    para = faq_paragraph()
    text = f"{para}\n\n{para}"
    flt = repetition(
        {**{k: None for k in GopherRepetitionFilter.DEFAULTS if k != "enabled"}, "dup_30gram_char_frac": 0.4}
    )
    reason, stats = run(flt, text)
    assert stats["gopher_repetition:dup_30gram_char_frac"] == pytest.approx(0.5)
    assert reason == "gopher_repetition:dup_30gram_char_frac"
    with pytest.raises(ValueError, match="unknown setting"):
        repetition({"dup_ngram_char_frac": 0.1})


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 12, 25, 40])
def test_ngram_keys_group_positions_like_word_tuples(n):
    """Polynomial hash keys must say "same n-gram" exactly where the word tuples are equal."""
    words = split_words(fixture_text("debian-faq.en.txt"))[:20000]
    keys = NgramStats(words).keys(n).tolist()
    tuples = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    assert len(keys) == len(tuples)
    first_by_key: dict[int, int] = {}
    first_by_tuple: dict[tuple[str, ...], int] = {}
    for i, (key, gram) in enumerate(zip(keys, tuples, strict=True)):
        assert first_by_key.setdefault(key, i) == first_by_tuple.setdefault(gram, i)


@pytest.mark.parametrize(
    ("text", "sizes"),
    [
        pytest.param(lambda: fixture_text("debian-faq.en.txt"), [2, 3, 4, 5, 6, 7, 8, 9, 10], id="faq"),
        pytest.param(lambda: "\n\n".join([faq_paragraph()] * 3 + [faq_section()]), [2, 3, 5, 6, 7, 10], id="repeats"),
        pytest.param(lambda: fixture_text("ls.1.zh_CN.txt"), [3, 5, 8, 9, 11, 12, 14, 15], id="zho"),
        pytest.param(lambda: "a b c a b c a b", [1, 2, 3, 4, 8, 9], id="tiny"),
        pytest.param(lambda: "", [2, 5], id="empty"),
    ],
)
def test_vectorised_fractions_equal_the_word_tuple_definitions(text, sizes):
    """Top and duplicate fractions, including the restricted scan of growing sizes, match the plain definitions."""
    words = split_words(text())
    stats = NgramStats(words)
    dup = stats.dup_fracs(sizes)
    for n in sizes:
        top_ref, dup_ref = reference_fracs(words, n)
        assert stats.top_frac(n) == pytest.approx(top_ref, abs=1e-12), n
        assert dup[n] == pytest.approx(dup_ref, abs=1e-12), n
    assert any(dup.values()) or len(words) < 12
