"""Hostile samples against the bubblewrap sandbox, with the in-process audit hook switched off (``audit_hook=False``:
what a sample that disables it gets), so every case tests the operating-system boundary alone.

Each case looks at the host afterwards: files that must not appear (a canary directory, the project tree, /tmp,
/dev/shm), processes that must not survive (anything left in a foreign PID namespace; a host process of the
sandbox's own outside uid that must stay alive), listeners that must not be reached (inet, inet6, unix), and the
result's text, which must not carry host secrets. Run as root (CI) and as an ordinary user alike.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from synth.sandbox import SandboxLimits, run_python
from synth.sandbox.bwrap import NOBODY, SandboxUnavailable, probe

ROOT = Path(__file__).resolve().parents[2]
LIMITS = SandboxLimits(wall_s=4.0, cpu_s=2, memory_mb=256, audit_hook=False)
SECRET = "host-secret-7f3a9c"  # in this process's environment and in a host file; never in a result

try:
    probe()
except SandboxUnavailable as err:  # pragma: no cover - CI installs bubblewrap
    pytest.skip(f"no sandbox on this host: {err}", allow_module_level=True)


def _pid_namespaces() -> dict[int, str]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                found[int(entry)] = os.readlink(f"/proc/{entry}/ns/pid")
            except OSError:
                continue
    return found


def _foreign() -> set[int]:
    """Processes in a PID namespace other than ours (a sandbox's): none may outlive its run."""
    own = os.readlink("/proc/self/ns/pid")
    return {pid for pid, ns in _pid_namespaces().items() if ns != own}


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The host as a sample could touch it: canary files, a secret, listeners; checked after the sample."""
    monkeypatch.setenv("CURATION_TEST_SECRET", SECRET)
    canary = tmp_path / "canary"
    canary.mkdir()
    secret_file = canary / "secret.txt"
    secret_file.write_text(SECRET)
    os.chmod(canary, 0o777)  # even a sample running as our outside uid could write here, were it visible
    state = {
        "canary": canary,
        "secret_file": secret_file,
        "mark": canary / "escaped",
        "tmp_mark": Path("/tmp") / f"sandbox-escape-{os.getpid()}",
        "repo_mark": ROOT / "sandbox-escape",
        "foreign": _foreign(),
        "accepted": [],
    }
    servers = []
    for family, address in ((socket.AF_INET, ("127.0.0.1", 0)), (socket.AF_INET6, ("::1", 0))):
        try:
            server = socket.socket(family)
            server.bind(address)
        except OSError:
            continue
        server.listen(4)
        servers.append(server)
        state[f"port{family.name}"] = server.getsockname()[1]
    unix_path = str(tmp_path / "host.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    unix.listen(4)
    servers.append(unix)
    state["unix"] = unix_path

    def accept(server):
        try:
            state["accepted"].append(server.accept())
        except OSError:
            pass

    for server in servers:
        threading.Thread(target=accept, args=(server,), daemon=True).start()
    yield state
    for server in servers:
        server.close()


def check_host(state: dict, result=None, wait_s: float = 3.0) -> None:
    """Nothing escaped: no file, no survivor, no connection, no secret in the result."""
    deadline = time.monotonic() + wait_s
    while _foreign() - state["foreign"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _foreign() - state["foreign"], "a sandboxed process outlived its run"
    for key in ("mark", "tmp_mark", "repo_mark"):
        assert not state[key].exists(), state[key]
    assert sorted(p.name for p in state["canary"].iterdir()) == ["secret.txt"]
    assert not Path("/dev/shm/sandbox-escape").exists()  # (other host programs may use /dev/shm meanwhile)
    assert not state["accepted"], "a sandboxed sample reached a host listener"
    if result is not None:
        text = f"{result.detail}\n{result.stdout}\n{result.stderr}"
        assert SECRET not in text
        shadow = Path("/etc/shadow")
        if os.access(shadow, os.R_OK):
            assert not any(line and line in text for line in shadow.read_text().splitlines())


def run(code: str, tests: str = "assert True\n", limits: SandboxLimits = LIMITS):
    start = time.monotonic()
    result = run_python(code, tests, limits)
    assert time.monotonic() - start < limits.wall_s + 5, "the wall-clock kill did not hold"
    assert result.isolation == "bwrap" and result.network == "bwrap"
    return result


def write_attempts(target: str) -> str:
    """Code that tries to create ``target`` (a Python expression) with ``open`` and with ``os.open``."""
    return (
        "import os\n"
        "for how in ('open', 'os.open'):\n"
        "    try:\n"
        f"        open({target}, 'w').write('x') if how == 'open' else os.open({target}, os.O_CREAT | 1)\n"
        "    except OSError as err:\n"
        "        print(how, type(err).__name__)\n"
    )


CASES: dict[str, str] = {
    # The five cases of the issue.
    "posixsubprocess_fork_exec": (
        "import _posixsubprocess, os\n"
        "shell = ('/bin/sh', [b'/bin/sh', b'-c', b'touch @MARKABS@'])\n"
        "python = (@EXE@, [@EXE@.encode(), b'-c', b'open(\"@MARKABS@\", \"w\")'])\n"
        "for exe, args in (shell, python):\n"
        "    try:\n"
        "        r, w = os.pipe()\n"
        "        pid = _posixsubprocess.fork_exec(args, [exe.encode()], True, (), None, None, -1, -1, -1, -1, -1, -1,"
        " r, w, False, False, -1, None, None, None, -1, None, False)\n"
        "        os.waitpid(pid, 0)\n"
        "    except Exception as err:\n"
        "        print(type(err).__name__)\n"
    ),
    "dir_fd_outside": (
        "import os\n"
        "for d in ('/', '/usr/lib', '/proc/self/cwd', '/proc/1/root'):\n"
        "    try:\n"
        "        fd = os.open(d, os.O_RDONLY)\n"
        "        os.close(os.open('@MARKNAME@', os.O_WRONLY | os.O_CREAT, dir_fd=fd))\n"
        "    except OSError as err:\n"
        "        print(d, type(err).__name__)\n"
    ),
    "guard_disabled_via_gc": (
        "import gc\n"
        "for o in gc.get_objects():\n"
        "    if type(o).__name__ == 'Guard':\n"
        "        o.armed = False\n" + write_attempts("@MARK@")
    ),
    "shadow_in_assert_message": "assert False, open('/etc/shadow').read()\n",
    # libc and the kernel
    "ctypes_system": "import ctypes\nprint(ctypes.CDLL(None).system(b'touch @MARKABS@; echo done'))\n",
    "ctypes_setuid_root": (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.setuid(0), libc.setgid(0), os.getuid(), os.getgid())\nassert os.getuid() == 65534\n"
    ),
    "proc_self_mem_and_init_mem": (
        "import os\nwith open('/proc/self/mem', 'r+b', buffering=0) as f:\n    pass\n"
        "try:\n    open('/proc/1/mem', 'r+b')\nexcept OSError as err:\n    print(type(err).__name__)\n"
    ),
    "ptrace_attach": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.ptrace(16, 1, 0, 0), ctypes.get_errno())\n"
        "print(libc.ptrace(16, @PARENT@, 0, 0), ctypes.get_errno())\n"
    ),
    "mount_tmpfs": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.mount(b'none', b'/usr/lib', b'tmpfs', 0, None), ctypes.get_errno())\n"
    ),
    "unshare_user_namespace": (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.unshare(0x10000000), ctypes.get_errno(), libc.unshare(0x20000), ctypes.get_errno())\n"
    ),
    "proc_sys_write": "open('/proc/sys/kernel/hostname', 'w').write('pwned')\n",
    "write_readonly_interpreter_and_libs": write_attempts("'/usr/lib/escape'") + write_attempts("@EXE@"),
    # signals
    "kill_parent_and_everyone": (
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(-1, signal.SIGKILL)\n"
    ),
    # network
    "inet_connect": "import socket\nsocket.create_connection(('127.0.0.1', @PORT_INET@), timeout=2)\n",
    "inet6_connect": "import socket\nsocket.create_connection(('::1', @PORT_INET6@), timeout=2)\n",
    "unix_connect": "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect(@UNIX@)\n",
    "netlink_interfaces": (
        "import socket\nprint(socket.if_nameindex())\n"
        "s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\ns.bind((0, 0))\nprint('netlink bound')\n"
        "assert [n for _, n in socket.if_nameindex()] == ['lo']\n"
    ),
    # secrets
    "environment": "import os\nprint(dict(os.environ))\nprint(open('/proc/self/environ').read())\n",
    "init_environment": "print(open('/proc/1/environ', 'rb').read())\nprint(open('/proc/1/cmdline', 'rb').read())\n",
    "host_secret_file": "print(open(@SECRET_FILE@).read())\n",
    "home_and_credentials": (
        "import os\nfor p in ('/root', '/root/.ssh', '/home', '/etc', '/etc/passwd', os.path.expanduser('~')):\n"
        "    try:\n        print(p, os.listdir(p) if os.path.isdir(p) else open(p).read())\n"
        "    except OSError as err:\n        print(p, type(err).__name__)\n"
    ),
    "symlink_into_host": "import os\nos.symlink(@SECRET_FILE@, 'link')\nprint(open('link').read())\n",
    "hardlink_into_host": "import os\nos.link(@SECRET_FILE@, 'hard')\nprint(open('hard').read())\n",
    "project_tree": f"print(open({str(ROOT / 'pyproject.toml')!r}).read())\n"
    + write_attempts(repr(str(ROOT / "sandbox-escape"))),
    # resources
    "fork_bomb": (
        "import os, time\n"
        "while True:\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(60)\n"
        "    except OSError:\n"
        "        time.sleep(0.01)\n"
    ),
    "thread_bomb": (
        "import threading, time\n"
        "while True:\n"
        "    try:\n"
        "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "    except RuntimeError:\n"
        "        time.sleep(0.01)\n"
    ),
    "huge_stdout": "import sys\nwhile True:\n    sys.stdout.write('x' * 1000000)\n",
    "huge_stderr": "import sys\nwhile True:\n    sys.stderr.write('y' * 1000000)\n",
    "fill_tmpfs": "with open('big', 'wb') as f:\n    while True:\n        f.write(b'z' * 1000000)\n",
    "deep_recursion": "import sys\nsys.setrecursionlimit(10 ** 7)\ndef f(n):\n    return f(n + 1)\nf(0)\n",
    "memory_bomb": "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 1024 * 1024))\n",
    "open_files_bomb": "files = []\nwhile True:\n    files.append(open('/proc/self/stat'))\n",
    # escaping the clock
    "sleep_past_the_kill": "import time\ntime.sleep(60)\n",
    "setsid_survivor": (
        "import os, time\n"
        "for _ in range(30):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        time.sleep(6)\n"
        "        open(@MARK@, 'w').write('late')\n"
        "        os._exit(0)\n"
        "time.sleep(60)\n"
    ),
    "double_fork_daemon": (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(1.5)\n"
        "        open(@MARK@, 'w').write('daemon')\n"
        "    os._exit(0)\n"
    ),
    "dev_shm": write_attempts("'/dev/shm/sandbox-escape'"),
    "tmp_of_the_host": write_attempts("@TMPMARK@"),
}


def _fill(code: str, state: dict) -> str:
    """Put the host's names into a case: paths, ports, the parent pid."""
    values = {
        "MARKNAME": os.path.relpath(state["mark"], "/"),
        "MARKABS": str(state["mark"]),
        "TMPMARK": repr(str(state["tmp_mark"])),
        "MARK": repr(str(state["mark"])),
        "SECRET_FILE": repr(str(state["secret_file"])),
        "PORT_INET6": str(state.get("portAF_INET6", 9)),
        "PORT_INET": str(state.get("portAF_INET", 9)),
        "UNIX": repr(state["unix"]),
        "PARENT": str(os.getpid()),
        "EXE": repr(probe().executable),
    }
    for key, value in values.items():
        code = code.replace(f"@{key}@", value)
    return code


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_sample_is_contained(name, host):
    result = run(_fill(CASES[name], host))
    check_host(host, result)
    if name in ("sleep_past_the_kill", "setsid_survivor", "fork_bomb", "thread_bomb"):
        assert (result.passed, result.reason) == (False, "timeout") or not result.passed
    if name == "setsid_survivor":
        time.sleep(3.5)  # past the moment the detached children meant to write
        check_host(host)
    if name in ("huge_stdout", "huge_stderr"):
        assert len(result.stdout) <= LIMITS.output_chars + 20 and len(result.stderr) <= LIMITS.output_chars + 20
    if name == "ctypes_setuid_root":
        assert result.passed, result.detail  # still uid 65534 inside after trying
    if name == "netlink_interfaces":
        assert result.passed, result.detail  # only a loopback in its network namespace


def test_a_host_process_of_the_sandbox_uid_survives_kill_minus_one(host):
    """Outside the namespaces the sample is an unprivileged uid; a host process of that same uid is out of reach."""
    as_root = os.geteuid() == 0
    sentinel = subprocess.Popen(["sleep", "30"], **({"user": NOBODY, "group": NOBODY} if as_root else {}))
    try:
        result = run(f"import os, signal\nos.kill(-1, signal.SIGKILL)\nos.kill({sentinel.pid}, signal.SIGKILL)\n")
        assert sentinel.poll() is None, "kill(-1) reached a host process"
        assert not result.passed
        check_host(host, result)
    finally:
        sentinel.kill()
        sentinel.wait()


def test_the_sample_runs_unprivileged_inside_and_outside(host):
    seen: list[tuple[int, int]] = []
    own_ns = os.readlink("/proc/self/ns/pid")

    def watch():
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not seen:
            for pid, ns in _pid_namespaces().items():
                if ns != own_ns:
                    try:
                        status = Path(f"/proc/{pid}/status").read_text()
                    except OSError:
                        continue
                    uid = next(line.split()[1:3] for line in status.splitlines() if line.startswith("Uid:"))
                    seen.append((int(uid[0]), int(uid[1])))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    result = run("import os, time\nprint(os.getuid(), os.getgid(), os.geteuid())\ntime.sleep(1.5)\n")
    watcher.join()
    assert result.passed and result.stdout.split() == ["65534", "65534", "65534"]
    outside = NOBODY if os.geteuid() == 0 else os.getuid()
    assert seen and all(uid == (outside, outside) for uid in seen), seen
    check_host(host, result)


def test_a_sample_cannot_harm_the_next_one(host):
    run("import os\nfor p in ('/usr/lib', '/tmp'):\n    os.system(f'rm -rf {p}')\nopen('/tmp/left', 'w')\n")
    after = run("import os\n", "assert os.listdir('/tmp') == [] and os.path.isdir('/usr/lib')\n")
    assert after.passed, after.detail
    check_host(host, after)


def test_the_suite_is_at_least_thirty_cases():
    assert len(CASES) >= 30


ORDINARY_USER = """
import json, os, signal, sys
from synth.sandbox import SandboxLimits, run_python
limits = SandboxLimits(wall_s=4.0, cpu_s=2, memory_mb=256, audit_hook=False)
target, sentinel = sys.argv[1], int(sys.argv[2])
out = {"uid": os.getuid()}
for name, code in (
    ("ids", "import os\\nprint(os.getuid(), os.getgid())\\n"),
    ("write", f"open({target!r}, 'w').write('x')\\n"),
    ("kill", f"import os, signal\\nos.kill(-1, signal.SIGKILL)\\nos.kill({sentinel}, signal.SIGKILL)\\n"),
):
    r = run_python(code, "assert True\\n", limits)
    out[name] = [r.passed, r.reason, r.stdout.strip(), r.isolation, r.seccomp]
print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="run as an ordinary user, the whole suite above is this case")
def test_an_ordinary_user_gets_the_same_sandbox(tmp_path):
    """The sandbox started by an unprivileged user (bwrap is not started by root): same containment, same ids."""
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="sandbox-user-"))  # reachable by that user, unlike pytest's root-only tmp
    try:
        os.chmod(shared, 0o777)
        package = shared / "lib" / "synth" / "sandbox"  # the sandbox package (stdlib only), where that user can read it
        package.mkdir(parents=True)
        (package.parent / "__init__.py").write_text("")
        for source in (ROOT / "synth" / "sandbox").glob("*.py"):
            shutil.copy(source, package / source.name)
        for path in (shared / "lib", package.parent, package, *package.iterdir(), package.parent / "__init__.py"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        target = shared / "escaped"
        sentinel = subprocess.Popen(["sleep", "30"], user=NOBODY, group=NOBODY)
        try:
            python = probe().executable
            proc = subprocess.run(
                [python, "-c", ORDINARY_USER, str(target), str(sentinel.pid)],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=shared,
                env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(shared / "lib"), "HOME": str(shared)},
                user=NOBODY,
                group=NOBODY,
                extra_groups=[],
            )
            assert proc.returncode == 0, proc.stderr[-2000:]
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            assert out["uid"] == NOBODY
            assert out["ids"] == [True, "", "65534 65534", "bwrap", True]
            assert not out["write"][0] and not target.exists()
            assert not out["kill"][0] and sentinel.poll() is None
        finally:
            sentinel.kill()
            sentinel.wait()
    finally:
        shutil.rmtree(shared, ignore_errors=True)
