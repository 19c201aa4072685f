"""Resumable, retryable stages: completion markers, owned outputs, and job retries that cannot duplicate data.

A stage (curate, annotate, mix, ...) owns a set of output globs under the run's output root. Running it:

1. skips it when its completion marker ``_markers/<stage>.json`` exists, carries the same fingerprint (the config
   sections the stage reads + its inputs' listing + the upstream stage's fingerprint) and every output it lists is
   still there; a changed config, changed inputs or a re-run upstream stage invalidates it;
2. otherwise deletes what the stage owns (stale shards of an earlier attempt, ``beam-temp-*`` leftovers), runs the
   job, and writes the marker LAST, to a temporary name renamed into place, so a marker means complete outputs;
3. retries the whole job when it fails (a worker killed mid-bundle: Dataflow retries the bundle itself; the local
   FnApiRunner does not, so the job is retried here). Outputs have deterministic names and are committed by the
   sink's finalize step only, and each attempt starts from a clean slate, so a retry cannot duplicate data.
   Only what can succeed on a second try is retried (``pipelines.failures``): a config error, a ``SystemicError``
   (also when it only survives as text in the runner's error) and disk full stop at once, and a failure that repeats
   with the same cause stops after its second attempt; a worker process that died is retried every time.
   Disk full raises ``DiskFullError`` and every other failure ``StageFailed`` (stage, attempts, the one-line cause),
   both after removing the partial outputs.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apache_beam.io.filesystems import FileSystems

from pipelines.atomic import remove_temp_dirs, temp_glob, write_atomic
from pipelines.config import ConfigError, config_json
from pipelines.failures import cause_key, not_retryable, one_line_cause, worker_died
from pipelines.layout import matched_files

log = logging.getLogger(__name__)

MARKERS = "_markers"
FACTORY_ORDER = ("curate", "annotate", "synth", "mix")  # the order stages chain their fingerprints in
# The config sections each stage reads; a stage not listed here reads its own section (``synth`` → ``synth``).
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "curate": ("sources", "extract", "normalize", "langid", "filters", "code", "decontam", "dedup"),
    "annotate": ("annotate",),
    "synth": ("synth", "decontam", "dedup", "annotate"),
    "mix": ("mix",),
}
# What each stage writes (globs under the output root); the label cache (annotations/cache/) is never owned.
STAGE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "curate": (
        "curated/*.parquet",
        "dedup/index-*.parquet",
        "dedup/ids-*.parquet",  # local batches' id files (removed when the stage finishes)
        "counts/curate.jsonl",
        "counts/curate-b*.jsonl",  # local batches' counts (summed into counts/curate.jsonl at the end)
    ),
    "annotate": ("annotations/*.parquet", "counts/annotate.jsonl"),
    "synth": ("synth/*.parquet", "synth/manifest.json", "counts/synth.jsonl"),
    "mix": (
        "shards/*/*.parquet",
        "shards/*/manifest.json",
        "counts/mix.jsonl",
        "shards/_local/*.json",  # local slices' profiles and statistics (removed when the stage finishes)
        "counts/mix-b*.jsonl",  # local slices' counts (summed into counts/mix.jsonl at the end)
    ),
}
# Temporary directories Beam's file sinks leave behind when a job dies before finalize.
TEMP_GLOBS = ("beam-temp-*/**", "*/beam-temp-*/**", "*/*/beam-temp-*/**")


class DiskFullError(OSError):
    """A write hit ENOSPC; the stage's partial outputs were removed and no marker was written."""


class StageFailed(RuntimeError):
    """A stage failed on every attempt it was given; its partial outputs were removed and no marker was written.
    The message names the stage, the attempts, why it was not retried (if so) and the one-line cause."""

    def __init__(self, stage: str, attempts: int, cause: str, why: str | None = None):
        self.stage, self.attempts, self.cause, self.why = stage, attempts, cause, why
        plural = "s" if attempts != 1 else ""
        note = f", not retried ({why})" if why else ""
        super().__init__(f"{stage}: failed after {attempts} attempt{plural}{note}: {cause}; partial outputs removed")

    def __reduce__(self):  # picklable with its fields (the default would call __init__ with the message alone)
        return (type(self), (self.stage, self.attempts, self.cause, self.why))


def _join(root: str, rel: str) -> str:
    return FileSystems.join(root.rstrip("/"), *rel.split("/"))


def marker_path(out: str, stage: str) -> str:
    return _join(out, f"{MARKERS}/{stage}.json")


def output_globs(out: str, stage: str) -> list[str]:
    return [_join(out, g) for g in STAGE_OUTPUTS.get(stage, (f"counts/{stage}.jsonl",))]


