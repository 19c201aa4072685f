"""Shingling for near-duplicate detection.

Texts are reduced to a canonical form first (case, digits, punctuation, spacing), so that copies differing only in
years, version numbers or formatting still share their shingles. Space-delimited scripts are cut into word n-grams;
scripts written without spaces between words (Chinese, Japanese, Thai, ...) into character n-grams, since their
"words" would be whole sentences.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache

NO_SPACE_SCRIPTS: frozenset[str] = frozenset(
    {
        "Hani",  # Han (generic)
        "Hans",  # Han, simplified
        "Hant",  # Han, traditional
        "Jpan",  # Japanese (Han + kana)
        "Hira",  # Hiragana
        "Kana",  # Katakana
        "Hrkt",  # Japanese syllabaries
        "Thai",
        "Laoo",  # Lao
        "Khmr",  # Khmer
        "Mymr",  # Myanmar
        "Tibt",  # Tibetan
        "Bali",  # Balinese
        "Java",  # Javanese
        "Lana",  # Tai Tham
        "Talu",  # New Tai Lue
        "Tale",  # Tai Le
        "Yiii",  # Yi
    }
)


@cache
def _translation_table(digits: bool, punctuation: bool) -> dict[int, str]:
    """Map every Unicode decimal digit to "0" and every punctuation mark to a space (built once per process)."""
    table: dict[int, str] = {}
    for cp in range(sys.maxunicode + 1):
        category = unicodedata.category(chr(cp))
        if digits and category == "Nd":
            table[cp] = "0"
        elif punctuation and category.startswith("P"):
            table[cp] = " "
    return table


def normalize_for_shingles(
    text: str,
    *,
    casefold: bool = True,
    digits: bool = True,
    punctuation: bool = True,
    whitespace: bool = True,
) -> str:
    """Canonical form compared by near-dedup.

    casefold: Unicode case folding (``str.casefold``); digits: every decimal digit (any script) becomes "0", so
    "2019" and "2023" match; punctuation: every Unicode punctuation mark (category P*) becomes a space, so word
    boundaries survive ("and/or" -> "and or"); whitespace: runs of whitespace collapse to one space, trimmed.
    """
    if casefold:
        text = text.casefold()
    if digits or punctuation:
        text = text.translate(_translation_table(digits, punctuation))
    if whitespace:
        text = " ".join(text.split())
    return text


def shingles(text: str, script: str | None, ngram: int = 5, char_ngram: int = 5) -> list[bytes]:
    """Distinct UTF-8 shingles of ``text``, in first-seen order.

    Word ``ngram``-grams for space-delimited scripts; character ``char_ngram``-grams (spaces dropped) for
    ``NO_SPACE_SCRIPTS``. A text too short for one full n-gram gives a single shingle of its whole normalised form,
    so short documents still dedup against exact-normalised copies. An empty text gives no shingles.
    """
    norm = normalize_for_shingles(text)
    if not norm:
        return []
    if script in NO_SPACE_SCRIPTS:
        chars = norm.replace(" ", "")
        if len(chars) <= char_ngram:
            return [chars.encode("utf-8")]
        grams = (chars[i : i + char_ngram] for i in range(len(chars) - char_ngram + 1))
    else:
        words = norm.split(" ")
        if len(words) <= ngram:
            return [norm.encode("utf-8")]
        grams = (" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1))
    return [g.encode("utf-8") for g in dict.fromkeys(grams)]
