"""The whole factory on the bundled sample, with the real runner, models and Parquet: run once, check everything."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import pytest

from curation.tokens import QwenTokenCounter
from pipelines import run as run_module
from schemas import ANNOTATION, DOCUMENT, DUPLICATE, REJECTION, RUN_MANIFEST, SHARD_ROW, to_table
from tests.pipelines.parquet_rows import read_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    manifest = run_module.main(["--output", str(out), "--direct_num_workers=2"])
    return out, manifest


@pytest.fixture(scope="module")
def outputs(run):
    out, _ = run
    return {
        "docs": read_rows(f"{out}/curated/documents-*.parquet", DOCUMENT),
        "rejections": read_rows(f"{out}/curated/rejections-*.parquet", REJECTION),
        "duplicates": read_rows(f"{out}/curated/duplicates-*.parquet", DUPLICATE),
        "edu": read_rows(f"{out}/annotations/edu-*.parquet", ANNOTATION),
        "edu_teacher": read_rows(f"{out}/annotations/edu_teacher-*.parquet", ANNOTATION),
        # S2 takes edu >= 2.5: with the bundled students' near-flat edu scores it may be empty on the sample
        **{s: read_rows(f"{out}/shards/{s}/part-*.parquet", SHARD_ROW) for s in ("S1", "S3")},
        "S2": read_rows(f"{out}/shards/S2/part-*.parquet", SHARD_ROW) if glob.glob(f"{out}/shards/S2/part-*") else [],
    }


def test_manifest_is_valid_and_balanced(run):
    out, manifest = run
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    to_table([on_disk], RUN_MANIFEST)
    t = on_disk["totals"]
    assert on_disk["balanced"] and t["input"] == t["kept"] + t["rejected"] + t["duplicate"]
    assert t["kept"] > 0 and t["rejected"] > 0 and t["duplicate"] > 0


def test_every_input_document_is_accounted_for_once(run, outputs):
    _, manifest = run
    kept = {d["id"] for d in outputs["docs"]}
    rejected = [r["id"] for r in outputs["rejections"]]
    duplicate = [d["id"] for d in outputs["duplicates"]]
    assert len(kept) == len(outputs["docs"])
    assert len(set(rejected)) == len(rejected) and len(set(duplicate)) == len(duplicate)
    assert not (kept & set(rejected)) and not (kept & set(duplicate)) and not (set(rejected) & set(duplicate))
    assert len(kept) + len(rejected) + len(duplicate) == manifest["totals"]["input"]
    assert {d["duplicate_of"] for d in outputs["duplicates"]} <= kept


def test_bad_inputs_become_rejections_with_reasons(outputs):
    reasons = {(r["stage"], r["reason"]) for r in outputs["rejections"]}
    for expected in [
        ("extract", "pdf_corrupt"),
        ("extract", "pdf_encrypted"),
        ("read", "invalid_utf8"),
        ("read", "invalid_json"),
        ("read", "missing_text"),
        ("normalize", "empty_text"),
        ("normalize", "binary_junk"),
    ]:
        assert expected in reasons, f"{expected} not among {sorted(reasons)}"
    assert any(stage == "filter" for stage, _ in reasons)
    filtered = [r for r in outputs["rejections"] if r["stage"] == "filter"]
    assert all(r["detail"] and "=" in r["detail"] for r in filtered)  # the measurements behind the decision


def test_pdfs_are_extracted_page_level_in_several_scripts(run, outputs):
    pdfs = [d for d in outputs["docs"] if d["source"] == "sample-pdf"]
    assert len(pdfs) >= 3
    scripts = {d["script"] for d in outputs["docs"]}
    assert {"Latn", "Cyrl"} <= scripts and scripts & {"Jpan", "Hani", "Hans", "Hant", "Arab"}
    methods = [dict(d["meta"])["page_methods"].split(",") for d in pdfs]
    assert all(len(m) == int(dict(d["meta"])["page_count"]) for m, d in zip(methods, pdfs, strict=True))
    pages = {c["reason"]: c["count"] for c in run[1]["counts"] if c["outcome"] == "pages"}
    ocr = pages.get("ocr_tesseract", 0) + pages.get("no_text_layer", 0)  # no_text_layer where tesseract is absent
    assert ocr >= 2, f"the image-only pages are routed to OCR: {pages}"
    assert sum(pages.values()) >= 100 and pages["text_layer"] > ocr


def test_languages_are_identified(outputs):
    prose = [d for d in outputs["docs"] if d["source"] != "sample-code"]
    langs = {d["lang"] for d in prose}
    assert len(langs) >= 5 and "eng_Latn" in langs and "rus_Cyrl" in langs
    assert all(d["lang_score"] is not None and 0 < d["lang_score"] <= 1.0001 for d in prose)


def test_source_files_take_the_code_branch_and_the_report_shows_their_languages(run, outputs):
    out, _ = run
    code = [d for d in outputs["docs"] if d["source"] == "sample-code"]
    languages = {dict(d["meta"])["code_language"] for d in code}
    assert {"Go", "Rust", "Perl", "Python", "JavaScript"} <= languages
    assert all(d["lang"] == "zxx_Zyyy" and d["lang_score"] is None for d in code)
    rejected = {r["id"]: r["reason"] for r in outputs["rejections"] if r["stage"] == "code"}
    assert rejected["sample-code/go/src/html/template/jsctx_string.go"] == "auto_generated"
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Source code" in report and "kept source files per programming language" in report and "Rust" in report


def test_scanned_pdf_is_read_in_its_scripts_and_the_report_shows_pages_per_ocr_language(run, outputs):
    """The sample's scanned PDF (no text layer, nothing declared) goes through OCR with script detection."""
    import shutil

    if shutil.which("tesseract") is None:
        pytest.skip("tesseract-ocr is not installed (.ci/run installs it with docker/tesseract-packs.txt)")
    out, _ = run
    (doc,) = [d for d in outputs["docs"] if d["id"].endswith("scanned-faq-ru-maint-guide-ja.pdf")]
    meta = dict(doc["meta"])
    pages = json.loads(meta["ocr_pages"])
    assert [(p["script"], p["langs"], p["source"]) for p in pages] == [
        ("Cyrl", "rus+eng", "detected"), ("Cyrl", "rus+eng", "document"), ("Jpan", "jpn+eng", "detected"),
    ]  # fmt: skip
    assert "Глава 1" in doc["text"] and "開発に必要なプログラム" in doc["text"].replace(" ", "")
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "PDF pages and OCR" in report and "OCR pages per OCR language (Tesseract packs)" in report
    assert "rus+eng" in report and "jpn+eng" in report


