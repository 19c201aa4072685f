"""OCR of scanned pages in many scripts, with and without a declared language (issue 19).

    python benchmarks/pdf_ocr.py [--pages-per-script 8] [--pages-per-latin-lang 3] [--scan-dpi 150 300]
        [--render-dpi 300] [--scripts Cyrl Latn/vie ...] [--skip-settings] [--workers 2] [--out results.json]
        [--corpus DIR] [--list-pages]

A default run takes about 23 minutes on 2 cores (about 105 pages x 2 scan dpi x 3 modes, then the settings grid).

Corpus: the born-digital PDFs of the dev corpora (``<corpus>/x``: Debian manuals, TeX Live language docs, SIL font
docs; identical files, e.g. debian-reference's two copies, deduplicated by content hash). The first ``--scan-pages``
pages of every PDF are classified by ``curation.text.scripts.dominant_script`` of their text layer; per script
(for Latin: per language, LID on the document's Latin pages; ``--pages-per-latin-lang``) up to
``--pages-per-script`` pages are chosen, in runs of up to 3 neighbouring pages from as many distinct documents
(distinct languages of the script first, then distinct packages; purest documents first), preferring pages with
>= 400 letters of which >= 30 % are in the script (its family for Han, kana and Hangul) and which are not listings
(contents, index, symbol tables). Documents whose language LID cannot name (glyph charts) are dropped.

"Scans": every chosen page rendered with PyMuPDF at the scan dpi (150 and 300), saved as JPEG (quality 85) and
inserted as the only content of a page of the same size, no text layer; the chosen pages of one document make one
multi-page scanned PDF (the OCR code reuses the previous page's decision: the "document" source). Each scanned PDF
goes through ``curation.pdf.extract.extract_pdf`` three times (the backend renders a scan at its own resolution,
between 150 dpi and ``--render-dpi``, default the backend's 300):

1. eng: ``ocr={"backend": "tesseract", "dpi": R, "languages": "eng"}`` (English packs only, the old behaviour);
2. declared: ``languages=[code]``, the code LID gives the original text layer (lid.176 on the letters of the page's
   script, so Latin commands and quoted English do not vote; on the chosen pages it always agreed with LID on the
   whole text), the most common over the document's chosen pages (``rus_Cyrl``, ``zho_Hant`` ...);
3. undeclared: ``languages=[]``: the script and language are detected per page (``script_detect``).

Metric: character 3-grams as a multiset after NFKC with all whitespace (and invisible bidi marks, which Tesseract
writes around Latin runs in right-to-left lines) removed, OCR text vs the page's own text layer (``page_text`` +
``repair_text``, as extraction would keep it; running heads included, OCR reads them too); recall/precision pooled
per script. Time: seconds of ``extract_pdf`` wall time per page, each call timed in its
worker (one process per core, Tesseract single-threaded). LID: lid.176 on the OCR text vs on the original text,
share of pages with the same code (whole text, and letters of the page's script only). Script: share of pages whose
``OcrDecision.script`` (undeclared) names the page's dominant script (Hani counts for Hans/Hant, Hira/Kana for
Jpan; Hans vs Hant does not). "OCR settings": on a few declared-language pages, ``TesseractOcr(dpi, psm)`` over
render dpi x page segmentation mode, to choose the defaults by measurement.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pymupdf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from multilingual_corpus import DEV  # noqa: E402

from curation.pdf.errors import PdfError  # noqa: E402
from curation.pdf.extract import extract_pdf  # noqa: E402
from curation.pdf.layout import page_text  # noqa: E402
from curation.pdf.ocr import TesseractOcr, render_page  # noqa: E402
from curation.pdf.ocr.script_detect import script_letters  # noqa: E402
from curation.pdf.ocr.tesseract import DEFAULT_DPI, find_tessdata  # noqa: E402
from curation.pdf.router import assess_page, repair_text  # noqa: E402
from curation.text.scripts import dominant_script, script_counts  # noqa: E402

MODES = ("eng", "declared", "undeclared")
LATIN_LANGS = ("eng", "deu", "fra", "spa", "ita", "por", "ind", "nld", "vie")
SCRIPT_ORDER = ("Latn", "Cyrl", "Grek", "Armn", "Arab", "Hebr", "Deva", "Beng", "Thai", "Hans", "Hant", "Jpan", "Hang")
FAMILY = {"Jpan": ("Hani", "Hira", "Kana"), "Hans": ("Hani",), "Hant": ("Hani",), "Hang": ("Hang", "Hani")}
MIN_LETTERS, MIN_SHARE, FALLBACK_LETTERS = 400, 0.3, 150  # page choice: preferred, then accepted
PAGE_NUMBER_END = re.compile(r"(?:\d+|\b[ivxlc]+)$")
SAMPLE_CHARS = 6000  # text per script and document read by LID to name the document's language
SHORT_LINE = 20  # characters
RUN = 3  # neighbouring pages taken from one document at a time
JPEG_QUALITY = 85
SETTINGS_SCRIPTS = ("Latn", "Cyrl", "Hans", "Jpan", "Arab", "Deva")
SETTINGS_DPI = (150, 200, 300)
SETTINGS_PSM = (3, 6)
BIDI_MARKS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")  # invisible; Tesseract adds them
WORSE_BY = 0.05  # a page whose undeclared recall is this far below declared is listed
RECALL_TARGET, GAP_TARGET, LID_TARGET = 0.95, 0.02, 0.95
RECALL_TARGET_SCRIPTS = {"Latin": ("Latn",), "Cyrillic": ("Cyrl",), "Greek": ("Grek",), "Han": ("Hans", "Hant")}
RECALL_TARGET_SCRIPTS["kana"] = ("Jpan",)


# --- corpus ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageInfo:
    number: int  # 0-based page index in the source PDF
    script: str
    letters: int
    share: float  # letters of the script (its family) / all letters
    listing: bool = False  # contents, index or symbol table: most lines short or ending in a page number


@dataclass
class SourceDoc:
    path: str  # relative to the corpus folder
    pages: list[PageInfo]
    samples: dict[str, str] = field(default_factory=dict)  # script → text of its pages, for LID
    langs: dict[str, str] = field(default_factory=dict)  # script → LID code of that sample

    @property
    def package(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def name(self) -> str:
        return f"{self.package}:{self.path.rsplit('/', 1)[-1]}"


@dataclass
class Pick:
    """The chosen pages of one source document: one scanned PDF per scan dpi."""

    group: str  # script, or Latn/<lang> for Latin
    script: str
    doc: SourceDoc
    numbers: list[int]  # 0-based, ascending
    refs: list[str] = field(default_factory=list)  # original text layer per page
    code: str = ""  # declared language (LID on the original)
    ref_lid: list[tuple[str, str]] = field(default_factory=list)  # (whole text, script letters) LID per page


def read_pdf(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def family_share(counts: Counter[str], script: str) -> float:
    total = sum(counts.values())
    return sum(counts[s] for s in FAMILY.get(script, (script,))) / total if total else 0.0


def scan_pdf(root: str, rel: str, max_pages: int) -> tuple[str, str, list[PageInfo], dict[str, str]]:
    """(path, content hash, page classes, text sample per script) of one PDF; no pages when it does not open."""
    try:
        data = read_pdf(Path(root) / rel)
        digest = hashlib.sha1(data).hexdigest()
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception:  # a broken or encrypted PDF is simply not in the corpus
        return rel, "", [], {}
    pages: list[PageInfo] = []
    samples: dict[str, str] = defaultdict(str)
    with doc:
        if doc.needs_pass:
            return rel, digest, [], {}
        for number in range(min(max_pages, doc.page_count)):
            text = doc[number].get_text()
            counts = script_counts(text, sample_chars=len(text) + 1)
            letters = sum(counts.values())
            if letters < FALLBACK_LETTERS:
                continue
            script = dominant_script(text)
            pages.append(PageInfo(number, script, letters, family_share(counts, script), listing_like(text)))
            if len(samples[script]) < SAMPLE_CHARS:
                samples[script] += text + "\n"
    return rel, digest, pages, dict(samples)


def scan_corpus(root: Path, max_pages: int, pool: ProcessPoolExecutor) -> list[SourceDoc]:
    """Every distinct PDF under ``root`` with its classified pages (first copy of identical files kept)."""
    rels = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.name.lower().endswith((".pdf", ".pdf.gz")) and p.is_file() and not p.is_symlink()
    )
    seen: set[str] = set()
    docs = []
    for rel, digest, pages, samples in pool.map(scan_pdf, [str(root)] * len(rels), rels, [max_pages] * len(rels)):
        if digest and digest not in seen and pages:
            seen.add(digest)
            docs.append(SourceDoc(rel, pages, samples))
    return docs


# --- page choice ----------------------------------------------------------------------------------------------------


def listing_like(text: str) -> bool:
    """A contents, index or symbol-table page: accepted, but prose is preferred (dot leaders, page-number columns
    and one-word cells measure layout, not reading)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 8:
        return False
    numbered = sum(bool(PAGE_NUMBER_END.search(line)) for line in lines)
    short = sum(len(line) < SHORT_LINE for line in lines)
    return numbered >= 0.4 * len(lines) or short >= 0.5 * len(lines)


