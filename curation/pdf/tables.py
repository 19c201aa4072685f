"""Ruled tables from the vector paths already in a page's textpage, rendered as Markdown.

WHY not ``page.find_tables()`` on every page: measured on the Debian doc PDFs it costs 80-190 ms per page that has
ruling lines (it rebuilds a character list in Python; with ``pymupdf.layout`` importable it also runs an ONNX model
by default, 1-2 s a page), i.e. 10-15 pages/s on table-heavy books such as debian-reference, where two pages in three
carry a table. The ruling lines come for free with the text when the textpage is built with
``TEXT_COLLECT_VECTORS``; building the grid from them costs well under a millisecond. ``grids_from_find_tables`` keeps
PyMuPDF's finder available (slower, for comparison and for callers that want it).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import pymupdf

_THIN = 2.5  # a path thinner than this (pt) is a ruling line
_MIN_LEN = 4.0  # shorter paths are glyph parts, bullets, underline dots
_TOL = 2.0  # snapping/touch tolerance (pt)
_MIN_CELL_W, _MIN_CELL_H = 10.0, 8.0  # smaller rectangles are plot markers, check boxes, bullets
_MAX_SEGMENTS = 3000  # measured: a 10×50 table drawn cell by cell has ~2000


class Grid:
    """A ruled table: its bbox and the sorted x (column) and y (row) boundaries, bbox edges included."""

    __slots__ = ("x0", "x1", "xs", "y0", "y1", "ys")

    def __init__(self, xs: list[float], ys: list[float]):
        self.xs, self.ys = xs, ys
        self.x0, self.x1, self.y0, self.y1 = xs[0], xs[-1], ys[0], ys[-1]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ys) - 1, len(self.xs) - 1

    def cell_of(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of the point, or None when it lies outside the grid."""
        if not (self.x0 - _TOL <= x <= self.x1 + _TOL and self.y0 - _TOL <= y <= self.y1 + _TOL):
            return None
        row = min(max(bisect_right(self.ys, y) - 1, 0), len(self.ys) - 2)
        col = min(max(bisect_right(self.xs, x) - 1, 0), len(self.xs) - 2)
        return row, col


def _snap(values: list[float]) -> list[float]:
    """Sorted values with neighbours closer than _TOL merged (mean), so one ruling drawn in pieces is one boundary."""
    out: list[float] = []
    group: list[float] = []
    for v in sorted(values):
        if group and v - group[-1] > _TOL:
            out.append(sum(group) / len(group))
            group = []
        group.append(v)
    if group:
        out.append(sum(group) / len(group))
    return out


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def find_grids(paths: list[tuple], min_rows: int = 2, min_cols: int = 2) -> list[Grid]:
    """Grids formed by ruling lines: thin paths and the edges of rectangles at least cell-sized (borders, shading).

    ``paths``: (x0, y0, x1, y1) or (x0, y0, x1, y1, is_rect) per vector path; a path that is not a rectangle (a
    curve, a plot line) counts only when it is thin, i.e. a straight rule. Segments that touch are grouped
    (union-find over horizontal×vertical crossings, found by bisecting the horizontals sorted by y), and a group
    counts as a table only when it has at least ``min_rows`` rows and ``min_cols`` columns: a framed paragraph or a
    shaded code block is 1×1 and stays normal text. Pages with more than _MAX_SEGMENTS segments are drawings (plots,
    diagrams), not tables, and are skipped: the crossing search would cost seconds there.
    """
    horiz: list[tuple[float, float, float]] = []  # (y, x0, x1)
    vert: list[tuple[float, float, float]] = []  # (x, y0, y1)
    for path in paths:
        x0, y0, x1, y1 = path[:4]
        w, h = x1 - x0, y1 - y0
        if h <= _THIN and w >= _MIN_LEN:
            horiz.append(((y0 + y1) / 2, x0, x1))
        elif w <= _THIN and h >= _MIN_LEN:
            vert.append(((x0 + x1) / 2, y0, y1))
        elif w >= _MIN_CELL_W and h >= _MIN_CELL_H and (len(path) < 5 or path[4]):
            horiz += [(y0, x0, x1), (y1, x0, x1)]
            vert += [(x0, y0, y1), (x1, y0, y1)]
    if len(horiz) + len(vert) > _MAX_SEGMENTS:
        return []
    if len(horiz) < min_rows + 1 or len(vert) < 2:
        return []
    horiz.sort()
    hys = [h[0] for h in horiz]
    nh = len(horiz)
    parent = list(range(nh + len(vert)))
    for vi, (x, vy0, vy1) in enumerate(vert):
        root = nh + vi  # a vertical starts as its own root and only gains children below
        for hi_ in range(bisect_left(hys, vy0 - _TOL), bisect_right(hys, vy1 + _TOL)):
            _, hx0, hx1 = horiz[hi_]
            if hx0 - _TOL <= x <= hx1 + _TOL:
                r = hi_
                while parent[r] != r:
                    parent[r] = parent[parent[r]]  # path halving keeps the trees flat
                    r = parent[r]
                if r != root:
                    parent[r] = root
                    parent[hi_] = root
    groups: dict[int, list] = {}  # root -> [xs of verticals, ys of horizontals, x0, x1]
    for i, (y, hx0, hx1) in enumerate(horiz):
        g = groups.setdefault(_find(parent, i), [[], [], hx0, hx1])
        g[1].append(y)
        g[2], g[3] = min(g[2], hx0), max(g[3], hx1)
    for vi, (x, _, _) in enumerate(vert):
        g = groups.get(_find(parent, nh + vi))
        if g is not None:
            g[0].append(x)
    grids = []
    for xs_v, ys_h, gx0, gx1 in groups.values():
        if not xs_v:
            continue
        xs = [x for x in _snap([gx0, gx1, *xs_v]) if gx0 - _TOL <= x <= gx1 + _TOL]
        ys = _snap(ys_h)
        if len(xs) - 1 >= min_cols and len(ys) - 1 >= min_rows:
            grids.append(Grid(xs, ys))
    return grids


def grids_from_find_tables(page: pymupdf.Page) -> list[Grid]:
    """PyMuPDF's own line-based finder (layout model off): slower, kept for comparison."""
    found = page.find_tables(use_layout=False)
    grids = []
    for table in found.tables if found else []:
        cells = [c for c in table.cells if c]
        xs = _snap([v for c in cells for v in (c[0], c[2])])
        ys = _snap([v for c in cells for v in (c[1], c[3])])
        if len(xs) > 2 and len(ys) > 2:
            grids.append(Grid(xs, ys))
    return grids


def to_markdown(cells: list[list[str]]) -> str:
    """A Markdown table; empty rows and columns dropped, the first row taken as header, pipes escaped."""
    rows = [r for r in cells if any(c.strip() for c in r)]
    if not rows:
        return ""
    keep = [j for j in range(len(rows[0])) if any(r[j].strip() for r in rows)]
    if len(keep) < 2:  # one column left: not a table any more, plain lines
        return "\n".join(" ".join(r[j].strip() for j in keep) for r in rows)
    lines = []
    for i, r in enumerate(rows):
        lines.append("| " + " | ".join(r[j].strip().replace("|", "\\|") for j in keep) + " |")
        if i == 0:
            lines.append("|" + " --- |" * len(keep))
    return "\n".join(lines)
