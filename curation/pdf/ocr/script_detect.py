"""Which Tesseract packs read a page: its script and language, found before the text is kept.

Tesseract reads a page well only with the packs of its script and language (a Russian page read as English keeps 0.4
of its 3-grams). A page with no declared language is read in up to three steps, each skipped when the last one
settles it:

1. **Probe**: Latin (``eng``). Words read with high confidence are Latin text; the share of such characters says
   whether anything else is on the page. A page that reads badly is checked for rotation (Tesseract's OSD) first.
2. **Script**: the words Latin read well are painted out and Tesseract's OSD names the script of what is left (a
   technical page in Chinese is mostly Latin commands: OSD on the whole page says "Latin"). The script's packs must
   read the page better than the probe did (OSD names Thai for the tables of a Portuguese page). A script reading
   without confidence is checked against the other CJK scripts and against a line read with each installed script
   pack (Armenian and Myanmar look Latin to OSD). Han: Tesseract's two Han script packs read the page together and
   the characters they write say simplified or traditional (each language pack reads the other variant as
   confidently as its own).
3. **Language**: LID on the letters of that script picks the language pack (``deu`` for German, ``ukr`` for
   Ukrainian, ``fas`` for Persian); the page is read again only when that pack differs. Where LID is unsure, or the
   script is Arabic (``ara`` writes Persian and Urdu letters as Arabic ones), the script's all-language pack reads
   the page first so LID sees its real letters.

The pages of one document usually share their language: the next page is read with the previous page's packs
directly, and detected again only when they read it badly.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from functools import cache

import pymupdf

from curation.pdf.ocr.tesseract_cli import OcrPass, Osd, detect_orientation_script, read_words
from curation.text.scripts import char_script, han_variant

GOOD_CONF = 80.0  # a word Tesseract reads with this confidence is in a script its packs know
LATIN_ONLY = 0.8  # share of well-read characters above which a Latin-probed page has no other script
READS_BADLY = 0.5  # below this share OSD's "Latin" is double-checked by probing a line with each script
TURNED = 0.3  # below this share a page is checked for rotation (a turned page reads as almost nothing)
FEW_CHARS = 40  # a page with less text (a logo, labels on a drawing) is not worth detecting again
MIN_LID_LETTERS = 20  # LID needs a few words of the script to name its language
MIN_LID_SCORE = 0.4
LID_SURE = 0.6  # below this, LID's language is checked on a reading by the script's own (all-language) pack
SCRIPT_SURE = 0.7  # a script reading less confident than this is checked against the other scripts (line probe)
BROAD_FIRST = frozenset({"Arab"})  # the Arabic pack writes Persian and Urdu letters as Arabic ones: LID says arb
HAN = frozenset({"Hani", "Hans", "Hant"})
CJK = ("Hani", "Jpan", "Hang")  # OSD confuses these: a page it names one of them and reads badly tries the others
SPARSE_PSM = 11  # Tesseract's "sparse text" layout
BLOCK_PSM = 6  # one block of text: the probed line crop (a crop often catches its neighbours; psm 7 then reads none)
SPARSE_MIN_CONF = 70.0  # measured: a logo's word reads at 95, the strokes of a drawing at 5-60
PROBE_MARGIN = 8.0  # points of mean confidence a script pack must beat Latin by on the probe line
# Script families: the letters of a page in script X that LID reads to name its language.
_FAMILY = {
    "Jpan": frozenset({"Hani", "Hira", "Kana"}),
    "Hani": frozenset({"Hani", "Hira", "Kana"}),
    "Hans": frozenset({"Hani"}),
    "Hant": frozenset({"Hani"}),
    "Hang": frozenset({"Hang", "Hani"}),
}


@dataclass(frozen=True)
class OcrDecision:
    """How one page was read: recorded in the page's meta so a reader can audit the choice."""

    script: str  # ISO 15924 of the page's main non-shared script ("Latn" for a Latin-only page)
    langs: str  # Tesseract packs of the kept text, "+"-joined
    source: str  # declared | text_layer | detected | document (the previous page's packs read it well)
    confidence: float  # mean word confidence of the kept text, 0..1
    good_share: float  # share of its characters read with GOOD_CONF
    rotation: int = 0  # degrees the page image was turned before reading
    lang: str = ""  # corpus code LID gave the script's letters ("" when LID was not asked or unsure)
    lang_score: float = 0.0


@dataclass(frozen=True)
class PageRead:
    text: str
    decision: OcrDecision
    passes: int  # Tesseract runs spent (probe, OSD and line probes included)


