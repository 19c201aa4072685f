"""Faults a production run meets, each on the real pipelines; every test asserts the run finishes (or fails clearly,
for disk full) and that nothing is lost: every input document is kept, rejected with a reason, or a duplicate.

Real where it can be: a worker process really dies (os._exit in a multi-process run), the LLM server is the real
llama-cpp-python server (stopped, then started while the job retries), the stalled PDF is a real PDF that takes MuPDF
seconds, the full disk is a real 1 MiB tmpfs when we are root. Named fakes: the slow LLM server
(tests/annotators/backends/fake_openai_server.py: a real server cannot be made slow on demand) and, without root,
the ``testfs://`` quota instead of a tmpfs.
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

import pyarrow.parquet as pq
import pytest

from curation.text.normalize import content_hash
from pipelines import curate as curate_module
from pipelines.run import run_factory
from pipelines.stages import DiskFullError
from schemas import ANNOTATION, DOCUMENT, to_table, validate_table
from tests.annotators.backends.fake_openai_server import FakeOpenAIServer
from tests.pipelines import faults, testfs

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SHORT = str(ROOT / "data" / "sample" / "text" / "short.jsonl")
TEXT_ONLY = [f"sources=[{{name: t, type: jsonl, paths: ['{SHORT}']}}]"]
MULTI = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
IN_PROCESS = ["--direct_running_mode=in_memory"]
LOOPBACK = ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"]


def _set(*assignments: str) -> list[str]:
    return [arg for a in assignments for arg in ("--set", a)]


def _rows(out: Path, pattern: str) -> list[dict]:
    rows = []
    for path in sorted(out.glob(pattern)):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def _assert_accounted(out: Path, manifest: dict, n_input: int) -> None:
    """kept + rejected + duplicate == input, each id exactly once (a retried bundle would show up twice)."""
    kept = [d["id"] for d in _rows(out, "curated/documents-*.parquet")]
    rejected = [r["id"] for r in _rows(out, "curated/rejections-*.parquet")]
    dups = [d["id"] for d in _rows(out, "curated/duplicates-*.parquet")]
    ids = kept + rejected + dups
    assert len(ids) == len(set(ids)) == n_input == manifest["totals"]["input"]
    assert manifest["balanced"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the dead worker's gRPC reader
def test_a_worker_killed_mid_bundle_is_retried_and_loses_nothing(tmp_path, monkeypatch, caplog):
    marker = tmp_path / "crashed"
    real = curate_module.NormalizeFn
    monkeypatch.setattr(curate_module, "NormalizeFn", lambda cfg: faults.CrashOnceNormalizeFn(cfg, str(marker)))
    out = tmp_path / "out"
    with caplog.at_level("INFO", logger="pipelines"):
        result = run_factory(
            ["--pipelines", "curate", "--output", str(out), "--progress_s", "0.5", *_set(*TEXT_ONLY), *MULTI]
        )
    assert marker.exists(), "the worker never crashed: the test did not test anything"
    assert int(marker.read_text()) != os.getpid()  # it was a worker process, not the runner
    assert result.stages["curate"].attempts == 2 and result.stages["curate"].status == "ran"
    assert any("attempt 1 failed" in r.getMessage() for r in caplog.records)
    progress = [r.getMessage() for r in caplog.records if r.name == "pipelines.progress"]
    assert any("progress curate [done" in m and "read/input:t=32" in m for m in progress), progress
    _assert_accounted(out, result.manifest, 32)
    assert real is not faults.CrashOnceNormalizeFn


def test_a_pdf_that_stalls_the_parser_is_rejected_and_the_run_finishes(tmp_path):
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    (pdfs / "stall.pdf").write_bytes(faults.heavy_pdf(600_000))
    for name in ("debian-faq-fr.pdf", "broken.pdf"):
        shutil.copy(ROOT / "data" / "sample" / "pdf" / name, pdfs / name)
    out = tmp_path / "out"
    sources = f"sources=[{{name: p, type: pdf, paths: ['{pdfs}/*.pdf']}}]"
    result = run_factory(
        ["--pipelines", "curate", "--output", str(out), *_set(sources, "extract.pdf_timeout_s=1"), *IN_PROCESS]
    )
    rejected = {r["id"]: (r["reason"], r["detail"]) for r in _rows(out, "curated/rejections-*.parquet")}
    assert rejected["p/stall.pdf"][0] == "pdf_timeout" and "1 s" in rejected["p/stall.pdf"][1]
    assert rejected["p/broken.pdf"][0] == "pdf_corrupt"
    assert [d["id"] for d in _rows(out, "curated/documents-*.parquet")] == ["p/debian-faq-fr.pdf"]
    _assert_accounted(out, result.manifest, 3)


# ----------------------------------------------------------------------------------------------- disk full


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB tmpfs when root may mount one; else the FAKE ``testfs://`` store with a 1 MiB quota."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() == 0 and shutil.which("mount"):
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
        if done.returncode == 0:
            try:
                yield str(mount / "out"), mount / "out", IN_PROCESS
            finally:
                subprocess.run(["umount", "-l", str(mount)], check=False)
            return
    testfs.configure(mount, quota_bytes=1 << 20)
    yield (
        "testfs://out",
        mount / "out",
        ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"],
    )


def test_disk_full_fails_clearly_and_leaves_nothing_that_looks_complete(small_disk):
    out_url, out_dir, runner = small_disk
    sources = f"sources=[{{name: t, type: jsonl, paths: ['{ROOT}/data/sample/text/*.jsonl']}}]"
    with pytest.raises(DiskFullError, match=r"curate: disk full writing under .*partial outputs removed") as err:
        run_factory(["--pipelines", "curate", "--output", out_url, "--retries", "0", *_set(sources), *runner])
    assert "No space left on device" in repr(err.value.__cause__) or "Errno 28" in repr(err.value.__cause__)
    left = [p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()] if out_dir.exists() else []
    assert not [p for p in left if p.endswith(".parquet") or p.startswith("_markers/")], left


# ------------------------------------------------------------------------------------------------ LLM server


def _curated(out: Path, texts: dict[str, str]) -> None:
    rows = [
        {
            "id": doc_id, "text": text, "source": "fixture", "locator": doc_id, "lang": "eng_Latn",
            "lang_score": 1.0, "script": "Latn", "content_hash": content_hash(text), "n_chars": len(text),
            "n_tokens": None, "meta": {}, "quality": None, "dedup_cluster": None, "dedup_cluster_size": None,
        }
        for doc_id, text in texts.items()
    ]  # fmt: skip
    (out / "curated").mkdir(parents=True)
    pq.write_table(to_table(rows, DOCUMENT), out / "curated" / "documents-00000-of-00001.parquet")


def _teacher_args(out: Path, base_url: str, *extra: str) -> list[str]:
    return [
        "--pipelines", "annotate", "--output", str(out), "--direct_running_mode=multi_threading",
        *_set(
            "annotate.tasks=[edu]", "annotate.mode=teacher", "annotate.modes={}", "annotate.backend=openai-http",
            "annotate.model=smollm2-135m-instruct", f"annotate.http.base_url={base_url}", "annotate.batch_size=2",
            "annotate.http.concurrency=2", "annotate.max_doc_chars=300", *extra,
        ),
    ]  # fmt: skip


TEXTS = {
    "photosynthesis": "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "recipe": "Mix flour, water and salt; knead for ten minutes and bake at 220 degrees.",
    "slow-1": "HANG This page is served by a stuck server.",
    "ad": "Buy now! Limited offer on shoes, free shipping today only.",
}


def test_slow_llm_responses_past_the_timeout_become_failed_rows_and_the_run_finishes(tmp_path):
    out = tmp_path / "out"
    _curated(out, TEXTS)
    with FakeOpenAIServer(hang_s=5.0) as server:  # FAKE: see the module docstring
        result = run_factory(
            _teacher_args(out, server.base_url, "annotate.http.timeout_s=0.5", "annotate.http.max_retries=1")
        )
    rows = {r["id"]: r for r in _rows(out, "annotations/edu-*.parquet")}
    validate_table(pq.read_table(sorted(out.glob("annotations/edu-*.parquet"))[0]), ANNOTATION)
    assert set(rows) == set(TEXTS)  # nothing lost
    assert rows["slow-1"]["status"] == "failed" and "timeout" in rows["slow-1"]["error"].lower()
    assert all(rows[k]["status"] == "ok" for k in TEXTS if k != "slow-1")
    counts = {(c["outcome"], c["reason"]): c["count"] for c in result.manifest["counts"] if c["stage"] == "annotate"}
    assert counts[("failed", "edu")] == 1 and counts[("ok", "edu")] == 3
    cached = _rows(out, "annotations/cache/labels-*.parquet")
    assert {r["id"] for r in cached} == set(TEXTS) - {"slow-1"}  # failures are not cached: a rerun retries them
    assert result.stages["annotate"].counters["annotate/teacher_edu_ok"] == 3

    with FakeOpenAIServer(hang_s=5.0) as server:  # a forced re-run: labels come from the cache, only slow-1 is asked
        again = run_factory(
            [
                *_teacher_args(out, server.base_url, "annotate.http.timeout_s=0.5", "annotate.http.max_retries=0"),
                *("--force", "annotate"),
            ]
        )
        asked = sum(server.requests.values())
    counters = again.stages["annotate"].counters
    assert counters["annotate/cache_hit_edu"] == 3 and counters["annotate/teacher_edu_failed"] == 1
    assert "annotate/teacher_edu_ok" not in counters and asked == 1
    assert {r["id"] for r in _rows(out, "annotations/edu-*.parquet")} == set(TEXTS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.llama_server
def test_llm_server_down_then_back_is_waited_for_and_nothing_is_lost(tmp_path):
    from tests.annotators.llama_server import ENV, llama_server

    if not os.environ.get(ENV):
        pytest.skip(f"{ENV} is not set: no llama-cpp-python server (build: .ci/llama_server_venv.sh)")
    port = _free_port()
    with llama_server(port=port) as base_url:  # up once: the model loads and the port answers
        pass  # ... and stopped: the job below starts against a dead port
    texts = {k: v for k, v in TEXTS.items() if not k.startswith("slow")}
    out = tmp_path / "out"
    _curated(out, texts)
    release = threading.Event()
    started = threading.Event()

    def restart_later():
        time.sleep(3.0)
        with llama_server(port=port):
            started.set()
            release.wait(600)

    thread = threading.Thread(target=restart_later, daemon=True)
    thread.start()
    try:
        result = run_factory(
            _teacher_args(
                out,
                base_url,
                "annotate.http.max_retries=40",
                "annotate.http.backoff_s=0.5",
                "annotate.http.backoff_max_s=2",
                "annotate.http.timeout_s=60",
            )
        )
    finally:
        release.set()
        thread.join(60)
    assert started.is_set()
    rows = {r["id"]: r for r in _rows(out, "annotations/edu-*.parquet")}
    assert set(rows) == set(texts) and all(r["status"] == "ok" for r in rows.values())
    assert result.stages["annotate"].counters.get("annotate/http_retries", 0) > 0  # it really was down
    assert json.loads((out / "_markers" / "annotate.json").read_text())["attempts"] == 1
