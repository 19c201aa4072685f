"""Run generated Python (a solution and its tests) in an operating-system sandbox and say why it failed.

The boundary is bubblewrap (``bwrap.py``): new user, PID, mount, network, IPC, UTS and cgroup namespaces; uid 65534
inside and an unprivileged uid outside; only the interpreter and the system libraries, read-only; a private
size-capped tmpfs as the only writable place; a scrubbed environment; no capabilities; a seccomp filter where
libseccomp exists (``seccomp.py``); rlimits on address space, CPU seconds, processes, open files and file size. On
the wall-clock limit bwrap is killed and its PID namespace dies with it, whatever the sample forked or detached.
stdout and stderr are read back capped. Inside, ``runner.py`` runs the code under an audit hook that names what an
honest failure tried (``network_blocked`` ...); the hook is a first filter, not the boundary.

A host that cannot provide this makes ``run_python`` raise ``SandboxUnavailable`` naming what is missing, unless the
config says ``synth.sandbox.isolation: unsafe``: then the child only gets rlimits, the audit hook and a network
namespace when possible (logged once, and recorded in the run manifest's config and on every record's meta).
``SandboxResult.reason`` is one of ``REASONS``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from synth.sandbox import bwrap
from synth.sandbox.bwrap import SandboxUnavailable as SandboxUnavailable  # raised by run_python (probe)
from synth.sandbox.seccomp import filter_fd

log = logging.getLogger(__name__)
RUNNER = Path(__file__).with_name("runner.py")
REASONS = (
    "syntax_error",
    "solution_error",
    "tests_error",
    "test_failed",
    "timeout",
    "memory",
    "recursion",
    "output_limit",
    "network_blocked",
    "write_blocked",
    "process_blocked",
    "crashed",
)
NOBODY = bwrap.NOBODY
ISOLATIONS = ("bwrap", "unsafe")


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits and the isolation (config ``synth.sandbox``)."""

    wall_s: float = 10.0
    cpu_s: int = 5
    memory_mb: int = 512
    file_mb: int = 8  # largest file the child may write (its stdout/stderr files included)
    output_chars: int = 4000  # stdout / stderr kept per stream
    processes: int = 32  # processes and threads of the sample (RLIMIT_NPROC inside its user namespace)
    open_files: int = 64
    tmp_mb: int = 64  # size of the private tmpfs (bwrap)
    isolation: str = "bwrap"  # bwrap | unsafe (no OS isolation: rlimits + audit hook only; never for hostile code)
    python: str = ""  # interpreter inside the sandbox; "" = this one if the sandbox user can read it, else python3
    netns: bool = True  # unsafe mode: try a network namespace (the audit hook blocks sockets either way)
    audit_hook: bool = True  # off only to test the layers under it

    def __post_init__(self) -> None:
        if self.wall_s <= 0 or self.cpu_s < 1 or self.memory_mb < 0 or self.file_mb < 1:
            raise ValueError("sandbox limits: wall_s > 0, cpu_s >= 1, memory_mb >= 0, file_mb >= 1")
        if self.processes < 1 or self.open_files < 16 or self.tmp_mb < 1:
            raise ValueError("sandbox limits: processes >= 1, open_files >= 16, tmp_mb >= 1")
        if self.isolation not in ISOLATIONS:
            raise ValueError(f"synth.sandbox.isolation: one of {ISOLATIONS}, got {self.isolation!r}")

    @classmethod
    def from_mapping(cls, cfg: dict | None) -> SandboxLimits:
        cfg = dict(cfg or {})
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"synth.sandbox: unknown key(s) {sorted(unknown)}")
        return cls(**cfg)


@dataclass(frozen=True)
class SandboxResult:
    passed: bool
    reason: str  # "" when passed, else one of REASONS
    detail: str
    stdout: str
    stderr: str
    wall_s: float
    tests_run: int = 0
    network: str = "none"  # how the child was cut off from the network: bwrap | netns | userns+netns | none
    privileges_dropped: bool = False
    isolation: str = "bwrap"  # bwrap | unsafe
    seccomp: bool = False


def can_drop_privileges() -> bool:
    """Root may run the child as ``nobody`` only if ``nobody`` can still import the standard library.

    (A Python installed under a private home, e.g. pyenv in /root, cannot be read by ``nobody``: the child then stays
    root and the audit hook alone keeps its writes inside the private directory.)
    """
    import sysconfig

    return (
        os.geteuid() == 0
        and all(bwrap.world_readable(Path(sysconfig.get_path(key))) for key in ("stdlib", "platstdlib"))
        and bwrap.world_readable(Path(sys.executable))
    )


def _read_capped(f, limit: int) -> str:
    f.seek(0)
    data = f.read(limit + 1)
    text = data.decode("utf-8", errors="replace")
    return text[:limit] + ("…[truncated]" if len(text) > limit else "")


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


_warned_unsafe = False