@cache
def _lid():
    from curation.text.langid import LanguageIdentifier  # fastText: loaded once per process, only when needed

    return LanguageIdentifier("lid.176")


def script_letters(text: str, script: str) -> str:
    """``text`` with letters of other scripts blanked: what LID reads to name the language of ``script``."""
    family = _FAMILY.get(script, frozenset({script}))
    return "".join(ch if not ch.isalpha() or char_script(ch) in family else " " for ch in text)


def identify(text: str, script: str) -> tuple[str, float]:
    """(corpus code, score) LID gives the letters of ``script`` in ``text``; ("", 0) with too few letters."""
    letters = script_letters(text, script)
    if sum(ch.isalpha() for ch in letters) < MIN_LID_LETTERS:
        return "", 0.0
    prediction = _lid().predict(letters)
    return prediction.lang, prediction.score


def _open_image(image: bytes) -> pymupdf.Document:
    return pymupdf.open(stream=image, filetype="png")


def rotate_image(image: bytes, degrees: int, dpi: int) -> bytes:
    """The image turned ``degrees`` clockwise (OSD's ``Rotate``), same resolution."""
    with _open_image(image) as doc:
        matrix = pymupdf.Matrix(dpi / 72, dpi / 72).prerotate(degrees)
        pix = doc[0].get_pixmap(matrix=matrix, colorspace=pymupdf.csGRAY, alpha=False)
    pix.set_dpi(dpi, dpi)
    return pix.tobytes("png")


def mask_words(image: bytes, reading: OcrPass, min_conf: float = GOOD_CONF) -> bytes:
    """The image with every word read at ``min_conf`` painted white: what is left is in other scripts."""
    pix = pymupdf.Pixmap(image)
    white = (255,) * pix.n
    for word in reading.words:
        if word.conf >= min_conf:
            x, y, w, h = word.box
            pix.set_rect(pymupdf.IRect(x, y, x + w, y + h), white)
    return pix.tobytes("png")


