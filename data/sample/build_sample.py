#!/usr/bin/env python3
"""Rebuild the bundled sample corpus in data/sample/ from real, pinned packages.

Why this exists
---------------
The curation factory (PDF extraction -> language ID -> quality filters -> exact +
MinHash dedup -> LLM annotation -> shards) needs a small corpus that is *real*
(written by people, in many scripts, with the warts real data has) yet small
enough to live in the repository (<= ~6 MB) and with every licence known.
Everything here comes from package registries and is pinned, so the sample can
be rebuilt and audited:

* Debian documentation PDFs (Debian FAQ en/de/fr/ru, maint-guide ja,
  debian-reference zh-cn) and TeX Live Arabic-script docs (texlive-lang-arabic),
  cut to page ranges with PyMuPDF; one of them keeps a real image-only page;
  plus one deliberately corrupt PDF and one AES-256 encrypted PDF.
* Debian manpages-* rendered with man(1) in 15 languages.
* Debian /usr/share/doc/*/copyright files and SPDX licence texts (npm
  spdx-license-list) -- natural exact and near duplicates for dedup tests.
* Short/junk real documents (fortune cookies, Django admin .po strings,
  ASCII art, number/symbol tables) for quality-filter tests.
* bad_input.jsonl: deliberately malformed records for reader robustness tests.

It also verifies the duplicate structure (exact after whitespace
normalisation; near = Jaccard over word 5-gram shingles >= 0.8) and writes
EXPECTED.md and LICENSES.md.

Usage (needs network access to the Debian archive, PyPI and npm; not run in CI):

    /tmp/venv/bin/python data/sample/build_sample.py /tmp/sample_work

Requirements: apt-get (after `apt-get update`), dpkg-deb, man-db + groff-base
(`man`, `col`), pip, npm, and a Python with pymupdf.  The copyright files are
read from this machine's /usr/share/doc when the installed version matches the
pinned one, otherwise the package is fetched with `apt-get download`.
"""
from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from pathlib import Path

import pymupdf

OUT = Path(__file__).resolve().parent  # data/sample

# --------------------------------------------------------------------------
# Pinned sources
# --------------------------------------------------------------------------
DEBS = {
    "debian-faq": "11.1", "debian-faq-de": "11.1", "debian-faq-fr": "11.1",
    "debian-faq-ru": "11.1", "maint-guide-ja": "1.2.53",
    "debian-reference-zh-cn": "2.100", "texlive-lang-arabic": "2022.20230122-1",
    "manpages": "6.03-2", "manpages-cs": "4.18.1-1", "manpages-de": "4.18.1-1",
    "manpages-es": "4.18.1-1", "manpages-fr": "4.18.1-1", "manpages-it": "4.18.1-1",
    "manpages-ja": "0.5.0.0.20221215+dfsg-1", "manpages-nl": "4.18.1-1",
    "manpages-pl": "1:4.18.1-1", "manpages-pt-br": "4.18.1-1", "manpages-ru": "4.18.1-1",
    "manpages-tr": "2.0.6-2", "manpages-uk": "4.18.1-1", "manpages-vi": "4.18.1-1",
    "manpages-zh": "1.6.4.0-1",
    "fortunes-min": "1:1.99.1-7.3", "fortunes-de": "0.35-1", "fortunes-es": "1.36",
    "fortunes-it": "1.99-4.1", "fortunes-ru": "1.52-3.1",
    "golang-1.19-src": "1.19.8-2", "rust-src": "1.63.0+dfsg1-2", "perl-modules-5.36": "5.36.0-7+deb12u4",
}
# code/: real source files under their paths in the package (the sample-code source), junk for the code filters
# among them (a stringer-generated Go file, jQuery minified under vendor/, vendored licence texts)
GO_SRC, RUST_SRC, PERL_LIB = "usr/share/go-1.19/src", "usr/src/rustc-1.63.0/library", "usr/share/perl/5.36.0"
CODE_FILES = [  # (path under code/, package or "pypi:django", path in the package)
    ("go/src/sort/sort.go", "golang-1.19-src", f"{GO_SRC}/sort/sort.go"),
    ("go/src/html/template/jsctx_string.go", "golang-1.19-src", f"{GO_SRC}/html/template/jsctx_string.go"),
    ("go/src/cmd/vendor/golang.org/x/arch/LICENSE", "golang-1.19-src", f"{GO_SRC}/cmd/vendor/golang.org/x/arch/LICENSE"),
    *[(f"rust/library/core/src/num/shells/{t}.rs", "rust-src", f"{RUST_SRC}/core/src/num/shells/{t}.rs")
      for t in ("u8", "u64", "i32")],
    ("rust/library/core/src/num/flt2dec/estimator.rs", "rust-src", f"{RUST_SRC}/core/src/num/flt2dec/estimator.rs"),
    ("perl/I18N/LangTags/Detect.pm", "perl-modules-5.36", f"{PERL_LIB}/I18N/LangTags/Detect.pm"),
    ("perl/Locale/Maketext/Simple.pm", "perl-modules-5.36", f"{PERL_LIB}/Locale/Maketext/Simple.pm"),
    *[(f"python/{n}", "pypi:django", n) for n in (
        "django/utils/html.py", "django/contrib/admin/static/admin/js/SelectBox.js",
        "django/contrib/admin/static/admin/js/vendor/jquery/jquery.min.js",
        "django/contrib/admin/static/admin/js/vendor/jquery/LICENSE.txt")],
]
PYPI = ["django==5.2.19"]
NPM = ["spdx-license-list@6.12.0"]

TEXDOC = "usr/share/doc/texlive-doc"

