"""Counters per stage (live progress in any runner's UI) and the exact outcome counts written beside the outputs.

Beam metrics are best-effort on some runners, so the numbers the manifest must add up are computed as data:
every outcome becomes a ((stage, outcome, reason), value) pair summed with CombinePerKey, which is distributed.
"""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam.metrics import Metrics

NAMESPACE = "factory"


def counter(stage: str, name: str):
    return Metrics.counter(NAMESPACE, f"{stage}/{name}")


def outcome_key(stage: str, outcome: str, reason: str = "") -> tuple[str, str, str]:
    return (stage, outcome, reason)


def count_line(kv: tuple[tuple[str, str, str], int]) -> str:
    """One line of a counts file (what WriteCounts writes and ``pipelines.local_batches`` sums)."""
    (stage, outcome, reason), value = kv
    return json.dumps({"stage": stage, "outcome": outcome, "reason": reason, "count": int(value)}, sort_keys=True)


class WriteCounts(beam.PTransform):
    """Sum ((stage, outcome, reason), value) pairs and write them as one small JSONL file."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def expand(self, pairs):
        return (
            pairs
            | "Sum" >> beam.CombinePerKey(sum)
            | "ToJson" >> beam.Map(count_line)
            | "Write" >> beam.io.WriteToText(self.path, num_shards=1, shard_name_template="")
        )


def tally(pcoll, label: str, key_fn) -> beam.PCollection:
    """Map each element to ((stage, outcome, reason), 1) for WriteCounts, counting it in a live metric too."""

    def pair(element):
        key = key_fn(element)
        counter(key[0], f"{key[1]}{':' + key[2] if key[2] else ''}").inc()
        return key, 1

    return pcoll | label >> beam.Map(pair)


def size_bin(n: int) -> str:
    """Power-of-two bins for cluster sizes: 2, 3-4, 5-8, 9-16 ... (the report's dedup histogram)."""
    if n <= 2:
        return str(n)
    hi = 1 << (n - 1).bit_length()
    return f"{hi // 2 + 1}-{hi}"


def score_bin(score: float | None, width: float = 0.1) -> str:
    """Fixed-width bins over [0, 1] (``0.9-1.0``); None → ``none`` (the report's score histograms)."""
    if score is None:
        return "none"
    k = min(int(max(score, 0.0) / width), round(1 / width) - 1)
    return f"{k * width:.1f}-{(k + 1) * width:.1f}"
