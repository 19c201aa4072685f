"""Page-level PDF text: text layer in reading order, a per-page router, OCR where the layer is unusable.

Every page records how its text was obtained (``PageText.method``) so later stages and reports can tell born-digital
text from OCR. A PDF that cannot be read at all raises :class:`PdfError` with a Rejection reason.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pymupdf

from curation.pdf.errors import PdfError
from curation.pdf.layout import page_text, strip_repeated_lines
from curation.pdf.ocr import OcrBackend, TesseractOcr, build_ocr_backend, parse_language, render_page
from curation.pdf.ocr.script_detect import OcrDecision
from curation.pdf.router import assess_page, repair_text
from curation.text.scripts import dominant_script, han_variant

PAGE_SEPARATOR = "\n\n"
METADATA_KEYS = ("title", "author", "subject", "keywords", "creator", "producer", "creationDate")


@dataclass(frozen=True)
class PageText:
    number: int  # 1-based page number in the PDF
    text: str
    method: str  # text_layer | ocr_<backend> | ocr_layer | ocr_failed | no_text_layer | blank | error
    reason: str = "ok"  # router verdict that chose the method
    unmapped: int = 0  # glyphs without a Unicode mapping dropped from a usable text layer (MuPDF's U+FFFD)
    ocr: OcrDecision | None = None  # OCR pages: the script and packs that read it, and how they were chosen


@dataclass(frozen=True)
class OcrTask:
    """Pages of one PDF left for OCR elsewhere (another worker), with the language hints of their document."""

    numbers: tuple[int, ...]
    hints: tuple[str, ...]
    prior: OcrDecision | None = None  # how the document's first OCR page was read: the task starts from it


@dataclass(frozen=True)
class PdfExtraction:
    pages: list[PageText]
    page_count: int  # pages in the whole PDF (a range extraction covers fewer)
    meta: dict[str, str] = field(default_factory=dict)
    pending: tuple[OcrTask, ...] = ()  # OCR left to other workers (``ocr_pages_per_task``); empty when complete

    @property
    def text(self) -> str:
        return PAGE_SEPARATOR.join(p.text.strip() for p in self.pages if p.text.strip())

    def method_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for page in self.pages:
            counts[page.method] = counts.get(page.method, 0) + 1
        return counts


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    meta: dict[str, str]


def open_pdf(data: bytes) -> pymupdf.Document:
    """Open ``data`` as a PDF or raise PdfError(pdf_empty | pdf_corrupt | pdf_encrypted | pdf_no_pages)."""
    if not data:
        raise PdfError("pdf_empty", "0 bytes")
    if b"%PDF" not in data[:1024]:
        raise PdfError("pdf_corrupt", "no %PDF header in the first 1024 bytes")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as err:  # PyMuPDF raises FileDataError / RuntimeError variants for broken files
        raise PdfError("pdf_corrupt", f"{type(err).__name__}: {err}") from None
    if doc.needs_pass:
        doc.close()
        raise PdfError("pdf_encrypted", "password required")
    if doc.page_count == 0:
        doc.close()
        raise PdfError("pdf_no_pages")
    return doc


def document_meta(doc: pymupdf.Document) -> dict[str, str]:
    """page_count, title/author/... from the info dictionary, and the catalog's /Lang where present."""
    info = doc.metadata or {}
    meta = {"page_count": str(doc.page_count)}
    meta.update({f"pdf_{k}": str(info[k]).strip() for k in METADATA_KEYS if info.get(k) and str(info[k]).strip()})
    try:
        kind, value = doc.xref_get_key(doc.pdf_catalog(), "Lang")
        if kind == "string" and value.strip():
            meta["pdf_language"] = value.strip()
    except Exception:  # a broken catalog only costs the language hint
        pass
    return meta


def pdf_info(data: bytes) -> PdfInfo:
    """Page count and metadata without extracting text (to plan page ranges)."""
    doc = open_pdf(data)
    try:
        return PdfInfo(doc.page_count, document_meta(doc))
    finally:
        doc.close()


