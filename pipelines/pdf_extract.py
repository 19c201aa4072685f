"""PDF files → Documents (one per file, or per page range for long PDFs) or Rejections with the reason.

Planning opens each PDF once to count pages and splits long ones into page ranges, so the ranges of one huge PDF
spread over workers; extraction re-reads the file (through Beam FileSystems) and extracts one range. A range with
more scanned pages than ``pdf_ocr_pages_per_task`` leaves them as OCR tasks: they spread over workers too, and the
document is put together again by key once its pages are back. All MuPDF and OCR work runs in an isolated child
process under a hard time and memory limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems

from curation.pdf import (
    IsolatedRunner,
    OcrTask,
    PageText,
    PdfError,
    PdfExtraction,
    complete_extraction,
    extract_pdf,
    ocr_pdf_pages,
    page_ranges,
    pdf_info,
)
from curation.records import doc_id, new_document, rejection
from pipelines.isolation import error_detail, error_reason, per_record
from pipelines.metrics import counter
from pipelines.read_lines import match_files

REJECT = "rejections"
PARTIAL = "partial"  # (doc id, (base, extraction)) of a range whose scanned pages went to OCR tasks
OCR = "ocr"  # (doc id, (path, OcrTask))


def _limits(extract: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "max_pages": int(extract.get("pdf_max_pages", 20000)),
        "max_bytes": int(extract.get("pdf_max_bytes", 200_000_000)),
        "pages_per_document": int(extract.get("pdf_pages_per_document", 500)),
        "timeout_s": float(extract.get("pdf_timeout_s", 300)),
        "max_memory_mb": int(extract.get("pdf_max_memory_mb", 4096)) or None,
        "ocr": dict(extract.get("ocr") or {"backend": "none"}),
        "ocr_pages_per_task": int(extract.get("pdf_ocr_pages_per_task", 8)),
    }


def _range_key(rel: str, first: int, last: int, whole: bool) -> str:
    return rel if whole else f"{rel}#p{first}-{last}"


class _IsolatedDoFn(beam.DoFn):
    def __init__(self, source: str, prefix: str, extract: Mapping[str, Any], languages: Sequence[str] = ()):
        self.source = source
        self.prefix = prefix
        self.limits = _limits(extract)
        self.languages = list(languages)
        self.runner: IsolatedRunner | None = None

    def setup(self):
        self.runner = IsolatedRunner(self.limits["timeout_s"], self.limits["max_memory_mb"])

    def teardown(self):
        if self.runner is not None:
            self.runner.close()

    def _rel(self, path: str) -> str:
        return path[len(self.prefix) :] if path.startswith(self.prefix) else path.rsplit("/", 1)[-1]


def _plan_failed(owner: _IsolatedDoFn, readable, err: BaseException):
    """Per-record isolation: a PDF whose planning raised outside the isolated child → its Rejection."""
    path = readable.metadata.path
    base = {"id": doc_id(owner.source, owner._rel(path)), "source": owner.source, "locator": path}
    yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "extract", error_reason(err), error_detail(err)))


def _extract_failed(owner: _IsolatedDoFn, task: tuple[str, str, int, int], err: BaseException):
    path, key, first, last = task
    base = {"id": doc_id(owner.source, key), "source": owner.source, "locator": f"{path}#p{first}-{last}"}
    yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "extract", error_reason(err), error_detail(err)))


class PlanPdfFn(_IsolatedDoFn):
    """ReadableFile → (path, key, first, last, whole) extraction tasks; unreadable PDFs → Rejections."""

    @per_record("extract", on_error=_plan_failed)
    def process(self, readable):
        path = readable.metadata.path
        rel = self._rel(path)
        base = {"id": doc_id(self.source, rel), "source": self.source, "locator": path}
        counter("extract", "pdf_files").inc()
        counter("read", "stored_bytes").inc(readable.metadata.size_in_bytes)  # progress (MB/s, ETA)
        size = readable.metadata.size_in_bytes
        if size > self.limits["max_bytes"]:
            yield beam.pvalue.TaggedOutput(
                REJECT, rejection(base, "extract", "pdf_too_large", f"{size} bytes > {self.limits['max_bytes']}")
            )
            return
        try:
            info = self.runner.run(pdf_info, readable.read())
        except PdfError as err:
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "extract", err.reason, err.detail))
            return
        if info.page_count > self.limits["max_pages"]:
            detail = f"{info.page_count} pages > {self.limits['max_pages']}"
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "extract", "pdf_too_many_pages", detail))
            return
        ranges = page_ranges(info.page_count, self.limits["pages_per_document"])
        if len(ranges) > 1:
            counter("extract", "pdf_split").inc()
        for first, last in ranges:
            yield (path, _range_key(rel, first, last, len(ranges) == 1), first, last)


class ExtractPdfRangeFn(_IsolatedDoFn):
    """One (path, key, first, last) task → one Document, or a Rejection saying why it yields none."""

    @per_record("extract", on_error=_extract_failed)
    def process(self, task: tuple[str, str, int, int]):
        path, key, first, last = task
        base = {"id": doc_id(self.source, key), "source": self.source, "locator": f"{path}#p{first}-{last}"}
        try:
            with FileSystems.open(path) as f:
                data = f.read()
            extraction = self.runner.run(
                extract_pdf,
                data,
                first_page=first,
                last_page=last,
                max_bytes=self.limits["max_bytes"],
                max_pages=self.limits["pages_per_document"] or self.limits["max_pages"],
                ocr=self.limits["ocr"],
                languages=self.languages,
                ocr_pages_per_task=self.limits["ocr_pages_per_task"],
            )
        except PdfError as err:
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "extract", err.reason, err.detail))
            return
        except OSError as err:  # the file vanished or the store failed: say so rather than lose the document
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "extract", "pdf_unreadable", str(err)))
            return
        counter("extract", "ocr_pages").inc(sum(p.method.startswith("ocr_") for p in extraction.pages))  # progress
        if extraction.pending:
            counter("extract", "ocr_tasks").inc(len(extraction.pending))
            yield beam.pvalue.TaggedOutput(PARTIAL, (base["id"], (base, extraction)))
            for task in extraction.pending:
                yield beam.pvalue.TaggedOutput(OCR, (base["id"], (path, task)))
            return
        yield _document(base, extraction, self.source)


def _document(base: dict, extraction: PdfExtraction, source: str) -> dict:
    """The Document of a finished extraction, with its page counters (methods, OCR packs) incremented."""
    counter("extract", "pdf_pages").inc(len(extraction.pages))
    for method, n in extraction.method_counts().items():
        counter("extract", f"pages_{method}").inc(n)
    unmapped = sum(p.unmapped for p in extraction.pages)
    if unmapped:
        counter("extract", "unmapped_glyphs_dropped").inc(unmapped)
    meta = {str(k): str(v) for k, v in extraction.meta.items()}
    return new_document(base["id"], extraction.text, source, base["locator"], meta)


def _ocr_failed(owner: _IsolatedDoFn, item: tuple[str, tuple[str, OcrTask]], err: BaseException):
    key, (_, task) = item
    yield key, _failed_pages(task, error_reason(err))


def _failed_pages(task: OcrTask, reason: str) -> list[PageText]:
    return [PageText(n, "", "ocr_failed", f"ocr_task: {reason}"[:200]) for n in task.numbers]


class OcrPagesFn(_IsolatedDoFn):
    """(doc id, (path, OcrTask)) → (doc id, pages): every page of the task comes back, read or ``ocr_failed``."""

    @per_record("extract", on_error=_ocr_failed)
    def process(self, item: tuple[str, tuple[str, OcrTask]]):
        key, (path, task) = item
        try:
            with FileSystems.open(path) as f:
                data = f.read()
            pages = self.runner.run(ocr_pdf_pages, data, task, self.limits["ocr"])
        except PdfError as err:  # a page that hangs Tesseract past the time limit fails its task, not the job
            pages = _failed_pages(task, err.reason)
        except OSError as err:
            pages = _failed_pages(task, f"pdf_unreadable: {err}")
        counter("extract", "ocr_pages").inc(len(pages))
        yield key, pages


class AssemblePdfFn(beam.DoFn):
    """(doc id, {partial: [(base, extraction)], ocr: [pages, ...]}) → the Document, or its Rejection."""

    def __init__(self, source: str):
        self.source = source

    def process(self, item):
        _, groups = item
        for base, extraction in groups[PARTIAL]:  # exactly one per key: ids are unique per range
            pages = [page for chunk in groups[OCR] for page in chunk]
            try:
                done = complete_extraction(extraction, pages)
            except PdfError as err:
                yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "extract", err.reason, err.detail))
                continue
            yield _document(base, done, self.source)


class ReadPdfs(beam.PTransform):
    """Glob → {"docs", "rejections"}; every matched PDF (or page range of one) lands in exactly one."""

    def __init__(
        self,
        pattern: str,
        source: str,
        prefix: str,
        extract: Mapping[str, Any],
        languages: Sequence[str] = (),
        paths: Sequence[str] | None = None,
    ):
        super().__init__()
        self.pattern, self.source, self.prefix, self.extract = pattern, source, prefix, dict(extract)
        self.languages = list(languages)
        self.paths = None if paths is None else list(paths)  # a local batch's share of the glob's files

    def expand(self, pbegin):
        planned = (
            match_files(pbegin, "Pdfs", self.pattern, self.paths)
            | "Open" >> fileio.ReadMatches()
            | "Plan" >> beam.ParDo(PlanPdfFn(self.source, self.prefix, self.extract)).with_outputs(REJECT, main="tasks")
        )
        extracted = (
            planned.tasks
            | "SpreadRanges" >> beam.Reshuffle()
            | "Extract"
            >> beam.ParDo(ExtractPdfRangeFn(self.source, self.prefix, self.extract, self.languages)).with_outputs(
                REJECT, PARTIAL, OCR, main="docs"
            )
        )
        ocr_pages = (
            extracted[OCR]
            | "SpreadOcrTasks" >> beam.Reshuffle()
            | "OcrPages" >> beam.ParDo(OcrPagesFn(self.source, self.prefix, self.extract))
        )
        assembled = (
            {PARTIAL: extracted[PARTIAL], OCR: ocr_pages}
            | "JoinOcrPages" >> beam.CoGroupByKey()
            | "Assemble" >> beam.ParDo(AssemblePdfFn(self.source)).with_outputs(REJECT, main="docs")
        )
        docs = (extracted.docs, assembled.docs) | "PdfDocs" >> beam.Flatten()
        rejections = (planned[REJECT], extracted[REJECT], assembled[REJECT]) | "PdfRejections" >> beam.Flatten()
        return {"docs": docs, "rejections": rejections}
