"""One page's text-layer text in reading order, and removal of running headers/footers across a document's pages.

``page_text`` builds one MuPDF textpage per page (vector paths collected with the text, no images) and reads its
C-level word and block lists: the Python ``dict`` output alone costs about twice a raw ``get_text()`` (measured),
which would break the speed target (≥ 1/3 of raw ``get_text()``); only right-to-left pages, which are rare, use it.
From the words it rebuilds lines, merges lines that share a baseline (MuPDF splits a line at wide gaps: section
numbers, code columns), orders blocks into columns, re-flows soft-wrapped lines (joining hyphenated words, no space
between CJK lines), lays monospaced blocks out by character column, drops TOC dot leaders, and puts ruled tables in
place as Markdown (``tables.py``). ``strip_repeated_lines`` then removes running heads and page numbers per document.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from itertools import pairwise
from math import ceil

import pymupdf

from curation.pdf.tables import Grid, find_grids, grids_from_find_tables, to_markdown

# Whitespace kept as in the file, text outside the mediabox ignored, vector paths collected so ruled tables are found
# without a second pass, images not collected. Ligature glyphs are kept as MuPDF maps them: its own expansion
# reverses Arabic lam-alef (measured: "اشکالات" came out "اشکاالت"), so Latin ligatures (U+FB00-FB06) are expanded
# here instead and Arabic presentation forms are left to the router/normaliser (NFKC). Unknown glyphs stay U+FFFD
# (no CID flag) so the router can see them.
FLAGS = (
    pymupdf.TEXT_PRESERVE_WHITESPACE
    | pymupdf.TEXT_MEDIABOX_CLIP
    | pymupdf.TEXT_COLLECT_VECTORS
    | pymupdf.TEXT_PRESERVE_LIGATURES
)
_LATIN_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})

_LEADER = re.compile(r"(?:\s?\.){4,}\s*|…{2,}\s*|·{4,}\s*")  # TOC dot leaders: ". . . . ." / "......" / "……"
_BULLET = re.compile(r"^(?:[•◦▪‣●○■□*·]|[–—](?=[\s\"“”‘’«„'])|\(?\d{1,3}[.)]\s|\(?[a-z][.)]\s)")
_LABEL = re.compile(r"^\S{1,4} {3}")  # a list label set apart from its item text
_INDEX_ENTRY = re.compile(r",\s*\d+(?:[-–]\d+)?$")  # "\\footnoterule, 30": an index line, never wrapped prose
_HYPHENS = "-\u2010\u00ad"
CELL_GAP = "   "  # between parts of one visual line that are far apart


def _wide(ch: str) -> bool:
    """CJK ideographs, kana, fullwidth forms and CJK punctuation: lines of these are joined without a space."""
    o = ord(ch)
    return (
        0x2E80 <= o <= 0x9FFF  # radicals, CJK punctuation, kana, CJK unified ideographs
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF  # full/halfwidth forms
        or 0x20000 <= o <= 0x3FFFF
    ) and not 0x3130 <= o <= 0x318F  # Hangul compatibility jamo: Korean is spaced


def _nospace_script(ch: str) -> bool:
    """Scripts written without spaces between words (Thai, Lao, Myanmar, Khmer) and CJK."""
    o = ord(ch)
    return _wide(ch) or 0x0E00 <= o <= 0x0EFF or 0x1000 <= o <= 0x109F or 0x1780 <= o <= 0x17FF


def _rtl(ch: str) -> bool:
    o = ord(ch)
    return 0x0590 <= o <= 0x08FF or 0xFB1D <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF


class _Line:
    """A visual line: MuPDF lines on one baseline merged. ``fw`` = width of its first word (for soft-wrap tests);
    ``parts`` = (x0, [(word x0, word x1, word)]) per MuPDF line."""

    __slots__ = ("fw", "parts", "x0", "x1", "y0", "y1")

    def __init__(self, x0: float, y0: float, x1: float, y1: float, words: list, fw: float):
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1
        self.parts = [(x0, words)]
        self.fw = fw

    def text(self, rtl: bool) -> str:
        """Words joined by one space; MuPDF lines on this row far apart (left/right running-head halves, label and
        value) by three, so they stay tellable apart (``strip_repeated_lines`` splits on it)."""
        if len(self.parts) == 1:
            return " ".join(w[2] for w in self.parts[0][1])
        far = 1.5 * (self.y1 - self.y0)
        out = ""
        prev_x1 = None
        for _, ws in sorted(self.parts, reverse=rtl):
            chunk = " ".join(w[2] for w in ws)
            if prev_x1 is None:
                out = chunk
            else:
                gap = (prev_x1 - ws[-1][1]) if rtl else (ws[0][0] - prev_x1)
                if gap > far:
                    out += CELL_GAP + chunk
                elif gap < 0.3 * far and out and _nospace_script(out[-1]) and _nospace_script(chunk[0]):
                    out += chunk
                else:
                    out += " " + chunk
            prev_x1 = ws[0][0] if rtl else ws[-1][1]
        return out

    def words(self) -> list:
        if len(self.parts) == 1:
            return self.parts[0][1]
        return [w for _, ws in sorted(self.parts) for w in ws]


class _Unit:
    """A block of lines (a paragraph, a code block) or a rendered table, with its bbox."""

    __slots__ = ("lines", "table", "x0", "x1", "y0", "y1")

    def __init__(self, lines: list[_Line] | None = None, table: str = "", bbox: tuple | None = None):
        self.lines = lines or []
        self.table = table
        if bbox is None:
            bbox = (
                min(ln.x0 for ln in self.lines),
                min(ln.y0 for ln in self.lines),
                max(ln.x1 for ln in self.lines),
                max(ln.y1 for ln in self.lines),
            )
        self.x0, self.y0, self.x1, self.y1 = bbox

    def n_lines(self) -> int:
        return max(len(self.lines), 1)


def _same_row(a_y0: float, a_y1: float, b_y0: float, b_y1: float) -> bool:
    overlap = min(a_y1, b_y1) - max(a_y0, b_y0)
    return overlap > 0.5 * min(a_y1 - a_y0, b_y1 - b_y0)


def _build_lines(words: list, skip: set[int] | None) -> dict[int, list[_Line]]:
    """Per MuPDF block: visual lines from the word list (block_no, line_no), same-baseline lines merged."""
    blocks: dict[int, list[_Line]] = defaultdict(list)
    key = None
    cur: list = []
    raw: list[list] = []  # [x0, y0, x1, y1, words, block]
    for i, (x0, y0, x1, y1, w, b, ln, _) in enumerate(words):
        if skip and i in skip:
            key = None
            continue
        if (b, ln) != key:
            cur = [x0, y0, x1, y1, [(x0, x1, w)], b]
            raw.append(cur)
            key = (b, ln)
        else:
            if x0 < cur[0]:
                cur[0] = x0
            if y0 < cur[1]:
                cur[1] = y0
            if x1 > cur[2]:
                cur[2] = x1
            if y1 > cur[3]:
                cur[3] = y1
            cur[4].append((x0, x1, w))
    for x0, y0, x1, y1, ws, b in raw:
        _add_line(blocks[b], x0, y0, x1, y1, ws, ws[0][1] - ws[0][0], False)
    return blocks


def _add_line(lines: list[_Line], x0, y0, x1, y1, ws: list, fw: float, rtl: bool) -> None:
    """Append a MuPDF line to its block, merging it into the previous visual line when on the same baseline."""
    last = lines[-1] if lines else None
    if last is not None and _same_row(last.y0, last.y1, y0, y1):
        last.parts.append((x0, ws))
        if (x1 > last.x1) if rtl else (x0 < last.x0):
            last.fw = fw  # fw belongs to the part read first
        last.x0, last.x1 = min(last.x0, x0), max(last.x1, x1)
        last.y0, last.y1 = min(last.y0, y0), max(last.y1, y1)
    else:
        lines.append(_Line(x0, y0, x1, y1, ws, fw))


def _build_lines_rtl(tp: pymupdf.TextPage, grids: list[Grid]) -> dict[int, list[_Line]]:
    """Right-to-left pages: lines from MuPDF's own line strings (the ``dict`` output; these pages are rare, so its
    cost does not matter). Its word splitter cuts Arabic presentation-form runs apart ("ا ﺷﮑﺎﻻ ت"), its line text
    does not. ``fw`` = the first word in reading order (the rightmost), estimated from its share of the line."""
    blocks: dict[int, list[_Line]] = defaultdict(list)
    for b in tp.extractDICT()["blocks"]:
        for line in b.get("lines", ()):
            text = "".join(span["text"] for span in line["spans"]).strip()
            if not text:
                continue
            x0, y0, x1, y1 = line["bbox"]
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            if any(g.cell_of(cx, cy) is not None for g in grids):
                continue
            fw = (x1 - x0) * len(text.split(" ", 1)[0]) / len(text)
            _add_line(blocks[b["number"]], x0, y0, x1, y1, [(x0, x1, text)], fw, True)
    return blocks


def _merge_split_blocks(blocks: dict[int, list[_Line]], vector_nos: set[int]) -> list[_Unit]:
    """Units from MuPDF blocks, re-joining blocks that collecting vector paths cut apart (a shaded code block comes
    out one block per line): consecutive text blocks whose lines continue at normal line spacing and overlap
    horizontally are one block. Only on pages that have vector paths; elsewhere MuPDF's blocks stand."""
    units: list[_Unit] = []
    prev_no = None
    for no in sorted(blocks):
        lines = blocks[no]
        if not lines:
            continue
        if prev_no is not None and (vector_nos or no - prev_no > 1):
            last, first = units[-1].lines[-1], lines[0]
            h = last.y1 - last.y0
            if 0 <= first.y0 - last.y1 < 0.8 * h and first.x0 < units[-1].x1 and first.x1 > units[-1].x0:
                units[-1] = _Unit(units[-1].lines + lines)
                prev_no = no
                continue
        units.append(_Unit(lines))
        prev_no = no
    return units


