"""Document-level language decision over fastText LID: script priors, short texts, paragraph voting, thresholds.

A LID model answers "which training language is this string most like". A corpus needs more: one label per document,
how sure it is, and whether the document is really two languages. Each step fixes a failure measured on real text
(``benchmarks/langid_accuracy.py``, which also gives each step's gain and cost) and can be switched off in config:

* script prior: a language is a candidate only if the text is written in its script, and top-k is re-ranked:
  Cyrillic text is never labelled with a Latin-only language, kana is never Chinese, ten kanji without one kana
  are not Japanese; Chinese is split into Hans/Hant by which national charset (GB2312, Big5) holds its characters;
* short texts: below ``min_letters`` the model's answer is a guess. A declared language (from the source) enters as
  a Bayesian prior: it wins unless the model clearly sees another language. Without one the model's score stands
  by default: scaling it down by length ranks texts worse at equal coverage (benchmark), ``und`` drops them all;
* paragraph vote: a long document is split into chunks, the chunks of every document of a batch go into ONE
  ``predict_batch`` call, and they vote weighted by their letters. The shares of the top languages are kept, so a
  mixed document is visible;
* confidence threshold: a default plus per-language overrides; below it the document is ``und_Zyyy`` with its best
  guess kept in ``best`` (the pipeline rejects it as ``low_confidence``).

Pure Python + numpy over a :class:`curation.text.langid.LanguageIdentifier` built once per worker; no Beam here.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

import numpy as np

from curation.text import languages as registry
from curation.text import scripts as scripts_module
from curation.text.langid import MAX_CHARS, LanguageIdentifier, load_label_table, prepare_texts
from curation.text.scripts import TRACKED_SCRIPTS, char_script, han_variant
from curation.text.table_cache import cached_arrays

UNDETERMINED = "und_Zyyy"

# Language tags lid.176 has no label for (its labels and the registry cover the rest), for declared languages.
_EXTRA_CODES = {"nb": ("nob", "Latn"), "ig": ("ibo", "Latn"), "ha": ("hau", "Latn"), "zu": ("zul", "Latn"),
                "xh": ("xho", "Latn"), "rw": ("kin", "Latn"), "ny": ("nya", "Latn"), "ti": ("tir", "Ethi"),
                "om": ("orm", "Latn"), "kab": ("kab", "Latn"), "udm": ("udm", "Cyrl")}  # fmt: skip
_SCRIPT_SUBTAGS = {"latin": "Latn", "cyrillic": "Cyrl", "latn": "Latn", "cyrl": "Cyrl", "arab": "Arab",
                   "hans": "Hans", "hant": "Hant", "deva": "Deva"}  # fmt: skip
_HANT_REGIONS = frozenset({"tw", "hk", "mo"})

# Letter scripts (as ``curation.text.scripts`` counts them) that a code's script is written with.
_LETTER_SCRIPTS = {
    "Jpan": ("Hira", "Kana", "Hani"), "Hans": ("Hani",), "Hant": ("Hani",), "Hani": ("Hani",),
    "Kore": ("Hang", "Hani"), "Hang": ("Hang",),
}  # fmt: skip
# Scripts that only one registry language writes: a text in them needs no model to be named.
SINGLE_LANGUAGE_SCRIPTS = {
    "Hang": "kor_Hang", "Hira": "jpn_Jpan", "Kana": "jpn_Jpan", "Grek": "ell_Grek", "Thai": "tha_Thai",
    "Geor": "kat_Geor", "Armn": "hye_Armn", "Khmr": "khm_Khmr", "Laoo": "lao_Laoo", "Mymr": "mya_Mymr",
    "Sinh": "sin_Sinh", "Taml": "tam_Taml", "Telu": "tel_Telu", "Knda": "kan_Knda", "Mlym": "mal_Mlym",
    "Gujr": "guj_Gujr", "Guru": "pan_Guru", "Orya": "ory_Orya",
}  # fmt: skip
_CJK = frozenset({"Hani", "Hira", "Kana", "Hang"})
_CJK_WEIGHT = 3  # a CJK character or Hangul syllable carries about as much text as a short Latin word
_KANA_SHARE = 0.15  # as curation.text.scripts: Japanese prose is 30-60 % kana, Chinese quoting a name is far below
_JPAN_MAX_KANJI_WITHOUT_KANA = 10  # lid.176 calls classical and terse Chinese Japanese; Japanese has kana
_HAN_SCRIPTS = ("Hans", "Hant", "Hani")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")


# ---------------------------------------------------------------- codes


@cache
def _macro_to_individual() -> dict[str, str]:
    """lid.176's plain ISO reading of a label (``ar`` -> ``ara``) -> the registry's language for it (``arb``)."""
    out = {"mon": "khk", "kur": "kmr", "pus": "pbt"}  # outside the registry: the usual individual language
    for label, (iso, _) in load_label_table().items():
        rows = registry.by_label("lid176", label)
        if rows and rows[0].iso639_3 != iso:
            out[iso] = rows[0].iso639_3
    return out


def canonical_code(code: str) -> str:
    """``ara_Arab`` -> ``arb_Arab``: the registry's language for a macrolanguage code, anything else unchanged."""
    iso, sep, script = code.partition("_")
    return f"{_macro_to_individual().get(iso, iso)}{sep}{script}"


