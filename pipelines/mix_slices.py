"""Mix on one machine at any corpus size: slices by a hash of the document id, the corpus plan made once.

The embedded runner (FnApiRunner) keeps every shuffled PCollection in the runner process's memory, and one mix job
shuffles the curated text twice (the join with the labels, then the shard groups). On the local runner, when the
curated documents weigh more than ``run.local_batch_mb`` (Parquet size x 4, as text), the mix runs as a series of
jobs over slices of the corpus, slice ``k`` of ``n`` being the documents whose ``hash(id)`` falls in it (a
synthetic record goes with its seed's id, a label with its document):

* **chars** (driver): the curated and synthetic character totals, from the ``n_chars`` column only: the synthetic
  cap (``mix.synth.max_share``) is a share of the whole corpus, not of a slice;
* **profile pass**: per-recipe cell profiles (integers), written to ``shards/_local/profiles-bKKKKK.json``.
  Tokens are counted as the text is read and only the counts cross the label join, so it is one job for the whole
  corpus unless ~1 KB per document exceeds a batch (then slices of its own);
* **plan** (driver): the profiles summed (exact in any order) and turned into each recipe's plan, as a one-job mix
  makes it from the same sums;
* **rows pass**, one job per slice: the slice's instances under those plans, written as
  ``shards/<stage>/part-bKKKKK-SSSSS-PPP.parquet`` (``ceil(groups / n)`` shard groups per slice), with the files'
  statistics (``shards/_local/stats-bKKKKK.json``) and its counts (``counts/mix-bKKKKK.jsonl``);
* **finish** (driver): the manifests from the summed statistics; the counts summed into ``counts/mix.jsonl`` with
  the manifests' counts; the slice files removed.

The rows are those of a one-job mix: every decision is per document under the corpus plan (copies, chunks, shuffle
keys), so only the split into files differs; each slice is a uniform sample of the corpus, so every file is a
sample of its whole stage, as in one job. What a worker holds: one slice's documents and rows. The price: every
slice reads all curated Parquet (and keeps its own rows), and a document's tokens are counted in both passes.
Measured (benchmarks/README.md, local_scale.py): each job costs a few seconds of start-up, so slices are for kept
text that does not fit a batch; small outputs mix in one job.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import StandardOptions

from pipelines import layout
from pipelines.local_batches import COMPRESSED_WEIGHT, LOCAL_RUNNERS, merge_counts, part_name
from pipelines.mix import LOCAL, mix_recipes, synth_settings
from pipelines.mix_synth import with_synth_weights
from pipelines.mixing import (
    ProfilesFn,
    ShardSpec,
    StatsFn,
    make_plans,
    manifest_counts,
    profiles_from_json,
    write_manifests,
)
from pipelines.options import beam_options
from pipelines.progress import ProgressLog
from pipelines.read_lines import open_raw

log = logging.getLogger(__name__)


def local_dir(out: str) -> str:
    """The slices' working files (never a stage name: those start with a letter or digit)."""
    return FileSystems.join(layout.shards_dir(out), "_local")


def _inputs(config: Mapping[str, Any]) -> list[str]:
    out = config["run"]["output"]
    patterns = [layout.pattern(layout.documents_prefix(out))]
    synth = synth_settings(dict(config))
    if synth is not None:
        patterns.append(synth.records_pattern(out))
    return patterns


def plan_slices(config: Mapping[str, Any], beam_argv: Sequence[str]) -> int:
    """How many slices the mix runs in: 1 (one job) on other runners, with ``local_batch_mb: 0``, or when the
    curated documents fit one batch."""
    batch_mb = float(config["run"].get("local_batch_mb", 0) or 0)
    if batch_mb <= 0 or beam_options(beam_argv).view_as(StandardOptions).runner not in LOCAL_RUNNERS:
        return 1
    stored = sum(int(m.size_in_bytes) for p in _inputs(config) for m in layout.matched_files(p))
    return max(1, math.ceil(stored * COMPRESSED_WEIGHT / (batch_mb * 1e6)))


SLIM_ROW_BYTES = 1024  # what a document costs the profile pass without its text (ids, labels, counts), generously