def _char_width(lines: list[_Line]) -> float:
    """The advance of a monospaced block (every word's width / length equal within 4%), else 0. Words with CJK
    characters do not count (they are one em wide in any font, so CJK prose would look monospaced) and may hold
    at most a quarter as many characters as the uniform words: a few Japanese comments in code, not Japanese prose
    that sets package names in a monospaced font."""
    lo, hi, n, wide = 1e9, 0.0, 0, 0
    for ln in lines:
        for _, ws in ln.parts:
            for wx0, wx1, w in ws:
                if max(w) >= "\u2e80":
                    wide += len(w)
                elif len(w) >= 2:
                    r = (wx1 - wx0) / len(w)
                    lo, hi, n = min(lo, r), max(hi, r), n + len(w)
    if n >= 12 and hi <= lo * 1.04 and wide <= 0.25 * n:
        return (lo + hi) / 2
    return 0.0


def _code_text(lines: list[_Line], left: float, cw: float) -> str:
    """A monospaced block laid out as typed: each word at its character column, so indentation survives."""
    out = []
    for ln in lines:
        row = ""
        for wx0, _, w in ln.words():
            col = round((wx0 - left) / cw)
            if row:
                col = max(col, len(row) + 1)
            row += " " * (col - len(row)) + w
        out.append(row)
    return "\n".join(out)


