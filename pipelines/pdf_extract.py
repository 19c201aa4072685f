"""PDF files → Documents (page-level text layer via PyMuPDF) or Rejections with the reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import apache_beam as beam

from curation.pdf import PdfError, extract_pdf
from curation.records import doc_id, new_document, rejection
from pipelines.metrics import counter


class ExtractPdfFn(beam.DoFn):
    """One PDF file → one Document; a bad PDF becomes a Rejection and the run goes on."""

    def __init__(self, source: str, prefix: str, extract: Mapping[str, Any]):
        self.source = source
        self.prefix = prefix
        self.max_pages = int(extract.get("pdf_max_pages", 2000))
        self.max_bytes = int(extract.get("pdf_max_bytes", 200_000_000))

    def process(self, readable):
        path = readable.metadata.path
        rel = path[len(self.prefix) :] if path.startswith(self.prefix) else path.rsplit("/", 1)[-1]
        base = {"id": doc_id(self.source, rel), "source": self.source, "locator": path}
        size = readable.metadata.size_in_bytes
        if size > self.max_bytes:
            yield beam.pvalue.TaggedOutput(
                "rejections", rejection(base, "extract", "pdf_too_large", f"{size} bytes > {self.max_bytes}")
            )
            return
        try:
            extraction = extract_pdf(readable.read(), max_pages=self.max_pages, max_bytes=self.max_bytes)
        except PdfError as err:
            yield beam.pvalue.TaggedOutput("rejections", rejection(base, "extract", err.reason, err.detail))
            return
        except Exception as err:  # a PDF must never crash the run; keep the message for triage
            yield beam.pvalue.TaggedOutput(
                "rejections", rejection(base, "extract", "pdf_error", f"{type(err).__name__}: {err}")
            )
            return
        pages = extraction.pages
        counter("extract", "pdf_pages").inc(len(pages))
        for page in pages:
            counter("extract", f"pages_{page.method}").inc()
        locator = f"{path}#p1-{extraction.page_count}"
        meta = {str(k): str(v) for k, v in extraction.meta.items()}
        meta["page_methods"] = ",".join(p.method for p in pages)
        yield new_document(base["id"], extraction.text, self.source, locator, meta)
