"""Curation DoFns: thin Beam wrappers around the pure cores in curation/. Each yields kept docs on the main output
and Rejections on the "rejections" output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import apache_beam as beam

from curation.records import rejection
from curation.text import content_hash, junk_ratio, normalize_text
from pipelines.metrics import counter

REJECT = "rejections"


def _reject(doc: dict, stage: str, reason: str, detail: str | None = None):
    return beam.pvalue.TaggedOutput(REJECT, rejection(doc, stage, reason, detail))


class NormalizeFn(beam.DoFn):
    """Unicode normalisation; empty, binary-junk and oversized texts are rejected here."""

    def __init__(self, cfg: Mapping[str, Any]):
        self.max_chars = int(cfg.get("max_chars", 5_000_000))
        self.max_junk = float(cfg.get("max_junk_ratio", 0.05))

    def process(self, doc: dict):
        ratio = junk_ratio(doc["text"][:100_000])
        if ratio > self.max_junk:
            yield _reject(doc, "normalize", "binary_junk", f"junk ratio {ratio:.3f} > {self.max_junk}")
            return
        text = normalize_text(doc["text"])
        if not text:
            yield _reject(doc, "normalize", "empty_text")
            return
        if len(text) > self.max_chars:
            yield _reject(doc, "normalize", "too_large", f"{len(text)} chars > {self.max_chars}")
            return
        counter("normalize", "chars").inc(len(text))
        yield {**doc, "text": text, "n_chars": len(text), "content_hash": content_hash(text)}


class LangIdFn(beam.DoFn):
    """fastText language ID over batches (one predict call per batch); the model loads once per worker."""

    def __init__(self, cfg: Mapping[str, Any]):
        self.model = cfg.get("model", "lid.176")
        self.min_score = float(cfg.get("min_score", 0.0))
        self.languages = frozenset(cfg.get("languages") or ())
        self.identifier = None

    def setup(self):
        from curation.langid import LanguageIdentifier

        self.identifier = LanguageIdentifier(self.model)

    def process(self, batch: list[dict]):
        for doc, pred in zip(batch, self.identifier.predict_batch([d["text"] for d in batch]), strict=True):
            doc = {**doc, "lang": pred.lang, "lang_score": float(pred.score), "script": pred.script}
            if pred.score < self.min_score:
                yield _reject(doc, "langid", "low_confidence", f"{pred.lang} score {pred.score:.3f} < {self.min_score}")
            elif self.languages and pred.lang not in self.languages:
                yield _reject(doc, "langid", "language_not_selected", pred.lang)
            else:
                yield doc


class QualityFilterFn(beam.DoFn):
    """Gopher / C4 style filters with per-language thresholds; stats are kept on every surviving document."""

    def __init__(self, cfg: Mapping[str, Any]):
        self.cfg = dict(cfg)
        self.filters = None

    def setup(self):
        from curation.config_merge import merged_filter_config
        from curation.filters import build_filters

        self.filters = build_filters(merged_filter_config(self.cfg))

    def process(self, doc: dict):
        from curation.filters import apply_filters

        result = apply_filters(self.filters, doc["text"], doc["lang"] or "und", doc["script"] or "Zyyy")
        doc = {**doc, "quality": {k: float(v) for k, v in result.stats.items()}}
        if not result.keep:
            yield _reject(doc, "filter", result.reason or "filtered", _filter_detail(result.reason, result.stats))
            return
        yield doc


def _filter_detail(reason: str | None, stats: Mapping[str, float]) -> str:
    """The failing filter's measurements, so a rejection can be checked without re-running the filter."""
    name = (reason or "").split(":", 1)[0]
    return ", ".join(f"{k.split(':', 1)[1]}={v:.4g}" for k, v in sorted(stats.items()) if k.startswith(f"{name}:"))


def keep_first_id(kv: tuple[str, list[dict]]):
    """Documents sharing an id: keep one (smallest content hash, deterministic), reject the rest as duplicate_id."""
    _, docs = kv
    docs = sorted(docs, key=lambda d: (d["content_hash"], d["locator"]))
    yield docs[0]
    for other in docs[1:]:
        yield _reject(other, "read", "duplicate_id", f"id also used by {docs[0]['locator']}")