_HEAD = re.compile(r"[^\W\d_]+$")
_TAIL = re.compile(r"^[^\W\d_]+")


def _join_wrapped(a: str, b: str, vocab: set[str] | None) -> str:
    """Join a soft-wrapped line ``a`` with the next ``b``: de-hyphenate, no space in CJK/Thai, else one space.

    A line-end hyphen is dropped when it splits a word: a lowercase letter before and after, the fragment before it
    not itself following a hyphen ("state-of-the-|art" keeps it), and the page not writing the hyphenated form
    only. A hyphen after "/" or "." inside a URL is the typesetter's and goes too. Otherwise it stays, with no
    space: "Debian-|Based", "x86-|64".
    """
    if not a or not b:
        return a + b
    last, first = a[-1], b[0]
    if last in _HYPHENS and len(a) >= 2:
        before = a[-2]
        if last == "\u00ad":  # a soft hyphen is never kept
            return a[:-1] + b
        if before.isalpha() and not _wide(before):
            m = _HEAD.search(a, 0, len(a) - 1)
            head = m.group() if m else ""
            compound = m is not None and m.start() > 0 and a[m.start() - 1] in _HYPHENS
            if before.islower() and first.islower() and not compound:
                t = _TAIL.match(b)
                if vocab is None or t is None or _plausible_join(head, t.group(), vocab):
                    return a[:-1] + b
            return a + b
        if before in "/." and "/" in a.rsplit(" ", 1)[-1] and first.isalnum():
            return a[:-1] + b
        if before == " ":
            return a + " " + b
        return a + b
    if _nospace_script(last) or _nospace_script(first):
        return a + b
    return a + " " + b


