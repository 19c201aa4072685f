"""64-bit shingle hashes for a whole batch of documents at once, without building a single shingle string.

Per document, Python only does what C does fast on the whole text (canonical form, UTF-8/UTF-32 encoding). All
per-byte, per-token and per-shingle work is numpy over the batch:

1. token hashes: a word (the bytes between two separators of the canonical form) hashes to
   ``fmix64(sum_j (byte_j + 1) * P**j + len * G + SALT)`` (mod 2**64), computed for every word of the batch with one
   ``add.reduceat``; for character-n-gram scripts a token is one code point, ``fmix64(cp + SALT)``.
2. shingle hashes: an n-gram of tokens ``t_0..t_{L-1}`` hashes to ``fmix64(sum_j t_j * Q**j + L * G)``, with L = n,
   or the whole document when it has fewer than n tokens (the one-shingle rule of ``shingles()``).

``shingle_hash()`` computes the same value for one shingle given as bytes (the reference, also used as datasketch's
``hashfunc`` in tests): hashing the reference shingles one by one gives exactly the vectorised result.
fmix64 is MurmurHash3's 64-bit finaliser, so the low 32 bits fed to MinHash are well mixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from curation.dedup.shingles import ShingleConfig, canonical_text, uses_char_ngrams

_MASK64 = (1 << 64) - 1
P = 0x100000001B3  # FNV-64 prime (odd): byte base of word hashes
Q = 0xA0761D6478BD642F  # wyhash constant (odd): token base of shingle hashes
G = 0x9E3779B97F4A7C15  # golden ratio: length term
WORD_SALT = 0x2545F4914F6CDD1D
CHAR_SALT = 0x5851F42D4C957F2D
SPACE = 0x20


def _fmix64_int(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & _MASK64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & _MASK64
    return x ^ (x >> 33)


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser over a uint64 array (wrapping arithmetic): the mix every 64-bit key here uses."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def word_token_hash(word: bytes) -> int:
    h = 0
    power = 1
    for byte in word:
        h = (h + (byte + 1) * power) & _MASK64
        power = (power * P) & _MASK64
    return _fmix64_int((h + len(word) * G + WORD_SALT) & _MASK64)


def char_token_hash(codepoint: int) -> int:
    return _fmix64_int((codepoint + CHAR_SALT) & _MASK64)


def combine_tokens(tokens: Sequence[int]) -> int:
    h = 0
    power = 1
    for t in tokens:
        h = (h + t * power) & _MASK64
        power = (power * Q) & _MASK64
    return _fmix64_int((h + len(tokens) * G) & _MASK64)


def shingle_hash(shingle: bytes, char_ngrams: bool = False) -> int:
    """Reference 64-bit hash of one shingle as produced by ``shingles()`` (slow; for tests and datasketch)."""
    if char_ngrams:
        return combine_tokens([char_token_hash(ord(c)) for c in shingle.decode("utf-8")])
    return combine_tokens([word_token_hash(w) for w in shingle.split(b" ")])


@dataclass
class ShingleHashes:
    """CSR layout: the shingle hashes of document ``i`` are ``hashes[offsets[i]:offsets[i + 1]]``.

    Every n-gram position gives one hash, so a repeated shingle repeats its hash (MinHash does not care); use
    ``shingle_set(i)`` for the distinct set.
    """

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, n_docs + 1

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def shingle_set(self, i: int) -> np.ndarray:
        """Sorted distinct shingle hashes of document ``i``."""
        return np.unique(self.hashes[self.offsets[i] : self.offsets[i + 1]])


class _Powers:
    """P**k mod 2**64 for k up to the longest word seen; grows by doubling, so a worker computes it a few times."""

    def __init__(self, base: int):
        self.base = base
        self.table = np.ones(1, dtype=np.uint64)

    def upto(self, n: int) -> np.ndarray:
        if n >= len(self.table):
            size = max(n + 1, 2 * len(self.table), 4096)
            steps = np.full(size, self.base, dtype=np.uint64)
            steps[0] = 1
            self.table = np.cumprod(steps, dtype=np.uint64)
        return self.table


class ShingleHasher:
    """Canonical form + per-script n-gram hashes of a batch of texts, vectorised (see the module doc)."""

    def __init__(self, config: ShingleConfig | None = None):
        self.config = config or ShingleConfig()
        self._powers = _Powers(P)
        self._q_powers = np.cumprod(
            np.r_[np.uint64(1), np.full(max(self.config.word_ngram, self.config.char_ngram), Q, dtype=np.uint64)],
            dtype=np.uint64,
        )

    def hash_batch(self, texts: Sequence[str], scripts: Sequence[str | None]) -> ShingleHashes:
        n_docs = len(texts)
        word_docs: list[int] = []
        word_bytes: list[bytes] = []
        char_docs: list[int] = []
        char_points: list[bytes] = []
        for i, (text, script) in enumerate(zip(texts, scripts, strict=True)):
            norm = canonical_text(text, self.config)
            if not norm:
                continue
            if uses_char_ngrams(script):
                chars = norm.replace(" ", "")
                if chars:
                    char_docs.append(i)
                    char_points.append(chars.encode("utf-32-le"))
            else:
                word_docs.append(i)
                word_bytes.append(norm.encode("utf-8"))
        parts = []
        if word_docs:
            tokens, per_doc = self._word_tokens(word_bytes)
            parts.append((np.asarray(word_docs), *self._ngrams(tokens, per_doc, self.config.word_ngram)))
        if char_docs:
            codepoints = np.frombuffer(b"".join(char_points), dtype="<u4").astype(np.uint64)
            tokens = fmix64(codepoints + np.uint64(CHAR_SALT))
            per_doc = np.fromiter((len(b) // 4 for b in char_points), dtype=np.int64, count=len(char_points))
            parts.append((np.asarray(char_docs), *self._ngrams(tokens, per_doc, self.config.char_ngram)))
        return _scatter(n_docs, parts)

    def _word_tokens(self, docs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Hashes of every word of every document (in order) and the number of words per document."""
        buf = np.frombuffer(b" ".join(docs) + b" ", dtype=np.uint8)  # each word, the last one too, ends at a space
        per_doc = np.fromiter((d.count(b" ") + 1 for d in docs), dtype=np.int64, count=len(docs))
        is_space = buf == SPACE
        ends = np.flatnonzero(is_space)
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        lengths = ends - starts
        word_of_byte = np.cumsum(is_space) - is_space  # a separator belongs to the word it ends
        rel = np.arange(len(buf), dtype=np.int64) - starts[word_of_byte]
        powers = self._powers.upto(int(lengths.max()))
        terms = (buf.astype(np.uint64) + np.uint64(1)) * powers[rel]
        terms[is_space] = 0
        sums = np.add.reduceat(terms, starts)  # segments are never empty: each holds at least its separator
        tokens = fmix64(sums + lengths.astype(np.uint64) * np.uint64(G) + np.uint64(WORD_SALT))
        return tokens, per_doc

    def _ngrams(self, tokens: np.ndarray, per_doc: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Shingle hashes (n-grams of tokens, or one shingle of a whole short document) and their count per doc."""
        doc_start = np.r_[0, np.cumsum(per_doc)[:-1]]
        windows = np.maximum(per_doc - n + 1, 1)
        size = np.minimum(per_doc, n)
        total = int(windows.sum())
        first_window = np.r_[0, np.cumsum(windows)[:-1]]
        window_doc = np.repeat(np.arange(len(per_doc)), windows)
        start = doc_start[window_doc] + (np.arange(total) - first_window[window_doc])
        length = size[window_doc]
        acc = np.zeros(total, dtype=np.uint64)
        last = len(tokens) - 1
        for j in range(n):
            inside = j < length
            picked = tokens[np.minimum(start + j, last)] * self._q_powers[j]
            acc += np.where(inside, picked, np.uint64(0))
        hashes = fmix64(acc + length.astype(np.uint64) * np.uint64(G))
        return hashes, windows


def _scatter(n_docs: int, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> ShingleHashes:
    """Merge per-mode (doc indices, hashes, counts) into one CSR in document order."""
    counts = np.zeros(n_docs, dtype=np.int64)
    for docs, _, per_doc in parts:
        counts[docs] = per_doc
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.uint64)
    for docs, hashes, per_doc in parts:
        first_of_part = np.r_[0, np.cumsum(per_doc)[:-1]]
        owner = np.repeat(np.arange(len(docs)), per_doc)
        dest = offsets[docs][owner] + (np.arange(len(hashes)) - first_of_part[owner])
        out[dest] = hashes
    return ShingleHashes(out, offsets)
