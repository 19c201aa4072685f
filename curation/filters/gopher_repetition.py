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
from typing import Any, ClassVar

import numpy as np

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


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, length) of each run of equal values in a sorted array."""
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    return starts, np.diff(np.append(starts, len(sorted_keys)))


class NgramStats:
    """The n-gram repetition statistics of one word sequence, vectorised (numpy) over its positions.

    Words become 64-bit ids (Python's cached ``str`` hash); the key of the n-gram at position i is the polynomial
    ``sum(id[i + j] * P**(n - 1 - j))`` modulo 2**64, built from the (n-1)-gram keys in one vector step per size
    (Thai asks for n up to 40). Keys are compared only within one n; a false match needs ~2**32 n-grams. A size
    costs one sort of its keys, where a Python ``Counter`` over tuples cost several times more; duplicate fractions
    for growing n sort only the positions whose smaller n-gram repeats (an n-gram can repeat only there: in prose a
    few percent of the text).
    """

    _P = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplication by it is a bijection modulo 2**64

    def __init__(self, words: list[str]):
        self.ids = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self.prefix = np.concatenate(([0], np.cumsum(lengths)))
        self.total = int(self.prefix[-1])
        self._n, self._keys = 1, self.ids  # the last size computed: sizes are asked for in ascending order

    def keys(self, n: int) -> np.ndarray:
        """Keys of every n-gram (``len(words) - n + 1`` of them; none when the text is shorter)."""
        if n > len(self.ids):
            return self.ids[:0]
        if n < self._n:
            self._n, self._keys = 1, self.ids
        with np.errstate(over="ignore"):
            for m in range(self._n, n):
                self._keys = self._keys[:-1] * self._P + self.ids[m:]
        self._n = n
        return self._keys

    def top_frac(self, n: int) -> float:
        """Characters in all occurrences of the most frequent n-gram over all word characters; 0 if none repeats.
        Ties go to the n-gram that occurs first in the text (as ``Counter.most_common(1)`` would pick it)."""
        keys = self.keys(n)
        if len(keys) < 2 or not self.total:
            return 0.0
        sorted_keys = np.sort(keys)
        starts, lengths = _runs(sorted_keys)
        top = int(lengths.max())
        if top < 2:
            return 0.0
        tops = sorted_keys[starts[lengths == top]]
        hit = keys == tops[0] if len(tops) == 1 else np.isin(keys, tops)
        first = int(np.argmax(hit))
        return min(1.0, top * int(self.prefix[first + n] - self.prefix[first]) / self.total)

    def dup_fracs(self, sizes: list[int]) -> dict[int, float]:
        """``dup_frac`` for each size, ascending: sizes after the first look only where the previous one repeats."""
        out = dict.fromkeys(sizes, 0.0)
        if not sizes or not self.total:
            return out
        n = sizes[0]
        keys = self.keys(n)
        pos = np.arange(len(keys))
        for size in sizes:
            with np.errstate(over="ignore"):
                while n < size and len(pos):
                    inside = pos + n < len(self.ids)  # positions whose n-gram can grow by one word
                    pos, keys = pos[inside], keys[inside] * self._P + self.ids[pos[inside] + n]
                    n += 1
            if len(pos) < 2:
                break
            order = np.argsort(keys, kind="stable")  # equal keys in text order: the first of a run is the original
            starts, lengths = _runs(keys[order])
            repeated = np.repeat(lengths > 1, lengths)  # in sorted order
            first = np.zeros(len(keys), dtype=bool)
            first[starts] = True
            dups = np.sort(pos[order[repeated & ~first]])
            if not len(dups):
                break  # no repeat at this size: none at any larger one
            out[size] = self._covered_chars(dups, size) / self.total
            keep = np.sort(order[repeated])  # only these can repeat at the next size (kept in text order)
            pos, keys = pos[keep], keys[keep]
        return out

    def dup_frac(self, n: int) -> float:
        """Characters of words inside repeat occurrences of an n-gram (not its first occurrence), each word once.

        Only repeats count, as in the paper's "duplicate" n-grams: a text said twice is half duplicate, not all of it.
        """
        return self.dup_fracs([n])[n]

    def _covered_chars(self, starts: np.ndarray, n: int) -> int:
        """Characters of the words covered by the n-grams starting at ``starts`` (each word once)."""
        size = len(self.ids) + 1
        depth = np.cumsum(np.bincount(starts, minlength=size) - np.bincount(starts + n, minlength=size))[:-1]
        covered = np.flatnonzero(depth > 0)
        return int((self.prefix[covered + 1] - self.prefix[covered]).sum())


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
        ngrams = NgramStats(words)
        dup_sizes = []
        for is_dup, n, key, _ in p["_ngram_checks"]:  # top before dup, each by n
            if is_dup:
                dup_sizes.append(n)
            else:
                stats[key] = ngrams.top_frac(n)
        stats.update((f"dup_{n}gram_char_frac", frac) for n, frac in ngrams.dup_fracs(dup_sizes).items())
        return self._decide(p, stats), self.stat_names(stats)

    def _decide(self, p: dict[str, Any], stats: dict[str, float]) -> str | None:
        fixed = ("dup_line_frac", "dup_para_frac", "dup_line_char_frac", "dup_para_char_frac")
        limits = [(key, p[key]) for key in fixed] + [(key, limit) for _, _, key, limit in p["_ngram_checks"]]
        for key, limit in limits:
            if limit is not None and stats[key] > limit:
                return self.reason(key)
        return None
