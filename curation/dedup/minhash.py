"""MinHash signatures and LSH band keys, vectorised over batches of documents.

The permutation family is datasketch's (same seed → same permutations): a signature equals
``datasketch.MinHash(num_perm, seed, hashfunc=...)`` fed the same 32-bit shingle hashes, which the tests check. The
shingle hashes come from ``curation.dedup.shingle_hash`` (whole batch in numpy); here the permutation and the
min-reduction run in numpy over the whole batch at once.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from curation.dedup.shingle_hash import ShingleHashes

# Shingles permuted at once: the (num_perm, rows) temporary (3.5 MB at 112 permutations) stays in cache, which
# measured 10x faster than permuting 65k rows at once.
_CHUNK_ROWS = 1 << 13
_MERSENNE_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH32 = np.uint64((1 << 32) - 1)
CURVE_POINTS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


@dataclass(frozen=True)
class MinHashParams:
    """Signature length and LSH banding (config ``dedup.minhash``). ``bands * rows`` permutations are banded."""

    num_perm: int = 112
    bands: int = 14
    rows: int = 8
    seed: int = 1

    def __post_init__(self) -> None:
        if min(self.num_perm, self.bands, self.rows) < 1:
            raise ValueError(f"MinHashParams: all sizes must be positive, got {self}")
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"MinHashParams: bands*rows ({self.bands}*{self.rows}) exceeds num_perm ({self.num_perm})")

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> MinHashParams:
        cfg = dict(cfg or {})
        unknown = sorted(set(cfg) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"dedup.minhash: unknown setting(s) {unknown} (n-gram sizes live in dedup.shingles)")
        return cls(**cfg)

    def candidate_probability(self, jaccard: float) -> float:
        """Probability that two documents with this Jaccard similarity share at least one band: 1-(1-s^r)^b."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands

    @property
    def threshold(self) -> float:
        """Approximate Jaccard at which the candidate probability curve is steepest: (1/b)^(1/r)."""
        return (1.0 / self.bands) ** (1.0 / self.rows)


def detection_curve(params: MinHashParams, points: Sequence[float] = CURVE_POINTS) -> list[tuple[float, float]]:
    """(Jaccard, P(candidate | Jaccard)) at each point: how often LSH proposes a pair of that similarity."""
    return [(float(j), params.candidate_probability(j)) for j in points]


def format_curve(params: MinHashParams, points: Sequence[float] = CURVE_POINTS) -> str:
    """One line: the banding, its steepest point and P(candidate | J) at each point."""
    curve = " ".join(f"{j:.2f}:{p:.3f}" for j, p in detection_curve(params, points))
    return (
        f"minhash {params.bands} bands x {params.rows} rows ({params.num_perm} permutations, seed {params.seed}); "
        f"P(candidate|J)=1-(1-J^{params.rows})^{params.bands}, steepest at J~{params.threshold:.3f}: {curve}"
    )


def _fmix32(hv: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, the pre-mix datasketch applies before its affine32 permutations."""
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


class MinHashSigner:
    """Signs batches of shingle hashes; equal to ``datasketch.MinHash(num_perm, seed)`` updated with them.

    Supports datasketch's default scheme ("affine32" since 2.0, uint32 signatures) and the pre-2.0 "legacy"
    scheme (uint64 signatures); by default whichever the installed datasketch uses by default. MinHash sees the
    low 32 bits of each 64-bit shingle hash. A document without shingles gets the all-max "empty" signature.
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

    def describe(self) -> str:
        """Everything a stored signature depends on besides the shingling (checked before mixing signatures)."""
        return f"{self.scheme}-p{self.params.num_perm}-s{self.params.seed}"

    def _permute(self, hv: np.ndarray) -> np.ndarray:
        """(n,) 32-bit hashes -> (num_perm, n) permuted hashes, with datasketch's wrap-around arithmetic."""
        if self.scheme == "affine32":
            permuted = np.multiply.outer(self._a, _fmix32(hv.astype(np.uint32)))
            permuted += self._b[:, None]
            return permuted
        permuted = np.multiply.outer(self._a, hv.astype(np.uint64))
        permuted += self._b[:, None]
        permuted %= _MERSENNE_PRIME
        permuted &= _MAX_HASH32
        return permuted

    def sign(self, batch: ShingleHashes) -> np.ndarray:
        """Signatures, shape (n_docs, num_perm): chunked permutation + segmented min-reduction, no per-doc loop."""
        n_docs = len(batch)
        out = np.tile(self._empty, (n_docs, 1))
        counts = batch.counts()
        total = int(batch.offsets[-1])
        if total == 0:
            return out
        hashes32 = (batch.hashes & _MAX_HASH32).astype(np.uint32)
        doc_of_row = np.repeat(np.arange(n_docs), counts)
        for start in range(0, total, _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, total)
            rows_doc = doc_of_row[start:stop]
            # Segment starts inside this chunk: the chunk start plus every place the document changes.
            seg_starts = np.flatnonzero(np.r_[True, rows_doc[1:] != rows_doc[:-1]])
            seg_min = np.minimum.reduceat(self._permute(hashes32[start:stop]), seg_starts, axis=1).T
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


def signature_to_bytes(signature: np.ndarray) -> bytes:
    return np.asarray(signature, dtype="<u4" if signature.dtype == np.uint32 else "<u8").tobytes()


def signature_from_bytes(data: bytes, dtype=np.uint32) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4" if np.dtype(dtype) == np.uint32 else "<u8").astype(dtype)


def shingle_set_to_bytes(hashes: np.ndarray) -> bytes:
    """Sorted distinct 64-bit shingle hashes as little-endian bytes (what travels for verification)."""
    return np.unique(np.asarray(hashes, dtype=np.uint64)).astype("<u8").tobytes()


def shingle_set_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u8").astype(np.uint64)


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Signature estimate of Jaccard similarity: the share of permutations whose minima agree."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"signatures differ in shape: {a.shape} vs {b.shape}")
    return float(np.count_nonzero(a == b)) / a.size


def sorted_set_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted distinct arrays (shingle-hash sets); two empty sets are identical (1.0)."""
    if not len(a) and not len(b):
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def jaccard(a: set, b: set) -> float:
    """Exact Jaccard similarity |a∩b| / |a∪b|; two empty sets are identical (1.0)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
