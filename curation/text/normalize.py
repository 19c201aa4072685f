"""Text decoding and Unicode normalisation, shared by every source so the same bytes always give the same text."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache


class DecodeError(ValueError):
    """Raw bytes that are not usable text; ``reason`` is the Rejection reason."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def decode_text(raw: bytes) -> str:
    """Strict UTF-8 (BOM allowed): a lossy decode would hide corrupt input, so invalid bytes are a rejection."""
    if b"\x00" in raw:
        raise DecodeError("binary_junk", "NUL byte in text input")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DecodeError("invalid_utf8", f"byte {err.start}: {err.reason}") from None


# Junk: control characters except tab/newline/CR/FF, private use, surrogates, unassigned, U+FFFD (a lossy decode).
_JUNK_CATEGORIES = frozenset({"Cc", "Co", "Cs", "Cn"})
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")


@lru_cache(maxsize=1 << 16)
def _is_junk(ch: str) -> bool:
    return ch == "\ufffd" or (unicodedata.category(ch) in _JUNK_CATEGORIES and ch not in _ALLOWED_CONTROLS)


def _junk_ratio(text: str, chars: set[str]) -> float:
    """junk_ratio, given the text's distinct characters (counting is per junk character: they are few)."""
    junk = [ch for ch in chars if _is_junk(ch)]
    return sum(text.count(ch) for ch in junk) / len(text) if junk and text else 0.0


def junk_ratio(text: str) -> float:
    """Share of characters that no real text contains: control, private-use, unassigned or replacement characters."""
    return _junk_ratio(text, set(text))


_INVISIBLE_CHARS = frozenset(
    "\u00ad\u200b\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_INVISIBLE = re.compile(f"[{''.join(sorted(_INVISIBLE_CHARS))}]")
_CONTROL_CHARS = frozenset(chr(c) for c in [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), *range(0x7F, 0xA0)])
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")

# Arabic/Hebrew presentation forms (glyph codes PDF and old renderers emit instead of letters) and Latin ligatures.
_PRESENTATION = re.compile("[\ufb00-\ufb06\ufb1d-\ufdff\ufe70-\ufefe]+")
_PRESENTATION_CHARS = frozenset(
    chr(c) for c in [*range(0xFB00, 0xFB07), *range(0xFB1D, 0xFE00), *range(0xFE70, 0xFEFF)]
)
_LATIN_LIGATURES = re.compile("[\ufb00-\ufb06]")


def _sloppy_chars(codecs: tuple[str, ...], byte_range: range) -> str:
    """What the bytes of ``byte_range`` read as in any of ``codecs`` (ftfy's "sloppy" code pages: an undefined
    byte reads as its Latin-1 character)."""
    out = set()
    for codec in codecs:
        for byte in byte_range:
            try:
                out.add(bytes([byte]).decode(codec))
            except UnicodeDecodeError:
                out.add(chr(byte))
    return "".join(sorted(out))


