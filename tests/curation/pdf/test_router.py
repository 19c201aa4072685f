"""Router verdicts on real pages: sample PDFs, pages cut from TeX Live docs, and pages made from them."""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

import pymupdf
import pytest

from curation.pdf.router import (
    REASONS,
    PageVerdict,
    RouterThresholds,
    assess_page,
    font_script,
    repair_text,
    text_stats,
)

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "data" / "sample" / "pdf"
FIXTURES = ROOT / "tests" / "fixtures" / "pdf"
PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]")


def _pages(path: Path):
    with pymupdf.open(path) as doc:
        for page in doc:
            yield page, assess_page(page, page.get_text())


def _verdict(path: Path, number: int = 1) -> PageVerdict:
    with pymupdf.open(path) as doc:
        page = doc[number - 1]
        return assess_page(page, page.get_text())


@pytest.mark.parametrize("name", ["debian-faq-de.pdf", "debian-faq-fr.pdf", "debian-faq-ru.pdf", "maint-guide-ja.pdf"])
def test_born_digital_text_pages_are_ok(name):
    verdicts = [v for _, v in _pages(SAMPLE / name)]
    text_pages = [v for v in verdicts if v.stats["chars"] >= 8]
    assert text_pages and all(v.usable and v.reason == "ok" for v in text_pages)
    assert all(v.reason == "blank" and v.usable for v in verdicts if v.stats["chars"] < 8)


def test_blank_pages_are_blank_not_ocr():
    verdicts = {page.number + 1: v for page, v in _pages(SAMPLE / "debian-faq-en.pdf")}
    blank = {n for n, v in verdicts.items() if v.reason == "blank"}
    assert blank == {8, 12, 24, 34, 42, 52, 60}  # the blank pages listed in data/sample/EXPECTED.md
    assert all(verdicts[n].usable for n in blank)
    persian_blank = _verdict(SAMPLE / "texlive-arabic-lshort-persian.pdf", 4)
    assert persian_blank.reason == "blank" and persian_blank.usable


@pytest.mark.parametrize(
    ("name", "number"), [("debian-reference-zh-cn.pdf", 1), ("texlive-arabic-arabi-user-guide.pdf", 5)]
)
def test_image_only_pages_go_to_ocr(name, number):
    verdict = _verdict(SAMPLE / name, number)
    assert not verdict.usable
    assert verdict.reason == "empty"
    assert verdict.stats["image_area"] > 0.2


def test_textless_vector_drawing_goes_to_ocr():
    # a whole-page vector drawing (738 paths, no image, no text layer): only a look at the page tells it from blank
    with pymupdf.open(FIXTURES / "router-arabi-lion.pdf") as doc:
        page = doc[0]
        assert not page.get_images() and len(page.get_drawings()) > 100
        verdict = assess_page(page, page.get_text())
    assert not verdict.usable and verdict.reason == "empty"
    assert verdict.stats["ink"] > 0.05


def test_persian_presentation_forms_are_usable_after_repair():
    with pymupdf.open(SAMPLE / "texlive-arabic-lshort-persian.pdf") as doc:
        page = doc[1]
        text = page.get_text()
        verdict = assess_page(page, text)
    assert verdict.usable and verdict.reason == "presentation_forms"
    assert len(PRESENTATION.findall(text)) > 100
    repaired = repair_text(text)
    assert not PRESENTATION.search(repaired)
    assert len(re.findall("[\u0600-\u06ff]", repaired)) > len(re.findall("[\u0600-\u06ff]", text))
    assert repair_text(repaired) == repaired
    # the repaired text is exactly what NFKC makes of the presentation forms, base letters stay as they were
    assert unicodedata.normalize("NFKC", repaired) == unicodedata.normalize("NFKC", text)