def declared_code(tag: str) -> str:
    """A declared language as a corpus code: ``pt-BR``/``pt_BR`` -> ``por_Latn``, ``sr@latin`` -> ``srp_Latn``,
    ``zh_TW`` -> ``zho_Hant``, ``ar`` -> ``arb_Arab``, ``eng_Latn`` stays; ``und_Zyyy`` if it is not a language.

    The script is the tag's when it has one, else the registry's (lid.176's table, then ``Zyyy``, outside it).
    """
    tag = tag.strip()
    if registry.CODE_SCRIPT_RE.match(tag):
        return canonical_code(tag)
    main, _, modifier = tag.partition("@")
    parts = [p for p in re.split(r"[-_]", main) if p]
    if not parts or not re.fullmatch(r"[A-Za-z]{2,3}", parts[0]):
        return UNDETERMINED
    lang = parts[0].lower()
    script = None
    for sub in [*parts[1:], modifier]:
        low = sub.lower()
        if low in _SCRIPT_SUBTAGS:
            script = _SCRIPT_SUBTAGS[low]
        elif low in _HANT_REGIONS:
            script = "Hant"
    rows = registry.by_label("lid176", lang) or registry.by_iso639_3(lang)
    if rows:
        row = next((r for r in rows if r.script == script), rows[0])
        return f"{row.iso639_3}_{script or row.script}"
    iso, default = load_label_table().get(lang) or _EXTRA_CODES.get(lang) or (lang, "Zyyy")
    if len(iso) != 3:
        return UNDETERMINED
    return canonical_code(f"{iso}_{script or default}")


def _code_script(code: str) -> str:
    return code.split("_", 1)[1] if "_" in code else "Zyyy"


def _iso(code: str) -> str:
    return code.split("_", 1)[0]


# ---------------------------------------------------------------- scripts


@cache
def _script_table() -> tuple[np.ndarray, tuple[str, ...]]:
    """Code point -> script id (0 = not a tracked letter), from ``curation.text.scripts.char_script``; built once per
    machine (~0.1 s)."""
    sources = [scripts_module.__file__ or "", *_fonttools_scripts()]
    table = cached_arrays("lid-scripts", sources, _build_script_table)
    return table["lut"], tuple(str(name) for name in table["names"])


def _build_script_table() -> dict[str, np.ndarray]:
    lut = np.zeros(0x110000, dtype=np.uint8)
    names: dict[str, int] = {}
    letter_script = char_script.__wrapped__  # the uncached function: 200k one-off look-ups would flush its cache
    for cp in range(0x32000):  # the highest tracked range (CJK extension G) ends below this
        script = letter_script(chr(cp))
        if script is not None:
            lut[cp] = names.setdefault(script, len(names) + 1)
    return {"lut": lut, "names": np.array(["", *names])}


