"""ReadPdfs on the real sample PDFs with the real runner: splitting into page ranges, rejections, accounting."""

import json
import shutil
from pathlib import Path

import apache_beam as beam
import pytest

from curation.pdf import extract_pdf
from curation.pdf.ocr import tesseract_languages
from pipelines.io import static_prefix
from pipelines.options import beam_options
from pipelines.pdf_extract import ReadPdfs

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "pdf"

pytestmark = pytest.mark.slow


def run_read_pdfs(extract: dict, tmp_path: Path, glob: str = "*.pdf") -> tuple[list[dict], list[dict]]:
    pattern = str(SAMPLE / glob)
    with beam.Pipeline(options=beam_options(["--direct_num_workers=2"])) as p:
        out = p | ReadPdfs(pattern, "pdfs", static_prefix(pattern), extract)
        for name in ("docs", "rejections"):
            (
                out[name]
                | f"Json {name}" >> beam.Map(json.dumps)
                | f"Write {name}" >> beam.io.WriteToText(str(tmp_path / name))
            )
    read = {
        name: [json.loads(line) for f in sorted(tmp_path.glob(f"{name}-*")) for line in f.read_text().splitlines()]
        for name in ("docs", "rejections")
    }
    return read["docs"], read["rejections"]


def test_long_pdf_is_split_and_every_file_accounted_for(tmp_path):
    docs, rejections = run_read_pdfs({"pdf_pages_per_document": 30, "pdf_timeout_s": 120}, tmp_path)
    ids = sorted(d["id"] for d in docs)
    faq = [i for i in ids if i.startswith("pdfs/debian-faq-en.pdf")]
    assert faq == ["pdfs/debian-faq-en.pdf#p1-30", "pdfs/debian-faq-en.pdf#p31-60", "pdfs/debian-faq-en.pdf#p61-73"]
    assert {r["id"]: r["reason"] for r in rejections} == {
        "pdfs/broken.pdf": "pdf_corrupt",
        "pdfs/encrypted.pdf": "pdf_encrypted",
        "pdfs/scanned-faq-ru-maint-guide-ja.pdf": "pdf_no_text",  # no OCR configured: nothing to read
    }
    files = {p.name for p in SAMPLE.glob("*.pdf")}
    covered = {i.split("/", 1)[1].split("#")[0] for i in ids} | {r["id"].split("/", 1)[1] for r in rejections}
    assert covered == files
    part = next(d for d in docs if d["id"].endswith("#p31-60"))
    assert part["meta"]["pages"] == "31-60" and part["meta"]["page_count"] == "73"
    assert part["locator"].endswith("debian-faq-en.pdf#p31-60")


def test_limits_reject_instead_of_stalling(tmp_path):
    _, rejections = run_read_pdfs({"pdf_max_pages": 15, "pdf_max_bytes": 320_000}, tmp_path)
    reasons = {r["id"].split("/", 1)[1]: r["reason"] for r in rejections}
    assert reasons == {
        "broken.pdf": "pdf_corrupt",
        "encrypted.pdf": "pdf_encrypted",
        "debian-faq-en.pdf": "pdf_too_large",  # 343 KB
        "texlive-arabic-arabi-user-guide.pdf": "pdf_too_large",  # 327 KB
        "texlive-arabic-lshort-persian.pdf": "pdf_too_many_pages",  # 305 KB, 20 pages
        "scanned-faq-ru-maint-guide-ja.pdf": "pdf_no_text",  # 207 KB, 3 pages, no OCR configured
    }


@pytest.mark.skipif(
    shutil.which("tesseract") is None or not {"eng", "rus", "jpn"} <= tesseract_languages(),
    reason="tesseract with eng, rus and jpn packs is not installed (.ci/run installs docker/tesseract-packs.txt)",
)
def test_scanned_pages_spread_over_workers_and_come_back_as_one_document(tmp_path):
    """pdf_ocr_pages_per_task=1: the scanned PDF's pages 2 and 3 are OCR tasks, joined back by document id."""
    ocr = {"backend": "tesseract", "dpi": 200}
    extract = {"pdf_ocr_pages_per_task": 1, "ocr": ocr, "pdf_timeout_s": 300}
    docs, rejections = run_read_pdfs(extract, tmp_path / "tasks", "scanned-*.pdf")
    assert rejections == [] and len(docs) == 1
    doc = docs[0]
    assert doc["id"] == "pdfs/scanned-faq-ru-maint-guide-ja.pdf"
    pages = json.loads(doc["meta"]["ocr_pages"])
    assert [(p["page"], p["script"], p["source"]) for p in pages] == [
        (1, "Cyrl", "detected"), (2, "Cyrl", "document"), (3, "Jpan", "detected"),
    ]  # fmt: skip
    assert doc["meta"]["page_methods"] == "ocr_tesseract,ocr_tesseract,ocr_tesseract"
    inline = extract_pdf((SAMPLE / "scanned-faq-ru-maint-guide-ja.pdf").read_bytes(), ocr=ocr)
    assert doc["text"] == inline.text  # the same document as one worker reading every page
