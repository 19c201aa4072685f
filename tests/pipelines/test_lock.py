"""One writer per output root: a second run fails fast naming the first; stale locks are taken over; released always."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import run as run_module
from pipelines.lock import LOCK_NAME, OutputLock, OutputLocked, pid_alive
from tests.pipelines import testfs

ROOT = Path(__file__).resolve().parents[2]


def _lock(out: Path) -> dict:
    return json.loads((out / LOCK_NAME).read_text())


def _write_lock(out: Path, **fields) -> None:
    out.mkdir(parents=True, exist_ok=True)
    record = {"run_id": "old-run", "host": socket.gethostname(), "pid": os.getpid(), "command": "pipelines.run"}
    record |= {"started": "2025-01-01T00:00:00+00:00", "heartbeat": _now()} | fields
    (out / LOCK_NAME).write_text(json.dumps(record))


def _now(offset_s: float = 0.0) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(time.time() + offset_s, UTC).isoformat(timespec="seconds")


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(done.stdout)
    assert not pid_alive(pid)
    return pid


def test_a_second_run_on_the_same_output_fails_at_once_naming_the_first(tmp_path):
    out = tmp_path / "out"
    with OutputLock(str(out), "run-A", command="pipelines.run") as first:
        held = _lock(out)
        assert held["run_id"] == "run-A" and held["pid"] == os.getpid() and held["host"] == socket.gethostname()
        t0 = time.monotonic()
        with pytest.raises(OutputLocked) as err, OutputLock(str(out), "run-B"):
            pass
        assert time.monotonic() - t0 < 2
        message = str(err.value)
        for part in ("run run-A (pipelines.run)", f"host {socket.gethostname()}", f"pid {os.getpid()}", "since "):
            assert part in message, message
        assert first.held and _lock(out)["run_id"] == "run-A"  # the loser did not touch the winner's lock
    assert not (out / LOCK_NAME).exists()


def test_a_lock_held_by_another_process_blocks_the_factory_cli(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys, time\nfrom pipelines.lock import OutputLock\n"
            "with OutputLock(sys.argv[1], 'run-other', command='pipelines.curate'):\n"
            "    print('held', flush=True); time.sleep(60)\n",
            str(out),
        ],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SystemExit) as err:
            run_module.main(["--output", str(out), "--pipelines", "curate"])
        message = str(err.value.code)
        assert message.startswith(f"error: {out} is in use by run run-other (pipelines.curate)")
        assert f"pid {holder.pid}" in message and "\n" not in message
    finally:
        holder.kill()
        holder.wait()
    assert not (out / "_markers").exists()  # nothing was run, nothing was cleared


def test_the_lock_is_released_after_success_and_after_an_exception(tmp_path):
    out = tmp_path / "out"
    with OutputLock(str(out), "ok"):
        assert (out / LOCK_NAME).exists()
    assert not (out / LOCK_NAME).exists()
    with pytest.raises(RuntimeError, match="job failed"), OutputLock(str(out), "failing"):
        raise RuntimeError("job failed")
    assert not (out / LOCK_NAME).exists()
    with OutputLock(str(out), "next"):  # and the next run gets it
        assert _lock(out)["run_id"] == "next"


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over(tmp_path, caplog):
    out = tmp_path / "out"
    _write_lock(out, pid=_dead_pid())
    with caplog.at_level("WARNING", logger="pipelines.lock"), OutputLock(str(out), "new"):
        assert _lock(out)["run_id"] == "new"
    assert any("taking over a stale lock of run old-run" in r.getMessage() for r in caplog.records)
    assert any("no longer runs on this host" in r.getMessage() for r in caplog.records)


def test_a_lock_whose_heartbeat_is_older_than_the_ttl_is_taken_over(tmp_path, caplog):
    out = tmp_path / "out"
    _write_lock(out, host="another-host", pid=1, heartbeat=_now(-3600))
    with caplog.at_level("WARNING", logger="pipelines.lock"), OutputLock(str(out), "new", ttl_s=600):
        assert _lock(out)["run_id"] == "new"
    assert any("no heartbeat for 36" in r.getMessage() and "TTL 600 s" in r.getMessage() for r in caplog.records)


def test_a_live_lock_on_another_host_is_respected(tmp_path):
    out = tmp_path / "out"
    _write_lock(out, host="another-host", pid=1, heartbeat=_now(-30))
    with pytest.raises(OutputLocked, match=r"run old-run .* on host another-host, pid 1"), OutputLock(str(out), "new"):
        pass
    assert _lock(out)["run_id"] == "old-run"


def test_the_heartbeat_is_refreshed_while_the_run_holds_the_lock(tmp_path):
    out = tmp_path / "out"
    with OutputLock(str(out), "beating", heartbeat_s=0.05) as lock:
        lock._record["heartbeat"] = _now(-1000)  # as if the last beat were long ago
        first = _now(-1000)
        deadline = time.monotonic() + 5
        while _lock(out)["heartbeat"] <= first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _lock(out)["heartbeat"] > first
        assert [p.name for p in out.iterdir()] == [LOCK_NAME]  # no heartbeat temp files left behind


def test_a_lock_taken_over_while_held_is_not_released_by_its_old_holder(tmp_path):
    out = tmp_path / "out"
    with OutputLock(str(out), "slow", heartbeat_s=0.05) as lock:
        _write_lock(out, run_id="thief", host="another-host", pid=1)
        deadline = time.monotonic() + 5
        while not lock.lost and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lock.lost
    assert _lock(out)["run_id"] == "thief"


def test_the_lock_on_an_object_store(tmp_path):
    testfs.configure(tmp_path)
    out = "testfs://bucket/runs/r1"
    with OutputLock(out, "first", settle_s=0):
        assert json.loads((tmp_path / "bucket" / "runs" / "r1" / LOCK_NAME).read_text())["run_id"] == "first"
        with pytest.raises(OutputLocked, match="run first"), OutputLock(out, "second", settle_s=0):
            pass
    assert not (tmp_path / "bucket" / "runs" / "r1" / LOCK_NAME).exists()
    _write_lock(tmp_path / "bucket" / "runs" / "r1", pid=_dead_pid())
    with OutputLock(out, "third", settle_s=0):
        assert json.loads((tmp_path / "bucket" / "runs" / "r1" / LOCK_NAME).read_text())["run_id"] == "third"
