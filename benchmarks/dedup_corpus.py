"""Real near-duplicate corpora for the dedup benchmarks (written by others; read from this machine or the dev cache).

* ``copyright``: every readable ``/usr/share/doc/*/copyright`` of this Debian machine (binary packages of one source
  ship identical notices; licences recur with other holders and years);
* ``spdx``: the 728 licence texts of npm ``spdx-license-list@6.12.0`` (-only/-or-later variants, licence versions);
* ``go``: Go 1.19 source files from Debian ``golang-1.19-src`` (all of ``syscall``, ``x/sys/unix`` and ``runtime``,
  whose per-architecture generated files are near copies, plus a seeded sample of the rest);
* ``perl``: the Perl modules of Debian ``perl-modules-5.36``.

Fetch the packages once (see benchmarks/README.md, "dedup"):

    cd $DEV/npm && npm pack spdx-license-list@6.12.0 && mkdir -p spdx-license-list-6.12.0 &&
        tar xzf spdx-license-list-6.12.0.tgz -C spdx-license-list-6.12.0
    mkdir -p $DEV/deb-src && cd $DEV/deb-src && apt-get download golang-1.19-src perl-modules-5.36 &&
        dpkg -x golang-1.19-src_*.deb golang && dpkg -x perl-modules-5.36_*.deb perl

with ``DEV=${CURATION_CORPORA:-~/.cache/curation-factory/corpora}/dev``. A missing set is skipped with a note.
"""

from __future__ import annotations

import glob
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from curation.records import new_document  # noqa: E402
from curation.text.normalize import content_hash, normalize_text  # noqa: E402

DEV = Path(os.environ.get("CURATION_CORPORA", Path.home() / ".cache/curation-factory/corpora")) / "dev"
SPDX = DEV / "npm/spdx-license-list-6.12.0/package/licenses"
GO = DEV / "deb-src/golang/usr/share/go-1.19/src"
PERL = DEV / "deb-src/perl/usr/share/perl/5.36.0"
GO_NEAR_DUP_DIRS = ("syscall", "cmd/vendor/golang.org/x/sys/unix", "runtime")
MAX_FILE_BYTES = 200_000


def _read(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if len(raw) > MAX_FILE_BYTES or b"\x00" in raw:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _doc(source: str, key: str, text: str, locator: str, script: str = "Latn") -> dict:
    doc = new_document(f"{source}/{key}", normalize_text(text), source, locator)
    doc.update(
        {"lang": "eng_Latn", "script": script, "content_hash": content_hash(doc["text"]), "n_chars": len(doc["text"])}
    )
    return doc


def copyright_docs() -> list[dict]:
    docs = []
    for path in sorted(glob.glob("/usr/share/doc/*/copyright")):
        text = _read(Path(path))
        if text and text.strip():
            docs.append(_doc("copyright", Path(path).parent.name, text, path))
    return docs


def spdx_docs() -> list[dict]:
    docs = []
    for path in sorted(SPDX.glob("*.json")):
        text = json.loads(path.read_text(encoding="utf-8")).get("licenseText") or ""
        if text.strip():
            docs.append(_doc("spdx", path.stem, text, f"spdx-license-list@6.12.0/licenses/{path.name}"))
    return docs


def go_docs(sample: int = 1000, seed: int = 0) -> list[dict]:
    files = sorted(p for p in GO.rglob("*.go") if p.is_file())
    near = [p for p in files if str(p.parent.relative_to(GO)) in GO_NEAR_DUP_DIRS]
    rest = [p for p in files if str(p.parent.relative_to(GO)) not in GO_NEAR_DUP_DIRS]
    chosen = near + random.Random(seed).sample(rest, min(sample, len(rest)))
    docs = []
    for path in sorted(chosen):
        text = _read(path)
        if text and text.strip():
            rel = str(path.relative_to(GO))
            docs.append(_doc("go", rel, text, f"golang-1.19-src:{rel}"))
    return docs


def perl_docs() -> list[dict]:
    docs = []
    for path in sorted(p for p in PERL.rglob("*.pm") if p.is_file()):
        text = _read(path)
        if text and text.strip():
            rel = str(path.relative_to(PERL))
            docs.append(_doc("perl", rel, text, f"perl-modules-5.36:{rel}"))
    return docs


def quality_corpus(go_sample: int = 1000) -> tuple[list[dict], list[str]]:
    """All sets that are present; notes name the missing ones."""
    docs, notes = [], []
    for name, load, present in (
        ("copyright", copyright_docs, True),
        ("spdx", spdx_docs, SPDX.is_dir()),
        ("go", lambda: go_docs(go_sample), GO.is_dir()),
        ("perl", perl_docs, PERL.is_dir()),
    ):
        if not present:
            notes.append(f"{name}: not found under {DEV} (see the module doc to fetch it)")
            continue
        docs.extend(load())
    return docs, notes


def chunked(docs: list[dict], size: int = 2000) -> list[dict]:
    """Cut documents at line boundaries into ~``size``-character documents (the issue's ~2 KB documents)."""
    out = []
    for doc in docs:
        lines = doc["text"].splitlines(keepends=True)
        part, parts = [], []
        length = 0
        for line in lines:
            part.append(line)
            length += len(line)
            if length >= size:
                parts.append("".join(part))
                part, length = [], 0
        if part:
            parts.append("".join(part))
        for i, text in enumerate(parts):
            if text.strip():
                chunk = _doc(doc["source"], f"{doc['id'].split('/', 1)[1]}#{i}", text, f"{doc['locator']}#{i}")
                out.append(chunk)
    return out
