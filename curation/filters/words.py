"""Word units shared by all quality filters, so thresholds mean the same thing for every writing system.

Spaced scripts (Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Hangul, ...): a word is a whitespace-separated
token with leading and trailing punctuation and symbols stripped; tokens with no letter or digit (``--``, ``*``,
``...``) are dropped. This keeps Gopher's whitespace words, on which its thresholds were set (``well-known``, ``3.14``
and a URL stay one word, so URL-heavy pages keep a long average word length), while ``the,`` still matches a stop
word. Splitting at inner punctuation as well was tried: it raised the duplicate 5-gram fractions of real licences by
0.03-0.07, enough to reject several real Debian copyright files. Letters, digits, combining marks and ZWNJ/ZWJ are
word characters (Python's ``\\w`` would end Devanagari and Arabic words at a vowel sign).

Unspaced scripts (Han, Hiragana/Katakana, Thai, Lao, Khmer, Myanmar) have no word separators and a real segmenter
(jieba, MeCab, ICU) is too heavy for a filter stage. Each character of these scripts (with its combining marks) is one
word unit instead: a Han character is roughly a morpheme and CJK corpora measure length in characters anyway, so
document-length thresholds for these languages are counted in characters and set per language in the config
(``languages`` overrides). Character bigrams were rejected: they double-count every character and make n-gram
repetition statistics overlap with themselves. Latin runs inside CJK text (``ls``, ``--sort``) stay ordinary words.
The choice is by character, not by the document's script tag, so mixed text is split correctly too.

UNITS_PER_WORD converts word-based thresholds (Gopher's 50 words, its n-gram sizes) for those languages. Measured on
parallel text, the Debian gettext catalogues (English msgids vs translations, ~50 catalogues each): 2.8 units per
English word in Japanese, 1.7 in Chinese (zh_CN and zh_TW alike), 3.9 in Thai; Korean (spaced) 0.9. The factors
below are where the repetition rules agree best with English on the same catalogues (median duplicate n-gram
fractions: English 5-gram ~ Japanese 14-gram, Chinese 7-gram, Thai 20-gram; English 10-gram ~ 27, 14, 40). Lao,
Khmer and Myanmar were not measured and take Thai's factor.

Words are lowercased: stop-word matching and repetition statistics are case-insensitive.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import numpy as np

from curation.text.table_cache import cached_arrays

# ISO 639-3 -> word units per word of running text, for languages split into character units.
UNITS_PER_WORD: dict[str, float] = {
    **dict.fromkeys(("zho", "cmn", "yue", "wuu"), 1.5),
    "jpn": 2.75,
    **dict.fromkeys(("tha", "lao", "khm", "mya"), 4.0),
}

_UNSPACED_BLOCKS = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
)
# Outside the BMP only coarse blocks: a character class with thousands of astral ranges makes Python's regex engine
# test ranges one by one (15x slower). Planes 2-3 are CJK extensions (unspaced); 0x10000-0x1EFFF holds historic
# scripts and mathematical letters (word characters); emoji and symbols (0x1F000+) are not words.
_ASTRAL_WORD = "\U00010000-\U0001efff"
_ASTRAL_UNSPACED = "\U00020000-\U0003ffff"
_ASTRAL_MARKS = "\U000e0100-\U000e01ef"  # variation selectors supplement
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _in_unspaced(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _UNSPACED_BLOCKS)


def _char_class(codepoints: list[int]) -> str:
    """Compact ``[...]`` body of escaped ranges for sorted code points."""
    parts: list[str] = []
    start = prev = codepoints[0]
    for cp in [*codepoints[1:], -2]:
        if cp != prev + 1:
            parts.append(re.escape(chr(start)) if start == prev else f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
            start = cp
        prev = cp
    return "".join(parts)


def _pattern(unit: str, word: str, inner: str) -> str:
    """A unit character, or a token that starts and ends with a word character and has no space or unit inside."""
    return f"{unit}|{word}(?:{inner}*{word})?"


@lru_cache(maxsize=1)
def word_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(BMP-only, any text) word-unit regexes; their source is built once per machine (one pass over the BMP, ~0.1 s;
    ``curation.text.table_cache``), compiled once per process, never at import."""
    bmp, astral = cached_arrays("word-patterns", [__file__], lambda: {"patterns": np.array(_pattern_sources())})[
        "patterns"
    ]
    return re.compile(str(bmp)), re.compile(str(astral))


def _pattern_sources() -> tuple[str, str]:
    marks: list[int] = []
    unspaced: list[int] = []
    spaced: list[int] = []
    for cp in range(0x10000):
        major = unicodedata.category(chr(cp))[0]
        if major == "M":
            marks.append(cp)
        elif major in "LN":
            (unspaced if _in_unspaced(cp) else spaced).append(cp)
    m, u = _char_class(marks), _char_class(unspaced)
    w = _char_class(spaced) + m + "\u200c\u200d"
    bmp = _pattern(f"[{u}][{m}]*", f"[{w}]", f"[^\\s{u}]")
    # Astral alternatives are separate classes so BMP characters keep the fast lookup table.
    astral = _pattern(
        f"(?:[{u}]|[{_ASTRAL_UNSPACED}])(?:[{m}]|[{_ASTRAL_MARKS}])*",
        f"(?:[{w}]|[{_ASTRAL_WORD}{_ASTRAL_MARKS}])",
        f"[^\\s{u}{_ASTRAL_UNSPACED}]",
    )
    return bmp, astral


@lru_cache(maxsize=1)
def unspaced_letters() -> re.Pattern[str]:
    """One letter of an unspaced script (each is one word unit); counts how much of a mixed text is split by
    character, e.g. a Japanese man page full of Latin option names."""
    unspaced = [cp for cp in range(0x10000) if _in_unspaced(cp) and unicodedata.category(chr(cp))[0] in "LN"]
    return re.compile(f"[{_char_class(unspaced)}{_ASTRAL_UNSPACED}]")


class WordSplitter:
    """Splits text into lowercased word units; construct once (e.g. in DoFn.setup) and reuse."""

    def __init__(self) -> None:
        bmp, astral = word_patterns()
        self._bmp = bmp.findall
        self._astral = astral.findall

    def __call__(self, text: str) -> list[str]:
        text = text.lower()
        return self._astral(text) if _ASTRAL.search(text) else self._bmp(text)


def split_words(text: str) -> list[str]:
    """Convenience for one-off calls; the compiled patterns are shared."""
    return WordSplitter()(text)