def _unsafe_job(root: str) -> tuple[list[str], dict, dict]:
    """``isolation: unsafe``: the runner on this interpreter, a network namespace if possible, root dropped to
    ``nobody`` when that user can read the standard library; the private directory is a host temp dir."""
    global _warned_unsafe
    if not _warned_unsafe:
        log.warning("synth.sandbox.isolation: unsafe: generated code runs WITHOUT operating-system isolation")
        _warned_unsafe = True
    drop = can_drop_privileges()
    if drop:
        os.chown(root, NOBODY, NOBODY)
    job = {"root": root, "drop_privileges": drop, "uid": NOBODY, "gid": NOBODY}
    return [sys.executable, "-I", "-B", str(RUNNER)], job, {"cwd": root}


@cache
def _runner_source() -> str:
    return RUNNER.read_text(encoding="utf-8")


def _bwrap_job(limits: SandboxLimits, seccomp: int | None) -> tuple[list[str], dict, dict]:
    interpreter = bwrap.probe(limits.python)
    cmd, popen = bwrap.as_nobody(bwrap.command(interpreter, _runner_source(), limits.tmp_mb << 20, seccomp))
    job = {"root": bwrap.INSIDE, "netns": False}  # the namespaces and the uid are bwrap's
    return cmd, job, {"cwd": "/", **popen}


def run_python(solution: str, tests: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``solution`` then ``tests`` in a fresh sandbox; pass only if every assert held."""
    limits = limits or SandboxLimits()
    unsafe = limits.isolation == "unsafe"
    root = tempfile.mkdtemp(prefix="synth-sandbox-") if unsafe else ""
    seccomp = None if unsafe else filter_fd()
    read_fd, write_fd = os.pipe()
    start = time.perf_counter()
    killed = False
    try:
        cmd, job, popen = _unsafe_job(root) if unsafe else _bwrap_job(limits, seccomp)
        job.update(
            solution=solution,
            tests=tests,
            result_fd=write_fd,
            cpu_s=limits.cpu_s,
            memory_mb=limits.memory_mb,
            file_mb=limits.file_mb,
            processes=limits.processes,
            open_files=limits.open_files,
            audit_hook=limits.audit_hook,
        )
        job.setdefault("netns", limits.netns)
        env = {"PATH": "/usr/bin:/bin", "HOME": root or "/", "TMPDIR": root or "/tmp", "LANG": "C.UTF-8"}
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                env={**env, "PYTHONHASHSEED": "0"},
                pass_fds=(write_fd,) if seccomp is None else (write_fd, seccomp),
                start_new_session=True,  # its own process group: the wall-clock kill takes bwrap (and its namespace)
                close_fds=True,
                **popen,
            )
            os.close(write_fd)
            write_fd = -1
            try:
                proc.stdin.write(json.dumps(job).encode("utf-8"))
                proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                proc.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                killed = True
                _kill_group(proc)
            wall = time.perf_counter() - start
            with os.fdopen(read_fd, "rb") as pipe:
                read_fd = -1
                raw = pipe.read()
            stdout, stderr = _read_capped(out, limits.output_chars), _read_capped(err, limits.output_chars)
    finally:
        for fd in (read_fd, write_fd, -1 if seccomp is None else seccomp):
            if fd >= 0:
                os.close(fd)
        if root:
            shutil.rmtree(root, ignore_errors=True)
    result = _result(proc.returncode, killed, raw, stdout, stderr, wall, limits)
    if not unsafe:  # what bwrap gave, also when the child died before reporting
        result = replace(result, network="bwrap", privileges_dropped=True)
    return replace(result, isolation=limits.isolation, seccomp=seccomp is not None)


def _result(
    returncode: int, killed: bool, raw: bytes, stdout: str, stderr: str, wall: float, limits: SandboxLimits
) -> SandboxResult:
    if killed:
        return SandboxResult(False, "timeout", f"wall clock > {limits.wall_s:g} s", stdout, stderr, wall)
    try:
        result = json.loads(raw) if raw else None
    except ValueError:
        result = None
    if result is None:  # the child died before reporting
        if returncode in (-signal.SIGXCPU, 128 + signal.SIGXCPU):  # bwrap reports a signal death as 128 + signal
            return SandboxResult(False, "timeout", f"CPU time > {limits.cpu_s} s", stdout, stderr, wall)
        if "MemoryError" in stderr or returncode in (-signal.SIGKILL, 128 + signal.SIGKILL):
            return SandboxResult(False, "memory", f"address space > {limits.memory_mb} MB", stdout, stderr, wall)
        tail = stderr.strip().splitlines()[-1:] or [""]
        return SandboxResult(False, "crashed", f"exit status {returncode}: {tail[0][:300]}", stdout, stderr, wall)
    return SandboxResult(
        passed=result["status"] == "passed",
        reason=result.get("reason", ""),
        detail=result.get("detail", ""),
        stdout=stdout,
        stderr=stderr,
        wall_s=wall,
        tests_run=int(result.get("tests_run", 0)),
        network=result.get("network", "none"),
        privileges_dropped=bool(result.get("privileges_dropped")),
    )
