"""Gopher quality heuristics (Rae et al. 2021, "Scaling Language Models", appendix A.1.1).

Keeps documents that look like running prose: a sane length, normal word lengths, few ``#``/ellipsis symbols, not
mostly bullet points or truncated lines, mostly alphabetic words and at least two distinct function words of the
document's language (stopwords.py; the check is skipped for languages without a list). Words are the units of
words.py, so for Chinese/Japanese/Thai-family languages counts are characters and their thresholds are overridden
per language in DEFAULT_LANGUAGES: lengths scaled by units per word, and an average unit length of 1..4 (above 4 the
"Chinese" text is mostly Latin words, e.g. an untranslated man page).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from curation.filters.base import QualityFilter, Stats
from curation.filters.stopwords import stop_words
from curation.filters.words import UNITS_PER_WORD

_LINE = re.compile(r"^[^\S\n]*\S", re.M)
_BULLET_LINE = re.compile(r"^[^\S\n]*[-*•●○◦▪▫■□‣⁃∙·–—]", re.M)
_ELLIPSIS_LINE = re.compile(r"(?:\.\.\.|…)[^\S\n]*$", re.M)
_HAS_LETTER = re.compile(r"[^\W\d_]").search  # Gopher: a word "contains at least one alphabetic character"


def _character_units(factor: float) -> dict[str, Any]:
    """Length limits scaled to character units (words.UNITS_PER_WORD); a unit is about one character long."""
    return {"min_words": round(50 * factor), "max_words": round(100_000 * factor), "min_avg_word_len": 1,
            "max_avg_word_len": 4}  # fmt: skip


DEFAULT_LANGUAGES: dict[str, dict[str, Any]] = {code: _character_units(f) for code, f in UNITS_PER_WORD.items()}


class GopherQualityFilter(QualityFilter):
    """Document-level Gopher quality rules; reasons are ``gopher_quality:<rule>``."""

    name: ClassVar[str] = "gopher_quality"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "enabled": True,
        "min_words": 50,
        "max_words": 100_000,
        "min_avg_word_len": 3,
        "max_avg_word_len": 10,
        "max_symbol_word_ratio": 0.1,
        "max_bullet_lines_ratio": 0.9,
        "max_ellipsis_lines_ratio": 0.3,
        # Gopher: at least 80% of words contain a letter, i.e. at most 20% without one.
        "max_non_alpha_words_ratio": 0.2,
        "min_stop_words": 2,
    }

    def evaluate(self, text: str, words: list[str], lang: str, script: str) -> tuple[str | None, Stats]:
        p = self.settings(lang, script)
        if p is None:
            return None, {}
        n_words = len(words)
        per_word = 1.0 / n_words if n_words else 0.0
        n_lines = len(_LINE.findall(text))
        per_line = 1.0 / n_lines if n_lines else 0.0
        stats: dict[str, float] = {
            "n_words": n_words,
            "avg_word_len": sum(map(len, words)) * per_word,
            "hash_word_ratio": text.count("#") * per_word,
            "ellipsis_word_ratio": (text.count("...") + text.count("…")) * per_word,
            "bullet_lines_ratio": len(_BULLET_LINE.findall(text)) * per_line,
            "ellipsis_lines_ratio": len(_ELLIPSIS_LINE.findall(text)) * per_line,
            "non_alpha_words_ratio": sum(1 for w in words if not _HAS_LETTER(w)) * per_word,
        }
        stops = stop_words(lang)
        if stops is not None:  # distinct ones, as in Gopher ("at least two of"): a list repeating "and" is no prose
            stats["stop_words"] = len(stops.intersection(words))
        return self._decide(p, stats), self.stat_names(stats)

    def _decide(self, p: dict[str, Any], s: dict[str, float]) -> str | None:
        checks = (
            ("too_few_words", p["min_words"], s["n_words"], -1),
            ("too_many_words", p["max_words"], s["n_words"], 1),
            ("short_avg_word_len", p["min_avg_word_len"], s["avg_word_len"], -1),
            ("long_avg_word_len", p["max_avg_word_len"], s["avg_word_len"], 1),
            ("hash_word_ratio", p["max_symbol_word_ratio"], s["hash_word_ratio"], 1),
            ("ellipsis_word_ratio", p["max_symbol_word_ratio"], s["ellipsis_word_ratio"], 1),
            ("bullet_lines", p["max_bullet_lines_ratio"], s["bullet_lines_ratio"], 1),
            ("ellipsis_lines", p["max_ellipsis_lines_ratio"], s["ellipsis_lines_ratio"], 1),
            ("non_alpha_words", p["max_non_alpha_words_ratio"], s["non_alpha_words_ratio"], 1),
            ("too_few_stop_words", p["min_stop_words"], s.get("stop_words"), -1),
        )
        for code, limit, value, sign in checks:
            if limit is None or value is None:
                continue
            if (sign < 0 and value < limit) or (sign > 0 and value > limit):
                return self.reason(code)
        return None
