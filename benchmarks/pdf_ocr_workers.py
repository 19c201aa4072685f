"""Scanned pages of one document over several workers: ``pdf_ocr_pages_per_task`` on vs off (issue 19).

    python benchmarks/pdf_ocr_workers.py [--pages 16] [--per-task 4] [--workers 2] [--pdf PATH --first 3]

A scanned book is one document; read inline, all its pages are OCR'd one after another by the worker that got the
PDF while the other workers idle. With OCR tasks the extraction step reads the first scanned page (it seeds the
script and language decision) and sends the rest as tasks of ``--per-task`` pages through a reshuffle; the
document is put together again by id. The input is real: ``--pages`` consecutive pages of a born-digital Debian
manual (default: the Russian Debian FAQ in ../shared/CORPORA.md's dev corpora, else the sample's copy), rendered at
150 dpi into a JPEG-only PDF, nothing declared. Both runs use ``ReadPdfs`` on the default runner (FnApiRunner,
``multi_processing``, ``--workers``) in the same process; the ratio is inline wall / tasks wall, with the ideal
(``--workers``) beside it, and the two runs' texts must be identical.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import apache_beam as beam  # noqa: E402
import pymupdf  # noqa: E402

from pipelines.io import static_prefix  # noqa: E402
from pipelines.options import beam_options  # noqa: E402
from pipelines.pdf_extract import ReadPdfs  # noqa: E402

DEV = Path.home() / ".cache/curation-factory/corpora/dev/x/debian-faq-ru/usr/share/doc/debian/FAQ/debian-faq.ru.pdf.gz"
SAMPLE = HERE.parent / "data/sample/pdf/debian-faq-ru.pdf"


def scanned_pdf(source: Path, first: int, pages: int, out: Path, dpi: int = 150) -> Path:
    """``pages`` pages from ``first`` (1-based) of ``source`` as JPEG-only pages (no text layer)."""
    import gzip

    data = gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()
    doc = pymupdf.open()
    with pymupdf.open(stream=data, filetype="pdf") as src:
        for index in range(first - 1, min(first - 1 + pages, src.page_count)):
            page = src[index]
            pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
            new = doc.new_page(width=page.rect.width, height=page.rect.height)
            new.insert_image(new.rect, stream=pix.tobytes("jpeg", jpg_quality=80))
    doc.save(out)
    return out


def run(pdf: Path, per_task: int, workers: int, out: Path) -> tuple[float, list[dict]]:
    extract = {"pdf_ocr_pages_per_task": per_task, "pdf_timeout_s": 3600, "ocr": {"backend": "tesseract"}}
    pattern = str(pdf)
    start = time.perf_counter()
    options = beam_options([f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"])
    with beam.Pipeline(options=options) as p:
        docs = p | ReadPdfs(pattern, "scans", static_prefix(pattern), extract)
        docs["docs"] | beam.Map(json.dumps) | beam.io.WriteToText(str(out / "docs"))
        docs["rejections"] | "Rej" >> beam.Map(json.dumps) | "WriteRej" >> beam.io.WriteToText(str(out / "rej"))
    wall = time.perf_counter() - start
    rows = [json.loads(line) for f in sorted(out.glob("docs-*")) for line in f.read_text().splitlines()]
    return wall, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", type=Path, default=DEV if DEV.exists() else SAMPLE)
    parser.add_argument("--first", type=int, default=3, help="first page (1-based)")
    parser.add_argument("--pages", type=int, default=16)
    parser.add_argument("--per-task", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pdf = scanned_pdf(args.pdf, args.first, args.pages, root / "scanned.pdf")
        n = pymupdf.open(pdf).page_count
        (root / "inline").mkdir()
        (root / "tasks").mkdir()
        inline, inline_docs = run(pdf, 0, args.workers, root / "inline")
        tasks, task_docs = run(pdf, args.per_task, args.workers, root / "tasks")
    assert len(inline_docs) == len(task_docs) == 1, (inline_docs, task_docs)
    same = inline_docs[0]["text"] == task_docs[0]["text"]
    sources = [p["source"] for p in json.loads(task_docs[0]["meta"]["ocr_pages"])]
    print(f"# One scanned document over {args.workers} workers (benchmarks/pdf_ocr_workers.py)\n")
    print(f"{n} pages of {args.pdf.name} from page {args.first}, 150 dpi JPEG, nothing declared.\n")
    print("| mode | wall s | s/page |")
    print("|---|---:|---:|")
    print(f"| inline (pdf_ocr_pages_per_task 0) | {inline:.1f} | {inline / n:.2f} |")
    print(f"| tasks of {args.per_task} pages | {tasks:.1f} | {tasks / n:.2f} |")
    print(
        f"\nspeed-up {inline / tasks:.2f}× with {args.workers} workers (ideal {args.workers}×); texts identical: "
        f"{same}; page decisions with tasks: {', '.join(f'{s} {sources.count(s)}' for s in dict.fromkeys(sources))}"
    )


if __name__ == "__main__":
    main()
