"""Real multilingual documents from the dev corpora, for the filter benchmark and the threshold calibration.

Sources (fetched by ``../shared/corpora/fetch-dev.sh`` and the PDF benchmark into ``~/.cache/curation-factory``):

* ``debian-docs``: the w3m-rendered .txt of debian-faq, debian-reference, debmake-doc and maint-guide (16 language
  variants), cut at paragraph breaks into documents of about ``DOC_CHARS`` characters (a whole manual is one
  document of 0.2-1 MB, far longer than a web page);
* ``manpages``: Debian manpages-* (English and 24 translations), rendered with ``groff -Tutf8 -mandoc`` (never
  ``man``: it can hang on CJK pages without a tty), overstrikes removed with ``col -bx``; rendered pages are cached
  under ``~/.cache/curation-factory/corpora/rendered-manpages``;
* ``fortunes``: one document per fortune cookie (short texts: filters are expected to drop most of them);
* ``django-po``: each Django 5.2.19 .po catalogue's translations, one msgstr per line (UI strings: a list, not
  prose).

Every document carries the language of its source (directory or file name) as ``xxx_Scrp``, which is ground truth
for per-language tables; texts are NFC-normalised with ``curation.text.normalize_text`` as the pipeline does before
language ID. ``load_corpus(megabytes)`` takes documents round-robin over (source, language) groups, each group in
a fixed shuffled order, so a small budget still covers every language.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import subprocess
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from curation.text.normalize import normalize_text

CORPORA = Path(os.environ.get("FACTORY_CORPORA_DIR", Path.home() / ".cache" / "curation-factory" / "corpora"))
DEV = CORPORA / "dev"
DEBIAN_DOCS = CORPORA / "debian-docs" / "x"
RENDERED = CORPORA / "rendered-manpages"
DJANGO_WHEEL = "pypi/django-5.2.19-py3-none-any.whl"
DOC_CHARS = 8000
SOURCES = ("debian-docs", "manpages", "fortunes", "django-po")

# Locale / directory names of the sources -> ISO 639-3 + ISO 15924 (FLORES-200 style).
LOCALE_TAGS: dict[str, str] = {
    "af": "afr_Latn", "am": "amh_Ethi", "ar": "arb_Arab", "ar_DZ": "arq_Arab", "ast": "ast_Latn", "az": "azj_Latn",
    "be": "bel_Cyrl", "bg": "bul_Cyrl", "bn": "ben_Beng", "br": "bre_Latn", "bs": "bos_Latn", "ca": "cat_Latn",
    "ckb": "ckb_Arab", "cs": "ces_Latn", "cy": "cym_Latn", "da": "dan_Latn", "de": "deu_Latn", "dsb": "dsb_Latn",
    "el": "ell_Grek", "en": "eng_Latn", "en_AU": "eng_Latn", "en_GB": "eng_Latn", "eo": "epo_Latn",
    "es": "spa_Latn", "es_AR": "spa_Latn", "es_CO": "spa_Latn", "es_MX": "spa_Latn", "es_VE": "spa_Latn",
    "et": "est_Latn", "eu": "eus_Latn", "fa": "pes_Arab", "fi": "fin_Latn", "fr": "fra_Latn", "fy": "fry_Latn",
    "ga": "gle_Latn", "gd": "gla_Latn", "gl": "glg_Latn", "he": "heb_Hebr", "hi": "hin_Deva", "hr": "hrv_Latn",
    "hsb": "hsb_Latn", "hu": "hun_Latn", "hy": "hye_Armn", "ia": "ina_Latn", "id": "ind_Latn", "ig": "ibo_Latn",
    "io": "ido_Latn", "is": "isl_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "ka": "kat_Geor", "kab": "kab_Latn",
    "kk": "kaz_Cyrl", "km": "khm_Khmr", "kn": "kan_Knda", "ko": "kor_Hang", "ky": "kir_Cyrl", "lb": "ltz_Latn",
    "lt": "lit_Latn", "lv": "lvs_Latn", "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mn": "khk_Cyrl", "mr": "mar_Deva",
    "ms": "zsm_Latn", "my": "mya_Mymr", "nb": "nob_Latn", "ne": "npi_Deva", "nl": "nld_Latn", "nn": "nno_Latn",
    "os": "oss_Cyrl", "pa": "pan_Guru", "pl": "pol_Latn", "pt": "por_Latn", "pt_BR": "por_Latn",
    "pt-br": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "sk": "slk_Latn", "sl": "slv_Latn", "sq": "als_Latn",
    "sr": "srp_Cyrl", "sr_Latn": "srp_Latn", "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml",
    "te": "tel_Telu", "tg": "tgk_Cyrl", "th": "tha_Thai", "tk": "tuk_Latn", "tr": "tur_Latn", "tt": "tat_Cyrl",
    "udm": "udm_Cyrl", "ug": "uig_Arab", "uk": "ukr_Cyrl", "ur": "urd_Arab", "uz": "uzn_Latn", "vi": "vie_Latn",
    "zh_Hans": "zho_Hans", "zh_Hant": "zho_Hant", "zh_CN": "zho_Hans", "zh_TW": "zho_Hant", "zh-cn": "zho_Hans",
    "zh-tw": "zho_Hant",
}  # fmt: skip

# fortunes-* package -> language of its cookies (files that are not UTF-8 are legacy twins and skipped)
FORTUNE_PACKAGES: dict[str, str] = {
    "fortunes": "eng_Latn", "fortunes-bg": "bul_Cyrl", "fortunes-br": "por_Latn", "fortunes-cs": "ces_Latn",
    "fortunes-de": "deu_Latn", "fortunes-eo": "epo_Latn", "fortunes-es": "spa_Latn", "fortunes-es-off": "spa_Latn",
    "fortunes-ga": "gle_Latn", "fortunes-it": "ita_Latn", "fortunes-it-off": "ita_Latn", "fortunes-pl": "pol_Latn",
    "fortunes-ru": "rus_Cyrl", "fortunes-zh": "zho_Hans",
}  # fmt: skip
_FORTUNE_DIR_LANG = {"sk": "slk_Latn"}  # fortunes-cs ships Slovak cookies too
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colour escapes in fortunes-zh
_FORTUNE_SKIP = {"banner", "ascii-art"}  # ASCII-art collections, not text in any language


@dataclass(frozen=True)
class CorpusDoc:
    id: str
    source: str  # one of SOURCES
    lang: str  # the source's language, xxx_Scrp
    text: str  # normalised

    @property
    def n_bytes(self) -> int:
        return len(self.text.encode("utf-8"))


def split_paragraphs(text: str, target: int = DOC_CHARS) -> list[str]:
    """Consecutive paragraphs joined into chunks of about ``target`` characters (never cut inside a paragraph)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for para in text.split("\n\n"):
        current.append(para)
        size += len(para) + 2
        if size >= target:
            chunks.append("\n\n".join(current).strip())
            current, size = [], 0
    if current and "\n\n".join(current).strip():
        chunks.append("\n\n".join(current).strip())
    return chunks


