"""Script and language detection before OCR, on real scanned pages (the sample's scanned PDF) with real Tesseract."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pymupdf
import pytest

from curation.pdf import complete_extraction, extract_pdf, ocr_pdf_pages
from curation.pdf.ocr import TesseractOcr, render_page, tesseract_languages
from curation.pdf.ocr.script_detect import script_letters
from curation.pdf.ocr.tesseract import resolve_pack, script_to_tesseract_langs
from curation.pdf.ocr.tesseract_cli import Word, parse_tsv, words_to_text
from curation.text import languages
from curation.text.scripts import dominant_script

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "data" / "sample" / "pdf"
SCANNED = SAMPLE / "scanned-faq-ru-maint-guide-ja.pdf"
needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None or not {"eng", "rus", "jpn"} <= tesseract_languages(),
    reason="tesseract with eng, rus and jpn packs is not installed (.ci/run installs docker/tesseract-packs.txt)",
)


def _recall(reference: str, text: str) -> float:
    def grams(t: str) -> set[str]:
        chars = "".join(t.split())
        return {chars[i : i + 3] for i in range(len(chars) - 2)}

    ref = grams(reference)
    return len(ref & grams(text)) / len(ref)


# --- pure parts -------------------------------------------------------------------------------------------------


def test_packs_file_installs_every_registry_pack_and_script():
    """docker/tesseract-packs.txt (what .ci/run and the Dockerfile install) covers the registry."""
    text = (ROOT / "docker" / "tesseract-packs.txt").read_text()
    packages = set(re.sub(r"#.*", "", text).split())

    def debian(pack: str) -> str:  # chi_sim → chi-sim; script/Latin → script-latn (Debian names scripts by ISO code)
        if pack.startswith("script/"):
            script = next(s for s, p in _script_packs().items() if p == pack)
            return f"script-{script.lower()}"
        return pack.replace("_", "-")

    for lang in languages.languages():
        assert debian(lang.ocr_pack) in packages, lang.code
        if lang.script not in ("Hans", "Hant", "Jpan", "Hang"):
            assert f"script-{lang.script.lower()}" in packages, lang.script
    assert {"osd", "script-hans", "script-hant", "script-jpan", "script-hang"} <= packages


def _script_packs() -> dict[str, str]:
    from curation.pdf.ocr.tesseract import _SCRIPT_PACKS

    return {script: pack for script, (_, pack) in _SCRIPT_PACKS.items() if script not in ("Hani", "Hira", "Kana")}


def test_script_packs_resolve_in_both_layouts():
    assert resolve_pack("script/Latin", {"Latin"}) == "Latin"  # Debian: top-level Latin.traineddata
    assert resolve_pack("script/Latin", {"script/Latin"}) == "script/Latin"  # tessdata repos: script/ folder
    assert resolve_pack("script/Latin", {"eng"}) is None
    # a registry language without its own pack is read by its script's pack
    assert script_to_tesseract_langs("Latn", "vec", {"eng", "Latin"}) == ["Latin"]
    assert script_to_tesseract_langs("Deva", "bho", {"eng", "hin", "Devanagari"}) == ["Devanagari", "eng"]
    assert script_to_tesseract_langs("Latn", "tgl", {"eng", "fil"}) == ["fil"]  # the registry's pack name


def test_tsv_words_become_lines_and_paragraphs():
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t0\t0\t10\t10\t96.5\tDebian\n"
        "5\t1\t1\t1\t1\t2\t12\t0\t10\t10\t91\t参考\n"
        "5\t1\t1\t1\t1\t3\t24\t0\t10\t10\t90\t手册\n"
        "5\t1\t1\t1\t2\t1\t0\t12\t10\t10\t40\tsecond\n"
        "5\t1\t1\t2\t1\t1\t0\t30\t10\t10\t88\tnew\n"
        "5\t1\t1\t2\t1\t2\t12\t30\t10\t10\t-1\t \n"
    )
    words = parse_tsv(tsv)
    assert [w.text for w in words] == ["Debian", "参考", "手册", "second", "new"]
    assert words[0] == Word("Debian", 96.5, (0, 0, 10, 10), (1, 1, 1))
    assert words_to_text(words) == "Debian 参考手册\nsecond\n\nnew"  # Han runs join unspaced
    kana = [Word(t, 90, (0, 0, 1, 1), (1, 1, 1)) for t in ("何はさておき", "、", "開発に", "(GCC)", "。")]
    assert words_to_text(kana) == "何はさておき、開発に (GCC) 。"  # CJK punctuation too; Latin keeps its space


def test_script_letters_keep_only_that_script():
    assert script_letters("apt-get установка пакета", "Cyrl").split() == ["-", "установка", "пакета"]
    assert "debian" not in script_letters("debian のパッケージ", "Jpan")
    assert dominant_script(script_letters("Debian 参考手册 manual", "Hans")) == "Hans"


# --- real pages -------------------------------------------------------------------------------------------------


def _references() -> list[str]:
    with pymupdf.open(SAMPLE / "debian-faq-ru.pdf") as ru, pymupdf.open(SAMPLE / "maint-guide-ja.pdf") as ja:
        return [ru[2].get_text(), ru[3].get_text(), ja[7].get_text()]


@needs_tesseract
def test_undeclared_scanned_pages_are_read_in_their_own_script():
    """Nothing declared, no text layer: Russian then Japanese are detected, and read as well as when declared."""
    result = extract_pdf(SCANNED.read_bytes(), ocr={"backend": "tesseract", "dpi": 200})
    decisions = [p.ocr for p in result.pages]
    assert [(d.script, d.langs, d.source) for d in decisions] == [
        ("Cyrl", "rus+eng", "detected"),
        ("Cyrl", "rus+eng", "document"),  # the first page's packs read it well: no detection
        ("Jpan", "jpn+eng", "detected"),  # they read it badly: detected again
    ]
    assert decisions[0].lang == "rus_Cyrl" and decisions[2].lang == "jpn_Jpan"
    references = _references()
    for page, reference in zip(result.pages, references, strict=True):
        assert page.method == "ocr_tesseract"
        assert _recall(reference, page.text) > 0.9
    english = extract_pdf(SCANNED.read_bytes(), ocr={"backend": "tesseract", "dpi": 200, "languages": "eng"})
    assert _recall(references[0], english.pages[0].text) < 0.7  # what an English-only OCR made of it
    assert result.meta["ocr_langs"] == "rus+eng" and result.meta["ocr_script"] == "Cyrl"


@needs_tesseract
def test_declared_language_skips_detection():
    result = extract_pdf(
        SCANNED.read_bytes(), first_page=1, last_page=1, ocr={"backend": "tesseract", "dpi": 200}, languages=["rus"]
    )
    decision = result.pages[0].ocr
    assert (decision.langs, decision.source, decision.script) == ("rus+eng", "declared", "Cyrl")


@needs_tesseract
def test_upside_down_scan_is_turned_upright():
    # (Tesseract's layout analysis reads a page turned by 90 degrees by itself; upside down it reads nothing useful)
    with pymupdf.open(SCANNED) as doc:
        page = doc[0]
        upright = render_page(page, 200, gray=True)
        pix = page.get_pixmap(matrix=pymupdf.Matrix(200 / 72, 200 / 72).prerotate(180), colorspace=pymupdf.csGRAY)
    pix.set_dpi(200, 200)
    turned = type(upright)(1, pix.tobytes("png"), 200)
    result = TesseractOcr(dpi=200).recognize_one(turned, [])
    assert result.ok and result.decision.rotation == 180 and result.decision.script == "Cyrl"
    assert _recall(_references()[0], result.text) > 0.9


@needs_tesseract
def test_ocr_tasks_give_the_same_document_as_inline_ocr():
    """The pipeline's fan-out path (tasks read on other workers, then put together) equals one inline run."""
    data = SCANNED.read_bytes()
    inline = extract_pdf(data, ocr={"backend": "tesseract", "dpi": 200})
    pending = extract_pdf(data, ocr={"backend": "tesseract", "dpi": 200}, ocr_pages_per_task=1)
    assert [t.numbers for t in pending.pending] == [(2,), (3,)]  # page 1 was read to seed the tasks
    assert all(t.prior == pending.pages[0].ocr for t in pending.pending)
    pages = [
        p for task in reversed(pending.pending) for p in ocr_pdf_pages(data, task, {"backend": "tesseract", "dpi": 200})
    ]
    done = complete_extraction(pending, pages)
    assert done.text == inline.text
    assert done.meta["ocr_pages"] == inline.meta["ocr_pages"]
    missing = complete_extraction(pending, pages[:1])  # a task that never came back: its page failed, not lost
    assert [p.method for p in missing.pages].count("ocr_failed") == 1