def preferred(page: PageInfo) -> bool:
    return page.letters >= MIN_LETTERS and page.share >= MIN_SHARE and not page.listing


def page_order(pages: list[PageInfo]) -> list[int]:
    """A document's pages in the order they are taken: preferred pages from a third in (past title and contents
    pages), wrapping round, then the accepted rest; neighbours stay together."""
    good = [p.number for p in pages if preferred(p)]
    rest = [p.number for p in pages if not preferred(p)]
    start = len(good) // 3
    return good[start:] + good[:start] + rest


def purity(doc: SourceDoc, script: str, enough: int = 10) -> float:
    """Up to ``enough`` preferred pages of ``script`` count, weighted by their mean share of it: among documents
    with enough pages, the purest (an English manual before an English guide to Greek fonts full of Greek samples)."""
    shares = [p.share for p in doc.pages if p.script == script and preferred(p)]
    return min(len(shares), enough) * sum(shares) / len(shares) if shares else 0.0


def distinct_first(docs: list[SourceDoc], script: str) -> list[SourceDoc]:
    """Documents by :func:`purity`, one per language of ``script`` before any language's second (the languages with
    most documents first: Russian, then Bulgarian, Serbian ... for Cyrillic), and one per package before any
    package's second. LID on Han letters tells no language apart: CJK scripts only take distinct packages."""
    ranked = sorted(docs, key=lambda d: (-purity(d, script), d.path))
    lang_of = {d.path: "" if script in FAMILY else d.langs.get(script, "") for d in ranked}
    frequency = Counter(lang_of[d.path] for d in ranked if purity(d, script))
    langs: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    keyed = []
    for rank, doc in enumerate(ranked):
        lang = lang_of[doc.path]
        keyed.append(((langs[lang], -frequency[lang], packages[doc.package], rank), doc))
        langs[lang] += 1 if lang else 0
        packages[doc.package] += 1
    return [doc for _, doc in sorted(keyed, key=lambda t: t[0])]


