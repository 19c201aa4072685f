"""FineWeb's line-level quality rules (Penedo et al. 2024; datatrove ``FineWebQualityFilter``), per script.

Four measurements over the non-empty lines of a document, with datatrove's defaults as our defaults:

* ``line_punct_ratio``: share of lines ending in terminal punctuation (at least 0.12), which separates running text
  from menus, link lists and tables;
* ``short_line_ratio``: share of lines of at most ``short_line_length`` characters (at most 0.67);
* ``char_dup_ratio``: characters in lines that repeat an earlier line, over all characters but newlines (at most
  0.01): repeated navigation and boilerplate lines;
* ``new_line_ratio``: newlines per word (at most 0.3): a list has a line break every few words.

Differences from datatrove, all deliberate:

* terminal punctuation is chosen by the document's script (datatrove uses one set of 150 marks for every script):
  ``. ! ? …`` everywhere, plus ``。！？`` for CJK, ``؟ ۔`` for Arabic script, ``। ॥`` for the Indic scripts that use
  the danda, ``።`` for Ethiopic, ``။`` for Myanmar, ``។ ៕`` for Khmer, ``։`` for Armenian and ``;`` (the Greek
  question mark after NFC) for Greek. Thai and Lao mark a sentence end with a space, not a character, so the rule is
  switched off for them in the per-language config. A closing quote or bracket after the mark still counts
  (``…end.)``, ``。」``), and trailing spaces are ignored;
* lines are measured stripped: an indented line is as short as its text;
* lines without a letter or digit (table rules such as ``+----+----+``, separators) are left out of the duplicate
  count: they are layout, and w3m/groff renderings of real manuals repeat them in every table;
* the newline ratio counts words as the other filters do (words.py), except that in languages split into
  characters (Chinese, Japanese, Thai-family) the characters of those scripts count ``units_per_word`` to a word
  (words.UNITS_PER_WORD) while Latin words in the same text (option names, code) count one each: a fixed
  per-language threshold would treat a Japanese man page full of ``--option`` lines as prose;
* ``short_line_length`` is in characters and set per language where a script packs more text into a character
  (Chinese 10, Japanese and Korean 16: thresholds.yaml, measured on parallel text).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from curation.filters.base import QualityFilter, Stats
from curation.filters.words import UNITS_PER_WORD, unspaced_letters

_COMMON = ".!?…‼⁇⁈⁉‽"
_CJK = "。！？．｡"
# ISO 15924 -> terminal marks used in that script besides the common ones.
SCRIPT_TERMINALS: dict[str, str] = {
    **dict.fromkeys(("Hans", "Hant", "Hani", "Jpan", "Hira", "Kana", "Kore", "Hang"), _CJK),
    **dict.fromkeys(("Arab", "Aran", "Syrc", "Thaa"), "؟۔؞"),
    **dict.fromkeys(("Deva", "Beng", "Guru", "Gujr", "Orya", "Sinh"), "।॥"),
    "Ethi": "።፧፨",
    "Mymr": "။",
    "Khmr": "។៕",
    "Armn": "։",
    "Grek": ";",
    "Tibt": "།༎",
}
_ANY_SCRIPT = "".join(dict.fromkeys(_COMMON + "".join(SCRIPT_TERMINALS.values())))
_CLOSERS = "\"'”’»›)]」』）》〉】"
_HAS_WORD_CHAR = re.compile(r"[^\W_]").search


def terminal_marks(script: str) -> tuple[str, ...]:
    """Sentence-final marks for an ISO 15924 script; every known mark for an unknown script (``Zyyy``)."""
    if script in SCRIPT_TERMINALS:
        return tuple(_COMMON + SCRIPT_TERMINALS[script])
    if script in ("Zyyy", "Zzzz", ""):
        return tuple(_ANY_SCRIPT)
    return tuple(_COMMON)


class FineWebQualityFilter(QualityFilter):
    """Reasons (datatrove's names): ``fineweb:`` + empty, line_punct_ratio, short_line_ratio, char_dup_ratio,
    list_ratio."""

    name: ClassVar[str] = "fineweb"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "enabled": True,
        "min_line_punct_ratio": 0.12,
        "line_punct_exclude_zero": False,  # datatrove's option: a ratio of exactly 0 passes (text without marks)
        "short_line_length": 30,
        "max_short_line_ratio": 0.67,
        "max_char_dup_ratio": 0.01,
        "max_new_line_ratio": 0.3,
        "units_per_word": 1.0,  # how many characters of an unspaced script make one word (newline ratio only)
    }

    def prepare(self, params: dict[str, Any], script: str) -> dict[str, Any]:
        per_word = params["units_per_word"] or 1.0
        return {
            **params,
            "_terminals": terminal_marks(script),
            "_unspaced": unspaced_letters() if per_word != 1 else None,
        }

    def evaluate(self, text: str, words: list[str], lang: str, script: str) -> tuple[str | None, Stats]:
        p = self.settings(lang, script)
        if p is None:
            return None, {}
        lines = [line for line in (raw.strip() for raw in text.split("\n")) if line]
        if not lines:
            return self.reason("empty"), self.stat_names({"lines": 0})
        per_line = 1.0 / len(lines)
        terminals = p["_terminals"]
        short_length = p["short_line_length"] or 0
        seen: set[str] = set()
        dup_chars = 0
        for line in lines:
            if line in seen:
                dup_chars += len(line)
            elif _HAS_WORD_CHAR(line):
                seen.add(line)
        n_chars = len(text) - text.count("\n")
        stats: dict[str, float] = {
            "lines": len(lines),
            "line_punct_ratio": sum(1 for line in lines if line.rstrip(_CLOSERS).endswith(terminals)) * per_line,
            "short_line_ratio": sum(1 for line in lines if len(line) <= short_length) * per_line,
            "char_dup_ratio": dup_chars / n_chars if n_chars else 0.0,
            "new_line_ratio": text.count("\n") / max(self._word_count(p, text, words), 1.0),
        }
        return self._decide(p, stats), self.stat_names(stats)

    @staticmethod
    def _word_count(p: dict[str, Any], text: str, words: list[str]) -> float:
        """Word units, with the letters of unspaced scripts counted ``units_per_word`` to a word."""
        if p["_unspaced"] is None:
            return len(words)
        unspaced = len(p["_unspaced"].findall(text))
        return len(words) - unspaced + unspaced / p["units_per_word"]

    def _decide(self, p: dict[str, Any], s: dict[str, float]) -> str | None:
        limit = p["min_line_punct_ratio"]
        if limit is not None and s["line_punct_ratio"] < limit:
            if not (p["line_punct_exclude_zero"] and s["line_punct_ratio"] == 0):
                return self.reason("line_punct_ratio")
        checks = (
            ("short_line_ratio", p["max_short_line_ratio"], s["short_line_ratio"]),
            ("char_dup_ratio", p["max_char_dup_ratio"], s["char_dup_ratio"]),
            ("list_ratio", p["max_new_line_ratio"], s["new_line_ratio"]),
        )
        for code, limit, value in checks:
            if limit is not None and value > limit:
                return self.reason(code)
        return None


# Languages split into one unit per character: their characters count UNITS_PER_WORD to a word in the newline ratio.
DEFAULT_LANGUAGES: dict[str, dict[str, Any]] = {code: {"units_per_word": f} for code, f in UNITS_PER_WORD.items()}
