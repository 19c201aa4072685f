"""Tesseract OCR through PyMuPDF (MuPDF links libtesseract; only the language data is looked up on disk).

Languages come from the page's declared or detected language/script, mapped to Tesseract language packs, and
only packs that are installed are used: asking for a missing pack fails the page, and asking for every pack at
once is slow and worse (Tesseract then hesitates between scripts on every word).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Collection
from functools import lru_cache

import pymupdf

from curation.pdf.ocr.base import OcrBackend, OcrResult, PageImage, parse_language

# ISO 639-1 codes and ISO 639-3 macrolanguage members / bibliographic codes whose Tesseract pack has another name.
_LANG_ALIASES = {
    "en": "eng", "ru": "rus", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por", "nl": "nld",
    "pl": "pol", "cs": "ces", "sk": "slk", "uk": "ukr", "be": "bel", "bg": "bul", "sr": "srp", "hr": "hrv",
    "sl": "slv", "ro": "ron", "hu": "hun", "fi": "fin", "et": "est", "lv": "lav", "lt": "lit", "sv": "swe",
    "da": "dan", "no": "nor", "nb": "nor", "is": "isl", "el": "ell", "tr": "tur", "ar": "ara", "fa": "fas",
    "ur": "urd", "he": "heb", "yi": "yid", "hi": "hin", "mr": "mar", "ne": "nep", "sa": "san", "bn": "ben",
    "pa": "pan", "gu": "guj", "ta": "tam", "te": "tel", "kn": "kan", "ml": "mal", "si": "sin", "th": "tha",
    "lo": "lao", "km": "khm", "my": "mya", "bo": "bod", "ka": "kat", "hy": "hye", "am": "amh", "ti": "tir",
    "ja": "jpn", "ko": "kor", "vi": "vie", "id": "ind", "ms": "msa", "tl": "tgl", "mn": "mon", "kk": "kaz",
    "ky": "kir", "uz": "uzb", "az": "aze", "tg": "tgk", "ps": "pus", "sq": "sqi", "mk": "mkd", "eu": "eus",
    "ca": "cat", "gl": "glg", "cy": "cym", "ga": "gle", "la": "lat", "eo": "epo", "sw": "swa", "zh": "chi_sim",
    "per": "fas", "pes": "fas", "prs": "fas", "arb": "ara", "gre": "ell", "ger": "deu", "fre": "fra",
    "cze": "ces", "slo": "slk", "rum": "ron", "dut": "nld", "chi": "chi_sim", "cmn": "chi_sim", "zho": "chi_sim",
    "yue": "chi_tra", "lzh": "chi_tra", "nob": "nor", "nno": "nor", "ekk": "est", "lvs": "lav", "zsm": "msa",
    "fil": "tgl", "khk": "mon", "uzn": "uzb", "azj": "aze", "npi": "nep", "swh": "swa", "als": "sqi",
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
}  # fmt: skip
MAX_PACKS = 3  # each extra pack slows Tesseract down about linearly


def find_tessdata(tessdata: str | None = None) -> str | None:
    """The tessdata folder PyMuPDF would use (``TESSDATA_PREFIX`` or the system one), or None without Tesseract."""
    try:
        return pymupdf.get_tessdata(tessdata)
    except (RuntimeError, TypeError, ValueError):
        return None


@lru_cache(maxsize=8)
def tesseract_languages(tessdata: str | None = None) -> frozenset[str]:
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
    packs.discard("osd")  # orientation detection, not a language
    return frozenset(packs)


def _lang_pack(lang: str, script: str | None) -> str:
    pack = _LANG_ALIASES.get(lang, lang)
    return _LANG_SCRIPT.get((pack, script or ""), pack)


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
    packs = [p for p in wanted if p in have][:1]
    if packs and _PACK_SCRIPT.get(packs[0], script or "Latn") != "Latn" and "eng" in have:
        packs.append("eng")
    return packs


class TesseractOcr(OcrBackend):
    """Tesseract via PyMuPDF, one page at a time (one core per worker; scale out with workers, not threads)."""

    name = "tesseract"

    def __init__(self, dpi: int = 300, languages: str | list[str] | None = None, tessdata: str | None = None):
        """``languages``: fixed Tesseract packs (``"eng+rus"`` or a list), or None to choose them per call from
        the language/script hints. Raises RuntimeError when no Tesseract language data is installed."""
        self.dpi = dpi
        self.tessdata = find_tessdata(tessdata)
        self.installed = tesseract_languages(self.tessdata) if self.tessdata else frozenset()
        if not self.installed:
            raise RuntimeError("Tesseract language data not found (install tesseract-ocr-<lang> or set tessdata)")
        fixed = languages.split("+") if isinstance(languages, str) else list(languages or [])
        missing = [p for p in fixed if p not in self.installed]
        if missing:
            raise ValueError(f"Tesseract packs not installed: {missing}; installed: {sorted(self.installed)}")
        self.fixed = fixed

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

    def _ocr_pixmap(self, pix: pymupdf.Pixmap, language: str) -> str:
        # The same path as Page.get_textpage_ocr(full=True): Tesseract writes a one-page PDF with the text layer.
        with pymupdf.open("pdf", pix.pdfocr_tobytes(language=language, tessdata=self.tessdata)) as doc:
            return doc[0].get_text()

    def recognize(self, pages: list[PageImage], languages: list[str]) -> list[OcrResult]:
        language = self.languages_for(languages)
        results = []
        for image in pages:
            try:
                pix = pymupdf.Pixmap(image.png)
                if pix.alpha:
                    pix = pymupdf.Pixmap(pix, 0)
                if pix.colorspace is None or pix.colorspace.n != 3:  # MuPDF's OCR writer reads no text in gray
                    pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
                results.append(OcrResult(self._ocr_pixmap(pix, language), None, self.name))
            except Exception as err:  # one bad image must not lose the batch
                results.append(OcrResult("", None, self.name, error=f"{type(err).__name__}: {err}"))
        return results

    def recognize_page(self, page: pymupdf.Page, languages: list[str]) -> OcrResult:
        """OCR a live page without the PNG round trip (PyMuPDF renders it at ``dpi`` itself)."""
        try:
            textpage = page.get_textpage_ocr(
                language=self.languages_for(languages), dpi=self.dpi, full=True, tessdata=self.tessdata
            )
            return OcrResult(page.get_text(textpage=textpage), None, self.name)
        except Exception as err:  # a page that cannot be rendered or recognised is a failed page, not a crash
            return OcrResult("", None, self.name, error=f"{type(err).__name__}: {err}")