def choose_pages(docs: list[SourceDoc], script: str, target: int) -> list[tuple[SourceDoc, list[int]]]:
    """Up to ``target`` pages of ``script`` in runs of up to ``RUN`` from each document in turn."""
    queues = []
    for doc in distinct_first(docs, script):
        mine = [p for p in doc.pages if p.script == script]
        if mine:
            queues.append((doc, page_order(mine)))
    taken: dict[str, list[int]] = defaultdict(list)
    by_path = {doc.path: doc for doc, _ in queues}
    total = 0
    while total < target and any(q for _, q in queues):
        for doc, queue in queues:
            run = queue[: min(RUN, target - total)]
            del queue[: len(run)]
            taken[doc.path].extend(run)
            total += len(run)
            if total >= target:
                break
    return [(by_path[path], sorted(numbers)) for path, numbers in taken.items() if numbers]


def group_docs(docs: list[SourceDoc], latin_langs: Sequence[str]) -> dict[str, tuple[str, list[SourceDoc]]]:
    """group → (script, documents having pages of it): one group per script, Latin split by document language."""
    groups: dict[str, tuple[str, list[SourceDoc]]] = {}
    for doc in docs:
        main_script = Counter(p.script for p in doc.pages).most_common(1)[0][0]
        for script in sorted({p.script for p in doc.pages}):
            if script == "Latn":  # the Latin pages of a mainly Latin document, by the document's language
                lang = doc.langs.get("Latn", "").partition("_")[0]
                if lang not in latin_langs or main_script != "Latn":
                    continue
                key = f"Latn/{lang}"
            elif script == "Zyyy":
                continue
            else:
                key = script
            groups.setdefault(key, (script, []))[1].append(doc)
    return groups


def group_sort_key(group: str) -> tuple[int, int, str]:
    script, _, lang = group.partition("/")
    rank = SCRIPT_ORDER.index(script) if script in SCRIPT_ORDER else len(SCRIPT_ORDER)
    return rank, LATIN_LANGS.index(lang) if lang in LATIN_LANGS else len(LATIN_LANGS), group


