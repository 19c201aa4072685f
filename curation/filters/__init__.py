"""Document quality filters (Gopher quality, Gopher repetition, C4, FineWeb) with per-language thresholds.

``build_filters(merged_filter_config(run_cfg))`` once per worker, then ``apply_filters`` per document. The config maps
filter name → thresholds (see each filter's DEFAULTS) plus ``languages`` overrides keyed by ISO 15924 script,
ISO 639-3 code or full ``xxx_Scrp`` tag (applied in that order); a filter set to ``false``/null or with
``enabled: false`` is skipped. The defaults' overrides come from the filter modules (character-unit languages) and
thresholds.yaml (measured on parallel text by benchmarks/filters_calibration.py, each override with its measurement).
Filters run in the order of DEFAULT_FILTER_CONFIG; the first failing one decides the reason, and the stats of every
filter run so far are kept.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import yaml

from curation.config_merge import deep_merge
from curation.filters import c4, fineweb, gopher_quality, gopher_repetition
from curation.filters.base import FilterResult, QualityFilter, Stats
from curation.filters.c4 import C4Filter
from curation.filters.fineweb import FineWebQualityFilter
from curation.filters.gopher_quality import GopherQualityFilter
from curation.filters.gopher_repetition import GopherRepetitionFilter
from curation.filters.words import WordSplitter, word_patterns
from curation.text.normalize import fold_whitespace

__all__ = [
    "DEFAULT_FILTER_CONFIG",
    "FILTERS",
    "FilterResult",
    "QualityFilter",
    "apply_filters",
    "build_filters",
]

FILTERS: dict[str, type[QualityFilter]] = {
    cls.name: cls for cls in (GopherQualityFilter, GopherRepetitionFilter, C4Filter, FineWebQualityFilter)
}


def _calibrated_overrides() -> dict[str, Any]:
    """Per-language overrides measured on real text (thresholds.yaml; benchmarks/filters_calibration.py writes it)."""
    text = resources.files("curation.filters").joinpath("thresholds.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


DEFAULT_FILTER_CONFIG: dict[str, Any] = deep_merge(
    {
        "gopher_quality": {
            **GopherQualityFilter.DEFAULTS,
            "languages": copy.deepcopy(gopher_quality.DEFAULT_LANGUAGES),
        },
        "gopher_repetition": {
            **GopherRepetitionFilter.DEFAULTS,
            "languages": copy.deepcopy(gopher_repetition.DEFAULT_LANGUAGES),
        },
        "c4": {**C4Filter.DEFAULTS, "languages": copy.deepcopy(c4.DEFAULT_LANGUAGES)},
        "fineweb": {**FineWebQualityFilter.DEFAULTS, "languages": copy.deepcopy(fineweb.DEFAULT_LANGUAGES)},
    },
    _calibrated_overrides(),
)


def _enabled_anywhere(section: Mapping[str, Any]) -> bool:
    """A filter switched off globally still runs when some language override switches it back on."""
    if section.get("enabled", True) is not False:
        return True
    overrides = (section.get("languages") or {}).values()
    return any(isinstance(o, Mapping) and o.get("enabled") is True for o in overrides)


def build_filters(cfg: Mapping[str, Any]) -> list[QualityFilter]:
    """Validated filters in registry order; unknown filter names or settings raise ValueError (config typos)."""
    unknown = sorted(set(cfg) - set(FILTERS))
    if unknown:
        raise ValueError(f"unknown quality filter(s) {unknown}; known: {sorted(FILTERS)}")
    filters: list[QualityFilter] = []
    for name, cls in FILTERS.items():
        section = cfg.get(name, DEFAULT_FILTER_CONFIG[name])
        if section is None or section is False:
            continue
        if not isinstance(section, Mapping):
            raise ValueError(f"filter {name!r} config must be a mapping or false, got {section!r}")
        if not _enabled_anywhere(section):
            continue
        filters.append(cls(section))
    word_patterns()  # compile the word-unit regex now (once per process), not on the first document
    return filters


def apply_filters(filters: Sequence[QualityFilter], text: str, lang: str, script: str) -> FilterResult:
    """Run filters in order on one document; ``lang`` is ``xxx_Scrp`` (or ``und``), ``script`` ISO 15924.

    The filters read the text with its whitespace folded (``fold_whitespace``: their line, paragraph and repetition
    statistics and thresholds are defined on prose layout, where an indented line or a no-break space is the same
    line); the stored text keeps its whitespace."""
    text = fold_whitespace(text)
    words = WordSplitter()(text)  # split once, shared by all filters
    stats: Stats = {}
    for flt in filters:
        reason, measured = flt.evaluate(text, words, lang, script)
        stats.update(measured)
        if reason is not None:
            return FilterResult(False, reason, stats)
    return FilterResult(True, None, stats)
