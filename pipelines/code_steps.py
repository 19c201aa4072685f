"""The code branch of curate: documents of ``code`` sources skip language ID and the prose filters.

Each file gets its programming language (``curation.code.languages``), the code filters with that language's
thresholds, its licence, and (kept files only) secrets/PII redaction. A kept file is labelled without an LLM:
``lang`` ``zxx_Zyyy`` (no natural language), ``meta["code_language"]``, and ``meta["domain"] = "code"`` (the
mixture's code group) unless it is prose (a README or LICENSE text), which the annotators label like any text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import apache_beam as beam

from curation.text.normalize import content_hash
from pipelines.curate_steps import rejected_output
from pipelines.isolation import per_record
from pipelines.metrics import counter

CODE_LANG = "zxx_Zyyy"  # ISO 639-3 "no linguistic content": source code has no natural language of its own
CODE_DOMAIN = "code"


class CodeCurationFn(beam.DoFn):
    """A code document -> kept (labelled, redacted) or a Rejection at stage ``code`` with the filter's reason."""

    def __init__(self, cfg: Mapping[str, Any] | None = None):
        self.cfg = dict(cfg or {})
        self.filter = None

    def setup(self):
        from curation.code.filters import CodeFilter

        self.filter = CodeFilter(self.cfg.get("filters"))

    @per_record("code")
    def process(self, doc: dict):
        from curation.code.languages import PROSE, identify
        from curation.code.licenses import detect_license
        from curation.code.redact import redact

        meta = dict(doc.get("meta") or {})
        path = meta.get("path") or doc["locator"]
        language = identify(path, doc["text"])
        name = language.name or "unknown"
        counter("code", f"files:{name}").inc()
        reason, stats = self.filter.evaluate(path, language, doc["text"])
        if reason is None and not language.known and not self.cfg.get("keep_unknown_language", False):
            reason = "unknown_language"
        doc = {**doc, "quality": stats.as_quality()}
        if reason is not None:  # counted as code/rejected:<reason> by curate's rejection tally
            yield rejected_output(doc, "code", reason, f"{name}: {_detail(reason, stats)}")
            return
        meta.update(code_language=name, code_language_method=language.method or "", code_kind=language.kind)
        if language.kind != PROSE:
            meta["domain"] = CODE_DOMAIN
        found = detect_license(doc["text"])
        if found is not None:
            meta.update(license=found.spdx, license_source=found.source)
            counter("code", f"license:{found.spdx}").inc()
        if self.cfg.get("redact", True):
            text, counts = redact(doc["text"])
            if counts:  # the text changed: its length and exact-dedup hash with it
                doc = {**doc, "text": text, "n_chars": len(text), "content_hash": content_hash(text)}
                meta["redactions"] = ",".join(f"{kind}={n}" for kind, n in sorted(counts.items()))
                for kind, n in counts.items():
                    counter("code", f"redacted:{kind}").inc(n)
                    counter("code", f"docs_redacted:{kind}").inc()
        counter("code", f"kept:{name}").inc()
        yield {**doc, "meta": meta, "lang": CODE_LANG, "lang_score": None, "script": "Zyyy"}


def _detail(reason: str, stats) -> str:
    """The measurement behind a filter reason (``long_lines`` -> ``max_line_length=4312``)."""
    key = {
        "long_lines": "max_line_length", "long_mean_line": "mean_line_length",
        "low_alphanumeric": "alphanumeric_fraction", "encoded_data": "encoded_fraction",
    }.get(reason)  # fmt: skip
    if key is None:
        return reason
    return f"{key}={getattr(stats, key):.4g}"
