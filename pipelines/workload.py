"""What a job has to get through, known before it starts, so its progress line can give rates and an ETA.

Cheap by design: file sizes from a glob match (curate) and row counts from Parquet footers (annotate, mix); nothing
is read. Unknown (a glob error, an unreadable footer) leaves the total out; progress then shows rates only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines import layout
from pipelines.balance import parquet_rows


@dataclass(frozen=True)
class Workload:
    docs_counter: str  # counters whose name starts with this count the documents taken in
    docs_total: int | None = None  # documents to take in, when known up front (annotate, mix)
    stored_bytes: int | None = None  # bytes of the input files (curate), measured by the ``read/stored_bytes`` counter


def _stored_bytes(config: Mapping[str, Any]) -> int | None:
    try:
        return sum(m.size_in_bytes for s in config["sources"] for p in s["paths"] for m in layout.matched_files(p))
    except Exception:
        return None


def curated_rows(out: str) -> int | None:
    """Rows of the curated documents, from the Parquet footers (None when they cannot be read)."""
    try:
        return parquet_rows(layout.pattern(layout.documents_prefix(out)))
    except Exception:
        return None


def workload(job: str, config: Mapping[str, Any]) -> Workload | None:
    """The workload of a pipeline by name (``curate``, ``annotate``, ``mix``, ``dedup``); None for the others."""
    out = config["run"]["output"]
    if job == "curate":
        return Workload("read/input:", stored_bytes=_stored_bytes(config))
    if job == "annotate":
        return Workload("annotate/documents", docs_total=curated_rows(out))
    if job == "mix":
        return Workload("mix/documents:read", docs_total=curated_rows(out))
    if job == "dedup":
        return Workload("dedup/input")
    return None
