"""Connected components by star contraction (Kiveris et al. 2014, "Connected Components in MapReduce and Beyond").

The graph is a set of undirected edges, each stored once as ``(child, parent)`` with ``child > parent``. Two local
operations, alternated, contract every component into a star whose centre is the component's minimum node:

- large-star at ``u``: connect every neighbour larger than ``u`` to the minimum of ``u`` and its neighbours;
- small-star at ``u``: connect ``u`` and every neighbour smaller than ``u`` to the minimum of those.

Each operation only looks at one node and its neighbour list, so a distributed runner runs it after grouping the
edges by node (one shuffle per round) and no worker ever holds more than one node's neighbourhood. The functions
here are those per-node steps plus a pure-Python driver and a union-find reference used to check the distributed
result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

Edge = tuple[str, str]  # (child, parent), child > parent
Step = Literal["large", "small"]


def canonical_edge(u: str, v: str) -> Edge:
    """The stored form of the undirected edge {u, v}: (larger, smaller)."""
    return (u, v) if u > v else (v, u)


def iter_large_star(node: str, neighbors: Iterable[str]) -> Iterator[Edge]:
    """Streaming large-star: two passes over ``neighbors`` (re-iterable), nothing held but the minimum.

    One edge per larger-neighbour entry, so the number of edges never grows from round to round.
    """
    root = min(node, min(neighbors, default=node))
    for v in neighbors:
        if v > node:
            yield (v, root)


def iter_small_star(node: str, neighbors: Iterable[str]) -> Iterator[Edge]:
    """Streaming small-star: two passes over ``neighbors``; larger neighbours are ignored."""
    root = min((v for v in neighbors if v < node), default=None)
    if root is None:
        return
    yield (node, root)
    for v in neighbors:
        if root < v < node:
            yield (v, root)


def large_star(node: str, neighbors: Iterable[str]) -> list[Edge]:
    """Large-star at ``node``: each strictly larger neighbour is linked to min(node, neighbours)."""
    nbrs = sorted(set(neighbors))
    return list(iter_large_star(node, nbrs))


def small_star(node: str, neighbors: Iterable[str]) -> list[Edge]:
    """Small-star at ``node``: node and each strictly smaller neighbour are linked to the smallest of them.

    Larger neighbours are ignored, so a runner may send ``node`` only its smaller neighbours.
    """
    nbrs = sorted(set(neighbors))
    return list(iter_small_star(node, nbrs))


def is_rewritten(step: Step, node: str, edge: Edge) -> bool:
    """Whether an edge emitted by ``node``'s step differs from the input edge it replaces.

    Each input edge belongs to one node per step (its smaller end in large-star, its larger end in small-star)
    and is replaced by exactly one emitted edge (small-star may also merge copies), which keeps the owner as
    parent in large-star and as child in small-star exactly when nothing changed. A round with no rewritten edge
    therefore returned its input edge set unchanged: a fixpoint. Over a round the count is an upper bound on the
    edges changed (another node may re-emit an edge).
    """
    child, parent = edge
    return parent != node if step == "large" else child != node


def min_neighbor(node: str, neighbors: Iterable[str]) -> str:
    """The smallest of ``node`` and its neighbours: its parent in a star, itself if it is a star's centre."""
    return min(node, min(neighbors, default=node))


def label_children(parent: str, parent_is_root: bool, children: Iterable[str]) -> list[tuple[str, str]]:
    """Final labels for the nodes whose smallest neighbour is ``parent``.

    In a converged graph every parent is a root (its own smallest neighbour), so children take its label. If the
    rounds ran out first, a child whose parent is not a root keeps its own label instead of pointing at a node that
    is itself labelled elsewhere: the assignment stays valid (every label labels itself), at worst under-merged.
    """
    return [(child, parent if parent_is_root else child) for child in children]


@dataclass(frozen=True)
class StarResult:
    labels: dict[str, str]  # node -> label (label of a label is itself)
    rounds: int  # rounds that did work
    converged: bool
    changed: tuple[int, ...]  # rewritten-edge totals per round


def final_labels(edges: Iterable[Edge]) -> dict[str, str]:
    """Label every node of a (possibly not fully contracted) edge set, as the distributed labelling step does."""
    adjacency: dict[str, set[str]] = defaultdict(set)
    for child, parent in edges:
        adjacency[child].add(parent)
        adjacency[parent].add(child)
    parent_of = {node: min_neighbor(node, nbrs) for node, nbrs in adjacency.items()}
    return {
        node: label
        for node, parent in parent_of.items()
        for _, label in label_children(parent, parent_of[parent] == parent, [node])
    }


def star_contraction(edges: Iterable[tuple[str, str]], max_rounds: int = 20) -> StarResult:
    """Pure-Python driver with the same rounds, convergence rule and labelling as the Beam pipeline.

    Rounds alternate large-star (odd rounds) and small-star (even rounds); two consecutive rounds without a
    rewritten edge mean the graph is a fixpoint of both steps, i.e. a set of stars centred on component minima.
    """
    current = {canonical_edge(u, v) for u, v in edges if u != v}
    changed: list[int] = []
    for round_index in range(max_rounds):
        if len(changed) >= 2 and changed[-1] == 0 and changed[-2] == 0:
            break
        step: Step = "large" if round_index % 2 == 0 else "small"
        neighbors: dict[str, set[str]] = defaultdict(set)
        for child, parent in current:
            neighbors[child].add(parent)
            if step == "large":
                neighbors[parent].add(child)
        fn = large_star if step == "large" else small_star
        out: set[Edge] = set()
        total = 0
        for node, nbrs in neighbors.items():
            emitted = fn(node, nbrs)
            total += sum(is_rewritten(step, node, edge) for edge in emitted)
            out.update(emitted)
        changed.append(total)
        current = out
    converged = not current or (len(changed) >= 2 and changed[-1] == 0 and changed[-2] == 0)
    return StarResult(final_labels(current), len(changed), converged, tuple(changed))


def union_find_labels(edges: Iterable[tuple[Hashable, Hashable]]) -> dict:
    """Node -> smallest node of its component, by union-find: the test oracle, and the components of a bounded job."""
    parent: dict = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in edges:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)
    return {node: find(node) for node in list(parent)}
