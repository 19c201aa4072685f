"""Star contraction connected components (pure rounds) against union-find, and keeper ranks as node names."""

from __future__ import annotations

import itertools
import random

import pytest

from curation.dedup.components import (
    canonical_edge,
    final_labels,
    is_rewritten,
    iter_large_star,
    large_star,
    small_star,
    star_contraction,
    union_find_labels,
)
from curation.dedup.keeper import (
    NEW_TIER,
    OLD_TIER,
    is_old,
    keeper_rank,
    node_doc_id,
    node_name,
    node_weight,
    quality_proxy,
    quality_score,
    rank_doc_id,
    source_ranks,
)


def test_large_star_links_larger_neighbours_to_the_neighbourhood_minimum():
    assert large_star("c", ["a", "d", "e", "b"]) == [("d", "a"), ("e", "a")]
    assert large_star("a", ["c", "b"]) == [("b", "a"), ("c", "a")]  # already a star centre: unchanged
    assert large_star("e", ["a", "b"]) == []  # no larger neighbour
    assert large_star("c", ["d", "d", "c"]) == [("d", "c")]  # duplicates and self-loops ignored


def test_small_star_links_node_and_smaller_neighbours_to_their_minimum():
    assert small_star("d", ["b", "a", "c", "e"]) == [("d", "a"), ("b", "a"), ("c", "a")]
    assert small_star("d", ["a"]) == [("d", "a")]  # a leaf of a star: unchanged
    assert small_star("a", ["b", "c"]) == []


def test_rewritten_edges_are_those_not_owned_by_the_node():
    assert [is_rewritten("large", "c", e) for e in large_star("c", ["a", "d"])] == [True]
    assert [is_rewritten("large", "a", e) for e in large_star("a", ["b", "c"])] == [False, False]
    assert [is_rewritten("small", "d", e) for e in small_star("d", ["b", "a"])] == [False, True]


def test_streaming_large_star_keeps_duplicate_entries():
    assert list(iter_large_star("b", ["a", "c", "c"])) == [("c", "a"), ("c", "a")]


def random_graph(rng: random.Random) -> list[tuple[str, str]]:
    n = rng.randint(2, 120)
    names = [f"n{rng.randrange(10**6):06d}" for _ in range(n)]
    return [(rng.choice(names), rng.choice(names)) for _ in range(rng.randint(0, 2 * n))]


def test_star_rounds_match_union_find_on_random_graphs():
    rng = random.Random(1234)
    for _ in range(300):
        edges = random_graph(rng)
        result = star_contraction(edges, max_rounds=40)
        assert result.converged
        assert result.labels == union_find_labels([e for e in edges if e[0] != e[1]])


def test_path_of_200_nodes_converges_within_20_rounds():
    nodes = [f"{i:04d}" for i in range(200)]
    for order in (nodes, random.Random(7).sample(nodes, len(nodes))):
        result = star_contraction(list(itertools.pairwise(order)), max_rounds=20)
        assert result.converged
        assert set(result.labels.values()) == {"0000"}
        assert result.changed[-2:] == (0, 0)


def test_unconverged_rounds_still_give_a_valid_under_merged_assignment():
    nodes = [f"{i:04d}" for i in range(200)]
    edges = list(itertools.pairwise(nodes))
    result = star_contraction(edges, max_rounds=3)
    assert not result.converged
    labels = result.labels
    assert set(labels) == set(nodes)
    assert all(labels[labels[n]] == labels[n] for n in nodes)  # every label labels itself
    assert len(set(labels.values())) > 1  # split, never wrongly merged (one true component here)


def test_canonical_edge_puts_the_larger_node_first():
    assert canonical_edge("b", "a") == canonical_edge("a", "b") == ("b", "a")


def test_final_labels_of_stars():
    assert final_labels([("b", "a"), ("c", "a"), ("e", "d")]) == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "d"}


def doc(doc_id: str, n_chars: int, score: float | None = None, source: str = "s", **stats: float) -> dict:
    quality = dict(stats)
    if score is not None:
        quality["score"] = score
    return {"id": doc_id, "n_chars": n_chars, "source": source, "quality": quality or None}


