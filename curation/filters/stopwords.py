"""Short stop-word lists for Gopher's "contains real sentences" check, keyed by ISO 639-3.

Gopher requires at least two of a handful of English function words; the lists extend that idea to every language
with a stopwords-iso list (MIT, see the licence in stopwords.tsv) and real text in the dev corpora: the twenty words
of the list that occur in the most real documents of that language (``benchmarks/filters_calibration.py`` derives
them). They are deliberately short: the check only has to tell running prose from lists, tables and keyword spam,
and a full 500-word list matches almost any text. Entries are lowercase NFC single word units, like the words they
are compared with; Chinese and Japanese lists hold single characters (see words.py). Languages without a list skip
the check.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

# Codes that share another code's list: members of a macrolanguage, close varieties written alike.
ALIASES: dict[str, str] = {
    **dict.fromkeys(("ara", "ars", "apc", "arz", "ary", "acm", "acq", "aeb", "arq", "ajp", "afb", "ayl"), "arb"),
    **dict.fromkeys(("fas", "prs"), "pes"),
    **dict.fromkeys(("msa", "mly"), "zsm"),
    **dict.fromkeys(("nor", "nno"), "nob"),
    **dict.fromkeys(("cmn", "yue", "wuu"), "zho"),
    "lav": "lvs",
    "swa": "swh",
    "ekk": "est",
    "hbs": "hrv",
    "bos": "hrv",
}


@cache
def stop_word_lists() -> dict[str, frozenset[str]]:
    """ISO 639-3 -> its list, read once from the package data file stopwords.tsv."""
    text = resources.files("curation.filters").joinpath("stopwords.tsv").read_text(encoding="utf-8")
    out: dict[str, frozenset[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            iso, _, words = line.split("\t")
            out[iso] = frozenset(words.split())
    return out


def stop_words(lang: str) -> frozenset[str] | None:
    """Stop words for an ISO 639-3 code or a ``xxx_Scrp`` tag; None when there is no list (the check is skipped).

    Serbian in Latin script uses the Croatian list (Serbian in Cyrillic has none).
    """
    iso, _, script = lang.partition("_")
    iso = iso.lower()
    if iso == "srp" and script == "Latn":
        iso = "hrv"
    return stop_word_lists().get(ALIASES.get(iso, iso))
