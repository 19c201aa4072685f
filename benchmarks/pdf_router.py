"""Page router on the TeX Live language docs: does it send the right pages to OCR, and what does it cost?

    python benchmarks/pdf_router.py [--cache DIR] [--sample 300] [--jobs 2] [--show-errors] [--dump DIR]

Corpus: the PDFs of Debian's texlive-lang-{arabic,other,cyrillic,greek,cjk,chinese,korean,japanese,european}
2022.20230122-1 (~510 PDFs, ~10 900 pages, many scripts). FETCHES them on first run with ``apt-get download``
into ``--cache`` (default ``$CURATION_CORPORA`` or ``~/.cache/curation-factory/corpora``) and unpacks them with
``dpkg-deb -x``; also fetches the Tesseract language packs the ground truth needs (``tesseract-ocr-ell``, ``-tha``,
``-kor``, ``-hin`` ...; ~100 MB) into the same cache, without installing anything. Needs the ``tesseract`` CLI.

Ground truth, defined without the router:

* textless page: fewer than 8 visible non-space chars (``get_texttrace``: render mode 3 and chars outside the page
  excluded). It needs OCR when its rendering (36 dpi, >= 400 px long side for small figure pages) shows content
  (>= 0.3 % of pixels darker than 200/255): ``image-only`` when it holds a
  raster image covering >= 0.5 % of the page, ``vector-only`` otherwise (logos, drawings, outlined text); a
  textless page without content is blank and needs nothing.
* page with text: it needs OCR when OCR finds substantial text the text layer does not have: the Tesseract CLI
  (200 dpi, languages of the package/folder, words with confidence >= 60) gives >= 40 chars, and >= 50 % of its
  char 3-grams (NFKC, casefolded, whitespace removed) are absent from the text layer's. This catches mis-mapped
  glyphs, text painted over or inside images, and nothing else. It is computed for every page the router sends
  to OCR (precision; at most 12 per PDF, chosen by hash, weighted) and for a sample of the pages it keeps (all
  with images over 30 % of the page, plus a hash-chosen ~``--sample`` of all text pages), from which the text
  pages it misses are estimated (recall of unusable text layers). OCR output is cached in the cache folder.

The issue's metrics: precision = flagged pages that need OCR / flagged pages; recall = image-only pages flagged /
image-only pages. Router cost is timed page by page against the raw ``page.get_text()`` the caller already pays.
``--show-errors`` lists the pages where router and ground truth disagree (for hand-checking, with ``--dump``
renderings).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pymupdf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.pdf.router import assess_page  # noqa: E402

VERSION = "2022.20230122-1"
PACKAGES = ("arabic", "other", "cyrillic", "greek", "cjk", "chinese", "korean", "japanese", "european")
GT_PACKS = ("ell", "grc", "kor", "tha", "hin", "mar", "san", "ben", "heb", "bod", "amh", "mya", "syr", "urd",
            "vie", "hye", "ukr", "bul", "srp", "mon", "chi_tra")  # fmt: skip
# (folder fragment, script, Tesseract packs for the ground truth); first match wins, then the package default.
FOLDER_RULES = (
    ("montex", "Mong", "mon+eng"), ("mongol", "Cyrl", "mon+rus+eng"), ("ukr", "Cyrl", "ukr+eng"),
    ("bulgarian", "Cyrl", "bul+eng"), ("-bg", "Cyrl", "bul+eng"), ("serbian", "Cyrl", "srp+eng"),
    ("texlive-sr", "Cyrl", "srp+eng"), ("persian", "Arab", "fas+eng"), ("texnegar", "Arab", "fas+eng"),
    ("simurgh", "Arab", "fas+eng"), ("bidi", "Arab", "fas+eng"), ("quran-ur", "Arab", "urd+ara+eng"),
    ("quran-bn", "Beng", "ben+ara+eng"), ("bengali", "Beng", "ben+eng"), ("bangla", "Beng", "ben+eng"),
    ("burmese", "Mymr", "mya+eng"), ("sanskrit", "Deva", "san+hin+eng"), ("velthuis", "Deva", "hin+eng"),
    ("akshar", "Deva", "hin+eng"), ("aalok", "Deva", "mar+eng"), ("chhaya", "Deva", "mar+eng"),
    ("marathi", "Deva", "mar+eng"), ("latex-mr", "Deva", "mar+eng"), ("hindawi", "Deva", "hin+eng"),
    ("hebrew", "Hebr", "heb+eng"), ("thai", "Thai", "tha+eng"), ("ctib", "Tibt", "bod+eng"),
    ("ethiop", "Ethi", "amh+eng"), ("serto", "Syrc", "syr+eng"), ("armenian", "Armn", "hye+eng"),
    ("vntex", "Latn", "vie+eng"), ("vietnam", "Latn", "vie+eng"), ("-vn", "Latn", "vie+eng"),
    ("unicode-alphabets", "Zyyy", "eng+ell+rus"), ("elhyphen", "Grek", "grc+ell+eng"),
)  # fmt: skip
PACKAGE_DEFAULT = {
    "arabic": ("Arab", "ara+fas+eng"), "chinese": ("Hans", "chi_sim+eng"), "cjk": ("Hani", "chi_sim+jpn+eng"),
    "cyrillic": ("Cyrl", "rus+eng"), "european": ("Latn", "eng+deu+fra"), "greek": ("Grek", "ell+eng"),
    "japanese": ("Jpan", "jpn+eng"), "korean": ("Hang", "kor+eng"), "other": ("Latn", "eng"),
}  # fmt: skip
MIN_CHARS = 8
INK_DARK, INK_SHARE, RASTER_AREA = 200, 0.003, 0.005
OCR_DPI, OCR_CONF, OCR_MIN_CHARS, NOVEL_SHARE = 150, 60, 40, 0.5
FLAGGED_PER_PDF = 12  # flagged pages OCR-checked per PDF (a random subset where a PDF has more; weighted)
IMAGE_HEAVY = 0.3


def default_cache() -> Path:
    return Path(os.environ.get("CURATION_CORPORA", Path.home() / ".cache" / "curation-factory" / "corpora"))


def _download(package: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    found = list(dest.glob(f"{package.split('=')[0]}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", package], cwd=dest, check=True, capture_output=True)
        found = list(dest.glob(f"{package.split('=')[0]}_*.deb"))
    return found[0]


def fetch_corpus(cache: Path) -> Path:
    root = cache / "texlive-lang"
    for name in PACKAGES:
        target = root / "x" / name
        if not target.exists():
            deb = _download(f"texlive-lang-{name}={VERSION}", root / "deb")
            subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    return root / "x"


def fetch_tessdata(cache: Path) -> Path:
    """A tessdata folder with the system packs plus the ground truth's extra packs (fetched, not installed)."""
    folder = cache / "tessdata-gt"
    folder.mkdir(parents=True, exist_ok=True)
    system = Path(pymupdf.get_tessdata())
    for entry in system.iterdir():  # packs plus configs/ (the tsv output format is a config file)
        if not (folder / entry.name).exists():
            (folder / entry.name).symlink_to(entry)
    for pack in GT_PACKS:
        if (folder / f"{pack}.traineddata").exists():
            continue
        deb = _download(f"tesseract-ocr-{pack.replace('_', '-')}", cache / "tesseract-deb")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
            for data in Path(tmp).rglob(f"{pack}.traineddata"):
                shutil.copy(data, folder / data.name)
    return folder