_WORD_EDGE = "\"'“”‘’«»()[]{}.,;:!?"


def _plausible_join(head: str, tail: str, vocab: set[str]) -> bool:
    """Keep a line-end hyphen only when the page itself writes the hyphenated form and never the joined one."""
    joined = (head + tail).lower()
    if joined in vocab:
        return True
    return f"{head}-{tail}".lower() not in vocab


def _vocab(words: list) -> set[str]:
    return {w[4].strip(_WORD_EDGE).lower() for w in words}


def _unit_text(unit: _Unit, rtl: bool, words: list, vocab_box: list) -> str:
    if unit.table:
        return unit.table
    lines = unit.lines
    if len(lines) > 1 and not rtl:
        cw = _char_width(lines)
        if cw:
            return _code_text(lines, unit.x0, cw)
    right = unit.x1
    out = prev_t = lines[0].text(rtl)
    for prev, nxt in pairwise(lines):
        t = nxt.text(rtl)
        h = max(prev.y1 - prev.y0, 1.0)
        fw = nxt.fw
        if t and _wide(t[0]):
            fw = min(fw, h)  # a CJK "word" is the whole run; the first character is what would not fit
        # a line is wrapped text when the next word would not have fitted on it; tabular lines (far-apart parts,
        # TOC entries with a dot leader, index entries) and list items always start a new line
        remaining = (prev.x0 - unit.x0) if rtl else (right - prev.x1)
        soft = (
            remaining < fw + 0.3 * h
            and nxt.y0 > prev.y0
            and CELL_GAP not in _LABEL.sub("", prev_t, count=1)
            and not _BULLET.match(t)
            and not _LEADER.search(prev_t)
            and not _INDEX_ENTRY.search(prev_t)
        )
        prev_t = t
        if soft:
            if out and out[-1] in _HYPHENS and vocab_box[0] is None:
                vocab_box[0] = _vocab(words)
            out = _join_wrapped(out, t, vocab_box[0])
        else:
            out += "\n" + t
    return _LEADER.sub(" ", out) if "." in out or "…" in out or "·" in out else out