def choose(docs: list[SourceDoc], args: argparse.Namespace) -> list[Pick]:
    picks = []
    groups = group_docs(docs, args.latin_langs)
    for group in sorted(groups, key=group_sort_key):
        script, members = groups[group]
        if args.scripts and script not in args.scripts and group not in args.scripts:
            continue
        target = args.pages_per_latin_lang if script == "Latn" else args.pages_per_script
        for doc, numbers in choose_pages(members, script, target):
            picks.append(Pick(group, script, doc, numbers))
    return picks


# --- reference text and LID -----------------------------------------------------------------------------------------


class Lid:
    """lid.176 codes for whole texts and for the letters of one script."""

    def __init__(self) -> None:
        from curation.text.langid import LanguageIdentifier

        self.model = LanguageIdentifier("lid.176")

    def codes(self, texts: list[str]) -> list[str]:
        return [p.lang for p in self.model.predict_batch(texts)]

    def pair(self, text: str, script: str) -> tuple[str, str]:
        """(code of the whole text, code of the script's letters)."""
        letters = text if script == "Latn" else script_letters(text, script)
        whole, own = self.codes([text, letters])
        return whole, own


def attach_references(picks: list[Pick], root: Path, lid: Lid) -> None:
    """Original text per page (as extraction keeps a usable text layer), its LID, and the document's code."""
    for pick in picks:
        with pymupdf.open(stream=read_pdf(root / pick.doc.path), filetype="pdf") as doc:
            kept = []
            for number in pick.numbers:
                page = doc[number]
                text = page_text(page)
                if assess_page(page, text).usable:
                    kept.append(number)
                    pick.refs.append(repair_text(text.replace("\ufffd", "")))
        pick.numbers = kept
        pick.ref_lid = [lid.pair(ref, pick.script) for ref in pick.refs]
        pick.code = Counter(own for _, own in pick.ref_lid).most_common(1)[0][0] if pick.refs else ""
    picks[:] = [p for p in picks if p.numbers]


def drop_unreadable(picks: list[Pick]) -> list[str]:
    """Drop the documents whose language LID cannot name in their script (a Lepcha or Ethiopic glyph chart): there
    is no language to declare. Returns what was dropped."""
    dropped = [f"{p.group} {p.doc.name} (LID: {p.code or 'none'})" for p in picks if p.code[-4:] != p.script]
    picks[:] = [p for p in picks if p.code[-4:] == p.script]
    return dropped


def documents_language(docs: list[SourceDoc], lid: Lid) -> None:
    """LID per document and script, on the letters of that script in its pages."""
    todo = [(doc, script) for doc in docs for script in doc.samples if script != "Zyyy"]
    texts = [script_letters(doc.samples[script], script) for doc, script in todo]
    for (doc, script), code in zip(todo, lid.codes(texts), strict=True):
        doc.langs[script] = code


# --- scanning and OCR (workers) -------------------------------------------------------------------------------------


def scanned_pdf(data: bytes, numbers: Iterable[int], dpi: int) -> bytes:
    """The pages rendered at ``dpi`` as JPEG, one image per page of the same size, no text layer."""
    out = pymupdf.open()
    with pymupdf.open(stream=data, filetype="pdf") as src:
        for number in numbers:
            page = src[number]
            jpeg = page.get_pixmap(dpi=dpi, alpha=False).tobytes("jpeg", jpg_quality=JPEG_QUALITY)
            new = out.new_page(width=page.rect.width, height=page.rect.height)
            new.insert_image(new.rect, stream=jpeg)
    data = out.tobytes(garbage=3, deflate=True)
    out.close()
    return data


def mode_call(mode: str, render_dpi: int, code: str) -> dict[str, Any]:
    ocr: dict[str, Any] = {"backend": "tesseract", "dpi": render_dpi}
    if mode == "eng":
        return {"ocr": {**ocr, "languages": "eng"}}
    return {"ocr": ocr, "languages": [code] if mode == "declared" else []}


def run_mode(data: bytes, pages: int, kwargs: dict[str, Any]) -> dict[str, Any]:
    """One ``extract_pdf`` call: wall seconds, and per page its text and OCR decision."""
    start = time.perf_counter()
    try:
        result = extract_pdf(data, **kwargs)
        rows = [
            {"text": p.text, "method": p.method, "decision": asdict(p.ocr) if p.ocr else None} for p in result.pages
        ]
    except PdfError as err:  # every page came back empty
        rows = [{"text": "", "method": f"error:{err}", "decision": None}] * pages
    return {"seconds": time.perf_counter() - start, "pages": rows}


