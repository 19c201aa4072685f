"""Unicode script detection (ISO 15924) from the letters of a text, pure Python.

LID models name a language but not its script; the corpus key is ``lang_Script`` (``srp_Latn`` vs ``srp_Cyrl``,
``zho_Hans`` vs ``zho_Hant``), so the script is read off the characters themselves. Only letters vote: digits,
punctuation and spaces say nothing about the writing system.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from functools import lru_cache

# (first, last, script) codepoint ranges, sorted and non-overlapping; letters outside them are ignored.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "Latn"), (0x0061, 0x007A, "Latn"), (0x00AA, 0x00AA, "Latn"), (0x00BA, 0x00BA, "Latn"),
    (0x00C0, 0x02AF, "Latn"), (0x0370, 0x03FF, "Grek"), (0x0400, 0x052F, "Cyrl"), (0x0530, 0x058F, "Armn"),
    (0x0590, 0x05FF, "Hebr"), (0x0600, 0x06FF, "Arab"), (0x0700, 0x074F, "Syrc"), (0x0750, 0x077F, "Arab"),
    (0x0780, 0x07BF, "Thaa"), (0x0870, 0x08FF, "Arab"), (0x0900, 0x097F, "Deva"), (0x0980, 0x09FF, "Beng"),
    (0x0A00, 0x0A7F, "Guru"), (0x0A80, 0x0AFF, "Gujr"), (0x0B00, 0x0B7F, "Orya"), (0x0B80, 0x0BFF, "Taml"),
    (0x0C00, 0x0C7F, "Telu"), (0x0C80, 0x0CFF, "Knda"), (0x0D00, 0x0D7F, "Mlym"), (0x0D80, 0x0DFF, "Sinh"),
    (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Laoo"), (0x0F00, 0x0FFF, "Tibt"), (0x1000, 0x109F, "Mymr"),
    (0x10A0, 0x10FF, "Geor"), (0x1100, 0x11FF, "Hang"), (0x1200, 0x139F, "Ethi"), (0x13A0, 0x13FF, "Cher"),
    (0x1400, 0x167F, "Cans"), (0x1780, 0x17FF, "Khmr"), (0x1800, 0x18AF, "Mong"), (0x19E0, 0x19FF, "Khmr"),
    (0x1C80, 0x1C8F, "Cyrl"), (0x1C90, 0x1CBF, "Geor"), (0x1D00, 0x1DBF, "Latn"), (0x1E00, 0x1EFF, "Latn"),
    (0x1F00, 0x1FFF, "Grek"), (0x2C60, 0x2C7F, "Latn"), (0x2D00, 0x2D2F, "Geor"), (0x2D80, 0x2DDF, "Ethi"),
    (0x2DE0, 0x2DFF, "Cyrl"), (0x3005, 0x3007, "Hani"), (0x3040, 0x309F, "Hira"), (0x30A0, 0x30FF, "Kana"),
    (0x3100, 0x312F, "Bopo"), (0x3130, 0x318F, "Hang"), (0x31A0, 0x31BF, "Bopo"), (0x31F0, 0x31FF, "Kana"),
    (0x3400, 0x4DBF, "Hani"), (0x4E00, 0x9FFF, "Hani"), (0xA640, 0xA69F, "Cyrl"), (0xA720, 0xA7FF, "Latn"),
    (0xA8E0, 0xA8FF, "Deva"), (0xA960, 0xA97F, "Hang"), (0xA9E0, 0xA9FF, "Mymr"), (0xAA60, 0xAA7F, "Mymr"),
    (0xAB00, 0xAB2F, "Ethi"), (0xAB30, 0xAB6F, "Latn"), (0xAC00, 0xD7FF, "Hang"), (0xF900, 0xFAFF, "Hani"),
    (0xFB00, 0xFB06, "Latn"), (0xFB13, 0xFB17, "Armn"), (0xFB1D, 0xFB4F, "Hebr"), (0xFB50, 0xFDFF, "Arab"),
    (0xFE70, 0xFEFF, "Arab"), (0xFF21, 0xFF3A, "Latn"), (0xFF41, 0xFF5A, "Latn"), (0xFF66, 0xFF9F, "Kana"),
    (0xFFA0, 0xFFDC, "Hang"), (0x20000, 0x3134F, "Hani"),
)  # fmt: skip
_STARTS = [r[0] for r in _RANGES]
# Scripts some language of the registry / lid.176 is written in; a letter of any other script still counts as a
# letter (``char_script``), but no language ID model here can name its language.
TRACKED_SCRIPTS = frozenset(r[2] for r in _RANGES) | {"Hans", "Hant", "Jpan"}

# A CJK character carries about as much text as a short Latin word; weighting keeps a Chinese man page full of
# Latin option names (``--all``) from being called Latin.
_CJK_WEIGHT = 3
_CJK = frozenset({"Hani", "Hira", "Kana", "Hang"})
_JPAN_MIN_KANA_SHARE = 0.15  # Japanese prose is 30-60 % kana; Chinese quoting a katakana name is far below.

# Simplified-only / traditional-only characters, as (simplified, traditional) pairs. Chosen so that neither form
# is in ordinary use in the other orthography (no 后/後, 里/裡, 干/乾, 台/臺 ...).
_HAN_PAIRS = (
    "们們这這说說国國对對时時会會来來个個为為发發学學经經过過还還没沒见見进進动動实實现現问問题題开開关關"
    "长長门門间間东東车車语語话話认認识識让讓计計记記设設论論请請读讀写寫书書买買卖賣电電网網线線给給从從"
    "样樣机機条條爱愛听聽华華与與产產业業头頭办辦务務区區应應钱錢页頁显顯视視软軟单單选選项項数數错錯误誤"
    "当當处處将將带帶总總标標么麼吗嗎边邊户戶录錄码碼"
)
SIMPLIFIED_ONLY = frozenset(_HAN_PAIRS[0::2])
TRADITIONAL_ONLY = frozenset(_HAN_PAIRS[1::2])


@lru_cache(maxsize=1 << 16)
def char_script(ch: str) -> str | None:
    """ISO 15924 code of a letter, None for non-letters. The scripts of the registry's languages come from the
    table above (fast, and it folds what LID needs folded); any other letter (Javanese, Tifinagh, Vai, Yi, Chakma
    ...) from Unicode's Scripts.txt as fontTools ships it, so it counts as a letter of its own script."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    cp = ord(ch)
    i = bisect_right(_STARTS, cp) - 1
    if i >= 0 and cp <= _RANGES[i][1]:
        return _RANGES[i][2]
    from fontTools.unicodedata import script

    code = script(ch)
    return None if code in ("Zyyy", "Zinh", "Zzzz") else code