def keeper(docs: list[dict], policy: str, order: list[str] | None = None) -> str:
    ranks = source_ranks(order or [])
    return rank_doc_id(min(keeper_rank(d, policy, ranks) for d in docs))


def test_keep_longest_breaks_ties_by_id():
    docs = [doc("b", 10), doc("c", 900), doc("a", 50), doc("d", 900)]
    assert keeper(docs, "longest") == "c"
    assert keeper([doc("z", 10), doc("y", 10)], "longest") == "y"


def test_keep_first_is_the_smallest_id():
    assert keeper([doc("b", 10), doc("c", 900), doc("a", 50)], "first") == "a"


def test_keep_earliest_follows_the_source_order_then_id():
    docs = [doc("web/1", 900, source="web"), doc("books/9", 10, source="books"), doc("books/2", 5, source="books")]
    assert keeper(docs, "earliest", ["books", "web"]) == "books/2"
    assert keeper(docs, "earliest", ["web", "books"]) == "web/1"
    # A source missing from the order comes after every listed one (by source name, then id).
    assert keeper([*docs, doc("arxiv/1", 1, source="arxiv")], "earliest", ["web"]) == "web/1"
    assert keeper(docs, "earliest", []) == "books/2"


def test_keep_quality_prefers_score_then_proxy_then_length():
    docs = [doc("a", 900), doc("b", 10, 0.2), doc("c", 20, 0.9), doc("d", 30, 0.9), doc("e", 5, -3.0)]
    assert keeper(docs, "quality") == "d"
    assert keeper([doc("a", 900), doc("e", 5, -3.0)], "quality") == "e"  # any score beats none
    assert keeper([doc("a", 900), doc("b", 1000)], "quality") == "b"  # nothing: longest
    arrow_style = {"id": "x", "n_chars": 1, "quality": [("words", 3.0), ("score", 0.5)]}
    assert quality_score(arrow_style) == 0.5
    assert quality_score({"id": "y", "quality": {"score": float("nan")}}) is None


def test_curate_time_quality_proxy_from_filter_stats():
    clean = doc("clean", 100, **{"gopher_repetition:dup_line_char_frac": 0.0, "c4:boilerplate_lines_ratio": 0.1})
    repetitive = doc("rep", 5000, **{"gopher_repetition:dup_line_char_frac": 0.5, "c4:boilerplate_lines_ratio": 0.1})
    assert quality_proxy(clean) == pytest.approx(0.9)
    assert quality_proxy(repetitive) == pytest.approx(0.45)
    assert quality_proxy(doc("none", 1, **{"gopher_quality:n_words": 300.0})) is None
    assert keeper([repetitive, clean], "quality") == "clean"  # the cleaner copy wins although shorter
    assert keeper([repetitive, clean, doc("scored", 1, 0.1)], "quality") == "scored"  # a real score beats the proxy
    assert keeper([repetitive, doc("bare", 9000)], "quality") == "rep"  # the proxy beats nothing


def test_rank_is_in_the_node_name_with_the_weight_and_tier():
    rank = keeper_rank({"id": "src/a\x01b", "n_chars": 3}, "longest")
    assert rank_doc_id(rank) == "src/a\x01b"
    node = node_name(rank, 7)
    assert node_doc_id(node) == "src/a\x01b" and node_weight(node) == 7 and not is_old(node)
    assert is_old(node_name(keeper_rank({"id": "z"}, "first"), 1, OLD_TIER))
    assert node_name(keeper_rank({"id": "z", "n_chars": 1}, "first"), 1, OLD_TIER) < node
    # Nodes sort like their ranks: weights never decide, also when one id is a prefix of another.
    short, long_ = keeper_rank({"id": "a", "n_chars": 5}, "longest"), keeper_rank({"id": "ab", "n_chars": 5}, "longest")
    assert short < long_ and node_name(short, 99, NEW_TIER) < node_name(long_, 1, NEW_TIER)
    with pytest.raises(ValueError, match="unknown keep policy"):
        keeper_rank(doc("a", 1), "newest")
    with pytest.raises(ValueError, match="NUL"):
        keeper_rank(doc("a\x00b", 1), "longest")
