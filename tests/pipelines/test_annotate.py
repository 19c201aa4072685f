"""The annotate pipeline on the real runner: teacher / student / both modes, the label cache, failure rows, counts.

Documents are real texts (fixture files); the teacher is the real SmolLM2-135M (transformers, CPU), students are the
bundled fastText ones; a dead HTTP endpoint stands in for a teacher that must not be (or cannot be) reached.
"""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.text.normalize import content_hash
from pipelines.annotate import (
    TEACHER_CPU_MAX_DOCS,
    build_annotate,
    capped_rate,
    in_teacher_sample,
    task_modes,
    teacher_cap,
)
from pipelines.config import load_config
from pipelines.options import beam_options
from schemas import ANNOTATION, DOCUMENT, to_table, validate_table
from tests.annotators.texts import MIXTURE, faq_permission_notice, faq_section

pytestmark = pytest.mark.slow
DEAD_HTTP = "http://127.0.0.1:9/v1"  # the discard port: nothing listens, every request is refused


def _texts() -> dict[str, str]:
    return {
        "faq-linux": faq_section("what is Linux?!", 300),
        "faq-licence": faq_permission_notice()[:300],
        "ls-ru": (MIXTURE / "ls.1.ru.txt").read_text(encoding="utf-8")[:300],
        "ls-zh": (MIXTURE / "ls.1.zh_CN.txt").read_text(encoding="utf-8")[:300],
        "faq-debian": faq_section("What is Debian GNU/Linux?", 300),
        "faq-copy": faq_section("what is Linux?!", 300),  # a second document with the same text
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A run output root whose curated/documents hold the real texts above."""
    root = tmp_path_factory.mktemp("annotate")
    rows = []
    for doc_id, text in _texts().items():
        rows.append(
            {
                "id": doc_id, "text": text, "source": "fixture", "locator": doc_id, "lang": None,
                "lang_score": None, "script": None, "content_hash": content_hash(text), "n_chars": len(text),
                "n_tokens": None, "meta": {}, "quality": None, "dedup_cluster": None, "dedup_cluster_size": None,
            }
        )  # fmt: skip
    (root / "curated").mkdir()
    pq.write_table(to_table(rows, DOCUMENT), root / "curated" / "documents-00000-of-00001.parquet")
    return root


def run_annotate(out: Path, *overrides: str) -> dict:
    import apache_beam as beam

    config = load_config(None, [f"run.output={out}", "annotate.max_doc_chars=300", *overrides])
    with beam.Pipeline(options=beam_options(["--direct_running_mode=multi_threading"])) as pipeline:
        build_annotate(pipeline, config)
    return config


def rows_of(out: Path, table: str) -> list[dict]:
    rows = []
    for path in sorted(glob.glob(f"{out}/annotations/{table}-*.parquet")):
        data = pq.read_table(path)
        validate_table(data, ANNOTATION)
        for row in data.to_pylist():
            if row["distribution"] is not None:  # a Parquet map reads back as (key, value) pairs
                row["distribution"] = dict(row["distribution"])
            rows.append(row)
    return rows


def counts_of(out: Path) -> dict[tuple[str, str], int]:
    lines = (out / "counts" / "annotate.jsonl").read_text().splitlines()
    return {(r["outcome"], r["reason"]): r["count"] for r in map(json.loads, lines)}


@pytest.fixture(scope="module")
def first_run(corpus):
    modes = "annotate.modes={edu: teacher, domain: student, safety: student}"
    run_annotate(corpus, "annotate.tasks=[edu,domain,safety]", modes)
    return {t: rows_of(corpus, t) for t in ("edu", "domain", "safety")}, counts_of(corpus)


def test_every_document_gets_one_row_per_task_from_its_mode(corpus, first_run):
    tables, _ = first_run
    ids = set(_texts())
    for task, rows in tables.items():
        assert sorted(r["id"] for r in rows) == sorted(ids), task
        assert all(r["status"] == "ok" and r["task"] == task for r in rows)
    assert {(r["backend"], r["model"]) for r in tables["edu"]} == {("transformers", "smollm2-135m-instruct")}
    for task in ("domain", "safety"):
        assert {r["backend"] for r in tables[task]} == {"fasttext"}
        assert all(r["model"].startswith(f"fasttext-student/{task}@") for r in tables[task])
    by_id = {r["id"]: r for r in tables["edu"]}
    # the same text, scored in another batch (other padding) or worker thread: equal up to float rounding
    assert by_id["faq-copy"]["distribution"] == pytest.approx(by_id["faq-linux"]["distribution"], rel=1e-5)


def test_first_run_calls_the_teacher_and_fills_the_cache(corpus, first_run):
    _, counts = first_run
    # Same text twice: both copies are labelled in this run (neither was cached yet); later runs hit the cache.
    assert counts[("teacher_call", "edu")] == len(_texts())
    assert ("cache_hit", "edu") not in counts
    assert counts[("ok", "edu")] == counts[("ok", "domain")] == counts[("ok", "safety")] == len(_texts())
    assert counts[("labelled_by", "domain:fasttext")] == len(_texts())
    cached = [
        r for p in glob.glob(f"{corpus}/annotations/cache/labels-*.parquet") for r in pq.read_table(p).to_pylist()
    ]
    assert {r["content_hash"] for r in cached} == {content_hash(t) for t in _texts().values()}
    assert {(r["task"], r["prompt_version"], r["model"]) for r in cached} == {
        ("edu", "edu-v1", "smollm2-135m-instruct")
    }


def test_a_rerun_never_pays_twice(corpus, first_run):
    """Second run with the teacher unreachable: every edu label comes from the cache, identical to the first."""
    tables, _ = first_run
    run_annotate(
        corpus,
        "annotate.tasks=[edu]",
        "annotate.modes.edu=teacher",
        "annotate.backend=openai-http",
        f"annotate.http.base_url={DEAD_HTTP}",
        "annotate.http.max_retries=0",
    )
    counts = counts_of(corpus)
    assert counts[("cache_hit", "edu")] == len(_texts()) and ("teacher_call", "edu") not in counts
    again = {r["id"]: r for r in rows_of(corpus, "edu")}
    for row in tables["edu"]:
        assert again[row["id"]]["status"] == "ok"
        # faq-copy and faq-linux share a content hash: the cache holds both first-run rows, which differ by float
        # rounding (scored in other batches or worker threads, ~2e-6), and either may serve both documents
        assert again[row["id"]]["distribution"] == pytest.approx(row["distribution"], rel=1e-5)
        assert again[row["id"]]["content_hash"] == row["content_hash"]


def test_a_changed_prompt_version_or_model_misses_the_cache(corpus, first_run):
    """Another model name is another cache key: the (dead) teacher is called, and every document fails visibly."""
    run_annotate(
        corpus,
        "annotate.tasks=[edu]",
        "annotate.modes.edu=teacher",
        "annotate.backend=openai-http",
        "annotate.model=another-model",
        f"annotate.http.base_url={DEAD_HTTP}",
        "annotate.http.max_retries=1",
        "annotate.http.backoff_s=0.01",
    )
    rows = rows_of(corpus, "edu")
    assert len(rows) == len(_texts())
    for row in rows:
        assert row["status"] == "failed" and row["label"] is None and row["score"] is None
        assert row["error"].startswith("BackendError") and "ConnectError" in row["error"]
        assert (row["backend"], row["model"]) == ("openai-http", "another-model")
    counts = counts_of(corpus)
    assert counts[("failed", "edu")] == len(_texts())
    assert counts[("error", "edu:BackendError")] == len(_texts())
    assert counts[("teacher_call", "edu")] == len(_texts())
    cached = [
        r for p in glob.glob(f"{corpus}/annotations/cache/labels-*.parquet") for r in pq.read_table(p).to_pylist()
    ]
    assert "another-model" not in {r["model"] for r in cached}  # failures are never cached


def test_mode_both_labels_all_with_the_student_and_a_sample_with_the_teacher(tmp_path, corpus):
    out = tmp_path / "both"
    (out / "curated").mkdir(parents=True)
    for path in (corpus / "curated").glob("documents-*.parquet"):
        (out / "curated" / path.name).write_bytes(path.read_bytes())
    run_annotate(
        out,
        "annotate.tasks=[safety]",
        "annotate.mode=both",
        "annotate.modes={}",
        "annotate.teacher_sample=0.5",
        "annotate.cache=false",
    )
    student = rows_of(out, "safety")
    teacher = rows_of(out, "safety_teacher")
    assert sorted(r["id"] for r in student) == sorted(_texts())
    assert {r["backend"] for r in student} == {"fasttext"}
    expected = {k for k, t in _texts().items() if in_teacher_sample(content_hash(t), "safety", 0.5)}
    assert 0 < len(expected) < len(_texts())  # the premise: the sample is a real subset of these documents
    assert {r["id"] for r in teacher} == expected
    assert {(r["backend"], r["status"]) for r in teacher} == {("transformers", "ok")}
    counts = counts_of(out)
    assert counts[("ok", "safety")] == len(_texts()) and counts[("teacher_ok", "safety")] == len(expected)


def test_the_teacher_sample_is_capped_and_the_rest_counted(tmp_path, corpus):
    """teacher_max_docs shrinks the sample to a nested subset of the configured one; what it leaves out is counted."""
    out = tmp_path / "capped"
    (out / "curated").mkdir(parents=True)
    for path in (corpus / "curated").glob("documents-*.parquet"):
        (out / "curated" / path.name).write_bytes(path.read_bytes())
    n = len(_texts())
    run_annotate(
        out,
        "annotate.tasks=[safety]",
        "annotate.mode=both",
        "annotate.modes={}",
        "annotate.teacher_sample=1.0",
        "annotate.teacher_max_docs=2",
        "annotate.cache=false",
    )
    teacher = {r["id"] for r in rows_of(out, "safety_teacher")}
    expected = {k for k, t in _texts().items() if in_teacher_sample(content_hash(t), "safety", 2 / n)}
    assert teacher == expected and len(teacher) < n
    counts = counts_of(out)
    assert counts[("teacher_capped", "safety")] == n - len(teacher)
    assert counts[("ok", "safety")] == n  # the student still labels every document


def test_teacher_cap_defaults():
    assert capped_rate(0.05, 300, 1000) == 0.05 and capped_rate(0.05, 300, 100_000) == 300 / 100_000
    assert capped_rate(0.05, None, 10**9) == 0.05 and capped_rate(0.05, 300, None) == 0.05
    assert teacher_cap({"teacher_max_docs": 7}) == 7 and teacher_cap({"teacher_max_docs": None}) is None
    assert teacher_cap({"backend": "http"}) is None  # a served model is sized by its operator
    import torch

    assert teacher_cap({}) == (None if torch.cuda.is_available() else TEACHER_CPU_MAX_DOCS)


def test_modes_are_validated():
    with pytest.raises(ValueError, match="unknown task"):
        task_modes({"tasks": ["edu", "sentiment"]})
    with pytest.raises(ValueError, match=r"annotate\.modes\.edu"):
        task_modes({"tasks": ["edu"], "mode": "oracle"})
    with pytest.raises(ValueError, match=r"annotate\.students\.domain"):
        task_modes({"tasks": ["domain"], "mode": "student", "students": {}})
    assert task_modes({"tasks": ["edu", "domain"], "modes": {"domain": "student"}, "students": {"domain": "x"}}) == {
        "edu": "teacher",
        "domain": "student",
    }