def test_exact_and_near_duplicates_are_found(outputs):
    methods = {d["method"] for d in outputs["duplicates"]}
    assert methods == {"exact", "minhash"}
    kept = {d["id"]: d for d in outputs["docs"]}
    for dup in outputs["duplicates"]:
        assert dup["cluster_size"] >= 2
        assert kept[dup["duplicate_of"]]["dedup_cluster_size"] >= 2


def test_every_kept_document_has_an_edu_annotation(outputs):
    """Default edu mode ``both``: the student labels every kept document, the teacher a content-hash sample."""
    by_id = {a["id"]: a for a in outputs["edu"]}
    assert set(by_id) == {d["id"] for d in outputs["docs"]}
    for ann in outputs["edu"]:
        assert ann["status"] == "ok" and 0 <= ann["score"] <= 5
        assert ann["backend"] == "fasttext" and ann["model"].startswith("fasttext-student/edu@")
        assert abs(sum(p for _, p in ann["distribution"]) - 1) < 1e-6
    teacher = outputs["edu_teacher"]
    assert 0 < len(teacher) < len(outputs["edu"]) and {a["id"] for a in teacher} <= set(by_id)
    for ann in teacher:
        assert ann["status"] == "ok" and 0 <= ann["score"] <= 5
        assert ann["model"] == "smollm2-135m-instruct" and ann["backend"] == "transformers"


def test_stage_shards_respect_their_specs(outputs):
    counter = QwenTokenCounter()
    edu = {a["id"]: a["score"] for a in outputs["edu"]}
    assert outputs["S1"] and outputs["S3"]
    for row in outputs["S1"] + outputs["S2"]:
        assert row["n_tokens"] <= 4096
    for row in outputs["S2"]:
        assert edu[row["doc_id"]] >= 2.5
    for row in outputs["S3"]:
        assert 4096 <= row["n_tokens"] <= 32768 and row["length_bucket"] in ("4k-16k", "16k-32k")
    sample = (outputs["S1"] + outputs["S3"])[:20]
    assert [r["n_tokens"] for r in sample] == counter.count_batch([r["text"] for r in sample])


def test_report_has_plots(run):
    out, _ = run
    html = Path(out, "report.html").read_text()
    assert html.count("<svg") >= 5 and "balanced" in html
