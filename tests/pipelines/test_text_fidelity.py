"""What goes in comes out right: real code, Markdown, YAML, poetry-like and preformatted text through
``pipelines.curate`` (quality filters off) keep every byte, apart from the documented repairs (CRLF -> LF here)."""

from __future__ import annotations

import ast
import json
import sysconfig
from pathlib import Path

import pytest
import yaml

from pipelines import curate
from schemas import DOCUMENT, REJECTION
from tests.pipelines.parquet_rows import read_rows

ROOT = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_path("stdlib"))
PYTHON = ("textwrap.py", "json/decoder.py", "argparse.py", "dataclasses.py", "pprint.py")
MARKDOWN = (ROOT / "README.md", ROOT / "docs" / "operations.md", ROOT / "benchmarks" / "README.md")
YAML = (ROOT / "configs" / "default.yaml", ROOT / "configs" / "qwen3_36t.yaml")
PREFORMATTED = tuple(sorted((ROOT / "tests" / "fixtures" / "mixture").glob("ls.1.*.txt")))
UNKNOWN_SCRIPT = "script/javanese"
FILTERS_OFF = "filters={gopher_quality: false, gopher_repetition: false, c4: false, fineweb: false}"


def _inputs() -> dict[str, str]:
    texts = {f"py/{name}": (STDLIB / name).read_text(encoding="utf-8") for name in PYTHON}
    texts.update({f"md/{p.name}": p.read_text(encoding="utf-8") for p in MARKDOWN})
    texts.update({f"yaml/{p.name}": p.read_text(encoding="utf-8") for p in YAML})
    texts.update({f"pre/{p.name}": p.read_text(encoding="utf-8") for p in PREFORMATTED})
    # verse-like layout: indented continuation lines, a blank line between stanzas, trailing spaces and a tab
    texts["verse/indented"] = "".join(
        f"{line}\n    {cont}  \n\t{third}\n\n"
        for line, cont, third in zip(
            texts["md/README.md"].splitlines()[::7][:12],
            texts["md/operations.md"].splitlines()[::5][:12],
            texts["pre/" + PREFORMATTED[0].name].splitlines()[::9][:12],
            strict=False,
        )
    )
    texts["py/crlf_string.py"] = (STDLIB / "string.py").read_text(encoding="utf-8").replace("\n", "\r\n")  # Windows
    return texts


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> tuple[dict[str, str], dict[str, dict], list[dict]]:
    root = tmp_path_factory.mktemp("fidelity")
    texts = _inputs()
    records = {**texts, UNKNOWN_SCRIPT: "ꦲꦺꦴꦫꦲꦤꦲꦸꦮꦺꦴꦁꦱꦶꦗꦶ ꦲꦺꦴꦫꦲꦤ\n"}  # Javanese script: no LID language uses it
    (root / "in.jsonl").write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in records.items()))
    out = root / "out"
    sources = f"sources=[{{name: fidelity, type: jsonl, paths: ['{root}/in.jsonl']}}]"
    curate.run(["--output", str(out), "--set", sources, "--set", FILTERS_OFF, "--set", "dedup.near=false"])
    rows = read_rows(str(out / "curated" / "documents-*.parquet"), DOCUMENT)
    docs = {d["id"].removeprefix("fidelity/"): d for d in rows}
    rejected = read_rows(str(out / "curated" / "rejections-*.parquet"), REJECTION)
    return texts, docs, rejected


def test_every_byte_survives_curation_except_documented_repairs(curated):
    texts, docs, rejected = curated
    assert [(r["id"], r["stage"], r["reason"]) for r in rejected] == [
        (f"fidelity/{UNKNOWN_SCRIPT}", "langid", "unknown_script")  # named, not kept as und_Zyyy
    ]
    assert rejected[0]["detail"].startswith("script Java, ")
    assert set(docs) == set(texts)
    for doc_id, original in texts.items():
        expected = original.replace("\r\n", "\n")
        assert docs[doc_id]["text"] == expected, doc_id
    repairs = {k: dict(docs[k]["meta"] or {}).get("normalize_repairs") for k in texts}
    assert repairs.pop("py/crlf_string.py") == f"newlines={texts['py/crlf_string.py'].count(chr(10))}"
    assert not any(repairs.values()), repairs


def test_code_still_parses_and_yaml_still_loads(curated):
    texts, docs, _ = curated
    for doc_id in texts:
        if doc_id.startswith("py/"):
            ast.parse(docs[doc_id]["text"])
        if doc_id.startswith("yaml/"):
            assert yaml.safe_load(docs[doc_id]["text"]) == yaml.safe_load(texts[doc_id])
    table = [line for line in docs["md/operations.md"]["text"].splitlines() if line.startswith("| ")]
    assert table and all(line.endswith("|") for line in table)  # Markdown tables intact, row by row