def _real_files(root: Path, pattern: str) -> list[Path]:
    """Files under root matching pattern, each once (Debian doc trees hold symlinked directories)."""
    return sorted({p.resolve() for p in root.glob(pattern) if p.is_file()})


def debian_doc_groups() -> dict[str, list[Path]]:
    """lang -> the .txt.gz files of that language."""
    groups: dict[str, list[Path]] = {}
    for path in _real_files(DEBIAN_DOCS, "usr/share/**/*.txt.gz"):
        match = re.search(r"\.([a-z]{2}(?:-[a-z]{2})?)\.txt\.gz$", path.name)
        locale = match[1] if match else "en"
        if locale not in LOCALE_TAGS:
            continue
        groups.setdefault(LOCALE_TAGS[locale], []).append(path)
    return groups


def _debian_docs(path: Path, lang: str) -> Iterator[CorpusDoc]:
    text = normalize_text(gzip.decompress(path.read_bytes()).decode("utf-8", "replace"))
    for i, chunk in enumerate(split_paragraphs(text)):
        yield CorpusDoc(f"debian-docs/{path.name.removesuffix('.txt.gz')}#{i}", "debian-docs", lang, chunk)


def manpage_files() -> dict[str, list[Path]]:
    """lang -> gzipped roff sources of every manpages-* package (English from ``manpages``)."""
    out: dict[str, list[Path]] = {}
    for pkg in sorted((DEV / "x").glob("manpages*")):
        man = pkg / "usr/share/man"
        for path in _real_files(man, "**/*.gz"):
            first = path.relative_to(man.resolve()).parts[0]
            lang = "eng_Latn" if first.startswith("man") else LOCALE_TAGS.get(first)
            if lang:
                out.setdefault(lang, []).append(path)
    return out


