"""Candidate edges from one LSH bucket (all documents sharing one band key).

A bucket of k documents yields k-1 star edges from its smallest node rather than k(k-1)/2 pairs: connectivity is
all that connected components needs, and a boilerplate bucket with thousands of members stays linear.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from curation.dedup.components import Edge
from curation.dedup.minhash import estimate_jaccard


def bucket_edges(members: Iterable[str]) -> Iterator[Edge]:
    """Star edges ``(member, smallest member)`` of one bucket; fewer than two distinct members give none.

    ``members`` is read twice (a Beam grouped value is re-iterable) and never copied, so a huge bucket streams.
    A member listed twice gives its edge twice; the pipeline de-duplicates edges anyway.
    """
    root = min(members, default=None)
    if root is None:
        return
    for member in members:
        if member != root:
            yield (member, root)


def verified_bucket_edges(members: Iterable[tuple[str, np.ndarray]], threshold: float) -> list[Edge]:
    """Bucket edges kept only where the signature-estimated Jaccard reaches ``threshold``.

    Greedy leader clustering in node order: each member links to the first leader it is similar enough to, or
    becomes a leader itself. Members similar to each other but not to the bucket minimum still connect, and the
    cost is (members x leaders) signature comparisons; in practice one leader per bucket.
    """
    leaders: list[tuple[str, np.ndarray]] = []
    edges: list[Edge] = []
    seen: set[str] = set()
    for node, signature in sorted(members, key=lambda m: m[0]):
        if node in seen:
            continue
        seen.add(node)
        for leader, leader_signature in leaders:
            if estimate_jaccard(signature, leader_signature) >= threshold:
                edges.append((node, leader))
                break
        else:
            leaders.append((node, signature))
    return edges
