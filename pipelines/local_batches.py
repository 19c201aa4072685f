"""Curate on one machine at any corpus size: bounded batches over input splits, the dedup index carried across.

The embedded runner (FnApiRunner) keeps every PCollection between fused stages in the runner process's memory, so
one local job over a whole corpus holds all of it (about 8 GB per GB of input, measured). On the local runner the
curate job is therefore run as a series of jobs over about ``run.local_batch_mb`` MB of input each:

* **plan** (driver, metadata only): every source glob is matched as the one-job run would; a file its reader can
  split (uncompressed UTF-8 JSONL) is cut into windows on the reader's line-range grid, with ranges of at most a
  batch / (4 x workers) so every worker reads a share of each batch; other files (compressed, PDF, Parquet, text) go
  whole. Units are packed into batches in listing order. Ids and locators do not depend on the batching.
* **batch k** is the ordinary curate graph over its units only (``ReadSources`` reads the windows in the source's
  ``_units``), every stage spread over all workers; it writes ``curated/*-bKKKKK-*.parquet`` and its own
  ``dedup/index-bKKKKK-*``. Its dedup reads the indexes of batches < k (``dedup.previous`` with ``index_lookup:
  keys``: only the rows sharing an exact hash or an LSH band with batch k's documents), so dedup stays global: a
  document equal or similar to one kept in an earlier batch is that document's duplicate. Document ids are carried
  the same way (``dedup/ids-bKKKKK``): an id already used in an earlier batch is a ``duplicate_id`` rejection.
* **decontamination**: the driver builds the benchmark index once and pickles it to a local file that every
  batch's workers load (loading and tokenising the benchmarks cost ~1.5 CPU-s per batch).
* **finish**: the batches' counts are summed into ``counts/curate.jsonl`` (the balance check and the manifest see
  one run) and the id files are removed.

What a worker holds: one batch's documents in flight, the batch's keys (hashes, band keys, ids) as side inputs, and
the earlier index rows that match them; what crosses a shuffle: the batch's own records only. Peak memory follows
the batch size, not the corpus. The price is reading the earlier index's hash and signature columns once per batch.

Differences from one job over everything (measured in tests/pipelines/test_local_batches.py): within a batch the
keep policy decides as before, across batches the earlier document wins (as in incremental dedup), so a cluster
spread over batches keeps its earliest member rather than, say, its longest; and a document that would have joined
two clusters kept in different earlier batches becomes a duplicate of one, leaving both kept (under-merging, never
a false merge). Rejections other than ``duplicate_id`` do not depend on the batching.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions
from apache_beam.pvalue import AsSingleton

from curation.sources import compression_of, plan_ranges
from pipelines import layout
from pipelines.atomic import write_atomic
from pipelines.curate_steps import EARLIER_BATCH
from pipelines.io import UNITS, check_matches
from pipelines.manifest import read_counts
from pipelines.metrics import count_line
from pipelines.options import beam_options
from pipelines.progress import ProgressLog
from pipelines.read_lines import SPLIT_BYTES
from pipelines.workload import workload

log = logging.getLogger(__name__)

PART = "_part"  # run key set on a batch's config: the name its outputs carry (b00003)
PREVIOUS_IDS = "_previous_ids"  # run key set on a batch's config: id files of the earlier batches
WORKERS = "_workers"  # run key set on the batches' config: the local runner's worker count (slots of the units)
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner")
UNITS_PER_WORKER = 4  # line ranges per worker in a batch, so that every worker gets a share of the reading
MIN_UNIT_BYTES = 4 << 20
COMPRESSED_WEIGHT = 4  # a compressed file counts as this many times its stored size (text compresses ~3-5x)


@dataclass(frozen=True)
class WorkUnit:
    """A file, or a window ``[start, end)`` of one, of source ``source``'s pattern ``pattern``."""

    source: int
    pattern: int
    path: str
    start: int = 0
    end: int | None = None
    weight: int = 0  # what it is expected to bring into memory, in bytes


def plan_units(config: Mapping[str, Any]) -> list[WorkUnit]:
    """Every input file of the run as work units (windows of big splittable files), in a stable order."""
    units: list[WorkUnit] = []
    for si, src in enumerate(config["sources"]):
        split = int(src.get("split_bytes", SPLIT_BYTES))
        for pi, pattern in enumerate(src["paths"]):
            check_matches(src, pi, pattern)  # the same error a one-job run gives
            for meta in sorted(layout.matched_files(pattern), key=lambda m: m.path):
                path, size = meta.path, int(meta.size_in_bytes)
                compressed = compression_of(path) is not None
                if src["type"] == "jsonl" and not compressed and split > 0 and size > split:
                    for rng in plan_ranges(path, size, False, split):  # the reader's own grid (PlanLineRangesFn)
                        units.append(WorkUnit(si, pi, path, rng.start, rng.end, (rng.end or size) - rng.start))
                else:
                    units.append(WorkUnit(si, pi, path, 0, None, size * (COMPRESSED_WEIGHT if compressed else 1)))
    return units


