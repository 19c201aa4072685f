"""MinHash signatures and LSH band keys, vectorised over batches of documents.

The permutation family is datasketch's (same seed → same permutations, same signatures), so signatures can be
checked against, and mixed with, ``datasketch.MinHash``. Shingles are hashed with datasketch's SHA-1 based hash in a
plain loop (hashlib is C), but the permutation and the min-reduction run in numpy over the whole batch at once.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Shingle rows permuted at once: bounds the (rows, num_perm) temporary to ~30 MB at 112 permutations.
_CHUNK_ROWS = 1 << 16
_MERSENNE_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH32 = np.uint64((1 << 32) - 1)


@dataclass(frozen=True)
class MinHashParams:
    """Signature length and LSH banding. ``bands * rows`` permutations are banded (at most ``num_perm``)."""

    num_perm: int = 112
    bands: int = 14
    rows: int = 8
    ngram: int = 5
    seed: int = 1

    def __post_init__(self) -> None:
        if min(self.num_perm, self.bands, self.rows, self.ngram) < 1:
            raise ValueError(f"MinHashParams: all sizes must be positive, got {self}")
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"MinHashParams: bands*rows ({self.bands}*{self.rows}) exceeds num_perm ({self.num_perm})")

    def candidate_probability(self, jaccard: float) -> float:
        """Probability that two documents with this Jaccard similarity share at least one band: 1-(1-s^r)^b."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands

    @property
    def threshold(self) -> float:
        """Approximate Jaccard at which the candidate probability curve is steepest: (1/b)^(1/r)."""
        return (1.0 / self.bands) ** (1.0 / self.rows)


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, the pre-mix datasketch applies before its affine32 permutations."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


def hash_shingles(shingles: Sequence[bytes]) -> np.ndarray:
    """datasketch's ``sha1_hash32`` of each shingle (first 4 bytes of SHA-1, little endian) as uint32."""
    digest_prefix = b"".join(hashlib.sha1(s).digest()[:4] for s in shingles)
    return np.frombuffer(digest_prefix, dtype="<u4").astype(np.uint32)


class MinHashSigner:
    """Signs batches of shingle lists; equal to ``datasketch.MinHash(num_perm, seed)`` updated with the shingles.

    Supports datasketch's default scheme ("affine32" since 2.0, uint32 signatures) and the pre-2.0 "legacy"
    scheme (uint64 signatures); by default whichever the installed datasketch uses by default. A document
    without shingles gets the all-max "empty" signature, as in datasketch.
    """

    def __init__(self, params: MinHashParams, scheme: str | None = None):
        from datasketch import MinHash

        kwargs = {} if scheme is None else {"scheme": scheme}
        reference = MinHash(num_perm=params.num_perm, seed=params.seed, **kwargs)
        self.params = params
        self.scheme: str = getattr(reference, "scheme", "legacy")
        if self.scheme not in ("affine32", "legacy"):
            raise ValueError(f"unsupported datasketch MinHash scheme {self.scheme!r}")
        a, b = reference.permutations
        self.dtype = np.uint32 if self.scheme == "affine32" else np.uint64
        self._a = np.asarray(a, dtype=self.dtype)
        self._b = np.asarray(b, dtype=self.dtype)
        self._empty = np.asarray(reference.hashvalues, dtype=self.dtype).copy()

    def _permute(self, hv: np.ndarray) -> np.ndarray:
        """(n_shingles,) hashes -> (n_shingles, num_perm) permuted hashes, with datasketch's wrap-around arithmetic."""
        if self.scheme == "affine32":
            return _fmix32(hv)[:, None] * self._a + self._b
        wide = hv.astype(np.uint64)[:, None]
        return ((wide * self._a + self._b) % _MERSENNE_PRIME) & _MAX_HASH32

    def sign_batch(self, shingle_lists: Sequence[list[bytes]]) -> np.ndarray:
        """Signatures of a batch, shape (n_docs, num_perm): one pass of hashing, then chunked numpy min-reduction."""
        n_docs = len(shingle_lists)
        out = np.tile(self._empty, (n_docs, 1))
        lengths = np.fromiter((len(s) for s in shingle_lists), dtype=np.int64, count=n_docs)
        total = int(lengths.sum())
        if total == 0:
            return out
        hashes = hash_shingles([s for shingles in shingle_lists for s in shingles])
        doc_of_row = np.repeat(np.arange(n_docs), lengths)
        for start in range(0, total, _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, total)
            rows_doc = doc_of_row[start:stop]
            # Segment starts inside this chunk: the chunk start plus every place the document changes.
            seg_starts = np.flatnonzero(np.r_[True, rows_doc[1:] != rows_doc[:-1]])
            seg_min = np.minimum.reduceat(self._permute(hashes[start:stop]), seg_starts, axis=0)
            seg_docs = rows_doc[seg_starts]  # distinct within a chunk, so plain fancy assignment is safe
            out[seg_docs] = np.minimum(out[seg_docs], seg_min)
        return out


def band_keys(signature: np.ndarray, params: MinHashParams) -> list[bytes]:
    """One LSH bucket key per band: 2 bytes of band index + a 16-byte BLAKE2b of the band's rows.

    Rows are hashed as little-endian uint64 so keys are the same on every machine and for either signature dtype.
    """
    rows = np.asarray(signature[: params.bands * params.rows], dtype="<u8").reshape(params.bands, params.rows)
    return [
        struct.pack(">H", band) + hashlib.blake2b(row.tobytes(), digest_size=16).digest()
        for band, row in enumerate(rows)
    ]


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Signature estimate of Jaccard similarity: the share of permutations whose minima agree."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"signatures differ in shape: {a.shape} vs {b.shape}")
    return float(np.count_nonzero(a == b)) / a.size


def jaccard(a: set, b: set) -> float:
    """Exact Jaccard similarity |a∩b| / |a∪b|; two empty sets are identical (1.0)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