def classify(package: str, relpath: str) -> tuple[str, str]:
    lowered = relpath.lower()
    for fragment, script, packs in FOLDER_RULES:
        if fragment in lowered:
            return script, packs
    return PACKAGE_DEFAULT[package]


def _visible_chars(page: pymupdf.Page) -> int:
    """Non-space chars a reader can see: not render mode 3, not fully transparent, origin inside the page."""
    x0, y0, x1, y1 = page.rect
    return sum(
        sum(1 for c in span["chars"] if not chr(c[0]).isspace() and x0 <= c[2][0] <= x1 and y0 <= c[2][1] <= y1)
        for span in page.get_texttrace()
        if span["type"] != 3 and span.get("opacity", 1) > 0
    )


def _ink(page: pymupdf.Page) -> float:
    """Share of inked pixels at 36 dpi, or at a dpi giving >= 400 px on the long side for small pages (figures)."""
    dpi = max(36, int(400 * 72 / max(page.rect.width, page.rect.height, 1)))
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    table = bytes(1 if v < INK_DARK else 0 for v in range(256))
    return pix.samples.translate(table).count(1) / max(1, len(pix.samples))


def _raster(page: pymupdf.Page) -> float:
    area = page.rect.get_area() or 1
    return max(((pymupdf.Rect(i["bbox"]) & page.rect).get_area() / area for i in page.get_image_info()), default=0.0)