def input_listing(config: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(path, size) of every file the sources match: a changed or added input file changes the fingerprint."""
    found = []
    for src in config["sources"]:
        for pattern in src["paths"]:
            found.extend((m.path, int(m.size_in_bytes)) for m in matched_files(pattern))
    return sorted(found)


def fingerprint(config: Mapping[str, Any], stage: str, upstream: str | None = None) -> str:
    """What decides a stage's outputs: its config sections, its upstream's fingerprint, and (curate) its inputs."""
    sections = STAGE_SECTIONS.get(stage, (stage,))
    parts: dict[str, Any] = {s: config.get(s) for s in sections}
    parts["upstream"] = upstream
    if stage == "curate":
        parts["inputs"] = input_listing(config)
        parts["local_batch_mb"] = config.get("run", {}).get("local_batch_mb")  # decides which copy a cluster keeps
    return hashlib.sha256(config_json(parts).encode("utf-8")).hexdigest()[:32]


def read_marker(out: str, stage: str) -> dict | None:
    path = marker_path(out, stage)
    if not FileSystems.exists(path):
        return None
    try:
        with FileSystems.open(path) as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):  # unreadable marker: the stage is not known complete
        return None


def is_complete(out: str, stage: str, fp: str) -> bool:
    """The stage finished with this fingerprint and every output file it recorded is still there, same size."""
    marker = read_marker(out, stage)
    if not marker or marker.get("fingerprint") != fp:
        return False
    recorded = {path: size for path, size in marker.get("files", [])}
    present = {m.path: int(m.size_in_bytes) for g in output_globs(out, stage) for m in matched_files(g)}
    return all(present.get(path) == size for path, size in recorded.items())


def write_marker(out: str, stage: str, record: Mapping[str, Any]) -> str:
    """Write the marker to a temporary name and rename it into place: it appears whole or not at all."""
    files = sorted((m.path, int(m.size_in_bytes)) for g in output_globs(out, stage) for m in matched_files(g))
    payload = json.dumps({**record, "stage": stage, "files": files}, indent=1, sort_keys=True).encode("utf-8")
    return write_atomic(marker_path(out, stage), payload)


def leftover_globs(out: str, stage: str) -> list[str]:
    """Temporary files an interrupted attempt of the stage may leave: ``write_atomic``'s ``.name.tmp-*`` beside each
    output and the marker, and the Beam sinks' ``beam-temp-*`` files."""
    owned = [*STAGE_OUTPUTS.get(stage, (f"counts/{stage}.jsonl",)), f"{MARKERS}/{stage}.json"]
    return [*(_join(out, temp_glob(g)) for g in owned), *(_join(out, g) for g in TEMP_GLOBS)]


def clear_stage(out: str, stage: str) -> int:
    """Delete the stage's marker, outputs and leftovers (temporary files, ``beam-temp-*`` directories); returns the
    number of files removed."""
    patterns = [marker_path(out, stage), *output_globs(out, stage), *leftover_globs(out, stage)]
    paths = sorted({m.path for p in patterns for m in matched_files(p)})
    if paths:
        FileSystems.delete(paths)
    remove_temp_dirs(out)
    return len(paths)


def is_disk_full(err: BaseException) -> bool:
    """ENOSPC anywhere in the exception chain or in a worker's reported traceback (runners re-raise as text)."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(err) or "[Errno 28]" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


@dataclass
class StageOutcome:
    """What happened to one stage in a run: ``ran`` (attempts), or ``skipped`` (complete from an earlier run)."""

    name: str
    status: str
    fingerprint: str
    attempts: int = 0
    seconds: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)


def retry_verdict(err: BaseException, previous: str | None) -> str | None:
    """Why a failed attempt must not be retried (config error, systemic, the same cause as the attempt before), or
    None when another attempt may succeed (a worker that died always may)."""
    why = not_retryable(err)
    if why or worker_died(err):
        return why
    if previous is not None and cause_key(err) == previous:
        return "the same failure twice: deterministic"
    return None


def run_stage(
    name: str,
    out: str,
    fp: str,
    job: Callable[[], dict[str, int]],
    retries: int = 2,
    force: bool = False,
    backoff_s: float = 1.0,
    check: Callable[[], None] | None = None,
) -> StageOutcome:
    """Skip the stage if complete, else run ``job`` (returns its counters), retrying what can succeed on a retry
    (up to ``retries`` times). ``check`` runs after a successful job and before the marker is written: when it
    raises (counts that do not balance) the stage keeps its outputs for inspection but gets no marker."""
    if not force and is_complete(out, name, fp):
        marker = read_marker(out, name) or {}
        log.info("%s: complete from an earlier run (%s), skipped", name, marker.get("finished_at"))
        return StageOutcome(name, "skipped", fp, counters=dict(marker.get("counters") or {}))
    t0 = time.perf_counter()
    previous: str | None = None
    for attempt in range(1, retries + 2):
        removed = clear_stage(out, name)
        if removed:
            log.info("%s: removed %d files of an earlier or failed attempt", name, removed)
        try:
            counters = job()
        except Exception as err:
            if is_disk_full(err):
                clear_stage(out, name)
                raise DiskFullError(
                    errno.ENOSPC, f"{name}: disk full writing under {out}; partial outputs removed, no marker"
                ) from err
            why = retry_verdict(err, previous)
            if why or attempt > retries:
                clear_stage(out, name)
                if isinstance(err, ConfigError):  # raised here, not in a worker: the CLI names the key as it is
                    raise
                raise StageFailed(name, attempt, one_line_cause(err), why) from err
            previous = cause_key(err)
            log.warning("%s: attempt %d failed (%s); retrying", name, attempt, one_line_cause(err, 300))
            time.sleep(backoff_s * attempt)
            continue
        remove_temp_dirs(out)  # a sink's emptied temp directories
        if check is not None:
            check()
        seconds = time.perf_counter() - t0
        write_marker(
            out,
            name,
            {
                "fingerprint": fp,
                "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "attempts": attempt,
                "seconds": round(seconds, 3),
                "counters": counters,
            },
        )
        return StageOutcome(name, "ran", fp, attempt, seconds, counters)
    raise AssertionError("unreachable")


def chain_fingerprints(
    config: Mapping[str, Any], stages: Sequence[str], order: Iterable[str] = FACTORY_ORDER
) -> dict[str, str]:
    """Fingerprints of ``stages``, each chained on the one before it in the factory ``order``."""
    fps: dict[str, str] = {}
    upstream = None
    for name in order:
        upstream = fingerprint(config, name, upstream)
        fps[name] = upstream
    return {s: fps.get(s) or fingerprint(config, s) for s in stages}