def test_repair_text_leaves_other_compatibility_characters_alone():
    with pymupdf.open(SAMPLE / "maint-guide-ja.pdf") as doc:
        text = "".join(page.get_text() for page in doc)
    fullwidth = [ch for ch in text if unicodedata.normalize("NFKC", ch) != ch]
    assert fullwidth  # Japanese text has full-width punctuation that a blanket NFKC would rewrite
    assert repair_text(text) == text


def test_text_covered_by_an_image_goes_to_ocr():
    with pymupdf.open(SAMPLE / "debian-faq-en.pdf") as src:
        doc = pymupdf.open()
        doc.insert_pdf(src, from_page=1, to_page=1)
    page = doc[0]
    text = page.get_text()
    assert assess_page(page, text).reason == "ok"
    # paint a rendering of the page itself over the whole page: the text layer is now under an opaque image
    page.insert_image(page.rect, pixmap=page.get_pixmap(dpi=72))
    verdict = assess_page(page, page.get_text())
    assert not verdict.usable and verdict.reason == "image_covered"
    assert verdict.stats["hidden_share"] > 0.9


def test_small_image_over_part_of_the_text_is_ok():
    with pymupdf.open(SAMPLE / "debian-faq-en.pdf") as src:
        doc = pymupdf.open()
        doc.insert_pdf(src, from_page=1, to_page=1)
    page = doc[0]
    corner = pymupdf.Rect(page.rect.x0, page.rect.y0, page.rect.x0 + 120, page.rect.y0 + 80)
    page.insert_image(corner, pixmap=page.get_pixmap(dpi=36, clip=corner))
    verdict = assess_page(page, page.get_text())
    assert verdict.usable and verdict.reason == "ok"


def _scan_with_invisible_text(src_page: pymupdf.Page) -> pymupdf.Document:
    """A scan-like page: the page image, and the original words written in render mode 3 on top (invisible)."""
    doc = pymupdf.open()
    page = doc.new_page(width=src_page.rect.width, height=src_page.rect.height)
    page.insert_image(page.rect, pixmap=src_page.get_pixmap(dpi=100))
    for x0, y0, _x1, y1, word, *_ in src_page.get_text("words"):
        page.insert_text((x0, y1 - 2), word, fontsize=max(4.0, (y1 - y0) * 0.8), render_mode=3)
    return doc


def test_invisible_text_layer_is_redone_unless_trusted():
    with pymupdf.open(SAMPLE / "debian-faq-fr.pdf") as src:
        doc = _scan_with_invisible_text(src[1])
        original = src[1].get_text()
    page = doc[0]
    text = page.get_text()
    assert len("".join(text.split())) > 0.9 * len("".join(original.split()))  # the hidden text is all there
    verdict = assess_page(page, text)
    assert not verdict.usable and verdict.reason == "invisible_text"
    assert verdict.stats["invisible_share"] > 0.9
    trusted = assess_page(page, text, trust_ocr_layer=True)
    assert trusted.usable and trusted.reason == "ok"


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_tesseract_pdf_ocr_layer_is_detected_as_invisible_text():
    with pymupdf.open(SAMPLE / "debian-faq-en.pdf") as src:
        pix = src[1].get_pixmap(dpi=150)
    doc = pymupdf.open("pdf", pix.pdfocr_tobytes(language="eng"))  # what OCRmyPDF-style tools produce
    page = doc[0]
    text = page.get_text()
    assert "Debian" in text
    verdict = assess_page(page, text)
    assert not verdict.usable and verdict.reason == "invisible_text"


# Pages cut from TeX Live language docs (tests/fixtures/pdf/SOURCES.md); each renders as real text in its script
# while its text layer is junk, checked by eye on the rendering.
@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("router-lshortru-p15.pdf", "garbled"),  # Russian in Type3 fonts: Latin-1 mojibake
        ("router-elhyphen-compound-p9.pdf", "garbled"),  # Greek in Type3 fonts: control characters
        ("router-na-box-p1.pdf", "garbled"),  # Arabic CID font mapped onto Armenian, NKo, Sinhala ...
        ("router-lsh132-p49.pdf", "script_font_mismatch"),  # Thai Norasi font without ToUnicode
        ("router-sktdoc-p25.pdf", "script_font_mismatch"),  # Devanagari Type1 font: Latin junk
    ],
)
def test_unusable_text_layers(name, reason):
    verdict = _verdict(FIXTURES / name)
    assert verdict.reason == reason
    assert not verdict.usable


