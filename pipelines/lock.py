"""One writer per output root: ``<output>/_lock.json`` held for the length of a run.

Two runs on one output root would delete each other's stage outputs (``clear_stage``) and interleave shards, so
``pipelines.run`` and every standalone CLI hold ``OutputLock(out)`` while they work. The lock records who holds it
(``run_id``, ``host``, ``pid``, ``command``, ``started``) and a ``heartbeat`` a daemon thread refreshes every
``heartbeat_s`` seconds. Acquiring:

* local paths: an atomic exclusive create (``os.open(O_CREAT | O_EXCL)``): of two processes exactly one wins;
* other filesystems (gs://, s3://, the tests' testfs://), which have no exclusive create through Beam FileSystems:
  create only if absent, wait ``settle_s``, read it back and check it is ours (the last writer wins, the other one
  sees a foreign run id and fails);
* a lock that is held fails at once with ``OutputLocked`` naming the holder; a stale one — heartbeat older than
  ``ttl_s``, or held by a process of this host that no longer exists — is taken over with a warning.

Released on exit, exceptions included; a lock found taken over by someone else (our heartbeat stalled past the TTL)
is logged and left to its new holder.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from types import TracebackType

from apache_beam.io.filesystems import FileSystems

from pipelines.atomic import is_local, write_atomic

log = logging.getLogger(__name__)

LOCK_NAME = "_lock.json"
DEFAULT_TTL_S = 600.0
DEFAULT_HEARTBEAT_S = 30.0


class OutputLocked(RuntimeError):
    """Another run holds the output root: this one stops before touching anything."""


def lock_path(out: str) -> str:
    return FileSystems.join(out.rstrip("/"), LOCK_NAME)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _epoch(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat(str(iso)).timestamp()
    except ValueError:
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (a zombie counts as alive)."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it is someone else's
        return True
    except (OverflowError, ValueError, TypeError):
        return False
    return True


def describe(holder: dict) -> str:
    """``run R (pipelines.run) on host H, pid P, since S, heartbeat N s ago``: who holds a lock."""
    beat = _epoch(holder.get("heartbeat"))
    age = f", heartbeat {time.time() - beat:.0f} s ago" if beat is not None else ""
    command = f" ({holder['command']})" if holder.get("command") else ""
    return (
        f"run {holder.get('run_id', '?')}{command} on host {holder.get('host', '?')}, pid {holder.get('pid', '?')}, "
        f"since {holder.get('started', '?')}{age}"
    )


class OutputLock:
    """``with OutputLock(out, run_id): ...``: exclusive use of the output root ``out`` (see the module docstring)."""

    def __init__(
        self,
        out: str,
        run_id: str | None = None,
        command: str = "",
        ttl_s: float = DEFAULT_TTL_S,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        settle_s: float = 1.0,
    ):
        self.out = out
        self.path = lock_path(out)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.command = command
        self.ttl_s = float(ttl_s)
        self.heartbeat_s = float(heartbeat_s)
        self.settle_s = float(settle_s)
        self.local = is_local(self.path)
        self.held = False
        self.lost = False
        self._record: dict = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------- context manager

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    # ----------------------------------------------------------------------------------------------- acquiring

    def acquire(self) -> None:
        now = time.time()
        self._record = {
            "run_id": self.run_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "command": self.command,
            "started": _iso(now),
            "heartbeat": _iso(now),
        }
        for _ in range(3):  # a take-over race lost to a third run ends in OutputLocked below
            if self._create():
                self.held = True
                self._thread = threading.Thread(target=self._beat, name=f"lock-heartbeat {self.out}", daemon=True)
                self._thread.start()
                return
            holder = self._read()
            if holder is None:  # released between our create and our read: try again
                continue
            why = self.stale_reason(holder)
            if why is None:
                raise OutputLocked(
                    f"{self.out} is in use by {describe(holder)}; wait for it to finish, or, if that run is gone, "
                    f"remove {self.path}"
                )
            log.warning("%s: taking over a stale lock of %s (%s)", self.out, describe(holder), why)
            self._remove_if_unchanged(holder)
        raise OutputLocked(f"{self.out}: could not take the lock {self.path}: other runs keep taking it")

    def stale_reason(self, holder: dict) -> str | None:
        """Why a lock may be taken over (its heartbeat is older than the TTL, its process is gone), or None."""
        beat = _epoch(holder.get("heartbeat"))
        if beat is None:
            beat = holder.get("_mtime")
        if beat is not None and time.time() - beat > self.ttl_s:
            return f"no heartbeat for {time.time() - beat:.0f} s, TTL {self.ttl_s:.0f} s"
        if holder.get("host") == socket.gethostname() and holder.get("pid") is not None:
            if not pid_alive(holder["pid"]):
                return f"process {holder['pid']} no longer runs on this host"
        return None

    def _payload(self) -> bytes:
        return json.dumps(self._record, indent=1, sort_keys=True).encode("utf-8")

    def _create(self) -> bool:
        """Create the lock file if absent; True when it is ours."""
        if self.local:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            try:
                os.write(fd, self._payload())
                os.fsync(fd)
            finally:
                os.close(fd)
            return True
        if FileSystems.exists(self.path):
            return False
        write_atomic(self.path, self._payload())
        time.sleep(self.settle_s)  # a concurrent writer that also saw no lock has written by now: the last one wins
        current = self._read()
        return bool(current) and current.get("run_id") == self.run_id

    def _read(self) -> dict | None:
        """The lock's content; None when there is no lock; ``{"_mtime": t}`` when it cannot be parsed."""
        for attempt in range(5):
            try:
                with FileSystems.open(self.path) as f:
                    data = f.read()
            except Exception:
                if not FileSystems.exists(self.path):
                    return None
                data = b""
            try:
                found = json.loads(data.decode("utf-8"))
                if isinstance(found, dict):
                    return found
            except (UnicodeDecodeError, ValueError):
                pass
            time.sleep(0.05 * (attempt + 1))  # being written right now (the exclusive create, then the write)
        try:
            return {"_mtime": FileSystems.last_updated(self.path)}
        except Exception:
            return None

    def _remove_if_unchanged(self, holder: dict) -> None:
        current = self._read()
        same = ("run_id", "heartbeat", "_mtime")
        if current is not None and all(current.get(k) == holder.get(k) for k in same):
            try:
                FileSystems.delete([self.path])
            except Exception as err:  # someone else removed it first
                log.debug("%s: %s", self.path, err)

    # ---------------------------------------------------------------------------------------- holding, releasing

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.refresh()
            except Exception as err:  # storage hiccup: the next beat tries again; the TTL leaves room
                log.warning("%s: could not refresh the lock heartbeat: %s", self.out, err)
            if self.lost:
                return

    def refresh(self) -> None:
        """Write a fresh heartbeat, unless the lock is no longer ours."""
        current = self._read()
        if not current or current.get("run_id") != self.run_id:
            self.lost = True
            log.error(
                "%s: the output lock was taken over by %s; this run no longer holds it",
                self.out,
                describe(current) if current else "nobody (it was removed)",
            )
            return
        self._record["heartbeat"] = _iso(time.time())
        write_atomic(self.path, self._payload())

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, self.heartbeat_s))
            self._thread = None
        if not self.held:
            return
        self.held = False
        try:
            current = self._read()
            if current and current.get("run_id") == self.run_id:
                FileSystems.delete([self.path])
            elif not self.lost:
                log.warning("%s: the output lock was no longer ours at release; left in place", self.out)
        except Exception as err:  # never mask the run's own outcome; a stale lock is taken over later
            log.warning("%s: could not release the output lock %s: %s", self.out, self.path, err)


__all__ = ["DEFAULT_HEARTBEAT_S", "DEFAULT_TTL_S", "LOCK_NAME", "OutputLock", "OutputLocked", "lock_path", "pid_alive"]
