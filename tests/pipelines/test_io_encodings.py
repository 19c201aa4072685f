"""ReadSources on real legacy-encoded files with the real runner: text files and a KOI8-R JSONL file are decoded
and labelled, the sample's corrupt UTF-8 line stays a rejection, binary files are rejected, nothing is lost."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import apache_beam as beam
import pytest

from curation.records import new_document
from pipelines.curate_steps import NormalizeFn
from pipelines.io import ReadSources
from pipelines.options import beam_options

ROOT = Path(__file__).resolve().parents[2]
CHARSET = ROOT / "tests" / "fixtures" / "charset"


def run_read(sources: list[dict], tmp_path: Path) -> tuple[list[dict], list[dict]]:
    out = tmp_path / "out"
    with beam.Pipeline(options=beam_options(["--direct_num_workers=1"])) as p:
        read = p | ReadSources(sources, {})
        for name in ("docs", "rejections"):
            (
                read[name]
                | f"Json {name}" >> beam.Map(json.dumps)
                | f"Write {name}" >> beam.io.WriteToText(str(out / name))
            )
    return tuple(
        [json.loads(line) for f in sorted(out.glob(f"{name}-*")) for line in f.read_text().splitlines()]
        for name in ("docs", "rejections")
    )


@pytest.mark.slow
def test_legacy_text_files_and_jsonl_are_decoded_and_labelled(tmp_path):
    texts = tmp_path / "texts"
    texts.mkdir()
    for name in ("README.koi8-r", "example-gbk.tex", "simple-sjis.tex", "samplebook.cp1256.tex"):
        shutil.copy(CHARSET / name, texts / f"{name}.txt")
    (texts / "gzipped.txt.gz").write_bytes(gzip.compress((CHARSET / "karabas.cp866.tex").read_bytes()))
    (texts / "utf8.txt").write_bytes((ROOT / "tests/fixtures/mixture/ls.1.ru.txt").read_bytes())
    (texts / "binary.txt").write_bytes(Path("/bin/ls").read_bytes()[:3000])
    jsonl = tmp_path / "jsonl"
    jsonl.mkdir()
    koi8_lines = [ln for ln in (CHARSET / "README.koi8-r").read_bytes().decode("koi8_r").splitlines() if ln.strip()]
    records = [json.dumps({"id": f"r{i}", "text": ln}, ensure_ascii=False) for i, ln in enumerate(koi8_lines)]
    (jsonl / "koi8.jsonl").write_bytes("\n".join(records).encode("koi8_r") + b"\n")
    shutil.copy(ROOT / "data/sample/text/bad_input.jsonl", jsonl / "bad_input.jsonl")

    docs, rejections = run_read(
        [
            {"name": "txt", "type": "text", "paths": [str(texts / "*")]},
            {"name": "js", "type": "jsonl", "paths": [str(jsonl / "*.jsonl")]},
        ],
        tmp_path,
    )
    by_id = {d["id"]: d for d in docs}
    expected = {
        "txt/README.koi8-r.txt": ("koi8-r", "koi8_r", CHARSET / "README.koi8-r"),
        "txt/example-gbk.tex.txt": ("gb18030", "gb18030", CHARSET / "example-gbk.tex"),
        "txt/simple-sjis.tex.txt": ("shift_jis", "cp932", CHARSET / "simple-sjis.tex"),
        "txt/samplebook.cp1256.tex.txt": ("windows-1256", "cp1256", CHARSET / "samplebook.cp1256.tex"),
        "txt/gzipped.txt.gz": ("ibm866", "cp866", CHARSET / "karabas.cp866.tex"),
    }
    for doc_id, (label, codec, path) in expected.items():
        assert by_id[doc_id]["meta"]["source_encoding"] == label
        assert by_id[doc_id]["text"] == path.read_bytes().decode(codec)
    assert "source_encoding" not in by_id["txt/utf8.txt"]["meta"]
    koi8 = [d for d in docs if d["locator"].split("#")[0].endswith("koi8.jsonl")]
    assert sorted(d["text"] for d in koi8) == sorted(koi8_lines)
    # lines that needed it carry the file's encoding; ASCII-only lines read the same in any encoding
    assert {d["text"].isascii(): d["meta"].get("source_encoding") for d in koi8} == {False: "koi8-r", True: None}
    reasons = {r["id"]: (r["stage"], r["reason"], r["detail"]) for r in rejections}
    assert reasons["txt/binary.txt"][:2] == ("read", "binary_junk")
    (invalid,) = [r for r in rejections if r["reason"] == "invalid_utf8"]  # the sample's Latin-1 line
    assert invalid["stage"] == "read" and "bad_input.jsonl" in invalid["locator"]
    assert "the file is UTF-8" in invalid["detail"]
    # nothing lost: every file and every non-blank line is a document or a rejection
    n_lines = len(records) + sum(1 for ln in (jsonl / "bad_input.jsonl").read_bytes().splitlines() if ln.strip())
    assert len(docs) + len(rejections) == 7 + n_lines


def test_normalize_step_counts_repairs_into_meta():
    french = "Le système Debian est construit sur les idéaux du logiciel libre."
    doc = new_document("d1", french.encode("utf-8").decode("cp1252") + " ﬁn", "src", "loc", {"lang_hint": "fr"})
    (out,) = list(NormalizeFn({}).process(doc))
    assert out["text"] == french + " fin"
    assert out["meta"] == {"lang_hint": "fr", "normalize_repairs": "mojibake_lines=1,ligatures=1"}
    clean = new_document("d2", french, "src", "loc")
    (out,) = list(NormalizeFn({}).process(clean))
    assert out["meta"] == {} and out["text"] == french
    binary = new_document("d3", Path("/bin/ls").read_bytes()[:4000].decode("latin-1"), "src", "loc")
    (rejected,) = list(NormalizeFn({}).process(binary))
    assert rejected.tag == "rejections" and rejected.value["reason"] == "binary_junk"
