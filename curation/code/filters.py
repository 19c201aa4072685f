"""Code quality filters with per-language thresholds, after the StarCoder / The Stack v2 data filters.

A source file is rejected when it is not code a model should learn from: auto-generated (a generator's banner in
the first lines), minified (``.min.js`` or a few very long lines), vendored (a path under ``vendor/``,
``node_modules/`` ...), a lock file or a large data file (JSON/CSV/YAML blobs), mostly encoded data (base64, hex or
``\\uXXXX`` runs), or by its line statistics (longest and mean line, share of alphanumeric characters). Defaults are
StarCoder's (max line 1000, mean line 100, alphanumeric >= 0.25, encoded data <= 50 % and no single run over 1024
characters); ``languages`` overrides them per language name (markup and data get longer lines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from curation.code.languages import DATA, ProgrammingLanguage

DEFAULTS: dict[str, Any] = {
    "max_line_length": 1000,
    "max_mean_line_length": 100,
    "min_alphanumeric_fraction": 0.25,
    "max_encoded_fraction": 0.5,
    "max_encoded_run": 1024,
    "max_data_chars": 50_000,  # JSON / YAML / XML ... longer than this are data dumps, not configuration
    "min_chars": 1,
    "generated_head_lines": 5,
    "languages": {
        "HTML": {"max_line_length": 2000, "max_mean_line_length": 200},
        "Markdown": {"max_line_length": 5000, "max_mean_line_length": 1000, "min_alphanumeric_fraction": 0.2},
        "Text": {"max_line_length": 5000, "max_mean_line_length": 1000},
        "reStructuredText": {"max_line_length": 2000, "max_mean_line_length": 200},
        "TeX": {"max_line_length": 2000, "max_mean_line_length": 200},
        "JSON": {"min_alphanumeric_fraction": 0.1},
        "SVG": {"max_line_length": 5000},
    },
}

VENDORED_DIRS = frozenset(
    {"vendor", "vendors", "node_modules", "third_party", "thirdparty", "third-party", "bower_components",
     "site-packages", "jspm_packages", ".git", ".svn", "__pycache__"}
)  # fmt: skip
_GENERATED = re.compile(
    r"auto-?generated|automatically generated|generated (?:by|from|with|using)|do not edit|don't edit|"
    r"code generated .* do not edit|this file was generated",
    re.IGNORECASE,
)
_MINIFIED_NAME = re.compile(r"[.-]min\.(?:js|css|mjs)$|\.bundle\.js$", re.IGNORECASE)
# StarCoder's encoded-data patterns: base64 runs, hex byte lists, \uXXXX escapes
_ENCODED = re.compile(r"[A-Za-z0-9+/\n=]{64,}|(?:\b(?:0x|\\x)?[0-9a-fA-F]{2}(?:,|\b\s*)){8,}|(?:\\u[0-9a-fA-F]{4}){8,}")
_NOT_ALNUM = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class CodeStats:
    lines: int
    max_line_length: int
    mean_line_length: float
    alphanumeric_fraction: float
    encoded_fraction: float
    longest_encoded_run: int

    def as_quality(self) -> dict[str, float]:
        """The statistics as stored in a document's ``quality`` map (``code_`` prefixed)."""
        return {f"code_{k}": float(v) for k, v in self.__dict__.items()}


def code_stats(text: str) -> CodeStats:
    lines = text.split("\n")
    lengths = [len(line) for line in lines]
    chars = max(len(text), 1)
    encoded = [m.end() - m.start() for m in _ENCODED.finditer(text)]
    return CodeStats(
        lines=len(lines),
        max_line_length=max(lengths, default=0),
        mean_line_length=sum(lengths) / max(len(lines), 1),
        alphanumeric_fraction=len(_NOT_ALNUM.sub("", text)) / chars,
        encoded_fraction=sum(encoded) / chars,
        longest_encoded_run=max(encoded, default=0),
    )


class CodeFilter:
    """``evaluate(path, language, text)`` -> (rejection reason or None, statistics); thresholds per language."""

    def __init__(self, config: Mapping[str, Any] | None = None):
        config = dict(config or {})
        self.defaults = {**DEFAULTS, **{k: v for k, v in config.items() if k != "languages"}}
        self.overrides = {**DEFAULTS["languages"], **(config.get("languages") or {})}

    def settings(self, language: str | None) -> dict[str, Any]:
        return {**self.defaults, **(self.overrides.get(language or "", {}) or {})}

    def evaluate(self, path: str, language: ProgrammingLanguage, text: str) -> tuple[str | None, CodeStats]:
        p = self.settings(language.name)
        stats = code_stats(text)
        parts = {part.lower() for part in path.replace("\\", "/").split("/")[:-1]}
        if len(text.strip()) < p["min_chars"]:
            return "empty_file", stats
        if parts & VENDORED_DIRS:
            return "vendored", stats
        if language.name == "Lock file":
            return "lock_file", stats
        if language.kind == DATA and (language.name in ("CSV", "TSV") or len(text) > p["max_data_chars"]):
            return "data_file", stats
        if _MINIFIED_NAME.search(path):
            return "minified", stats
        head = "\n".join(text.split("\n", p["generated_head_lines"])[: p["generated_head_lines"]])
        if _GENERATED.search(head):
            return "auto_generated", stats
        if stats.longest_encoded_run > p["max_encoded_run"] or stats.encoded_fraction > p["max_encoded_fraction"]:
            return "encoded_data", stats
        if stats.max_line_length > p["max_line_length"]:
            return "long_lines", stats
        if stats.mean_line_length > p["max_mean_line_length"]:
            return "long_mean_line", stats
        if stats.alphanumeric_fraction < p["min_alphanumeric_fraction"]:
            return "low_alphanumeric", stats
        return None, stats
