"""Which copy of a duplicate cluster survives, expressed as a sortable string, and the graph's node names.

``keeper_rank(doc, policy)`` ends with ``"\\x00" + doc id``, so it is unique per document and the smallest rank of a
cluster is its keeper. Policies (config ``dedup.keep``):

- ``quality``: highest quality first. The score is ``quality["score"]`` when an annotator score was merged into the
  filter statistics; otherwise the *curate-time proxy* ``quality_proxy`` (product of the "clean shares" the filters
  measured, see there); documents with a score rank before documents with only the proxy, which rank before
  documents with neither. Ties: longest, then smallest id.
- ``longest``: most characters first, then smallest id.
- ``earliest``: the source listed first in the source order (``dedup.source_priority``, by default the order of
  ``sources`` in the run config; unlisted sources after listed ones, by name), then smallest id.
- ``first``: smallest id.

Every tie ends at the id, so the choice is deterministic whatever order documents arrive in.

Near dedup uses ``node_name`` (a tier, the rank, the document's weight) as the node of the connected-components
graph: the component's minimum node, which star contraction computes anyway, is then the document to keep. The
tier puts documents of an earlier run's index ("0") before every document of this run ("1"): old documents always
win.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

POLICIES = ("quality", "longest", "earliest", "first")
SEPARATOR = "\x00"
OLD_TIER = "0"
NEW_TIER = "1"
_LENGTH_WIDTH = 19  # digits of 2**63 - 1
_MAX_LENGTH = 2**63 - 1
_SOURCE_WIDTH = 6

# Filter statistics that measure a share of bad content (0 = clean). The proxy multiplies their complements.
QUALITY_PROXY_STATS = (
    "gopher_quality:non_alpha_words_ratio",
    "gopher_quality:bullet_lines_ratio",
    "gopher_quality:ellipsis_lines_ratio",
    "gopher_repetition:dup_line_char_frac",
    "gopher_repetition:dup_para_char_frac",
    "gopher_repetition:dup_5gram_char_frac",
    "c4:boilerplate_lines_ratio",
)


def _descending_length(n_chars: int) -> str:
    """Fixed-width digits that sort longer texts first."""
    return f"{_MAX_LENGTH - max(0, min(int(n_chars), _MAX_LENGTH)):0{_LENGTH_WIDTH}d}"


def _descending_float(value: float) -> str:
    """Fixed-width hex that sorts larger floats first (IEEE-754 bits made order-preserving, then inverted)."""
    (bits,) = struct.unpack(">Q", struct.pack(">d", value))
    ordered = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | 1 << 63
    return f"{0xFFFFFFFFFFFFFFFF - ordered:016x}"


def _quality_items(doc: Mapping[str, Any]) -> dict[str, Any]:
    quality = doc.get("quality")
    if not quality:
        return {}
    return dict(quality.items() if isinstance(quality, Mapping) else quality)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value):
        return float(value)
    return None


def quality_score(doc: Mapping[str, Any]) -> float | None:
    """``doc["quality"]["score"]`` if present and a number; the map may be a dict or Arrow's list of pairs."""
    return _number(_quality_items(doc).get("score"))


def quality_proxy(doc: Mapping[str, Any]) -> float | None:
    """Curate-time quality proxy in [0, 1] from the filter statistics: prod(1 - share) over QUALITY_PROXY_STATS.

    Each statistic is a share of the text the Gopher/C4 filters consider low quality (non-alphabetic words, bullet
    or truncated lines, repeated lines/paragraphs/5-grams, boilerplate lines); a copy with less of that is the
    better copy to keep. Statistics a document lacks are skipped; None when it has none of them.
    """
    items = _quality_items(doc)
    factors = [_number(items.get(name)) for name in QUALITY_PROXY_STATS]
    present = [min(max(f, 0.0), 1.0) for f in factors if f is not None]
    if not present:
        return None
    return math.prod(1.0 - f for f in present)


def source_ranks(order: Sequence[str]) -> dict[str, int]:
    """Source name -> priority (0 first) for the ``earliest`` policy."""
    return {name: i for i, name in enumerate(dict.fromkeys(order))}


def keeper_rank(doc: Mapping[str, Any], policy: str, source_order: Mapping[str, int] | None = None) -> str:
    """Sortable key whose minimum over a cluster is the document to keep (see the module doc for the policies)."""
    doc_id = doc["id"]
    if SEPARATOR in doc_id:
        raise ValueError(f"document id {doc_id!r} contains NUL, which dedup node names reserve")
    n_chars = doc.get("n_chars")
    if n_chars is None:
        n_chars = len(doc.get("text") or "")
    if policy == "first":
        return f"{SEPARATOR}{doc_id}"
    if policy == "longest":
        return f"{_descending_length(n_chars)}{SEPARATOR}{doc_id}"
    if policy == "earliest":
        ranks = source_order or {}
        source = doc.get("source") or ""
        rank = ranks.get(source)
        prefix = f"0{rank:0{_SOURCE_WIDTH}d}" if rank is not None else f"1{source}{SEPARATOR}"
        return f"{prefix}{SEPARATOR}{doc_id}" if rank is not None else f"{prefix}{doc_id}"
    if policy == "quality":
        score = quality_score(doc)
        if score is not None:
            prefix = "0" + _descending_float(score)
        else:
            proxy = quality_proxy(doc)
            prefix = ("1" + _descending_float(proxy)) if proxy is not None else "2" + "f" * 16
        return f"{prefix}{_descending_length(n_chars)}{SEPARATOR}{doc_id}"
    raise ValueError(f"unknown keep policy {policy!r}; one of {POLICIES}")


def rank_doc_id(rank: str) -> str:
    """The document id inside a ``keeper_rank``."""
    return rank.rsplit(SEPARATOR, 1)[1]


def node_name(rank: str, weight: int, tier: str = NEW_TIER) -> str:
    """Graph node of a document: tier + rank + weight. Sorts like (tier, rank): ids are unique and NUL-free."""
    return f"{tier}{rank}{SEPARATOR}{int(weight)}"


def node_doc_id(node: str) -> str:
    return node.rsplit(SEPARATOR, 2)[1]


def node_weight(node: str) -> int:
    return int(node.rsplit(SEPARATOR, 1)[1])


def is_old(node: str) -> bool:
    """Whether the node is a document of an earlier run's index (never removed, never re-emitted)."""
    return node.startswith(OLD_TIER)
