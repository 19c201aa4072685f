"""Base class of the document quality filters and the result record the pipeline turns into Document.quality.

A filter is configured once (thresholds plus optional per-language overrides) and then evaluated on many documents,
so config validation and per-language threshold resolution happen once per (lang, script) pair and are cached.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

Stats = dict[str, float]


@dataclass(frozen=True)
class FilterResult:
    """keep/reason for the document; stats of every filter that ran (kept on surviving documents too)."""

    keep: bool
    reason: str | None = None
    stats: Stats = field(default_factory=dict)


def _check_value(where: str, key: str, default: Any, value: Any) -> None:
    """Typos and wrong types in a run config must fail at build time, not silently keep the default."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where}.{key} must be true/false, got {value!r}")
    elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{where}.{key} must be a number or null, got {value!r}")


class QualityFilter(ABC):
    """One quality signal. Subclasses set ``name`` and ``DEFAULTS`` and implement ``evaluate``.

    Config shape: ``{threshold: value, ..., "enabled": bool, "languages": {code: {threshold: value}}}`` where ``code``
    is an ISO 15924 script (``Arab``: every language written in it), an ISO 639-3 code (``zho``) or a full tag
    (``zho_Hant``), applied in that order. A numeric threshold set to null switches that single check off;
    ``enabled: false`` (also per language) switches the whole filter off.
    """

    name: ClassVar[str]
    DEFAULTS: ClassVar[dict[str, Any]]

    def __init__(self, cfg: Mapping[str, Any] | None = None):
        cfg = dict(cfg or {})
        languages = cfg.pop("languages", None) or {}
        if not isinstance(languages, Mapping):
            raise ValueError(f"{self.name}.languages must be a mapping of language code to thresholds")
        self._base = {**self.DEFAULTS, **self._validated(self.name, cfg)}
        self._languages = {
            str(code): self._validated(f"{self.name}.languages.{code}", over or {}) for code, over in languages.items()
        }
        self._cache: dict[tuple[str, str], Any] = {}

    def _validated(self, where: str, cfg: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(cfg, Mapping):
            raise ValueError(f"{where} must be a mapping, got {cfg!r}")
        for key, value in cfg.items():
            default = self.default_for(key)
            if default is None:
                raise ValueError(f"{where}: unknown setting {key!r}; known: {', '.join(sorted(self.DEFAULTS))}")
            _check_value(where, key, default, value)
        return dict(cfg)

    def default_for(self, key: str) -> Any:
        """Default of a setting (its type is the allowed type), None for unknown names; hook for pattern names."""
        return self.DEFAULTS.get(key)

    def thresholds(self, lang: str, script: str = "") -> dict[str, Any]:
        """Defaults, then the script override (the tag's script, else ``script``), the ISO 639-3 one, the full tag's."""
        params = dict(self._base)
        iso, _, tag_script = lang.partition("_")
        for code in dict.fromkeys((tag_script or script, iso.lower(), lang)):
            if code:
                params.update(self._languages.get(code, {}))
        return params

    def settings(self, lang: str, script: str) -> Any:
        """Prepared settings for a language, or None when the filter is off for it; cached per (lang, script)."""
        key = (lang, script)
        if key not in self._cache:
            params = self.thresholds(lang, script)
            self._cache[key] = self.prepare(params, script) if params.get("enabled", True) else None
        return self._cache[key]

    def prepare(self, params: dict[str, Any], script: str) -> Any:
        """Hook to precompile per-language state (regexes, parsed n-gram sizes); default: the thresholds dict."""
        return params

    def stat_names(self, stats: Mapping[str, float]) -> Stats:
        """Prefix measured values with the filter name, as floats (Document.quality is map<string, double>)."""
        return {f"{self.name}:{key}": float(value) for key, value in stats.items()}

    def reason(self, code: str) -> str:
        return f"{self.name}:{code}"

    @abstractmethod
    def evaluate(self, text: str, words: list[str], lang: str, script: str) -> tuple[str | None, Stats]:
        """Measure ``text`` (``words`` are its lowercased word units); return (failing reason or None, stats)."""