def worst_line(image: bytes, reading: OcrPass, dpi: int) -> bytes | None:
    """The line with the most badly read characters, cropped (with a margin), or None on a page without one."""
    lines: dict[tuple[int, int, int], list] = {}
    for word in reading.words:
        lines.setdefault(word.line, []).append(word)
    scored = [(sum(len(w.text) for w in ws if w.conf < GOOD_CONF), ws) for ws in lines.values()]
    bad, words = max(scored, key=lambda item: item[0], default=(0, []))
    if bad < 5:
        return None
    left = min(w.box[0] for w in words)
    top = min(w.box[1] for w in words)
    right = max(w.box[0] + w.box[2] for w in words)
    bottom = max(w.box[1] + w.box[3] for w in words)
    margin = max(4, (bottom - top) // 2)
    scale = 72 / dpi
    clip = pymupdf.Rect(left - margin, top - margin, right + margin, bottom + margin) * scale
    with _open_image(image) as doc:
        pix = doc[0].get_pixmap(dpi=dpi, clip=clip & doc[0].rect, colorspace=pymupdf.csGRAY, alpha=False)
    pix.set_dpi(dpi, dpi)
    return pix.tobytes("png")


class ScriptDetector:
    """Runs the steps above for one backend's settings (dpi, psm, tessdata) over the installed packs."""

    def __init__(
        self,
        installed: Collection[str],
        script_packs: dict[str, list[str]],
        language_packs,
        dpi: int,
        all_language_packs: dict[str, str] | None = None,
        psm: int = 3,
        tessdata: str | None = None,
        timeout: float = 300.0,
    ):
        """``script_packs``: ISO 15924 → installed packs reading that script (best first, ``eng`` added for
        non-Latin); ``language_packs(code, script)`` → installed packs for a corpus code (empty: none fits);
        ``all_language_packs``: ISO 15924 → Tesseract's script pack, trained on every language of the script."""
        self.installed = frozenset(installed)
        self.script_packs = script_packs
        self.all_language_packs = all_language_packs or {}  # ISO 15924 → installed script pack ("Cyrillic")
        self.language_packs = language_packs
        self.dpi, self.psm, self.tessdata, self.timeout = dpi, psm, tessdata, timeout
        self.probe = "eng" if "eng" in self.installed else next(iter(script_packs.get("Latn", [])), "")

    def read(self, image: bytes, langs: str) -> OcrPass:
        """Read with the page layout mode; where it finds no text block (a logo, a label on a drawing), read
        sparse text (psm 11) and keep only its confident words: on drawings it reads lines as letters."""
        reading = read_words(image, langs, self.dpi, self.psm, self.tessdata, self.timeout)
        if reading.words or self.psm == SPARSE_PSM:
            return reading
        sparse = read_words(image, langs, self.dpi, SPARSE_PSM, self.tessdata, self.timeout)
        words = tuple(w for w in sparse.words if w.conf >= SPARSE_MIN_CONF)
        return OcrPass(words, langs, reading.seconds + sparse.seconds)

    def osd(self, image: bytes) -> Osd | None:
        if "osd" not in self.installed:
            return None
        return detect_orientation_script(image, self.dpi, self.tessdata, self.timeout)

    # --- steps --------------------------------------------------------------------------------------------------

    def _upright(self, image: bytes, probe: OcrPass) -> tuple[bytes, OcrPass, int, int]:
        """Turn a page that reads badly when OSD says it is rotated and the turned page reads better."""
        osd = self.osd(image)
        if osd is None or osd.rotate == 0:
            return image, probe, 0, 1
        turned = rotate_image(image, osd.rotate, self.dpi)
        again = self.read(turned, probe.langs)
        if again.good_share() > probe.good_share() + 0.1 and again.chars >= probe.chars // 2:
            return turned, again, osd.rotate, 3
        return image, probe, 0, 3

    def _read_script(self, image: bytes, probe: OcrPass, script: str, runs: int) -> tuple[OcrPass, int]:
        """The page read with the packs of ``script`` when they read it better than the probe did (on a Latin page
        with tables and drawings OSD may name Thai or Oriya for what is left), else the probe."""
        packs = self.script_packs.get(script) or []
        if script == "Latn" or not packs or "+".join(packs) == probe.langs:
            return probe, runs
        again = self.read(image, "+".join(packs))
        return (again if again.confidence() > probe.confidence() else probe), runs + 1

    def _han_variant(self, image: bytes, script: str, runs: int) -> tuple[str, int]:
        """Simplified or traditional: each language pack writes a page in its own variant (and reads the other
        one with as much confidence), so Tesseract's two Han script packs read it together and the characters
        they write decide (measured on 4 pages where confidence chose wrong on 2)."""
        both = [self.all_language_packs.get(s) for s in ("Hans", "Hant")]
        if not all(both):
            return ("Hans" if script == "Hani" else script), runs
        reading = self.read(image, "+".join([*both, "eng"]))  # type: ignore[list-item]
        return han_variant(reading.text(), default="Hans" if script == "Hani" else script), runs + 1

    def _probe_lines(self, image: bytes, probe: OcrPass) -> tuple[str | None, int]:
        """The script whose pack reads the worst line most confidently (None: none beats Latin clearly)."""
        line = worst_line(image, probe, self.dpi)
        if line is None:
            return None, 0
        latin = read_words(line, self.probe, self.dpi, BLOCK_PSM, self.tessdata, self.timeout).confidence() * 100
        best, best_conf, runs = None, latin + PROBE_MARGIN, 1
        for script, packs in self.script_packs.items():
            if script in ("Latn", "Hani", "Hira", "Kana", "Kore", "Hant") or not packs:
                continue
            conf = read_words(line, packs[0], self.dpi, BLOCK_PSM, self.tessdata, self.timeout).confidence() * 100
            runs += 1
            if conf > best_conf:
                best, best_conf = script, conf
        return best, runs

    def detect_script(self, image: bytes, probe: OcrPass | None = None) -> tuple[bytes, OcrPass, str, int, int]:
        """(upright image, probe, script, rotation, Tesseract runs); ``probe``: a reading already made (with the
        previous page's packs), whose badly read words are where the page's other script is."""
        runs, rotation = 0, 0
        if probe is None:
            probe, runs = self.read(image, self.probe), 1
        if probe.good_share() < TURNED:
            image, probe, rotation, spent = self._upright(image, probe)
            runs += spent
        if probe.good_share() >= LATIN_ONLY:
            return image, probe, "Latn", rotation, runs
        osd = self.osd(mask_words(image, probe))
        runs += 1
        script = osd.script if osd is not None and osd.script else "Latn"
        if script == "Latn" and probe.good_share() < READS_BADLY:
            found, spent = self._probe_lines(image, probe)
            runs += spent
            script = found or "Latn"
        return image, probe, script, rotation, runs

    def refine(self, image: bytes, reading: OcrPass, script: str) -> tuple[OcrPass, str, float, int]:
        """Read again with the language pack LID names for the script's letters, when it differs. Where LID is
        unsure (a pack misreads the letters its language lacks: Vietnamese through ``eng``, Serbian through
        ``rus``), the script's own pack reads the page first and LID names the language from that reading."""
        lang, score = identify(reading.text(), script)
        runs = 0
        broad = self.all_language_packs.get(script)
        unsure = not lang or score < LID_SURE or script in BROAD_FIRST
        if unsure and broad and broad not in reading.langs.split("+"):
            wide = self.read(image, broad if script == "Latn" else f"{broad}+eng")
            runs += 1
            wide_lang, wide_score = identify(wide.text(), script)
            if wide_lang and wide_score > score:
                lang, score = wide_lang, wide_score
                if not self.language_packs(lang, lang.rpartition("_")[2]):
                    return wide, lang, score, runs  # no pack of its own: the script's pack is the best there is
        if not lang or score < MIN_LID_SCORE:
            return reading, "", score, runs
        lang_script = lang.rpartition("_")[2]
        packs = self.language_packs(lang, lang_script)
        if not packs or "+".join(packs) == reading.langs:
            return reading, lang, score, runs
        again = self.read(image, "+".join(packs))
        # an unsure LID may misname a page read with the wrong packs: then the pass that reads better is kept
        # (a sure one is trusted: confidences of different packs do not compare, ara reads Persian "better")
        if score < LID_SURE and again.confidence() + 0.02 < reading.confidence():
            return reading, lang, score, runs + 1
        return again, lang, score, runs + 1

    # --- whole pages ----------------------------------------------------------------------------------------------

    def read_undeclared(self, image: bytes, prior: OcrDecision | None = None, tried: OcrPass | None = None) -> PageRead:
        """Read a page whose language nobody declared (``prior``: the decision for the document's last page;
        ``tried``: a reading of this page that went badly, to detect from)."""
        spent = 1 if tried is not None else 0
        if prior is not None and tried is None:
            turned = rotate_image(image, prior.rotation, self.dpi) if prior.rotation else image
            reading, spent = self.read(turned, prior.langs), 1
            if reading.chars < FEW_CHARS or reading.good_share() >= max(READS_BADLY, prior.good_share - 0.2):
                decision = replace(
                    prior,
                    source="document",
                    confidence=reading.confidence(),
                    good_share=reading.good_share(),
                )
                return PageRead(reading.text(), decision, 1)
            tried = reading if not prior.rotation else None  # what it failed to read shows where the other script is
        image, probe, script, rotation, runs = self.detect_script(image, tried)
        runs += spent
        if script in HAN:
            script, runs = self._han_variant(image, script, runs)
        reading, runs = self._read_script(image, probe, script, runs)
        if script != "Latn" and reading.confidence() < SCRIPT_SURE:  # OSD may have named a look-alike script
            found, spent = self._probe_lines(image, probe)
            runs += spent
            others = [s for s in CJK if s != script and not (s in HAN and script in HAN)] if script in CJK else []
            for other_script in dict.fromkeys([*others, *([found] if found and found != script else [])]):
                if other_script in HAN:
                    other_script, runs = self._han_variant(image, other_script, runs)
                other, runs = self._read_script(image, probe, other_script, runs)
                if other.confidence() > reading.confidence():
                    reading, script = other, other_script
        if reading is probe:  # no script's packs beat the probe: the page is in the probe's script
            script = next((k for k, v in self.script_packs.items() if "+".join(v) == probe.langs), "Latn")
        reading, lang, score, spent = self.refine(image, reading, script)
        if lang and script in ("Hani", "Jpan"):  # LID settles Chinese vs Japanese and simplified vs traditional
            script = lang.rpartition("_")[2] if lang.rpartition("_")[2] in ("Hans", "Hant", "Jpan") else script
        decision = OcrDecision(
            script, reading.langs, "detected", reading.confidence(), reading.good_share(), rotation, lang, score
        )
        return PageRead(reading.text(), decision, runs + spent)

    def read_script(self, image: bytes, script: str, source: str) -> PageRead:
        """Read a page whose script is expected (the PDF's own text layer is in it): LID still picks the language,
        and a page those packs read badly (a scanned appendix in another script) is detected like any other."""
        packs = self.script_packs.get(script) or [self.probe]
        reading = self.read(image, "+".join(packs))
        if reading.chars >= FEW_CHARS and reading.good_share() < READS_BADLY:
            return self.read_undeclared(image, tried=reading)
        reading, lang, score, spent = self.refine(image, reading, script)
        decision = OcrDecision(
            script, reading.langs, source, reading.confidence(), reading.good_share(), 0, lang, score
        )
        return PageRead(reading.text(), decision, 1 + spent)

    def read_declared(self, image: bytes, langs: str, script: str) -> PageRead:
        reading = self.read(image, langs)
        decision = OcrDecision(script, langs, "declared", reading.confidence(), reading.good_share())
        return PageRead(reading.text(), decision, 1)