# UTF-8 read as one of ftfy's single-byte code pages: a lead-byte char followed by continuation-byte chars. Mac Roman
# and cp437, which ftfy also knows, are left out of the gate: their mojibake is rare and their byte tables make
# ordinary text (``«\u00a0``, Greek letters) look suspicious.
_MOJIBAKE_CODECS = ("latin-1", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257", "iso-8859-2")
_CONT, _LEAD2, _LEAD3, _LEAD4 = (
    _sloppy_chars(_MOJIBAKE_CODECS, r)
    for r in (range(0x80, 0xC0), range(0xC2, 0xE0), range(0xE0, 0xF0), range(0xF0, 0xF5))
)
_MOJIBAKE_LEADS = frozenset(_LEAD2 + _LEAD3 + _LEAD4)
_MOJIBAKE_HINT = re.compile(f"[{re.escape(_LEAD2 + _LEAD3 + _LEAD4)}][{re.escape(_CONT)}]")
# the right number of continuation chars for the lead (``Ã©``, ``â€™``, ``Ð¿``): the lines worth ftfy's time
_MOJIBAKE_SEQUENCE = re.compile(
    f"[{re.escape(_LEAD2)}][{re.escape(_CONT)}]|[{re.escape(_LEAD3)}][{re.escape(_CONT)}]{{2}}"
    f"|[{re.escape(_LEAD4)}][{re.escape(_CONT)}]{{3}}"
)


def repair_mojibake(text: str) -> tuple[str, int]:
    """Undo UTF-8 that was decoded as Latin-1/Windows-125x upstream (``Ã©`` → ``é``, ``Ð¿Ñ€Ð¸`` → ``при``).

    Only ftfy's encoding fixer runs (no quote uncurling, width folding, HTML unescaping or NFKC), and only on the
    lines that hold a mojibake-shaped sequence; ftfy then decides whether re-decoding makes the line better.
    Returns the text and the number of lines changed. Clean text costs one regex scan.
    """
    if text.isascii() or not _MOJIBAKE_HINT.search(text):
        return text, 0
    import ftfy

    lines = text.split("\n")
    fixed = 0
    for i, line in enumerate(lines):
        if _MOJIBAKE_SEQUENCE.search(line):
            repaired = ftfy.fix_encoding(line)
            if repaired != line:
                lines[i] = repaired
                fixed += 1
    return ("\n".join(lines), fixed) if fixed else (text, 0)


def repair_presentation_forms(text: str) -> tuple[str, int, int]:
    """NFKC exactly the Arabic/Hebrew presentation forms and Latin ligatures (ﻻ → لا, ﬁ → fi), nothing else.

    A whole-text NFKC would also fold full-width CJK punctuation, superscripts and compatibility ideographs, which
    changes text that was right. Returns the text and how many presentation-form and ligature characters changed.
    """
    if text.isascii() or not _PRESENTATION.search(text):
        return text, 0, 0
    forms = ligatures = 0

    def fold(match: re.Match[str]) -> str:
        nonlocal forms, ligatures
        run = match.group()
        folded = unicodedata.normalize("NFKC", run)
        if folded != run:
            n_lig = len(_LATIN_LIGATURES.findall(run))
            ligatures += n_lig
            forms += len(run) - n_lig
        return folded

    return _PRESENTATION.sub(fold, text), forms, ligatures


REPAIRS = ("newlines", "mojibake_lines", "presentation_forms", "ligatures", "nfc", "controls", "invisible")
JUNK_SAMPLE = 100_000  # chars of a text its junk ratio is measured on


@dataclass(frozen=True)
class Normalized:
    """Normalised text and what it took: ``repairs`` maps a kind from REPAIRS to a count (absent = nothing done).

    ``newlines``: CRLF / CR line ends made LF; ``mojibake_lines``: lines re-decoded by ftfy; ``presentation_forms`` /
    ``ligatures``: characters folded; ``nfc``: 1 when NFC changed the text; ``controls`` / ``invisible``: characters
    removed. Nothing else changes: whitespace is the author's.
    """

    text: str
    repairs: dict[str, int] = field(default_factory=dict)
    junk: float = 0.0  # junk_ratio of the first JUNK_SAMPLE chars after the repairs, before controls are dropped


def normalize(text: str) -> Normalized:
    """decode (done by the reader) → newlines → mojibake → presentation forms → NFC → invisible/control chars.

    Whitespace is kept as written: indentation, runs of spaces, tabs, blank lines, form feeds and the final newline
    carry meaning in code, Markdown tables, YAML, poetry and preformatted listings. The only whitespace repair is
    CRLF / CR → LF (``newlines``). Keys computed from the text (exact-dedup hash, MinHash shingles, decontamination
    n-grams, LID input) fold whitespace themselves. Mojibake comes first because its repair needs the original code
    points; presentation forms before NFC because NFKC of a form yields base letters plus combining marks that NFC
    then composes. The junk ratio is measured after the repairs (C1 controls that were mojibake are letters again)
    and before control characters are dropped (binary junk must still show). NFC (not NFKC) keeps compatibility
    characters the author wrote, such as full-width CJK punctuation; zero-width joiners are kept because Indic and
    Arabic-script orthography needs them. Each pass runs only when the text's distinct characters call for it (one
    ``set`` of the text decides).
    """
    repairs: dict[str, int] = {}
    if "\r" in text:
        repairs["newlines"] = text.count("\r")  # a CRLF or a lone CR: one line end each
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    chars = set(text) if not text.isascii() else None
    if chars is not None and not chars.isdisjoint(_MOJIBAKE_LEADS):
        text, repairs["mojibake_lines"] = repair_mojibake(text)
        if repairs["mojibake_lines"]:
            chars = set(text)
    if chars is not None and not chars.isdisjoint(_PRESENTATION_CHARS):
        text, repairs["presentation_forms"], repairs["ligatures"] = repair_presentation_forms(text)
        chars = set(text)
    if chars is None:
        chars = set(text)  # ASCII: at most 128 distinct chars, for the control checks below
    junk = _junk_ratio(text[:JUNK_SAMPLE], chars if len(text) <= JUNK_SAMPLE else set(text[:JUNK_SAMPLE]))
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
        repairs["nfc"] = 1
    if not chars.isdisjoint(_INVISIBLE_CHARS):
        text, repairs["invisible"] = _INVISIBLE.subn("", text)
    if not chars.isdisjoint(_CONTROL_CHARS):
        text, repairs["controls"] = _CONTROLS.subn("", text)
    return Normalized(text, {k: v for k, v in repairs.items() if v}, junk)


def normalize_text(text: str) -> str:
    """``normalize(text).text``: NFC, repaired mojibake and presentation forms, no invisible/control characters,
    LF newlines; whitespace otherwise as written."""
    return normalize(text).text


# horizontal whitespace other than one plain space: runs of two or more, or any single tab / no-break / wide space
_SPACE_CLASS = "\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_SPACES = re.compile(f" [ {_SPACE_CLASS}]+|[{_SPACE_CLASS}][ {_SPACE_CLASS}]*")


def fold_whitespace(text: str) -> str:
    """A key of the text for measurements that read prose layout (quality filters): runs of spaces, tabs and
    no-break spaces as one space, form feeds as newlines, at most one blank line, no outer whitespace. Never stored:
    the documents keep the author's whitespace (``normalize``)."""
    text = _SPACES.sub(" ", text.replace("\f", "\n")).replace(" \n", "\n")
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def is_blank(text: str) -> bool:
    """Nothing but whitespace (such a document is ``empty_text``)."""
    return not text or text.isspace()


def content_hash(text: str) -> str:
    """Exact-duplicate key of a normalised text: blake2b-128 over whitespace-collapsed, case-kept UTF-8."""
    return hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=16).hexdigest()
