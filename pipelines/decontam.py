"""Decontamination as a Beam step: the benchmark index is built once (on one worker) and broadcast as a side input.

Used by curate (on curated documents, before dedup) and by synth (on verified synthetic records). A hit leaves the
main output as ``(element, hit)`` on the ``contaminated`` output; the caller turns it into its Rejection row, whose
reason is ``benchmark_ngram`` / ``benchmark_similar`` and whose detail names the benchmark and the item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import AsSingleton, TaggedOutput

from pipelines.isolation import error_detail, error_reason, per_record
from pipelines.metrics import counter

CONTAMINATED = "contaminated"


@dataclass(frozen=True)
class CheckFailed:
    """Stands in for a hit when checking one element raised: the caller's Rejection gets reason ``error:<Type>``."""

    reason: str
    detail: str
    benchmark: str = "error"


def _check_failed(_owner, element, err: BaseException):
    yield TaggedOutput(CONTAMINATED, (element, CheckFailed(error_reason(err), error_detail(err))))


INDEX_FILE = "_index_file"  # decontam key set by local batches: the index the driver built once, pickled


def build_index(cfg: Mapping[str, Any]):
    """The benchmark index of ``cfg``; a local run's batches load the one the driver built (``INDEX_FILE``) instead
    of loading and tokenising every benchmark again in each batch."""
    if cfg.get(INDEX_FILE):
        import pickle

        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(cfg[INDEX_FILE]) as f:
            return pickle.loads(f.read())
    from curation.decontam import DecontamIndex

    return DecontamIndex.from_config(cfg)


def hit_detail(hit) -> str:
    if isinstance(hit, CheckFailed):
        return hit.detail
    return f"{hit.benchmark}:{hit.item_id} ({hit.method}: {hit.detail})"


def contaminated_rejection(doc: dict, hit) -> dict:
    """The Rejection row of a curated document that holds a benchmark item."""
    from curation.records import rejection

    return rejection(doc, "decontam", hit.reason, hit_detail(hit))


class _CheckFn(beam.DoFn):
    def __init__(self, stage: str, text_of: Callable[[dict], str]):
        self.stage = stage
        self.text_of = text_of

    @per_record("decontam", on_error=_check_failed)
    def process(self, element: dict, index):
        hit = index.check(self.text_of(element))
        if hit is None:
            yield element
            return
        counter(self.stage, f"decontam_{hit.benchmark}").inc()
        yield TaggedOutput(CONTAMINATED, (element, hit))


class Decontaminate(beam.PTransform):
    """``{"clean": elements, "contaminated": (element, Contamination)}``; ``text_of`` picks the text to check."""

    def __init__(self, cfg: Mapping[str, Any], stage: str, text_of: Callable[[dict], str] = lambda d: d["text"]):
        super().__init__()
        self.cfg = dict(cfg)
        self.stage = stage
        self.text_of = text_of

    def expand(self, elements):
        index = (
            elements.pipeline
            | "IndexConfig" >> beam.Create([self.cfg])
            | "BuildBenchmarkIndex" >> beam.Map(build_index)
        )
        result = elements | "CheckBenchmarks" >> beam.ParDo(
            _CheckFn(self.stage, self.text_of), AsSingleton(index)
        ).with_outputs(CONTAMINATED, main="clean")
        return {"clean": result.clean, CONTAMINATED: result[CONTAMINATED]}