def scan(corpus: Path) -> list[dict]:
    """Every page: router verdict and its cost vs get_text(), plus the router-free facts the ground truth needs."""
    pymupdf.TOOLS.mupdf_display_errors(False)
    pages = []
    for path in sorted(glob.glob(str(corpus / "*" / "**" / "*.pdf"), recursive=True)):
        rel = os.path.relpath(path, corpus)
        package = rel.split(os.sep)[0]
        script, packs = classify(package, rel)
        try:
            doc = pymupdf.open(path)
        except Exception:  # a PDF MuPDF cannot open is outside this benchmark
            continue
        for page in doc:
            t0 = time.perf_counter()
            text = page.get_text()
            t1 = time.perf_counter()
            verdict = assess_page(page, text)
            t2 = time.perf_counter()
            row = {"pdf": rel, "page": page.number + 1, "package": package, "script": script, "packs": packs,
                   "usable": verdict.usable, "reason": verdict.reason, "t_text": t1 - t0, "t_router": t2 - t1,
                   "visible": _visible_chars(page), "raster": _raster(page)}  # fmt: skip
            if row["visible"] < MIN_CHARS:
                row["ink"] = _ink(page)
            pages.append(row)
        doc.close()
    return pages


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _grams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)}


def ocr_page(job: tuple[str, int, str, str]) -> dict:
    """Tesseract CLI on one page (a separate process: MuPDF is only used to render)."""
    path, number, packs, tessdata = job
    with pymupdf.open(path) as doc:
        page = doc[number - 1]
        layer = page.get_text()
        pix = page.get_pixmap(dpi=OCR_DPI, alpha=False)
    with tempfile.NamedTemporaryFile(suffix=".png") as tmp:
        pix.save(tmp.name)
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        out = subprocess.run(
            ["tesseract", tmp.name, "stdout", "--tessdata-dir", tessdata, "-l", packs, "--psm", "3",
             "-c", "tessedit_do_invert=0", "tsv"],
            capture_output=True, text=True, env=env, check=False, timeout=600,
        )  # fmt: skip
    words = []
    for line in out.stdout.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) == 12 and cols[0] == "5" and float(cols[10]) >= OCR_CONF and cols[11].strip():
            words.append(cols[11])
    ocr = " ".join(words)
    o, t = _norm(ocr), _norm(layer)
    go, gt = _grams(o), _grams(t)
    novel = len(go - gt) / len(go) if go else 0.0
    needs = len(o) >= OCR_MIN_CHARS and novel >= NOVEL_SHARE
    return {"ocr": ocr[:4000], "novel": novel, "ocr_chars": len(o), "needs": needs,
            "err": out.stderr[-300:] if out.returncode else ""}  # fmt: skip


