"""Candidate edges from one LSH bucket (all documents sharing one band key).

A bucket of k documents yields k-1 star edges from its smallest node rather than k(k-1)/2 pairs: connectivity is
all that connected components needs, and a boilerplate bucket with thousands of members stays linear.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from curation.dedup.components import Edge
from curation.dedup.keeper import is_old


def bucket_edges(members: Iterable[str], centres: int = 1) -> Iterator[Edge]:
    """Edges ``(member, centre)`` from every member to each of the bucket's ``centres`` smallest members.

    One centre (a star) is all connected components needs. When candidate edges are verified, an edge to a
    dissimilar centre is dropped and the member could be left unconnected although it is similar to another
    member; ``centres`` > 1 gives it more chances (a bucket of at most ``centres`` members gets every pair), at
    ``centres`` edges per member, so a boilerplate bucket with thousands of members stays linear.

    ``members`` is read twice (a Beam grouped value is re-iterable) and never copied (only the centres are held),
    so a huge bucket streams. Members from an earlier run's index (``is_old``) only serve as centres: old documents
    were deduplicated against each other already, so an edge between two old members adds nothing. A member
    listed twice gives its edges twice; the pipeline de-duplicates edges anyway.
    """
    hubs = heapq.nsmallest(centres, set(heapq.nsmallest(centres, members))) if centres > 1 else None
    if hubs is None:
        root = min(members, default=None)
        hubs = [] if root is None else [root]
    for member in members:
        if is_old(member):
            continue
        for hub in hubs:
            if hub < member:
                yield (member, hub)