def ocr_job(root: str, rel: str, numbers: list[int], scan_dpi: int, render_dpi: int, code: str) -> dict[str, Any]:
    data = scanned_pdf(read_pdf(Path(root) / rel), numbers, scan_dpi)
    return {mode: run_mode(data, len(numbers), mode_call(mode, render_dpi, code)) for mode in MODES}


def settings_job(root: str, rel: str, numbers: list[int], scan_dpi: int, code: str) -> list[dict[str, Any]]:
    """Declared-language OCR of each page for every render dpi x psm: text and seconds."""
    data = scanned_pdf(read_pdf(Path(root) / rel), numbers, scan_dpi)
    rows = []
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        warm = TesseractOcr(dpi=SETTINGS_DPI[0], psm=SETTINGS_PSM[0])  # untimed: the first run loads the packs
        warm.recognize_one(render_page(doc[0], warm.dpi, gray=warm.gray), [code])
        for dpi in SETTINGS_DPI:
            for psm in SETTINGS_PSM:
                backend = TesseractOcr(dpi=dpi, psm=psm)
                for i in range(doc.page_count):
                    image = render_page(doc[i], dpi, gray=backend.gray)
                    start = time.perf_counter()
                    result = backend.recognize_one(image, [code])
                    rows.append({"dpi": dpi, "psm": psm, "index": i, "seconds": time.perf_counter() - start,
                                 "text": result.text, "error": result.error})  # fmt: skip
    return rows


def warm_tessdata() -> None:
    """Read the language packs once, so the first page of each language is not timed reading them from disk."""
    folder = find_tessdata()
    for path in Path(folder).rglob("*.traineddata") if folder else ():
        path.read_bytes()


def warm_worker() -> None:
    """Load what the first timed call would otherwise pay for (fastText LID for detection)."""
    from curation.pdf.ocr.script_detect import _lid

    _lid()


# --- scoring --------------------------------------------------------------------------------------------------------


def grams(text: str) -> Counter[str]:
    s = "".join(BIDI_MARKS.sub("", unicodedata.normalize("NFKC", text)).split())
    return Counter(s[i : i + 3] for i in range(len(s) - 2))


@dataclass
class Score:
    matched: int = 0
    ref: int = 0
    out: int = 0

    def add(self, other: Score) -> None:
        self.matched += other.matched
        self.ref += other.ref
        self.out += other.out

    @property
    def recall(self) -> float:
        return self.matched / self.ref if self.ref else 0.0

    @property
    def precision(self) -> float:
        return self.matched / self.out if self.out else 0.0


def score(text: str, ref: str) -> Score:
    a, b = grams(text), grams(ref)
    return Score(sum((a & b).values()), sum(b.values()), sum(a.values()))


def same_script(decided: str | None, ref: str) -> bool:
    """Hani names a Han page of either variant, kana a Japanese one; Hans vs Hant is a different pack."""
    if decided is None:
        return False
    if decided == ref or (decided == "Hani" and ref in ("Hans", "Hant")):
        return True
    return {decided, ref} <= {"Jpan", "Hira", "Kana"} or {decided, ref} <= {"Hang", "Kore"}


def page_rows(pick: Pick, scan_dpi: int, result: dict[str, Any], lid: Lid) -> list[dict[str, Any]]:
    """One row per page: scores, decisions and LID for every mode."""
    rows = []
    n = len(pick.numbers)
    for i, (number, ref) in enumerate(zip(pick.numbers, pick.refs, strict=True)):
        row: dict[str, Any] = {
            "scan_dpi": scan_dpi, "group": pick.group, "script": pick.script, "doc": pick.doc.path,
            "page": number + 1, "code": pick.code, "ref_lid": pick.ref_lid[i][0], "ref_lid_script": pick.ref_lid[i][1],
            "ref_grams": sum(grams(ref).values()), "ref_text": ref,
        }  # fmt: skip
        for mode in MODES:
            page = result[mode]["pages"][i]
            s = score(page["text"], ref)
            whole, own = lid.pair(page["text"], pick.script)
            row[mode] = {
                "recall": round(s.recall, 4), "precision": round(s.precision, 4), "matched": s.matched,
                "out_grams": s.out, "seconds": result[mode]["seconds"] / n, "method": page["method"],
                "decision": page["decision"], "lid": whole, "lid_script": own, "text": page["text"],
            }  # fmt: skip
        rows.append(row)
    return rows


