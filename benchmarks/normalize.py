"""Normalisation benchmarks (issue 4): charset detection accuracy and normalisation throughput, with peers.

    python benchmarks/normalize.py [--per-group 10] [--megabytes 4] [--only detect|throughput]

(a) Charset detection, on three sets, each decoded by ours (``curation.text.charset.decode_bytes``), by plain
charset-normalizer (``from_bytes(raw).best()``) and by chardet when it is installed (it is not installed for this):

* ``encoded``: real UTF-8 text encoded with Python's codecs into the code pages the language was really written in
  (Russian in windows-1251/KOI8-R/ISO-8859-5/IBM866, Chinese in GB18030/Big5, Japanese in Shift_JIS/EUC-JP/
  ISO-2022-JP, Arabic in windows-1256/ISO-8859-6 ...), as ``short`` (one line, <= 120 bytes), ``medium`` (~1 KB) and
  ``long`` (~10 KB) slices. Text: the Debian docs' w3m-rendered .txt, Debian manpages, and the *admin* catalogues of
  the Django 5.2.19 wheel, which ``curation/text/charset_profiles.tsv`` was not built from (it uses the other
  catalogues), so no test text was seen in training.
* ``real``: files that really are in a legacy encoding, from the Debian TeX Live language packages and fortunes-br,
  labelled by what they declare (file name, ``inputenc`` option, ``-*- coding -*-``). Files that mix encodings or
  are glyph tables (no single right answer) are listed apart and not scored.
* ``junk``: bytes that are not text (random high bytes, an ELF binary, gzip, PNG, PDF): must be refused.

A result is ``right`` only if the decoded text equals the truth exactly (two code pages that give the same text are
both right), ``refused`` if the detector gives no answer, ``wrong`` otherwise. A wrong answer is mojibake in the
corpus; a refusal is a visible rejection.

(b) Throughput (MB of UTF-8 per CPU-second, one core) of ``curation.text.normalize`` (mojibake gate + ftfy on the
suspicious lines, presentation forms, NFC, controls, spaces) against ``ftfy.fix_text`` with its defaults and
against the limit ``unicodedata.normalize("NFC", ...)`` alone, on real multilingual UTF-8 text (Debian docs in 12
languages and Arabic/Hebrew/Greek catalogues, ~4 KB documents), clean and with 20 % of the documents garbled
(UTF-8 read as windows-1252, or windows-1251 for Cyrillic). Also: garbled documents restored, clean documents
changed by the repairs.
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import time
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

from curation.text.charset import decode_bytes
from curation.text.normalize import DecodeError, normalize, normalize_text, repair_mojibake

CORPORA = Path.home() / ".cache" / "curation-factory" / "corpora"
DEV = CORPORA / "dev"
DOCS = CORPORA / "debian-docs" / "x" / "usr" / "share"
TEXLIVE = CORPORA / "texlive-lang" / "x"

# ------------------------------------------------------------------------------------------------------- corpora


def debian_txt(name: str) -> str:
    return gzip.decompress(next(DOCS.rglob(name)).read_bytes()).decode("utf-8")


_MSGSTR = re.compile(r'^msgstr(?:\[\d\])? "(.*)"$')


def django_admin(locale: str) -> str:
    """msgstr strings of the Django admin catalogues (held out of the charset profiles), one per line."""
    whl = next((DEV / "pypi").glob("django-5.2.19-*.whl"))
    out = []
    with zipfile.ZipFile(whl) as z:
        for name in sorted(z.namelist()):
            if not name.startswith("django/contrib/admin/locale/") or f"/locale/{locale}/" not in name:
                continue
            if not name.endswith(".po"):
                continue
            cur: list[str] | None = None
            for line in z.read(name).decode("utf-8").splitlines():
                m = _MSGSTR.match(line)
                if m:
                    cur = [m.group(1)]
                elif cur is not None and line.startswith('"'):
                    cur.append(line[1:-1])
                else:
                    if cur and "".join(cur):
                        out.append("".join(cur).replace("\\n", "\n").replace('\\"', '"'))
                    cur = None
    return "\n".join(out[1:])


_ROFF = re.compile(r"\\f[BIRP]|\\f\(..|\\[&/,]|\\\(..|\\\*\(..|\\s[+-]?\d")


def manpages(lang: str, limit: int = 40) -> str:
    """Crudely de-roffed Debian manpages of a language (text lines only)."""
    out = []
    for f in sorted((DEV / f"x/manpages-{lang}/usr/share/man/{lang}").rglob("*.gz"))[:limit]:
        for line in gzip.decompress(f.read_bytes()).decode("utf-8", "replace").splitlines():
            if not line.startswith((".", "'")):
                out.append(_ROFF.sub("", line).replace("\\-", "-").replace("\\e", "\\"))
    return "\n".join(out)


# language -> (text, code pages the language was really written in before UTF-8)
ENCODED_LANGUAGES: dict[str, tuple[Callable[[], str], list[str]]] = {
    "zh-cn": (lambda: debian_txt("debian-reference.zh-cn.txt.gz"), ["gb18030"]),
    "zh-tw": (lambda: debian_txt("debian-reference.zh-tw.txt.gz"), ["cp950"]),
    "ja": (lambda: debian_txt("maint-guide.ja.txt.gz"), ["cp932", "euc_jp", "iso2022_jp"]),
    "ko": (lambda: debian_txt("debian-faq.ko.txt.gz"), ["cp949"]),  # Windows EUC-KR (Python's euc_kr spells
    # syllables outside KS X 1001 as 8-byte jamo sequences no real file uses)
    "ru": (lambda: debian_txt("debian-faq.ru.txt.gz"), ["cp1251", "koi8_r", "iso8859_5", "cp866"]),
    "uk": (lambda: manpages("uk"), ["koi8_u", "cp1251"]),
    "bg": (lambda: django_admin("bg"), ["cp1251"]),
    "el": (lambda: django_admin("el"), ["cp1253", "iso8859_7"]),
    "ar": (lambda: django_admin("ar"), ["cp1256", "iso8859_6"]),
    "fa": (lambda: django_admin("fa"), ["cp1256"]),
    "he": (lambda: django_admin("he"), ["cp1255", "iso8859_8"]),
    "th": (lambda: django_admin("th"), ["cp874"]),
    "tr": (lambda: manpages("tr"), ["cp1254", "iso8859_9"]),
    "pl": (lambda: manpages("pl"), ["cp1250", "iso8859_2"]),
    "cs": (lambda: manpages("cs"), ["cp1250", "iso8859_2"]),
    "hu": (lambda: manpages("hu"), ["cp1250", "iso8859_2"]),
    "lt": (lambda: django_admin("lt"), ["cp1257"]),
    "de": (lambda: debian_txt("debian-faq.de.txt.gz"), ["cp1252", "iso8859_15"]),
    "fr": (lambda: debian_txt("debian-faq.fr.txt.gz"), ["cp1252", "latin_1"]),
    "es": (lambda: debian_txt("maint-guide.es.txt.gz"), ["cp1252"]),
    "pt": (lambda: debian_txt("debian-faq.pt.txt.gz"), ["cp1252"]),
}
SIZES = {"short": 120, "medium": 1000, "long": 10000}


def _slices(text: str, target: int, n: int, rng: random.Random) -> list[str]:
    """``n`` slices of ~``target`` UTF-8 bytes starting at line starts, each holding some non-ASCII text."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() and not line.isascii()]
    out: list[str] = []
    for _ in range(n * 50):
        if len(out) == n or not starts:
            break
        i = rng.choice(starts)
        if target <= 200:
            chunk = lines[i].strip()
            cut = chunk.encode("utf-8")[:target]
            if len(cut) == target:
                chunk = cut.decode("utf-8", "ignore").rsplit(" ", 1)[0]
        else:
            buf, size = [], 0
            for line in lines[i:]:
                buf.append(line)
                size += len(line.encode("utf-8"))
                if size >= target:
                    break
            chunk = "".join(buf)
        if not chunk.isascii() and len(chunk.encode("utf-8")) >= min(target // 3, 40):
            out.append(chunk)
    return out


def encoded_cases(per_group: int, seed: int = 0) -> Iterator[tuple[str, str, str, bytes, str]]:
    """(language, codec, size, raw bytes, truth text)."""
    rng = random.Random(seed)
    for lang, (load, codecs) in ENCODED_LANGUAGES.items():
        text = load()
        for size, target in SIZES.items():
            for chunk in _slices(text, target, per_group, rng):
                for codec in codecs:
                    raw = chunk.encode(codec, errors="replace")
                    if not raw.isascii() or codec == "iso2022_jp":
                        yield lang, codec, size, raw, raw.decode(codec)


# (path under texlive-lang/x or dev/x, Python codec of the declared encoding, evidence)
REAL_FILES = [
    ("cyrillic/usr/share/doc/texlive-doc/latex/lcyw/README.koi8-r", "koi8_r", "file name"),
    ("cyrillic/usr/share/doc/texlive-doc/metapost/mpman-ru/README.ru.koi8-r", "koi8_r", "file name"),
    ("cyrillic/usr/share/doc/texlive-doc/metapost/mpman-ru/mpman-ru.tex.gz", "koi8_r", "inputenc koi8-r"),
    ("cyrillic/usr/share/doc/texlive-doc/latex/eskd/example.tex", "koi8_r", "-*- coding: koi8-r -*-"),
    ("cyrillic/usr/share/doc/texlive-doc/latex/eskdx/NEWS.gz", "koi8_r", "package docs"),
    ("cyrillic/usr/share/doc/texlive-doc/latex/disser/README-ru.md", "cp1251", "package docs"),
    ("cyrillic/usr/share/doc/texlive-doc/latex/russ/readme.RU.txt", "cp1251", "inputenc cp1251"),
    ("cyrillic/usr/share/doc/texlive-doc/latex/pst-eucl-translation-bg/README-bulgarian.txt", "cp1251", "docs"),
    ("cyrillic/usr/share/doc/texlive-doc/latex/lshort-mongol/src/overview.tex", "cp1251", "inputenc cp1251"),
    ("cyrillic/usr/share/doc/texlive-doc/latex/serbian-def-cyr/proba.tex.gz", "cp1251", "inputenc cp1251"),
    ("cyrillic/usr/share/doc/texlive-doc/bibtex/gost/examples/cp1251/gost2008ns.tex", "cp1251", "directory"),
    ("cyrillic/usr/share/texlive/texmf-dist/tex/latex/lhcyr/karabas.tex", "cp866", "lhcyr (cp866) sample"),
    ("cyrillic/usr/share/doc/texlive-doc/fonts/lh/samples/lh-lcytext.tex", "cp866", "inputenc cp866"),
    ("cyrillic/usr/share/doc/texlive-doc/fonts/lh/lhfonts/lhfont35.ru.gz", "cp866", "package docs"),
    ("european/usr/share/doc/texlive-doc/latex/lshort-finnish/src/asiat.tex.gz", "latin_1", "inputenc latin1"),
    ("european/usr/share/texlive/texmf-dist/tex/generic/babel-hungarian/magyar.ldf", "iso8859_2", "coding cookie"),
    ("european/usr/share/doc/texlive-doc/latex/hrlatex/sample.minimal.cp1250.tex", "cp1250", "file name"),
    ("european/usr/share/doc/texlive-doc/latex/hrlatex/sample.minimal.latin2.tex", "iso8859_2", "file name"),
    ("greek/usr/share/doc/texlive-doc/fonts/greektex/greektexdoc.tex.gz", "iso8859_7", "package docs"),
    ("arabic/usr/share/doc/texlive-doc/latex/arabi/samplebook.tex.gz", "cp1256", "inputenc arawin"),
    ("arabic/usr/share/doc/texlive-doc/latex/arabi/testplaintex.tex.gz", "cp1256", "arabi sample"),
    ("japanese/usr/share/doc/texlive-doc/uptex/uptex-base/samples/simple-sjis.tex", "cp932", "file name"),
    ("japanese/usr/share/doc/texlive-doc/uptex/uptex-base/samples/simple-euc.tex", "euc_jp", "file name"),
    ("japanese/usr/share/doc/texlive-doc/platex/pxrubrica/sample/test-toc.tex", "cp932", "pLaTeX sample"),
    ("japanese/usr/share/doc/texlive-doc/platex/pxrubrica/sample/test-jlreq.tex.gz", "cp932", "pLaTeX sample"),
    ("chinese/usr/share/texlive/texmf-dist/tex/latex/zhlipsum/zhlipsum-big5.def", "cp950", "file name"),
    ("chinese/usr/share/texlive/texmf-dist/tex/latex/zhlipsum/zhlipsum-gbk.def", "gb18030", "file name"),
    ("cjk/usr/share/doc/texlive-doc/latex/cjkpunct/examples/example-gbk.tex", "gb18030", "CJK*{GBK}"),
    ("chinese/usr/share/doc/texlive-doc/support/asymptote-by-example-zh-cn/src/figure-src/CJKmove.sty", "gb18030",
     "-*- coding: GBK -*-"),
    ("fortunes-br/usr/share/doc/fortunes-br/README", "latin_1", "Portuguese, Latin-1 era package"),
]  # fmt: skip
MIXED_FILES = [  # several encodings in one file, or a table of every glyph: no single right answer
    ("cyrillic/usr/share/doc/texlive-doc/generic/t2/examples/example4.tex", "KOI8-R, CP866, CP1251, ISO-8859-5 parts"),
    ("cyrillic/usr/share/doc/texlive-doc/fonts/lh/fonttest/testLHtxt.tex.gz", "KOI8-R and CP866 parts"),
    ("greek/usr/share/doc/texlive-doc/latex/greek-inputenc/inputenc-iso-8859-7.tex", "glyph table"),
    ("fortunes-pl/usr/share/doc/fortunes-pl/changelog.gz", "ISO-8859-2 and double-encoded UTF-8"),
    ("european/usr/share/doc/texlive-doc/generic/armenian/examples/latex/raffi-a8.tex.gz", "ArmSCII-8 (no codec)"),
]


def read_real(rel: str) -> bytes:
    path = TEXLIVE / rel if (TEXLIVE / rel).exists() else DEV / "x" / rel
    raw = path.read_bytes()
    return gzip.decompress(raw) if rel.endswith(".gz") else raw


def junk_cases() -> list[tuple[str, bytes]]:
    rng = random.Random(0)
    cases = []
    for size in (100, 400, 4000):
        for _rep in range(10):
            cases.append(
                (f"random high bytes {size}", bytes(rng.choice([*range(0x80, 0x100), 0x20]) for _ in range(size)))
            )
    cases.append(("ELF /bin/ls", Path("/bin/ls").read_bytes()[:16384]))
    cases.append(("gzip", next(DOCS.rglob("*.gz")).read_bytes()[:16384]))
    pngs = sorted(TEXLIVE.rglob("*.png"))
    if pngs:
        cases.append(("PNG", pngs[0].read_bytes()[:16384]))
    cases.append(
        ("PDF", next((Path(__file__).resolve().parents[1] / "data/sample/pdf").glob("*.pdf")).read_bytes()[:16384])
    )
    return cases


# ------------------------------------------------------------------------------------------------------ detectors


def ours(raw: bytes) -> str | None:
    try:
        return decode_bytes(raw).text
    except DecodeError:
        return None


def detectors() -> dict[str, Callable[[bytes], str | None]]:
    found: dict[str, Callable[[bytes], str | None]] = {"ours": ours}
    try:
        from charset_normalizer import from_bytes

        def charset_normalizer(raw: bytes) -> str | None:
            best = from_bytes(raw).best()
            return str(best) if best is not None else None

        found["charset-normalizer"] = charset_normalizer
    except ImportError:
        pass
    try:
        import chardet

        def chardet_(raw: bytes) -> str | None:
            enc = chardet.detect(raw).get("encoding")
            try:
                return raw.decode(enc) if enc else None
            except (LookupError, UnicodeDecodeError):
                return None

        found["chardet"] = chardet_
    except ImportError:
        pass
    return found


def score(fn: Callable[[bytes], str | None], raw: bytes, truth: str | None) -> str:
    got = fn(raw)
    if got is None:
        return "refused"
    return "right" if got == truth else "wrong"


def pct(counts: Counter[str], key: str) -> str:
    total = sum(counts.values())
    return f"{counts[key] / total:.3f}" if total else "-"


def run_detection(per_group: int) -> None:
    fns = detectors()
    names = list(fns)
    print(f"(a) charset detection: {', '.join(names)}\n")

    cases = list(encoded_cases(per_group))
    by = {name: defaultdict(Counter) for name in names}
    cpu = Counter()
    for name, fn in fns.items():
        start = time.process_time()
        for lang, codec, size, raw, truth in cases:
            outcome = score(fn, raw, truth)
            for key in (("size", size), ("codec", codec), ("lang", lang), ("all", "all")):
                by[name][key][outcome] += 1
        cpu[name] = time.process_time() - start
    megabytes = sum(len(c[3]) for c in cases) / 1e6
    header = " | ".join(f"{n} right / wrong" for n in names)
    for group in ("all", "size", "codec", "lang"):
        print(f"| encoded: {group} | n | {header} |")
        print("|---|---|" + "---|" * len(names))
        for key in sorted(k for k in by["ours"] if k[0] == group):
            n = sum(by["ours"][key].values())
            cells = " | ".join(f"{pct(by[name][key], 'right')} / {pct(by[name][key], 'wrong')}" for name in names)
            print(f"| {key[1]} | {n} | {cells} |")
        print()
    speed = ", ".join(f"{n} {megabytes / cpu[n]:.2f} MB/s" for n in names)
    print(f"encoded set: {len(cases)} inputs, {megabytes:.2f} MB; CPU throughput: {speed}\n")

    print(f"| real legacy file | declared | bytes | {' | '.join(names)} |")
    print("|---|---|---|" + "---|" * len(names))
    real = {name: Counter() for name in names}
    for rel, codec, _evidence in REAL_FILES:
        raw = read_real(rel)
        truth = raw.decode(codec)
        outcomes = [score(fns[name], raw, truth) for name in names]
        for name, outcome in zip(names, outcomes, strict=True):
            real[name][outcome] += 1
        print(f"| {rel.rsplit('/', 1)[-1]} | {codec} | {len(raw)} | {' | '.join(outcomes)} |")
    totals = " | ".join(f"{real[n]['right']} right, {real[n]['wrong']} wrong" for n in names)
    print(f"| **all {len(REAL_FILES)}** | | | {totals} |\n")
    print("mixed / glyph-table files (not scored; what each detector returned):")
    for rel, why in MIXED_FILES:
        raw = read_real(rel)
        got = []
        for name in names:
            text = fns[name](raw)
            got.append(f"{name}: {'refused' if text is None else 'text'}")
        print(f"  {rel.rsplit('/', 1)[-1]} ({why}): {', '.join(got)}")
    print()

    junk = junk_cases()
    refused = {name: sum(fns[name](raw) is None for _, raw in junk) for name in names}
    print(f"junk (not text): {len(junk)} inputs refused: " + ", ".join(f"{n} {refused[n]}" for n in names) + "\n")


# ----------------------------------------------------------------------------------------------------- throughput


THROUGHPUT_TEXTS = {
    "en": lambda: debian_txt("debian-faq.en.txt.gz"),
    "de": lambda: debian_txt("debian-faq.de.txt.gz"),
    "fr": lambda: debian_txt("debian-faq.fr.txt.gz"),
    "es": lambda: debian_txt("maint-guide.es.txt.gz"),
    "pt": lambda: debian_txt("debian-faq.pt.txt.gz"),
    "ru": lambda: debian_txt("debian-faq.ru.txt.gz"),
    "vi": lambda: debian_txt("maint-guide.vi.txt.gz"),
    "ja": lambda: debian_txt("maint-guide.ja.txt.gz"),
    "ko": lambda: debian_txt("debian-faq.ko.txt.gz"),
    "zh-cn": lambda: debian_txt("debian-reference.zh-cn.txt.gz"),
    "zh-tw": lambda: debian_txt("debian-reference.zh-tw.txt.gz"),
    "id": lambda: debian_txt("debian-reference.id.txt.gz"),
    "ar": lambda: django_admin("ar"),
    "he": lambda: django_admin("he"),
    "el": lambda: django_admin("el"),
}


def throughput_docs(megabytes: float, doc_bytes: int = 4000) -> list[tuple[str, str]]:
    """(language, text) documents of ~doc_bytes, the same share of the budget per language."""
    budget = megabytes * 1e6 / len(THROUGHPUT_TEXTS)
    docs = []
    for lang, load in THROUGHPUT_TEXTS.items():
        used, buf = 0, []
        for line in load().splitlines(keepends=True):
            buf.append(line)
            if sum(len(x) for x in buf) >= doc_bytes // 2:
                text = "".join(buf)
                docs.append((lang, text))
                used += len(text.encode("utf-8"))
                buf = []
                if used >= budget:
                    break
    return docs


def garble(lang: str, text: str) -> str:
    """UTF-8 read back in the code page of the time: windows-1251 for Cyrillic, windows-1252 for the rest."""
    import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-*: every byte decodes, as in real mojibake)

    return text.encode("utf-8").decode("sloppy-windows-1251" if lang == "ru" else "sloppy-windows-1252")


