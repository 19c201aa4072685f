"""Shingling for near-duplicate detection: the canonical form and the n-grams compared by MinHash.

Texts are reduced to a canonical form first (case, digits, punctuation, spacing; each switch in ``ShingleConfig``),
so that copies differing only in years, version numbers or formatting still share their shingles. Space-delimited
scripts are cut into word n-grams; scripts written without spaces between words (Chinese, Japanese, Thai, ...) into
character n-grams, since their "words" would be whole sentences.

``shingles()`` is the readable reference (lists of UTF-8 bytes). The hot path hashes the same shingles without
building them, vectorised over a batch (``curation.dedup.shingle_hash``); tests check the two agree.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

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


@dataclass(frozen=True)
class ShingleConfig:
    """What two documents must share to count as near-duplicates (config ``dedup.shingles``).

    word_ngram: words per shingle for space-delimited scripts; char_ngram: characters per shingle for
    ``NO_SPACE_SCRIPTS``. casefold: Unicode case folding; digits: every decimal digit (any script) becomes "0" (so
    "2019" matches "2023"); punctuation: every punctuation mark (Unicode category P*) becomes a space (so "and/or"
    gives "and or"); whitespace: runs of whitespace collapse to one space (off: every single space separates words,
    so layout differences change the shingles).
    """

    word_ngram: int = 5
    char_ngram: int = 5
    casefold: bool = True
    digits: bool = True
    punctuation: bool = True
    whitespace: bool = True

    def __post_init__(self) -> None:
        if self.word_ngram < 1 or self.char_ngram < 1:
            raise ValueError(f"ShingleConfig: n-gram sizes must be positive, got {self}")

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> ShingleConfig:
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"dedup.shingles: unknown setting(s) {unknown}")
        return cls(**cfg)

    def describe(self) -> str:
        """Compact, stable form (stored with persisted signatures, which are only comparable under equal configs)."""
        flags = "".join(str(int(v)) for v in (self.casefold, self.digits, self.punctuation, self.whitespace))
        return f"w{self.word_ngram}c{self.char_ngram}f{flags}"


def uses_char_ngrams(script: str | None) -> bool:
    """Whether a script is written without spaces between words (character n-grams)."""
    return script in NO_SPACE_SCRIPTS


class _CanonicalChars(dict):
    """``str.translate`` table built lazily: a code point's mapping is computed on first sight, then is a dict hit.

    Building the full table (1.1 M code points, ``unicodedata.category`` each) cost ~2 s per worker process; a
    corpus only ever shows a few thousand distinct characters.
    """

    def __init__(self, digits: bool, punctuation: bool):
        super().__init__()
        self.digits = digits
        self.punctuation = punctuation

    def __missing__(self, cp: int) -> str:
        category = unicodedata.category(chr(cp))
        if self.digits and category == "Nd":
            mapped = "0"
        elif self.punctuation and category.startswith("P"):
            mapped = " "
        else:
            mapped = chr(cp)
        self[cp] = mapped
        return mapped


@cache
def _translation_table(digits: bool, punctuation: bool) -> _CanonicalChars:
    """Every Unicode decimal digit -> "0", every punctuation mark -> a space (one lazy table per process)."""
    return _CanonicalChars(digits, punctuation)


def normalize_for_shingles(
    text: str,
    *,
    casefold: bool = True,
    digits: bool = True,
    punctuation: bool = True,
    whitespace: bool = True,
) -> str:
    """Canonical form compared by near-dedup (see ``ShingleConfig`` for what each switch does)."""
    if casefold:
        text = text.casefold()
    if digits or punctuation:
        text = text.translate(_translation_table(digits, punctuation))
    if whitespace:
        text = " ".join(text.split())
    return text


def canonical_text(text: str, config: ShingleConfig) -> str:
    return normalize_for_shingles(
        text,
        casefold=config.casefold,
        digits=config.digits,
        punctuation=config.punctuation,
        whitespace=config.whitespace,
    )


def shingles(text: str, script: str | None, config: ShingleConfig | None = None) -> list[bytes]:
    """Distinct UTF-8 shingles of ``text``, in first-seen order (the reference the vectorised hasher must match).

    Word n-grams (words = the pieces between single spaces of the canonical form) for space-delimited scripts;
    character n-grams with spaces dropped for ``NO_SPACE_SCRIPTS``. A text too short for one full n-gram gives a
    single shingle of its whole canonical form, so short documents still dedup against exact-canonical copies. An
    empty canonical form gives no shingles.
    """
    config = config or ShingleConfig()
    norm = canonical_text(text, config)
    if not norm:
        return []
    if uses_char_ngrams(script):
        n = config.char_ngram
        chars = norm.replace(" ", "")
        if not chars:
            return []
        if len(chars) <= n:
            return [chars.encode("utf-8")]
        grams = (chars[i : i + n] for i in range(len(chars) - n + 1))
    else:
        n = config.word_ngram
        words = norm.split(" ")
        if len(words) <= n:
            return [norm.encode("utf-8")]
        grams = (" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return [g.encode("utf-8") for g in dict.fromkeys(grams)]
