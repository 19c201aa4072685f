"""C4 clean-up rules (Raffel et al. 2020, section 2.2) as a keep/reject decision on whole documents.

C4 edits web pages: it deletes lines without terminal punctuation, lines of fewer than 3 words and lines mentioning
"javascript" or cookie/privacy policies, then drops pages with "lorem ipsum", a curly bracket, or fewer than 3
sentences (TFDS value; the paper says 5). Filters here never rewrite text, so the line rules become measurements:

* boilerplate (javascript/policy) lines are counted; a page that is mostly boilerplate is rejected;
* short lines (at most 30 columns, CJK characters counting two; FineWeb's form of the rule) are counted; a page that
  is mostly short lines is a menu, list or UI-string dump (Django's admin messages: 0.83-0.9; the longest real man
  page in the sample, Chinese mkdir(1): 0.62);
* sentences are counted, not lines ending in punctuation: our sources are hard-wrapped (man pages, licences), where
  only paragraph ends carry punctuation (the MIT licence has two such lines but three sentences).

C4 drops a page for a single "{" because it targets code on the web; our sources are technical documents whose prose
sometimes quotes a config snippet, so the rule is a density (``max_curly_bracket_ratio``, "{" per word; set 0 for
C4's exact rule). Policy phrases are English, as in C4.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from curation.filters.base import QualityFilter, Stats

_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_JAVASCRIPT = "javascript"
# A sentence ends at Latin-style punctuation followed by a space (optionally after closing quotes), or at the full
# stops of CJK, Arabic/Urdu, Devanagari, Armenian, Ethiopic, Khmer and Myanmar, which need no following space.
_SENTENCE_END = re.compile(
    # One character class first (the regex engine scans for it quickly), then the branch for the mark found.
    "[.!?…。！？؟۔।॥։።។៕။](?:(?<=[.!?…])[.!?…]*[\"'”’»)\\]]*(?=\\s|$)|(?<=[。！？؟۔।॥։።។៕။])[。！？؟۔।॥։።។៕။]*)"
)
_LINE = re.compile(r"^[^\S\n]*\S", re.M)
_WIDE = re.compile("[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")

# Thai and Lao end sentences with a space, not punctuation: the sentence count means nothing there.
DEFAULT_LANGUAGES: dict[str, dict[str, Any]] = {"tha": {"min_sentences": 0}, "lao": {"min_sentences": 0}}


def short_lines_ratio(lines: list[str], columns: int) -> float:
    """Share of non-empty lines at most ``columns`` wide (East Asian wide characters count two)."""
    if not lines:
        return 0.0
    short = 0
    for line in lines:
        if len(line) <= columns and len(line) + len(_WIDE.findall(line)) <= columns:
            short += 1
    return short / len(lines)


class C4Filter(QualityFilter):
    """Reasons: ``c4:`` + lorem_ipsum, curly_bracket, boilerplate_lines, short_lines, too_few_sentences."""

    name: ClassVar[str] = "c4"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "enabled": True,
        "lorem_ipsum": True,
        "curly_bracket": True,
        "max_curly_bracket_ratio": 0.005,
        "javascript": True,
        "policy": True,
        "max_boilerplate_lines_ratio": 0.2,
        "short_line_columns": 30,
        "max_short_lines_ratio": 0.67,
        "min_sentences": 3,
    }

    def prepare(self, params: dict[str, Any], script: str) -> dict[str, Any]:
        """Compile the boilerplate-line regex for the enabled line rules."""
        phrases = ([_JAVASCRIPT] if params["javascript"] else []) + (list(_POLICY) if params["policy"] else [])
        alternation = "|".join(map(re.escape, phrases))
        boilerplate = re.compile(f"^[^\\n]*(?:{alternation})[^\\n]*$", re.M) if phrases else None
        return {**params, "_boilerplate": boilerplate, "_phrases": tuple(phrases)}

    def evaluate(self, text: str, words: list[str], lang: str, script: str) -> tuple[str | None, Stats]:
        p = self.settings(lang, script)
        if p is None:
            return None, {}
        lower = text.lower()
        lines = [line for line in (raw.strip() for raw in text.split("\n")) if line]
        # A substring test first: most pages mention none of the phrases, and the line regex is the slow part.
        found = p["_boilerplate"] is not None and any(phrase in lower for phrase in p["_phrases"])
        boiler = p["_boilerplate"].findall(lower) if found else []
        js_lines = sum(1 for line in boiler if _JAVASCRIPT in line)
        boiler_sentences = sum(len(_SENTENCE_END.findall(line)) for line in boiler)
        stats: dict[str, float] = {
            "lines": len(lines),
            "sentences": len(_SENTENCE_END.findall(text)) - boiler_sentences,
            "short_lines_ratio": short_lines_ratio(lines, p["short_line_columns"] or 0),
            "javascript_lines": js_lines,
            "policy_lines": len(boiler) - js_lines,
            "boilerplate_lines_ratio": len(boiler) / len(lines) if lines else 0.0,
            "curly_bracket_ratio": text.count("{") / len(words) if words else float("{" in text),
            "lorem_ipsum": lower.count("lorem ipsum"),
        }
        return self._decide(p, stats), self.stat_names(stats)

    def _decide(self, p: dict[str, Any], s: dict[str, float]) -> str | None:
        if p["lorem_ipsum"] and s["lorem_ipsum"] > 0:
            return self.reason("lorem_ipsum")
        limit = p["max_curly_bracket_ratio"]
        if p["curly_bracket"] and limit is not None and s["curly_bracket_ratio"] > limit:
            return self.reason("curly_bracket")
        checks = (
            ("boilerplate_lines", p["max_boilerplate_lines_ratio"], s["boilerplate_lines_ratio"], 1),
            ("short_lines", p["max_short_lines_ratio"], s["short_lines_ratio"], 1),
            ("too_few_sentences", p["min_sentences"], s["sentences"], -1),
        )
        for code, limit, value, sign in checks:
            if limit is not None and (value > limit if sign > 0 else value < limit):
                return self.reason(code)
        return None
