"""Per-page router: is a page's text layer worth keeping, or must the page go to OCR?

Cheap by design (the issue's speed target leaves it a fraction of one ``get_text()``; measured ~0.2x on the TeX
Live language docs): the verdict is read off the text the caller already extracted (one ``Counter`` over its
characters, a few regexes) plus the page's resource dictionaries (image list; font names and ToUnicode presence
read directly, without ``get_fonts()``'s font-file sniffing). Only pages with images get one ``get_bboxlog()``
pass (where images sit, whether text is invisible or painted over), only textless pages without images get one
24-dpi thumbnail (is anything drawn?), and only pages whose fonts claim a script the text lacks get one
``get_text("dict")`` pass to confirm it span by span.

Verdicts (``PageVerdict.reason``), in the order they are decided:

* ``invisible_text``: most text is drawn in render mode 3, i.e. an OCR layer over a page image. Redone by default
  (``trust_ocr_layer=False``) because the layer's engine, language pack and date are unknown and cannot be checked
  without OCR: the typical bad layer (English-only pack on Arabic, an old engine on a CJK scan) still looks like
  text to every character-level test here, while a fresh OCR with the script-chosen pack has known quality and
  keeps the per-page method honest. ``trust_ocr_layer=True`` keeps layers that pass the other checks.
* ``blank`` (usable): no text and nothing drawn: OCR would only burn a second.
* ``empty``: no text layer but images or drawn content (scan, image-only page, outlined text, vector art).
* ``image_covered``: images cover most of the page and the text is only a caption or a running header, or opaque
  images are painted over most of the text (a scan or a redaction box on top of the text layer).
* ``picture`` (usable): a full-page illustration (heavy ink, no blank rows between lines) under a caption or a
  running head: the text layer holds all the text there is.
* ``replacement_chars``: U+FFFD / noncharacters: glyphs the PDF could not map to Unicode.
* ``garbled``: mis-mapped glyphs: control characters inside words, Latin-1 mojibake (Cyrillic/Thai 8-bit fonts
  without a ToUnicode map), private-use characters dominating, letters scattered over four or more unrelated
  scripts (a CID font mapped onto random code points), Arabic presentation forms stored in painted order.
* ``script_font_mismatch``: fonts named for a script (Arabic, Devanagari, Thai ...) and without a ToUnicode map
  whose spans hold none of that script.
* ``presentation_forms`` (usable): Arabic/Hebrew presentation forms dominate; ``repair_text`` (NFKC of exactly
  those characters) restores the base letters, so the page is kept after repair.
* ``ok``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import pymupdf

from curation.text.normalize import repair_presentation_forms
from curation.text.scripts import char_script

REASONS = (
    "ok",
    "blank",
    "empty",
    "invisible_text",
    "image_covered",
    "picture",
    "replacement_chars",
    "garbled",
    "script_font_mismatch",
    "presentation_forms",
)


@dataclass(frozen=True)
class PageVerdict:
    usable: bool
    reason: str
    stats: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RouterThresholds:
    """Decision thresholds; defaults tuned on the TeX Live language docs (benchmarks/pdf_router.py)."""

    min_chars: int = 8  # fewer visible non-space chars than this: the page has no text layer
    min_image_area: float = 0.01  # a textless page whose images cover less than this is judged by its ink
    min_ink: float = 0.003  # share of inked pixels that makes a textless page worth OCR (vector art, outlined text)
    cover_area: float = 0.4  # images covering this share of the page ...
    cover_max_chars: int = 300  # ... with fewer chars than this (captions, a header; a text page has 2000+)
    picture_min_ink: float = 0.1  # a covered page inked this much ...
    picture_max_gap_rows: float = 0.15  # ... with fewer near-blank rows than this is an illustration, not a scan
    hidden_text_share: float = 0.5  # share of text area painted over by later opaque images
    invisible_share: float = 0.5  # share of text area drawn in render mode 3
    bad_share: float = 0.3  # U+FFFD & co per non-space char (unmapped bullets or words in a listing leave the rest)
    bad_min: int = 10
    ctrl_share: float = 0.02  # control chars next to letters per non-space char
    ctrl_min: int = 5
    latin1_share: float = 0.25  # U+00C0-00FF letters per Latin letter (French ~0.04, Icelandic ~0.12)
    latin1_min: int = 20
    pua_share: float = 0.3  # private-use chars per non-space char
    pua_min: int = 10
    soup_share: float = 0.2  # letters outside the page's two main scripts (Han+kana+Hangul count as one)
    soup_min_letters: int = 50
    presentation_share: float = 0.2  # presentation forms per Arabic/Hebrew letter
    visual_order_share: float = 0.7  # share of presentation-form words stored in painted (reversed) order
    font_script_min_letters: int = 30
    font_script_max_share: float = 0.1  # claimed-script letters / letters in that font's spans
    font_script_page_share: float = 0.3  # the font's spans must carry this share of the page's letters


DEFAULT_THRESHOLDS = RouterThresholds()

# Font-name patterns (searched in the lowercase name without subset prefix, spaces and dashes) naming fonts whose
# text must be in one script. Short names are anchored so Latin names cannot hit them ("thomas" holds "homa"); CJK
# and GFS Greek fonts also hold Latin glyphs (their Latin text is right) and are left to the character checks.
_FONT_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("arabic|^arab|naskh|nastaliq|kufi|thuluth|amiri|scheherazade|^a?lotus|^a?titr|nazli|nazanin|kayhan|niloofar"
     "|farsi|persian|iranian|^xb|^ae_|decotype|^a?homa|^a?mitra|aljazeera|alkalami|andalus", "Arab"),
    ("hebrew|cjheb", "Hebr"),
    ("sanskrit|devanagari|velthuis|dvng|shobhika|yashovenu|siddhanta|nakula|sahadeva|gargi", "Deva"),
    ("bengali|kalpurush|siyamrupali|solaimanlipi", "Beng"),
    ("norasi|garuda|kinnari|laksaman|thsarabun|dbthai|tlwg|waree|umpush|purisa", "Thai"),
    ("ethiopic|abyssinica", "Ethi"),
    ("tibetan|jomolhari", "Tibt"),
    ("padauk|myanmar", "Mymr"),
    ("armenian", "Armn"),
    ("georgian", "Geor"),
    ("syriac|estrangelo|serto", "Syrc"),
    ("greek", "Grek"),
)  # fmt: skip
_FONT_SCRIPT_RES = tuple((re.compile(pattern), script) for pattern, script in _FONT_SCRIPTS)

_SUBSET = re.compile(r"^[A-Z]{6}\+")
_SPACE_OR_FORMAT = frozenset(" \t\n\r\x0b\x0c\u00a0\u200b\u200c\u200d\u200e\u200f\u2028\u2029\ufeff")
_BAD = frozenset("\ufffd\ufffe\uffff")
_PRESENTATION_WORD = re.compile(r"(?<!\w)[\ufb50-\ufdff\ufe70-\ufefe]{3,}(?!\w)")
# a control char touching a letter: mis-mapped glyphs inside words, not a math delimiter standing alone
_CTRL_IN_WORD = re.compile(r"[^\W\d_][\x00-\x08\x0e-\x1f\x7f-\x9f]|[\x00-\x08\x0e-\x1f\x7f-\x9f][^\W\d_]")
_DARK = bytes(1 if value < 200 else 0 for value in range(256))  # bytes.translate table: inked pixel -> 1
_CJK_GROUP = {"Hani": "CJK", "Hira": "CJK", "Kana": "CJK", "Hang": "CJK", "Bopo": "CJK"}
_IMAGE_OPS = frozenset({"fill-image", "fill-imgmask"})
_TEXT_OPS = frozenset({"fill-text", "stroke-text", "clip-text", "clip-stroke-text"})


@lru_cache(maxsize=1 << 16)
def _char_class(ch: str) -> str:
    """One bucket per char: space, bad, ctrl, pua, presentation, latin1, a script code, L (other letter), N, P, S."""
    if ch in _SPACE_OR_FORMAT:
        return "space"
    if ch in _BAD:
        return "bad"
    cp = ord(ch)
    cat = unicodedata.category(ch)
    if cat == "Cc":
        return "ctrl"
    if cat == "Co":
        return "pua"
    if 0xFB1D <= cp <= 0xFB4F or 0xFB50 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFE:
        return "presentation"
    if cat[0] == "L":
        if 0xC0 <= cp <= 0xFF:
            return "latin1"
        return char_script(ch) or "L"
    if cat[0] == "M":
        return "M"
    if cat in ("Zs", "Zl", "Zp", "Cf"):
        return "space"
    return cat[0]


def text_stats(text: str) -> dict[str, float]:
    """Character-class counts of ``text`` (one C-speed Counter pass, then one lookup per distinct char)."""
    counts: Counter[str] = Counter()
    for ch, n in Counter(text).items():
        counts[_char_class(ch)] += n
    chars = sum(n for k, n in counts.items() if k != "space")
    letters = sum(n for k, n in counts.items() if k not in ("space", "bad", "ctrl", "pua", "N", "P", "S", "M"))
    stats = {k: float(n) for k, n in counts.items() if k != "space"}
    stats["chars"] = float(chars)
    stats["letters"] = float(letters)
    stats["Latn"] = stats.get("Latn", 0.0) + stats.get("latin1", 0.0)
    stats["Arab"] = stats.get("Arab", 0.0) + stats.get("presentation", 0.0)  # Hebrew forms are rare; count with Arab
    return stats


def repair_text(text: str) -> str:
    """NFKC exactly the presentation forms and Latin ligatures (ﻻ → لا, ﬁ → fi); everything else is left alone.

    The repair is shared with text sources: ``curation.text.repair_presentation_forms``. Safe to apply to every
    page: text without these characters comes back unchanged.
    """
    return repair_presentation_forms(text)[0]


def font_script(name: str) -> str | None:
    """ISO 15924 script a font's name commits it to (``XBZar`` → Arab), or None for Latin/CJK/unknown fonts."""
    base = _SUBSET.sub("", name).lower().replace(" ", "").replace("-", "")
    for pattern, script in _FONT_SCRIPT_RES:
        if pattern.search(base):
            return script
    return None


