"""Run generated Python (a solution and its tests) in a confined child process and say why it failed.

Each run gets a fresh private temporary directory as cwd, ``HOME`` and ``TMPDIR`` (removed afterwards), a scrubbed
environment, an interpreter in isolated mode (``-I -B``: no site-packages of ours, no env vars, no bytecode
writes), CPU-time, address-space and file-size limits, a wall-clock kill of the whole process group, stdout and
stderr captured into unlinked temporary files and read back capped. Network and file-system confinement is done by
the child itself (``synth.sandbox_runner``): a network namespace when the kernel allows it, dropping root to
``nobody``, and an audit hook in every case. ``SandboxResult.reason`` is one of ``REASONS``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RUNNER = Path(__file__).with_name("sandbox_runner.py")
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
NOBODY = 65534


@dataclass(frozen=True)
class SandboxLimits:
    """Per-run limits (config ``synth.sandbox``)."""

    wall_s: float = 10.0
    cpu_s: int = 5
    memory_mb: int = 512
    file_mb: int = 8  # largest file the child may write (its stdout/stderr files included)
    output_chars: int = 4000  # stdout / stderr kept per stream
    netns: bool = True  # try a network namespace (the audit hook blocks sockets either way)
    audit_hook: bool = True  # off only to test the kernel layers alone

    def __post_init__(self) -> None:
        if self.wall_s <= 0 or self.cpu_s < 1 or self.memory_mb < 0 or self.file_mb < 1:
            raise ValueError("sandbox limits: wall_s > 0, cpu_s >= 1, memory_mb >= 0, file_mb >= 1")

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
    network: str = "none"  # how the child was cut off from the network: netns | userns+netns | none (hook only)
    privileges_dropped: bool = False


def _world_readable(path: Path) -> bool:
    """Whether a user with no rights of its own (``nobody``) can reach ``path``: o+x on every parent, o+r on it."""
    path = path.resolve()
    try:
        if not path.stat().st_mode & 0o004:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in path.parents)
    except OSError:
        return False


def can_drop_privileges() -> bool:
    """Root may run the child as ``nobody`` only if ``nobody`` can still import the standard library.

    (A Python installed under a private home, e.g. pyenv in /root, cannot be read by ``nobody``: the child then stays
    root and the audit hook alone keeps its writes inside the private directory.)
    """
    import sysconfig

    return (
        os.geteuid() == 0
        and all(_world_readable(Path(sysconfig.get_path(key))) for key in ("stdlib", "platstdlib"))
        and _world_readable(Path(sys.executable))
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


def run_python(solution: str, tests: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``solution`` then ``tests`` in a fresh confined child; pass only if every assert held."""
    limits = limits or SandboxLimits()
    root = tempfile.mkdtemp(prefix="synth-sandbox-")
    read_fd, write_fd = os.pipe()
    drop = can_drop_privileges()
    if drop:
        os.chown(root, NOBODY, NOBODY)
    job = {
        "solution": solution,
        "tests": tests,
        "root": root,
        "result_fd": write_fd,
        "cpu_s": limits.cpu_s,
        "memory_mb": limits.memory_mb,
        "file_mb": limits.file_mb,
        "netns": limits.netns,
        "audit_hook": limits.audit_hook,
        "drop_privileges": drop,
        "uid": NOBODY,
        "gid": NOBODY,
    }
    env = {"PATH": "/usr/bin:/bin", "HOME": root, "TMPDIR": root, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    start = time.perf_counter()
    killed = False
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-B", str(RUNNER)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                cwd=root,
                env=env,
                pass_fds=(write_fd,),
                start_new_session=True,  # its own process group: the wall-clock kill takes any children too
                close_fds=True,
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
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
        shutil.rmtree(root, ignore_errors=True)
    return _result(proc.returncode, killed, raw, stdout, stderr, wall, limits)


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
        if returncode == -signal.SIGXCPU:
            return SandboxResult(False, "timeout", f"CPU time > {limits.cpu_s} s", stdout, stderr, wall)
        if "MemoryError" in stderr or returncode == -signal.SIGKILL:
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
