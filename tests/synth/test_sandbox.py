"""The sandbox: limits, network, writes outside the private directory, processes, output caps, reasons."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from synth.sandbox import SandboxLimits, run_python

ROOT = Path(__file__).resolve().parents[2]
FAST = SandboxLimits(wall_s=6.0, cpu_s=2, memory_mb=256)


def test_passing_pair_and_failing_assert():
    ok = run_python(
        "def add(a, b):\n    return a + b\n",
        "assert add(1, 2) == 3\ndef test_more():\n    assert add(2, 2) == 4\n",
        FAST,
    )
    assert ok.passed and ok.reason == "" and ok.tests_run == 1
    bad = run_python("def add(a, b):\n    return a - b\n", "assert add(1, 2) == 3, 'wrong sum'\n", FAST)
    assert (bad.passed, bad.reason) == (False, "test_failed") and "wrong sum" in bad.detail


def test_syntax_error_and_runtime_errors():
    assert run_python("def f(:\n    pass\n", "assert True\n", FAST).reason == "syntax_error"
    assert run_python("raise ValueError('x')\n", "assert True\n", FAST).reason == "solution_error"
    assert run_python("def f(): return 1\n", "assert g() == 1\n", FAST).reason == "tests_error"


def test_cpu_limit_and_wall_clock_kill():
    spin = run_python("def f():\n    while True:\n        pass\n", "f()\n", FAST)
    assert (spin.passed, spin.reason) == (False, "timeout") and "CPU" in spin.detail
    sleep = run_python("import time\n", "time.sleep(60)\n", SandboxLimits(wall_s=1.5, cpu_s=2))
    assert (sleep.reason, sleep.detail) == ("timeout", "wall clock > 1.5 s") and sleep.wall_s < 10


def test_memory_limit():
    result = run_python("blob = bytearray(1024 ** 3)\n", "assert blob\n", FAST)
    assert (result.passed, result.reason) == (False, "memory")


def test_stdout_is_capped_and_a_sample_cannot_choose_its_exit_status():
    noisy = run_python("print('x' * 100000)\n", "assert True\n", SandboxLimits(output_chars=500))
    assert noisy.passed and len(noisy.stdout) < 600 and noisy.stdout.endswith("[truncated]")
    early = run_python("import os\n", "os._exit(0)\n", FAST)
    assert (early.passed, early.reason) == (False, "crashed")


@pytest.fixture
def listener():
    """A TCP server on this machine's loopback: reachable from here, so only the sandbox can make it unreachable."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


def test_network_is_blocked_by_the_audit_hook_even_when_the_code_catches_it(listener):
    port, accepted = listener
    connect = f"socket.create_connection(('127.0.0.1', {port}), timeout=2)"
    code = f"import socket\ntry:\n    {connect}\nexcept OSError:\n    pass\n"
    result = run_python(code, "assert True\n", FAST)
    assert (result.passed, result.reason) == (False, "network_blocked") and not accepted


def test_network_namespace_alone_blocks_loopback_where_the_kernel_allows_it(listener):
    port, accepted = listener
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
    result = run_python(code, "assert True\n", SandboxLimits(wall_s=6, audit_hook=False))
    if result.network == "none":
        pytest.skip("no network namespace here: the audit hook (test above) is the only network guard")
    assert (result.passed, result.reason) == (False, "solution_error") and "Error" in result.detail
    assert not accepted


def test_writes_outside_the_private_directory_are_blocked(tmp_path):
    """The audit hook names the attempt (``write_blocked``); bubblewrap under it makes the paths read-only or absent.
    (A host path outside /tmp: the sandbox's own /tmp is its private directory, and a clone may live in /tmp.)"""
    target = Path("/var/tmp") / f"synth-sandbox-escaped-{os.getpid()}.txt"
    for code in (
        f"open({str(target)!r}, 'w').write('x')\n",
        f"import pathlib\npathlib.Path({str(target)!r}).write_text('x')\n",
        f"import os\nos.open({str(target)!r}, os.O_CREAT | os.O_WRONLY)\n",
        "import shutil\nshutil.rmtree('/usr/lib')\n",
        "import os\nos.rename('/usr/lib', '/tmp/moved')\n",
    ):
        result = run_python(code, "assert True\n", FAST)
        assert (result.passed, result.reason) == (False, "write_blocked"), code
    assert not target.exists()


