"""Language identification with a fastText model, returning corpus codes ``iso639_3_Script`` (e.g. ``zho_Hans``).

The model is swappable: the bundled lid.176 (labels ``__label__en``) by default, or a GlotLID / OpenLID model file
by path or URL (labels ``__label__eng_Latn``). The label format is read off the model's labels (or forced with
``label_format``), and every label is mapped to a registry code (``curation.text.languages``): lid.176's ``ar`` becomes
``arb_Arab``, OpenLID-v2's ``cmn_Hans`` becomes ``zho_Hans``; labels outside the registry stay usable as their own
code. Where a label does not fix the script, the text's own letters do (``curation.text.scripts``): Serbian in Latin or
Cyrillic, Chinese in simplified or traditional characters end up in different buckets.

The model is loaded once per instance (build it in ``DoFn.setup``), and a batch is one fastText ``predict`` call.
Preparation cleans a window of about ``MAX_CHARS`` characters per text, the whole batch in one vectorised pass,
so the whole call stays within 1.2x of fastText's own predict on the same strings (benchmarks/langid_throughput.py).
"""

from __future__ import annotations

import csv
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from curation.model_store import resolve_model
from curation.text.languages import (
    ALTERNATE_SCRIPTS,
    CODE,
    HAN_LABELS,
    LABEL_FORMATS,
    LABEL_PREFIX,
    LabelTarget,
    detect_label_format,
    label_targets,
)
from curation.text.scripts import dominant_script, han_variant
from curation.text.table_cache import cached_arrays

__all__ = [
    "ALTERNATE_SCRIPTS",
    "HAN_LABELS",
    "MAX_CHARS",
    "UNDETERMINED",
    "LangPrediction",
    "LanguageIdentifier",
    "load_label_table",
    "prepare_text",
    "prepare_texts",
    "resolve_script",
]

UNDETERMINED = "und_Zyyy"
MAX_CHARS = 2000  # fastText averages word/n-gram vectors: a couple of thousand chars is plenty and keeps batches cheap
_LABEL_PREFIX = LABEL_PREFIX
_RAW_PER_CHAR = 1.25  # raw chars cleaned per char kept: prose loses about a tenth to digits, punctuation, spaces
_SCRIPT_SAMPLE = 500  # letters read to tell the script of a label written in several
_NOISY_SHARE = 0.75  # a window that cleans to less than this share of max_chars is retried 4x wider


@dataclass(frozen=True)
class LangPrediction:
    """Top language of one text; ``top_k`` holds the ``k`` best (lang, score) pairs, best first."""

    lang: str  # ISO 639-3 + "_" + ISO 15924, e.g. "eng_Latn"; "und_Zyyy" for empty text
    score: float  # model probability of ``label``, 0..1
    label: str  # raw fastText label without "__label__", e.g. "en" or "eng_Latn"; "" for empty text
    script: str  # ISO 15924 code of ``lang``
    top_k: tuple[tuple[str, float], ...] = ()