# PDFs cut from real documents.  keep: 0-based page indices kept (None = whole
# file, copied byte for byte).  The title + copyright/permission page is always
# kept so the licence notice travels with the excerpt.
PDFS = [
    dict(out="debian-faq-en.pdf", pkg="debian-faq", path="usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz",
         keep=None, lang="en", script="Latin", role="long document (whole English Debian FAQ)"),
    dict(out="debian-faq-de.pdf", pkg="debian-faq-de", path="usr/share/doc/debian/FAQ/debian-faq.de.pdf.gz",
         keep=[0, 1, *range(8, 16)], lang="de", script="Latin", role="medium"),
    dict(out="debian-faq-fr.pdf", pkg="debian-faq-fr", path="usr/share/doc/debian/FAQ/debian-faq.fr.pdf.gz",
         keep=[0, 1, *range(16, 20)], lang="fr", script="Latin", role="medium"),
    dict(out="debian-faq-ru.pdf", pkg="debian-faq-ru", path="usr/share/doc/debian/FAQ/debian-faq.ru.pdf.gz",
         keep=[0, 1, *range(8, 17)], lang="ru", script="Cyrillic", role="medium"),
    dict(out="maint-guide-ja.pdf", pkg="maint-guide-ja", path="usr/share/doc/maint-guide-ja/maint-guide.ja.pdf",
         keep=[0, 1, *range(3, 13)], lang="ja", script="CJK (Japanese)", role="medium"),
    dict(out="debian-reference-zh-cn.pdf", pkg="debian-reference-zh-cn",
         path="usr/share/debian-reference/debian-reference.zh-cn.pdf",
         keep=[0, 1, 2, *range(4, 9)], lang="zh-CN", script="CJK (Simplified Chinese)", role="medium"),
    dict(out="texlive-arabic-lshort-persian.pdf", pkg="texlive-lang-arabic",
         path=f"{TEXDOC}/latex/lshort-persian/lshort.pdf",
         keep=[*range(0, 6), *range(14, 28)], lang="fa", script="Arabic (Persian)",
         role="medium; page 4 is blank (no text, no image)"),
    dict(out="texlive-arabic-arabi-user-guide.pdf", pkg="texlive-lang-arabic",
         path=f"{TEXDOC}/latex/arabi/user_guide.pdf",
         keep=list(range(85, 92)), lang="en+ar", script="Latin + Arabic",
         role="contains an image-only page (no text layer)"),
]
ENCRYPTED = dict(out="encrypted.pdf", src="debian-faq-en.pdf", keep=[0, 1, 2, 3], user_pw="secret", owner_pw="owner")
BROKEN = dict(out="broken.pdf", src="debian-faq-fr.pdf", keep_fraction=0.40)
# A scanned document: real pages as a 200 dpi black-and-white scan (CCITT G4, as office scanners write them), no
# text layer. Two Russian pages, then a Japanese one: the second page reuses the first's packs, the third is
# detected again (OCR with script detection).
SCANNED = dict(out="scanned-faq-ru-maint-guide-ja.pdf", dpi=200, threshold=160,
               pages=[("debian-faq-ru.pdf", 2), ("debian-faq-ru.pdf", 3), ("maint-guide-ja.pdf", 7)])

# Man pages: GNU coreutils pages first (all languages but it/ru have them), then
# Linux man-pages project pages.  Up to PER_LANG pages with 1-20 KB of text.
MAN_LANGS = {  # lang code -> (package, directory under usr/share/man)
    "en": ("manpages", ""), "de": ("manpages-de", "de"), "fr": ("manpages-fr", "fr"),
    "es": ("manpages-es", "es"), "it": ("manpages-it", "it"), "pl": ("manpages-pl", "pl"),
    "ru": ("manpages-ru", "ru"), "ja": ("manpages-ja", "ja"), "zh-CN": ("manpages-zh", "zh_CN"),
    "pt-BR": ("manpages-pt-br", "pt_BR"), "nl": ("manpages-nl", "nl"), "uk": ("manpages-uk", "uk"),
    "vi": ("manpages-vi", "vi"), "tr": ("manpages-tr", "tr"), "cs": ("manpages-cs", "cs"),
}
COREUTILS = ["ls", "cp", "mv", "rm", "mkdir", "chmod", "df", "date", "sort", "du"]
MAN_PAGES = ["man1/" + p + ".1" for p in COREUTILS] + [
    "man1/intro.1", "man7/hier.7", "man7/locale.7", "man7/charsets.7", "man7/utf-8.7",
    "man7/unicode.7", "man7/environ.7", "man7/glob.7", "man7/regex.7", "man7/pipe.7", "man7/time.7"]
PER_LANG = 8
L10N_LANGS = {"de", "fr", "es", "it", "pl", "ru", "pt-BR", "nl", "uk", "vi", "cs"}

# /usr/share/doc/<pkg>/copyright files chosen for their duplicate structure.
COPYRIGHT_LOCAL = [
    # exact-duplicate groups (same source package, several binary packages)
    "libxcb-dri2-0", "libxcb-dri3-0", "libxcb-glx0", "libxcb-present0",
    "libxmlsec1", "libxmlsec1-openssl", "libxmlsec1-nss",
    "fontconfig", "libfontconfig1", "libsqlite3-0", "sqlite3", "bzip2", "libbz2-1.0",
    "libexpat1", "libexpat1-dev", "zlib1g", "zlib1g-dev", "libssl3", "openssl",
    # near duplicates (X.Org MIT/X11 notices with different holders, ALSA, Info-ZIP, ...)
    "libsm-dev", "libxau-dev", "libice-dev", "libxdmcp-dev", "xauth",
    "libxcomposite-dev", "libxfixes-dev", "libxcb-image0", "libxcb-render-util0", "libxcb-util1",
    "alsa-topology-conf", "alsa-ucm-conf", "unzip", "zip", "jq", "mawk",
    # unrelated ones
    "tar", "sed", "grep", "gzip", "libyaml-0-2",
]
COPYRIGHT_FROM_DEBS = ["debian-faq", "debian-faq-de", "debian-faq-ru", "fortunes-de"]

SPDX_IDS = [
    "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "AGPL-3.0-only",
    "LGPL-3.0-only", "LGPL-2.0-only", "LGPL-2.1-only", "GFDL-1.2-only", "GFDL-1.3-only",
    "CC-BY-4.0", "CC-BY-SA-4.0", "LPPL-1.3a", "LPPL-1.3c", "CDDL-1.0", "CDDL-1.1",
    "MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0",
]