# --- report ---------------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    pages: int = 0
    docs: set[str] = field(default_factory=set)
    scores: dict[str, Score] = field(default_factory=lambda: {m: Score() for m in MODES})
    seconds: Counter[str] = field(default_factory=Counter)
    lid_ok: Counter[str] = field(default_factory=Counter)
    lid_script_ok: Counter[str] = field(default_factory=Counter)
    script_ok: int = 0

    def add(self, row: dict[str, Any]) -> None:
        self.pages += 1
        self.docs.add(row["doc"])
        for mode in MODES:
            m = row[mode]
            self.scores[mode].add(Score(m["matched"], row["ref_grams"], m["out_grams"]))
            self.seconds[mode] += m["seconds"]
            self.lid_ok[mode] += m["lid"] == row["ref_lid"]
            self.lid_script_ok[mode] += m["lid_script"] == row["ref_lid_script"]
        decision = row["undeclared"]["decision"] or {}
        self.script_ok += same_script(decision.get("script"), row["script"])

    def gap(self) -> float:
        return self.scores["declared"].recall - self.scores["undeclared"].recall


def tallies(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], str]) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    for row in rows:
        out.setdefault(key(row), Tally()).add(row)
    return out


def rp(s: Score) -> str:
    return f"{s.recall:.3f} / {s.precision:.3f}"


def share(n: int, total: int) -> str:
    return f"{n / total:.2f}" if total else "-"


def tally_line(label: str, t: Tally) -> str:
    cells = [label, str(t.pages), str(len(t.docs)), *(rp(t.scores[m]) for m in MODES), f"{t.gap():+.3f}"]
    cells += [f"{t.seconds[m] / t.pages:.2f}" for m in MODES]
    cells += [share(t.lid_ok["undeclared"], t.pages), share(t.lid_ok["declared"], t.pages)]
    cells += [share(t.lid_script_ok["undeclared"], t.pages), share(t.script_ok, t.pages)]
    return "| " + " | ".join(cells) + " |"


def print_main_table(rows: list[dict[str, Any]], scan_dpi: int, render_dpi: int) -> None:
    mine = [r for r in rows if r["scan_dpi"] == scan_dpi]
    print(f"\n### Scanned at {scan_dpi} dpi (OCR render: the scan's own dpi, 150 to {render_dpi})\n")
    print(
        "| script | pages | docs | eng R / P | declared R / P | undeclared R / P | gap (decl − undecl) "
        "| s/page eng | s/page decl | s/page undecl | LID ok undecl | LID ok decl | LID ok undecl (script letters) "
        "| script ok |"
    )
    print("|---|" + "---|" * 13)
    by_group = tallies(mine, lambda r: r["group"])
    for group in sorted(by_group, key=group_sort_key):
        print(tally_line(group, by_group[group]))
    latin = tallies([r for r in mine if r["script"] == "Latn"], lambda r: "Latn")
    if latin:
        print(tally_line("**Latn (all)**", latin["Latn"]))
    print(tally_line("**all**", tallies(mine, lambda r: "all")["all"]))


def target_lines(rows: list[dict[str, Any]], scan_dpis: Sequence[int]) -> list[str]:
    lines = []
    for dpi in scan_dpis:
        mine = [r for r in rows if r["scan_dpi"] == dpi]
        by_group = tallies(mine, lambda r: r["group"])
        misses = [f"{g} {t.gap():+.3f}" for g, t in sorted(by_group.items()) if t.gap() > GAP_TARGET]
        verdict = "PASS" if not misses else "FAIL: " + ", ".join(misses)
        worst = max((t.gap() for t in by_group.values()), default=0.0)
        lines.append(
            f"- {dpi} dpi: undeclared recall within {GAP_TARGET} of declared, every script: worst gap {worst:+.3f}: "
            f"**{verdict}**"
        )
        if mine:
            t = tallies(mine, lambda r: "all")["all"]
            ok = t.lid_ok["undeclared"] / t.pages
            lines.append(
                f"- {dpi} dpi: LID on undeclared OCR text = LID on original for >= {LID_TARGET:.0%} of pages: "
                f"{ok:.3f} ({t.pages} pages; declared {t.lid_ok['declared'] / t.pages:.3f}): "
                f"**{'PASS' if ok >= LID_TARGET else 'FAIL'}**"
            )
    low = [r for r in rows if r["scan_dpi"] == min(scan_dpis)]
    for label, scripts in RECALL_TARGET_SCRIPTS.items():
        t = tallies([r for r in low if r["script"] in scripts], lambda r: "x").get("x")
        if t is None:
            lines.append(f"- {label} at {min(scan_dpis)} dpi: no pages")
            continue
        und, dec = t.scores["undeclared"].recall, t.scores["declared"].recall
        lines.append(
            f"- {label} recall >= {RECALL_TARGET} at {min(scan_dpis)} dpi: undeclared {und:.3f} "
            f"**{'PASS' if und >= RECALL_TARGET else 'FAIL'}**, declared {dec:.3f} "
            f"**{'PASS' if dec >= RECALL_TARGET else 'FAIL'}** ({t.pages} pages)"
        )
    return lines


