"""PDF → page texts: text layer in reading order, a per-page router, OCR backends, and hard resource limits."""

from curation.pdf.errors import PdfError
from curation.pdf.extract import (
    PAGE_SEPARATOR,
    OcrTask,
    PageText,
    PdfExtraction,
    PdfInfo,
    complete_extraction,
    extract_pdf,
    ocr_pdf_pages,
    page_ranges,
    pdf_info,
)
from curation.pdf.limits import IsolatedRunner

__all__ = [
    "PAGE_SEPARATOR",
    "IsolatedRunner",
    "OcrTask",
    "PageText",
    "PdfError",
    "PdfExtraction",
    "PdfInfo",
    "complete_extraction",
    "extract_pdf",
    "ocr_pdf_pages",
    "page_ranges",
    "pdf_info",
]