FORTUNES = [  # (package, file under usr/share/games/fortunes, lang, licence)
    ("fortunes-min", "fortunes", "en", "BSD-3-Clause (fortune-mod; cookie files collected from public postings)"),
    ("fortunes-de", "de/sprichworte", "de", "GPL-2.0-or-later"),
    ("fortunes-es", "es/vida.fortunes", "es", "public domain (presumed, per debian/copyright)"),
    ("fortunes-it", "it/italia", "it", "public domain (per fortune-it COPYING-POLICY)"),
    ("fortunes-ru", "ru/2001.03", "ru", "GPL-2.0-only"),
]
FORTUNES_PER_FILE = 5
DJANGO_LOCALES = ["de", "fr", "ja", "ar"]
DJANGO_STRINGS = 30

JACCARD_NEAR = 0.8
SHINGLE = 5


# --------------------------------------------------------------------------
# Download + extract
# --------------------------------------------------------------------------
def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def download(work: Path) -> None:
    """apt-get download / pip download / npm pack the pinned packages into work/."""
    for d in ("deb", "x", "pypi", "npm"):
        (work / d).mkdir(parents=True, exist_ok=True)
    want = [f"{p}={v}" for p, v in DEBS.items() if not list((work / "deb").glob(f"{p}_*.deb"))]
    if want:
        sh(["apt-get", "download", *want], cwd=work / "deb")
    for deb in sorted((work / "deb").glob("*.deb")):
        pkg = deb.name.split("_")[0]
        if not (work / "x" / pkg).exists():
            sh(["dpkg-deb", "-x", str(deb), str(work / "x" / pkg)])
    for spec in PYPI:
        name, ver = spec.split("==")
        if not list((work / "pypi").glob(f"{name}-{ver}-*.whl")):
            sh(["pip", "download", "--no-deps", "-d", str(work / "pypi"), spec])
    for spec in NPM:
        name, ver = spec.rsplit("@", 1)
        tgz = work / "npm" / f"{name}-{ver}.tgz"
        if not tgz.exists():
            sh(["npm", "pack", spec], cwd=work / "npm")
        dest = work / "npm" / name
        if not dest.exists():
            dest.mkdir()
            with tarfile.open(tgz) as t:
                t.extractall(dest)


CODE_EXPECTED_MD = [  # the code/ section of EXPECTED.md
    '## Source files (`code/`, the `sample-code` source: the code branch)',
    '',
    '| file | language | expected |',
    '|---|---|---|',
    '| `go/src/sort/sort.go` | Go | kept, domain `code` |',
    '| `go/src/html/template/jsctx_string.go` | Go | rejected `auto_generated` (written by `stringer`: "Code generated ... DO NOT EDIT.") |',
    '| `go/src/cmd/vendor/golang.org/x/arch/LICENSE` | Text | rejected `vendored` |',
    '| `rust/library/core/src/num/shells/{u8,u64,i32}.rs` | Rust | kept (near-identical short files: code shingles keep digits, so `u8` and `u64` stay apart) |',
    '| `rust/library/core/src/num/flt2dec/estimator.rs` | Rust | kept |',
    '| `perl/I18N/LangTags/Detect.pm` | Perl | kept; licence `Artistic-1.0-Perl OR GPL-1.0-or-later` ("same terms as Perl itself"); the author\'s e-mail redacted |',
    "| `perl/Locale/Maketext/Simple.pm` | Perl | kept; the authors' e-mails redacted |",
    '| `python/django/utils/html.py` | Python | kept |',
    '| `python/django/contrib/admin/static/admin/js/SelectBox.js` | JavaScript | kept |',
    '| `python/django/contrib/admin/static/admin/js/vendor/jquery/jquery.min.js` | JavaScript | rejected `vendored` (minified too) |',
    '| `python/django/contrib/admin/static/admin/js/vendor/jquery/LICENSE.txt` | Text | rejected `vendored` |',
]

CODE_LICENSES_MD = [  # the code/ section of LICENSES.md
    '',
    '## Source code (`code/`)',
    '',
    'Real source files, kept byte for byte under their paths inside the package (the `sample-code` source of',
    '`configs/default.yaml`; `type: code`). The tree also holds the junk the code filters exist for: a generated file',
    '(`jsctx_string.go`, written by `stringer`), minified and vendored JavaScript (jQuery) and vendored licence texts.',
    '',
    '| path under `code/` | package (version) | path in package | licence |',
    '|---|---|---|---|',
    "| `go/src/sort/sort.go`, `go/src/html/template/jsctx_string.go` | golang-1.19-src (1.19.8-2) | `/usr/share/go-1.19/src/...` | BSD-3-Clause (Go's LICENSE) |",
    '| `go/src/cmd/vendor/golang.org/x/arch/LICENSE` | golang-1.19-src (1.19.8-2) | `/usr/share/go-1.19/src/cmd/vendor/golang.org/x/arch/LICENSE` | BSD-3-Clause |',
    '| `rust/library/core/src/num/shells/{u8,u64,i32}.rs`, `rust/library/core/src/num/flt2dec/estimator.rs` | rust-src (1.63.0+dfsg1-2) | `/usr/src/rustc-1.63.0/library/core/src/...` | MIT OR Apache-2.0 |',
    '| `perl/I18N/LangTags/Detect.pm`, `perl/Locale/Maketext/Simple.pm` | perl-modules-5.36 (5.36.0-7+deb12u4) | `/usr/share/perl/5.36.0/...` | Artistic-1.0-Perl OR GPL-1.0-or-later ("the same terms as Perl itself") |',
    '| `python/django/utils/html.py`, `python/django/contrib/admin/static/admin/js/SelectBox.js` | Django (5.2.19, PyPI wheel) | `django/...` | BSD-3-Clause |',
    '| `python/django/contrib/admin/static/admin/js/vendor/jquery/{jquery.min.js,LICENSE.txt}` | Django (5.2.19, PyPI wheel) | `django/contrib/admin/static/admin/js/vendor/jquery/` | MIT (jQuery) |',
]


def build_code(work: Path) -> None:
    """Copy CODE_FILES into code/, byte for byte."""
    whl = next((work / "pypi").glob("django-5.2.19-*.whl"))
    for dest, pkg, rel in CODE_FILES:
        target = OUT / "code" / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if pkg == "pypi:django":
            with zipfile.ZipFile(whl) as z:
                target.write_bytes(z.read(rel))
        else:
            target.write_bytes(xpath(work, pkg, rel).read_bytes())


def xpath(work: Path, pkg: str, rel: str) -> Path:
    return work / "x" / pkg / rel