def _fonttools_scripts() -> list[str]:
    """fontTools' Scripts.txt table (``char_script`` falls back on it), found without importing fontTools."""
    spec = importlib.util.find_spec("fontTools")
    if spec is None or not spec.submodule_search_locations:
        return []
    path = os.path.join(next(iter(spec.submodule_search_locations)), "unicodedata", "Scripts.py")
    return [path] if os.path.exists(path) else []


def batch_script_counts(texts: Sequence[str]) -> list[Counter[str]]:
    """Letters per script of each text (as ``curation.text.scripts.script_counts``), in one vectorised pass."""
    return [counts for counts, _ in _scan(texts)]


def _scan(texts: Sequence[str]) -> list[tuple[Counter[str], tuple[int, int]]]:
    """Per text: letters per script, and (simplified-only, traditional-only) Han characters by national charset."""
    lut, names = _script_table()
    joined = "".join(texts)
    if not joined:
        return [(Counter(), (0, 0)) for _ in texts]
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    owner = np.repeat(np.arange(len(texts)), [len(t) for t in texts])
    width = len(names)
    table = np.bincount(owner * width + lut[cps], minlength=len(texts) * width).reshape(len(texts), width)
    han = np.where(cps < 0x10000, _han_table()[np.minimum(cps, 0xFFFF)], 0)
    votes = np.bincount(owner * 3 + han, minlength=len(texts) * 3).reshape(len(texts), 3)
    return [
        (Counter({names[j]: n for j, n in enumerate(row) if j and n}), (v[1], v[2]))
        for row, v in zip(table.tolist(), votes.tolist(), strict=True)
    ]


def weighted_letters(counts: Mapping[str, int]) -> int:
    """Letters, a CJK character or Hangul syllable counting three: the unit of length for votes and short texts."""
    return sum(n * (_CJK_WEIGHT if s in _CJK else 1) for s, n in counts.items())


