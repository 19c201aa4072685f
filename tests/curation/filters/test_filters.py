"""build_filters / apply_filters as the pipeline calls them: defaults, merged overrides, ordering and stats."""

from __future__ import annotations

import dataclasses
import math

import pytest

from curation.config_merge import merged_filter_config
from curation.filters import DEFAULT_FILTER_CONFIG, FILTERS, FilterResult, apply_filters, build_filters
from tests.curation.filters.conftest import GPL3, faq_paragraph, faq_section, fixture_text, prose, system_text


def build(override: dict | None = None):
    return build_filters(merged_filter_config(override or {}))


def test_default_config_covers_every_filter():
    assert list(DEFAULT_FILTER_CONFIG) == list(FILTERS) == ["gopher_quality", "gopher_repetition", "c4", "fineweb"]
    for name, section in DEFAULT_FILTER_CONFIG.items():
        assert section["enabled"] is True
        assert isinstance(section["languages"], dict)
        for key, value in section.items():
            assert key in ("enabled", "languages") or isinstance(value, int | float), (name, key)
    assert {"zho", "jpn"} <= set(DEFAULT_FILTER_CONFIG["gopher_quality"]["languages"])
    assert [type(f).name for f in build()] == list(FILTERS)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(faq_section, id="debian-faq-section"),
        pytest.param(lambda: system_text(GPL3), id="GPL-3"),
    ],
)
def test_real_english_passes_everything_with_numeric_stats(text):
    result = apply_filters(build(), text(), "eng_Latn", "Latn")
    assert result == FilterResult(True, None, result.stats)
    prefixes = {key.split(":")[0] for key in result.stats}
    assert prefixes == set(FILTERS)
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.stats.values())


def test_russian_and_chinese_pass_under_their_languages():
    filters = build()
    for lang, script in (("rus_Cyrl", "Cyrl"), ("zho_Hans", "Hans")):
        result = apply_filters(filters, prose(lang), lang, script)
        assert result.keep, (lang, result.reason)
        assert result.stats["gopher_quality:stop_words"] >= 2


def test_man_pages_option_lists_pass_gopher_and_c4_but_not_fineweb():
    """ls(1): real text, but an option list; FineWeb's line rules (datatrove defaults) call it a list."""
    filters = build()
    for name, lang, script in (("ls.1.ru.txt", "rus_Cyrl", "Cyrl"), ("ls.1.zh_CN.txt", "zho_Hans", "Hans")):
        result = apply_filters(filters, fixture_text(name), lang, script)
        assert result.reason == "fineweb:line_punct_ratio", (name, result.reason)
        assert apply_filters(build({"fineweb": False}), fixture_text(name), lang, script).keep


def test_arabic_message_catalogue():
    """Real Arabic prose passes the Gopher rules with the Arabic stop words; the catalogue's {placeholders} make
    it template text, which C4's bracket rule rejects, and nothing else does."""
    text = fixture_text("django-messages.ar.txt")
    result = apply_filters(build(), text, "ara_Arab", "Arab")
    assert result.reason == "c4:curly_bracket"
    assert result.stats["gopher_quality:stop_words"] >= 2
    assert result.stats["gopher_quality:n_words"] >= 50  # short, but long enough for Gopher
    assert "gopher_repetition:dup_line_frac" in result.stats
    assert apply_filters(build({"c4": {"curly_bracket": False}}), text, "ara_Arab", "Arab").keep
    assert apply_filters(build({"c4": {"languages": {"ara": {"enabled": False}}}}), text, "ara_Arab", "Arab").keep


def test_first_failure_wins_and_later_filters_do_not_run():
    line = faq_section().split("\n")[0]
    result = apply_filters(build(), line, "eng_Latn", "Latn")
    assert result.keep is False and result.reason == "gopher_quality:too_few_words"
    assert result.stats and all(key.startswith("gopher_quality:") for key in result.stats)
    repeated = "\n\n".join([faq_paragraph()] * 20)
    result = apply_filters(build(), repeated, "eng_Latn", "Latn")
    assert result.reason.startswith("gopher_repetition:")
    assert {key.split(":")[0] for key in result.stats} == {"gopher_quality", "gopher_repetition"}


def test_lorem_ipsum_line_is_rejected_by_c4():
    result = apply_filters(build(), f"{faq_section()}\nlorem ipsum dolor sit amet", "eng_Latn", "Latn")
    assert result.reason == "c4:lorem_ipsum"


def test_merged_override_changes_the_decision():
    text = faq_section()
    n_words = apply_filters(build(), text, "eng_Latn", "Latn").stats["gopher_quality:n_words"]
    stricter = build({"gopher_quality": {"min_words": int(n_words) + 1}})
    assert apply_filters(stricter, text, "eng_Latn", "Latn").reason == "gopher_quality:too_few_words"
    # Deep merge: changing one key of the zho override keeps its other character-unit thresholds.
    zh = prose("zho_Hans")
    merged = build({"gopher_quality": {"languages": {"zho": {"max_words": 10**7}}}})
    assert apply_filters(merged, zh, "zho_Hans", "Hans").keep


def test_filters_can_be_switched_off():
    line = faq_section().split("\n")[0]
    assert [type(f).name for f in build({"gopher_quality": False})] == ["gopher_repetition", "c4", "fineweb"]
    assert [type(f).name for f in build({"c4": {"enabled": False}})] == [
        "gopher_quality",
        "gopher_repetition",
        "fineweb",
    ]
    result = apply_filters(build({"gopher_quality": {"enabled": False}}), line, "eng_Latn", "Latn")
    assert result.reason == "c4:too_few_sentences"  # the line has no sentence end; Gopher's length rule is off
    only_deu = build({"gopher_quality": {"enabled": False, "languages": {"deu": {"enabled": True}}}})
    assert apply_filters(only_deu, line, "deu_Latn", "Latn").reason == "gopher_quality:too_few_words"
    assert apply_filters(only_deu, line, "eng_Latn", "Latn").reason != "gopher_quality:too_few_words"


def test_config_errors_are_reported():
    with pytest.raises(ValueError, match="unknown quality filter"):
        build({"gopher": {}})
    with pytest.raises(ValueError, match="unknown setting"):
        build({"c4": {"min_line": 2}})
    with pytest.raises(ValueError, match="mapping"):
        build({"c4": 3})


def test_result_is_frozen():
    result = apply_filters(build(), faq_section(), "eng_Latn", "Latn")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.keep = False  # type: ignore[misc]