def print_worse_pages(rows: list[dict[str, Any]]) -> None:
    worse = [r for r in rows if r["declared"]["recall"] - r["undeclared"]["recall"] > WORSE_BY]
    print(f"\n## Pages where undeclared recall is more than {WORSE_BY} below declared ({len(worse)})\n")
    if not worse:
        return
    head = ("scan dpi", "group", "doc", "page", "declared code", "R decl", "R undecl", "script", "langs", "source")
    print("| " + " | ".join((*head, "lang", "conf")) + " |")
    print("|---|" + "---|" * 11)
    for r in sorted(worse, key=lambda r: (r["scan_dpi"], group_sort_key(r["group"]), r["doc"], r["page"])):
        d = r["undeclared"]["decision"] or {}
        print(
            f"| {r['scan_dpi']} | {r['group']} | {r['doc'].split('/', 1)[0]}:{r['doc'].rsplit('/', 1)[-1]} "
            f"| {r['page']} | {r['code']} | {r['declared']['recall']:.3f} | {r['undeclared']['recall']:.3f} "
            f"| {d.get('script', '-')} | {d.get('langs', '-')} | {d.get('source', '-')} | {d.get('lang') or '-'} "
            f"| {d.get('confidence', 0):.2f} |"
        )


def print_picks(picks: list[Pick]) -> None:
    print("\n## Pages\n")
    print("| group | declared code | document | pages |")
    print("|---|---|---|---|")
    for pick in picks:
        pages = ",".join(str(n + 1) for n in pick.numbers)
        print(f"| {pick.group} | {pick.code} | {pick.doc.name} | {pages} |")


# --- OCR settings ---------------------------------------------------------------------------------------------------


def settings_picks(picks: list[Pick]) -> list[Pick]:
    """2 pages of the first document of each settings script (Latin: the first language other than English)."""
    out = []
    for script in SETTINGS_SCRIPTS:
        mine = [p for p in picks if p.script == script and len(p.numbers) >= 2 and p.group != "Latn/eng"]
        if mine:
            p = mine[0]
            out.append(Pick(p.group, p.script, p.doc, p.numbers[:2], p.refs[:2], p.code, p.ref_lid[:2]))
    return out


def print_settings(picks: list[Pick], results: list[list[dict[str, Any]]], scan_dpi: int) -> list[dict[str, Any]]:
    scores: dict[tuple[int, int], dict[str, Score]] = defaultdict(lambda: defaultdict(Score))
    seconds: Counter[tuple[int, int]] = Counter()
    pages: Counter[tuple[int, int]] = Counter()
    out = []
    for pick, rows in zip(picks, results, strict=True):
        for row in rows:
            key = (row["dpi"], row["psm"])
            s = score(row["text"], pick.refs[row["index"]])
            scores[key][pick.script].add(s)
            scores[key]["all"].add(s)
            seconds[key] += row["seconds"]
            pages[key] += 1
            out.append({"scan_dpi": scan_dpi, "group": pick.group, "doc": pick.doc.path,
                        "page": pick.numbers[row["index"]] + 1, "code": pick.code, "dpi": row["dpi"],
                        "psm": row["psm"], "recall": round(s.recall, 4), "precision": round(s.precision, 4),
                        "seconds": row["seconds"], "error": row["error"]})  # fmt: skip
    scripts = [p.script for p in picks]
    print(f"\n### Scanned at {scan_dpi} dpi, declared languages, {sum(len(p.numbers) for p in picks)} pages\n")
    print("| render dpi | psm | " + " | ".join(f"{s} R / P" for s in scripts) + " | all R / P | s/page |")
    print("|---|---|" + "---|" * (len(scripts) + 2))
    for key in sorted(scores):
        cells = [rp(scores[key][s]) for s in scripts]
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + f" | {rp(scores[key]['all'])} | "
              f"{seconds[key] / pages[key]:.2f} |")  # fmt: skip
    return out


