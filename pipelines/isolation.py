"""Per-record isolation: an exception while handling one record becomes a Rejection and the job goes on.

At web scale every kind of malformed record turns up, and on Dataflow a bundle that fails four times fails the whole
job. So a DoFn's per-record work runs under ``per_record`` (one element) or ``per_batch`` (a batch, re-run one record
at a time when the batch fails, so only the bad record is rejected). The record's outputs are held until it finished:
a record that fails half-way emits its Rejection and nothing else.

What is *not* isolated is systemic: ``SystemicError`` (configuration, storage, a dead model server), ``MemoryError``,
and a run of ``max_consecutive_errors`` records in a row failing with the same exception type in one worker — a bug or
a broken dependency, not dirty data. Those stop the job with a one-line cause naming the stage, the exception and the
first record id, and the stage runner does not retry them (``pipelines.stages``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import apache_beam as beam

from curation.records import rejection
from pipelines.metrics import counter

log = logging.getLogger(__name__)

REJECT = "rejections"
DEFAULT_MAX_CONSECUTIVE_ERRORS = 100
SYSTEMIC_MARK = "SystemicError"  # runners re-raise worker errors as text; this names ours in it


class SystemicError(RuntimeError):
    """A failure no single record causes: the job stops, and retrying it cannot help (never retried)."""

    retryable = False


def error_reason(err: BaseException) -> str:
    """``error:<Type>``: the rejection reason of a record whose handling raised ``err``."""
    return f"error:{type(err).__name__}"


def error_detail(err: BaseException, limit: int = 300) -> str:
    """The exception's message on one line, bounded (a traceback would bloat every rejection row)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:limit]


def record_id(element: Any) -> str:
    if isinstance(element, Mapping):
        return str(element.get("id") or element.get("doc_id") or "?")
    if isinstance(element, tuple) and element:
        return record_id(element[-1]) if isinstance(element[-1], Mapping) else str(element[0])[:200]
    return "?"


def is_systemic(err: BaseException) -> bool:
    return isinstance(err, (SystemicError, MemoryError)) or not isinstance(err, Exception)


class ErrorBudget:
    """Consecutive per-record failures of one exception type in one worker; too many in a row is systemic."""

    def __init__(self, stage: str, limit: int = DEFAULT_MAX_CONSECUTIVE_ERRORS):
        self.stage = stage
        self.limit = max(1, int(limit))
        self.run = 0
        self.kind = ""
        self.first_id = ""
        self.first_error = ""

    def ok(self) -> None:
        self.run = 0

    def failed(self, rid: str, err: BaseException) -> None:
        kind = type(err).__name__
        if kind != self.kind or self.run == 0:
            self.kind, self.run, self.first_id, self.first_error = kind, 0, rid, error_detail(err)
        self.run += 1
        if self.run >= self.limit:
            raise SystemicError(
                f"{self.stage}: {self.run} records in a row failed with {kind}; "
                f"first record id={self.first_id}: {kind}: {self.first_error}"
            ) from err


def _budget(owner: Any, stage: str) -> ErrorBudget:
    budget = owner.__dict__.get("_error_budget")
    if budget is None or budget.stage != stage:
        limit = getattr(owner, "max_consecutive_errors", DEFAULT_MAX_CONSECUTIVE_ERRORS)
        budget = owner.__dict__["_error_budget"] = ErrorBudget(stage, limit)
    return budget


def rejection_for(element: Any, stage: str, err: BaseException) -> beam.pvalue.TaggedOutput:
    """The default error output: a Rejection on the ``rejections`` output (any mapping with id/source/locator)."""
    base = element if isinstance(element, Mapping) else {"id": record_id(element), "source": "", "locator": ""}
    base = {"source": "", "locator": "", **base}
    return beam.pvalue.TaggedOutput(REJECT, rejection(base, stage, error_reason(err), error_detail(err)))


OnError = Callable[[Any, Any, BaseException], Iterable[Any]]


def _default_on_error(stage: str) -> OnError:
    def on_error(_owner: Any, element: Any, err: BaseException) -> Iterator[Any]:
        yield rejection_for(element, stage, err)

    return on_error


def _failed(owner: Any, stage: str, element: Any, err: Exception, on_error: OnError) -> list[Any]:
    """The error outputs of a record whose handling raised (systemic errors propagate)."""
    if is_systemic(err):
        raise err
    rid = record_id(element)
    _budget(owner, stage).failed(rid, err)
    counter(stage, error_reason(err)).inc()
    log.warning("%s: record %s rejected: %s: %s", stage, rid, type(err).__name__, error_detail(err, 200))
    return list(on_error(owner, element, err))


def _succeeded(owner: Any) -> None:
    budget = owner.__dict__.get("_error_budget")
    if budget is not None:
        budget.run = 0


def guarded(owner: Any, stage: str, element: Any, run: Callable[[], Iterable[Any]], on_error: OnError) -> list[Any]:
    """Run one record's work; its outputs, or its error outputs when it raised (systemic errors propagate)."""
    try:
        outputs = list(run())
    except Exception as err:
        return _failed(owner, stage, element, err, on_error)
    _succeeded(owner)
    return outputs


def per_record(stage: str, on_error: OnError | None = None):
    """Decorate a DoFn ``process(self, element, ...)``: an exception rejects that element, the bundle goes on."""
    handler = on_error or _default_on_error(stage)

    def wrap(process):
        @functools.wraps(process)
        def run(self, element, *args, **kwargs):
            try:
                outputs = list(process(self, element, *args, **kwargs))  # held: a half-done record emits nothing
            except Exception as err:
                yield from _failed(self, stage, element, err, handler)
                return
            _succeeded(self)
            yield from outputs

        return run

    return wrap


def per_batch(stage: str, on_error: OnError | None = None):
    """Decorate ``process(self, batch: list, ...)``: when the batch raises, each record is re-run alone so only the
    records that fail by themselves are rejected."""
    handler = on_error or _default_on_error(stage)

    def wrap(process):
        @functools.wraps(process)
        def run(self, batch, *args, **kwargs):
            try:
                outputs = list(process(self, batch, *args, **kwargs))
            except Exception as err:
                if is_systemic(err):
                    raise
                log.info("%s: a batch of %d failed (%s); re-running it record by record", stage, len(batch), err)
            else:
                yield from outputs
                return
            for element in batch:
                yield from guarded(self, stage, element, lambda e=element: process(self, [e], *args, **kwargs), handler)

        return run

    return wrap


__all__ = [
    "DEFAULT_MAX_CONSECUTIVE_ERRORS",
    "REJECT",
    "SYSTEMIC_MARK",
    "ErrorBudget",
    "SystemicError",
    "error_detail",
    "error_reason",
    "guarded",
    "is_systemic",
    "per_batch",
    "per_record",
    "record_id",
    "rejection_for",
]