def pack(units: Sequence[WorkUnit], batch_bytes: int) -> list[list[WorkUnit]]:
    """Consecutive units into batches of at most ``batch_bytes`` (a unit heavier than that is a batch alone), of
    about equal weight: each batch aims at what is left divided by the batches still needed, so 128 MB under a
    128 MB limit that did not fit one batch is two of 64 MB, not 113 + 15 (a last batch of one range, read by one
    worker while the other idled)."""
    batches: list[list[WorkUnit]] = []
    current: list[WorkUnit] = []
    weight = 0
    left = sum(u.weight for u in units)
    target = _target(left, batch_bytes)
    for unit in units:
        if current and (weight + unit.weight > batch_bytes or weight + unit.weight / 2 > target):
            batches.append(current)
            left -= weight
            current, weight, target = [], 0, _target(left, batch_bytes)
        current.append(unit)
        weight += unit.weight
    if current:
        batches.append(current)
    return batches


def _target(left: int, batch_bytes: int) -> float:
    return left / max(1, -(-left // max(batch_bytes, 1)))


def part_name(k: int) -> str:
    return f"b{k:05d}"


def balance(weights: Sequence[int], slots: int) -> list[int]:
    """The slot of each weight: heaviest first onto the least loaded slot (LPT), so every worker reads about as much.

    The local runner hands each worker one fixed share of a stage's input (no work stealing); shares made by key
    order alone gave one worker 37 CPU-s and the other 12 in a batch of 16 MB and 1 MB ranges."""
    load = [0] * max(slots, 1)
    out = [0] * len(weights)
    for i in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        slot = min(range(len(load)), key=lambda j: (load[j], j))
        out[i] = slot
        load[slot] += weights[i]
    return out


def batch_config(
    config: Mapping[str, Any],
    units: Sequence[WorkUnit],
    k: int,
    index_files: Sequence[str],
    id_files: Sequence[str],
    workers: int = 1,
) -> dict:
    """The run config of batch ``k``: sources restricted to its units (each with the worker slot that reads it,
    balanced per pattern: each pattern is read by a stage of its own), the earlier batches' indexes and ids."""
    cfg = copy.deepcopy(dict(config))
    for si, src in enumerate(cfg["sources"]):
        windows: dict[int, dict[str, list[list[int | None]]]] = {}
        for pi in sorted({u.pattern for u in units if u.source == si}):
            mine = [u for u in units if u.source == si and u.pattern == pi]
            for unit, slot in zip(mine, balance([u.weight for u in mine], workers), strict=True):
                windows.setdefault(pi, {}).setdefault(unit.path, []).append([unit.start, unit.end, slot])
        src[UNITS] = windows
    dedup = cfg["dedup"]
    previous = dedup.get("previous") or []
    dedup["previous"] = [*([previous] if isinstance(previous, str) else previous), *index_files]
    dedup["index_lookup"] = "keys"
    dedup["components"] = "one_worker"  # a batch's edges are bounded by the batch
    cfg["run"][PART] = part_name(k)
    cfg["run"][PREVIOUS_IDS] = list(id_files)
    return cfg


def with_unit_bytes(config: Mapping[str, Any], batch_bytes: int, workers: int) -> dict:
    """The config with JSONL line ranges small enough that a batch holds ``UNITS_PER_WORKER`` of them per worker:
    a batch of two 64 MB ranges was read by one worker while the other idled (measured: 0.98 cores busy). Ids and
    locators do not depend on the range grid (they carry the line's byte offset)."""
    cfg = copy.deepcopy(dict(config))
    unit = max(MIN_UNIT_BYTES, batch_bytes // (UNITS_PER_WORKER * max(workers, 1)))
    for src in cfg["sources"]:
        if src["type"] == "jsonl":
            src["split_bytes"] = min(int(src.get("split_bytes", SPLIT_BYTES)), unit)
    return cfg


def plan_batches(config: Mapping[str, Any], beam_argv: Sequence[str]) -> tuple[dict, list[list[WorkUnit]]] | None:
    """(the config the batches run with, the batches) of a local run, or None when curate runs as one job (another
    runner, ``local_batch_mb: 0``, or an input that fits one batch)."""
    batch_mb = float(config["run"].get("local_batch_mb", 0) or 0)
    options = beam_options(beam_argv)
    if batch_mb <= 0 or options.view_as(StandardOptions).runner not in LOCAL_RUNNERS:
        return None
    workers = options.view_as(DirectOptions).direct_num_workers or 1
    cfg = with_unit_bytes(config, int(batch_mb * 1e6), workers)
    cfg["run"][WORKERS] = workers
    batches = pack(plan_units(cfg), int(batch_mb * 1e6))
    return (cfg, batches) if len(batches) > 1 else None


def _files(pattern: str) -> list[str]:
    return sorted(m.path for m in layout.matched_files(pattern))


def merge_counts(
    out: str, stage: str, parts: Sequence[str], extra: Mapping[tuple[str, str, str], int] | None = None
) -> str:
    """Sum the parts' counts (``counts/<stage>-<part>.jsonl``) and ``extra`` into ``counts/<stage>.jsonl`` (written
    whole or not at all); the part files go. Local curate batches and local mix slices end with it."""
    names = [f"{stage}-{part}" for part in parts]
    totals: dict[tuple[str, str, str], int] = dict(extra or {})
    for row in read_counts(out, names):
        key = (row["stage"], row["outcome"], row["reason"])
        totals[key] = totals.get(key, 0) + int(row["count"])
    text = "".join(count_line(kv) + "\n" for kv in sorted(totals.items()))
    written = write_atomic(layout.counts_path(out, stage), text.encode("utf-8"))
    FileSystems.delete([layout.counts_path(out, name) for name in names])
    return written


def run_curate(config: dict, beam_argv: Sequence[str], progress_s: float = 0.0) -> dict[str, int]:
    """The curate job: one Beam job, or on the local runner bounded batches (module docstring); its counters."""
    from pipelines.curate import build_curate
    from pipelines.stage_cli import run_pipeline

    planned = plan_batches(config, beam_argv)
    if planned is None:
        return run_pipeline(build_curate, config, beam_argv, progress_s, "curate")
    run_config, batches = planned
    out = config["run"]["output"]
    progress = ProgressLog("curate", progress_s, work=workload("curate", config)) if progress_s > 0 else None
    totals: dict[str, int] = {}
    index_files: list[str] = []
    id_files: list[str] = []
    parts = []
    mb = sum(u.weight for b in batches for u in b) / 1e6
    limit = config["run"]["local_batch_mb"]
    log.info("curate: %.0f MB of input in %d local batches of <= %s MB", mb, len(batches), limit)
    with _decontam_index(run_config) as run_config:
        for k, units in enumerate(batches):
            cfg = batch_config(run_config, units, k, index_files, id_files, run_config["run"][WORKERS])
            part = cfg["run"][PART]
            log.info("curate: batch %d/%d (%s, %d inputs, %.0f MB)", k + 1, len(batches), part, len(units),
                     sum(u.weight for u in units) / 1e6)  # fmt: skip
            counters = run_pipeline(build_curate, cfg, beam_argv, progress_s, f"curate {part}", progress=progress)
            for name, value in counters.items():
                totals[name] = totals.get(name, 0) + value
            index_files += _files(layout.pattern(f"{layout.dedup_index_prefix(out)}-{part}"))
            id_files += _files(layout.pattern(f"{layout.dedup_ids_prefix(out)}-{part}"))
            parts.append(part)
    merge_counts(out, "curate", parts)
    if id_files:
        FileSystems.delete(id_files)
    if progress:
        progress.finish()
    totals["curate/local_batches"] = len(batches)
    return totals


@contextlib.contextmanager
def _decontam_index(config: dict) -> Iterator[dict]:
    """The config with the benchmark index built once by the driver (a local file the batches' workers load)."""
    if not (config.get("decontam") or {}).get("curate", False):
        yield config
        return
    import pickle
    import tempfile

    from pipelines.decontam import INDEX_FILE, build_index

    fd, path = tempfile.mkstemp(prefix="curate-decontam-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(build_index(config["decontam"]), f, protocol=pickle.HIGHEST_PROTOCOL)
        cfg = copy.deepcopy(config)
        cfg["decontam"][INDEX_FILE] = path
        yield cfg
    finally:
        os.unlink(path)


# ----------------------------------------------------------------------------------------------------------------
# Ids carried from batch to batch


ID_SCHEMA = pa.schema([("id", pa.string()), ("locator", pa.string())])


class _EarlierIds(beam.DoFn):
    """An id file of an earlier batch → ``(id, marker)`` for the ids this batch also has (a side input set)."""

    def process(self, path: str, keys):
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from pipelines.read_lines import open_raw

        if not keys:
            return
        with open_raw(path) as f:
            table = pq.read_table(f, columns=["id", "locator"])
        hits = table.filter(pc.is_in(table.column("id"), value_set=pa.array(sorted(keys), type=pa.string())))
        for row in hits.to_pylist():
            yield row["id"], {**row, EARLIER_BATCH: True}


class EarlierIds(beam.PTransform):
    """The ids of ``docs`` that an earlier batch already took in, as ``(id, marker)`` for curate's GroupById."""

    def __init__(self, files: Sequence[str]):
        super().__init__()
        self.files = list(files)

    def expand(self, docs):
        keys = docs | "Ids" >> beam.Map(lambda d: d["id"]) | "IdSet" >> beam.combiners.ToSet()
        return (
            docs.pipeline
            | "EarlierIdFiles" >> beam.Create(self.files)
            | "ReadEarlierIds" >> beam.ParDo(_EarlierIds(), AsSingleton(keys))
        )


class WriteIds(beam.PTransform):
    """The ids (and locators) a batch took in, for the batches after it."""

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def expand(self, docs):
        return (
            docs
            | "IdRows" >> beam.Map(lambda d: {"id": d["id"], "locator": d["locator"]})
            | "WriteIdRows" >> beam.io.WriteToParquet(self.prefix, ID_SCHEMA, file_name_suffix=".parquet")
        )
