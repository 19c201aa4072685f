"""Real texts for the annotator tests, cut from the fixture files (no text is written by hand here)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

MIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "mixture"


@cache
def faq() -> str:
    """The Debian FAQ, real English prose (see tests/fixtures/mixture/SOURCES.md)."""
    return (MIXTURE / "debian-faq.en.txt").read_text(encoding="utf-8")


def faq_section(title_end: str, n_chars: int) -> str:
    """The first ``n_chars`` of the body of the FAQ section whose heading ends with ``title_end``."""
    text = faq()
    start = text.index(title_end + "\n\n") + len(title_end) + 2  # the body; table-of-contents lines have no blank line
    return text[start : start + n_chars].strip()


def faq_permission_notice() -> str:
    """The licence boilerplate at the top of the FAQ: legal text with no teaching value."""
    text = faq()
    return text[text.index("Permission is granted") : text.index("January 2021")].strip()