def page_fonts(page: pymupdf.Page) -> list[tuple[str, bool]]:
    """(BaseFont name, has a ToUnicode map) of the fonts in the page's resources.

    Reads the font dictionaries directly: ``Page.get_fonts()`` also sniffs each embedded font file's type, which
    costs more than the rest of the router together. Falls back to it where the low-level path is unavailable.
    """
    try:
        mu = pymupdf.mupdf
        resources = mu.pdf_dict_get_inheritable(pymupdf._as_pdf_page(page).obj(), mu.PDF_ENUM_NAME_Resources)
        font_dict = mu.pdf_dict_get(resources, mu.PDF_ENUM_NAME_Font)
        fonts = []
        for i in range(mu.pdf_dict_len(font_dict)):
            font = mu.pdf_dict_get_val(font_dict, i)
            name = mu.pdf_to_name(mu.pdf_dict_get(font, mu.PDF_ENUM_NAME_BaseFont))
            fonts.append((name, bool(mu.pdf_is_indirect(mu.pdf_dict_get(font, mu.PDF_ENUM_NAME_ToUnicode)))))
        return fonts
    except (AttributeError, RuntimeError, TypeError):
        doc = page.parent
        return [(f[3], doc.xref_get_key(f[0], "ToUnicode")[0] != "null") for f in page.get_fonts()]