def _order(units: list[_Unit], rtl: bool) -> list[list[_Unit]]:
    """Units in reading order, as rows (units on one row are printed on one line when they are single lines).

    Columns: gaps in the x-coverage of units narrower than 60% of the text width are gutter candidates; a gutter is
    kept when both sides hold at least 3 lines of text and the units on its two sides are not row-aligned (a
    label/value layout is a table, not columns). Units crossing a gutter (titles, wide figures) cut the page into
    bands; in each band the columns are read one after another, top to bottom.
    """
    units.sort(key=lambda u: (u.y0, u.x0))
    if len(units) < 2:
        return [[u] for u in units]
    tx0 = min(u.x0 for u in units)
    tx1 = max(u.x1 for u in units)
    width = tx1 - tx0
    gutters = _gutters(units, tx0, width)
    if not gutters:
        return _rows(units, rtl)
    spanning = {id(u) for u in units if any(u.x0 < g - 1 and u.x1 > g + 1 for g in gutters)}
    spanning |= _detached(units, gutters, spanning)
    out: list[list[_Unit]] = []
    band: list[_Unit] = []
    for u in units:
        if id(u) in spanning:
            out += _band(band, gutters, rtl)
            band = []
            out.append([u])
        else:
            band.append(u)
    out += _band(band, gutters, rtl)
    return out


def _gutters(units: list[_Unit], tx0: float, width: float) -> list[float]:
    narrow = sorted((u for u in units if u.x1 - u.x0 < 0.6 * width), key=lambda u: u.x0)
    if len(narrow) < 2:
        return []
    gaps = []
    reach = narrow[0].x1
    for u in narrow[1:]:
        if u.x0 - reach >= 6:
            gaps.append((reach + u.x0) / 2)
        reach = max(reach, u.x1)
    kept = []
    for g in gaps:
        left = [u for u in units if u.x1 <= g]
        right = [u for u in units if u.x0 >= g]
        if sum(u.n_lines() for u in left) < 3 or sum(u.n_lines() for u in right) < 3:
            continue
        if max(u.x1 - u.x0 for u in left) < 0.2 * width or max(u.x1 - u.x0 for u in right) < 0.2 * width:
            continue
        aligned = sum(1 for r in right if any(abs(r.y0 - lu.y0) < 3 for lu in left))
        if aligned > 0.5 * len(right) and len(right) >= 2:
            continue
        kept.append(g)
    return kept


def _detached(units: list[_Unit], gutters: list[float], spanning: set[int]) -> set[int]:
    """Short units above or below everything in the other columns and set apart by a gap (running heads, footers,
    page numbers that sit inside one column's x-range): read them as full-width, not as part of that column."""
    col = {id(u): sum(1 for g in gutters if (u.x0 + u.x1) / 2 > g) for u in units if id(u) not in spanning}
    out = set()
    for u in units:
        c = col.get(id(u))
        if c is None or len(u.lines) > 2:
            continue
        others = [v for v in units if col.get(id(v), c) != c]
        own = [v for v in units if v is not u and col.get(id(v)) == c]
        if not others:
            continue
        h = u.y1 - u.y0
        if u.y0 > max(v.y1 for v in others) and all(u.y0 - v.y1 > h for v in own if v.y1 <= u.y0):
            out.add(id(u))
        elif u.y1 < min(v.y0 for v in others) and all(v.y0 - u.y1 > h for v in own if v.y0 >= u.y1):
            out.add(id(u))
    return out


def _band(band: list[_Unit], gutters: list[float], rtl: bool) -> list[list[_Unit]]:
    if not band:
        return []
    cols: dict[int, list[_Unit]] = defaultdict(list)
    for u in band:
        cx = (u.x0 + u.x1) / 2
        cols[sum(1 for g in gutters if cx > g)].append(u)
    out: list[list[_Unit]] = []
    for c in sorted(cols, reverse=rtl):
        out += _rows(cols[c], rtl)
    return out


def _rows(units: list[_Unit], rtl: bool) -> list[list[_Unit]]:
    """Top to bottom; units overlapping vertically form one row, read left to right (right to left for RTL)."""
    rows: list[list[_Unit]] = []
    for u in units:
        if rows and _same_row(rows[-1][-1].y0, rows[-1][-1].y1, u.y0, u.y1):
            rows[-1].append(u)
        else:
            rows.append([u])
    for r in rows:
        if len(r) > 1:
            r.sort(key=lambda u: u.x0, reverse=rtl)
    return rows