def ground_truth(pages: list[dict], corpus: Path, cache: Path, sample: int, jobs: int, seed: int) -> None:
    """Label every page that a metric needs; OCR results are cached by (file digest, page, packs, dpi)."""
    tessdata = str(fetch_tessdata(cache))
    store_path = cache / "pdf-router-gt.json"
    store = json.loads(store_path.read_text()) if store_path.exists() else {}
    text_pages = [p for p in pages if p["visible"] >= MIN_CHARS]

    # Samples are drawn by a hash of (pdf, page, seed), not by the router's decisions, so a changed router
    # re-uses the cached OCR of the same pages.
    def rank(p: dict) -> float:
        digest = hashlib.sha1(f"{seed}:{p['pdf']}#{p['page']}".encode()).hexdigest()
        return int(digest[:12], 16) / 16**12

    fraction = min(1.0, sample / max(1, len(text_pages)))
    for p in text_pages:
        if p["usable"] and p["raster"] >= IMAGE_HEAVY:
            p["stratum"], p["weight"] = "kept-image-heavy", 1.0
        elif p["usable"] and p["raster"] < IMAGE_HEAVY and rank(p) < fraction:
            p["stratum"], p["weight"] = "kept-random", 1.0 / fraction
    flagged_by_pdf: dict[str, list[dict]] = defaultdict(list)
    for p in text_pages:
        if not p["usable"]:
            flagged_by_pdf[p["pdf"]].append(p)
    for group in flagged_by_pdf.values():
        picked = sorted(group, key=rank)[:FLAGGED_PER_PDF]
        for p in picked:
            p["stratum"], p["weight"] = "flagged", len(group) / len(picked)
    todo = [p for p in text_pages if "stratum" in p]
    digests: dict[str, str] = {}

    def key(p: dict) -> str:
        if p["pdf"] not in digests:
            digests[p["pdf"]] = hashlib.sha1((corpus / p["pdf"]).read_bytes()).hexdigest()[:16]
        return f"{digests[p['pdf']]}#{p['page']}#{p['packs']}#{OCR_DPI}"

    missing = [p for p in todo if key(p) not in store]
    if missing:
        print(f"OCR ground truth for {len(missing)} pages ({jobs} processes) ...", file=sys.stderr)
        jobs_in = [(str(corpus / p["pdf"]), p["page"], p["packs"], tessdata) for p in missing]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for i, (p, result) in enumerate(zip(missing, pool.map(ocr_page, jobs_in), strict=True)):
                store[key(p)] = result
                if i % 50 == 49:
                    store_path.write_text(json.dumps(store))
                    print(f"  {i + 1}/{len(missing)}", file=sys.stderr)
        store_path.write_text(json.dumps(store))
    for p in todo:
        p["gt"] = store[key(p)]


def label(p: dict) -> bool | None:
    """True/False: needs OCR; None: not labelled (an unsampled kept text page)."""
    if p["visible"] < MIN_CHARS:
        return p["ink"] >= INK_SHARE
    return p["gt"]["needs"] if "gt" in p else None