def origin(pkg: str, rel: str, version: str | None = None) -> str:
    return f"deb:{pkg} {version or DEBS[pkg]} /{rel}"


# --------------------------------------------------------------------------
# PDFs
# --------------------------------------------------------------------------
def read_pdf_bytes(p: Path) -> bytes:
    return gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()


def pdf_stats(path: Path) -> dict:
    d = pymupdf.open(path)
    texts = [pg.get_text() for pg in d]
    image_only = [i + 1 for i, pg in enumerate(d) if not texts[i].strip() and pg.get_images()]
    blank = [i + 1 for i, pg in enumerate(d) if not texts[i].strip() and not pg.get_images()]
    return dict(page_count=d.page_count, chars=sum(len(t) for t in texts), image_only=image_only, blank=blank)


def build_pdfs(work: Path) -> list[dict]:
    out = OUT / "pdf"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for spec in PDFS:
        src = xpath(work, spec["pkg"], spec["path"])
        data = read_pdf_bytes(src)
        dst = out / spec["out"]
        if spec["keep"] is None:
            dst.write_bytes(data)  # unchanged original
        else:
            d = pymupdf.open(stream=data, filetype="pdf")
            d.select(spec["keep"])
            d.save(dst, garbage=4, deflate=True)
        rows.append({**spec, **pdf_stats(dst), "bytes": dst.stat().st_size})

    # encrypted: a real page range, AES-256, user password "secret"
    e = ENCRYPTED
    d = pymupdf.open(out / e["src"])
    d.select(e["keep"])
    d.save(out / e["out"], encryption=pymupdf.PDF_ENCRYPT_AES_256,
           user_pw=e["user_pw"], owner_pw=e["owner_pw"], garbage=4, deflate=True)
    chk = pymupdf.open(out / e["out"])
    assert chk.needs_pass and chk.is_encrypted, "encrypted.pdf must need a password"
    assert chk.authenticate(e["user_pw"]) and chk.page_count == len(e["keep"])

    # broken: first 40% of the bytes of a real PDF, object headers defaced
    # ("N G obj" -> "N G ob#") and a bogus xref/trailer appended.  MuPDF's
    # repair pass then finds no object at all and open() raises.
    b = BROKEN
    raw = (out / b["src"]).read_bytes()
    cut = raw[: int(len(raw) * b["keep_fraction"])]
    cut = re.sub(rb"(\d+ \d+) obj", rb"\1 ob#", cut)
    cut += (b"\nxref\n0 99999\n0000000000 65535 f \nzzzzzzzzzz\ntrailer\n<< /Size 99999 /Root 4242 0 R >>\n"
            b"startxref\n" + str(len(cut) + 1).encode() + b"\n%%EOF\n")
    (out / b["out"]).write_bytes(cut)
    try:
        pymupdf.open(out / b["out"])
        raise AssertionError("broken.pdf unexpectedly opened")
    except pymupdf.FileDataError as exc:
        b["error"] = f"{type(exc).__name__}: {exc}".replace(str(out / b["out"]), "broken.pdf")
    build_scanned(out)
    return rows


def build_scanned(out: Path) -> None:
    """SCANNED: each listed page (0-based) of a sample PDF as one bilevel image on a page of the same size."""
    import io

    from PIL import Image

    s = SCANNED
    doc = pymupdf.open()
    for name, index in s["pages"]:
        with pymupdf.open(out / name) as src:
            page = src[index]
            pix = page.get_pixmap(dpi=s["dpi"], colorspace=pymupdf.csGRAY)
            image = Image.open(io.BytesIO(pix.tobytes("png"))).point(lambda v: 255 if v > s["threshold"] else 0)
            g4 = io.BytesIO()
            image.convert("1").save(g4, format="TIFF", compression="group4")
            new = doc.new_page(width=page.rect.width, height=page.rect.height)
            new.insert_image(new.rect, stream=g4.getvalue())
    doc.set_metadata({"producer": "data/sample/build_sample.py (scanned sample)"})
    doc.save(out / s["out"], garbage=4, deflate=True)
    check = pymupdf.open(out / s["out"])
    assert all(not page.get_text().strip() for page in check), "a scanned page must have no text layer"


# --------------------------------------------------------------------------
# Text documents
# --------------------------------------------------------------------------
def clean_text(t: str) -> str:
    lines = [ln.rstrip() for ln in t.replace("\r\n", "\n").split("\n")]
    t = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", t) + "\n"


def render_man(path: Path) -> str:
    """Render a man page to plain text with groff directly (man(1) can hang on some CJK pages without a tty)."""
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    src = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    p1 = subprocess.run(["groff", "-k", "-Tutf8", "-mandoc", "-rLL=80n", "-rHY=0", "-dAD=l", "-P-c"],
                        input=src, env=env, capture_output=True, check=True, timeout=60)
    p2 = subprocess.run(["col", "-bx"], input=p1.stdout, env=env, capture_output=True, check=True, timeout=60)
    return clean_text(p2.stdout.decode("utf-8"))


def english_spdx(work: Path, page: str) -> str | None:
    """SPDX-License-Identifier of the English original in the man-pages package."""
    src = xpath(work, "manpages", f"usr/share/man/{page}.gz")
    if not src.exists():
        return None
    for line in gzip.decompress(src.read_bytes()).decode("utf-8", "replace").splitlines()[:30]:
        m = re.search(r"SPDX-License-Identifier:\s*(\S+)", line)
        if m:
            return m.group(1)
    return None


def man_license(work: Path, lang: str, page: str) -> str:
    base = page.split("/")[1].rsplit(".", 1)[0]
    orig = "GPL-3.0-or-later" if base in COREUTILS else (english_spdx(work, page) or "see page source")
    if lang == "en":
        return orig
    if lang in L10N_LANGS:
        tr = "GPL-3.0-or-later"          # manpages-l10n translations
    elif lang == "zh-CN":
        tr = "GFDL-1.2-or-later"         # manpages-zh debian/copyright, Files: *
    elif lang == "tr":
        tr = "GPL (manpages-tr; version unspecified)"
    else:  # ja: JM Project, same licence as the original page
        return f"{orig} (JM Project translation, same licence as the original)"
    return orig if tr == orig else f"{orig} AND {tr} (translation)"


