"""FineWeb line rules on real text: each rule's statistic, per-script punctuation, per-language lengths."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest

from curation.config_merge import merged_filter_config
from curation.filters.fineweb import FineWebQualityFilter, terminal_marks
from curation.filters.words import UNITS_PER_WORD, split_words, unspaced_letters
from tests.curation.filters.conftest import faq_section, filter_view, fixture_text, mo_text

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "filters"


def fineweb(override: dict | None = None) -> FineWebQualityFilter:
    return FineWebQualityFilter(merged_filter_config({"fineweb": override or {}})["fineweb"])


def run(flt: FineWebQualityFilter, text: str, lang: str = "eng_Latn", script: str = "Latn"):
    return flt.evaluate(text, split_words(text), lang, script)


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def locale_messages(locale: str) -> str:
    """Every translated message of every gettext catalogue installed for a locale, one paragraph each."""
    folder = Path(f"/usr/share/locale/{locale}/LC_MESSAGES")
    messages: list[str] = []
    for path in sorted(folder.glob("*.mo")):
        with path.open("rb") as fh:
            try:
                catalog = gettext.GNUTranslations(fh)._catalog
            except UnicodeDecodeError:  # a catalogue in a legacy encoding
                continue
        messages += [v.strip() for k, v in catalog.items() if k and isinstance(v, str) and len(v.strip()) > 40]
    if len(messages) < 50:
        pytest.skip(f"too few {locale} messages installed on this machine")
    return filter_view("\n\n".join(messages))


def test_defaults_are_datatroves():
    d = FineWebQualityFilter.DEFAULTS
    assert (d["min_line_punct_ratio"], d["short_line_length"], d["max_short_line_ratio"]) == (0.12, 30, 0.67)
    assert (d["max_char_dup_ratio"], d["max_new_line_ratio"], d["line_punct_exclude_zero"]) == (0.01, 0.3, False)


def test_real_prose_passes_with_its_statistics():
    text = faq_section()
    reason, stats = run(fineweb(), text)
    assert reason is None
    lines = lines_of(text)
    assert stats["fineweb:lines"] == len(lines)
    ending = sum(1 for line in lines if line.rstrip("\"')”’»").endswith((".", "!", "?", "…")))
    assert stats["fineweb:line_punct_ratio"] == pytest.approx(ending / len(lines))
    assert stats["fineweb:short_line_ratio"] == pytest.approx(sum(len(x) <= 30 for x in lines) / len(lines))
    assert stats["fineweb:new_line_ratio"] == pytest.approx(text.count("\n") / len(split_words(text)))
    assert stats["fineweb:char_dup_ratio"] == 0.0


def test_an_option_list_fails_the_punctuation_rule():
    """ls(1) in Russian: option lines do not end in punctuation."""
    reason, stats = run(fineweb(), fixture_text("ls.1.ru.txt"), "rus_Cyrl", "Cyrl")
    assert reason == "fineweb:line_punct_ratio" and stats["fineweb:line_punct_ratio"] < 0.12
    excluded = fineweb({"min_line_punct_ratio": None})
    assert run(excluded, fixture_text("ls.1.ru.txt"), "rus_Cyrl", "Cyrl")[0] != "fineweb:line_punct_ratio"


def test_repeated_lines_count_but_table_rules_do_not():
    """The whole Debian FAQ repeats every section title (table of contents, then body): FineWeb's 1 % rule fires.
    Lines without a letter or digit (w3m table rules) are layout and are not counted."""
    faq = fixture_text("debian-faq.en.txt")
    reason, stats = run(fineweb(), faq)
    assert reason == "fineweb:char_dup_ratio" and stats["fineweb:char_dup_ratio"] > 0.01
    title = "1.2. What is Debian GNU/Linux?"
    assert faq.count(title) >= 2
    prose = faq_section()
    ruled = "\n".join(f"{line}\n+-------------+------------+" for line in prose.split("\n"))
    assert run(fineweb(), ruled)[1]["fineweb:char_dup_ratio"] == 0.0
    repeated = prose + "\n" + prose.split("\n")[0]
    dup = run(fineweb(), repeated)[1]["fineweb:char_dup_ratio"]
    first = prose.split("\n")[0].strip()
    assert dup == pytest.approx(len(first) / (len(repeated) - repeated.count("\n")))


def test_a_list_of_names_fails_on_short_lines_and_newlines():
    names = mo_text("de", "iso_639-2").replace("\n\n", "\n")  # language names, one per line
    reason, stats = run(fineweb(), names, "deu_Latn", "Latn")
    assert reason == "fineweb:line_punct_ratio"  # checked first: names have no full stop
    reason, stats = run(fineweb({"min_line_punct_ratio": None}), names, "deu_Latn", "Latn")
    assert reason == "fineweb:short_line_ratio" and stats["fineweb:short_line_ratio"] > 0.67
    only_newlines = fineweb({"min_line_punct_ratio": None, "max_short_line_ratio": None})
    reason, stats = run(only_newlines, names, "deu_Latn", "Latn")
    assert reason == "fineweb:list_ratio" and stats["fineweb:new_line_ratio"] > 0.3


@pytest.mark.parametrize(
    ("locale", "script", "mark"),
    [
        ("zh_CN", "Hans", "。"),
        ("ja", "Jpan", "。"),
        ("bn", "Beng", "।"),
        ("ne", "Deva", "।"),
        ("pa", "Guru", "।"),
        ("my", "Mymr", "။"),
        ("km", "Khmr", "។"),
    ],
)
def test_terminal_punctuation_is_per_script(locale, script, mark):
    """Real messages end sentences with their script's mark; with Latin marks only, those lines would not count."""
    text = locale_messages(locale)
    flt = fineweb({"min_line_punct_ratio": None})
    own = run(flt, text, "und", script)[1]["fineweb:line_punct_ratio"]
    latin = run(flt, text, "und", "Latn")[1]["fineweb:line_punct_ratio"]
    script_only = tuple(set(terminal_marks(script)) - set(terminal_marks("Latn")))
    ends = [line.rstrip("\"')”’»」』）") for line in lines_of(text)]
    assert mark in script_only
    assert own == pytest.approx(latin + sum(e.endswith(script_only) for e in ends) / len(ends))
    assert sum(e.endswith(mark) for e in ends) / len(ends) > 0.05