def test_host_tmp_is_not_the_sandboxes(tmp_path):
    """The sandbox's /tmp is a private tmpfs: the host's /tmp (and what is in it) is neither seen nor touched."""
    host_file = tmp_path / "host.txt"
    host_file.write_text("host")
    code = f"import os, shutil\nprint(os.path.exists({str(host_file)!r}))\nshutil.rmtree({str(tmp_path)!r}, True)\n"
    result = run_python(code, "assert True\n", FAST)
    assert result.passed and result.stdout.split() == ["False"]
    assert host_file.read_text() == "host"


def test_private_directory_is_cwd_and_home_and_starts_empty(monkeypatch):
    name = f"here-{os.getpid()}.txt"
    code = (
        "import os, tempfile\n"
        "START = os.listdir('.')\n"
        f"open({name!r}, 'w').write('x')\n"
        "open(os.path.join(os.environ['HOME'], 'home.txt'), 'w').write('y')\n"
        "WHERE = os.getcwd()\n"
    )
    tests = (
        "assert START == []\n"
        "assert os.environ['HOME'] == WHERE == tempfile.gettempdir()\n"
        f"assert sorted(os.listdir('.')) == sorted(['home.txt', {name!r}])\n"
        "assert 'PYTHONPATH' not in os.environ and 'OPENAI_API_KEY' not in os.environ\n"
        "print(WHERE)\n"
    )
    monkeypatch.setenv("OPENAI_API_KEY", "secret-for-test")
    result = run_python(code, tests, FAST)
    assert result.passed, result.detail
    assert result.stdout.strip() == "/tmp" and not (Path("/tmp") / name).exists()  # a tmpfs of its own


def test_starting_processes_is_blocked():
    result = run_python("import subprocess\n", "subprocess.run(['true'])\n", FAST)
    assert (result.passed, result.reason) == (False, "process_blocked")


def test_without_bubblewrap_it_refuses_and_names_what_is_missing(monkeypatch):
    from synth.sandbox import SandboxUnavailable, bwrap

    bwrap.probe.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")  # bwrap is not on this PATH: the host has no bubblewrap
    try:
        with pytest.raises(SandboxUnavailable, match=r"bubblewrap \(bwrap\) is not installed: apt-get install"):
            run_python("x = 1\n", "assert x\n", FAST)
    finally:
        bwrap.probe.cache_clear()


def test_a_bwrap_killed_by_a_signal_is_named_and_not_blamed_on_user_namespaces(monkeypatch):
    """A fake bwrap that dies of SIGBUS (seen on a CI host short of memory; a fault we cannot cause for real)."""
    from synth.sandbox import SandboxUnavailable, bwrap

    bin_dir = Path(tempfile.mkdtemp(prefix="fake-bwrap-"))  # /tmp: nobody (setpriv's uid as root) must reach it
    try:
        bin_dir.chmod(0o755)
        fake = bin_dir / "bwrap"
        fake.write_text(f"#!/bin/sh\necho started >> {bin_dir}/starts\nkill -BUS $$\n")
        fake.chmod(0o755)
        bin_dir.joinpath("starts").touch(mode=0o666)
        bin_dir.joinpath("starts").chmod(0o666)
        bwrap.probe.cache_clear()
        monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
        with pytest.raises(SandboxUnavailable, match=r"bwrap was killed by SIGBUS before the sandbox started, twice"):
            bwrap.probe()
        assert bin_dir.joinpath("starts").read_text().count("started") == 2  # tried once more, then refused
    finally:
        bwrap.probe.cache_clear()
        shutil.rmtree(bin_dir, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="as an ordinary user bwrap starts as that user")
def test_root_hands_bwrap_to_nobody_without_a_uid_change_in_popen():
    """setpriv changes the uid, so Popen may vfork: a fat worker is not copied for every sample."""
    from synth.sandbox import bwrap

    cmd, popen = bwrap.as_nobody(["bwrap", "--version"])
    assert popen == {} and cmd[0].endswith("setpriv") and cmd[-2:] == ["bwrap", "--version"]
    out = subprocess.run([*cmd[:-2], "id", "-u"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(bwrap.NOBODY)


def test_unsafe_mode_runs_without_os_isolation_and_says_so(monkeypatch, caplog):
    import synth.sandbox as sandbox

    monkeypatch.setattr(sandbox, "_warned_unsafe", False)
    result = run_python("x = 1\n", "assert x\n", SandboxLimits(isolation="unsafe"))
    assert result.passed and result.isolation == "unsafe" and not result.seccomp and result.network != "bwrap"
    assert "WITHOUT operating-system isolation" in caplog.text
    with pytest.raises(ValueError, match="isolation"):
        SandboxLimits(isolation="none")