@lru_cache(maxsize=4096)
def _joining(ch: str) -> tuple[bool, bool] | None:
    """(joins the previous letter, joins the next letter) for an Arabic positional form; None for other chars."""
    name = unicodedata.name(ch, "")
    for form, joins in (("ISOLATED", (False, False)), ("INITIAL", (False, True)), ("MEDIAL", (True, True))):
        if name.endswith(form + " FORM"):
            return joins
    return (True, False) if name.endswith("FINAL FORM") else None


def _visual_order_share(text: str, max_words: int = 200) -> float:
    """Share of whole presentation-form words whose ends join outwards: text stored as painted, not as read.

    In reading order a word's first letter cannot join a previous one and its last cannot join a next one; text
    stored right-to-left-as-painted (old converters) reverses each word, so its ends face the wrong way, and NFKC
    cannot repair that. Only words of three or more letters bounded by non-letters count: kashida leaders and
    fonts with wrong positional forms break words into fragments whose ends face anywhere.
    """
    reversed_words = words = 0
    for word in _PRESENTATION_WORD.findall(text):
        first, last = _joining(word[0]), _joining(word[-1])
        if first is None or last is None:
            continue
        words += 1
        reversed_words += first[0] or last[1]
        if words >= max_words:
            break
    return reversed_words / words if words >= 10 else 0.0


Box = tuple[float, float, float, float]


