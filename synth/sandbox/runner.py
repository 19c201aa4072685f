"""The child side of ``synth.sandbox``: limit this process, then run a solution and its tests.

Started inside bubblewrap as ``python -I -B -S -c <this file's text>`` (or, under ``isolation: unsafe``, by path)
with a JSON job on stdin; it writes one JSON result to the file descriptor the job names and exits. The boundary is
bubblewrap (``bwrap.py``). Here, in order:

1. unsafe mode only: a network namespace when the kernel allows it, and as root a drop to ``nobody`` when that user
   can read the standard library (inside bubblewrap both are done already);
2. resource limits: CPU seconds, address space, file size (stdout/stderr included), processes, open files, no core
   dumps;
3. an audit hook (PEP 578) that refuses sockets, writes outside the private directory, starting processes and
   ctypes, so an honest failure gets a reason (``network_blocked`` ...). It is a first filter that names what a
   sample tried, not a boundary: code in the same interpreter can switch it off.

Only the standard library is imported here.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
NET_EVENTS = {
    "socket.connect",
    "socket.bind",
    "socket.sendto",
    "socket.sendmsg",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.getnameinfo",
}
PROC_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "os.startfile",
    "pty.spawn",
    "ctypes.dlopen",
    "ctypes.dlsym",
    "ctypes.call_function",
    "os.kill",
    "os.killpg",
}
# file-system events: the positions of their path arguments
FS_EVENTS = {
    "os.remove": (0,),
    "os.rename": (0, 1),
    "os.replace": (0, 1),
    "os.mkdir": (0,),
    "os.rmdir": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.chflags": (0,),
    "os.link": (1,),
    "os.symlink": (1,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (1,),
    "shutil.chown": (0,),
}


def isolate_network() -> str:
    """Enter a fresh network namespace; returns how (``netns``, ``userns+netns``) or ``none``."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return "none"
    if libc.unshare(CLONE_NEWNET) == 0:
        return "netns"
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return "userns+netns"
    return "none"


def drop_privileges(uid: int, gid: int) -> bool:
    if os.geteuid() != 0:
        return False
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    return True


def set_limits(cpu_s: int, memory_mb: int, file_mb: int, processes: int = 0, open_files: int = 0) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    if memory_mb > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb << 20, file_mb << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if processes > 0:  # threads count too; per uid of this user namespace
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    if open_files > 0:
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write then fails with EFBIG instead of killing


class Guard:
    """The audit hook: records the first refused action and raises ``PermissionError`` in the code that tried it."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.blocked: list[tuple[str, str]] = []
        self.armed = False

    def inside(self, path: object) -> bool:
        if isinstance(path, int):
            return True  # an already open descriptor: its opening was checked
        try:
            full = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return full == self.root or full.startswith(self.root + os.sep)

    def deny(self, reason: str, detail: str) -> None:
        self.blocked.append((reason, detail))
        raise PermissionError(f"sandbox: {detail} is not allowed")

    def __call__(self, event: str, args: tuple) -> None:
        if not self.armed:
            return
        if event == "open":
            path, mode, flags = ([*list(args), None, None, 0])[:3]
            writing = bool(mode and any(c in str(mode) for c in "wax+")) or bool((flags or 0) & WRITE_FLAGS)
            if writing and path is not None and not self.inside(path):
                self.deny("write_blocked", f"opening {path!r} for writing")
        elif event in FS_EVENTS:
            for i in FS_EVENTS[event]:
                if i < len(args) and args[i] is not None and not self.inside(args[i]):
                    self.deny("write_blocked", f"{event} on {args[i]!r}")
        elif event in NET_EVENTS:
            self.deny("network_blocked", f"{event} {args[1:2]!r}")
        elif event in PROC_EVENTS:
            if event in ("os.kill", "os.killpg") and args and args[0] in (0, os.getpid()):
                return
            self.deny("process_blocked", event)


def _test_functions(namespace: dict, before: set[str]) -> list:
    return [v for k, v in namespace.items() if k.startswith("test") and callable(v) and k not in before]


def run_job(job: dict, guard: Guard) -> dict:
    """Compile, run the solution, then the tests (top-level asserts and any ``test*`` functions they define)."""
    try:
        solution = compile(job["solution"], "<solution>", "exec")
        tests = compile(job["tests"], "<tests>", "exec")
    except SyntaxError as exc:
        return {"status": "failed", "reason": "syntax_error", "detail": f"{exc.filename}:{exc.lineno}: {exc.msg}"}
    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    stage = "solution"
    tests_run = 0
    try:
        guard.armed = True
        exec(solution, namespace)
        before = set(namespace)
        stage = "tests"
        exec(tests, namespace)
        for fn in _test_functions(namespace, before):
            fn()
            tests_run += 1
    except AssertionError as exc:
        return {"status": "failed", "reason": "test_failed", "detail": f"{stage}: AssertionError {exc}"[:500]}
    except MemoryError:
        return {"status": "failed", "reason": "memory", "detail": f"{stage}: MemoryError"}
    except RecursionError:
        return {"status": "failed", "reason": "recursion", "detail": f"{stage}: RecursionError"}
    except OSError as exc:
        if getattr(exc, "errno", None) == 27:  # EFBIG: the file-size limit (stdout included)
            return {"status": "failed", "reason": "output_limit", "detail": f"{stage}: {exc}"[:500]}
        return {"status": "failed", "reason": f"{stage}_error", "detail": f"{type(exc).__name__}: {exc}"[:500]}
    except BaseException as exc:  # SystemExit too: the generated code does not decide our exit status
        if isinstance(exc, SystemExit) and exc.code in (0, None) and stage == "tests":
            return {"status": "passed", "reason": "", "detail": "tests exited 0", "tests_run": tests_run}
        return {"status": "failed", "reason": f"{stage}_error", "detail": f"{type(exc).__name__}: {exc}"[:500]}
    finally:
        guard.armed = False
    return {"status": "passed", "reason": "", "detail": "", "tests_run": tests_run}


def main() -> None:
    job = json.loads(sys.stdin.read())
    result_fd = int(job["result_fd"])
    network = isolate_network() if job.get("netns", True) else "none"
    dropped = job.get("drop_privileges", False) and drop_privileges(int(job["uid"]), int(job["gid"]))
    limits = ("cpu_s", "memory_mb", "file_mb", "processes", "open_files")
    set_limits(*(int(job.get(key, 0)) for key in limits))
    guard = Guard(job["root"])
    if job.get("audit_hook", True):
        sys.addaudithook(guard)
    result = run_job(job, guard)
    if guard.blocked:  # a refused action rejects the sample even if the code caught the PermissionError
        reason, detail = guard.blocked[0]
        result = {**result, "status": "failed", "reason": reason, "detail": detail[:500]}
    result.update(network=network, privileges_dropped=dropped)
    os.write(result_fd, json.dumps(result).encode("utf-8"))
    os.close(result_fd)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
