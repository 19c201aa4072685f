"""Script detection on real text: repo fixtures, sample PDFs and the gettext catalogs installed on this machine."""

from __future__ import annotations

import gettext
import itertools
import unicodedata
from collections import Counter
from pathlib import Path

import pymupdf
import pytest

from curation.text.scripts import (
    _RANGES,
    SIMPLIFIED_ONLY,
    TRADITIONAL_ONLY,
    char_script,
    dominant_script,
    han_variant,
    script_counts,
)

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "mixture"
PDFS = ROOT / "data" / "sample" / "pdf"
LOCALE = Path("/usr/share/locale")
# Written for these tests in traditional characters: "This software checks the network connection at boot and shows
# error messages."
TRADITIONAL_SENTENCE = "這個軟體會在開機時自動檢查網路連線，並且顯示錯誤訊息。"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def pdf_text(name: str) -> str:
    with pymupdf.open(PDFS / name) as doc:
        return "\n".join(page.get_text() for page in doc)


def catalog_text(locale: str, domain: str = "glib20") -> str:
    """Translated strings of an installed gettext catalog (real translations in that locale's language)."""
    path = LOCALE / locale / "LC_MESSAGES" / f"{domain}.mo"
    if not path.exists():
        pytest.skip(f"{path} not installed on this machine")
    with path.open("rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    return "\n".join(v for k, v in catalog.items() if k and isinstance(v, str))


@pytest.mark.parametrize(
    ("name", "script"),
    [
        ("debian-faq.en.txt", "Latn"),
        ("ls.1.ru.txt", "Cyrl"),
        ("django-messages.ar.txt", "Arab"),
        ("ls.1.zh_CN.txt", "Hans"),  # ~40 % of its letters are Latin option names
    ],
)
def test_fixture_scripts(name, script):
    text = fixture_text(name)
    assert dominant_script(text) == script


def test_chinese_option_descriptions_with_more_latin_letters_stay_han():
    """An option name like ``--almost-all`` has more letters than the Chinese sentence explaining it."""
    paragraphs = fixture_text("ls.1.zh_CN.txt").split("\n\n")
    mixed = [p for p in paragraphs if (c := script_counts(p))["Latn"] > c["Hani"] >= c["Latn"] / 2]
    assert len(mixed) >= 5
    assert [dominant_script(p) for p in mixed] == ["Hans"] * len(mixed)
    assert han_variant(fixture_text("ls.1.zh_CN.txt")) == "Hans"


@pytest.mark.parametrize(
    ("name", "script"),
    [
        ("maint-guide-ja.pdf", "Jpan"),
        ("debian-faq-ru.pdf", "Cyrl"),
        ("debian-reference-zh-cn.pdf", "Hans"),
        ("texlive-arabic-lshort-persian.pdf", "Arab"),  # Arabic presentation forms (U+FB50..U+FEFF) from the PDF
        ("debian-faq-de.pdf", "Latn"),
    ],
)
def test_pdf_scripts(name, script):
    assert dominant_script(pdf_text(name)) == script


@pytest.mark.parametrize(
    ("locale", "domain", "script"),
    [
        ("ko", "glib20", "Hang"),
        ("zh_TW", "glib20", "Hant"),
        ("zh_HK", "glib20", "Hant"),
        ("zh_CN", "glib20", "Hans"),
        ("ja", "glib20", "Jpan"),
        ("el", "glib20", "Grek"),
        ("he", "gtk20", "Hebr"),
        ("sr", "glib20", "Cyrl"),
        ("sr@latin", "glib20", "Latn"),
        ("hi", "glib20", "Deva"),
        ("bn", "glib20", "Beng"),
        ("ta", "glib20", "Taml"),
        ("th", "glib20", "Thai"),
        ("ka", "glib20", "Geor"),
        ("hy", "glib20", "Armn"),
        ("my", "gtk20", "Mymr"),
        ("fa", "glib20", "Arab"),
    ],
)
def test_installed_catalog_scripts(locale, domain, script):
    assert dominant_script(catalog_text(locale, domain)) == script


def test_traditional_sentence_and_tie_default():
    assert han_variant(TRADITIONAL_SENTENCE) == "Hant"
    assert dominant_script(TRADITIONAL_SENTENCE) == "Hant"
    neutral = "".join(ch for ch in TRADITIONAL_SENTENCE if ch not in TRADITIONAL_ONLY)  # no evidence either way
    assert han_variant(neutral) == "Hans"
    assert han_variant(neutral, default="Hant") == "Hant"


def test_han_tables_separate_real_simplified_and_traditional_catalogs():
    simplified = Counter(catalog_text("zh_CN"))
    traditional = Counter(catalog_text("zh_TW"))
    assert sum(simplified[ch] for ch in TRADITIONAL_ONLY) <= 0.01 * sum(simplified[ch] for ch in SIMPLIFIED_ONLY)
    assert sum(traditional[ch] for ch in SIMPLIFIED_ONLY) <= 0.01 * sum(traditional[ch] for ch in TRADITIONAL_ONLY)


def test_han_tables_are_han_pairs():
    assert len(SIMPLIFIED_ONLY) == len(TRADITIONAL_ONLY) >= 60
    assert not SIMPLIFIED_ONLY & TRADITIONAL_ONLY
    assert {char_script(ch) for ch in SIMPLIFIED_ONLY | TRADITIONAL_ONLY} == {"Hani"}


def test_kana_makes_japanese_and_han_alone_does_not():
    ja = pdf_text("maint-guide-ja.pdf")
    kana = "".join(ch for ch in ja if char_script(ch) in ("Hira", "Kana"))
    han = "".join(ch for ch in ja if char_script(ch) == "Hani")
    assert dominant_script(kana) == "Jpan"
    assert dominant_script(han) in ("Hans", "Hant")


def test_only_letters_vote():
    for text in ("", " \n\t", "2024-01-01 12:30 -- 42 % !!! ... (3/4)", "١٢٣ ४५६ ★☆"):
        assert dominant_script(text) == "Zyyy"
        assert not script_counts(text)
    digits_and_arabic = "0123456789" * 50 + fixture_text("django-messages.ar.txt")[:200]
    assert dominant_script(digits_and_arabic) == "Arab"


def test_sample_prefix_bounds_the_work():
    latin, cyrillic = fixture_text("debian-faq.en.txt")[:600], fixture_text("ls.1.ru.txt")
    assert dominant_script(latin + cyrillic, sample_chars=len(latin)) == "Latn"
    assert dominant_script(latin + cyrillic) == "Cyrl"


def test_char_script_agrees_with_unicode_names():
    """Every letter we assign a script to must carry that script in its Unicode name (table typo guard)."""
    words = {"Latn": "LATIN", "Cyrl": "CYRILLIC", "Arab": "ARABIC", "Hani": "CJK", "Hira": "HIRAGANA"}
    words |= {"Kana": "KATAKANA", "Hang": "HANGUL", "Grek": "GREEK", "Hebr": "HEBREW", "Deva": "DEVANAGARI"}
    texts = [fixture_text(n) for n in ("debian-faq.en.txt", "ls.1.ru.txt", "django-messages.ar.txt", "ls.1.zh_CN.txt")]
    letters = {ch for text in [*texts, pdf_text("maint-guide-ja.pdf")] for ch in text if char_script(ch)}
    assert len(letters) > 500
    for ch in letters:
        script, name = char_script(ch), unicodedata.name(ch, "")
        if script in words and not name.startswith(("MODIFIER LETTER", "IDEOGRAPHIC", "KATAKANA-HIRAGANA")):
            assert words[script] in name, (ch, script, name)
    assert char_script("7") is None and char_script("،") is None and char_script(" ") is None


def test_range_table_is_sorted_and_disjoint():
    for (a_start, a_end, _), (b_start, _, _) in itertools.pairwise(_RANGES):
        assert a_start <= a_end < b_start
