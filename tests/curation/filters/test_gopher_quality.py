"""Gopher quality rules on real text, with per-language thresholds and stop-word lists."""

from __future__ import annotations

import pytest

from curation.config_merge import merged_filter_config
from curation.filters.gopher_quality import GopherQualityFilter
from curation.filters.words import split_words
from tests.curation.filters.conftest import faq_section, fixture_text, sample_docs


def quality(override: dict | None = None) -> GopherQualityFilter:
    return GopherQualityFilter(merged_filter_config({"gopher_quality": override or {}})["gopher_quality"])


def run(flt: GopherQualityFilter, text: str, lang: str, script: str):
    return flt.evaluate(text, split_words(text), lang, script)


def test_one_line_is_too_short():
    line = faq_section().split("\n")[0]
    reason, stats = run(quality(), line, "eng_Latn", "Latn")
    assert reason == "gopher_quality:too_few_words"
    assert stats["gopher_quality:n_words"] == len(split_words(line)) < 50


def test_real_prose_passes_with_all_stats():
    text = faq_section()
    reason, stats = run(quality(), text, "eng_Latn", "Latn")
    assert reason is None
    words = split_words(text)
    assert stats["gopher_quality:n_words"] == len(words)
    assert stats["gopher_quality:avg_word_len"] == pytest.approx(sum(map(len, words)) / len(words))
    assert stats["gopher_quality:stop_words"] >= 2
    assert all(isinstance(v, float) for v in stats.values())


def test_stop_words_are_checked_in_the_documents_language():
    text = fixture_text("ls.1.ru.txt")
    assert run(quality(), text, "rus_Cyrl", "Cyrl")[0] is None
    reason, stats = run(quality(), text, "ara_Arab", "Arab")  # Russian text claimed to be Arabic
    assert reason == "gopher_quality:too_few_stop_words"
    assert stats["gopher_quality:stop_words"] < 2
    reason, stats = run(quality(), text, "sco_Latn", "Latn")  # no list for Scots: check skipped
    assert reason is None and "gopher_quality:stop_words" not in stats
    assert run(quality({"min_stop_words": None}), text, "ara_Arab", "Arab")[0] is None  # null switches one check off


def test_chinese_counts_characters_under_its_own_thresholds():
    text = fixture_text("ls.1.zh_CN.txt")
    reason, stats = run(quality(), text, "zho_Hans", "Hans")
    assert reason is None
    assert stats["gopher_quality:avg_word_len"] < 3  # character units: English minimum would reject it
    assert run(quality(), text, "zho_Hant", "Hant")[0] is None  # full tag falls back to the ISO override
    assert run(quality(), text, "und", "Hans")[0] == "gopher_quality:short_avg_word_len"


def test_bullet_list_is_rejected():
    lines = [line.strip() for line in faq_section().split("\n") if line.strip()]
    text = "\n".join(f"• {line}" for line in lines)
    reason, stats = run(quality(), text, "eng_Latn", "Latn")
    assert reason == "gopher_quality:bullet_lines"
    assert stats["gopher_quality:bullet_lines_ratio"] == 1.0


def test_truncated_lines_are_rejected():
    lines = [line.strip() for line in faq_section().split("\n") if line.strip()]
    text = "\n".join(f"{line[: len(line) // 2]}..." for line in lines)
    reason, stats = run(quality(), text, "eng_Latn", "Latn")
    assert stats["gopher_quality:ellipsis_lines_ratio"] == 1.0
    expected = "ellipsis_word_ratio" if len(lines) / len(split_words(text)) > 0.1 else "ellipsis_lines"
    assert reason == f"gopher_quality:{expected}"


def test_number_tables_are_rejected():
    """The sample's junk: a calendar page's day numbers and the ascii(7) table rows."""
    docs = sample_docs("junk/texlive-arabi/") + sample_docs("junk/manpages/")
    assert len(docs) == 2
    no_length_rule = quality({"min_avg_word_len": None})
    for doc in docs:
        text = doc["text"]
        assert run(quality(), text, "eng_Latn", "Latn")[0] == "gopher_quality:short_avg_word_len"
        reason, stats = run(no_length_rule, text, "eng_Latn", "Latn")
        words = split_words(text)
        letterless = sum(1 for w in words if not any(c.isalpha() for c in w)) / len(words)
        assert stats["gopher_quality:non_alpha_words_ratio"] == pytest.approx(letterless)
        assert letterless > 0.2
        assert reason == "gopher_quality:non_alpha_words"


def test_overrides_change_the_decision():
    text = faq_section()
    n_words = len(split_words(text))
    assert run(quality({"max_words": n_words - 1}), text, "eng_Latn", "Latn")[0] == "gopher_quality:too_many_words"
    per_lang = quality({"languages": {"eng": {"min_words": n_words + 1}}})
    assert run(per_lang, text, "eng_Latn", "Latn")[0] == "gopher_quality:too_few_words"
    assert run(per_lang, text, "sco_Latn", "Latn")[0] is None
    by_tag = quality({"languages": {"eng": {"min_words": n_words + 1}, "eng_Latn": {"min_words": 50}}})
    assert run(by_tag, text, "eng_Latn", "Latn")[0] is None  # full tag applied after the ISO code


def test_invalid_settings_fail_at_build_time():
    with pytest.raises(ValueError, match="unknown setting"):
        quality({"min_word": 10})
    with pytest.raises(ValueError, match="must be a number"):
        quality({"languages": {"deu": {"min_words": "many"}}})
    with pytest.raises(ValueError, match="true/false"):
        quality({"enabled": "yes"})
