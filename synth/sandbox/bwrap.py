"""The bubblewrap command around one sandboxed run, and the probe that says whether this host can provide it.

What the sample sees: ``/usr/lib`` (+ ``/lib*`` as on the host) and the interpreter read-only, a fresh ``/proc`` of
its own PID namespace, a minimal ``/dev``, and a size-capped private tmpfs at ``/tmp`` (cwd, HOME, TMPDIR): no
``/etc``, no ``/bin``, no home, no project tree. It runs as uid/gid 65534 in new user, PID, mount, network, IPC,
UTS and cgroup namespaces, with every capability dropped, nested user namespaces disabled, a scrubbed environment
and the seccomp filter of ``seccomp.py`` where libseccomp exists. Root hands bwrap to ``nobody`` before it starts
(through ``setpriv``), so outside the namespaces the sample is an unprivileged uid too, as it is for an ordinary
user.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

NOBODY = 65534
INSIDE = "/tmp"  # the private writable directory, as the sample sees it
SYSTEM_LIBS = ("/usr/lib", "/usr/lib64", "/usr/lib32")
LIB_LINKS = ("/lib", "/lib64", "/lib32", "/libx32")
CANDIDATES = ("/usr/local/bin/python3", "/usr/bin/python3")


class SandboxUnavailable(RuntimeError):
    """The host cannot isolate generated code; the message names what is missing and how to get it."""


def world_readable(path: Path) -> bool:
    """Whether a user with no rights of its own (``nobody``) can reach ``path``: o+x on every parent, o+r on it."""
    path = path.resolve()
    try:
        return bool(path.stat().st_mode & 0o004) and all(p.stat().st_mode & 0o001 for p in path.parents)
    except OSError:
        return False


def _reachable(path: Path, as_root: bool) -> bool:
    """Whether the uid bwrap runs as can read ``path`` (root hands it to ``nobody``: world rights only)."""
    return world_readable(path) if as_root else os.access(path.resolve(), os.R_OK)


@dataclass(frozen=True)
class Interpreter:
    """A Python the sandbox user can read, with the directories it needs (stdlib, extension modules, libpython)."""

    executable: str
    dirs: tuple[str, ...]

    @classmethod
    def find(cls, wanted: str = "") -> Interpreter:
        as_root = os.geteuid() == 0
        names = [wanted] if wanted else [os.path.realpath(sys.executable), *CANDIDATES]
        refused = []
        for name in names:
            exe = shutil.which(name) if not os.path.isabs(name) else name
            if not exe or not os.path.exists(exe):
                refused.append(f"{name}: not found")
                continue
            exe = os.path.realpath(exe)
            try:
                dirs = _interpreter_dirs(exe)
            except (OSError, subprocess.SubprocessError, ValueError) as err:
                refused.append(f"{exe}: {err}")
                continue
            hidden = [p for p in (exe, *dirs) if not _reachable(Path(p), as_root)]
            if hidden:
                refused.append(f"{exe}: {hidden[0]} is not readable by {'nobody' if as_root else 'this user'}")
                continue
            return cls(exe, dirs)
        raise SandboxUnavailable(
            "no Python the sandbox user can read (" + "; ".join(refused) + "): install python3 under /usr "
            "(Debian: apt-get install python3) or set synth.sandbox.python"
        )


@cache
def _interpreter_dirs(exe: str) -> tuple[str, ...]:
    code = (
        "import json, sys, sysconfig; v = sysconfig.get_config_var; "
        "print(json.dumps([sysconfig.get_path('stdlib'), sysconfig.get_path('platstdlib'), v('LIBDIR') or '']))"
    )
    out = subprocess.run([exe, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=30, check=True)
    stdlib, platstdlib, libdir = json.loads(out.stdout)
    dirs = [stdlib, platstdlib]
    if libdir and any(Path(libdir).glob("libpython*.so*")):  # a shared libpython outside the system directories
        dirs.append(libdir)
    inside_system = lambda d: any(d == s or d.startswith(s + "/") for s in SYSTEM_LIBS)  # noqa: E731
    return tuple(dict.fromkeys(os.path.realpath(d) for d in dirs if d and not inside_system(os.path.realpath(d))))


def command(interpreter: Interpreter, runner: str, tmp_bytes: int, seccomp_fd: int | None) -> list[str]:
    """``bwrap ... python -I -B -S -c <runner>``: the job comes on stdin, the result on the descriptor it names."""
    cmd = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    cmd += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for lib in SYSTEM_LIBS:
        if os.path.isdir(lib):
            cmd += ["--ro-bind", lib, lib]
    for link in LIB_LINKS:
        if os.path.islink(link):
            cmd += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            cmd += ["--ro-bind", link, link]
    for path in (*interpreter.dirs, interpreter.executable):
        cmd += ["--ro-bind", path, path]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_bytes), "--tmpfs", INSIDE, "--chdir", INSIDE]
    cmd += ["--clearenv"]
    env = {"PATH": "/usr/bin:/bin", "HOME": INSIDE, "TMPDIR": INSIDE, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if seccomp_fd is not None:
        cmd += ["--seccomp", str(seccomp_fd)]
    return [*cmd, "--", interpreter.executable, "-I", "-B", "-S", "-c", runner]


def as_nobody(cmd: list[str]) -> tuple[list[str], dict]:
    """The command and ``subprocess.Popen`` keywords that start bwrap as ``nobody`` when we are root.

    Through ``setpriv`` (util-linux) where it exists: Popen then needs no uid change of its own and can ``vfork``,
    so a worker holding gigabytes (a model, a Beam bundle) is not copied page table by page table for every sample
    (a ``fork`` there is slow, and a host short of memory kills the copy: seen as bwrap dying of SIGBUS). Without
    setpriv, Popen changes the uid itself after a ``fork``.
    """
    if os.geteuid() != 0:
        return cmd, {}
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if setpriv:
        return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--", *cmd], {}
    return cmd, {"user": NOBODY, "group": NOBODY, "extra_groups": []}


def _failure(returncode: int, stderr: str) -> str:
    """What a failed start says: bwrap's last line, else how it ended (a signal is named, not shown as a number)."""
    lines = stderr.strip().splitlines()
    if lines:
        return lines[-1]
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"bwrap was killed by {name} before the sandbox started"
    return f"exit status {returncode}"