def _page_rtl(words: list) -> bool:
    firsts = "".join(w[4][0] for w in words[:400])
    if max(firsts) < "\u0590":  # no Hebrew/Arabic letter at all: the usual case, decided in one pass
        return False
    letters = [ch for ch in firsts if ch.isalpha()]
    return sum(map(_rtl, letters)) > 0.5 * len(letters)


def _assign_tables(words: list, grids: list[Grid]) -> tuple[list[_Unit], set[int]]:
    """Words inside a ruled grid become that table's cells; grids with fewer than 2 filled rows × 2 columns are not
    tables (framed notes, shaded code blocks) and their words stay in the text flow."""
    cells: list[dict[tuple[int, int], list[tuple[int, str, int, int]]]] = [defaultdict(list) for _ in grids]
    taken: list[list[int]] = [[] for _ in grids]
    boxes = [(g.x0 - 2, g.y0 - 2, g.x1 + 2, g.y1 + 2) for g in grids]
    for i, (x0, y0, x1, y1, w, b, ln, _) in enumerate(words):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        for gi, (gx0, gy0, gx1, gy1) in enumerate(boxes):
            if gx0 <= cx <= gx1 and gy0 <= cy <= gy1:
                rc = grids[gi].cell_of(cx, cy)
                if rc is not None:
                    cells[gi][rc].append((i, w, b, ln))
                    taken[gi].append(i)
                    break
    units: list[_Unit] = []
    skip: set[int] = set()
    for gi, g in enumerate(grids):
        filled = cells[gi]
        cols_used = {c for _, c in filled}
        rows_multi = sum(1 for r in {r for r, _ in filled} if sum(1 for rr, _ in filled if rr == r) >= 2)
        if len(cols_used) < 2 or rows_multi < 2:
            continue
        n_rows, n_cols = g.shape
        grid_text = [["" for _ in range(n_cols)] for _ in range(n_rows)]
        for (r, c), ws in filled.items():
            text = ""
            key = None
            for _, w, b, ln in ws:
                if key is None:
                    text = w
                elif (b, ln) == key:
                    text += " " + w
                else:
                    text = _join_wrapped(text, w, None)
                key = (b, ln)
            grid_text[r][c] = text
        md = to_markdown(grid_text)
        if md:
            units.append(_Unit(table=md, bbox=(g.x0, g.y0, g.x1, g.y1)))
        skip.update(taken[gi])
    return units, skip


def page_text(page: pymupdf.Page, *, table_finder: str = "vectors") -> str:
    """Text of one page in reading order: paragraphs separated by blank lines, ruled tables as Markdown.

    ``table_finder``: "vectors" (default; grids from the ruling lines collected with the text, ~free), "pymupdf"
    (``page.find_tables``, 80-190 ms per ruled page) or "none".
    """
    tp = page.get_textpage(flags=FLAGS)
    words = tp.extractWORDS()
    if not words:
        return ""
    grids: list[Grid] = []
    blocks = tp.extractBLOCKS()
    rects = [(*b[:4], "is-rect: true" in b[4]) for b in blocks if b[6] == 3]
    vector_nos = {b[5] for b in blocks if b[6] == 3}
    if table_finder == "vectors" and len(rects) >= 5:
        grids = find_grids(rects)
    elif table_finder == "pymupdf":
        grids = grids_from_find_tables(page)
    units: list[_Unit] = []
    skip: set[int] | None = None
    if grids:
        units, skip = _assign_tables(words, grids)
    rtl = _page_rtl(words)
    if rtl:
        accepted = [g for g in grids if any(g.x0 == u.x0 and g.y0 == u.y0 for u in units)]  # rendered as tables
        lines = _build_lines_rtl(tp, accepted)
    else:
        lines = _build_lines(words, skip)
    units += _merge_split_blocks(lines, vector_nos)
    vocab_box: list = [None]
    parts: list[str] = []
    for row in _order(units, rtl):
        if len(row) > 1 and all(not u.table and len(u.lines) == 1 for u in row):
            parts.append(" ".join(_unit_text(u, rtl, words, vocab_box) for u in row))
        else:
            parts.extend(_unit_text(u, rtl, words, vocab_box) for u in row)
    text = "\n\n".join(p for p in parts if p.strip())
    return text.translate(_LATIN_LIGATURES) if max(text, default=" ") >= "\ufb00" else text


