"""What a failed job's exception means: its one-line cause, and whether running the job again can help.

Runners re-raise a worker's exception as text: the local FnApiRunner (and the portable runner) raise a
``RuntimeError`` whose message is the worker's whole traceback, so ``str(err).splitlines()[0]`` is
``Traceback (most recent call last):``. ``one_line_cause`` digs through the exception chain and any embedded
traceback text for the line that says what went wrong: our ``SystemicError: <stage>: ... first record id=...`` when
there is one, else the last ``SomeError: message`` line of the innermost traceback.

Retrying (``pipelines.stages.run_stage``) is only for what can succeed on a second try: a worker that died (killed,
OOM, preempted) or a flaky dependency. A config error, a ``SystemicError`` (a bug, a dead model server, storage) or a
failure that repeats with the same cause is deterministic: one more attempt only costs time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipelines.config import ConfigError
from pipelines.isolation import SYSTEMIC_MARK, SystemicError

TRACEBACK_HEAD = "Traceback (most recent call last):"
# How runners report a worker process that died under them (gRPC channels closing, the subprocess exiting).
WORKER_DIED = (
    "Channel closed prematurely",
    "Worker subprocess exited",
    "StatusCode.UNAVAILABLE",
    "Socket closed",
)
_EXC_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$")
_EXC_NAME = re.compile(r"(Error|Exception|Exit|Interrupt|Warning|Fault|Failed|Timeout|Locked)$")
_SYSTEMIC = re.compile(rf"(?:^|[\s.]){SYSTEMIC_MARK}: (?P<msg>.+)$", re.M)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def chain(err: BaseException) -> Iterator[BaseException]:
    """``err`` and what caused it, outermost first (``__cause__``, else an unsuppressed ``__context__``)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def _short_type(name: str) -> str:
    return name.rsplit(".", 1)[-1]  # pipelines.isolation.SystemicError → SystemicError


def _exception_line(text: str) -> str | None:
    """The last ``Type: message`` line of traceback text (the innermost exception), or None if there is none."""
    if TRACEBACK_HEAD not in text:
        return None
    found = None
    for line in text.splitlines():
        m = _EXC_LINE.match(line.rstrip())
        if m and _EXC_NAME.search(m.group("type")):
            msg = (m.group("msg") or "").strip()
            found = f"{_short_type(m.group('type'))}: {msg}" if msg else _short_type(m.group("type"))
    return found


def _own_line(err: BaseException) -> str:
    """``Type: first line of the message`` of an exception that carries no traceback text."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip() and ln.strip() != TRACEBACK_HEAD]
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def _clip(line: str, limit: int) -> str:
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def one_line_cause(err: BaseException, limit: int = 400) -> str:
    """The one line that says why ``err`` happened (never ``Traceback (most recent call last):``)."""
    errors = list(chain(err))
    for e in errors:  # ours, wherever it is: it names the stage, the exception and the first record id
        if isinstance(e, SystemicError):
            return _clip(_own_line(e), limit)
        m = _SYSTEMIC.search(str(e))
        if m:
            return _clip(f"{SYSTEMIC_MARK}: {m.group('msg').strip()}", limit)
    for e in reversed(errors):  # innermost first
        line = _exception_line(str(e))
        if line:
            return _clip(line, limit)
    return _clip(_own_line(errors[-1]), limit)


def cause_key(err: BaseException) -> str:
    """What identifies a failure across attempts: the cause line without memory addresses."""
    return _ADDRESS.sub("0x?", one_line_cause(err, limit=1000))


def is_systemic(err: BaseException) -> bool:
    """A ``SystemicError`` (or anything marked ``retryable = False``) in the chain or in a worker's traceback text."""
    for e in chain(err):
        if getattr(e, "retryable", True) is False or _SYSTEMIC.search(str(e)):
            return True
    return False


def is_config_error(err: BaseException) -> bool:
    return any(isinstance(e, ConfigError) or "ConfigError: " in str(e) for e in chain(err))


def worker_died(err: BaseException) -> bool:
    """The runner lost a worker process (no exception of ours): the one failure a re-run is meant for."""
    return any(mark in str(e) for e in chain(err) for mark in WORKER_DIED)


def not_retryable(err: BaseException) -> str | None:
    """Why running the job again cannot help (``config error``, ``systemic``), or None."""
    if is_config_error(err):
        return "config error"
    if is_systemic(err):
        return "systemic"
    return None


def cli_error(err: BaseException) -> str:
    """``error: <message>`` plus ``(cause: <one line>)`` when the cause adds something: what a CLI exits with."""
    text = _clip(str(err), 1000) if str(err).strip() else type(err).__name__
    if err.__cause__ is None:
        return f"error: {text}"
    cause = one_line_cause(err.__cause__)
    return f"error: {text}" if cause in text else f"error: {text} (cause: {cause})"


__all__ = [
    "TRACEBACK_HEAD",
    "cause_key",
    "chain",
    "cli_error",
    "is_config_error",
    "is_systemic",
    "not_retryable",
    "one_line_cause",
    "worker_died",
]
