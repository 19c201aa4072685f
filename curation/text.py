"""Text decoding and Unicode normalisation, shared by every source so the same bytes always give the same text."""

from __future__ import annotations

import hashlib
import re
import unicodedata


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


# Control characters except tab/newline/CR, private-use, surrogates, unassigned, and U+FFFD (a lossy decode upstream).
_JUNK_CATEGORIES = frozenset({"Cc", "Co", "Cs", "Cn"})
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")


def junk_ratio(text: str) -> float:
    """Share of characters that no real text contains: control, private-use, unassigned or replacement characters."""
    if not text:
        return 0.0
    junk = 0
    for ch in text:
        if ch == "\ufffd" or (unicodedata.category(ch) in _JUNK_CATEGORIES and ch not in _ALLOWED_CONTROLS):
            junk += 1
    return junk / len(text)


_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile("[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_TRAILING = re.compile(" +\n")
_BLANK_RUNS = re.compile("\n{3,}")


def normalize_text(text: str) -> str:
    """NFC, unified newlines, no invisible/control characters, runs of spaces and blank lines collapsed.

    NFC (not NFKC) keeps compatibility characters such as full-width CJK punctuation and ligatures the author wrote;
    zero-width joiners are kept because Indic and Arabic-script orthography needs them.
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n"))
    text = _INVISIBLE.sub("", text)
    text = _CONTROLS.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _TRAILING.sub("\n", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


def content_hash(text: str) -> str:
    """Exact-duplicate key of a normalised text: blake2b-128 over whitespace-collapsed, case-kept UTF-8."""
    return hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=16).hexdigest()
