"""Language identification with fastText lid.176, returning corpus codes ``iso639_3_Script`` (e.g. ``zho_Hans``).

fastText names a language only; the script comes from the text's own letters (``curation.scripts``), so Serbian
in Latin and Cyrillic, or Chinese in simplified and traditional characters, end up in different buckets.
The model is loaded once per instance (build it in ``DoFn.setup``), and a batch is one fastText ``predict`` call.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from curation.model_store import resolve_model
from curation.scripts import dominant_script, han_variant

UNDETERMINED = "und_Zyyy"
MAX_CHARS = 2000  # lid.176 averages word/n-gram vectors: a couple of thousand chars is plenty and keeps batches cheap
_LABEL_PREFIX = "__label__"
_WS = re.compile(r"\s+")

# Labels whose language is routinely written in more than one script: the detected script is used when it is one
# of these, otherwise the table's default (a stray Latin-heavy page of Russian does not become rus_Latn).
ALTERNATE_SCRIPTS: dict[str, frozenset[str]] = {
    "sr": frozenset({"Cyrl", "Latn"}),
    "sh": frozenset({"Latn", "Cyrl"}),
    "bs": frozenset({"Latn", "Cyrl"}),
    "be": frozenset({"Cyrl", "Latn"}),
    "az": frozenset({"Latn", "Cyrl", "Arab"}),
    "uz": frozenset({"Latn", "Cyrl", "Arab"}),
    "kk": frozenset({"Cyrl", "Latn", "Arab"}),
    "ky": frozenset({"Cyrl", "Latn", "Arab"}),
    "tk": frozenset({"Latn", "Cyrl", "Arab"}),
    "tg": frozenset({"Cyrl", "Latn", "Arab"}),
    "tt": frozenset({"Cyrl", "Latn"}),
    "ug": frozenset({"Arab", "Cyrl", "Latn"}),
    "ku": frozenset({"Latn", "Arab", "Cyrl"}),
    "ckb": frozenset({"Arab", "Latn"}),
    "mn": frozenset({"Cyrl", "Mong"}),
    "pa": frozenset({"Guru", "Arab"}),
    "sd": frozenset({"Arab", "Deva"}),
    "ms": frozenset({"Latn", "Arab"}),
    "gom": frozenset({"Deva", "Latn", "Knda"}),
    "hif": frozenset({"Latn", "Deva"}),
}
HAN_LABELS = frozenset({"zh", "yue", "wuu"})  # script decided by simplified vs traditional characters


@dataclass(frozen=True)
class LangPrediction:
    """Top language of one text; ``top_k`` holds the ``k`` best (lang, score) pairs, best first."""

    lang: str  # ISO 639-3 + "_" + ISO 15924, e.g. "eng_Latn"; "und_Zyyy" for empty text
    score: float  # model probability of ``label``, 0..1
    label: str  # raw fastText code, e.g. "en"; "" for empty text
    script: str  # ISO 15924 code of ``lang``
    top_k: tuple[tuple[str, float], ...] = ()


@cache
def load_label_table() -> dict[str, tuple[str, str]]:
    """fastText code (``"en"``, without ``__label__``) -> (ISO 639-3, default script), from package data."""
    text = resources.files("curation").joinpath("lid176_labels.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return {row["label"].removeprefix(_LABEL_PREFIX): (row["iso639_3"], row["script"]) for row in rows}


class _NoiseTable(dict):
    """``str.translate`` table, filled on demand: digits, punctuation, symbols, controls, separators -> space."""

    def __missing__(self, cp: int) -> int:
        self[cp] = value = 0x20 if unicodedata.category(chr(cp))[0] in "NPSCZ" else cp
        return value


_NOISE = _NoiseTable()


def prepare_text(text: str, max_chars: int = MAX_CHARS) -> str:
    """Lower-cased words only (letters and combining marks), single spaces, one line, at most ``max_chars``.

    fastText rejects ``\n``; digits, punctuation and dot leaders (PDF tables of contents) pull lid.176 towards
    English, so they go. The window is taken from the middle, skipping title pages, headers and licence
    boilerplate, which are often in another language. Empty result: the text has no letters to identify.
    """
    if len(text) > 4 * max_chars:  # clean only a window: documents can be megabytes long
        start = (len(text) - 4 * max_chars) // 2
        text = text[start : start + 4 * max_chars]
    words = _WS.sub(" ", text.translate(_NOISE)).strip().lower()
    if len(words) <= max_chars:
        return words
    start = (len(words) - max_chars) // 2
    return words[start : start + max_chars]


def resolve_script(label: str, default_script: str, text: str, detected: str | None = None) -> str:
    """Script for a predicted label: Han variant for Chinese, detected script where the language allows it.

    ``detected`` is ``dominant_script(text)`` when the caller already has it.
    """
    if label in HAN_LABELS:
        return han_variant(text, default=default_script if default_script in ("Hans", "Hant") else "Hans")
    allowed = ALTERNATE_SCRIPTS.get(label)
    if allowed:
        detected = dominant_script(text) if detected is None else detected
        if detected in allowed:
            return detected
    return default_script


class LanguageIdentifier:
    """fastText LID over batches of plain strings; ``model`` is a known name, a local path or a remote URL."""

    def __init__(self, model: str = "lid.176", k: int = 1):
        import fasttext  # heavy native module: imported when a worker builds the identifier, not at import time

        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.model = fasttext.load_model(str(resolve_model(model)))
        self.table = load_label_table()

    def _lang(self, label: str, text: str, detected: str | None) -> tuple[str, str]:
        iso, default_script = self.table.get(label, (label, "Zyyy"))  # a custom model's unknown label stays usable
        script = resolve_script(label, default_script, text, detected)
        return f"{iso}_{script}", script

    def predict_batch(self, texts: list[str]) -> list[LangPrediction]:
        """One prediction per text, in order; texts without letters (empty, blank, digits only) get ``und_Zyyy``, 0."""
        prepared = [prepare_text(t) for t in texts]
        todo = [i for i, p in enumerate(prepared) if p]
        out = [LangPrediction(UNDETERMINED, 0.0, "", "Zyyy")] * len(texts)
        if not todo:
            return out
        labels, probs = self.model.predict([prepared[i] for i in todo], k=self.k)
        for i, labs, ps in zip(todo, labels, probs, strict=True):
            text = prepared[i]
            ranked = [
                (lab.removeprefix(_LABEL_PREFIX), min(max(float(p), 0.0), 1.0)) for lab, p in zip(labs, ps, strict=True)
            ]
            detected = dominant_script(text) if any(lab in ALTERNATE_SCRIPTS for lab, _ in ranked) else None
            top_label, top_score = ranked[0]
            lang, script = self._lang(top_label, text, detected)
            top_k = tuple((self._lang(lab, text, detected)[0], p) for lab, p in ranked)
            out[i] = LangPrediction(lang, top_score, top_label, script, top_k)
        return out

    def predict(self, text: str) -> LangPrediction:
        """Single-text convenience wrapper over :meth:`predict_batch`."""
        return self.predict_batch([text])[0]