def render_manpage(path: Path) -> str:
    """Plain text of a man page (cached): groff, then col -bx to drop overstrikes; '' when groff fails."""
    man_root = next(p for p in path.parents if p.name == "man")
    cached = RENDERED / man_root.parents[2].name / path.relative_to(man_root).with_suffix(".txt")
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    env = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    try:
        src = gzip.decompress(path.read_bytes())
        if src.startswith(b".so "):  # a link to another page: no text of its own
            text = ""
        else:
            cmd = ["groff", "-k", "-t", "-Tutf8", "-mandoc", "-rLL=80n", "-rHY=0", "-dAD=l", "-P-c"]
            groff = subprocess.run(cmd, input=src, env=env, capture_output=True, timeout=60, check=True)
            col = subprocess.run(["col", "-bx"], input=groff.stdout, env=env, capture_output=True, check=True)
            text = col.stdout.decode("utf-8", "replace")
    except (subprocess.SubprocessError, OSError, EOFError):
        text = ""
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, cached)
    return text


def _fortune_docs() -> dict[str, list[CorpusDoc]]:
    out: dict[str, list[CorpusDoc]] = {}
    for pkg, lang in FORTUNE_PACKAGES.items():
        root = DEV / "x" / pkg / "usr/share/games/fortunes"
        for path in _real_files(root, "**/*"):
            if path.suffix == ".dat" or path.name in _FORTUNE_SKIP:
                continue
            try:
                raw = _ANSI.sub("", path.read_bytes().decode("utf-8"))
            except UnicodeDecodeError:
                continue  # a legacy-encoded twin of a UTF-8 file (fortunes-cs ships cz/ in ISO-8859-2)
            file_lang = _FORTUNE_DIR_LANG.get(path.parent.name, lang)
            for i, cookie in enumerate(re.split(r"^%$", raw, flags=re.M)):
                text = normalize_text(cookie)
                if text:
                    doc_id = f"fortunes/{pkg}/{path.name}#{i}"
                    out.setdefault(file_lang, []).append(CorpusDoc(doc_id, "fortunes", file_lang, text))
    return out


_PO_LINE = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)?\s*"((?:[^"\\]|\\.)*)"\s*$')
_PO_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: _PO_ESCAPES.get(m[1], m[1]), value)


def po_pairs(po: str) -> list[tuple[str, list[str]]]:
    """(msgid, [msgstr, msgstr[1], ...]) of every translated entry of a .po file; header and fuzzy-empty excluded."""
    pairs: list[tuple[str, list[str]]] = []
    fields: dict[str, str] = {}
    key = ""

    def flush() -> None:
        strings = [_unescape(v) for k, v in sorted(fields.items()) if k.startswith("msgstr") and v]
        msgid = _unescape(fields.get("msgid", ""))
        if msgid and strings:
            pairs.append((msgid, strings))
        fields.clear()

    for line in po.splitlines():
        match = _PO_LINE.match(line)
        if not match:
            if not line.strip() and fields:
                flush()
            continue
        if match[1]:
            key = match[1]
            if key in ("msgctxt", "msgid") and "msgstr" in "".join(fields):
                flush()
        fields[key] = fields.get(key, "") + match[2]
    if fields:
        flush()
    return pairs