@cache
def probe(python: str = "") -> Interpreter:
    """Check once per process that a sandbox starts here; raise ``SandboxUnavailable`` saying what is missing."""
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: apt-get install bubblewrap (Debian/Ubuntu), dnf install bubblewrap; "
            "or set synth.sandbox.isolation: unsafe to run generated code without OS isolation"
        )
    interpreter = Interpreter.find(python)
    cmd, popen = as_nobody(command(interpreter, "print('ok')", 1 << 20, None))
    out = None
    for _attempt in range(2):  # a start killed by a signal (memory pressure on the host) is tried once more
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd="/", **popen)
        except (OSError, subprocess.SubprocessError) as err:
            raise SandboxUnavailable(f"bubblewrap could not start: {err}") from err
        if out.returncode >= 0:
            break
    if out.returncode < 0 and not out.stderr.strip():
        raise SandboxUnavailable(
            f"{_failure(out.returncode, out.stderr)}, twice: the host is short of memory or kills bwrap "
            "(check dmesg and the container's memory limit); or set synth.sandbox.isolation: unsafe"
        )
    if out.returncode != 0 or out.stdout.strip() != "ok":
        raise SandboxUnavailable(
            f"bubblewrap cannot create the sandbox here: {_failure(out.returncode, out.stderr)}. It needs "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0; "
            "in a container: a seccomp profile that allows clone(CLONE_NEWUSER), e.g. Kubernetes with user "
            "namespaces or a privileged helper); or set synth.sandbox.isolation: unsafe"
        )
    return interpreter
