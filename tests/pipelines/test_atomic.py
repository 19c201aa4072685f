"""Outputs appear whole or not at all, and nothing temporary survives a stage, a failed attempt or a killed run."""

from __future__ import annotations

import fnmatch
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from apache_beam.io.filesystems import FileSystems

from pipelines import atomic, stages
from pipelines.atomic import sweep_temp, temp_path, write_atomic
from tests.pipelines import testfs

ROOT = Path(__file__).resolve().parents[2]
SHORT = str(ROOT / "data" / "sample" / "text" / "short.jsonl")


def _leftovers(out: Path) -> list[str]:
    """Every temporary thing under ``out``: write_atomic's temp files, Beam's temp dirs and files, old markers."""
    found = []
    for dirpath, dirnames, files in os.walk(out):
        for name in [*dirnames, *files]:
            if name.startswith("beam-temp-") or atomic.is_temp_name(name) or name.endswith(".inprogress"):
                found.append(os.path.relpath(os.path.join(dirpath, name), out))
    return found


def test_write_atomic_leaves_only_the_file(tmp_path):
    path = str(tmp_path / "shards" / "S1" / "manifest.json")
    write_atomic(path, b'{"a": 1}')
    write_atomic(path, b'{"a": 2}')  # replaces
    assert Path(path).read_bytes() == b'{"a": 2}'
    assert sorted(p.name for p in (tmp_path / "shards" / "S1").iterdir()) == ["manifest.json"]


def test_temp_names_are_unique_and_never_match_a_stage_output(tmp_path):
    names = {temp_path(str(tmp_path / "shards" / "S1" / "part-00000-000.parquet")) for _ in range(100)}
    assert len(names) == 100  # a retried bundle and a second worker never share one
    for out_glob in (g for globs in stages.STAGE_OUTPUTS.values() for g in globs):
        head = out_glob.rpartition("/")[0]
        rel = f"{head.replace('*', 'S1')}/" if head else ""
        for final in ("part-00000-000.parquet", "manifest.json", "documents-00000-of-00001.parquet", "mix.jsonl"):
            tmp = os.path.relpath(temp_path(str(tmp_path / (rel + final))), tmp_path)
            assert not fnmatch.fnmatchcase(tmp, out_glob), (tmp, out_glob)
            if fnmatch.fnmatchcase(rel + final, out_glob):  # clear_stage finds it with the output it stands for
                assert fnmatch.fnmatchcase(tmp, atomic.temp_glob(out_glob)), (tmp, out_glob)


def test_a_write_that_fails_leaves_neither_the_file_nor_its_temp(tmp_path, monkeypatch):
    def broken_rename(src, dst):
        raise OSError("storage went away")

    monkeypatch.setattr(FileSystems, "rename", broken_rename)
    with pytest.raises(OSError, match="storage went away"):
        write_atomic(str(tmp_path / "manifest.json"), b"{}")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_on_an_object_store(tmp_path):
    testfs.configure(tmp_path)
    write_atomic("testfs://bucket/out/report.html", b"<html></html>")
    assert (tmp_path / "bucket" / "out" / "report.html").read_bytes() == b"<html></html>"
    assert [p.name for p in (tmp_path / "bucket" / "out").iterdir()] == ["report.html"]


def _stale_attempt(out: Path) -> None:
    """What a killed attempt leaves: a half-written shard under its temp name, a sink's temp dir, a marker temp."""
    (out / "shards" / "S1").mkdir(parents=True)
    (out / "shards" / "S1" / ".part-00000-000.parquet.tmp-0123abcd").write_bytes(b"half")
    (out / "shards" / "S1" / "part-00000-000.parquet").write_bytes(b"old shard")
    sink_tmp = out / "shards" / "_rejections" / "beam-temp-rejections-77"
    sink_tmp.mkdir(parents=True)
    (sink_tmp / "0f1e").write_bytes(b"partial")
    (out / "shards" / "beam-temp-empty-1").mkdir()
    (out / "_markers").mkdir(exist_ok=True)
    (out / "_markers" / ".mix.json.tmp-99").write_text("{")


def test_clear_stage_removes_temp_files_and_sink_temp_directories(tmp_path):
    _stale_attempt(tmp_path)
    removed = stages.clear_stage(str(tmp_path), "mix")
    assert removed == 4  # the old shard, its temp, the sink's partial file, the marker temp
    assert _leftovers(tmp_path) == []
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_successful_stage_leaves_no_temp_directories(tmp_path):
    def job():
        (tmp_path / "counts").mkdir(exist_ok=True)
        (tmp_path / "counts" / "mix.jsonl").write_text("{}\n")
        (tmp_path / "shards" / "beam-temp-manifest-1").mkdir(parents=True)  # emptied by the sink's finalize
        return {}

    stages.run_stage("mix", str(tmp_path), "fp", job, backoff_s=0)
    assert _leftovers(tmp_path) == []


def test_the_sweep_spares_outputs_and_the_lock(tmp_path):
    _stale_attempt(tmp_path)
    (tmp_path / "._lock.json.tmp-1").write_text("{}")  # the lock's heartbeat being written
    assert sweep_temp(str(tmp_path), keep=("._lock.json",)) == 4  # 2 temp files, 2 sink temp dirs
    assert _leftovers(tmp_path) == ["._lock.json.tmp-1"]
    assert (tmp_path / "shards" / "S1" / "part-00000-000.parquet").exists()


def test_the_sweep_on_an_object_store(tmp_path):
    testfs.configure(tmp_path)
    _stale_attempt(tmp_path / "out")
    assert sweep_temp("testfs://out") == 3  # files only: an object store has no directories
    files = [p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert files == ["shards/S1/part-00000-000.parquet"]


KILLED_RUN = """
import os, signal, sys
from pipelines import curate
from pipelines.curate_steps import NormalizeFn
from pipelines.run import run_factory

class KillTheRun(NormalizeFn):  # the whole run dies mid-stage: no cleanup, no exception (a kill -9, an OOM kill)
    seen = 0

    def process(self, doc):
        KillTheRun.seen += 1
        if KillTheRun.seen == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        yield from super().process(doc)

curate.NormalizeFn = KillTheRun
run_factory(sys.argv[1:])
"""


@pytest.mark.slow
def test_a_run_killed_mid_stage_and_resumed_leaves_nothing_temporary(tmp_path):
    from pipelines.run import run_factory

    out = tmp_path / "out"
    args = ["--pipelines", "curate", "--output", str(out), "--progress_s", "0", "--runner=FnApiRunner"]
    args += ["--direct_running_mode=in_memory", "--set", f"sources=[{{name: t, type: jsonl, paths: ['{SHORT}']}}]"]
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, *args], cwd=ROOT, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert (out / "_lock.json").exists()  # the dead run's lock: its pid is gone, the resumed run takes it over
    _stale_attempt(out)  # and what a kill during the mix would have left

    result = run_factory(args)
    assert result.stages["curate"].status == "ran" and result.manifest["balanced"]
    assert _leftovers(out) == []
    assert not (out / "_lock.json").exists()