def build_manpages(work: Path) -> list[dict]:
    recs = []
    for lang, (pkg, sub) in MAN_LANGS.items():
        base = xpath(work, pkg, f"usr/share/man/{sub}".rstrip("/"))
        n = 0
        for page in MAN_PAGES:
            if n >= PER_LANG:
                break
            f = base / f"{page}.gz"
            if not f.is_file():
                continue
            text = render_man(f)
            if not 1000 <= len(text.encode()) <= 20000:
                continue
            rel = f.relative_to(work / "x" / pkg).as_posix()
            recs.append(dict(id=f"{pkg}/{page}", lang=lang, text=text, origin=origin(pkg, rel),
                             license=man_license(work, lang, page)))
            n += 1
    return recs


def dep5_license(text: str) -> str:
    m = re.search(r"^License:\s*(\S.*)$", text, re.M)
    return m.group(1).strip() if m else "see text"


def installed_version(pkg: str) -> str | None:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() or None


def build_licenses(work: Path, pins: dict[str, str]) -> list[dict]:
    recs = []
    for pkg in COPYRIGHT_LOCAL:
        rel = f"usr/share/doc/{pkg}/copyright"
        ver = pins.get(pkg)
        local = Path("/") / rel
        if local.is_file() and installed_version(pkg) == ver:
            text = local.read_text("utf-8", "replace")
        else:  # fetch the pinned (or, failing that, current) package
            dl = work / "deb-copyright"
            dl.mkdir(exist_ok=True)
            try:
                sh(["apt-get", "download", f"{pkg}={ver}"], cwd=dl)
            except subprocess.CalledProcessError:
                sh(["apt-get", "download", pkg], cwd=dl)
            deb = sorted(dl.glob(f"{pkg}_*.deb"))[-1]
            ver = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True).stdout.strip()
            sh(["dpkg-deb", "-x", str(deb), str(dl / pkg)])
            text = (dl / pkg / rel).read_text("utf-8", "replace")
        recs.append(dict(id=f"copyright/{pkg}", lang="en", text=text, origin=origin(pkg, rel, ver),
                         license=f"Debian package metadata; licence of {pkg}: {dep5_license(text)}"))
    for pkg in COPYRIGHT_FROM_DEBS:
        rel = f"usr/share/doc/{pkg}/copyright"
        text = xpath(work, pkg, rel).read_text("utf-8")
        recs.append(dict(id=f"copyright/{pkg}", lang="en", text=text, origin=origin(pkg, rel),
                         license=f"Debian package metadata; licence of {pkg}: {dep5_license(text)}"))
    full = json.loads((work / "npm/spdx-license-list/package/spdx-full.json").read_text("utf-8"))
    for lid in SPDX_IDS:
        e = full[lid]
        recs.append(dict(id=f"spdx/{lid}", lang="en", text=e["licenseText"],
                         origin=f"npm:spdx-license-list@6.12.0 spdx-full.json [{lid!r}].licenseText",
                         source_url=e["url"],
                         license=f"text of {lid} ({e['name']}): its own terms; list compilation CC0-1.0"))
    return recs


def read_fortunes(path: Path) -> list[str]:
    raw = path.read_bytes()
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        s = raw.decode("latin-1")
    return [c.strip() for c in s.split("\n%\n")]


def po_msgstrs(po: str) -> list[str]:
    out = []
    for m in re.finditer(r'^msgstr "(.*)"\n((?:".*"\n)*)', po, re.M):
        s = m.group(1) + "".join(x[1:-1] for x in m.group(2).splitlines())
        s = s.replace('\\"', '"').replace("\\n", "\n")
        if s and not s.startswith("Project-Id-Version"):
            out.append(s)
    return out


def build_short(work: Path) -> list[dict]:
    recs = []
    for pkg, rel_f, lang, lic in FORTUNES:
        rel = f"usr/share/games/fortunes/{rel_f}"
        cookies = read_fortunes(xpath(work, pkg, rel))
        picked = [(i, c) for i, c in enumerate(cookies) if 10 <= len(c) <= 80][:FORTUNES_PER_FILE]
        for i, c in picked:
            recs.append(dict(id=f"{pkg}/{rel_f}#{i}", lang=lang, text=c + "\n", origin=origin(pkg, rel),
                             license=lic))
    whl = next((work / "pypi").glob("django-5.2.19-*.whl"))
    with zipfile.ZipFile(whl) as z:
        for loc in DJANGO_LOCALES:
            name = f"django/contrib/admin/locale/{loc}/LC_MESSAGES/django.po"
            strs = po_msgstrs(z.read(name).decode("utf-8"))[:DJANGO_STRINGS]
            recs.append(dict(id=f"django-po/{loc}/admin", lang=loc, text="\n".join(strs) + "\n",
                             origin=f"pypi:django==5.2.19 {name} (first {DJANGO_STRINGS} msgstr)",
                             license="BSD-3-Clause (Django)"))
    # ASCII-art banner (pure symbols)
    rel = "usr/share/games/fortunes/it/banner"
    banner = read_fortunes(xpath(work, "fortunes-it", rel))[0]
    recs.append(dict(id="junk/fortunes-it/banner", lang="zxx", text=banner + "\n", origin=origin("fortunes-it", rel),
                     license="public domain (per fortune-it COPYING-POLICY)"))
    # ascii(7) table: numbers and symbols only
    rel = "usr/share/man/man7/ascii.7.gz"
    rows = [ln for ln in render_man(xpath(work, "manpages", rel)).splitlines()
            if re.fullmatch(r"\s*\d{3}\s+\d+\s+[0-9A-F]{2}\s+\S.*", ln) and not re.search(r"[a-z]{3,}", ln)]
    recs.append(dict(id="junk/manpages/ascii.7-table", lang="zxx", text="\n".join(r.strip() for r in rows[-40:]) + "\n",
                     origin=origin("manpages", rel) + " (printable-character rows of the table)",
                     license="GPL-2.0-or-later"))
    # a line of pure numbers: the day numbers of a calendar page in the Arabi user guide
    rel = f"{TEXDOC}/latex/arabi/user_guide.pdf"
    d = pymupdf.open(xpath(work, "texlive-lang-arabic", rel))
    nums = [ln.strip() for ln in d[91].get_text().splitlines() if ln.strip().isdigit()]
    recs.append(dict(id="junk/texlive-arabi/user_guide-p92-numbers", lang="zxx", text=" ".join(nums) + "\n",
                     origin=origin("texlive-lang-arabic", rel) + " page 92, digit-only lines",
                     license="LPPL (arabi)"))
    return recs


