"""Curation DoFns: thin Beam wrappers around the pure cores in curation/. Each yields kept docs on the main output
and Rejections on the "rejections" output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import apache_beam as beam

from curation.records import rejection
from curation.text.normalize import content_hash, is_blank, normalize
from pipelines.isolation import per_batch, per_record
from pipelines.metrics import counter

REJECT = "rejections"
EARLIER_BATCH = "_earlier_batch"  # marks the id record of an earlier local batch (pipelines.local_batches)


def rejected_output(doc: dict, stage: str, reason: str, detail: str | None = None):
    return beam.pvalue.TaggedOutput(REJECT, rejection(doc, stage, reason, detail))


class NormalizeFn(beam.DoFn):
    """Unicode normalisation and repairs (newlines, mojibake, presentation forms, NFC, controls; whitespace is kept as
    written); empty (blank), binary-junk and oversized texts are rejected here.

    Each repair kind is counted (``normalize/<kind>``: characters or lines, ``normalize/docs_<kind>``: documents) and
    listed on the document in ``meta["normalize_repairs"]`` (``mojibake_lines=2,nfc=1``) so a repaired text can be
    told from one that arrived clean.
    """

    def __init__(self, cfg: Mapping[str, Any]):
        self.max_chars = int(cfg.get("max_chars", 5_000_000))
        self.max_junk = float(cfg.get("max_junk_ratio", 0.05))

    @per_record("normalize")
    def process(self, doc: dict):
        result = normalize(doc["text"])
        if result.junk > self.max_junk:
            yield rejected_output(doc, "normalize", "binary_junk", f"junk ratio {result.junk:.3f} > {self.max_junk}")
            return
        text = result.text
        if is_blank(text):
            yield rejected_output(doc, "normalize", "empty_text")
            return
        if len(text) > self.max_chars:
            yield rejected_output(doc, "normalize", "too_large", f"{len(text)} chars > {self.max_chars}")
            return
        counter("normalize", "chars").inc(len(text))
        meta = doc.get("meta")
        if result.repairs:
            for kind, n in result.repairs.items():
                counter("normalize", kind).inc(n)
                counter("normalize", f"docs_{kind}").inc()
            meta = {**(meta or {}), "normalize_repairs": ",".join(f"{k}={v}" for k, v in result.repairs.items())}
        yield {**doc, "text": text, "n_chars": len(text), "content_hash": content_hash(text), "meta": meta}


class LangIdFn(beam.DoFn):
    """Language ID with document-level decisions (``curation.text.lid_decision``: script priors, short texts weighed
    against the declared language, paragraph vote, per-language thresholds); one predict call per batch, the model
    loads once per worker. Undecided documents are rejected as ``low_confidence`` with the best guess and its score.
    """

    def __init__(self, cfg: Mapping[str, Any]):
        self.cfg = dict(cfg)
        self.languages = frozenset(cfg.get("languages") or ())
        short = cfg.get("short_text")
        self.declared_field = short.get("declared_field", "lang") if isinstance(short, Mapping) else "lang"
        self.decider = None

    def setup(self):
        from curation.text.lid_decision import DocumentLanguageIdentifier

        self.decider = DocumentLanguageIdentifier.from_config(self.cfg)

    @per_batch("langid")
    def process(self, batch: list[dict]):
        declared = [(d.get("meta") or {}).get(self.declared_field) if self.declared_field else None for d in batch]
        results = self.decider.predict_batch([d["text"] for d in batch], declared)
        mixed_share = self.decider.cfg.mixed_share
        for doc, res in zip(batch, results, strict=True):
            meta = doc.get("meta")
            if res.method not in ("model", "vote", "no_letters"):  # the label is not the model's plain top-1
                meta = {**(meta or {}), "lang_method": res.method}
            second, share = res.second
            if share >= mixed_share:  # e.g. a translated manpage keeping English passages
                meta = {**(meta or {}), "lang_mixed": f"{second}:{share:.3f}"}
            doc = {**doc, "lang": res.lang, "lang_score": float(res.score), "script": res.script, "meta": meta}
            if res.method == "unknown_script":  # letters, but of a script no language of the model is written in
                detail = f"script {res.script}, {res.letters} letters: no language of the LID model uses it"
                yield rejected_output(doc, "langid", "unknown_script", detail)
            elif res.undetermined and (res.method != "no_letters" or res.score < res.threshold):
                detail = f"{res.best} score {res.score:.3f} < {res.threshold} ({res.method}, {res.letters} letters)"
                yield rejected_output(doc, "langid", "low_confidence", detail)
            elif self.languages and res.lang not in self.languages:
                yield rejected_output(doc, "langid", "language_not_selected", res.lang)
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

    @per_record("filter")
    def process(self, doc: dict):
        from curation.filters import apply_filters

        result = apply_filters(self.filters, doc["text"], doc["lang"] or "und", doc["script"] or "Zyyy")
        doc = {**doc, "quality": {k: float(v) for k, v in result.stats.items()}}
        if not result.keep:
            detail = _filter_detail(result.reason, result.stats)
            yield rejected_output(doc, "filter", result.reason or "filtered", detail)
            return
        yield doc


def _filter_detail(reason: str | None, stats: Mapping[str, float]) -> str:
    """The failing filter's measurements, so a rejection can be checked without re-running the filter."""
    name = (reason or "").split(":", 1)[0]
    return ", ".join(f"{k.split(':', 1)[1]}={v:.4g}" for k, v in sorted(stats.items()) if k.startswith(f"{name}:"))


def keep_first_id(kv: tuple[str, list[dict]]):
    """Documents sharing an id: keep one (smallest content hash, deterministic), reject the rest as duplicate_id.
    An id an earlier local batch took in (a record marked ``EARLIER_BATCH``) is kept there: all of these go."""
    _, members = kv
    earlier = next((d for d in members if d.get(EARLIER_BATCH)), None)
    docs = sorted((d for d in members if not d.get(EARLIER_BATCH)), key=lambda d: (d["content_hash"], d["locator"]))
    if earlier is not None:
        for other in docs:
            detail = f"id also used by {earlier['locator']} (an earlier batch)"
            yield rejected_output(other, "read", "duplicate_id", detail)
        return
    if not docs:
        return
    yield docs[0]
    for other in docs[1:]:
        yield rejected_output(other, "read", "duplicate_id", f"id also used by {docs[0]['locator']}")