def script_shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Share of the text per script, in weighted letters."""
    total = weighted_letters(counts)
    return {s: n * (_CJK_WEIGHT if s in _CJK else 1) / total for s, n in counts.items()} if total else {}


def script_allows(code: str, counts: Mapping[str, int], shares: Mapping[str, float], min_share: float) -> bool:
    """Whether a text with these letters can be in language ``code`` (``xxx_Scrp``), judging by script alone.

    The code's script must hold ``min_share`` of the text; kana rules out Chinese, and ten kanji without a kana rule
    out Japanese. A code without a script (a custom model's unknown label) passes.
    """
    script = _code_script(code)
    if script == "Zyyy":
        return True
    kana = counts.get("Hira", 0) + counts.get("Kana", 0)
    if script in _HAN_SCRIPTS and kana and kana >= _KANA_SHARE * (kana + counts.get("Hani", 0)):
        return False
    if script == "Jpan" and not kana and counts.get("Hani", 0) >= _JPAN_MAX_KANJI_WITHOUT_KANA:
        return False
    return sum(shares.get(s, 0.0) for s in _LETTER_SCRIPTS.get(script, (script,))) >= min_share


def _han_charset(ch: str) -> int:
    """1 for a Han character in GB2312 (simplified) but not Big5 (traditional), 2 for the reverse, else 0."""
    in_gb = in_big5 = True
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        in_gb = False
    try:
        ch.encode("big5")
    except UnicodeEncodeError:
        in_big5 = False
    return 1 if in_gb and not in_big5 else 2 if in_big5 and not in_gb else 0


@cache
def _han_table() -> np.ndarray:
    """BMP code point -> ``_han_charset`` (both charsets are BMP-only); built once per machine (~40 ms)."""
    return cached_arrays("lid-han", [__file__], lambda: {"lut": _build_han_table()})["lut"]


def _build_han_table() -> np.ndarray:
    lut = np.zeros(0x10000, dtype=np.uint8)
    for cp in (*range(0x3400, 0xA000), *range(0xF900, 0xFB00)):
        lut[cp] = _han_charset(chr(cp))
    return lut


def _variant(simplified: int, traditional: int, text: str, default: str = "Hans") -> str:
    if simplified == traditional:
        return han_variant(text, default)
    return "Hans" if simplified > traditional else "Hant"


def han_variant_by_charset(text: str, default: str = "Hans") -> str:
    """Hans or Hant by which national charset holds the text's Han characters (GB2312 or Big5): thousands of
    telling characters instead of a hand-picked list; ``curation.text.scripts.han_variant`` breaks ties."""
    _, (simplified, traditional) = _scan([text])[0]
    return _variant(simplified, traditional, text, default)


def _dominant(counts: Mapping[str, int]) -> str:
    """The text's main script in weighted letters; ``Jpan`` for Han with enough kana."""
    shares = script_shares(counts)
    if not shares:
        return "Zyyy"
    main = max(shares, key=shares.__getitem__)
    kana = counts.get("Hira", 0) + counts.get("Kana", 0)
    if main in ("Hani", "Hira", "Kana") and kana >= _KANA_SHARE * (kana + counts.get("Hani", 0)):
        return "Jpan"
    return main


# ---------------------------------------------------------------- chunks


def split_chunks(text: str, min_chars: int, max_chunks: int) -> list[str]:
    """Paragraphs (blank-line separated, else lines) merged into chunks of at least ``min_chars``; at most
    ``max_chunks`` of them, evenly spaced over the document so that its beginning, middle and end all vote."""
    pieces = [p for p in _PARAGRAPH.split(text) if p.strip()]
    if len(pieces) < 2:
        pieces = [line for line in text.splitlines() if line.strip()]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        current.append(piece)
        size += len(piece)
        if size >= min_chars:
            chunks.append("\n".join(current))
            current, size = [], 0
    if current:
        if chunks and size < min_chars // 2:
            chunks[-1] += "\n" + "\n".join(current)
        else:
            chunks.append("\n".join(current))
    if len(chunks) > max_chunks > 1:
        step = (len(chunks) - 1) / (max_chunks - 1)
        chunks = [chunks[round(i * step)] for i in range(max_chunks)]
    return chunks


# ---------------------------------------------------------------- config and result


@dataclass(frozen=True)
class DecisionConfig:
    """Switches and thresholds of the document-level decision (the ``langid:`` section of the run config)."""

    top_k: int = 5  # candidates per text that the script prior and the declared prior may pick from
    script_prior: bool = True
    script_min_share: float = 0.1  # a script is the text's if it holds this share of its (weighted) letters
    short_text: bool = True
    short_min_letters: int = 50  # below this many weighted letters the model's answer is a guess
    short_policy: str = "keep"  # without a declared language: keep (the model's score) | scale (* letters / min) | und
    declared_prior: float = 0.5  # prior probability that a short text is in its declared language
    paragraph_vote: bool = True
    vote_min_chars: int = 1500  # documents at least this long are split and voted
    vote_chunk_chars: int = 800  # paragraphs merge into chunks of at least this many chars; each is read this wide
    vote_max_chunks: int = 8  # evenly spaced chunks per document: with the window, bounds the extra predict cost
    mixed_share: float = 0.2  # a second language with this share of the letters makes a document mixed
    min_score: float = 0.0  # default confidence threshold
    min_score_per_lang: Mapping[str, float] = field(default_factory=dict)  # code (eng_Latn) or ISO 639-3 (eng)

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> DecisionConfig:
        """Flat field names, or the nested YAML form: ``script_prior: {enabled, min_share}``, ``short_text:
        {enabled, min_letters, policy, declared_prior}``, ``paragraph_vote: {enabled, min_chars, chunk_chars,
        max_chunks, mixed_share}``; other keys (``model``, ``batch_size`` ...) are ignored."""
        flat: dict[str, Any] = {}
        prefixes = {"script_prior": "script_", "short_text": "short_", "paragraph_vote": "vote_"}
        for key, value in dict(cfg or {}).items():
            if key in prefixes and isinstance(value, Mapping):
                for sub, v in value.items():
                    if sub == "enabled":
                        flat[key] = v
                    elif sub in ("declared_prior", "mixed_share"):
                        flat[sub] = v
                    elif sub != "declared_field":  # read by the pipeline, not here
                        flat[prefixes[key] + sub] = v
            else:
                flat[key] = value
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in flat or flat[f.name] is None:
                continue
            value = flat[f.name]
            if f.name == "min_score_per_lang":
                value = {str(k): float(v) for k, v in dict(value).items()}
            elif f.type in ("bool", "int", "float"):
                value = {"bool": bool, "int": int, "float": float}[f.type](value)
            kwargs[f.name] = value
        config = cls(**kwargs)
        if config.short_policy not in ("scale", "und", "keep"):
            raise ValueError(f"short_text policy must be scale, und or keep, got {config.short_policy!r}")
        if not 0.0 < config.declared_prior < 1.0:
            raise ValueError(f"declared_prior must be in (0, 1), got {config.declared_prior}")
        return config

    def threshold(self, lang: str) -> float:
        """Confidence threshold of a code: its own override, its ISO 639-3 override, else the default."""
        per = self.min_score_per_lang
        return per.get(lang, per.get(_iso(lang), self.min_score))


@dataclass(frozen=True)
class DocumentLanguage:
    """Language of one document. ``lang`` is ``und_Zyyy`` when undecided, with the best guess in ``best``."""

    lang: str
    score: float
    script: str  # ISO 15924 of ``lang``; of the text's letters when undecided
    method: str  # model | script_prior | script_default | declared | short | vote[+script_prior] | low_confidence |
    #              no_letters | unknown_script (letters of a script no model language uses: und_Java) |
    #              script_conflict (no top-k candidate in the text's script): how the label was reached (or why none)
    best: str  # best candidate, also when ``lang`` is undetermined
    threshold: float = 0.0
    shares: tuple[tuple[str, float], ...] = ()  # voted documents: letter share per language, largest first (top 3)
    n_chunks: int = 1  # texts predicted for this document
    letters: int = 0  # weighted letters the decision saw

    @property
    def undetermined(self) -> bool:
        return self.lang.startswith("und")

    @property
    def second(self) -> tuple[str, float]:
        """Second language of a voted document and its share; ("", 0.0) when there is none."""
        return self.shares[1] if len(self.shares) > 1 else ("", 0.0)


@dataclass
class _Unit:
    prepared: str
    counts: Counter[str]
    letters: int
    han: tuple[int, int]  # simplified-only, traditional-only Han characters


# ---------------------------------------------------------------- the decision


class DocumentLanguageIdentifier:
    """Document-level decisions over a :class:`LanguageIdentifier`: one ``predict_batch`` call per batch.

    The identifier's ``k`` bounds the candidates the priors can choose from (``from_config`` sets it to ``top_k``).
    """

    def __init__(self, identifier: LanguageIdentifier, cfg: DecisionConfig | Mapping[str, Any] | None = None):
        self.identifier = identifier
        self.cfg = cfg if isinstance(cfg, DecisionConfig) else DecisionConfig.from_mapping(cfg)
        self.n_labels = len(identifier.model.get_labels())
        _script_table(), _han_table()  # build the look-up tables now (worker setup), not inside the first batch

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None = None) -> DocumentLanguageIdentifier:
        """Build the identifier too, from the ``model`` and ``label_format`` keys, with ``k = top_k``."""
        config = DecisionConfig.from_mapping(cfg)
        cfg = cfg or {}
        identifier = LanguageIdentifier(
            str(cfg.get("model", "lid.176")), k=max(1, config.top_k), label_format=str(cfg.get("label_format", "auto"))
        )
        return cls(identifier, config)

    def predict(self, text: str, declared: str | None = None) -> DocumentLanguage:
        return self.predict_batch([text], [declared])[0]

    def predict_batch(
        self, texts: Sequence[str], declared: Sequence[str | None] | None = None
    ) -> list[DocumentLanguage]:
        """One decision per text, in order. ``declared``: each text's language according to its source (any tag
        :func:`declared_code` reads; None when unknown); it only weighs in on short texts."""
        cfg = self.cfg
        whole: list[tuple[int, str]] = []  # (unit index, text) for documents predicted in one piece
        parts: list[tuple[int, str]] = []  # ... and for the chunks of voted documents
        spans: list[tuple[int, int]] = []
        n = 0
        for text in texts:
            chunks = split_chunks(text, cfg.vote_chunk_chars, cfg.vote_max_chunks) if (
                cfg.paragraph_vote and len(text) >= cfg.vote_min_chars
            ) else []  # fmt: skip
            pieces = chunks if len(chunks) >= 2 else [text]
            (parts if len(pieces) > 1 else whole).extend((n + j, p) for j, p in enumerate(pieces))
            spans.append((n, n + len(pieces)))
            n += len(pieces)
        prepared = [""] * n
        for group, max_chars in ((whole, MAX_CHARS), (parts, cfg.vote_chunk_chars)):
            if group:
                for (j, _), p in zip(group, prepare_texts([t for _, t in group], max_chars), strict=True):
                    prepared[j] = p
        units = [_Unit(p, c, weighted_letters(c), han) for p, (c, han) in zip(prepared, _scan(prepared), strict=True)]
        todo = [j for j, u in enumerate(units) if u.letters]
        preds: list = [None] * n
        for j, pred in zip(todo, self._predict([prepared[j] for j in todo]), strict=True):
            preds[j] = pred
        return [
            self._decide(units[a:b], preds[a:b], declared[i] if declared is not None else None)
            for i, (a, b) in enumerate(spans)
        ]

    def _predict(self, texts: list[str]) -> list:
        """One ``predict_batch`` call; text by text only if it raises. With k > 1 fastText returns fewer than k
        labels for some texts (the rest underflow to zero: Japanese manpages), and a ``LanguageIdentifier`` that
        stacks the rows into one array fails on the whole batch; one text at a time gives the same predictions."""
        try:
            return self.identifier.predict_batch(texts)
        except ValueError:
            if len(texts) <= 1:
                raise
            return [pred for text in texts for pred in self.identifier.predict_batch([text])]

    def _candidates(self, top_k: tuple[tuple[str, float], ...], unit: _Unit) -> tuple[list, str]:
        """Top-k after the script prior: (code, probability) pairs, best first, and how the first was reached."""
        ranked = [(canonical_code(code), p) for code, p in top_k]
        if not self.cfg.script_prior or not ranked:
            return ranked, "model"
        counts = unit.counts
        if counts.get("Hani") and any(_code_script(c) in ("Hans", "Hant") for c, _ in ranked):
            variant = _variant(*unit.han, unit.prepared)
            ranked = [(f"{_iso(c)}_{variant}" if _code_script(c) in ("Hans", "Hant") else c, p) for c, p in ranked]
        shares = script_shares(counts)
        allowed: dict[str, bool] = {}  # by script: ten candidates share two or three scripts
        for c, _ in ranked:
            script = _code_script(c)
            if script not in allowed:
                allowed[script] = script_allows(c, counts, shares, self.cfg.script_min_share)
        kept = [(c, p) for c, p in ranked if allowed[_code_script(c)]]
        if kept and kept[0][0] == ranked[0][0]:
            return kept, "model"
        if kept:  # renormalised over what the script allows, plus the mass the model left outside its top k
            norm = sum(p for _, p in kept) + max(0.0, 1.0 - sum(p for _, p in ranked))
            return [(c, p / norm) for c, p in kept], "script_prior"
        main = max(shares, key=shares.__getitem__)
        if main in SINGLE_LANGUAGE_SCRIPTS:
            return [(SINGLE_LANGUAGE_SCRIPTS[main], shares[main])], "script_default"
        # no candidate is written in the text's script: say so (und_<script>) rather than name a language of another
        return [(f"und_{main}", 0.0)], "unknown_script" if main not in TRACKED_SCRIPTS else "script_conflict"

    def _declared(self, ranked: list, declared: str, counts: Mapping[str, int]) -> tuple[str, float, str]:
        """Bayes: prior ``declared_prior`` on the declared language, the rest spread evenly over the other labels.

        The declared language wins unless the model clearly sees another one (a short text gives it little to see).
        """
        prior = self.cfg.declared_prior
        iso = _iso(declared)
        matches = [(c, p) for c, p in ranked if _iso(c) == iso]
        if matches:
            code, p_dec = matches[0]
            shares = script_shares(counts)
            if code != declared and script_allows(declared, counts, shares, self.cfg.script_min_share):
                code = declared  # e.g. zho_Hant declared, and no character tells the variants apart
        else:  # outside the top k: at most the mass the model left there, shared by the unseen labels
            code = declared
            p_dec = max(0.0, 1.0 - sum(p for _, p in ranked)) / max(1, self.n_labels - len(ranked))
        other = (1 - prior) / max(1, self.n_labels - 1)
        z = p_dec * prior + (1 - p_dec) * other
        rival = next(((c, p) for c, p in ranked if _iso(c) != iso), None)
        post_dec, post_rival = p_dec * prior / z, (rival[1] * other / z if rival else 0.0)
        if rival is None or post_dec >= post_rival:
            return code, post_dec, "declared"
        return rival[0], post_rival, "short"

    def _decide(self, units: list[_Unit], preds: list, declared: str | None) -> DocumentLanguage:
        cfg = self.cfg
        letters = sum(u.letters for u in units)
        counts: Counter[str] = Counter()
        for u in units:
            counts.update(u.counts)
        if not letters:
            return DocumentLanguage(UNDETERMINED, 0.0, "Zyyy", "no_letters", UNDETERMINED, cfg.threshold(UNDETERMINED))
        shares: tuple[tuple[str, float], ...] = ()
        if len(units) == 1:
            ranked, method = self._candidates(preds[0].top_k, units[0])
            lang, score = ranked[0]
        else:  # paragraph vote: soft votes weighted by letters; shares from each chunk's winner
            votes: Counter[str] = Counter()
            wins: Counter[str] = Counter()
            methods = set()
            cands: list[list] = []
            for unit, pred in zip(units, preds, strict=True):
                cand, m = self._candidates(pred.top_k, unit) if pred is not None else ([], "model")
                cands.append(cand)
                if not cand:
                    continue
                methods.add(m)
                for code, p in cand:
                    votes[code] += unit.letters * p
                wins[cand[0][0]] += unit.letters
            # soft votes pick the language (confident prose outweighs option lists and tables); the score is the
            # winner's mean probability over the chunks it won, so a confidently mixed document is not a doubtful one
            lang = max(votes, key=votes.__getitem__)
            won = [(u.letters, c[0][1]) for u, c in zip(units, cands, strict=True) if c and c[0][0] == lang]
            score = sum(w * p for w, p in won) / sum(w for w, _ in won) if won else votes[lang] / letters
            ranked = [(c, v / letters) for c, v in votes.most_common(cfg.top_k)]
            shares = tuple((c, k / letters) for c, k in wins.most_common(3))
            method = "vote" if methods <= {"model"} else "vote+script_prior"
        score = min(max(score, 0.0), 1.0)
        if cfg.short_text and letters < cfg.short_min_letters:
            dec = declared_code(declared) if declared else UNDETERMINED
            if dec != UNDETERMINED:
                lang, score, method = self._declared(ranked, dec, counts)
            elif cfg.short_policy == "scale":
                score, method = score * letters / cfg.short_min_letters, "short"
            elif cfg.short_policy == "und":
                return DocumentLanguage(
                    UNDETERMINED, score, _dominant(counts), "short", lang, cfg.threshold(lang), shares, len(units),
                    letters,
                )  # fmt: skip
        threshold = cfg.threshold(lang)
        if lang.startswith("und_"):  # the script has no candidate language: undetermined, named by its script
            script = lang.split("_", 1)[1]
            how = "unknown_script" if script not in TRACKED_SCRIPTS else "script_conflict"
            return DocumentLanguage(lang, 0.0, script, how, lang, threshold, shares, len(units), letters)
        if score < threshold:
            return DocumentLanguage(
                UNDETERMINED, score, _dominant(counts), "low_confidence", lang, threshold, shares, len(units), letters
            )
        return DocumentLanguage(lang, score, _code_script(lang), method, lang, threshold, shares, len(units), letters)