def page_ranges(page_count: int, pages_per_document: int) -> list[tuple[int, int]]:
    """1-based inclusive ranges that split a long PDF into documents of at most ``pages_per_document`` pages."""
    if pages_per_document <= 0 or page_count <= pages_per_document:
        return [(1, page_count)]
    return [(s, min(s + pages_per_document - 1, page_count)) for s in range(1, page_count + 1, pages_per_document)]


@functools.cache
def _ocr_backend(cfg_json: str) -> OcrBackend | None:
    """One backend per process and config (``auto``: Tesseract when its language data is installed, else none)."""
    cfg = json.loads(cfg_json)
    if str(cfg.get("backend", "none")).lower() == "auto":
        try:
            return build_ocr_backend({**cfg, "backend": "tesseract"})
        except RuntimeError:
            return None
    return build_ocr_backend(cfg)


def _hints(pages: Sequence[PageText], declared: Sequence[str]) -> list[str]:
    """OCR language hints: the source's declared languages, else the script of the PDF's own usable text (a script
    only: the OCR backend still names the language of each page)."""
    if declared:
        return list(declared)
    sample = "".join(p.text for p in pages if p.method == "text_layer")[:20000]
    script = dominant_script(sample) if sample else "Zyyy"
    if script in ("Hans", "Hant", "Hani"):
        return [han_variant(sample)]
    return [script] if script != "Zyyy" else []


def _route(page: pymupdf.Page, number: int) -> PageText:
    """Text layer or OCR. A glyph with no Unicode mapping comes out of MuPDF as U+FFFD: too many make the page
    garbled (OCR); on a usable page the few left are dropped and counted, never written (dblatex's wrapped-line
    marker, ``←`` plus a hook glyph of a TeX math font, is one; its CID would read as an unrelated ``-``)."""
    text = page_text(page)
    verdict = assess_page(page, text)
    if verdict.usable:
        unmapped = text.count("\ufffd")
        text = text.replace("\ufffd", "") if unmapped else text
        method = "blank" if verdict.reason == "blank" else "text_layer"
        return PageText(number, repair_text(text), method, verdict.reason, unmapped)
    return PageText(number, text, "needs_ocr", verdict.reason)


def _model_decision(result, hints: list[str]) -> OcrDecision:
    """A backend that reads any script (a vision LLM) decides nothing itself: it records the hint it was given."""
    scripts = [script for _, script in map(parse_language, hints) if script]
    return OcrDecision(
        script=scripts[0] if scripts else "",
        langs=result.backend,
        source="hint" if hints else "model",
        confidence=result.confidence or 0.0,
        good_share=0.0,
    )


def _ocr(
    doc: pymupdf.Document,
    pages: list[PageText],
    backend: OcrBackend | None,
    hints: list[str],
    prior: OcrDecision | None = None,
) -> list[PageText]:
    todo = [i for i, p in enumerate(pages) if p.method == "needs_ocr"]
    if not todo:
        return pages
    out = list(pages)
    if backend is None:  # no OCR configured: a hidden OCR layer is better than nothing, other unusable text is not
        for i in todo:
            p = pages[i]
            keep = p.reason == "invisible_text"
            out[i] = PageText(p.number, p.text if keep else "", "ocr_layer" if keep else "no_text_layer", p.reason)
        return out
    if isinstance(backend, TesseractOcr):  # one page at a time: each page's decision seeds the next one's
        results = []
        for i in todo:
            page = doc.load_page(pages[i].number - 1)
            image = render_page(page, backend.render_dpi(page), gray=backend.gray)
            results.append(backend.recognize_one(image, hints, prior))
            prior = results[-1].decision or prior
    else:  # HTTP backends take the whole batch at once (concurrent requests)
        images = [render_page(doc.load_page(pages[i].number - 1), backend.dpi, gray=backend.gray) for i in todo]
        results = backend.recognize(images, hints)
    for i, result in zip(todo, results, strict=True):
        p = pages[i]
        if result.ok:
            text = repair_text(result.text)
            decision = result.decision or _model_decision(result, hints)
            out[i] = PageText(p.number, text, f"ocr_{backend.name}", p.reason, ocr=decision)
        else:
            out[i] = PageText(p.number, "", "ocr_failed", f"{p.reason}; {result.error}"[:200])
    return out


