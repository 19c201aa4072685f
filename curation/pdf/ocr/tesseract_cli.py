"""The ``tesseract`` command: words with boxes and confidences (TSV), and orientation-and-script detection (OSD).

The command, not MuPDF's built-in OCR writer: it takes a page segmentation mode and reports per-word confidences,
which script detection needs, and it is faster (measured on a German page at 300 dpi: 2.6 s vs 3.8 s through
``Page.get_textpage_ocr``; benchmarks/pdf_ocr.py). It runs with ``OMP_THREAD_LIMIT=1``: Tesseract's OpenMP threads
fight over the cores a pipeline already fills with workers (12.7 s per page instead of 1.6 s on 2 cores).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import dataclass

from curation.text.scripts import char_script

# Tesseract's OSD script names → ISO 15924 (Fraktur and Vietnamese are Latin; "Common" says nothing).
OSD_SCRIPTS = {
    "Latin": "Latn", "Fraktur": "Latn", "Vietnamese": "Latn", "Cyrillic": "Cyrl", "Greek": "Grek",
    "Arabic": "Arab", "Hebrew": "Hebr", "Han": "Hani", "Japanese": "Jpan", "Hiragana": "Jpan", "Katakana": "Jpan",
    "Korean": "Hang", "Hangul": "Hang", "Hangul_vertical": "Hang", "Devanagari": "Deva", "Bengali": "Beng",
    "Gurmukhi": "Guru", "Gujarati": "Gujr", "Oriya": "Orya", "Tamil": "Taml", "Telugu": "Telu", "Kannada": "Knda",
    "Malayalam": "Mlym", "Sinhala": "Sinh", "Thai": "Thai", "Lao": "Laoo", "Khmer": "Khmr", "Myanmar": "Mymr",
    "Tibetan": "Tibt", "Georgian": "Geor", "Armenian": "Armn", "Ethiopic": "Ethi", "Syriac": "Syrc",
    "Thaana": "Thaa", "Cherokee": "Cher", "Canadian_Aboriginal": "Cans",
}  # fmt: skip
_NO_SPACE = frozenset({"Hani", "Hira", "Kana"})  # Tesseract splits runs of these into words; no space between them


@dataclass(frozen=True)
class Word:
    text: str
    conf: float  # 0..100
    box: tuple[int, int, int, int]  # left, top, width, height in pixels
    line: tuple[int, int, int]  # (block, paragraph, line) numbers


@dataclass(frozen=True)
class OcrPass:
    """One Tesseract run over one image: its words, and which packs and settings read them."""

    words: tuple[Word, ...]
    langs: str
    seconds: float = 0.0

    @property
    def chars(self) -> int:
        return sum(len(w.text) for w in self.words)

    def confidence(self) -> float:
        """Character-weighted mean word confidence, 0..1 (0 for a page without words)."""
        n = self.chars
        return sum(w.conf * len(w.text) for w in self.words) / (100 * n) if n else 0.0

    def good_share(self, min_conf: float = 80.0) -> float:
        """Share of characters in words read with at least ``min_conf``: low where the packs miss the script."""
        n = self.chars
        return sum(len(w.text) for w in self.words if w.conf >= min_conf) / n if n else 0.0

    def text(self) -> str:
        return words_to_text(self.words)


@dataclass(frozen=True)
class Osd:
    rotate: int  # degrees clockwise to turn the image upright (0, 90, 180, 270)
    orientation_confidence: float
    script: str | None  # ISO 15924, None when Tesseract names none it knows
    script_confidence: float


def tesseract_binary() -> str | None:
    return shutil.which("tesseract")


def _run(args: list[str], image: bytes, timeout: float) -> str:
    binary = tesseract_binary()
    if binary is None:
        raise RuntimeError("the tesseract command is not installed (apt-get install tesseract-ocr)")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    proc = subprocess.run(
        [binary, "stdin", "stdout", *args], input=image, capture_output=True, timeout=timeout, env=env, check=False
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"tesseract exited {proc.returncode}: {' | '.join(detail[-3:])[:300]}")
    return proc.stdout.decode("utf-8", "replace")


def _common(dpi: int, tessdata: str | None) -> list[str]:
    return ["--dpi", str(dpi)] + (["--tessdata-dir", tessdata] if tessdata else [])


def read_words(
    image: bytes, langs: str, dpi: int, psm: int = 3, tessdata: str | None = None, timeout: float = 300.0
) -> OcrPass:
    """Run Tesseract with ``langs`` (``"rus+eng"``) on a PNG/JPEG and return its words."""
    import time

    start = time.perf_counter()
    out = _run(["-l", langs, "--psm", str(psm), *_common(dpi, tessdata), "tsv"], image, timeout)
    return OcrPass(parse_tsv(out), langs, time.perf_counter() - start)


def parse_tsv(tsv: str) -> tuple[Word, ...]:
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        try:
            conf = max(0.0, float(row["conf"]))
            box = (int(row["left"]), int(row["top"]), int(row["width"]), int(row["height"]))
            line = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        except (KeyError, TypeError, ValueError):
            continue
        words.append(Word(text, conf, box, line))
    return tuple(words)


def _unspaced(ch: str) -> bool:
    """Han, kana, and CJK punctuation / full-width forms (、。「」（）)."""
    return char_script(ch) in _NO_SPACE or 0x3000 <= ord(ch) <= 0x303F or 0xFF00 <= ord(ch) <= 0xFFEF


def _joins_without_space(left: str, right: str) -> bool:
    return _unspaced(left[-1]) and _unspaced(right[0])


def words_to_text(words: tuple[Word, ...] | list[Word]) -> str:
    """Lines in Tesseract's reading order; a blank line between paragraphs; Chinese/Japanese runs unspaced."""
    out: list[str] = []
    previous: Word | None = None
    for word in words:
        if previous is None:
            out.append(word.text)
        elif word.line == previous.line:
            out.append(word.text if _joins_without_space(previous.text, word.text) else " " + word.text)
        elif word.line[:2] == previous.line[:2]:
            out.append("\n" + word.text)
        else:
            out.append("\n\n" + word.text)
        previous = word
    return "".join(out)


def detect_orientation_script(
    image: bytes, dpi: int, tessdata: str | None = None, timeout: float = 120.0
) -> Osd | None:
    """Tesseract's OSD (``--psm 0``); None when it cannot tell (too few characters, no ``osd`` pack)."""
    try:
        out = _run(["--psm", "0", *_common(dpi, tessdata)], image, timeout)
    except (RuntimeError, subprocess.TimeoutExpired):
        return None
    fields = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    try:
        return Osd(
            rotate=int(fields["Rotate"]) % 360,
            orientation_confidence=float(fields["Orientation confidence"]),
            script=OSD_SCRIPTS.get(fields["Script"].strip()),
            script_confidence=float(fields["Script confidence"]),
        )
    except (KeyError, ValueError):
        return None
