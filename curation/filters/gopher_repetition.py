"""Gopher repetition heuristics (Rae et al. 2021, appendix A.1.1, table A1).

Repeated lines, paragraphs and n-grams mark boilerplate, spam and degenerate generated text. Thresholds are the
paper's: duplicate line/paragraph fractions 0.30 (by count) and 0.20 (by characters), top 2/3/4-gram character
fractions 0.20/0.18/0.16, duplicate 5..10-gram character fractions 0.15 down to 0.10. N-grams are over word units
(words.py); any ``top_<n>gram_char_frac`` / ``dup_<n>gram_char_frac`` name is accepted so a language can use other n.

Languages split into character units get the paper's n-gram sizes multiplied by their units per word
(words.UNITS_PER_WORD): on parallel text, unscaled rules reject most real Japanese and Thai, scaled ones agree with
English (see words.py for the measurements).
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import accumulate, compress, count
from operator import ne
from typing import Any, ClassVar

from curation.filters.base import QualityFilter, Stats
from curation.filters.words import UNITS_PER_WORD

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_NGRAM_KEY = re.compile(r"(top|dup)_([1-9]\d?)gram_char_frac")
_TOP = {2: 0.20, 3: 0.18, 4: 0.16}
_DUP = {n: round(0.15 - 0.01 * (n - 5), 2) for n in range(5, 11)}


def _scaled(factor: float) -> dict[str, float | None]:
    """The paper's n-gram rules with n multiplied by ``factor`` (rounded half up); the unscaled rules switched off."""
    out: dict[str, float | None] = {f"top_{n}gram_char_frac": None for n in _TOP}
    out.update({f"dup_{n}gram_char_frac": None for n in _DUP})
    out.update({f"top_{int(n * factor + 0.5)}gram_char_frac": frac for n, frac in _TOP.items()})
    out.update({f"dup_{int(n * factor + 0.5)}gram_char_frac": frac for n, frac in _DUP.items()})
    return out


DEFAULT_LANGUAGES: dict[str, dict[str, Any]] = {code: _scaled(factor) for code, factor in UNITS_PER_WORD.items()}


def duplicate_fractions(items: list[str]) -> tuple[float, float]:
    """(share of items equal to an earlier one, share of characters in those repeats)."""
    seen: set[str] = set()
    dup = dup_chars = total_chars = 0
    for item in items:
        total_chars += len(item)
        if item in seen:
            dup += 1
            dup_chars += len(item)
        else:
            seen.add(item)
    return (dup / len(items) if items else 0.0), (dup_chars / total_chars if total_chars else 0.0)


class NgramKeys:
    """Integer keys of every n-gram of a word-id sequence, for any n, built by doubling.

    key_n[i] = hash((key_a[i], key_(n-a)[i+a])) with ``a`` the largest power of two below n, so each size costs
    O(log n) passes instead of one pass per smaller size (Thai needs n up to 40). Every size computed is kept for
    the next request, except on very long documents (only powers of two then, which bounds memory). Keys are
    compared only within one n; tuples of ints hash deterministically, and a false match needs ~2**32 n-grams.
    """

    KEEP_ALL_BELOW = 200_000  # shorter sequences keep every size computed (a document asks for up to ~10 sizes)

    def __init__(self, ids: list[int]):
        self._powers: dict[int, list[int]] = {1: ids}
        self._keep_all = len(ids) < self.KEEP_ALL_BELOW

    def __call__(self, n: int) -> list[int]:
        if n in self._powers:
            return self._powers[n]
        half = 1 << (n.bit_length() - 1)
        a = half if half < n else n // 2
        left, right = self(a), self(n - a)
        keys = list(map(hash, zip(left, right[a:], strict=False)))
        if half == n or self._keep_all:
            self._powers[n] = keys
        return keys


def top_ngram_char_frac(keys: list[int], prefix: list[int], n: int) -> float:
    """Characters in all occurrences of the most frequent n-gram over all word characters; 0 if none repeats."""
    if not keys or not prefix[-1]:
        return 0.0
    counts = Counter(keys)
    top = max(counts.values())
    if top < 2:
        return 0.0
    # First position of the first n-gram (in text order) with the top count, as Counter.most_common(1) picks it.
    first = next(compress(count(), map(top.__eq__, map(counts.__getitem__, keys))))
    return min(1.0, top * (prefix[first + n] - prefix[first]) / prefix[-1])


def dup_ngram_char_frac(keys: list[int], prefix: list[int], n: int) -> float:
    """Characters of words inside repeat occurrences of an n-gram (not its first occurrence), each word once.

    Only repeats count, as in the paper's "duplicate" n-grams: a text said twice is half duplicate, not all of it.
    """
    if not keys or not prefix[-1]:
        return 0.0
    first_at = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))  # C-speed first index
    repeats = compress(range(len(keys)), map(ne, map(first_at.__getitem__, keys), range(len(keys))))
    covered_end = dup_chars = 0
    for start in repeats:
        end = start + n
        dup_chars += prefix[end] - prefix[start if start > covered_end else covered_end]
        covered_end = end
    return dup_chars / prefix[-1]