def _clip(bbox: Box, page: Box) -> Box | None:
    x0, y0, x1, y1 = max(bbox[0], page[0]), max(bbox[1], page[1]), min(bbox[2], page[2]), min(bbox[3], page[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _area(box: Box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _union_area(boxes: list[Box], page: Box, rows: int = 64) -> float:
    """Share of the page covered by the union of ``boxes`` (scan-line sampling: exact enough, cheap for many)."""
    if len(boxes) == 1:
        return _area(boxes[0]) / _area(page)
    width, height = page[2] - page[0], page[3] - page[1]
    covered = 0.0
    for i in range(rows):
        y = page[1] + (i + 0.5) * height / rows
        end = page[0]
        for x0, x1 in sorted((b[0], b[2]) for b in boxes if b[1] <= y < b[3]):
            if x1 > end:
                covered += x1 - max(x0, end)
                end = x1
    return covered / (width * rows)


def _layout_stats(page: pymupdf.Page) -> dict[str, float]:
    """Image coverage, invisible and painted-over text from one bbox pass over the page's drawing operations."""
    page_box = tuple(page.rect)
    min_image = 0.01 * _area(page_box)  # decorations and bullets do not hide anything
    images: list[Box] = []
    texts: list[Box] = []
    text_area = invisible_area = hidden_area = 0.0
    for op, bbox in page.get_bboxlog():
        box = _clip(bbox, page_box)
        if box is None:
            continue
        if op in _IMAGE_OPS:
            if _area(box) < min_image:
                continue
            images.append(box)
            kept = []
            for t in texts:  # text drawn earlier and painted over by this image
                if t[0] >= box[0] - 1 and t[1] >= box[1] - 1 and t[2] <= box[2] + 1 and t[3] <= box[3] + 1:
                    hidden_area += _area(t)
                else:
                    kept.append(t)
            texts = kept
        elif op in _TEXT_OPS:
            text_area += _area(box)
            texts.append(box)
        elif op == "ignore-text":
            invisible_area += _area(box)
    total_text = text_area + invisible_area
    return {
        "image_area": _union_area(images, page_box) if images else 0.0,
        "invisible_share": invisible_area / total_text if total_text else 0.0,
        "hidden_share": hidden_area / text_area if text_area else 0.0,
    }


def _ink_share(page: pymupdf.Page, long_side: int = 300) -> float:
    """Share of inked pixels in a thumbnail: what a reader would see on a page without a text layer.

    The thumbnail is ~300 px on its long side whatever the page size, so thin lines of a small figure still count.
    """
    dpi = max(12, min(72, int(long_side * 72 / max(page.rect.width, page.rect.height, 1))))
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    samples = pix.samples
    return samples.translate(_DARK).count(1) / len(samples) if samples else 0.0


def _pictorial(page: pymupdf.Page, stats: dict[str, float], th: RouterThresholds, long_side: int = 300) -> bool:
    """A full-page illustration under a running head: heavy ink and almost no blank rows between "lines".

    A scanned text page, however dense, leaves near-blank pixel rows between its lines (~35-95 % of rows in a
    ~300 px thumbnail); a drawing or photo inks nearly every row (1-5 % blank on cnbook.pdf's chapter plates, whose
    OCR finds no text). Sending such pages to OCR costs a second per page and returns nothing.
    """
    dpi = max(12, min(72, int(long_side * 72 / max(page.rect.width, page.rect.height, 1))))
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    width, samples = pix.width, pix.samples
    if not samples or not width:
        return False
    inked_rows = [samples[i : i + width].translate(_DARK).count(1) for i in range(0, len(samples), width)]
    stats["ink"] = sum(inked_rows) / len(samples)
    stats["gap_rows"] = sum(1 for n in inked_rows if n < 0.02 * width) / len(inked_rows)
    return stats["ink"] >= th.picture_min_ink and stats["gap_rows"] < th.picture_max_gap_rows


def _masked_images_only(page: pymupdf.Page) -> bool:
    """True when every large image carries a soft mask (a translucent watermark or logo, not an opaque cover)."""
    area = page.rect.get_area() or 1.0
    big = [i for i in page.get_image_info() if pymupdf.Rect(i["bbox"]).get_area() >= 0.01 * area]
    return bool(big) and all(i.get("has-mask") for i in big)


def _font_mismatch(page: pymupdf.Page, claims: dict[str, str], stats: dict[str, float], th: RouterThresholds) -> float:
    """Share of the page's letters that sit in spans whose font claims a script those spans do not contain."""
    per_script: dict[str, Counter[str]] = {}
    flags = pymupdf.TEXTFLAGS_TEXT
    for block in page.get_text("dict", flags=flags)["blocks"]:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                script = claims.get(span["font"])
                if script is None:
                    continue
                bucket = per_script.setdefault(script, Counter())
                for ch in span["text"]:
                    cls = _char_class(ch)
                    if cls in ("space", "N", "P", "S", "M"):
                        continue
                    bucket["letters"] += 1
                    if cls == script or (script == "Arab" and cls == "presentation"):
                        bucket["own"] += 1
    bad_letters = 0
    for bucket in per_script.values():
        if (
            bucket["letters"] >= th.font_script_min_letters
            and bucket["own"] < th.font_script_max_share * bucket["letters"]
        ):
            bad_letters += bucket["letters"]
    return bad_letters / stats["chars"] if stats["chars"] else 0.0


def assess_page(
    page: pymupdf.Page,
    text: str,
    *,
    thresholds: RouterThresholds = DEFAULT_THRESHOLDS,
    trust_ocr_layer: bool = False,
) -> PageVerdict:
    """Decide whether ``text`` (the page's extracted text layer) is usable or the page needs OCR."""
    th = thresholds
    stats = text_stats(text)
    chars = stats["chars"]
    fonts = page_fonts(page)
    has_images = bool(page.get_images())
    if has_images or any(name.endswith("GlyphLessFont") for name, _ in fonts):
        stats.update(_layout_stats(page))
        if stats["invisible_share"] >= th.invisible_share and not trust_ocr_layer:
            return PageVerdict(False, "invisible_text", stats)
    if chars < th.min_chars:
        if stats.get("image_area", 0.0) >= th.min_image_area:
            return PageVerdict(False, "empty", stats)
        stats["ink"] = _ink_share(page)  # one tiny render, on textless pages only
        if stats["ink"] >= th.min_ink:
            return PageVerdict(False, "empty", stats)
        return PageVerdict(True, "blank", stats)
    if has_images:
        covered = stats["image_area"] >= th.cover_area and chars < th.cover_max_chars
        hidden = stats["hidden_share"] >= th.hidden_text_share  # translucent images (soft mask) do not hide
        if covered and _pictorial(page, stats, th):
            return PageVerdict(True, "picture", stats)
        if covered or (hidden and not _masked_images_only(page)):
            return PageVerdict(False, "image_covered", stats)

    bad = stats.get("bad", 0.0)
    if bad >= th.bad_min and bad >= th.bad_share * chars:
        return PageVerdict(False, "replacement_chars", stats)
    if _garbled(text, stats, th):
        return PageVerdict(False, "garbled", stats)

    claims = {}
    for name, has_to_unicode in fonts:  # a ToUnicode map is the producer's own mapping: Latin text there is real
        script = None if has_to_unicode else font_script(name)
        if script is not None and stats.get(script, 0.0) < th.font_script_max_share * stats["letters"]:
            claims[_SUBSET.sub("", name)] = script
    if claims:
        stats["font_mismatch"] = _font_mismatch(page, claims, stats, th)
        if stats["font_mismatch"] >= th.font_script_page_share:
            return PageVerdict(False, "script_font_mismatch", stats)

    arabic = stats["Arab"] + stats.get("Hebr", 0.0)
    if stats.get("presentation", 0.0) >= th.presentation_share * arabic and arabic >= th.min_chars:
        return PageVerdict(True, "presentation_forms", stats)
    return PageVerdict(True, "ok", stats)


def _garbled(text: str, stats: dict[str, float], th: RouterThresholds) -> bool:
    """Mis-mapped glyphs: each signal alone is near impossible in real text of any language."""
    chars = stats["chars"]
    ctrl = stats["ctrl_in_word"] = float(len(_CTRL_IN_WORD.findall(text))) if stats.get("ctrl") else 0.0
    latin1 = stats.get("latin1", 0.0)
    pua = stats.get("pua", 0.0)
    visual = stats["visual_order"] = _visual_order_share(text) if stats.get("presentation", 0.0) >= 10 else 0.0
    stats["minor_scripts"] = _minor_script_share(stats)
    return (
        (ctrl >= th.ctrl_min and ctrl >= th.ctrl_share * chars)
        or (latin1 >= th.latin1_min and latin1 >= th.latin1_share * stats["Latn"])
        or (pua >= th.pua_min and pua >= th.pua_share * chars)
        or visual >= th.visual_order_share
        or (stats["letters"] >= th.soup_min_letters and stats["minor_scripts"] >= th.soup_share)
    )


def _minor_script_share(stats: dict[str, float]) -> float:
    """Share of letters outside the two main scripts, Han/kana/Hangul counted as one (Japanese mixes three).

    Mis-mapped CID fonts scatter one language over Armenian, NKo, Sinhala, Tibetan ... code points; real pages
    mix two main scripts (Persian + Latin, Japanese + Latin) and quote a third in a few symbols or words.
    """
    letters = stats["letters"]
    if not letters:
        return 0.0
    groups: Counter[str] = Counter()
    for key, n in stats.items():
        if len(key) == 4 and key[0].isupper() and key[1:].islower() and key != "Arab":
            groups[_CJK_GROUP.get(key, key)] += n
    groups["Arab"] = stats.get("Arab", 0.0)  # includes presentation forms
    return sum(sorted(groups.values(), reverse=True)[2:]) / letters