def script_counts(text: str, sample_chars: int = 20000) -> Counter[str]:
    """Letters per script in the first ``sample_chars`` characters (unweighted)."""
    counts: Counter[str] = Counter()
    for ch, n in Counter(text[:sample_chars]).items():  # count distinct chars once: C-speed on the hot loop
        script = char_script(ch)
        if script is not None:
            counts[script] += n
    return counts


# Character classes over the same sets: the regex engine counts them at C speed (a Counter of a Chinese text has
# hundreds of distinct characters to walk in Python).
_SIMPLIFIED_RE = re.compile("[" + "".join(sorted(SIMPLIFIED_ONLY)) + "]")
_TRADITIONAL_RE = re.compile("[" + "".join(sorted(TRADITIONAL_ONLY)) + "]")


def han_variant(text: str, default: str = "Hans") -> str:
    """Return "Hans" or "Hant" by majority of simplified-only vs traditional-only characters; ``default`` on a tie."""
    simp = len(_SIMPLIFIED_RE.findall(text))
    trad = len(_TRADITIONAL_RE.findall(text))
    if simp == trad:
        return default
    return "Hans" if simp > trad else "Hant"


def dominant_script(text: str, sample_chars: int = 20000) -> str:
    """Main writing system of ``text``: an ISO 15924 code, "Jpan" for Han+kana, "Hans"/"Hant" for Han, else "Zyyy".

    Han, kana and Hangul vote together as one CJK block (Japanese and Korean mix them), then the block is split.
    """
    sample = text[:sample_chars]
    counts = script_counts(sample, sample_chars)
    if not counts:
        return "Zyyy"
    cjk = sum(counts[s] for s in _CJK)
    best, best_n = max(((s, n) for s, n in counts.items() if s not in _CJK), key=lambda kv: kv[1], default=("", 0))
    if cjk * _CJK_WEIGHT <= best_n:
        return best
    kana = counts["Hira"] + counts["Kana"]
    if counts["Hang"] >= cjk - counts["Hang"]:
        return "Hang"
    if kana >= _JPAN_MIN_KANA_SHARE * cjk:
        return "Jpan"
    return han_variant(sample)
