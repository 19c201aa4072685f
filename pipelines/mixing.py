"""Beam transform: curated, annotated documents -> per-stage pretraining instances (ShardRow dicts).

Every decision is per document (`curation.mixture.instance_rows`); the only corpus-wide state is the eligible token
total per (stage, length bucket), a dict of a few entries handed to workers as a side input. Documents themselves are
never gathered on one worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.shared import Shared

from curation.mixture import (
    StageSpec,
    bucket_rates,
    doc_bucket,
    eligible,
    instance_rate,
    instance_rows,
    stage_tokens,
    summary_accumulator,
    summary_add,
    summary_finish,
    summary_merge,
)
from curation.tokens import QwenTokenCounter

_NAMESPACE = "mixing"


class _CountTokensFn(beam.DoFn):
    """Fills in ``n_tokens`` for a batch of documents (only where it is missing) with one batched encode."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._counted = Metrics.counter(_NAMESPACE, "documents_token_counted")

    def setup(self) -> None:
        self._counter = self._shared.acquire(QwenTokenCounter)

    def process(self, batch: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        missing = [doc["text"] for doc in batch if doc.get("n_tokens") is None]
        counts = iter(self._counter.count_batch(missing))
        self._counted.inc(len(missing))
        for doc in batch:
            yield doc if doc.get("n_tokens") is not None else {**doc, "n_tokens": next(counts)}


def _bucket_tokens(doc: dict[str, Any], stages: Sequence[StageSpec]) -> Iterable[tuple[tuple[str, str], int]]:
    for spec in stages:
        if spec.buckets and eligible(doc, spec):
            yield (spec.name, doc_bucket(doc["n_tokens"], spec)), stage_tokens(doc["n_tokens"], spec)


class _InstanceRowsFn(beam.DoFn):
    """Emits every stage's instances of a document, tagged by stage name."""

    def __init__(self, stages: Sequence[StageSpec], seed: int, shared: Shared) -> None:
        self._stages = tuple(stages)
        self._seed = seed
        self._shared = shared
        self._instances = {s.name: Metrics.counter(_NAMESPACE, f"{s.name}_instances") for s in stages}
        self._tokens = {s.name: Metrics.counter(_NAMESPACE, f"{s.name}_tokens") for s in stages}

    def setup(self) -> None:
        self._counter = self._shared.acquire(QwenTokenCounter)
        self._totals_seen: object = None
        self._rates: dict[str, dict[str, float]] = {}

    def _stage_rates(self, totals: dict[tuple[str, str], int]) -> dict[str, dict[str, float]]:
        if totals is not self._totals_seen:  # the side input object is the same for a whole bundle / window
            self._rates = {
                spec.name: bucket_rates({b: t for (s, b), t in totals.items() if s == spec.name}, spec)
                for spec in self._stages
                if spec.buckets
            }
            self._totals_seen = totals
        return self._rates

    def process(self, doc: dict[str, Any], totals: dict[tuple[str, str], int]) -> Iterable[Any]:
        rates = self._stage_rates(totals)
        for spec in self._stages:
            rate = instance_rate(doc, spec, rates.get(spec.name, {})) if eligible(doc, spec) else 0.0
            for row in instance_rows(doc, spec, rate, self._seed, self._counter):
                self._instances[spec.name].inc()
                self._tokens[spec.name].inc(row["n_tokens"])
                yield beam.pvalue.TaggedOutput(spec.name, row)


class BuildStageShards(beam.PTransform):
    """Documents (with ``edu_score``; ``n_tokens`` may be None) -> ``{stage_name: PCollection[ShardRow dict]}``."""

    def __init__(self, stages: Sequence[StageSpec], seed: int = 0) -> None:
        super().__init__()
        names = [s.name for s in stages]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"need distinct stage names, got {names}")
        self._stages = tuple(stages)
        self._seed = seed

    def expand(self, docs: beam.PCollection) -> dict[str, beam.PCollection]:
        shared = Shared()  # one tokenizer per worker process, used by both DoFns
        counted = (
            docs
            | "BatchForTokens" >> beam.BatchElements(min_batch_size=8, max_batch_size=256)
            | "CountTokens" >> beam.ParDo(_CountTokensFn(shared))
        )
        totals = (
            counted
            | "BucketTokens" >> beam.FlatMap(_bucket_tokens, self._stages)
            | "SumBucketTokens" >> beam.CombinePerKey(sum)
        )
        names = [s.name for s in self._stages]
        rows = counted | "InstanceRows" >> beam.ParDo(
            _InstanceRowsFn(self._stages, self._seed, shared), totals=beam.pvalue.AsDict(totals)
        ).with_outputs(*names)
        return {name: rows[name] for name in names}


class MixtureSummaryFn(beam.CombineFn):
    """`curation.mixture.mixture_summary` as a combiner: per-stage / bucket / language token counts of ShardRows."""

    def create_accumulator(self) -> dict[str, Any]:
        return summary_accumulator()

    def add_input(self, acc: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        return summary_add(acc, row)

    def merge_accumulators(self, accs: Iterable[dict[str, Any]]) -> dict[str, Any]:
        return summary_merge(accs)

    def extract_output(self, acc: dict[str, Any]) -> dict[str, Any]:
        return summary_finish(acc)
