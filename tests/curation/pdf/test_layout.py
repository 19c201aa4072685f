"""page_text / strip_repeated_lines on real PDF pages (fixtures cut from Debian packages, see tests/fixtures/pdf)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pymupdf
import pytest

from curation.pdf.layout import FLAGS, page_text, strip_repeated_lines
from curation.pdf.tables import find_grids, grids_from_find_tables

ROOT = Path(__file__).resolve().parents[3]
FIX = ROOT / "tests/fixtures/pdf"
SAMPLE = ROOT / "data/sample/pdf"
CJK = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"


def _page(path: Path, index: int = 0) -> pymupdf.Page:
    return pymupdf.open(path)[index]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def tugboat() -> tuple[str, str]:
    """A two-column TUGboat page (LaTeX ltubguid.pdf p. 2): ours and PyMuPDF's raw text."""
    page = _page(FIX / "layout-tugboat-ltubguid-p2.pdf")
    return page_text(page), page.get_text()


def test_two_columns_read_one_after_the_other(tugboat):
    ours, _ = tugboat
    flat = _flat(ours)
    # left column, top to bottom, then right column, top to bottom
    order = ["commands (but", "Authors may note", "6.1 Abstracts", "6.2 Appendices", "TUGboat articles",
             "\\begin{appendix}", "7 Titles, addresses", "The \\author command", "If the paper is"]  # fmt: skip
    positions = [flat.index(s) for s in order]
    assert positions == sorted(positions)
    # a left-column paragraph is whole: nothing from the right column inside it
    para = flat[flat.index("Authors may note") : flat.index("sometimes it is helpful, sometimes not.")]
    assert "author" not in para.replace("Authors", "")
    # a plain top-to-bottom sort interleaves the columns here: the page really needs column detection
    page = _page(FIX / "layout-tugboat-ltubguid-p2.pdf")
    by_position = _flat(page.get_text(sort=True))
    assert by_position.index("7 Titles") < by_position.index("6.1 Abstracts")


def test_running_head_and_footer_stay_out_of_the_columns(tugboat):
    ours, _ = tugboat
    paragraphs = ours.split("\n\n")
    assert paragraphs[0].startswith("902 draft:") and "TUGboat, Volume 0" in paragraphs[0]
    assert paragraphs[-1] == "Robin Fairbairns & TUGboat editors"


def test_line_end_hyphenation_joined(tugboat):
    ours, raw = tugboat
    split = re.findall(r"([a-z]+)-\n([a-z]+)", raw)
    assert len(split) >= 5  # the page really has hyphenated line ends
    flat = _flat(ours)
    for head, tail in split:
        assert head + tail in flat, (head, tail)
        assert f"{head}-{tail}" not in flat
    assert "un-numbered" in flat  # a hyphen inside a line is text, kept
    assert "\\shortTitle{⟨your-short-title⟩}" in flat


def test_lines_reflowed_and_verbatim_kept(tugboat):
    ours, _ = tugboat
    assert "The ltugboat class provides two environments for abstracts, abstract and longabstract." in ours
    # the monospaced \title ... block keeps one command per line
    block = ours[ours.index("\\title{The \\LaTeXe") :].split("\n\n")[0].split("\n")
    assert block[:3] == ["\\title{The \\LaTeXe\\ \\TUB{} Macros}", "\\author{TUGboat editors}",
                         "\\address{\\TeX\\ Users Group}"]  # fmt: skip


@pytest.fixture(scope="module")
def reference_page() -> pymupdf.Page:
    """debian-reference (en) p. 171: two ruled tables, a shaded code block, captions."""
    return _page(FIX / "layout-debian-reference-en-p171.pdf")