def test_thai_and_lao_have_no_punctuation_rule():
    flt = fineweb()
    assert flt.settings("tha_Thai", "Thai")["min_line_punct_ratio"] is None
    assert flt.settings("lao_Laoo", "Laoo")["min_line_punct_ratio"] is None
    assert flt.settings("khm_Khmr", "Khmr")["min_line_punct_ratio"] == 0.12  # Khmer ends sentences with ។
    text = locale_messages("th")
    assert run(flt, text, "tha_Thai", "Thai")[0] != "fineweb:line_punct_ratio"
    assert run(fineweb({"languages": {"Thai": {"min_line_punct_ratio": 0.12}}}), text, "tha_Thai", "Thai")[0] == (
        "fineweb:line_punct_ratio"
    )


def test_cjk_short_lines_are_counted_in_characters_of_their_own_length():
    """Measured on parallel text, Chinese says in 10 characters what English says in 30."""
    flt = fineweb()
    assert (
        flt.settings("zho_Hans", "Hans")["short_line_length"]
        < flt.settings("jpn_Jpan", "Jpan")["short_line_length"]
        < 30
    )
    text = (FIXTURES / "prose.zho_Hans.txt").read_text(encoding="utf-8")
    ours = run(flt, text, "zho_Hans", "Hans")[1]["fineweb:short_line_ratio"]
    english = run(FineWebQualityFilter(FineWebQualityFilter.DEFAULTS), text, "zho_Hans", "Hans")
    limit = flt.settings("zho_Hans", "Hans")["short_line_length"]
    assert ours == pytest.approx(sum(len(x) <= limit for x in lines_of(text)) / len(lines_of(text)))
    assert ours < english[1]["fineweb:short_line_ratio"]


def test_newline_ratio_counts_cjk_characters_as_fractions_of_a_word():
    """A Chinese man page full of Latin option names: Han characters count 1/1.5 word each, Latin words one."""
    text = fixture_text("ls.1.zh_CN.txt")
    words = split_words(text)
    han = len(unspaced_letters().findall(text))
    assert 0 < han < len(words)
    stats = run(fineweb(), text, "zho_Hans", "Hans")[1]
    expected_words = len(words) - han + han / UNITS_PER_WORD["zho"]
    assert stats["fineweb:new_line_ratio"] == pytest.approx(text.count("\n") / expected_words)
    english = run(fineweb(), text, "eng_Latn", "Latn")[1]["fineweb:new_line_ratio"]
    assert english == pytest.approx(text.count("\n") / len(words))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("prose.*.txt")), ids=lambda p: p.name.split(".")[1])
def test_real_prose_of_each_language_passes(path):
    lang = path.name.split(".")[1]
    reason, stats = run(fineweb(), path.read_text(encoding="utf-8"), lang, lang.split("_")[1])
    assert reason is None, stats


def test_rejection_carries_the_failing_statistic_and_config_errors_raise():
    reason, stats = run(fineweb({"max_new_line_ratio": 0.01}), faq_section())
    assert reason == "fineweb:list_ratio" and stats["fineweb:new_line_ratio"] > 0.01
    assert run(fineweb(), "   \n  \n")[0] == "fineweb:empty"
    with pytest.raises(ValueError, match="unknown setting"):
        fineweb({"line_punct_thr": 0.1})
    with pytest.raises(ValueError, match="must be a number"):
        fineweb({"languages": {"zho": {"short_line_length": "ten"}}})
