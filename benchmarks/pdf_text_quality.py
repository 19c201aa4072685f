"""Text-layer extraction quality and speed on born-digital Debian doc PDFs scored against the .txt shipped beside them.

Corpus: the Debian packages debian-faq{,-de,-fr,-it,-nl,-pt,-ru} 11.1, debmake-doc 1.17-7, debian-reference-* 2.100
and maint-guide-* 1.2.53 (each ships the same document as PDF and as w3m-rendered .txt). They are fetched with
``apt-get download`` (needs ``apt-get update`` once) into ``--cache-dir`` (default
``~/.cache/curation-factory/corpora/debian-docs``; env ``CURATION_CORPORA`` overrides the parent) and unpacked with
``dpkg-deb -x``. PDFs under 5 pages are skipped and listed (debian-faq ja/ko/zh-cn ship a one-page "PDF not
available" stub).

Compared in one run, on the same files:
* raw: ``page.get_text()`` per page, pages joined (PyMuPDF's default flags);
* pymupdf4llm: ``to_markdown(doc, pages=..., header=False, footer=False, use_ocr=False)`` (its best settings for this
  task: running heads dropped, no OCR). It runs a layout model and is slow, so with ``--max-pages-peer N`` it sees
  N evenly spaced pages per document: its precision and speed are measured on those pages, and its recall is
  estimated as recall(ours) × matched(peer)/matched(ours) on the same sampled pages (marked ``~``);
* ours: ``curation.pdf.layout.page_text`` per page, then ``strip_repeated_lines`` over the document; on the
  pymupdf4llm sample pages also ``page_text(table_finder="pymupdf")`` (PyMuPDF's ``find_tables``) for its speed.

Metric: character 3-grams counted as a multiset (a 3-gram found twice in the extraction but once in the reference
counts once); recall = matched / reference 3-grams, precision = matched / extracted 3-grams, pooled over the
documents of a language. Two normalisations, both printed, applied alike to every extractor and to the reference:
* spec: all whitespace removed (the issue's metric);
* norm: also lines made only of table rules dropped (``+----+``/``|---+---|`` in the w3m .txt, ``| --- |`` in
  Markdown: drawing, not text, and the .txt draws every table with them), NFKC, and typographic quotes folded to
  ASCII (the PDFs print ``”/proc”`` where the .txt has ``"/proc"``).
ceil R: share of the reference's 3-grams that occur anywhere in the PDF's text layer (raw or ours) at all: no
extractor working from this text layer can recall more, whatever its order or cleanup.
Speed: pages per second on one core (single process, wall clock), every extractor timed on every page
(pymupdf4llm: on its sample), after one untimed warm-up pass that loads fonts for all alike.

    python benchmarks/pdf_text_quality.py [--max-pages-peer 8] [--no-peer] [--only debian-faq]
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import os
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pymupdf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.pdf.layout import page_text, strip_repeated_lines

PACKAGES = [
    "debian-faq", "debian-faq-de", "debian-faq-fr", "debian-faq-it", "debian-faq-nl", "debian-faq-pt",
    "debian-faq-ru", "debmake-doc", "debian-reference-de", "debian-reference-en", "debian-reference-es",
    "debian-reference-fr", "debian-reference-id", "debian-reference-it", "debian-reference-ja",
    "debian-reference-pt", "debian-reference-pt-br", "debian-reference-zh-cn", "debian-reference-zh-tw",
    "maint-guide", "maint-guide-ca", "maint-guide-de", "maint-guide-es", "maint-guide-fr", "maint-guide-it",
    "maint-guide-ja", "maint-guide-ru", "maint-guide-vi", "maint-guide-zh-cn", "maint-guide-zh-tw",
]  # fmt: skip
SCRIPT = {"ru": "Cyrillic", "ja": "CJK", "zh-cn": "CJK", "zh-tw": "CJK", "ko": "CJK"}
RULE_LINE = re.compile(r"^[\s|+\-=:]*[-=]{3,}[\s|+\-=:]*$", re.MULTILINE)


def fetch(cache: Path) -> Path:
    """Download and unpack the packages once; returns the unpack root."""
    deb, root = cache / "deb", cache / "x"
    deb.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES if not glob.glob(str(deb / f"{p}_*.deb"))]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=deb, check=True)
    if not (root / "usr").exists():
        root.mkdir(parents=True, exist_ok=True)
        for f in sorted(deb.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(f), str(root)], check=True)
    return root


def read(path: str) -> bytes:
    data = Path(path).read_bytes()
    return gzip.decompress(data) if path.endswith(".gz") else data


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("koi8-r")  # older Russian Debian docs


def pairs(root: Path, only: str | None) -> list[tuple[str, str, str]]:
    """(language, pdf, txt) for every PDF whose .txt(.gz) sits beside it; symlinked duplicates skipped."""
    out = []
    pdfs = glob.glob(str(root / "usr/share/**/*.pdf"), recursive=True)
    pdfs += glob.glob(str(root / "usr/share/**/*.pdf.gz"), recursive=True)
    for pdf in sorted(set(pdfs)):
        if os.path.islink(pdf) or "/doc/debian-reference-" in pdf or (only and only not in pdf):
            continue
        stem = pdf[: -len(".pdf.gz")] if pdf.endswith(".gz") else pdf[: -len(".pdf")]
        txt = next((t for t in (stem + ".txt", stem + ".txt.gz") if os.path.exists(t)), None)
        if txt is None:
            continue
        lang = Path(stem).suffix.lstrip(".") or "en"
        out.append((lang, pdf, txt))
    return out


QUOTES = str.maketrans({c: '"' for c in "“”„‟″«»"} | {c: "'" for c in "‘’‚‛′`"})
METRICS = {
    "spec": "whitespace removed (the issue's metric)",
    "norm": "whitespace removed, table rule lines dropped, NFKC, typographic quotes folded to ASCII",
}


def grams(text: str, metric: str) -> collections.Counter:
    if metric == "norm":
        text = unicodedata.normalize("NFKC", RULE_LINE.sub("", text)).translate(QUOTES)
    s = "".join(text.split())
    return collections.Counter(s[i : i + 3] for i in range(len(s) - 2))


def matched(ext: collections.Counter, ref: collections.Counter) -> int:
    return sum(min(n, ref[g]) for g, n in ext.items() if g in ref)


def sample(n_pages: int, k: int) -> list[int]:
    if k <= 0 or k >= n_pages:
        return list(range(n_pages))
    return sorted({round(i * (n_pages - 1) / (k - 1)) for i in range(k)}) if k > 1 else [n_pages // 2]


class Score:
    def __init__(self) -> None:
        self.match = self.ext = self.ref = 0
        self.pages = 0
        self.seconds = 0.0
        self.sample_match = self.sample_ours = 0  # peer recall estimate
        self.reachable = 0  # reference 3-grams that occur anywhere in the PDF's text (raw or ours): recall ceiling

    def add(self, ext: collections.Counter, ref: collections.Counter) -> int:
        m = matched(ext, ref)
        self.match += m
        self.ext += sum(ext.values())
        self.ref += sum(ref.values())
        return m

    @property
    def recall(self) -> float:
        return self.match / self.ref if self.ref else 0.0

    @property
    def precision(self) -> float:
        return self.match / self.ext if self.ext else 0.0

    @property
    def speed(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_cache = Path(os.environ.get("CURATION_CORPORA", "~/.cache/curation-factory/corpora")).expanduser()
    parser.add_argument("--cache-dir", type=Path, default=default_cache / "debian-docs")
    parser.add_argument("--max-pages-peer", type=int, default=8, help="pymupdf4llm pages per document (0 = all)")
    parser.add_argument("--no-peer", action="store_true", help="skip pymupdf4llm")
    parser.add_argument("--only", help="substring of the PDF paths to keep (e.g. debian-faq)")
    args = parser.parse_args()

    root = fetch(args.cache_dir)
    docs = pairs(root, args.only)
    names = ("raw", "pymupdf4llm", "ours")
    scores = {m: collections.defaultdict(lambda: {n: Score() for n in names}) for m in METRICS}
    timing: dict[str, Score] = {n: Score() for n in (*names, "ours+find_tables")}
    skipped, loaded = [], []
    for lang, pdf, txt in docs:
        doc = pymupdf.open(stream=read(pdf), filetype="pdf")
        if doc.page_count < 5:
            skipped.append(f"{Path(pdf).name} ({doc.page_count} page)")
            continue
        text = decode(read(txt))
        refs = {m: grams(text, m) for m in METRICS}
        for page in doc:  # warm-up: fonts and resources loaded once for every extractor alike
            page.get_text()
        t = time.perf_counter()
        raw = [page.get_text() for page in doc]
        timing["raw"].seconds += time.perf_counter() - t
        t = time.perf_counter()
        ours = strip_repeated_lines([page_text(page) for page in doc])
        timing["ours"].seconds += time.perf_counter() - t
        line = f"  {Path(pdf).name}: {doc.page_count} pages"
        seen = {m: set() for m in METRICS}
        for name, pages in (("raw", raw), ("ours", ours)):
            timing[name].pages += doc.page_count
            for m in METRICS:
                sc = scores[m][lang][name]
                sc.pages += doc.page_count
                ext = grams("\n".join(pages), m)
                seen[m].update(ext)
                hit = sc.add(ext, refs[m])
                if m == "norm":
                    line += f"  {name} R={hit / sum(refs[m].values()):.3f} P={hit / max(1, sum(ext.values())):.3f}"
        for m in METRICS:  # any extractor's recall is bounded by the reference 3-grams the PDF's text has at all
            scores[m][lang]["ours"].reachable += sum(n for g, n in refs[m].items() if g in seen[m])
        loaded.append((lang, pdf, doc, refs, ours))
        print(line, file=sys.stderr)

    if not args.no_peer:
        import pymupdf4llm  # imported late: it may change PyMuPDF's global settings

        for lang, pdf, doc, refs, ours in loaded:
            pages = sample(doc.page_count, args.max_pages_peer)
            t = time.perf_counter()
            md = pymupdf4llm.to_markdown(doc, pages=pages, header=False, footer=False, use_ocr=False)
            timing["pymupdf4llm"].seconds += time.perf_counter() - t
            timing["pymupdf4llm"].pages += len(pages)
            for m in METRICS:
                p = scores[m][lang]["pymupdf4llm"]
                peer = grams(md, m)
                hit = matched(peer, refs[m])
                p.pages += len(pages)
                p.match += hit
                p.ext += sum(peer.values())
                p.sample_match += hit
                p.sample_ours += matched(grams("\n".join(ours[i] for i in pages), m), refs[m])
                p.ref += sum(refs[m].values()) if not args.max_pages_peer else 0
            print(f"  peer {Path(pdf).name}: {len(pages)} pages", file=sys.stderr)
            # ours with PyMuPDF's own table finder instead of the vector grids, on the same sampled pages
            t = time.perf_counter()
            for i in pages:
                page_text(doc[i], table_finder="pymupdf")
            timing["ours+find_tables"].seconds += time.perf_counter() - t
            timing["ours+find_tables"].pages += len(pages)

    for m in METRICS:
        report(scores[m], f"{m}: {METRICS[m]}")
    speed(timing, skipped, args)


def _peer_value(s: dict[str, Score]) -> float:
    p = s["pymupdf4llm"]
    if p.ref:
        return p.recall
    if p.sample_ours:
        return s["ours"].recall * p.sample_match / p.sample_ours
    return 0.0


def _peer_recall(s: dict[str, Score]) -> str:
    p = s["pymupdf4llm"]
    if not p.pages:
        return "   -  "
    return f"{_peer_value(s):6.3f}" if p.ref else f"~{_peer_value(s):5.3f}"


def report(scores: dict[str, dict[str, Score]], metric: str) -> None:
    groups: dict[str, dict[str, Score]] = {}
    for lang in sorted(scores):
        groups[f"{lang} ({SCRIPT.get(lang, 'Latin')})"] = scores[lang]
    for script in ("Latin", "Cyrillic", "CJK"):
        langs = [lg for lg in scores if SCRIPT.get(lg, "Latin") == script]
        if langs:
            groups[f"all {script}"] = _pool([scores[lg] for lg in langs])
    groups["ALL"] = _pool(list(scores.values()))
    print(f"\nchar-3-gram recall / precision vs shipped .txt, multiset; {metric}")
    head = f"{'language (script)':20s} {'pages':>5s} | {'raw R':>6s} {'raw P':>6s} | {'p4llm R':>7s} {'p4llm P':>7s} |"
    print(head + f" {'ours R':>6s} {'ours P':>6s} | ceil R | ours beats both | target R>=.96 P>=.95")
    print("-" * (len(head) + 67))
    for name, s in groups.items():
        r, p, o = s["raw"], s["pymupdf4llm"], s["ours"]
        peer_p = f"{p.precision:7.3f}" if p.pages else "     - "
        peer_r = _peer_value(s)
        beats = o.precision > max(r.precision, p.precision) and o.recall > max(r.recall, peer_r)
        target = o.recall >= 0.96 and o.precision >= 0.95
        print(
            f"{name:20s} {o.pages:5d} | {r.recall:6.3f} {r.precision:6.3f} | {_peer_recall(s):>7s} {peer_p} |"
            f" {o.recall:6.3f} {o.precision:6.3f} | {o.reachable / max(1, o.ref):6.3f} |"
            f" {'yes' if beats else 'NO':15s} | {'met' if target else 'not met'}"
        )


def speed(timing: dict[str, Score], skipped: list[str], args: argparse.Namespace) -> None:
    raw, peer, ours = timing["raw"], timing["pymupdf4llm"], timing["ours"]
    print("\nspeed, pages/s on one core")
    print(f"  raw get_text(): {raw.speed:8.1f}  ({raw.pages} pages)")
    if peer.pages:
        print(f"  pymupdf4llm:    {peer.speed:8.1f}  ({peer.pages} sampled pages)")
    print(f"  ours:           {ours.speed:8.1f}  ({ours.pages} pages)")
    print(f"  ours / raw = {ours.speed / raw.speed:.2f} (target >= 0.33)")
    alt = timing["ours+find_tables"]
    if alt.pages:
        print(f"  ours with page.find_tables() instead of vector grids: {alt.speed:8.1f} on the sampled pages")
    if peer.pages:
        print(f"  ours / pymupdf4llm = {ours.speed / peer.speed:.0f}x (target >= 80x)")
        if args.max_pages_peer:
            print(f"  (pymupdf4llm saw {args.max_pages_peer} evenly spaced pages per document; '~' = estimated recall)")
    if skipped:
        print("skipped (stub PDFs): " + ", ".join(skipped))


def _pool(items: list[dict[str, Score]]) -> dict[str, Score]:
    out = {n: Score() for n in ("raw", "pymupdf4llm", "ours")}
    for s in items:
        for n, sc in s.items():
            o = out[n]
            o.match += sc.match
            o.ext += sc.ext
            o.ref += sc.ref
            o.pages += sc.pages
            o.seconds += sc.seconds
            o.sample_match += sc.sample_match
            o.sample_ours += sc.sample_ours
            o.reachable += sc.reachable
    return out


if __name__ == "__main__":
    main()