def report(pages: list[dict], corpus: Path, show_errors: bool, dump: Path | None) -> None:
    rows: dict[str, Counter] = defaultdict(Counter)
    times: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    pdfs: dict[str, set] = defaultdict(set)
    reasons: dict[str, Counter] = defaultdict(Counter)
    errors = []
    for p in pages:
        for group in (p["script"], "ALL"):
            r = rows[group]
            pdfs[group].add(p["pdf"])
            times[group][0] += p["t_text"]
            times[group][1] += p["t_router"]
            r["pages"] += 1
            flagged = not p["usable"]
            need = label(p)
            weight = p.get("weight", 1.0)
            r["flagged"] += flagged
            if p["visible"] < MIN_CHARS and need:
                kind = "image" if p["raster"] >= RASTER_AREA else "vector"
                r[f"{kind}_only"] += 1
                r[f"{kind}_caught"] += flagged
            if flagged and need is not None:  # unchecked flagged pages are stood for by their checked siblings
                r["flagged_w"] += weight
                r["tp_w"] += weight * need
            elif not flagged and need and p["visible"] >= MIN_CHARS:
                r["missed_est"] += weight
                r["missed_seen"] += 1
            if group == "ALL":
                if flagged and need is not None:
                    reasons[p["reason"]]["flagged_w"] += weight
                    reasons[p["reason"]]["tp_w"] += weight * need
                if flagged != bool(need) and need is not None:
                    errors.append(p)
    header = (f"{'script':7} {'pdfs':>4} {'pages':>6} | {'img-only':>8} {'caught':>6} {'recall':>6} | "
              f"{'vec-only':>8} {'caught':>6} | {'->OCR':>5} {'needed':>6} {'prec':>5} | {'missed':>6} "
              f"{'recall*':>7} | {'get_text':>8} {'router':>7} {'ratio':>5}")  # fmt: skip
    print(header)
    print("-" * len(header))
    order = [*sorted((g for g in rows if g != "ALL"), key=lambda g: -rows[g]["pages"]), "ALL"]
    for g in order:
        r = rows[g]
        recall = f"{r['image_caught'] / r['image_only']:.2f}" if r["image_only"] else "-"
        prec = f"{r['tp_w'] / r['flagged_w']:.2f}" if r["flagged_w"] else "-"
        needed = r["tp_w"] * r["flagged"] / r["flagged_w"] if r["flagged_w"] else 0.0
        miss = r["missed_est"]
        recall_all = f"{needed / (needed + miss):.2f}" if needed + miss else "-"
        t_text, t_router = times[g]
        print(f"{g:7} {len(pdfs[g]):>4} {r['pages']:>6} | {r['image_only']:>8} {r['image_caught']:>6} {recall:>6} | "
              f"{r['vector_only']:>8} {r['vector_caught']:>6} | {r['flagged']:>5} {needed:>6.0f} {prec:>5} | "
              f"{miss:>6.0f} {recall_all:>7} | {1000 * t_text / r['pages']:>6.2f}ms "
              f"{1000 * t_router / r['pages']:>5.2f}ms {t_router / t_text:>5.2f}")  # fmt: skip
    a = rows["ALL"]
    checked = sum(1 for p in pages if p.get("stratum") == "flagged")
    kept = sum(1 for p in pages if p.get("stratum", "").startswith("kept"))
    print(f"\nrecall = image-only pages sent to OCR / image-only pages (the issue's metric); ->OCR = pages the router "
          f"sends to OCR;\nneeded, prec = of those, pages that need OCR (textless: all with content; text pages: "
          f"{checked} OCR-checked, weighted per PDF);\nmissed, recall* = text pages kept that need OCR, estimated "
          f"from {kept} OCR-checked kept pages ({a['missed_seen']} needed OCR), and recall over all pages needing "
          f"OCR;\nratio = router time / get_text() time, per page, same run.")  # fmt: skip
    print(
        "\nprecision per reason: "
        + ", ".join(f"{k} {v['tp_w'] / v['flagged_w']:.2f}" for k, v in sorted(reasons.items()) if v["flagged_w"])
    )
    if show_errors:
        print("\ndisagreements (router vs ground truth):")
        for p in errors:
            gt = p.get("gt", {})
            print(f"  {'FP' if not p['usable'] else 'FN'} {p['pdf']} p{p['page']} reason={p['reason']} "
                  f"visible={p['visible']} ink={p.get('ink', '-')} novel={gt.get('novel', '-')} "
                  f"ocr={gt.get('ocr', '')[:100]!r}")  # fmt: skip
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        for p in errors:
            with pymupdf.open(corpus / p["pdf"]) as doc:
                name = p["pdf"].replace("/", "_") + f"_p{p['page']}.png"
                doc[p["page"] - 1].get_pixmap(dpi=60).save(dump / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--sample", type=int, default=250, help="text pages to sample for OCR checks (kept ones count)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--dump", type=Path, default=None, help="write renderings of disagreeing pages here")
    args = parser.parse_args()
    corpus = fetch_corpus(args.cache)
    start = time.perf_counter()
    pages = scan(corpus)
    print(f"scanned {len(pages)} pages in {time.perf_counter() - start:.0f}s", file=sys.stderr)
    ground_truth(pages, corpus, args.cache, args.sample, args.jobs, args.seed)
    report(pages, corpus, args.show_errors, args.dump)


if __name__ == "__main__":
    main()
