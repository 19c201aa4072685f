"""A dirty corpus through the real ``pipelines.run`` (curate → annotate → mix): cut and corrupt compressed files,
invalid and exotic lines, broken Parquet and PDFs beside good files. Nothing stops the job and nothing is lost:
the manifest balances against a count of the input made here, independently of the pipeline, and every record
comes out exactly once (kept, rejected with its reason, or a duplicate).

The corpus is built at test time from real files of the repository (data/sample, tests/fixtures).

Independent count (``expected_inputs``), per file:

* JSONL, plain or compressed and intact: its non-blank lines (``bytes.strip()`` not empty), after decompressing it
  here (and, for a UTF-16/32 file, decoding it from its byte-order mark); a zero-byte file holds none.
* JSONL, compressed and cut: the records a reader could still recover plus 1 for the file's ``truncated_source``
  rejection. "Recoverable" = the non-blank lines whose terminating newline is among the bytes the codec's own
  incremental decompressor yields from the cut file (``tests/curation/sources/cutfiles.py``): the record cut in
  half, and everything after it, is what the file-level rejection stands for.
* text: 1 per file (a cut, binary or empty file is one rejected document).
* Parquet: its rows when it is readable; 1 (``corrupt_source``) when it is zero bytes or cut.
* PDF: 1 per file (none of these is longer than ``extract.pdf_pages_per_document``).
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import run as run_module
from schemas import DOCUMENT, DUPLICATE, REJECTION
from tests.curation.sources.cutfiles import (
    KINDS,
    SUFFIX,
    complete_lines,
    compress,
    non_blank,
    recoverable,
    reference_lines,
)
from tests.pipelines.parquet_rows import read_rows

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TEXT = ROOT / "data" / "sample" / "text"
PDF = ROOT / "data" / "sample" / "pdf"
FIXTURES = ROOT / "tests" / "fixtures"
RUNNER = ["--direct_num_workers=1", "--direct_running_mode=in_memory"]
CHEAP_ANNOTATE = {"mode": "student", "modes": {"edu": "student", "domain": "student", "safety": "student"}}
N_CUT_RECORDS = 2000
UTF16_LANGS = ("deu_Latn", "rus_Cyrl", "spa_Latn")
MIXED_LANGS = ("tur_Latn", "hun_Latn", "por_Latn")  # valid non-ASCII UTF-8 lines beside the invalid ones


def jsonl(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in records)


def paragraphs() -> list[dict]:
    """Real records: the paragraphs of the sample's man pages and licences, each with its own id."""
    out = []
    for name in ("manpages.jsonl", "licenses.jsonl"):
        for line in (TEXT / name).read_bytes().splitlines():
            doc = json.loads(line)
            for i, para in enumerate(doc["text"].split("\n\n")):
                if para.strip():
                    out.append({"id": f"{doc['id']}/p{i}", "text": para})
    return out


def prose(lang: str) -> str:
    return (FIXTURES / "filters" / f"prose.{lang}.txt").read_text(encoding="utf-8")