def route_pages(doc: pymupdf.Document, numbers: Sequence[int]) -> list[PageText]:
    """Route every page (text layer, or ``needs_ocr``) and drop running heads/footers from the text-layer pages."""
    pages = []
    for number in numbers:
        try:
            pages.append(_route(doc.load_page(number - 1), number))
        except Exception as err:  # one damaged page must not lose the document
            pages.append(PageText(number, "", "error", f"{type(err).__name__}: {err}"[:200]))
    layer = [i for i, p in enumerate(pages) if p.method == "text_layer"]
    for i, text in zip(layer, strip_repeated_lines([pages[i].text for i in layer]), strict=True):
        pages[i] = PageText(pages[i].number, text, "text_layer", pages[i].reason, pages[i].unmapped)
    return pages


def _backend(ocr: Mapping[str, Any] | None) -> OcrBackend | None:
    return _ocr_backend(json.dumps(dict(ocr or {}), sort_keys=True))


def extract_pages(
    doc: pymupdf.Document, numbers: Sequence[int], ocr: Mapping[str, Any] | None = None, languages: Sequence[str] = ()
) -> list[PageText]:
    """Route every page (text layer or OCR), drop running heads/footers, then OCR the pages that need it."""
    pages = route_pages(doc, numbers)
    return _ocr(doc, pages, _backend(ocr), _hints(pages, languages))


def ocr_tasks(
    pages: Sequence[PageText], hints: Sequence[str], pages_per_task: int, prior: OcrDecision | None = None
) -> list[OcrTask]:
    """The ``needs_ocr`` pages in chunks of ``pages_per_task``: chunks go to workers in parallel, each starting
    from ``prior`` (the document's first OCR page), and within a chunk each page's decision seeds the next."""
    todo = [p.number for p in pages if p.method == "needs_ocr"]
    size = max(1, pages_per_task)
    return [OcrTask(tuple(todo[i : i + size]), tuple(hints), prior) for i in range(0, len(todo), size)]


def ocr_pdf_pages(data: bytes, task: OcrTask, ocr: Mapping[str, Any]) -> list[PageText]:
    """OCR the pages of one task (on the worker the task went to); every page comes back, failed or not."""
    doc = open_pdf(data)
    try:
        pending = [PageText(n, "", "needs_ocr", "deferred") for n in task.numbers]
        return _ocr(doc, pending, _backend(ocr), list(task.hints), task.prior)
    finally:
        doc.close()


