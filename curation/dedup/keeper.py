"""Which copy of a duplicate cluster survives, expressed as a sortable string.

``keeper_rank(doc, policy)`` ends with ``"\\x00" + doc id``, so it is unique per document and the smallest rank of a
cluster is its keeper. Near-dedup uses the rank itself as the node name in the connected-components graph: the
component's minimum node, which star contraction computes anyway, is then the document to keep.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

POLICIES = ("longest", "first", "quality")
SEPARATOR = "\x00"
_LENGTH_WIDTH = 19  # digits of 2**63 - 1
_MAX_LENGTH = 2**63 - 1


def _descending_length(n_chars: int) -> str:
    """Fixed-width digits that sort longer texts first."""
    return f"{_MAX_LENGTH - max(0, min(int(n_chars), _MAX_LENGTH)):0{_LENGTH_WIDTH}d}"


def _descending_float(value: float) -> str:
    """Fixed-width hex that sorts larger floats first (IEEE-754 bits made order-preserving, then inverted)."""
    (bits,) = struct.unpack(">Q", struct.pack(">d", value))
    ordered = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | 1 << 63
    return f"{0xFFFFFFFFFFFFFFFF - ordered:016x}"


def quality_score(doc: Mapping[str, Any]) -> float | None:
    """``doc["quality"]["score"]`` if present and a number; the map may be a dict or Arrow's list of pairs."""
    quality = doc.get("quality")
    if not quality:
        return None
    items = quality.items() if isinstance(quality, Mapping) else quality
    for key, value in items:
        if key == "score" and isinstance(value, (int, float)) and not math.isnan(value):
            return float(value)
    return None


def keeper_rank(doc: Mapping[str, Any], policy: str) -> str:
    """Sortable key whose minimum over a cluster is the document to keep.

    longest: most ``n_chars`` first, ties by id; first: smallest id; quality: highest ``quality["score"]`` first
    (documents without a score after all scored ones), then longest, then id.
    """
    doc_id = doc["id"]
    n_chars = doc.get("n_chars")
    if n_chars is None:
        n_chars = len(doc.get("text") or "")
    if policy == "first":
        return f"{SEPARATOR}{doc_id}"
    if policy == "longest":
        return f"{_descending_length(n_chars)}{SEPARATOR}{doc_id}"
    if policy == "quality":
        score = quality_score(doc)
        prefix = "1" + "f" * 16 if score is None else "0" + _descending_float(score)
        return f"{prefix}{_descending_length(n_chars)}{SEPARATOR}{doc_id}"
    raise ValueError(f"unknown keep policy {policy!r}; one of {POLICIES}")


def rank_doc_id(rank: str) -> str:
    """The document id inside a ``keeper_rank`` (or node name)."""
    return rank.split(SEPARATOR, 1)[1]