def build_corpus(root: Path) -> dict:
    """The dirty corpus under ``root``; returns what the test knows about it (cut files, special ids)."""
    js, tx, pqd, pdf = (root / d for d in ("jsonl", "text", "parquet", "pdf"))
    for d in (js, tx, pqd, pdf):
        d.mkdir(parents=True)
    # --- JSONL: good files, a good compressed one, and the sample's deliberately bad lines
    shutil.copy(TEXT / "short.jsonl", js / "short.jsonl")
    shutil.copy(TEXT / "bad_input.jsonl", js / "bad_input.jsonl")
    shutil.copy(FIXTURES / "dedup" / "copyright.jsonl", js / "copyright.jsonl")
    manpages = (TEXT / "manpages.jsonl").read_bytes().splitlines(keepends=True)
    (js / "manpages-head.jsonl.gz").write_bytes(gzip.compress(b"".join(manpages[:12]), mtime=0))
    # --- 2,000 real records, compressed four ways and each cut at half its bytes
    paras = paragraphs()[:N_CUT_RECORDS]
    cut = {}
    for kind in KINDS:
        records = [{"id": f"cut-{kind}/{r['id']}", "text": r["text"]} for r in paras]
        data = compress(jsonl(records), kind)
        name = f"records-{kind}.jsonl{SUFFIX[kind]}"
        (js / name).write_bytes(data[: len(data) // 2])
        cut[name] = kind
    # --- single bad lines, each in a file of its own or among good lines
    lone = json.dumps({"id": "lone-surrogate", "text": prose("eng_Latn")}).replace(" is ", " is \\ud800 ", 1)
    assert "\\ud800" in lone
    (js / "lone_surrogate.jsonl").write_bytes(lone.encode("ascii") + b"\n")
    nested = b"[" * 100_000
    good_around = jsonl([{"id": "around-nested/0", "text": prose("fra_Latn")}])
    (js / "nested.jsonl").write_bytes(good_around + nested + b"\n" + jsonl([{"id": "around-nested/1", "text": "x"}]))
    utf16 = [{"id": f"utf16/{lang}", "text": prose(lang)} for lang in UTF16_LANGS]
    (js / "utf16.jsonl").write_bytes(codecs.BOM_UTF16_LE + jsonl(utf16).decode("utf-8").encode("utf-16-le"))
    valid = [{"id": f"mixed-utf8/{lang}", "text": prose(lang)} for lang in MIXED_LANGS]
    lines = jsonl(valid).splitlines(keepends=True)
    latin1 = json.dumps({"id": "mixed-utf8/latin1", "text": "Größe und Übermaß"}, ensure_ascii=False)
    (js / "invalid_utf8.jsonl").write_bytes(
        lines[0] + latin1.encode("latin-1") + b"\n" + lines[1] + b'{"id": "mixed-utf8/ff", "text": "\xff\xfe"}\n'
        + lines[2]
    )  # fmt: skip
    nul_id = json.dumps({"id": "nul\u0000id", "text": prose("ita_Latn")})
    (js / "nul_id.jsonl").write_bytes(nul_id.encode("ascii") + b"\n")
    pdf_bytes = (PDF / "debian-faq-fr.pdf").read_bytes()[20_000:22_000]  # PDF syntax and deflate streams
    (js / "binary.jsonl").write_bytes(pdf_bytes)
    (js / "empty.jsonl").write_bytes(b"")
    # --- plain text files
    (tx / "prose-fi.txt.gz").write_bytes(gzip.compress(prose("fin_Latn").encode("utf-8"), mtime=0))
    faq = gzip.compress((FIXTURES / "mixture" / "debian-faq.en.txt").read_bytes(), mtime=0)
    (tx / "faq-cut.txt.gz").write_bytes(faq[: len(faq) // 2])
    shutil.copy(FIXTURES / "charset" / "README.koi8-r", tx / "readme-koi8.txt")
    (tx / "binary.txt").write_bytes((ROOT / "annotators" / "students" / "bundled" / "edu.ftz").read_bytes()[:6000])
    (tx / "empty.txt").write_bytes(b"")
    # --- Parquet: two good files (several row groups), a zero-byte and a cut one
    rows1 = [{"id": f"pq-{r['id']}", "text": r["text"], "lang": "en"} for r in paragraphs()[5000:5017]]
    pq.write_table(pa.Table.from_pylist(rows1), pqd / "licenses.parquet", row_group_size=4)
    rows2 = [{"id": json.loads(m)["id"], "text": json.loads(m)["text"]} for m in manpages[12:24]]
    rows2 += [{"id": None, "text": prose("nld_Latn")}, {"id": "no-text", "text": None}]
    rows2 += [{"id": None, "text": prose("nld_Latn")}]  # the same id-less row again: a record of its own
    pq.write_table(pa.Table.from_pylist(rows2), pqd / "manpages.parquet", row_group_size=5)
    (pqd / "zero.parquet").write_bytes(b"")
    whole = (pqd / "licenses.parquet").read_bytes()
    (pqd / "cut.parquet").write_bytes(whole[: len(whole) // 2])
    # --- PDFs: two good ones, the sample's corrupt and encrypted ones
    for name in ("debian-faq-fr.pdf", "debian-faq-de.pdf", "broken.pdf", "encrypted.pdf"):
        shutil.copy(PDF / name, pdf / name)
    sources = [
        {"name": "js", "type": "jsonl", "paths": [str(js / "*")]},
        {"name": "tx", "type": "text", "paths": [str(tx / "*")]},
        {"name": "pq", "type": "parquet", "paths": [str(pqd / "*.parquet")]},
        {"name": "pdf", "type": "pdf", "paths": [str(pdf / "*.pdf")]},
    ]
    return {"dirs": {"js": js, "tx": tx, "pq": pqd, "pdf": pdf}, "cut": cut, "sources": sources}


# ------------------------------------------------------------------------------------- the independent count


def line_id(source: str, rel: str, line: bytes, position: int) -> str:
    """The id a JSONL line's record gets: its own ``id`` when it is a JSON object with one, else a hash of the line
    at its position (byte offset in the decompressed file; line number in a UTF-16/32 file)."""
    try:
        if b"\x00" in line:
            raise ValueError("NUL")
        record = json.loads(line.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        record = None
    if isinstance(record, dict) and record.get("id") not in (None, ""):
        return f"{source}/{record['id']}"
    return f"{source}/{rel}#h{_hash(line.removeprefix(codecs.BOM_UTF8))}@{position}"


def _hash(raw: bytes) -> str:
    """The 8-byte BLAKE2b hex digest a record without an id of its own is keyed by."""
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def jsonl_lines(path: Path) -> list[tuple[int, bytes]]:
    """The non-blank lines of a whole JSONL file with their positions, decoded here from gzip or a UTF-16 BOM."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if raw.startswith(bom) and not raw.startswith(codecs.BOM_UTF32_LE):
            text = raw[len(bom) :].decode(encoding)
            numbered = [(i, line.removesuffix("\r").encode("utf-8")) for i, line in enumerate(text.split("\n"))]
            return [(i, line) for i, line in numbered if line.strip()]
    return [(pos, line) for pos, line in reference_lines(raw) if line.strip()]


def expected_inputs(corpus: dict) -> dict:
    """Per-file record ids known to be in the input; the cut files' recoverable records apart."""
    dirs = corpus["dirs"]
    intact: list[str] = []  # ids of the records of intact files, and of the file-level rejections
    recoverable_ids: dict[str, list[str]] = {}  # cut file name -> ids of the records before the cut
    for path in sorted(dirs["js"].iterdir()):
        if path.name in corpus["cut"]:
            prefix = recoverable(path.read_bytes(), corpus["cut"][path.name])
            lines = complete_lines(prefix)
            whole = reference_lines(prefix)[: len(lines)]
            recoverable_ids[path.name] = [line_id("js", path.name, ln, pos) for pos, ln in whole if ln.strip()]
            assert len(recoverable_ids[path.name]) == non_blank(lines)
            intact.append(f"js/{path.name}#file")
        else:
            intact.extend(line_id("js", path.name, ln, pos) for pos, ln in jsonl_lines(path))
    intact.extend(f"tx/{p.name}" for p in sorted(dirs["tx"].iterdir()))
    for path in sorted(dirs["pq"].iterdir()):
        try:
            rows = pq.read_table(path).to_pylist()
        except (pa.ArrowInvalid, OSError):
            intact.append(f"pq/{path.name}#file")
            continue
        for number, row in enumerate(rows):
            if row["id"]:
                intact.append(f"pq/{row['id']}")
            else:
                intact.append(f"pq/{path.name}#h{_hash(str(row['text']).encode('utf-8', 'replace'))}@{number}")
    intact.extend(f"pdf/{p.name}" for p in sorted(dirs["pdf"].iterdir()))
    return {"intact": intact, "recoverable": recoverable_ids}


# ------------------------------------------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def dirty_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("dirty")
    corpus = build_corpus(root / "corpus")
    config = root / "dirty.yaml"
    config.write_text(json.dumps({"sources": corpus["sources"], "annotate": CHEAP_ANNOTATE}))  # JSON is YAML
    out = root / "out"
    manifest = run_module.main(["--config", str(config), "--output", str(out), *RUNNER])
    outputs = {
        "docs": read_rows(f"{out}/curated/documents-*.parquet", DOCUMENT),
        "rejections": read_rows(f"{out}/curated/rejections-*.parquet", REJECTION),
        "duplicates": read_rows(f"{out}/curated/duplicates-*.parquet", DUPLICATE),
    }
    return {"corpus": corpus, "out": out, "manifest": manifest, "outputs": outputs, "expected": expected_inputs(corpus)}


def _read_before_break(rejections: list[dict], name: str) -> int:
    (row,) = [r for r in rejections if r["id"] == f"js/{name}#file"]
    assert row["reason"] == "truncated_source" and row["stage"] == "read", row
    match = re.search(r"(\d+) records read before the break", row["detail"])
    assert match, row["detail"]
    return int(match.group(1))


def test_the_corpus_really_is_dirty(dirty_run):
    expected = dirty_run["expected"]
    assert len(expected["intact"]) > 150
    for name, ids in expected["recoverable"].items():
        assert 300 < len(ids) < N_CUT_RECORDS, (name, len(ids))  # about half of the 2,000 records precede the cut


def test_the_manifest_balances(dirty_run):
    manifest = dirty_run["manifest"]
    on_disk = json.loads((dirty_run["out"] / "manifest.json").read_text())
    assert on_disk == manifest
    t = manifest["totals"]
    assert manifest["balanced"] and t["input"] == t["kept"] + t["rejected"] + t["duplicate"]
    assert t["kept"] > 0 and t["rejected"] > 0 and t["duplicate"] > 0


def test_input_equals_the_independent_count(dirty_run):
    """Intact files exactly; a cut file counts the records it yielded (at most the recoverable ones) + 1."""
    expected, rejections = dirty_run["expected"], dirty_run["outputs"]["rejections"]
    read = {name: _read_before_break(rejections, name) for name in expected["recoverable"]}
    for name, n in read.items():
        assert 0 <= n <= len(expected["recoverable"][name]), (name, n)
    assert dirty_run["manifest"]["totals"]["input"] == len(expected["intact"]) + sum(read.values())


def test_input_equals_the_independent_count_of_recoverable_records(dirty_run):
    expected, rejections = dirty_run["expected"], dirty_run["outputs"]["rejections"]
    for name, ids in expected["recoverable"].items():
        assert _read_before_break(rejections, name) == len(ids), name
    total = len(expected["intact"]) + sum(len(ids) for ids in expected["recoverable"].values())
    assert dirty_run["manifest"]["totals"]["input"] == total


def test_every_record_comes_out_exactly_once(dirty_run):
    outputs, expected = dirty_run["outputs"], dirty_run["expected"]
    ids = Counter(
        [d["id"] for d in outputs["docs"]]
        + [r["id"] for r in outputs["rejections"]]
        + [d["id"] for d in outputs["duplicates"]]
    )
    twice = {i: n for i, n in ids.items() if n > 1}
    assert not twice, twice
    intact = Counter(expected["intact"])
    assert all(n == 1 for n in intact.values()), "the test corpus itself repeats an id"
    missing = set(intact) - set(ids)
    assert not missing, sorted(missing)[:20]
    recoverable = {i for found in expected["recoverable"].values() for i in found}
    unexpected = set(ids) - set(intact) - recoverable
    assert not unexpected, sorted(unexpected)[:20]
    assert len(ids) == dirty_run["manifest"]["totals"]["input"]
    kept = {d["id"] for d in outputs["docs"]}
    assert {d["duplicate_of"] for d in outputs["duplicates"]} <= kept


def test_the_expected_reasons_appear(dirty_run):
    rejections = {r["id"]: r for r in dirty_run["outputs"]["rejections"]}
    corpus = dirty_run["corpus"]
    for name in corpus["cut"]:
        row = rejections[f"js/{name}#file"]
        assert row["reason"] == "truncated_source" and "records read before the break" in row["detail"]
    assert rejections["tx/faq-cut.txt.gz"]["reason"] == "truncated_source"
    for name in ("zero.parquet", "cut.parquet"):
        assert (rejections[f"pq/{name}#file"]["stage"], rejections[f"pq/{name}#file"]["reason"]) == (
            "read",
            "corrupt_source",
        )
    nested_at = len(jsonl([{"id": "around-nested/0", "text": prose("fra_Latn")}]))
    nested_id = f"js/nested.jsonl#h{_hash(b'[' * 100_000)}@{nested_at}"
    assert (rejections[nested_id]["stage"], rejections[nested_id]["reason"]) == ("read", "invalid_json")
    assert rejections["pdf/broken.pdf"]["reason"] == "pdf_corrupt"
    assert rejections["pdf/encrypted.pdf"]["reason"] == "pdf_encrypted"
    assert rejections["tx/binary.txt"]["reason"] == "binary_junk"
    assert rejections["tx/empty.txt"]["reason"] == "empty_text"
    assert rejections["pq/no-text"]["reason"] == "missing_text"
    assert (rejections["js/nul\x00id"]["stage"], rejections["js/nul\x00id"]["reason"]) == ("read", "invalid_id")
    invalid = [r for r in rejections.values() if r["locator"] and "invalid_utf8.jsonl" in r["locator"]]
    assert sorted(r["reason"] for r in invalid) == ["invalid_utf8", "invalid_utf8"], invalid
    binary = [r for r in rejections.values() if r["locator"] and "/jsonl/binary.jsonl" in r["locator"]]
    assert binary and all(r["stage"] == "read" for r in binary)
    reasons = {(r["stage"], r["reason"]) for r in rejections.values()}
    assert ("read", "missing_text") in reasons and ("normalize", "empty_text") in reasons


def test_repaired_and_re_encoded_records_are_kept_and_labelled(dirty_run):
    docs = {d["id"]: d for d in dirty_run["outputs"]["docs"]}
    lone = docs["js/lone-surrogate"]
    assert dict(lone["meta"])["lone_surrogates"] == "1" and "\ufffd" in lone["text"]
    for lang in UTF16_LANGS:
        doc = docs[f"js/utf16/{lang}"]
        assert dict(doc["meta"])["source_encoding"] == "utf-16-le"
        assert doc["text"].split()[:20] == prose(lang).split()[:20]
    # a short README of mostly punctuation lines: the filters may reject it, but only after reading it as Russian
    rejected = {r["id"]: r for r in dirty_run["outputs"]["rejections"]}
    koi8 = docs.get("tx/readme-koi8.txt") or rejected["tx/readme-koi8.txt"]
    assert koi8["lang"] == "rus_Cyrl", koi8


def test_all_good_documents_are_written(dirty_run):
    docs = {d["id"]: d for d in dirty_run["outputs"]["docs"]}
    dups = {d["id"] for d in dirty_run["outputs"]["duplicates"]}
    good = ["pdf/debian-faq-fr.pdf", "pdf/debian-faq-de.pdf", "tx/prose-fi.txt.gz"]
    nld_row = f"pq/manpages.parquet#h{_hash(prose('nld_Latn').encode())}@12"
    good += ["js/around-nested/0", "js/lone-surrogate", nld_row]
    good += [f"js/mixed-utf8/{lang}" for lang in MIXED_LANGS] + [f"js/utf16/{lang}" for lang in UTF16_LANGS]
    assert [i for i in good if i not in docs] == []
    (again,) = [d for d in dirty_run["outputs"]["duplicates"] if d["id"].startswith("pq/manpages.parquet#h")]
    assert again["id"].endswith("@14") and again["duplicate_of"] == nld_row
    # the good files' records: each kept or a duplicate unless a filter rejected it with its reason
    rejected = {r["id"]: r for r in dirty_run["outputs"]["rejections"]}
    for path in ("short.jsonl", "copyright.jsonl"):
        for line in (dirty_run["corpus"]["dirs"]["js"] / path).read_bytes().splitlines():
            rid = "js/" + json.loads(line)["id"]
            assert rid in docs or rid in dups or rejected[rid]["stage"] in ("normalize", "langid", "filter", "dedup")
    assert sum(d["source"] == "pq" for d in docs.values()) >= 10
    out = dirty_run["out"]
    assert list(out.glob("annotations/edu-*.parquet")) and list(out.glob("shards/S1/part-*.parquet"))


# ------------------------------------------------------------------------------------- a glob matching nothing


def _write_config(path: Path, sources: list[dict]) -> Path:
    path.write_text(json.dumps({"sources": sources, "annotate": CHEAP_ANNOTATE}))
    return path


def test_a_glob_that_matches_nothing_stops_the_run_before_any_job(tmp_path):
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    shutil.copy(PDF / "debian-faq-fr.pdf", pdfs / "debian-faq-fr.pdf")  # lower-case .pdf: "*.PDF" matches nothing
    sources = [
        {"name": "short", "type": "jsonl", "paths": [str(TEXT / "short.jsonl")]},
        {"name": "scans", "type": "pdf", "paths": [str(pdfs / "*.PDF")]},
    ]
    out = tmp_path / "out"
    config = _write_config(tmp_path / "c.yaml", sources)
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.run", "--config", str(config), "--output", str(out), *RUNNER],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "scans" in last and "*.PDF" in last and "allow_empty" in last, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert not list(out.rglob("*.parquet")) and not (out / "_markers").exists()

    sources[1]["allow_empty"] = True
    config = _write_config(tmp_path / "c.yaml", sources)
    manifest = run_module.main(
        ["--config", str(config), "--output", str(tmp_path / "out2"), "--pipelines", "curate", *RUNNER]
    )
    t = manifest["totals"]
    assert manifest["balanced"] and t["input"] == 32  # short.jsonl's records; the empty glob adds none
