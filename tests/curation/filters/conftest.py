"""Real texts shared by the filter tests: repo fixtures (always present) and Debian files (skipped when absent)."""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path

import pytest

from curation.config_merge import merged_filter_config
from curation.filters import build_filters
from curation.text.normalize import fold_whitespace, normalize_text

MIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "mixture"
PROSE = Path(__file__).resolve().parents[2] / "fixtures" / "filters"
SHORT_SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample" / "text" / "short.jsonl"
GPL3 = Path("/usr/share/common-licenses/GPL-3")


def fixture_text(name: str) -> str:
    return filter_view((MIXTURE / name).read_text(encoding="utf-8"))


def prose(lang: str) -> str:
    """A section of running prose in ``lang`` (xxx_Scrp) from Debian manuals / man pages (fixtures/filters)."""
    return filter_view((PROSE / f"prose.{lang}.txt").read_text(encoding="utf-8"))


def prose_languages() -> list[str]:
    return sorted(p.name.split(".")[1] for p in PROSE.glob("prose.*.txt"))


def sample_docs(prefix: str) -> list[dict]:
    """Documents of the bundled sample's short.jsonl (real short and junk texts) whose id starts with ``prefix``."""
    lines = SHORT_SAMPLE.read_text(encoding="utf-8").splitlines()
    docs = [json.loads(line) for line in lines if line.strip()]
    return [{**d, "text": normalize_text(d["text"])} for d in docs if d["id"].startswith(prefix)]


def filter_view(text: str) -> str:
    """What ``apply_filters`` hands the filters: the normalised text with its whitespace folded."""
    return fold_whitespace(normalize_text(text))


def system_text(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"{path} not on this machine")
    return filter_view(path.read_text(encoding="utf-8"))


def mo_text(lang: str, domain: str) -> str:
    """Translated messages of an installed gettext catalogue, one per paragraph (real text in that language)."""
    path = Path(f"/usr/share/locale/{lang}/LC_MESSAGES/{domain}.mo")
    if not path.is_file():
        pytest.skip(f"{path} not on this machine")
    with path.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog  # the parsed msgid -> msgstr table
    return filter_view("\n\n".join(v.strip() for k, v in catalog.items() if k and isinstance(v, str) and v.strip()))


def faq_section() -> str:
    """Body of the Debian FAQ's section 1.2 ("What is Debian GNU/Linux?"): several paragraphs of plain prose."""
    pattern = r"^1\.2\.\s+What is Debian GNU/Linux\?\n(.+?)\n1\.3\.\s"  # headings at column 0 (the ToC is indented)
    match = re.search(pattern, fixture_text("debian-faq.en.txt"), re.M | re.S)
    assert match, "section 1.2 not found in the FAQ fixture"
    return match[1].strip()


def faq_paragraph() -> str:
    """The longest paragraph of that section."""
    return max(re.split(r"\n[ \t]*\n", faq_section()), key=len).strip()


@pytest.fixture(scope="module")
def default_filters():
    return build_filters(merged_filter_config({}))
