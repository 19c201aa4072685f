"""Page-level PDF text through PyMuPDF's text layer, with the method recorded per page.

Pages without a text layer are kept as empty pages marked ``no_text_layer`` so the OCR router (issue 3) can find
them; a PDF that cannot be read at all raises :class:`PdfError` with a Rejection reason instead of crashing a worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pymupdf

PAGE_SEPARATOR = "\n\n"


class PdfError(ValueError):
    """A PDF that yields no document; ``reason`` is the Rejection reason."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class PageText:
    number: int  # 1-based
    text: str
    method: str  # text_layer | no_text_layer | error


@dataclass(frozen=True)
class PdfExtraction:
    pages: list[PageText]
    page_count: int
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return PAGE_SEPARATOR.join(p.text.strip() for p in self.pages if p.text.strip())


def _open(data: bytes) -> pymupdf.Document:
    if not data:
        raise PdfError("pdf_empty", "0 bytes")
    if not data.lstrip()[:1024].startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        raise PdfError("pdf_corrupt", "no %PDF header")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as err:  # PyMuPDF raises FileDataError / RuntimeError variants for broken files
        raise PdfError("pdf_corrupt", f"{type(err).__name__}: {err}") from None
    if doc.needs_pass:
        doc.close()
        raise PdfError("pdf_encrypted", "password required")
    return doc


def _page_text(page: pymupdf.Page) -> tuple[str, str]:
    # sort=True orders blocks top-left to bottom-right, which fixes most single-column reading-order issues.
    text = page.get_text("text", sort=True)
    if text.strip():
        return text, "text_layer"
    return "", "no_text_layer"


def extract_pdf(data: bytes, *, max_pages: int = 2000, max_bytes: int = 200_000_000) -> PdfExtraction:
    """Text of every page of ``data``; a page that fails alone is marked ``error`` and the rest still count."""
    if len(data) > max_bytes:
        raise PdfError("pdf_too_large", f"{len(data)} bytes > {max_bytes}")
    doc = _open(data)
    try:
        if doc.page_count == 0:
            raise PdfError("pdf_no_pages")
        if doc.page_count > max_pages:
            raise PdfError("pdf_too_many_pages", f"{doc.page_count} pages > {max_pages}")
        pages = []
        for index in range(doc.page_count):
            try:
                text, method = _page_text(doc.load_page(index))
            except Exception:  # one damaged page must not lose the document
                text, method = "", "error"
            pages.append(PageText(index + 1, text, method))
        info = {k: str(v) for k, v in (doc.metadata or {}).items() if v}
        meta = {"page_count": str(doc.page_count), **{f"pdf_{k}": v for k, v in info.items()}}
        if not any(p.text.strip() for p in pages):
            raise PdfError("pdf_no_text", f"no page of {doc.page_count} has a text layer")
        return PdfExtraction(pages=pages, page_count=doc.page_count, meta=meta)
    finally:
        doc.close()
