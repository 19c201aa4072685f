"""Gopher quality rules on real text, with per-language thresholds and stop-word lists."""

from __future__ import annotations

import pytest

from curation.config_merge import merged_filter_config
from curation.filters.gopher_quality import GopherQualityFilter
from curation.filters.stopwords import stop_words
from curation.filters.words import split_words
from tests.curation.filters.conftest import faq_section, fixture_text, prose, prose_languages, sample_docs
from tests.curation.filters.test_fineweb import locale_messages


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


@pytest.mark.parametrize("lang", prose_languages())
def test_real_prose_passes_in_its_language(lang):
    reason, stats = run(quality(), prose(lang), lang, lang.split("_")[1])
    assert reason is None, stats
    assert stats["gopher_quality:stop_words"] >= 2


def test_stop_words_are_counted_once_each():
    text = prose("deu_Latn")
    stats = run(quality(), text, "deu_Latn", "Latn")[1]
    assert stats["gopher_quality:stop_words"] == len(stop_words("deu") & set(split_words(text)))


def test_long_word_languages_keep_their_real_text():
    """Malayalam words are long (mean unit length 1.48x English on parallel text): real messages in 60-word
    windows go past Gopher's English maximum of 10, not past Malayalam's own."""
    units = split_words(locale_messages("ml"))
    windows = [" ".join(units[i : i + 60]) for i in range(0, len(units) - 59, 60)]
    lang = "mal_Mlym"
    english = GopherQualityFilter(GopherQualityFilter.DEFAULTS)  # no per-language overrides
    ours = quality()
    assert ours.settings(lang, lang[4:])["max_avg_word_len"] > 13
    over_english = [w for w in windows if run(english, w, lang, lang[4:])[0] == "gopher_quality:long_avg_word_len"]
    over_ours = [w for w in windows if run(ours, w, lang, lang[4:])[0] == "gopher_quality:long_avg_word_len"]
    assert len(over_ours) < len(over_english)
    assert len(over_ours) <= 0.01 * len(windows)


def test_calibrated_overrides_come_from_the_config_file():
    """thresholds.yaml is merged into the defaults: scaled lengths for long- and short-word languages."""
    flt = quality()
    fin = flt.settings("fin_Latn", "Latn")
    assert fin["max_avg_word_len"] > 10 and fin["min_words"] < 50  # fewer, longer words than English
    vie = flt.settings("vie_Latn", "Latn")
    assert vie["min_avg_word_len"] < 3 and vie["min_words"] > 50  # monosyllables written apart
    assert flt.settings("eng_Latn", "Latn")["max_avg_word_len"] == 10


def test_script_overrides_apply_before_language_ones():
    flt = quality({"languages": {"Arab": {"min_words": 7}, "urd": {"min_words": 9}}})
    assert flt.settings("arb_Arab", "Arab")["min_words"] == 7
    assert flt.settings("pes_Arab", "Arab")["min_words"] == 7
    assert flt.settings("urd_Arab", "Arab")["min_words"] == 9  # ISO code after the script
    assert flt.settings("und", "Arab")["min_words"] == 7  # no tag script: the detected script
    assert flt.settings("eng_Latn", "Latn")["min_words"] == 50
