"""PDF → page texts: text layer in reading order, a per-page router, OCR backends, and hard resource limits."""

from curation.pdf.extract import PAGE_SEPARATOR, PageText, PdfError, PdfExtraction, extract_pdf

__all__ = ["PAGE_SEPARATOR", "PageText", "PdfError", "PdfExtraction", "extract_pdf"]
