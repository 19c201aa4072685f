"""Run PDF work in a child process under a hard wall-time and address-space limit.

A malformed PDF can make MuPDF loop for minutes or allocate gigabytes; inside a Beam worker that stalls or kills
the whole bundle. Here each call goes to a long-lived child process (spawned once, reused for every PDF, so the
import cost is paid once per worker); on timeout the child is killed and a fresh one is started on the next call, and
a child that dies (out of memory, segfault in native code) becomes a :class:`PdfError` with a reason.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Callable
from typing import Any

from curation.pdf.errors import PdfError

_CTX = mp.get_context("spawn")  # fork is unsafe in processes with gRPC threads (Beam workers)


def _child_main(conn, max_memory_mb: int | None) -> None:
    if max_memory_mb:
        import resource

        limit = max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import curation.pdf.extract  # noqa: F401  (warm imports before the clock of the first call starts)

    conn.send("ready")
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        fn, args, kwargs = message
        try:
            conn.send(("ok", fn(*args, **kwargs)))
        except PdfError as err:
            conn.send(("pdf_error", (err.reason, err.detail)))
        except MemoryError:
            conn.send(("pdf_error", ("pdf_memory_limit", f"over {max_memory_mb} MiB address space")))
        except BaseException as err:  # report, keep serving: one bad PDF must not cost the next one
            detail = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"
            conn.send(("pdf_error", ("pdf_error", detail[:2000])))


class IsolatedRunner:
    """Calls ``fn(*args)`` in a child process; raises PdfError on timeout, memory exhaustion or a crash."""

    def __init__(self, timeout_s: float = 120.0, max_memory_mb: int | None = 4096, startup_timeout_s: float = 120.0):
        self.timeout_s = float(timeout_s)
        self.startup_timeout_s = float(startup_timeout_s)
        self.max_memory_mb = max_memory_mb
        self._proc = None
        self._conn = None

    def _start(self) -> None:
        parent, child = _CTX.Pipe()
        self._proc = _CTX.Process(target=_child_main, args=(child, self.max_memory_mb), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(self.startup_timeout_s) or parent.recv() != "ready":
            self._kill()
            raise PdfError("pdf_isolation_failed", f"extractor process not ready in {self.startup_timeout_s:g} s")

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start()
        try:
            self._conn.send((fn, args, kwargs))
            ready = self._conn.poll(self.timeout_s)
        except (BrokenPipeError, EOFError, OSError):
            ready = None
        if ready is False:
            self._kill()
            raise PdfError("pdf_timeout", f"no result within {self.timeout_s:g} s")
        try:
            if ready is None:
                raise EOFError
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            if self._proc is not None:
                self._proc.join(5)
            code = self._proc.exitcode if self._proc is not None else None
            self._kill()
            if code is not None and code < 0 and -code != 9:  # SIGKILL is what the kernel's OOM killer sends
                raise PdfError("pdf_crashed", f"extractor killed by signal {-code}") from None
            raise PdfError(
                "pdf_memory_limit", f"extractor died (exit {code}); limit {self.max_memory_mb} MiB"
            ) from None
        if status == "ok":
            return payload
        reason, detail = payload
        raise PdfError(reason, detail)

    def close(self) -> None:
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(None)
                self._proc.join(2)
            except OSError:
                pass
        self._kill()

    def __enter__(self) -> IsolatedRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