# ---------------------------------------------------------------------------------------------------------------
# Running headers and footers

_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"(?<![\w])(?=[ivxlc])c{0,3}(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})(?![\w])", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_ZONE = 3  # lines looked at from the top and from the bottom of each page


def _key(line: str) -> str:
    """Digits (and roman page numbers) become '#', so "Page 3"/"Page 4" and "xx"/"xxi" compare equal."""
    line = unicodedata.normalize("NFKC", line).strip()
    line = _ROMAN.sub("#", _DIGITS.sub("#", line))
    return _SPACES.sub(" ", line).casefold()


_CELLS = re.compile(r"\t| {3,}")
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


def _keys(line: str) -> list[str]:
    """The whole line's key; for a line made of far-apart parts, each part with 3+ letters (a running head
    "Debian Reference   Chapter 3" repeats by one half); for a line of 3+ words led by a numbered word, that lead
    ("CHAPTER 7. BASICS OF ...   7.3. WHY ARE ..." repeats as "chapter #." even when chapters are 2 pages long)."""
    whole = _key(line)
    keys = [whole]
    cells = _CELLS.split(line.strip())
    if len(cells) >= 2:
        keys += [k for k in (_key(c) for c in cells) if len(_LETTERS.findall(k)) >= 3]
    toks = whole.split(" ", 3)
    if len(toks) >= 3:
        if "#" in toks[0] and _LETTERS.search(toks[0]):
            keys.append("^" + toks[0])
        elif "#" in toks[1] and _LETTERS.search(toks[0]):
            keys.append("^" + toks[0] + " " + toks[1])
    return keys


def _zones(lines: list[str]) -> list[tuple[str, int, int]]:
    """(zone, position, line index) of the first and last _ZONE non-blank lines. Markdown table rows are never
    candidates: a table continued over pages repeats its header row, which must stay to keep the table valid."""
    idx = [i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("| ")]
    top = [("top", pos, i) for pos, i in enumerate(idx[:_ZONE])]
    bottom = [("bottom", pos, i) for pos, i in enumerate(reversed(idx[-_ZONE:]))]
    return top + bottom


def strip_repeated_lines(pages: list[str], min_pages: int = 3) -> list[str]:
    """Remove running headers/footers: lines among the first/last 3 of a page that recur, at the same position
    from the top (or bottom), on at least ``min_pages`` pages and on at least 40% of the pages between their first
    and last occurrence (chapter headers run over consecutive or every other page; a body line that happens to
    start three pages does not). Digits compare equal ("Page 3"/"Page 4"). A line whose far-apart halves differ
    per page (chapter title | section title) goes when one half recurs. Pure and document-level: pass all pages
    of one document.
    """
    if len(pages) < min_pages:
        return list(pages)
    split = [p.split("\n") for p in pages]
    seen: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    for pi, lines in enumerate(split):
        for zone, pos, i in _zones(lines):
            for k in set(_keys(lines[i])):
                if k:
                    seen[(zone, pos, k)].append(pi)
    repeated = set()
    for k, where in seen.items():
        if len(where) < min_pages:
            continue
        span = where[-1] - where[0] + 1
        if len(where) >= 0.4 * span or len(where) >= ceil(0.5 * len(pages)):
            repeated.add(k)
    if not repeated:
        return list(pages)
    out = []
    for lines, page in zip(split, pages, strict=True):
        drop = {i for zone, pos, i in _zones(lines) if any((zone, pos, k) in repeated for k in _keys(lines[i]))}
        if not drop:
            out.append(page)
            continue
        kept = "\n".join(ln for i, ln in enumerate(lines) if i not in drop)
        out.append(re.sub(r"\n{3,}", "\n\n", kept).strip("\n"))
    return out