def input_totals(config: Mapping[str, Any]) -> tuple[int, dict[str, int]]:
    """(documents and synthetic records, ``{"curated": chars, "synth": chars}``): the ``n_chars`` columns summed,
    one file at a time."""
    rows, chars = 0, {}
    for kind, pattern in zip(("curated", "synth"), _inputs(config), strict=False):
        total = 0
        for meta in layout.matched_files(pattern):
            with open_raw(meta.path) as f:
                column = pq.read_table(f, columns=["n_chars"]).column("n_chars")
            rows += len(column)
            total += sum(v for v in column.to_pylist() if v)
        chars[kind] = total
    return rows, chars


def profile_slices(config: Mapping[str, Any], rows: int) -> int:
    """Slices of the profile pass: its documents cross the label join without their text (tokens are counted as
    they are read), so one job holds ``SLIM_ROW_BYTES`` per document; usually one job for the whole corpus."""
    batch_bytes = float(config["run"].get("local_batch_mb", 0) or 0) * 1e6
    return max(1, math.ceil(rows * SLIM_ROW_BYTES / batch_bytes)) if batch_bytes > 0 else 1


def _read_json(path: str) -> Any:
    with FileSystems.open(path) as f:
        return json.loads(f.read())


def slice_config(config: Mapping[str, Any], k: int, n: int, **local: Any) -> dict:
    """The config of slice k of n (of the whole corpus when n is 1) of one pass."""
    cfg = copy.deepcopy(dict(config))
    cfg["mix"][LOCAL] = {"slice": [k, n] if n > 1 else None, "name": part_name(k), **local}
    return cfg


def run_mix(
    build: Callable[[beam.Pipeline, dict], object], config: dict, beam_argv: Sequence[str], progress_s: float = 0.0
) -> dict[str, int]:
    """The mix job: one Beam job, or on the local runner two passes over slices (module docstring); its counters."""
    from pipelines.stage_cli import run_pipeline

    n = plan_slices(config, beam_argv)
    if n <= 1:
        return run_pipeline(build, config, beam_argv, progress_s, "mix")
    out = config["run"]["output"]
    work = local_dir(out)
    progress = ProgressLog("mix", progress_s) if progress_s > 0 else None
    rows, chars = input_totals(config)
    log.info("mix: %d slices of the curated documents (%s characters)", n, chars)
    totals: dict[str, int] = {}

    def job(cfg: dict, label: str) -> None:
        counters = run_pipeline(build, cfg, beam_argv, progress_s, label, progress=progress)
        if cfg["mix"][LOCAL]["pass"] == "rows":  # the profile pass reads the same documents: counted once
            for name, value in counters.items():
                totals[name] = totals.get(name, 0) + value

    profiles = ProfilesFn().create_accumulator()
    m = profile_slices(config, rows)
    for k in range(m):
        path = FileSystems.join(work, f"profiles-{part_name(k)}.json")
        job(slice_config(config, k, m, synth_chars=chars, profiles_path=path, **{"pass": "profile"}),
            f"mix profiles {k + 1}/{m}")  # fmt: skip
        with FileSystems.open(path) as f:
            profiles = ProfilesFn().merge_accumulators([profiles, profiles_from_json(f.read())])
    recipes = mix_recipes(config)
    synth = synth_settings(config)
    if synth is not None:
        recipes = with_synth_weights(recipes, synth)
    spec = ShardSpec.from_config(config["mix"].get("shards"))
    plans = make_plans(profiles, recipes, spec)
    stats, parts = StatsFn().create_accumulator(), []
    for k in range(n):
        path = FileSystems.join(work, f"stats-{part_name(k)}.json")
        cfg = slice_config(config, k, n, synth_chars=chars, plans=plans, stats_path=path, **{"pass": "rows"})
        job(cfg, f"mix rows {k + 1}/{n}")
        stats = StatsFn().merge_accumulators([stats, _read_json(path)])
        parts.append(part_name(k))
    manifests = list(write_manifests(stats, plans, recipes, layout.shards_dir(out), spec))
    extra: dict[tuple[str, str, str], int] = {}
    for manifest in manifests:
        for key, value in manifest_counts(manifest):
            extra[key] = extra.get(key, 0) + value
    merge_counts(out, "mix", parts, extra)
    FileSystems.delete([m.path for m in layout.matched_files(FileSystems.join(work, "*.json"))])
    if progress:
        progress.finish()
    totals["mix/local_slices"] = n
    return totals
