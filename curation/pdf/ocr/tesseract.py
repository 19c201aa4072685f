"""Tesseract OCR (the ``tesseract`` command; its language data is found the way PyMuPDF finds it).

Languages come from the page's declared language, the script of the PDF's own text layer, or detection
(:mod:`curation.pdf.ocr.script_detect`), mapped to Tesseract packs; only installed packs are used: asking for a
missing pack fails the page, and asking for every pack at once is slow and worse (Tesseract then hesitates
between scripts on every word).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Collection
from functools import lru_cache

import pymupdf

from curation.pdf.ocr.base import OcrBackend, OcrResult, PageImage, parse_language
from curation.pdf.ocr.script_detect import OcrDecision, PageRead, ScriptDetector
from curation.pdf.ocr.tesseract_cli import tesseract_binary
from curation.text import languages

# ISO 639-1 codes and ISO 639-3 macrolanguage members / bibliographic codes whose Tesseract pack has another name.
_LANG_ALIASES = {
    "en": "eng", "ru": "rus", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por", "nl": "nld",
    "pl": "pol", "cs": "ces", "sk": "slk", "uk": "ukr", "be": "bel", "bg": "bul", "sr": "srp", "hr": "hrv",
    "sl": "slv", "ro": "ron", "hu": "hun", "fi": "fin", "et": "est", "lv": "lav", "lt": "lit", "sv": "swe",
    "da": "dan", "no": "nor", "nb": "nor", "is": "isl", "el": "ell", "tr": "tur", "ar": "ara", "fa": "fas",
    "ur": "urd", "he": "heb", "yi": "yid", "hi": "hin", "mr": "mar", "ne": "nep", "sa": "san", "bn": "ben",
    "pa": "pan", "gu": "guj", "ta": "tam", "te": "tel", "kn": "kan", "ml": "mal", "si": "sin", "th": "tha",
    "lo": "lao", "km": "khm", "my": "mya", "bo": "bod", "ka": "kat", "hy": "hye", "am": "amh", "ti": "tir",
    "ja": "jpn", "ko": "kor", "vi": "vie", "id": "ind", "ms": "msa", "tl": "fil", "mn": "mon", "kk": "kaz",
    "ky": "kir", "uz": "uzb", "az": "aze", "tg": "tgk", "ps": "pus", "sq": "sqi", "mk": "mkd", "eu": "eus",
    "ca": "cat", "gl": "glg", "cy": "cym", "ga": "gle", "la": "lat", "eo": "epo", "sw": "swa", "zh": "chi_sim",
    "per": "fas", "pes": "fas", "prs": "fas", "arb": "ara", "gre": "ell", "ger": "deu", "fre": "fra",
    "cze": "ces", "slo": "slk", "rum": "ron", "dut": "nld", "chi": "chi_sim", "cmn": "chi_sim", "zho": "chi_sim",
    "yue": "chi_tra", "lzh": "chi_tra", "nob": "nor", "nno": "nor", "ekk": "est", "lvs": "lav", "zsm": "msa",
    "fil": "fil", "tgl": "fil", "khk": "mon", "uzn": "uzb", "azj": "aze", "npi": "nep", "swh": "swa", "als": "sqi",
    "arm": "hye", "geo": "kat", "alb": "sqi", "baq": "eus", "wel": "cym", "may": "msa", "bur": "mya", "tib": "bod",
}  # fmt: skip
# (pack, script) pairs where the script picks another pack of the same language.
_LANG_SCRIPT = {
    ("chi_sim", "Hant"): "chi_tra", ("srp", "Latn"): "srp_latn", ("aze", "Cyrl"): "aze_cyrl",
    ("uzb", "Cyrl"): "uzb_cyrl",
}  # fmt: skip
# ISO 15924 script → (most common language pack, Tesseract's script pack). The language pack comes first: the
# script packs are trained on many languages and lose on the common one.
_SCRIPT_PACKS = {
    "Latn": ("eng", "script/Latin"), "Cyrl": ("rus", "script/Cyrillic"), "Grek": ("ell", "script/Greek"),
    "Arab": ("ara", "script/Arabic"), "Hebr": ("heb", "script/Hebrew"), "Hans": ("chi_sim", "script/HanS"),
    "Hant": ("chi_tra", "script/HanT"), "Hani": ("chi_sim", "script/HanS"), "Jpan": ("jpn", "script/Japanese"),
    "Hira": ("jpn", "script/Japanese"), "Kana": ("jpn", "script/Japanese"), "Hang": ("kor", "script/Hangul"),
    "Kore": ("kor", "script/Hangul"), "Deva": ("hin", "script/Devanagari"), "Beng": ("ben", "script/Bengali"),
    "Guru": ("pan", "script/Gurmukhi"), "Gujr": ("guj", "script/Gujarati"), "Orya": ("ori", "script/Oriya"),
    "Taml": ("tam", "script/Tamil"), "Telu": ("tel", "script/Telugu"), "Knda": ("kan", "script/Kannada"),
    "Mlym": ("mal", "script/Malayalam"), "Sinh": ("sin", "script/Sinhala"), "Thai": ("tha", "script/Thai"),
    "Laoo": ("lao", "script/Lao"), "Khmr": ("khm", "script/Khmer"), "Mymr": ("mya", "script/Myanmar"),
    "Tibt": ("bod", "script/Tibetan"), "Geor": ("kat", "script/Georgian"), "Armn": ("hye", "script/Armenian"),
    "Ethi": ("amh", "script/Ethiopic"), "Syrc": ("syr", "script/Syriac"), "Thaa": ("div", "script/Thaana"),
    "Cher": ("chr", "script/Cherokee"),
}  # fmt: skip
_PACK_SCRIPT = {pack: script for script, (pack, _) in _SCRIPT_PACKS.items()} | {
    "fas": "Arab", "urd": "Arab", "pus": "Arab", "uig": "Arab", "yid": "Hebr", "mar": "Deva", "nep": "Deva",
    "san": "Deva", "bul": "Cyrl", "ukr": "Cyrl", "bel": "Cyrl", "mkd": "Cyrl", "srp": "Cyrl", "kaz": "Cyrl",
    "kir": "Cyrl", "mon": "Cyrl", "tgk": "Cyrl", "tir": "Ethi", "grc": "Grek",
} | {p: s for s, (_, pack) in _SCRIPT_PACKS.items() for p in (pack, pack.removeprefix("script/"))}  # fmt: skip
MAX_PACKS = 3  # each extra pack slows Tesseract down about linearly
DEFAULT_DPI = 300  # highest render resolution; benchmarks/pdf_ocr.py measured 150/200/300 (README: "OCR settings")
MIN_SCAN_DPI = 150  # a scan's own resolution is used down to this


def scan_dpi(page: pymupdf.Page) -> int | None:
    """Resolution of the image covering most of ``page`` (a scan), None when no image covers half of it."""
    best, area = None, 0.0
    page_area = abs(page.rect) or 1.0
    try:
        infos = page.get_image_info()
    except Exception:  # a damaged image list only costs the guess
        return None
    for info in infos:
        box = pymupdf.Rect(info["bbox"]) & page.rect
        if abs(box) > area and box.width > 0 and info.get("width"):
            best, area = round(info["width"] / (box.width / 72)), abs(box)
    return best if area >= 0.5 * page_area else None


def find_tessdata(tessdata: str | None = None) -> str | None:
    """The tessdata folder PyMuPDF would use (``TESSDATA_PREFIX`` or the system one), or None without Tesseract."""
    try:
        return pymupdf.get_tessdata(tessdata)
    except (RuntimeError, TypeError, ValueError):
        return None


@lru_cache(maxsize=8)
def tesseract_languages(tessdata: str | None = None, keep_osd: bool = False) -> frozenset[str]:
    """Installed language packs (``eng``, ``chi_sim``, ``script/Arabic`` ...); empty when Tesseract has none."""
    folder = find_tessdata(tessdata)
    packs: set[str] = set()
    if folder and os.path.isdir(folder):
        for sub in ("", "script"):
            path = os.path.join(folder, sub)
            if os.path.isdir(path):
                packs.update(
                    os.path.join(sub, f.removesuffix(".traineddata")) if sub else f.removesuffix(".traineddata")
                    for f in os.listdir(path)
                    if f.endswith(".traineddata")
                )
    elif shutil.which("tesseract"):
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
        packs.update(line.strip() for line in out.stdout.splitlines()[1:] if line.strip())
    if not keep_osd:
        packs.discard("osd")  # orientation and script detection, not a language
    return frozenset(packs)


def _lang_pack(lang: str, script: str | None) -> str:
    """The registry's pack for a corpus language (``pes`` + Arab → ``fas``), else by ISO code and alias."""
    rows = languages.by_iso639_3(lang)
    row = next((r for r in rows if r.script == script), rows[0] if rows else None)
    if row is not None and row.ocr_pack:
        return row.ocr_pack
    pack = _LANG_ALIASES.get(lang, lang)
    return _LANG_SCRIPT.get((pack, script or ""), pack)


