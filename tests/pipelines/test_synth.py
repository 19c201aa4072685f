"""pipelines.synth end to end with the real SmolLM2-135M on CPU, through the Beam runner, on a few real seeds.

The 135M model writes mostly wrong math and code: the test does not expect kept records, it checks that every
generated sample ends kept, rejected with a known reason, or duplicate, that the counts balance, that seed
selection follows the labels (and says when it fell back), and that kept records carry full provenance. The seed
texts are real (the Debian FAQ, the CPython ``fractions`` module); the edu/domain label rows are written here, as
the annotate stage would write them, so that each selection branch is exercised.
"""

from __future__ import annotations

import inspect
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.text.normalize import content_hash
from pipelines.config import load_config
from pipelines.synth import build_synth, write_synth_manifest
from schemas import ANNOTATION, DOCUMENT, REJECTION, SYNTH_RECORD, to_table
from tests.annotators.texts import faq_section
from tests.pipelines.parquet_rows import read_rows

pytestmark = pytest.mark.slow
KNOWN_REASONS = {
    "generation_failed", "no_problem", "no_solution", "no_code", "no_tests", "no_final_answer", "answers_disagree",
    "syntax_error", "solution_error", "tests_error", "test_failed", "timeout", "memory", "recursion", "output_limit",
    "network_blocked", "write_blocked", "process_blocked", "crashed", "truncated", "too_short", "repetitive",
    "benchmark_ngram", "benchmark_similar",
}  # fmt: skip


def _doc(doc_id: str, text: str) -> dict:
    return {
        "id": doc_id, "text": text, "source": "fixture", "locator": doc_id, "lang": "eng_Latn", "lang_score": 0.9,
        "script": "Latn", "content_hash": content_hash(text), "n_chars": len(text), "n_tokens": None, "meta": {},
        "quality": None, "dedup_cluster": None, "dedup_cluster_size": None,
    }  # fmt: skip


def _label(doc: dict, task: str, label: str, score: float) -> dict:
    return {
        "id": doc["id"], "content_hash": doc["content_hash"], "task": task, "status": "ok", "label": label,
        "score": score, "distribution": {label: 1.0}, "model": "fixture", "prompt_version": f"{task}-v1",
        "backend": "fixture",
    }  # fmt: skip


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory) -> tuple[Path, dict]:
    import fractions

    import apache_beam as beam

    from pipelines.options import beam_options

    root = tmp_path_factory.mktemp("synth")
    docs = {
        "faq": _doc("faq", faq_section("what is Linux?!", 600)),  # labelled stem, edu 3.2: math
        "code": _doc("code", inspect.getsource(fractions.Fraction.limit_denominator)[:1200]),  # code, edu 3: code
        "low": _doc("low", faq_section("What is Debian GNU/Linux?", 400)),  # edu 1.0: skipped
        "unlabelled": _doc("unlabelled", faq_section("What is Debian GNU/Linux?", 700)[200:]),  # no labels: fallback
    }
    (root / "curated").mkdir()
    (root / "annotations").mkdir()
    pq.write_table(to_table(list(docs.values()), DOCUMENT), root / "curated" / "documents-00000-of-00001.parquet")
    edu = [
        _label(docs["faq"], "edu", "3", 3.2),
        _label(docs["code"], "edu", "3", 3.0),
        _label(docs["low"], "edu", "1", 1.0),
    ]
    domain = [
        _label(docs["faq"], "domain", "science_tech", 0.8),
        _label(docs["code"], "domain", "software_dev", 0.9),
        _label(docs["low"], "domain", "science_tech", 0.9),
    ]
    pq.write_table(to_table(edu, ANNOTATION), root / "annotations" / "edu-00000-of-00001.parquet")
    pq.write_table(to_table(domain, ANNOTATION), root / "annotations" / "domain-00000-of-00001.parquet")
    small = "{max_tokens: 64}"
    config = load_config(
        None,
        [
            f"run.output={root}",
            "synth.max_pairs=null",
            "synth.seeds.max_chars=600",
            f"synth.recipes.math={{domains: [stem], candidates: 1, verify_samples: 2, sampling: {small}, "
            f"verify_sampling: {small}}}",
            f"synth.recipes.code={{domains: [code], candidates: 1, sampling: {small}}}",
            "synth.recipes.explanation={domains: [stem], candidates: 1, sampling: {max_tokens: 128}}",
            "synth.explanation={min_chars: 200, max_repeated_share: 0.3}",
        ],
    )
    with beam.Pipeline(options=beam_options(["--direct_running_mode=multi_threading"])) as pipeline:
        build_synth(pipeline, config)
    manifest = write_synth_manifest(config, "test-run", "2025-01-01T00:00:00+00:00")
    return root, manifest


