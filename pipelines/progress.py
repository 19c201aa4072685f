"""Progress display for a running job: the factory counters (``pipelines.metrics``), logged every few seconds.

Two feeds, one display:

* the embedded default (``FnApiRunner``) runs the job inside ``pipeline.run()`` and only hands metrics back at the
  end, so ``ProgressFnApiRunner`` adds up each finished bundle's counters as it completes;
* a runner that returns at once (``PortableRunner``, Dataflow, Flink, Spark) is polled through its ``PipelineResult``
  (``watch``), whose ``metrics()`` report attempted values while the job runs where the runner supports it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from apache_beam.metrics.execution import MetricKey
from apache_beam.runners.portability import portable_metrics
from apache_beam.runners.portability.fn_api_runner.fn_runner import FnApiRunner
from apache_beam.runners.runner import PipelineState

from pipelines.metrics import NAMESPACE
from pipelines.workload import Workload

log = logging.getLogger("pipelines.progress")
HEADLINE = ("input", "kept", "rejected", "duplicate", "cache_hit", "teacher", "student", "instances", "ocr_pages")
TERMINAL = (PipelineState.DONE, PipelineState.FAILED, PipelineState.CANCELLED, PipelineState.UPDATED)


def factory_counters(counters: Mapping[MetricKey, object]) -> dict[str, int]:
    """{metric name: value} of the factory namespace from a Beam counter mapping (MetricKey → value)."""
    totals: dict[str, int] = {}
    for key, value in counters.items():
        if key.metric.namespace == NAMESPACE:
            totals[key.metric.name] = totals.get(key.metric.name, 0) + int(value or 0)
    return totals


def summarize(counters: Mapping[str, int], limit: int = 8) -> str:
    """A one-line digest: the headline outcomes first (input, kept, rejected ...), then the largest others."""

    def headline(name: str) -> bool:
        return any(part in name for part in HEADLINE)

    first = sorted((k for k in counters if headline(k)), key=lambda k: -counters[k])
    rest = sorted((k for k in counters if not headline(k)), key=lambda k: -counters[k])
    shown = (first + rest)[:limit]
    more = len(counters) - len(shown)
    text = ", ".join(f"{k}={counters[k]:,}" for k in shown) or "no counters yet"
    return text + (f" (+{more} more)" if more > 0 else "")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def throughput(counters: Mapping[str, int], work: Workload, elapsed: float) -> str:
    """``1,234 docs (210/s), 45.1 of 318.0 MB read (2.10 MB/s), ETA 2 min 10 s`` for what is known of the work.

    The ETA follows the share of the input taken in so far (stored bytes, else documents); stages after the first
    shuffle run after the reading, so in curate it is the ETA of the reading ("reading ETA").
    """
    elapsed = max(elapsed, 1e-6)
    docs = sum(v for k, v in counters.items() if k.startswith(work.docs_counter))
    parts = [f"{docs:,} docs ({docs / elapsed:,.0f}/s)"]
    share, what = None, "ETA"
    if work.stored_bytes:
        stored = counters.get("read/stored_bytes", 0)
        mb, total_mb = stored / 1e6, work.stored_bytes / 1e6
        parts.append(f"{mb:,.1f} of {total_mb:,.1f} MB read ({mb / elapsed:.2f} MB/s)")
        share, what = stored / work.stored_bytes, "reading ETA"
    elif work.docs_total:
        parts[0] = f"{docs:,} of {work.docs_total:,} docs ({docs / elapsed:,.0f}/s)"
        share = docs / work.docs_total
    if share is not None and 0 < share < 1:
        parts.append(f"{what} {_duration(elapsed * (1 - share) / share)}")
    return ", ".join(parts)


class ProgressLog:
    """Accumulates counter deltas and logs a digest at most every ``interval_s`` seconds (and once at the end)."""

    def __init__(
        self,
        job: str,
        interval_s: float,
        sink: Callable[[str], None] | None = None,
        work: Workload | None = None,
    ):
        self.job = job
        self.work = work
        self.interval_s = float(interval_s)
        self.sink = sink or log.info
        self.started = time.monotonic()
        self.last = self.started
        self.bundles = 0
        self.counters: dict[str, int] = {}
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def add(self, delta: Mapping[str, int]) -> None:
        with self._lock:
            self.bundles += 1
            for name, value in delta.items():
                self.counters[name] = self.counters.get(name, 0) + value
            if time.monotonic() - self.last >= self.interval_s:
                self._emit()

    def replace(self, totals: Mapping[str, int]) -> None:
        """Absolute totals from a runner that reports them (a polled PipelineResult)."""
        with self._lock:
            self.counters = dict(totals)
            self._emit()

    def finish(self) -> None:
        with self._lock:
            self._emit(final=True)

    def _emit(self, final: bool = False) -> None:
        self.last = time.monotonic()
        elapsed = self.last - self.started
        state = "done" if final else "running"
        rates = f"{throughput(self.counters, self.work, elapsed)}; " if self.work else ""
        line = f"progress {self.job} [{state} {_duration(elapsed)}, {self.bundles} bundles]: {rates}"
        line += summarize(self.counters)
        self.lines.append(line)
        self.sink(line)


class ProgressFnApiRunner(FnApiRunner):
    """The embedded FnApiRunner, reporting each finished bundle's factory counters to a ProgressLog."""

    def __init__(self, progress: ProgressLog, **kwargs):
        super().__init__(**kwargs)
        self.progress = progress

    def _execute_bundle(self, runner_execution_context, bundle_context_manager, bundle_input):
        result = super()._execute_bundle(runner_execution_context, bundle_context_manager, bundle_input)
        try:
            counters = portable_metrics.from_monitoring_infos(result.process_bundle.monitoring_infos, True)[0]
            self.progress.add(factory_counters(counters))
        except Exception as err:  # progress is a display: it must never fail the job
            log.debug("progress: unreadable bundle metrics: %s", err)
        return result


def watch(result, progress: ProgressLog, poll_s: float = 1.0) -> str:
    """Wait for an asynchronous PipelineResult, logging its attempted counters; returns the final state."""
    last = 0.0
    while True:
        state = result.state
        if state in TERMINAL:
            break
        if time.monotonic() - last >= progress.interval_s:
            last = time.monotonic()
            try:
                counters = result.metrics().query()["counters"]
                progress.replace(factory_counters({c.key: c.attempted for c in counters}))
            except Exception as err:  # not every runner answers metrics mid-job
                log.debug("progress: metrics not available yet: %s", err)
        time.sleep(poll_s)
    return result.wait_until_finish()
