"""PDF → page texts: text layer in reading order, a per-page router, OCR backends, and hard resource limits."""

from curation.pdf.errors import PdfError
from curation.pdf.extract import (
    PAGE_SEPARATOR,
    PageText,
    PdfExtraction,
    PdfInfo,
    extract_pdf,
    page_ranges,
    pdf_info,
)
from curation.pdf.limits import IsolatedRunner

__all__ = [
    "PAGE_SEPARATOR",
    "IsolatedRunner",
    "PageText",
    "PdfError",
    "PdfExtraction",
    "PdfInfo",
    "extract_pdf",
    "page_ranges",
    "pdf_info",
]