def test_every_generated_sample_is_accounted_for(synth_run):
    root, manifest = synth_run
    totals = manifest["totals"]
    # faq: math + explanation; code: code; unlabelled (fallback): math + explanation + code; low: nothing
    assert totals["input"] == 6
    assert manifest["balanced"], totals
    records = read_rows(str(root / "synth" / "records-*.parquet"), SYNTH_RECORD) if totals["kept"] else []
    rejections = read_rows(str(root / "synth" / "rejections-*.parquet"), REJECTION) if totals["rejected"] else []
    assert len(records) == totals["kept"] and len(rejections) == totals["rejected"]
    ids = [r["id"] for r in records] + [r["id"] for r in rejections]
    assert len(ids) == len(set(ids))  # no sample both kept and rejected
    for rej in rejections:
        assert rej["reason"] in KNOWN_REASONS, rej
        assert rej["detail"], rej  # every rejection says what failed
        assert rej["stage"] in ("synth_generate", "synth_parse", "synth_verify", "decontam")
    seeds = Counter(r["locator"] for r in rejections) + Counter(r["seed_id"] for r in records)
    assert seeds == Counter({"faq": 2, "code": 1, "unlabelled": 3})
    print("accept rates:", json.dumps({r: c for r, c in Counter(x["reason"] for x in rejections).items()}))


def test_seed_selection_follows_labels_and_counts_fallbacks(synth_run):
    root, _ = synth_run
    rows = [json.loads(line) for line in (root / "counts" / "synth.jsonl").read_text().splitlines()]
    seeds = {(r["outcome"], r["reason"]): r["count"] for r in rows if r["stage"] == "seed"}
    assert seeds == {
        ("selected", "selected"): 2,
        ("skipped", "low_edu"): 1,
        ("selected", "fallback_no_edu+no_domain"): 1,
    }


def test_kept_records_carry_provenance_and_math_records_a_verified_answer(synth_run):
    root, manifest = synth_run
    if not manifest["totals"]["kept"]:
        pytest.skip("the 135M model produced nothing verifiable this run (all rejections were checked above)")
    for rec in read_rows(str(root / "synth" / "records-*.parquet"), SYNTH_RECORD):
        assert rec["prompt_version"].startswith(f"synth-{rec['recipe']}-v")
        assert rec["model"] == "smollm2-135m-instruct" and rec["backend"] == "transformers"
        assert dict(rec["sampling"])["max_tokens"] and rec["rng_seed"] >= 0
        if rec["kind"] == "math":
            assert rec["verification"] == "majority_vote" and rec["agreement"] >= 0.6 and rec["answer"]
        if rec["kind"] == "code":
            assert rec["verification"] == "sandbox_tests" and "assert" in rec["tests"]
            assert dict(rec["meta"] or {})["sandbox_isolation"] == "bwrap"  # ran inside bubblewrap


def test_synth_stops_before_the_first_sample_where_the_sandbox_is_missing(monkeypatch):
    from pipelines.isolation import SystemicError
    from pipelines.synth import SandboxFn
    from synth.sandbox import bwrap

    cfg = load_config(None, [])["synth"]
    bwrap.probe.cache_clear()
    monkeypatch.setenv("PATH", "/nonexistent")  # no bwrap on this PATH
    try:
        with pytest.raises(SystemicError, match=r"synth sandbox: bubblewrap \(bwrap\) is not installed"):
            SandboxFn(cfg).setup()
        SandboxFn({**cfg, "sandbox": {**cfg["sandbox"], "isolation": "unsafe"}}).setup()  # the explicit opt-out
    finally:
        bwrap.probe.cache_clear()