@cache
def load_label_table() -> dict[str, tuple[str, str]]:
    """lid.176 code (``"en"``, without ``__label__``) -> (ISO 639-3, default script), from package data.

    The plain ISO reading of each label (``ar`` -> ``ara``); predictions go through the registry instead, which
    maps the labels of the 119 registry languages to their registry codes (``ar`` -> ``arb``).
    """
    text = resources.files("curation.text").joinpath("lid176_labels.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return {row["label"].removeprefix(_LABEL_PREFIX): (row["iso639_3"], row["script"]) for row in rows}


@cache
def _noise_lut() -> np.ndarray:
    """Boolean table over all code points: True for noise (Unicode categories N, P, S, C, Z: digits, punctuation,
    symbols, controls, separators); letters and combining marks are words. Built once per machine (~0.15 s)."""
    return cached_arrays("lid-noise", [__file__], lambda: {"lut": _build_noise_lut()})["lut"]


def _build_noise_lut() -> np.ndarray:
    return np.fromiter(
        (unicodedata.category(chr(cp))[0] in "NPSCZ" for cp in range(sys.maxunicode + 1)),
        dtype=bool,
        count=sys.maxunicode + 1,
    )


# Marks that belong to words, kept as fastText saw them in its training text (typographic forms become ASCII):
# hyphens and the middle dot between two letters (Asturian ``nun-y``, Catalan ``col·lecció``), apostrophes next to
# a letter (Asturian ``qu'el``, French ``l'eau``, Afrikaans ``'n``). Dropping them turned Asturian into Spanish.
_WORD_INTERNAL = {ord("'"): ord("'"), 0x2019: ord("'"), ord("-"): ord("-"), 0x2010: ord("-"), 0x00B7: 0x00B7}
_INTERNAL_CODES = np.array(sorted(_WORD_INTERNAL), dtype=np.uint32)
_INTERNAL_AS = np.array([_WORD_INTERNAL[c] for c in sorted(_WORD_INTERNAL)], dtype=np.uint32)
_APOSTROPHE = ord("'")


def _clean_batch(texts: list[str]) -> list[str]:
    """Lower-cased letters and marks only (and apostrophes, hyphens and middle dots between two letters), single
    spaces, stripped: all texts in one vectorised pass.

    The texts are joined with NUL, lower-cased and viewed as UTF-32 code points; a lookup table marks noise, each
    run of noise becomes one space (runs at a text's start are dropped), the NULs are kept as separators, and the
    result is decoded back and split. A handful of C-speed passes per batch replace a regex or ``str.translate``
    call per text, whose per-character work costs about as much as fastText's own predict on short texts.
    """
    if not texts:
        return []
    joined = "\0".join(texts)
    if joined.count("\0") != len(texts) - 1:  # NUL inside a text: it is noise, not a separator
        joined = "\0".join(t.replace("\0", " ") for t in texts)
    codes = np.frombuffer(joined.lower().encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if not len(codes):
        return [""]
    noise = _noise_lut()[codes]
    slot = np.minimum(np.searchsorted(_INTERNAL_CODES, codes), len(_INTERNAL_CODES) - 1)
    candidate = _INTERNAL_CODES[slot] == codes
    if candidate[1:-1].any():
        ascii_form = _INTERNAL_AS[slot]
        word = ~noise  # NUL separators are noise
        between = word[:-2] & word[2:]
        beside = (word[:-2] | word[2:]) & (ascii_form[1:-1] == _APOSTROPHE)
        inner = np.zeros(len(codes), dtype=bool)
        inner[1:-1] = candidate[1:-1] & (between | beside)
        if inner.any():
            codes = np.where(inner, ascii_form, codes)
            noise = noise & ~inner
    keep = ~noise
    keep[1:] |= noise[1:] & keep[:-1]  # first char of each noise run (its predecessor is kept iff it is no noise)
    keep[0] = not noise[0]
    spaced = np.where(noise, np.uint32(0x20), codes)
    seps = np.flatnonzero(codes == 0)
    keep[seps] = True  # NUL is noise: a noise run after it is a text's leading run, dropped above
    spaced[seps] = 0
    out = spaced[keep].tobytes().decode("utf-32-le").replace(" \0", "\0")  # no trailing space
    return out.rstrip(" ").split("\0")


def _cut_words(words: str) -> str:
    """Drop the first and last word, which a window cut through (kept when that leaves nothing)."""
    return words.partition(" ")[2].rpartition(" ")[0] or words


def prepare_texts(texts: list[str], max_chars: int = MAX_CHARS) -> list[str]:
    """:func:`prepare_text` of every text, cleaned in one vectorised pass."""
    window = int(max_chars * _RAW_PER_CHAR) + 1
    cut = [i for i, t in enumerate(texts) if len(t) > window]
    if cut:
        texts_in = list(texts)
        for i in cut:
            texts_in[i] = _middle_window(texts[i], window)
    words = _clean_batch(texts_in if cut else texts)
    noisy = []
    for i in cut:
        words[i] = _cut_words(words[i])
        if len(words[i]) < _NOISY_SHARE * max_chars:
            noisy.append(i)
    if noisy:  # mostly noise (tables, dot leaders): look at a 4x wider window
        wide = _clean_batch([_middle_window(texts[i], 4 * window) for i in noisy])
        for i, w in zip(noisy, wide, strict=True):
            words[i] = w if len(texts[i]) <= 4 * window else _cut_words(w)
    for i in [i for i, w in enumerate(words) if len(w) > max_chars]:
        words[i] = _middle(words[i], max_chars)
    return words


def _middle_window(text: str, width: int) -> str:
    start = max(0, (len(text) - width) // 2)
    return text[start : start + width]


def _middle(words: str, max_chars: int) -> str:
    """The middle ``max_chars`` of a cleaned string, without the words cut at either end."""
    start = (len(words) - max_chars) // 2
    return _cut_words(words[start : start + max_chars])


def prepare_text(text: str, max_chars: int = MAX_CHARS) -> str:
    """Lower-cased words only (letters and combining marks), single spaces, one line, at most ``max_chars``.

    fastText rejects ``\\n``; digits, punctuation and dot leaders (PDF tables of contents) pull lid.176 towards
    English, so they go. The window is taken from the middle, skipping title pages, headers and licence
    boilerplate, which are often in another language; only that window is cleaned (documents can be megabytes
    long), widened once when it is mostly noise. Empty result: the text has no letters to identify.
    """
    return prepare_texts([text], max_chars)[0]


def resolve_script(label: str, default_script: str, text: str, detected: str | None = None) -> str:
    """Script for a predicted lid.176 label: Han variant for Chinese, detected script where the language allows it.

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
    """fastText LID over batches of plain strings.

    ``model``: a known name (``lid.176``), a local path or a remote URL. ``label_format``: ``auto`` (read off the
    model's labels), ``code`` (lid.176 style ``__label__en``) or ``code_script`` (GlotLID / OpenLID
    ``__label__eng_Latn``).
    """

    def __init__(self, model: str = "lid.176", k: int = 1, label_format: str = "auto"):
        import fasttext  # heavy native module: imported when a worker builds the identifier, not at import time

        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if label_format != "auto" and label_format not in LABEL_FORMATS:
            raise ValueError(f"label_format must be auto or one of {LABEL_FORMATS}, got {label_format!r}")
        self.k = k
        self.model = fasttext.load_model(str(resolve_model(model)))
        labels = self.model.get_labels()
        self.label_format = detect_label_format(labels) if label_format == "auto" else label_format
        self.table = load_label_table()
        targets = label_targets(labels, self.label_format, fallback=self.table if self.label_format == CODE else None)
        # full fastText label -> (bare label, target); fixed-script targets also get their final code up front
        self.targets: dict[str, tuple[str, LabelTarget]] = {
            _LABEL_PREFIX + label: (label, target) for label, target in targets.items()
        }
        self._fixed = {full: target.code for full, (_, target) in self.targets.items() if not target.detect}
        self._names = {full: label for full, (label, _) in self.targets.items()}

    def _lang(self, full_label: str, text: str, detected: list[str]) -> tuple[str, str]:
        """(code, script) of one predicted label; ``detected`` caches the text's dominant script across top-k."""
        code = self._fixed.get(full_label)
        if code is not None:
            return code, code[-4:]
        target = self.targets[full_label][1]
        if target.detect == "han":
            script = han_variant(text, default=target.script if target.script in ("Hans", "Hant") else "Hans")
        else:
            if not detected:  # a few hundred letters settle the script; the text is letters only by now
                detected.append(dominant_script(text, sample_chars=_SCRIPT_SAMPLE))
            script = detected[0]
            if target.detect == "alternate" and script not in target.allowed:
                script = target.script
        return f"{target.iso639_3}_{script}", script

    def predict_batch(self, texts: list[str]) -> list[LangPrediction]:
        """One prediction per text, in order; texts without letters (empty, blank, digits only) get ``und_Zyyy``, 0."""
        prepared = prepare_texts(texts)
        todo = [i for i, p in enumerate(prepared) if p]
        out = [LangPrediction(UNDETERMINED, 0.0, "", "Zyyy")] * len(texts)
        if not todo:
            return out
        labels, probs = self.model.predict([prepared[i] for i in todo], k=self.k)
        names, fixed = self._names, self._fixed
        # softmax can overshoot 1 by 1e-5; with k > 1 fastText may return fewer than k labels for a text (ragged rows)
        if self.k == 1:
            scores = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0).tolist()
        else:
            scores = [[min(max(float(p), 0.0), 1.0) for p in row] for row in probs]
        for i, labs, ps in zip(todo, labels, scores, strict=True):
            if not len(labs):
                continue  # no label above fastText's threshold: stays undetermined
            lab = labs[0]
            code = fixed.get(lab)
            if code is not None and len(labs) == 1:  # k = 1 and a fixed script: the common case, kept lean
                out[i] = LangPrediction(code, ps[0], names[lab], code[-4:], ((code, ps[0]),))
                continue
            text, detected = prepared[i], []
            ranked = [(*self._lang(lab, text, detected), p) for lab, p in zip(labs, ps, strict=True)]
            code, script, score = ranked[0]
            out[i] = LangPrediction(code, score, names[lab], script, tuple((c, p) for c, _, p in ranked))
        return out

    def predict(self, text: str) -> LangPrediction:
        """Single-text convenience wrapper over :meth:`predict_batch`."""
        return self.predict_batch([text])[0]