def build_bad(work: Path) -> list[tuple[str, bytes]]:
    """Deliberately malformed lines for bad_input.jsonl (raw bytes per line)."""
    lines = []
    de = next(c for c in read_fortunes(xpath(work, "fortunes-de", "usr/share/games/fortunes/de/sprichworte"))
              if re.search("[äöüß]", c) and len(c) < 120)
    base = {"origin": origin("fortunes-de", "usr/share/games/fortunes/de/sprichworte"), "license": "GPL-2.0-or-later"}
    # 1. invalid UTF-8: the text is Latin-1 bytes inside an otherwise valid JSON line
    line = json.dumps({"id": "bad/invalid-utf8", "text": "@@TEXT@@", **base}, ensure_ascii=True)
    lines.append(("invalid-utf8", line.encode().replace(b"@@TEXT@@", de.replace("\n", " ").encode("latin-1"))))
    # 2. not JSON: a real record cut off mid-string
    full = json.dumps({"id": "bad/truncated-json", "text": de, **base}, ensure_ascii=False)
    lines.append(("truncated-json", full[: len(full) // 2].encode()))
    # 3. empty text
    lines.append(("empty-text", json.dumps({"id": "bad/empty-text", "text": "", **base}).encode()))
    # 4. binary junk: the first 400 bytes of a compiled .mo catalogue decoded as Latin-1
    whl = next((work / "pypi").glob("django-5.2.19-*.whl"))
    with zipfile.ZipFile(whl) as z:
        mo = z.read("django/contrib/admin/locale/de/LC_MESSAGES/django.mo")[:400]
    lines.append(("binary-text", json.dumps({"id": "bad/binary-text", "text": mo.decode("latin-1"),
                                              "origin": "pypi:django==5.2.19 django/contrib/admin/locale/de/"
                                                        "LC_MESSAGES/django.mo (first 400 bytes, latin-1)",
                                              "license": "BSD-3-Clause (Django)"}).encode()))
    # 5. no "text" key (the text sits under another key)
    lines.append(("missing-text", json.dumps({"id": "bad/missing-text", "body": de, **base},
                                             ensure_ascii=False).encode()))
    # 6. text is not a string
    lines.append(("null-text", json.dumps({"id": "bad/null-text", "text": None, **base}).encode()))
    return lines


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------
def norm_ws(t: str) -> str:
    return " ".join(t.split())


def shingles(t: str, n: int = SHINGLE) -> set[str]:
    w = t.lower().split()
    return {" ".join(w[i:i + n]) for i in range(max(1, len(w) - n + 1))}


def verify_dups(recs: list[dict]):
    groups = collections.defaultdict(list)
    for r in recs:
        groups[hashlib.sha1(norm_ws(r["text"]).encode()).hexdigest()].append(r["id"])
    exact = sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))
    by_id = {r["id"]: r for r in recs}
    reps = {g[0]: shingles(by_id[g[0]]["text"]) for g in groups.values() if len(by_id[g[0]]["text"].split()) >= 50}
    near = []
    for a, b in itertools.combinations(sorted(reps), 2):
        A, B = reps[a], reps[b]
        if min(len(A), len(B)) / max(len(A), len(B)) < JACCARD_NEAR:
            continue  # Jaccard cannot reach the threshold
        j = len(A & B) / len(A | B)
        if j >= JACCARD_NEAR:
            near.append((round(j, 3), a, b))
    near.sort(key=lambda x: (-x[0], x[1], x[2]))
    return exact, near


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------
def write_jsonl(path: Path, recs: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


LICENSE_NOTES = {
    "debian-faq": "Copyright (C) 1996-2021 Software in the Public Interest. Verbatim and modified copies and "
                  "translations may be distributed provided the copyright notice and permission notice are preserved "
                  "(see debian/copyright of debian-faq*). The kept excerpts include the title page and page ii "
                  "with that notice.",
    "maint-guide-ja": "GPL-2.0-or-later (debian/copyright: Files: * -- Josip Rodin, Osamu Aoki, Craig Small, "
                      "Raphaël Hertzog; Japanese translation team). Page ii with the notice is kept.",
    "debian-reference-zh-cn": "GPL-2.0-or-later (debian/copyright: Files: * -- 2007-2013 Osamu Aoki; translators "
                              "licensed their work the same way).  Page ii with the notice is kept.",
    "lshort-persian": "TeX Live package lshort-persian (texlive-lang-arabic). TeX Live's Licenses file lists it as "
                      "'pd'; the package README (Mehdi Omidali) and the document's own copyright page (kept, page 2) "
                      "say GPL-2.0-or-later (original lshort (C) 1995-2011 Tobias Oetiker and contributors).",
    "arabi": "TeX Live package arabi (texlive-lang-arabic), LPPL ('arabi: lppl' in "
             "/usr/share/doc/texlive-lang-arabic/Licenses.gz; README: (c) Youssef Jabri, 'author maintained LPPL').",
}


def pdf_license(spec: dict) -> str:
    if spec["pkg"].startswith("debian-faq"):
        return LICENSE_NOTES["debian-faq"]
    if spec["pkg"] in LICENSE_NOTES:
        return LICENSE_NOTES[spec["pkg"]]
    return LICENSE_NOTES["lshort-persian" if "lshort" in spec["path"] else "arabi"]


def pages_str(pages) -> str:
    if pages is None:
        return "all"
    out, run = [], [pages[0]]
    for p in pages[1:]:
        if p == run[-1] + 1:
            run.append(p)
        else:
            out.append(run)
            run = [p]
    out.append(run)
    return ", ".join(f"{r[0] + 1}" if len(r) == 1 else f"{r[0] + 1}-{r[-1] + 1}" for r in out)


def write_licenses_md(pdf_rows, files: dict[str, list[dict]]) -> None:
    L = ["# Licences and provenance of data/sample/", "",
         "Everything here was written by others and taken from pinned packages (Debian bookworm archive, PyPI, npm);",
         "`build_sample.py` re-downloads and rebuilds it.  Per-record provenance is also in each JSONL record",
         "(`origin`, `license`).  Page numbers below are 1-based pages of the *original* document.", "",
         "## PDFs (`pdf/`)", "",
         "| file | package (version) | path in package | pages kept | licence |", "|---|---|---|---|---|"]
    for r in pdf_rows:
        L.append(f"| `{r['out']}` | {r['pkg']} ({DEBS[r['pkg']]}) | `/{r['path']}` | {pages_str(r['keep'])} | "
                 f"{pdf_license(r)} |")
    L.append(f"| `{ENCRYPTED['out']}` | debian-faq ({DEBS['debian-faq']}) | `/usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz` "
             f"| {pages_str(ENCRYPTED['keep'])} (re-saved with AES-256 encryption) | {LICENSE_NOTES['debian-faq']} |")
    L.append(f"| `{BROKEN['out']}` | debian-faq-fr ({DEBS['debian-faq-fr']}) | derived from `pdf/debian-faq-fr.pdf` | first "
             f"40% of the bytes, deliberately corrupted | {LICENSE_NOTES['debian-faq']} |")
    L += ["", "## Text (`text/`)", "",
          "### manpages.jsonl", "",
          "Rendered with `man --nj --nh -E UTF-8 -l FILE | col -bx` (MANWIDTH=80). Licence per record in `license`:", "",
          "* GNU coreutils pages (ls, cp, mv, rm, mkdir, chmod, df, date, sort, du): original GPL-3.0-or-later "
          "(help2man output of GNU coreutils; the COPYRIGHT section of each page says so).",
          "* Linux man-pages pages (intro.1, hier.7, locale.7, charsets.7, utf-8.7, unicode.7, ...): the "
          "`SPDX-License-Identifier` of the English source in Debian `manpages` 6.03-2 (GPL-2.0-or-later or "
          "Linux-man-pages-copyleft).",
          "* Translations: manpages-l10n 4.18.1 (cs, de, es, fr, it, nl, pl, pt-BR, ru, uk, vi): GPL-3.0-or-later "
          "(debian/copyright of manpages-de etc., every `Files:` stanza). manpages-ja (JM Project): 'you can use them "
          "under the same license as the original man pages' (debian/copyright). manpages-zh 1.6.4.0: GFDL-1.2-or-later "
          "(`Files: *`). manpages-tr 2.0.6: original licences kept, translations under GNU GPL (version not stated).",
          "", "| package | version |", "|---|---|"]
    for lang, (pkg, _) in MAN_LANGS.items():
        L.append(f"| {pkg} | {DEBS[pkg]} |")
    L += ["", "### licenses.jsonl", "",
          "* `copyright/<pkg>`: the Debian `debian/copyright` file installed as `/usr/share/doc/<pkg>/copyright` "
          "(package version in `origin`). These are package metadata that Debian ships with every package; they quote "
          "licence texts verbatim.  The record's `license` names the package's licence as declared in the file.",
          "* `spdx/<id>`: `licenseText` from npm `spdx-license-list` 6.12.0 (`spdx-full.json`). The list itself is "
          "CC0-1.0 (package.json / license file, Sindre Sorhus); each licence text is under its own terms "
          "(e.g. the GNU licences: 'Everyone is permitted to copy and distribute verbatim copies of this license "
          "document, but changing it is not allowed'; CC licence texts: Creative Commons' own terms).", "",
          "### short.jsonl", "",
          "| records | source | licence |", "|---|---|---|"]
    for pkg, rel_f, lang, lic in FORTUNES:
        L.append(f"| `{pkg}/{rel_f}#N` | {pkg} {DEBS[pkg]} `/usr/share/games/fortunes/{rel_f}` | {lic} |")
    L += [f"| `django-po/<lc>/admin` | PyPI django 5.2.19 `django/contrib/admin/locale/<lc>/LC_MESSAGES/django.po` "
          f"| BSD-3-Clause (Django; .po headers: 'distributed under the same license as the Django package') |",
          f"| `junk/fortunes-it/banner` | fortunes-it {DEBS['fortunes-it']} `/usr/share/games/fortunes/it/banner` | "
          "public domain (fortune-it COPYING-POLICY) |",
          f"| `junk/manpages/ascii.7-table` | manpages {DEBS['manpages']} `/usr/share/man/man7/ascii.7.gz` | GPL-2.0-or-later |",
          f"| `junk/texlive-arabi/user_guide-p92-numbers` | texlive-lang-arabic {DEBS['texlive-lang-arabic']} "
          f"`/{TEXDOC}/latex/arabi/user_guide.pdf` | LPPL (arabi) |",
          "", "### bad_input.jsonl", "",
          "Built from the fortunes-de 0.35-1 `de/sprichworte` file (GPL-2.0-or-later) and the first 400 bytes of "
          "Django 5.2.19's `contrib/admin/locale/de/LC_MESSAGES/django.mo` (BSD-3-Clause); see EXPECTED.md.", ""]
    L += CODE_LICENSES_MD[1:] + [""]
    (OUT / "LICENSES.md").write_text("\n".join(L), encoding="utf-8")


def write_expected_md(pdf_rows, files, exact, near, bad) -> None:
    allrecs = [r for recs in files.values() for r in recs]
    longest = max(allrecs, key=lambda r: len(r["text"]))
    L = ["# What the sample contains (verified by build_sample.py)", "",
         "## PDFs (`pdf/`)", "",
         "| file | script / lang | pages | text chars (PyMuPDF get_text) | image-only pages | blank pages | role |",
         "|---|---|---|---|---|---|---|"]
    for r in pdf_rows:
        L.append(f"| `{r['out']}` | {r['script']} / {r['lang']} | {r['page_count']} | {r['chars']} | "
                 f"{', '.join(map(str, r['image_only'])) or '-'} | {', '.join(map(str, r['blank'])) or '-'} | {r['role']} |")
    io_rows = [r for r in pdf_rows if r["image_only"]]
    L += ["", f"* Longest PDF: `{max(pdf_rows, key=lambda r: r['chars'])['out']}` "
          f"({max(r['chars'] for r in pdf_rows)} chars).",
          *[f"* Image-only page: `{r['out']}` page {r['image_only'][0]} (1-based; original "
            f"`{Path(r['path']).name}` page {r['keep'][r['image_only'][0] - 1] + 1}): "
            "no text layer, one DCT (JPEG) image." for r in io_rows],
          f"* `encrypted.pdf`: pages {pages_str(ENCRYPTED['keep'])} of debian-faq-en, AES-256; "
          f"`needs_pass` is True; user password `{ENCRYPTED['user_pw']}`, owner password `{ENCRYPTED['owner_pw']}` "
          f"({len(ENCRYPTED['keep'])} pages after authenticate).",
          f"* `broken.pdf` (exactly one corrupt PDF): first 40% of `debian-faq-fr.pdf`, every `N G obj` header "
          f"defaced to `N G ob#`, bogus xref/trailer appended. `pymupdf.open()` raises `{BROKEN['error']}`.", "",
          "## Text documents (`text/`)", "",
          "| file | documents | characters |", "|---|---|---|"]
    for name, recs in files.items():
        L.append(f"| `{name}` | {len(recs)} | {sum(len(r['text']) for r in recs)} |")
    L.append(f"| `bad_input.jsonl` | {len(bad)} lines (deliberately bad) | - |")
    L += ["", f"Total: {len(allrecs)} good documents, {sum(len(r['text']) for r in allrecs)} characters; "
          f"longest: `{longest['id']}` ({len(longest['text'])} chars).", "",
          "Documents per language (`lang`; zxx = no linguistic content):", ""]
    by_lang = collections.Counter(r["lang"] for r in allrecs)
    man_lang = collections.Counter(r["lang"] for r in files["manpages.jsonl"])
    L += ["| lang | all text docs | of which man pages |", "|---|---|---|"]
    for lang, n in sorted(by_lang.items(), key=lambda x: (-x[1], x[0])):
        L.append(f"| {lang} | {n} | {man_lang.get(lang, 0)} |")
    L += ["", *CODE_EXPECTED_MD]
    L += ["", "## Exact duplicates", "",
          "Identical text after whitespace normalisation (`' '.join(text.split())`), across all good JSONL files:", ""]
    for g in exact:
        L.append(f"* {len(g)} copies: " + ", ".join(f"`{i}`" for i in g))
    L += ["", f"{len(exact)} groups, {sum(len(g) - 1 for g in exact)} redundant copies.", "",
          "## Near duplicates", "",
          f"Pairs with Jaccard >= {JACCARD_NEAR} over lower-cased word {SHINGLE}-gram shingles that are not exact "
          "duplicates (one representative per exact group; documents of >= 50 words):", "",
          "| Jaccard | a | b |", "|---|---|---|"]
    for j, a, b in near:
        L.append(f"| {j:.3f} | `{a}` | `{b}` |")
    L += ["", f"{len(near)} pairs.", "",
          "## Short / junk documents that quality filters should reject (`short.jsonl`)", "",
          "* `fortunes-*/...#N`: one-line fortune cookies (10-80 characters).",
          "* `django-po/<lc>/admin`: Django admin UI strings (msgstr) joined one per line: no prose, "
          "format placeholders like `%(name)s`.",
          "* `junk/fortunes-it/banner`: ASCII-art banner (mostly `/ _ |` characters).",
          "* `junk/manpages/ascii.7-table`: rows of the ascii(7) table -- numbers and symbols only.",
          "* `junk/texlive-arabi/user_guide-p92-numbers`: a single line of day numbers from a calendar page.", "",
          "## `bad_input.jsonl` (one problem per line, in file order)", "",
          "| line | id | what is wrong |", "|---|---|---|"]
    why = {
        "invalid-utf8": "valid JSON syntax but the `text` value contains raw Latin-1 bytes (ä/ö/ü/ß as single "
                        "bytes 0xE4/0xF6/0xFC/0xDF): the line is not valid UTF-8",
        "truncated-json": "not valid JSON: a real record cut off in the middle of the text string (no closing quote/brace)",
        "empty-text": "`text` is the empty string",
        "binary-text": "`text` is binary junk: the first 400 bytes of a compiled gettext .mo file decoded as "
                       "Latin-1 (NUL and other control characters, escaped as \\u0000 etc. in the JSON)",
        "missing-text": "no `text` key (the content is under `body`)",
        "null-text": "`text` is JSON null, not a string",
    }
    for n, (kind, _) in enumerate(bad, 1):
        L.append(f"| {n} | `bad/{kind}` | {why[kind]} |")
    L.append("")
    (OUT / "EXPECTED.md").write_text("\n".join(L), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("work", type=Path, help="work dir for downloads (e.g. /tmp/sample_work)")
    ap.add_argument("--no-download", action="store_true", help="use what is already in WORK")
    args = ap.parse_args()
    work = args.work.resolve()
    if not args.no_download:
        download(work)

    pdf_rows = build_pdfs(work)

    pins = json.loads((OUT / "copyright_pins.json").read_text()) if (OUT / "copyright_pins.json").exists() else {}
    if not pins:  # first build: pin what this machine has installed
        pins = {p: installed_version(p) for p in COPYRIGHT_LOCAL}
        (OUT / "copyright_pins.json").write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")

    files = {"manpages.jsonl": build_manpages(work), "licenses.jsonl": build_licenses(work, pins),
             "short.jsonl": build_short(work)}
    (OUT / "text").mkdir(exist_ok=True)
    ids = [r["id"] for recs in files.values() for r in recs]
    assert len(ids) == len(set(ids)), "ids must be unique"
    for name, recs in files.items():
        write_jsonl(OUT / "text" / name, recs)
    bad = build_bad(work)
    (OUT / "text" / "bad_input.jsonl").write_bytes(b"\n".join(line for _, line in bad) + b"\n")

    exact, near = verify_dups([r for recs in files.values() for r in recs])
    assert len(exact) >= 3 and len(near) >= 5, (len(exact), len(near))
    write_expected_md(pdf_rows, files, exact, near, bad)
    build_code(work)
    write_licenses_md(pdf_rows, files)
    print(f"{len(ids)} text docs, {len(exact)} exact groups, {len(near)} near pairs", file=sys.stderr)


if __name__ == "__main__":
    main()