def extract_pdf(
    data: bytes,
    *,
    first_page: int = 1,
    last_page: int | None = None,
    max_pages: int = 2000,
    max_bytes: int = 200_000_000,
    ocr: Mapping[str, Any] | None = None,
    languages: Sequence[str] = (),
    ocr_pages_per_task: int = 0,
) -> PdfExtraction:
    """Text of pages ``first_page..last_page`` (1-based, inclusive; default all) of ``data``.

    ``ocr_pages_per_task`` > 0: when more pages than that need OCR (and a backend is configured), they are not
    read here; the extraction comes back with ``pending`` OCR tasks and is finished by :func:`complete_extraction`
    once the tasks' pages are back (so the pages of one scanned book are read by many workers).
    """
    if len(data) > max_bytes:
        raise PdfError("pdf_too_large", f"{len(data)} bytes > {max_bytes}")
    doc = open_pdf(data)
    try:
        last = doc.page_count if last_page is None else min(last_page, doc.page_count)
        if first_page < 1 or first_page > last:
            raise PdfError("pdf_bad_range", f"pages {first_page}-{last_page} of {doc.page_count}")
        if last - first_page + 1 > max_pages:
            raise PdfError("pdf_too_many_pages", f"{last - first_page + 1} pages > {max_pages}")
        pages = route_pages(doc, range(first_page, last + 1))
        hints = _hints(pages, languages)
        backend = _backend(ocr)
        waiting = sum(p.method == "needs_ocr" for p in pages)
        if backend is not None and 0 < ocr_pages_per_task < waiting:
            # the first OCR page is read here: its script and language detection seeds every task
            first = next(i for i, p in enumerate(pages) if p.method == "needs_ocr")
            pages[first] = _ocr(doc, [pages[first]], backend, hints)[0]
            tasks = ocr_tasks(pages, hints, ocr_pages_per_task, pages[first].ocr)
        else:
            pages, tasks = _ocr(doc, pages, backend, hints), []
        meta = document_meta(doc)
    finally:
        doc.close()
    meta["pages"] = f"{first_page}-{last}"
    if tasks:
        pending = [PageText(p.number, "", p.method, p.reason) if p.method == "needs_ocr" else p for p in pages]
        return PdfExtraction(pages=pending, page_count=int(meta["page_count"]), meta=meta, pending=tuple(tasks))
    return _finish(pages, meta)


def complete_extraction(extraction: PdfExtraction, ocr_pages: Sequence[PageText]) -> PdfExtraction:
    """Put the OCR'd pages of its tasks into a pending extraction (a page that never came back counts as
    ``ocr_failed``); raises PdfError(pdf_no_text) when no page has text, as :func:`extract_pdf` does."""
    done = {p.number: p for p in ocr_pages}
    pages = []
    for page in extraction.pages:
        if page.method != "needs_ocr":
            pages.append(page)
        elif page.number in done:
            pages.append(done[page.number])
        else:
            pages.append(PageText(page.number, "", "ocr_failed", f"{page.reason}; OCR result missing"))
    return _finish(pages, dict(extraction.meta))


def _finish(pages: list[PageText], meta: dict[str, str]) -> PdfExtraction:
    if not any(p.text.strip() for p in pages):
        raise PdfError("pdf_no_text", f"no page of {meta.get('pages', '?')} has usable text")
    result = PdfExtraction(pages=pages, page_count=int(meta["page_count"]), meta=meta)
    meta.update({f"pages_{method}": str(n) for method, n in sorted(result.method_counts().items())})
    meta["page_methods"] = ",".join(p.method for p in pages)
    unmapped = sum(p.unmapped for p in pages)
    if unmapped:
        meta["unmapped_glyphs_dropped"] = str(unmapped)
    meta.update(ocr_meta(pages))
    return result


def ocr_meta(pages: Sequence[PageText]) -> dict[str, str]:
    """Per OCR page, what read it (``ocr_pages``: JSON list), and the document's most used packs and script."""
    decided = [(p.number, p.ocr) for p in pages if p.ocr is not None]
    if not decided:
        return {}
    rows = [
        {"page": n, "script": d.script, "langs": d.langs, "source": d.source, "confidence": round(d.confidence, 3),
         "rotation": d.rotation, "lang": d.lang}
        for n, d in decided
    ]  # fmt: skip
    langs: dict[str, int] = {}
    scripts: dict[str, int] = {}
    for _, d in decided:
        langs[d.langs] = langs.get(d.langs, 0) + 1
        scripts[d.script] = scripts.get(d.script, 0) + 1
    mean = sum(d.confidence for _, d in decided) / len(decided)
    return {
        "ocr_langs": max(langs, key=langs.__getitem__),
        "ocr_script": max(scripts, key=scripts.__getitem__),
        "ocr_confidence": f"{mean:.3f}",
        "ocr_pages": json.dumps(rows, ensure_ascii=False, separators=(",", ":")),
    }
