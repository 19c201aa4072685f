"""One interface for every OCR backend: page images in, one text per page out.

A page travels as a PNG (``PageImage``) so OCR can run in another process or stage than extraction (PyMuPDF pages
cannot be pickled), and so a batch can mix pages of many PDFs: a vision server is only busy with many requests in
flight. A failed page is an ``OcrResult`` with ``error`` set, never an exception for the whole batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pymupdf

if TYPE_CHECKING:
    from curation.pdf.ocr.script_detect import OcrDecision

MAX_PIXELS = 40_000_000  # a poster-sized page at 300 dpi would be gigabytes; above this the dpi is lowered


@dataclass(frozen=True)
class PageImage:
    number: int  # 1-based page number in its PDF
    png: bytes
    dpi: int  # resolution the PNG was rendered at (Tesseract needs it to size glyphs)


@dataclass(frozen=True)
class OcrResult:
    text: str
    confidence: float | None  # 0..1 where the backend reports one; None where it does not
    backend: str
    error: str | None = None  # set when this page failed (text is then "" or what arrived before the failure)
    decision: OcrDecision | None = None  # script, packs and how they were chosen (Tesseract)
    runs: int = 0  # OCR engine runs spent on the page (detection included); 0 where not counted

    @property
    def ok(self) -> bool:
        return self.error is None


def render_page(page: pymupdf.Page, dpi: int = 300, *, gray: bool = False) -> PageImage:
    """Render ``page`` to a PNG at ``dpi`` (lowered so the image stays under ``MAX_PIXELS``).

    RGB by default: MuPDF's Tesseract writer returns no text for gray pixmaps, and colour helps vision models
    separate table rules, links and highlights; ``gray`` halves the PNG for backends that take it. The PNG
    records its dpi, so a PNG opened again as a document has the page's size.
    """
    width_in, height_in = page.rect.width / 72, page.rect.height / 72
    pixels = width_in * height_in * dpi * dpi
    if pixels > MAX_PIXELS:
        dpi = max(36, int(dpi * (MAX_PIXELS / pixels) ** 0.5))
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY if gray else pymupdf.csRGB, alpha=False)
    pix.set_dpi(dpi, dpi)
    return PageImage(number=page.number + 1, png=pix.tobytes("png"), dpi=dpi)


class OcrBackend(ABC):
    """Recognise text on page images. Heavy state (language data, HTTP settings) lives in the constructor."""

    name: str = "ocr"
    dpi: int = 300  # resolution callers should render at for this backend
    gray: bool = False  # whether callers may render gray for this backend

    @abstractmethod
    def recognize(self, pages: list[PageImage], languages: list[str]) -> list[OcrResult]:
        """One result per page, in input order. ``languages``: ISO 639-3 codes, optionally ``_Script``
        (``fas_Arab``, ``zho_Hans``), or bare ISO 15924 scripts (``Cyrl``); used as hints."""

    def recognize_page(self, page: pymupdf.Page, languages: list[str]) -> OcrResult:
        """OCR one live PyMuPDF page (renders it at this backend's dpi)."""
        return self.recognize([render_page(page, self.dpi, gray=self.gray)], languages)[0]


def parse_language(tag: str) -> tuple[str | None, str | None]:
    """``fas_Arab`` → (fas, Arab); ``eng`` → (eng, None); ``Cyrl`` → (None, Cyrl); ``zh-Hans`` → (zh, Hans)."""
    tag = tag.strip().replace("-", "_")
    if not tag:
        return None, None
    if len(tag) == 4 and tag[0].isupper() and tag[1:].islower():
        return None, tag
    lang, _, script = tag.partition("_")
    script = script[:1].upper() + script[1:].lower() if len(script) == 4 else None
    return lang.lower() or None, script