# --- main -----------------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEV / "x", help="folder searched for *.pdf / *.pdf.gz")
    parser.add_argument("--pages-per-script", type=int, default=8)
    parser.add_argument("--pages-per-latin-lang", type=int, default=3, help="pages per Latin-script language")
    parser.add_argument("--latin-langs", nargs="+", default=list(LATIN_LANGS), help="ISO 639-3 codes")
    parser.add_argument("--scan-pages", type=int, default=40, help="first pages of each PDF classified")
    parser.add_argument("--scan-dpi", type=int, nargs="+", default=[150, 300])
    parser.add_argument("--render-dpi", type=int, default=DEFAULT_DPI, help="highest OCR render dpi")
    parser.add_argument("--scripts", nargs="+", default=None, help="scripts or groups (Cyrl, Latn/deu) to run")
    parser.add_argument("--skip-settings", action="store_true")
    parser.add_argument("--settings-scan-dpi", type=int, nargs="+", default=None, help="default: --scan-dpi")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--list-pages", action="store_true", help="print the chosen pages and stop")
    parser.add_argument("--out", type=Path, default=None, help="JSON of per-page results")
    return parser.parse_args()


def run_ocr(pool: ProcessPoolExecutor, picks: list[Pick], args: argparse.Namespace, lid: Lid) -> list[dict]:
    jobs = [(pick, dpi) for dpi in args.scan_dpi for pick in picks]
    jobs.sort(key=lambda j: -len(j[0].numbers) * (2 if j[0].script in ("Hans", "Hant", "Jpan", "Hang") else 1))
    futures = [
        pool.submit(ocr_job, str(args.corpus), pick.doc.path, pick.numbers, dpi, args.render_dpi, pick.code)
        for pick, dpi in jobs
    ]
    rows = []
    start = time.perf_counter()
    for done, ((pick, dpi), future) in enumerate(zip(jobs, futures, strict=True), 1):
        rows.extend(page_rows(pick, dpi, future.result(), lid))
        elapsed = time.perf_counter() - start
        print(f"[{done}/{len(jobs)} {elapsed:.0f} s] {pick.group} {pick.doc.name} @{dpi}", file=sys.stderr)
    return rows


def run_settings(pool: ProcessPoolExecutor, picks: list[Pick], args: argparse.Namespace) -> list[dict[str, Any]]:
    chosen = settings_picks(picks)
    print("\n## OCR settings (declared languages; `TesseractOcr(dpi, psm)` on `render_page` images)")
    print("\nPages: " + ", ".join(f"{p.group} {p.doc.name} p{'+'.join(str(n + 1) for n in p.numbers)}" for p in chosen))
    out = []
    for scan_dpi in args.settings_scan_dpi or args.scan_dpi:
        futures = [pool.submit(settings_job, str(args.corpus), p.doc.path, p.numbers, scan_dpi, p.code) for p in chosen]
        out.extend(print_settings(chosen, [f.result() for f in futures], scan_dpi))
    return out


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    ctx = get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=ctx, initializer=warm_worker) as pool:
        docs = scan_corpus(args.corpus, args.scan_pages, pool)
        lid = Lid()
        documents_language(docs, lid)
        picks = choose(docs, args)
        attach_references(picks, args.corpus, lid)
        dropped = drop_unreadable(picks)
        scanned = time.perf_counter() - started
        print("# OCR of scanned pages: declared vs detected language (benchmarks/pdf_ocr.py)\n")
        print(f"Corpus: {len(docs)} distinct PDFs under {args.corpus}; {sum(len(p.numbers) for p in picks)} pages in "
              f"{len(picks)} documents; scan dpi {args.scan_dpi}, OCR render at the scan's own dpi "
              f"(150 to {args.render_dpi}), "
              f"{args.workers} workers; page choice {scanned:.0f} s.")  # fmt: skip
        if dropped:
            print("Dropped (no language to declare): " + "; ".join(dropped) + ".")
        if args.list_pages:
            print_picks(picks)
            return
        warm_tessdata()
        rows = run_ocr(pool, picks, args, lid)
        ocr_done = time.perf_counter() - started
        print("\n## Recall / precision (3-grams), s/page per core, LID and script agreement")
        for dpi in args.scan_dpi:
            print_main_table(rows, dpi, args.render_dpi)
        print("\n## Targets (issue 19)\n")
        print("\n".join(target_lines(rows, args.scan_dpi)))
        print_worse_pages(rows)
        settings = [] if args.skip_settings else run_settings(pool, picks, args)
        print_picks(picks)
    total = time.perf_counter() - started
    print(f"\nWall time: {total:.0f} s (page choice {scanned:.0f} s, main OCR {ocr_done - scanned:.0f} s, settings "
          f"{total - ocr_done:.0f} s).")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "pages": rows,
                                        "settings": settings}, ensure_ascii=False, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