def run_throughput(megabytes: float) -> None:
    import ftfy

    clean = throughput_docs(megabytes)
    rng = random.Random(1)
    garbled_ids = set(rng.sample(range(len(clean)), len(clean) // 5))
    mixed = [(lang, garble(lang, text) if i in garbled_ids else text) for i, (lang, text) in enumerate(clean)]
    size = sum(len(t.encode("utf-8")) for _, t in clean) / 1e6
    contenders = {
        "ours: curation.text.normalize": lambda t: normalize(t).text,
        "peer: ftfy.fix_text (defaults)": ftfy.fix_text,
        "limit: unicodedata NFC only": lambda t: unicodedata.normalize("NFC", t),
    }
    languages = len(THROUGHPUT_TEXTS)
    print(f"(b) normalisation throughput, one core, {len(clean)} docs, {size:.2f} MB UTF-8, {languages} languages\n")
    print("| | clean MB/s | 20 % garbled MB/s |")
    print("|---|---|---|")
    rates = {}
    for name, fn in contenders.items():
        row = []
        for docs in (clean, mixed):
            start = time.process_time()
            for _, text in docs:
                fn(text)
            row.append(sum(len(t.encode("utf-8")) for _, t in docs) / 1e6 / (time.process_time() - start))
        rates[name] = row
        print(f"| {name} | {row[0]:.1f} | {row[1]:.1f} |")
    ours_name, peer, limit = list(contenders)
    vs_peer = [rates[ours_name][k] / rates[peer][k] for k in (0, 1)]
    vs_limit = [rates[ours_name][k] / rates[limit][k] for k in (0, 1)]
    print(
        f"\nours / ftfy.fix_text: {vs_peer[0]:.1f}x clean, {vs_peer[1]:.1f}x garbled; "
        f"ours / NFC limit: {vs_limit[0]:.3f}x clean, {vs_limit[1]:.3f}x garbled"
    )
    restored_ours = sum(normalize_text(mixed[i][1]) == normalize_text(clean[i][1]) for i in garbled_ids)
    restored_ftfy = sum(ftfy.fix_text(mixed[i][1]) == ftfy.fix_text(clean[i][1]) for i in garbled_ids)
    changed_ours = sum(repair_mojibake(text)[1] > 0 for _, text in clean)
    changed_ftfy = sum(ftfy.fix_text(text) != unicodedata.normalize("NFC", text) for _, text in clean)
    n_garbled = len(garbled_ids)
    print(
        f"garbled docs restored: ours {restored_ours}/{n_garbled}, ftfy.fix_text {restored_ftfy}/{n_garbled}; "
        f"clean docs rewritten beyond NFC: ours (mojibake repair) {changed_ours}/{len(clean)}, "
        f"ftfy.fix_text {changed_ftfy}/{len(clean)} (quotes uncurled, full-width folded, ...)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-group", type=int, default=10, help="slices per (language, size)")
    parser.add_argument("--megabytes", type=float, default=4.0, help="UTF-8 text for the throughput part")
    parser.add_argument("--only", choices=("detect", "throughput"))
    args = parser.parse_args()
    if args.only != "throughput":
        run_detection(args.per_group)
    if args.only != "detect":
        run_throughput(args.megabytes)


if __name__ == "__main__":
    main()
