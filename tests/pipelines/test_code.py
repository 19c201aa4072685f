"""The code branch through ``pipelines.curate``: real source files and prose in one run. Source files skip LID and
the prose filters, get their language, the code filters, licence and redaction; prose is curated as before; the
planted secrets appear in no output file; every input file is accounted for by an independent count."""

from __future__ import annotations

import ast
import json
import shutil
import sysconfig
from pathlib import Path

import pytest

from pipelines import curate
from pipelines.dedup import DedupSettings
from pipelines.mix import attach_annotations
from schemas import DOCUMENT, DUPLICATE, REJECTION
from tests.curation.code.test_redact import PLANTED
from tests.pipelines.parquet_rows import read_rows

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CODE = ROOT / "data" / "sample" / "code"
STDLIB = Path(sysconfig.get_path("stdlib"))
PYTHON = ("textwrap.py", "argparse.py", "dataclasses.py", "pprint.py", "string.py", "fractions.py")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("code")
    repo = root / "repo"
    shutil.copytree(SAMPLE_CODE, repo)
    for name in PYTHON:
        (repo / "py" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STDLIB / name, repo / "py" / name)
    shutil.copy(STDLIB / "textwrap.py", repo / "py" / "textwrap_copy.py")  # an exact duplicate of a kept file
    settings = (STDLIB / "pprint.py").read_text(encoding="utf-8").split("\n")
    secrets = [f'{name.upper()}_TOKEN = "{value}"' for name, value in PLANTED.items()]
    (repo / "py" / "settings.py").write_text("\n".join(settings[:30] + secrets + settings[30:]), encoding="utf-8")
    (repo / "py" / "blob.py").write_bytes(b"\x00\x01\x02binary\xff" * 200)  # junk: rejected with a reason
    prose = root / "prose.jsonl"  # man pages (kept) and fortune cookies (too short: filtered)
    text = ROOT / "data" / "sample" / "text"
    manpages = (text / "manpages.jsonl").read_text(encoding="utf-8").split("\n")[:40]
    prose.write_text("\n".join(manpages) + "\n" + (text / "short.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    out = root / "out"
    sources = (
        f"sources=[{{name: repo, type: code, paths: ['{repo}/**']}}, {{name: prose, type: jsonl, paths: ['{prose}']}}]"
    )
    curate.run(["--output", str(out), "--set", sources, "--direct_num_workers=2"])
    rows = {
        "docs": read_rows(str(out / "curated" / "documents-*.parquet"), DOCUMENT),
        "rejections": read_rows(str(out / "curated" / "rejections-*.parquet"), REJECTION),
        "duplicates": read_rows(str(out / "curated" / "duplicates-*.parquet"), DUPLICATE),
    }
    files = sorted(p for p in repo.rglob("*") if p.is_file())
    prose_lines = [line for line in prose.read_text(encoding="utf-8").split("\n") if line.strip()]
    return repo, out, files, len(prose_lines), rows


def _meta(doc: dict) -> dict:
    return dict(doc.get("meta") or {})


def test_every_file_and_line_is_accounted_for(run):
    repo, _, files, prose_lines, rows = run
    ids = (
        [d["id"] for d in rows["docs"]] + [r["id"] for r in rows["rejections"]] + [d["id"] for d in rows["duplicates"]]
    )
    assert len(ids) == len(set(ids)) == len(files) + prose_lines
    code_ids = {f"repo/{p.relative_to(repo)}" for p in files}
    assert code_ids <= set(ids)


def test_code_is_labelled_kept_as_written_and_still_parses(run):
    repo, _, _, _, rows = run
    code = {d["id"].removeprefix("repo/"): d for d in rows["docs"] if d["source"] == "repo"}
    assert {"go/src/sort/sort.go", "py/argparse.py", "perl/I18N/LangTags/Detect.pm"} <= set(code)
    for rel, doc in code.items():
        meta = _meta(doc)
        assert doc["lang"] == "zxx_Zyyy" and meta["code_language"] and meta["path"] == rel
        assert meta.get("domain") == "code" or meta["code_kind"] == "prose"
        if "redactions" not in meta:  # byte-identical to the file (the sample's sources need no repair)
            assert doc["text"] == (repo / rel).read_text(encoding="utf-8"), rel
        if rel.endswith(".py"):
            ast.parse(doc["text"])
    assert _meta(code["perl/I18N/LangTags/Detect.pm"])["license"] == "Artistic-1.0-Perl OR GPL-1.0-or-later"
    assert {_meta(d)["code_language"] for d in code.values()} >= {"Go", "Rust", "Perl", "Python", "JavaScript"}


def test_junk_files_are_rejected_at_the_code_stage_with_reasons(run):
    _, _, _, _, rows = run
    reasons = {r["id"].removeprefix("repo/"): (r["stage"], r["reason"]) for r in rows["rejections"]}
    assert reasons["go/src/html/template/jsctx_string.go"] == ("code", "auto_generated")
    assert reasons["python/django/contrib/admin/static/admin/js/vendor/jquery/jquery.min.js"] == ("code", "vendored")
    assert reasons["py/blob.py"][0] in ("read", "normalize")  # binary: rejected before the code branch
    duplicates = {d["id"]: d["duplicate_of"] for d in rows["duplicates"]}
    assert duplicates.get("repo/py/textwrap_copy.py") == "repo/py/textwrap.py"


def test_secrets_are_redacted_and_written_nowhere(run):
    _, out, _, _, rows = run
    settings = next(d for d in rows["docs"] if d["id"] == "repo/py/settings.py")
    assert f"secret={len(PLANTED)}" in _meta(settings)["redactions"].split(",")  # (and pprint's author's e-mail)
    ast.parse(settings["text"])
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in PLANTED.values():
                assert value.encode() not in data, (path, value)


def test_prose_of_the_same_run_is_curated_as_prose(run):
    _, _, _, _, rows = run
    prose = [d for d in rows["docs"] if d["source"] == "prose"]
    assert prose and all(d["lang"] != "zxx_Zyyy" and d["lang_score"] is not None for d in prose)
    assert all("code_language" not in _meta(d) for d in prose)
    assert any(r["source"] == "prose" and r["stage"] == "filter" for r in rows["rejections"])


def test_the_report_counts_programming_languages(run):
    _, out, _, _, _ = run
    counts = [json.loads(line) for line in (out / "counts" / "curate.jsonl").read_text().splitlines()]
    languages = {r["reason"]: r["count"] for r in counts if r["outcome"] == "code_language"}
    assert languages["Rust"] == 4 and languages["Python"] >= len(PYTHON)


def test_code_sources_are_shingled_as_code():
    sources = [{"name": "web", "type": "jsonl"}, {"name": "repo", "type": "code"},
               {"name": "mixed", "type": "jsonl", "shingles": {"word_ngram": 3}}]  # fmt: skip
    settings = DedupSettings.from_config({}, sources)
    own = dict(settings.source_shingles)
    assert set(own) == {"repo", "mixed"} and settings.source_order == ("web", "repo", "mixed")
    assert not own["repo"].casefold and not own["repo"].digits and own["repo"].word_ngram == 5
    assert own["mixed"].casefold and own["mixed"].word_ngram == 3
    # an index built with code in it stays usable by a later run over other sources
    assert settings.signature_params() == DedupSettings.from_config({}, ["web"]).signature_params()


def test_a_code_file_stays_code_whatever_the_topic_annotator_says():
    doc = {"id": "repo/x.py", "meta": {"domain": "code", "code_language": "Python"}, "text": "x = 1\n"}
    topic = {"status": "ok", "label": "entertainment", "score": None}
    (out,) = attach_annotations(("repo/x.py", {"docs": [doc], "domain": [topic]}))
    assert out["domain"] == "code"
    prose = {"id": "web/1", "meta": {}, "text": "words"}
    (out,) = attach_annotations(("web/1", {"docs": [prose], "domain": [topic]}))
    assert out["domain"] == "other"


def test_a_recipe_can_take_source_files_by_licence(run):
    """On curate's real output: a permissive-only code recipe keeps the Perl modules (Artistic/GPL "same terms as
    Perl"), drops files with no licence found, and leaves prose alone."""
    from curation.mixture import Recipe, code_license_allowed, recipe_from_config

    _, _, _, _, rows = run
    docs = {d["id"]: d for d in rows["docs"]}
    perl_ok = ["Artistic-1.0-Perl", "MIT"]
    assert code_license_allowed(docs["repo/perl/I18N/LangTags/Detect.pm"], perl_ok)
    assert not code_license_allowed(docs["repo/go/src/sort/sort.go"], perl_ok)  # no licence in the file itself
    assert all(code_license_allowed(d, perl_ok) for d in rows["docs"] if d["source"] == "prose")
    recipe = recipe_from_config({"name": "code", "seq_len": 4096, "code_licenses": perl_ok})
    assert recipe.code_licenses == ("Artistic-1.0-Perl", "MIT")
    assert Recipe("x", 4096).recipe_id == Recipe("x", 4096, code_licenses=()).recipe_id  # ids of old recipes kept
    assert (
        Recipe("x", 4096).recipe_id
        != recipe_from_config({"name": "x", "seq_len": 4096, "code_licenses": ["MIT"]}).recipe_id
    )
