"""C4 rules as whole-document decisions on real text."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.config_merge import merged_filter_config
from curation.filters.c4 import C4Filter
from curation.filters.words import split_words
from tests.curation.filters.conftest import faq_paragraph, faq_section, fixture_text, sample_docs


def c4(override: dict | None = None) -> C4Filter:
    return C4Filter(merged_filter_config({"c4": override or {}})["c4"])


def run(flt: C4Filter, text: str, lang: str = "eng_Latn", script: str = "Latn"):
    return flt.evaluate(text, split_words(text), lang, script)


def test_real_prose_passes():
    reason, stats = run(c4(), faq_section())
    assert reason is None
    assert stats["c4:sentences"] >= 3 and stats["c4:lorem_ipsum"] == 0


def test_lorem_ipsum_is_rejected():
    text = f"{faq_section()}\nlorem ipsum dolor sit amet"
    reason, stats = run(c4(), text)
    assert reason == "c4:lorem_ipsum" and stats["c4:lorem_ipsum"] == 1
    assert run(c4({"lorem_ipsum": False}), text)[0] is None


def test_one_config_snippet_in_long_prose_is_tolerated():
    """The FAQ quotes a logrotate block with '{': tolerated by the density rule, rejected by C4's literal rule."""
    text = fixture_text("debian-faq.en.txt")
    reason, stats = run(c4(), text)
    assert reason is None and 0 < stats["c4:curly_bracket_ratio"] < 0.005
    assert run(c4({"max_curly_bracket_ratio": 0}), text)[0] == "c4:curly_bracket"
    assert run(c4({"max_curly_bracket_ratio": 0, "curly_bracket": False}), text)[0] is None


def test_policy_lines_are_counted():
    text = fixture_text("debian-faq.en.txt")
    expected = sum(1 for line in text.lower().split("\n") if "privacy policy" in line or "terms of use" in line)
    stats = run(c4(), text)[1]
    assert expected >= 1 and stats["c4:policy_lines"] == expected
    assert run(c4({"policy": False}), text)[1]["c4:policy_lines"] == 0


def _real_javascript_lines(limit: int) -> list[str]:
    """Lines mentioning JavaScript from installed package documentation (real text), distinct, in path order."""
    found: dict[str, None] = {}
    for path in sorted(Path("/usr/share/doc").glob("*/*")):
        if path.is_file() and path.suffix in ("", ".txt", ".md", ".html"):
            for line in path.read_text(encoding="utf-8", errors="ignore").split("\n"):
                if "javascript" in line.lower() and len(line.split()) >= 3:
                    found[line.strip()] = None
        if len(found) >= limit:
            return list(found)[:limit]
    pytest.skip("too few JavaScript lines in /usr/share/doc on this machine")


def test_boilerplate_heavy_page_is_rejected():
    prose = [line.strip() for line in faq_paragraph().split("\n")]
    js = _real_javascript_lines(len(prose))
    text = "\n".join(line for pair in zip(prose, js, strict=True) for line in pair)
    reason, stats = run(c4(), text)
    assert reason == "c4:boilerplate_lines"
    assert stats["c4:javascript_lines"] == len(js) and stats["c4:boilerplate_lines_ratio"] == pytest.approx(0.5)
    assert run(c4({"javascript": False}), text)[0] != "c4:boilerplate_lines"


def test_no_sentence_endings_means_too_few_sentences():
    text = faq_paragraph().translate(str.maketrans("", "", ".!?"))
    reason, stats = run(c4(), text)
    assert reason == "c4:too_few_sentences" and stats["c4:sentences"] == 0
    assert run(c4(), text, "tha_Thai", "Thai")[0] is None  # Thai ends sentences without punctuation


def test_sentences_are_counted_in_hard_wrapped_text():
    """Only paragraph ends sit at line ends in wrapped prose; sentences inside lines count too."""
    text = faq_paragraph()
    line_ends = sum(1 for line in text.split("\n") if line.rstrip().endswith("."))
    stats = run(c4(), text)[1]
    assert stats["c4:sentences"] >= text.count(". ") + line_ends > line_ends


@pytest.mark.parametrize(("name", "lang"), [("ls.1.ru.txt", "rus_Cyrl"), ("ls.1.zh_CN.txt", "zho_Hans")])
def test_sentence_punctuation_of_other_scripts(name, lang):
    text = fixture_text(name)
    reason, stats = run(c4(), text, lang, lang[4:])
    assert reason is None
    assert stats["c4:sentences"] >= text.count(". ") + text.count("。") >= 3


def test_ui_string_dumps_are_short_lines():
    """Django admin messages (real, from the bundled sample): one short UI string per line, no prose."""
    langs = {"de": "deu_Latn", "fr": "fra_Latn", "ja": "jpn_Jpan", "ar": "ara_Arab"}
    docs = sample_docs("django-po/")
    assert {d["id"].split("/")[1] for d in docs} == set(langs)
    for doc in docs:
        lang = langs[doc["id"].split("/")[1]]
        reason, stats = run(c4(), doc["text"], lang, lang[4:])
        assert reason == "c4:short_lines", (doc["id"], stats)
        assert stats["c4:short_lines_ratio"] > 0.67
    for name in ("debian-faq.en.txt", "ls.1.ru.txt", "ls.1.zh_CN.txt"):  # wrapped prose and man pages are not
        assert run(c4(), fixture_text(name))[1]["c4:short_lines_ratio"] < 0.67