def resolve_pack(pack: str, installed: Collection[str]) -> str | None:
    """The name Tesseract knows an installed pack by: script packs are ``script/Latin`` in the tessdata repos'
    layout and ``Latin`` in Debian's; None when it is not installed."""
    if pack in installed:
        return pack
    bare = pack.removeprefix("script/")
    return bare if bare != pack and bare in installed else None


def script_to_tesseract_langs(
    script: str | None, lang: str | None = None, installed: Collection[str] | None = None
) -> list[str]:
    """Installed Tesseract packs for an ISO 15924 ``script`` and/or ISO 639 ``lang``, best first.

    The language's own pack if installed, else the script's most common language pack, else Tesseract's script
    pack; plus ``eng`` for non-Latin scripts (technical documents in every script quote English). Empty when
    nothing fitting is installed: the caller decides whether English is better than nothing.
    """
    have = tesseract_languages() if installed is None else installed
    wanted: list[str] = []
    if lang:
        wanted.append(_lang_pack(lang.lower(), script))
    if script in _SCRIPT_PACKS:
        wanted.extend(_SCRIPT_PACKS[script])
    packs = [r for r in (resolve_pack(p, have) for p in wanted) if r][:1]
    if packs and _PACK_SCRIPT.get(packs[0], script or "Latn") != "Latn" and "eng" in have:
        packs.append("eng")
    return packs