def po_strings(po: str) -> list[str]:
    """Non-empty translations (msgstr, plural forms included) of a .po file, one string each, header excluded."""
    return [value.strip() for _, values in po_pairs(po) for value in values if value.strip()]


def _django_docs() -> dict[str, list[CorpusDoc]]:
    out: dict[str, list[CorpusDoc]] = {}
    wheel = DEV / DJANGO_WHEEL
    if not wheel.is_file():
        return out
    with zipfile.ZipFile(wheel) as zf:
        for name in sorted(n for n in zf.namelist() if n.endswith(".po")):
            locale = name.split("/locale/")[1].split("/")[0]
            lang = LOCALE_TAGS.get(locale)
            strings = po_strings(zf.read(name).decode("utf-8", "replace"))
            if lang and strings:
                text = normalize_text("\n".join(strings))
                app = name.split("/locale/")[0].removeprefix("django/")
                out.setdefault(lang, []).append(CorpusDoc(f"django-po/{locale}/{app}", "django-po", lang, text))
    return out


def _round_robin(groups: dict[tuple[str, str], list], budget: float | None) -> list:
    """Items taken one per group in turn (groups in sorted order) until ``budget`` estimated bytes."""
    queues = {key: list(items) for key, items in sorted(groups.items()) if items}
    taken: list = []
    total = 0.0
    while queues and (budget is None or total < budget):
        for key in list(queues):
            item = queues[key].pop(0)
            taken.append((key, item))
            total += item[1]
            if not queues[key]:
                del queues[key]
            if budget is not None and total >= budget:
                break
    return taken


def load_corpus(
    megabytes: float | None = 50.0, sources: tuple[str, ...] = SOURCES, seed: int = 0, workers: int = 2
) -> list[CorpusDoc]:
    """About ``megabytes`` MB (UTF-8) of documents, all (source, language) groups interleaved; None = everything."""
    rng = random.Random(seed)
    groups: dict[tuple[str, str], list[tuple[object, float]]] = {}
    if "debian-docs" in sources:
        for lang, paths in debian_doc_groups().items():
            docs = [d for p in paths for d in _debian_docs(p, lang)]
            rng.shuffle(docs)
            groups[("debian-docs", lang)] = [(d, d.n_bytes) for d in docs]
    if "manpages" in sources:
        for lang, paths in manpage_files().items():
            paths = list(paths)
            rng.shuffle(paths)
            # Rendered text is ~1.7x the gzipped roff overall, more on the pages taken first; exact once rendered.
            groups[("manpages", lang)] = [(p, 2.2 * p.stat().st_size) for p in paths]
    for name, load in (("fortunes", _fortune_docs), ("django-po", _django_docs)):
        if name in sources:
            for lang, docs in load().items():
                rng.shuffle(docs)
                groups[(name, lang)] = [(d, d.n_bytes) for d in docs]
    budget = None if megabytes is None else megabytes * 1e6
    taken = _round_robin(groups, budget)
    pages = [item for (source, _), (item, _) in taken if source == "manpages"]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # groff runs in child processes
        rendered = dict(zip(pages, pool.map(render_manpage, pages), strict=True))
    docs: list[CorpusDoc] = []
    for (source, lang), (item, _) in taken:
        if source != "manpages":
            docs.append(item)
            continue
        text = normalize_text(rendered[item])
        if text:
            page = item.name.removesuffix(".gz")
            docs.append(CorpusDoc(f"manpages/{lang}/{item.parent.name}/{page}", "manpages", lang, text))
    return docs