def test_ruled_table_rendered_as_markdown_in_place(reference_page):
    ours = page_text(reference_page)
    lines = ours.split("\n")
    head = lines.index("| package | popcon | size | description |")
    assert lines[head + 1] == "| --- | --- | --- | --- |"
    rows = []
    for line in lines[head + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    assert len(rows) == 15 and all(len(r) == 4 for r in rows)
    assert rows[0] == ["coreutils", "V:908, I:999", "18062", "nice(1): run a program with modified scheduling priority"]
    # a cell wrapped over two lines in the PDF is one cell
    assert "cron-like command scheduler for systems that don’t run 24 hours a day" in [r[3] for r in rows]
    # in place: after the running head, before its caption; its text is not repeated in the flow
    assert ours.index("143 / 233") < ours.index("| package") < ours.index("Table 9.8:")
    assert ours.count("coreutils") == 1
    assert "| nice value | scheduling priority |" in lines
    assert ours.index("| nice value") < ours.index("Table 9.9:")


def test_shaded_code_block_is_not_a_table(reference_page):
    ours = page_text(reference_page)
    assert "# time some_command >/dev/null\nreal    0m0.035s       # time on wall clock (elapsed real time)" in ours
    assert "| real" not in ours


def test_vector_grids_agree_with_pymupdf_find_tables(reference_page):
    blocks = reference_page.get_textpage(flags=FLAGS).extractBLOCKS()
    ours = find_grids([(*b[:4], "is-rect: true" in b[4]) for b in blocks if b[6] == 3])
    theirs = grids_from_find_tables(reference_page)
    assert len(theirs) == 2
    for g in theirs:
        match = [o for o in ours if abs(o.x0 - g.x0) < 3 and abs(o.y0 - g.y0) < 3 and abs(o.y1 - g.y1) < 3]
        assert len(match) == 1 and match[0].shape == g.shape


def test_running_headers_and_footers_removed_body_kept():
    doc = pymupdf.open(SAMPLE / "debian-faq-en.pdf")
    pages = [page_text(p) for p in doc]
    stripped = strip_repeated_lines(pages)
    assert len(stripped) == len(pages)
    heads = [p.split("\n")[0] for p in pages if p]
    assert sum(h.startswith("CHAPTER ") for h in heads) >= 30  # the running head is there before
    assert not any(p.split("\n")[0].startswith("CHAPTER ") for p in stripped if p)
    bottoms = [p.rsplit("\n", 1)[-1] for p in pages if p]
    assert sum(b.isdigit() for b in bottoms) >= 30  # page numbers
    assert not any(p.rsplit("\n", 1)[-1].isdigit() for p in stripped if p)
    # body kept: only running heads and page numbers went, the rest is there in order
    for before, after in zip(pages, stripped, strict=True):
        b = [ln for ln in before.split("\n") if ln]
        a = [ln for ln in after.split("\n") if ln]
        removed = list((Counter(b) - Counter(a)).elements())
        assert all(ln.startswith("CHAPTER ") or _page_number(ln) for ln in removed), removed
        rest = iter(b)
        assert all(ln in rest for ln in a)
    assert sum(map(len, stripped)) > 0.97 * sum(map(len, pages))


def _page_number(line: str) -> bool:
    """A page number, or "Contents" (the TOC pages' running head)."""
    return re.fullmatch(r"\d+|[ivxlc]+|contents", line, re.IGNORECASE) is not None


def test_strip_repeated_lines_is_pure_and_needs_repeats():
    pages = ["Intro\n\nSome text here.\n\n1", "Other body\n\n2"]
    assert strip_repeated_lines(pages) == pages  # fewer pages than min_pages: untouched
    body = [f"Header of the book\n\nParagraph number {w} is different.\n\nPage {i}" for i, w in
            enumerate(["one", "two", "three", "four"], 1)]  # fmt: skip
    out = strip_repeated_lines(body)
    assert out == [f"Paragraph number {w} is different." for w in ["one", "two", "three", "four"]]
    assert body[0].startswith("Header")  # input not modified


@pytest.mark.parametrize("path", [SAMPLE / "maint-guide-ja.pdf", FIX / "layout-debian-reference-zh-cn-p34.pdf"])
def test_cjk_lines_joined_without_spaces(path):
    doc = pymupdf.open(path)
    raw = "".join(p.get_text() for p in doc)
    ours = "\n\n".join(page_text(p) for p in doc)
    wrapped_raw = len(re.findall(f"[{CJK}]\n[{CJK}]", raw))
    assert wrapped_raw >= 20  # the sample really has CJK lines wrapped mid-sentence
    assert len(re.findall(f"[{CJK}]\n[{CJK}]", ours)) < wrapped_raw / 4
    # no space put between CJK characters at the joins (at most where the PDF leaves a wide gap on one line)
    assert len(re.findall(f"[{CJK}] [{CJK}]", ours)) <= len(re.findall(f"[{CJK}] [{CJK}]", raw)) + 2
    assert not re.search(f"\n +[{CJK}]", ours)  # CJK prose is not mistaken for an indented monospaced block
    # nothing lost: the same CJK characters, in the same number
    assert sorted(re.findall(f"[{CJK}]", ours)) == sorted(re.findall(f"[{CJK}]", raw))


def test_empty_page_gives_empty_text():
    doc = pymupdf.open(SAMPLE / "texlive-arabic-lshort-persian.pdf")
    assert page_text(doc[3]) == ""  # page 4 is blank (data/sample/EXPECTED.md)


def test_right_to_left_page_keeps_mupdf_line_text():
    """Persian (lshort-persian p. 9): MuPDF's own ligature expansion would reverse lam-alef; we keep its glyphs."""
    page = pymupdf.open(SAMPLE / "texlive-arabic-lshort-persian.pdf")[8]
    ours = page_text(page)
    raw = page.get_text()
    assert Counter(ours.split()) != Counter()  # the page has text
    assert Counter("".join(ours.split())) == Counter("".join(raw.split()))  # same characters, none lost or added
    flat = unicodedata.normalize("NFKC", ours)
    assert "اشکالات" in flat and "اشکاالت" not in flat  # "advantages and disadvantages", lam-alef in order