def dup_ngram_char_fracs(ids: list[int], keys: list[int], prefix: list[int], sizes: list[int]) -> dict[int, float]:
    """``dup_ngram_char_frac`` for several sizes (ascending) at once; ``keys`` are the n-gram keys of the smallest.

    An n-gram can only repeat where the (n-1)-gram starting at the same word repeats, so each size is measured on
    the positions whose previous-size n-gram occurs twice or more, its keys extended by one word at a time. In
    running prose those are a few percent of the text; a text without a repeated smallest n-gram has no repeats.
    """
    total = prefix[-1]
    counts = Counter(keys)
    if not total or len(counts) == len(keys):
        return dict.fromkeys(sizes, 0.0)
    positions = list(compress(count(), map((1).__lt__, map(counts.__getitem__, keys))))
    pos_keys = [keys[i] for i in positions]
    n = sizes[0]
    out: dict[int, float] = {}
    for size in sizes:
        while n < size and positions:
            end = len(ids) - n  # positions whose n-gram can be extended by one word
            pairs = [(i, hash((key, ids[i + n]))) for i, key in zip(positions, pos_keys, strict=True) if i < end]
            n += 1
            counts = Counter(key for _, key in pairs)
            positions = [i for i, key in pairs if counts[key] > 1]
            pos_keys = [key for _, key in pairs if counts[key] > 1]
        seen: set[int] = set()
        covered_end = dup_chars = 0
        for i, key in zip(positions, pos_keys, strict=True):
            if key in seen:
                dup_chars += prefix[i + size] - prefix[i if i > covered_end else covered_end]
                covered_end = i + size
            else:
                seen.add(key)
        out[size] = dup_chars / total if n == size else 0.0
    return out


class GopherRepetitionFilter(QualityFilter):
    """Line, paragraph and n-gram repetition; reasons are ``gopher_repetition:<threshold name>``."""

    name: ClassVar[str] = "gopher_repetition"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "enabled": True,
        "dup_line_frac": 0.30,
        "dup_para_frac": 0.30,
        "dup_line_char_frac": 0.20,
        "dup_para_char_frac": 0.20,
        **{f"top_{n}gram_char_frac": frac for n, frac in _TOP.items()},
        **{f"dup_{n}gram_char_frac": frac for n, frac in _DUP.items()},
    }

    def default_for(self, key: str) -> Any:
        return 0.0 if _NGRAM_KEY.fullmatch(key) else super().default_for(key)

    def prepare(self, params: dict[str, Any], script: str) -> dict[str, Any]:
        """Parse the n-gram threshold names into (kind, n, name, limit) checks, top before dup, by n."""
        checks = []
        for key, limit in params.items():
            match = _NGRAM_KEY.fullmatch(key)
            if match and limit is not None:
                checks.append((match[1] == "dup", int(match[2]), key, limit))
        checks.sort()
        return {**params, "_ngram_checks": checks}

    def evaluate(self, text: str, words: list[str], lang: str, script: str) -> tuple[str | None, Stats]:
        p = self.settings(lang, script)
        if p is None:
            return None, {}
        lines = [line for line in (raw.strip() for raw in text.split("\n")) if line]
        paragraphs = [para for para in (raw.strip() for raw in _PARAGRAPH_BREAK.split(text)) if para]
        stats: dict[str, float] = {}
        stats["dup_line_frac"], stats["dup_line_char_frac"] = duplicate_fractions(lines)
        stats["dup_para_frac"], stats["dup_para_char_frac"] = duplicate_fractions(paragraphs)
        ids = list(map(hash, words))  # str hashes (cached by Python) as word ids; a collision needs ~2**32 words
        prefix = [0, *accumulate(map(len, words))]
        ngram_keys = NgramKeys(ids)
        dup_sizes = []
        for is_dup, n, key, _ in p["_ngram_checks"]:
            if is_dup:
                dup_sizes.append(n)
            else:
                stats[key] = top_ngram_char_frac(ngram_keys(n), prefix, n)
        if dup_sizes:
            fracs = dup_ngram_char_fracs(ids, ngram_keys(dup_sizes[0]), prefix, dup_sizes)
            stats.update((f"dup_{n}gram_char_frac", fracs[n]) for n in dup_sizes)
        return self._decide(p, stats), self.stat_names(stats)

    def _decide(self, p: dict[str, Any], stats: dict[str, float]) -> str | None:
        fixed = ("dup_line_frac", "dup_para_frac", "dup_line_char_frac", "dup_para_char_frac")
        limits = [(key, p[key]) for key in fixed] + [(key, limit) for _, _, key, limit in p["_ngram_checks"]]
        for key, limit in limits:
            if limit is not None and stats[key] > limit:
                return self.reason(key)
        return None