def _gray(image: PageImage) -> PageImage:
    """Tesseract binarises gray input better than colour (a tilted line on a drawing: "best wishes" read in gray,
    "wl ss your Webs." in RGB), and a gray PNG is a third of the size."""
    pix = pymupdf.Pixmap(image.png)
    if pix.colorspace is not None and pix.colorspace.n == 1 and not pix.alpha:
        return image
    if pix.alpha:
        pix = pymupdf.Pixmap(pix, 0)
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pix)
    pix.set_dpi(image.dpi, image.dpi)
    return PageImage(image.number, pix.tobytes("png"), image.dpi)


class TesseractOcr(OcrBackend):
    """The ``tesseract`` command, one page at a time (one core per worker; scale out with workers, not threads).

    With declared languages (or fixed ``languages``) their packs read the page; otherwise the page's script and
    language are detected first (:mod:`curation.pdf.ocr.script_detect`), and the pages of one document reuse the
    previous page's packs while they read well.
    """

    name = "tesseract"
    gray = True  # the command reads gray images as well as RGB, at a third of the PNG size

    def __init__(
        self,
        dpi: int = DEFAULT_DPI,
        languages: str | list[str] | None = None,
        tessdata: str | None = None,
        psm: int = 3,
        timeout: float = 300.0,
    ):
        """``languages``: fixed Tesseract packs (``"eng+rus"`` or a list), or None to choose them per page from the
        hints or by detection. ``psm``: Tesseract's page segmentation mode (3, automatic, measured best on
        multi-column pages). Raises RuntimeError without the ``tesseract`` command or its language data."""
        if tesseract_binary() is None:
            raise RuntimeError("the tesseract command is not installed (apt-get install tesseract-ocr)")
        self.dpi = dpi
        self.psm = psm
        self.tessdata = find_tessdata(tessdata)
        self.installed = tesseract_languages(self.tessdata) if self.tessdata else frozenset()
        if not self.installed:
            raise RuntimeError("Tesseract language data not found (install tesseract-ocr-<lang> or set tessdata)")
        fixed = languages.split("+") if isinstance(languages, str) else list(languages or [])
        missing = [p for p in fixed if p not in self.installed]
        if missing:
            raise ValueError(f"Tesseract packs not installed: {missing}; installed: {sorted(self.installed)}")
        self.fixed = fixed
        self.timeout = timeout
        self.have_osd = "osd" in tesseract_languages(self.tessdata, keep_osd=True)
        self._detectors: dict[int, ScriptDetector] = {}

    def detector(self, dpi: int) -> ScriptDetector:
        """The detection steps for images rendered at ``dpi`` (one per resolution, built on first use)."""
        if dpi not in self._detectors:
            packs = {s: script_to_tesseract_langs(s, None, self.installed) for s in _SCRIPT_PACKS}
            broad = {s: resolve_pack(pack, self.installed) for s, (_, pack) in _SCRIPT_PACKS.items()}
            self._detectors[dpi] = ScriptDetector(
                self.installed | ({"osd"} if self.have_osd else set()),
                packs,
                lambda code, script: script_to_tesseract_langs(script, code.partition("_")[0], self.installed),
                dpi,
                {s: p for s, p in broad.items() if p},
                self.psm,
                self.tessdata,
                self.timeout,
            )
        return self._detectors[dpi]

    def render_dpi(self, page: pymupdf.Page) -> int:
        """A scan is read at its own resolution between 150 dpi and ``dpi``: benchmarks/pdf_ocr.py measured 150
        dpi scans read as well at 150 as at 300 (0.801 vs 0.784 3-gram recall) in 0.7x the time, while 300 dpi
        scans lose Arabic at 150 (0.39 vs 0.62); pages without one page-sized image render at ``dpi``."""
        native = scan_dpi(page)
        return self.dpi if native is None else min(self.dpi, max(MIN_SCAN_DPI, native))

    def languages_for(self, languages: list[str]) -> str:
        """The ``+``-joined pack list Tesseract gets for these hints (``eng`` when nothing fits)."""
        if self.fixed:
            return "+".join(self.fixed)
        packs: list[str] = []
        for tag in languages:
            lang, script = parse_language(tag)
            for pack in script_to_tesseract_langs(script, lang, self.installed):
                if pack not in packs:
                    packs.append(pack)
        packs = [p for p in packs if p != "eng"][: MAX_PACKS - 1] + (["eng"] if "eng" in packs else [])
        if not packs:
            packs = ["eng"] if "eng" in self.installed else sorted(self.installed)[:1]
        return "+".join(packs)

    def read(self, image: PageImage, languages: list[str], prior: OcrDecision | None = None) -> PageRead:
        """One page: declared packs, a script known from the PDF's text layer, or detection."""
        hints = [parse_language(tag) for tag in languages]
        scripts = [script for lang, script in hints if script and not lang]
        if self.fixed or any(lang for lang, _ in hints):
            langs = self.languages_for(languages)
            script = next((s for _, s in hints if s), None) or _PACK_SCRIPT.get(langs.split("+")[0], "Latn")
            return self.detector(image.dpi).read_declared(image.png, langs, script)
        if scripts:
            return self.detector(image.dpi).read_script(image.png, scripts[0], "text_layer")
        return self.detector(image.dpi).read_undeclared(image.png, prior)

    def recognize(self, pages: list[PageImage], languages: list[str]) -> list[OcrResult]:
        """Pages of one document, in order: each page's decision seeds the next one's."""
        results, prior = [], None
        for image in pages:
            result = self.recognize_one(image, languages, prior)
            prior = result.decision or prior
            results.append(result)
        return results

    def recognize_one(self, image: PageImage, languages: list[str], prior: OcrDecision | None = None) -> OcrResult:
        try:
            image = _gray(image)
            page = self.read(image, languages, prior)
        except Exception as err:  # one bad image must not lose the batch
            return OcrResult("", None, self.name, error=f"{type(err).__name__}: {err}"[:300])
        return OcrResult(page.text, page.decision.confidence, self.name, decision=page.decision, runs=page.passes)
