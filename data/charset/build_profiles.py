"""Build ``curation/text/charset_profiles.tsv``: per-language counts of the non-ASCII characters of real text.

The charset detector (``curation.text.charset``) scores each candidate decoding of non-UTF-8 bytes by how likely its
non-ASCII characters are in some language; these counts are that model. Source: the Django 5.2.19 wheel (PyPI,
BSD-3-Clause) translation catalogues, ``msgstr`` strings of every ``django.po`` except ``contrib/admin`` (kept out
so the admin catalogues stay usable as held-out test text), NFC. Regional variants are merged into their language
(``es_AR`` → ``es``); locales with fewer than 40 non-ASCII characters (English, Malay ...) carry no profile: their
text is scored by the pooled distribution of all profiles.

    python data/charset/build_profiles.py [--wheel PATH]

The wheel is fetched once by ``pip download django==5.2.19 --no-deps`` into the dev-corpora cache when missing.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "curation" / "charset_profiles.tsv"
CACHE = Path.home() / ".cache/curation-factory/corpora/dev/pypi"
MERGE = {"es_AR": "es", "es_CO": "es", "es_MX": "es", "es_VE": "es", "en_AU": "en", "en_GB": "en", "ar_DZ": "ar"}
DROP = {"io"}  # the Ido catalogue holds stray Cyrillic/Arabic strings, not Ido
MIN_CHARS = 40
_MSGSTR = re.compile(r'^msgstr(?:\[\d\])? "(.*)"$')


def msgstrs(po: str) -> list[str]:
    out, cur = [], None
    for line in po.splitlines():
        m = _MSGSTR.match(line)
        if m:
            cur = [m.group(1)]
        elif cur is not None and line.startswith('"'):
            cur.append(line[1:-1])
        else:
            if cur and "".join(cur):
                out.append("".join(cur))
            cur = None
    if cur and "".join(cur):
        out.append("".join(cur))
    return out[1:]  # the first msgstr is the catalogue header


def wheel_path(given: str | None) -> Path:
    if given:
        return Path(given)
    found = sorted(CACHE.glob("django-5.2.19-*.whl"))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "django==5.2.19", "--no-deps", "-d", str(CACHE)], check=True
        )
        found = sorted(CACHE.glob("django-5.2.19-*.whl"))
    return found[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel")
    args = parser.parse_args()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    with zipfile.ZipFile(wheel_path(args.wheel)) as wheel:
        for name in sorted(wheel.namelist()):
            if not name.endswith("/django.po") or "/contrib/admin/" in name:
                continue
            locale = name.split("/locale/")[1].split("/")[0]
            lang = MERGE.get(locale, locale)
            if lang in DROP:
                continue
            text = unicodedata.normalize("NFC", "\n".join(msgstrs(wheel.read(name).decode("utf-8"))))
            counts[lang].update(ch for ch in text if ord(ch) > 0x7F)
    lines = [
        "# lang\tcount of each non-ASCII character (hex code point:count); built by data/charset/build_profiles.py"
    ]
    for lang in sorted(counts):
        if sum(counts[lang].values()) < MIN_CHARS:
            continue
        cells = " ".join(f"{ord(ch):x}:{n}" for ch, n in sorted(counts[lang].items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"{lang}\t{cells}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(lines) - 1} languages, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