def test_replacement_chars_share_decides():
    # Persian words in a code listing came out as U+FFFF: a quarter of the page's characters. The rest of the
    # listing is right (Tesseract reads no more of it), so the default keeps the page; a stricter setting does not.
    with pymupdf.open(FIXTURES / "router-xepersian-p10.pdf") as doc:
        page = doc[0]
        text = page.get_text()
        default = assess_page(page, text)
        strict = assess_page(page, text, thresholds=RouterThresholds(bad_share=0.2))
    assert 0.2 < default.stats["bad"] / default.stats["chars"] < 0.3
    assert default.usable and default.reason == "ok"
    assert not strict.usable and strict.reason == "replacement_chars"


def test_garbled_russian_has_no_cyrillic_and_much_latin1():
    with pymupdf.open(FIXTURES / "router-lshortru-p15.pdf") as doc:
        stats = text_stats(doc[0].get_text())
    assert stats.get("Cyrl", 0) == 0
    assert stats["latin1"] > 0.25 * stats["Latn"]


def test_visual_order_arabic_is_garbled():
    with pymupdf.open(SAMPLE / "texlive-arabic-lshort-persian.pdf") as doc:
        page = doc[4]
        text = page.get_text()
        # the same page as an old converter would store it: each word reversed (painted order)
        painted = re.sub("[\ufb50-\ufdff\ufe70-\ufefe]{2,}", lambda m: m.group()[::-1], text)
        assert assess_page(page, text).reason == "presentation_forms"
        verdict = assess_page(page, painted)
    assert verdict.reason == "garbled" and verdict.stats["visual_order"] > 0.7


def test_font_script_names():
    assert font_script("FNXYLU+ALotus") == "Arab"
    assert font_script("JHTIOB+WiknerSanskrit10-Upright") == "Deva"
    assert font_script("Norasi-Bold") == "Thai"
    assert font_script("LMRoman10-Regular") is None
    assert font_script("HaranoAjiMincho-Regular") is None  # CJK fonts carry Latin too: not script-exclusive


def test_reasons_are_declared():
    seen = {v.reason for _, v in _pages(SAMPLE / "texlive-arabic-arabi-user-guide.pdf")}
    assert seen <= set(REASONS)


def test_full_page_illustration_under_a_running_head_keeps_its_text_layer():
    # cnbook.pdf p30: a chapter plate (1-bit drawing over the whole page) with the running head as text; OCR finds
    # nothing on it, so sending it to OCR would only cost time
    verdict = _verdict(FIXTURES / "router-cnbook-p30.pdf")
    assert verdict.usable and verdict.reason == "picture"
    assert verdict.stats["ink"] > 0.1 and verdict.stats["gap_rows"] < 0.15


def test_scanned_text_under_a_short_text_layer_still_goes_to_ocr():
    with pymupdf.open(SAMPLE / "debian-faq-en.pdf") as src:
        doc = pymupdf.open()
        doc.insert_pdf(src, from_page=1, to_page=1)
        scan = doc[0].get_pixmap(dpi=100, colorspace=pymupdf.csGRAY)
    page = doc.new_page(width=doc[0].rect.width, height=doc[0].rect.height)
    page.insert_image(page.rect, pixmap=scan)  # a scan of a text page ...
    page.insert_text((72, 30), "The Debian GNU/Linux FAQ", fontsize=9)  # ... under a one-line running head
    verdict = assess_page(page, page.get_text())
    assert not verdict.usable and verdict.reason == "image_covered"
    assert verdict.stats["gap_rows"] > 0.3
