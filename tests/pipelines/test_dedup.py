"""Dedup transforms on a real Beam runner (FnApiRunner) over real near-duplicates: Debian copyright notices."""

from __future__ import annotations

import collections
import itertools
import json
import random
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter

from curation.dedup.components import union_find_labels
from curation.dedup.keeper import keeper_rank, rank_doc_id
from curation.dedup.lsh import verified_bucket_edges
from curation.dedup.minhash import MinHashParams, MinHashSigner, band_keys, jaccard
from curation.dedup.shingles import shingles
from pipelines.dedup import ConnectedComponents, Dedup, ExactDedup, NearDedup
from schemas import DOCUMENT, DUPLICATE, validate_record

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "copyright.jsonl"
VERIFY = 0.8  # ground truth threshold and the signature-estimate verification of candidate edges


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def counter(result, name: str) -> int:
    counters = result.metrics().query(MetricsFilter().with_name(name))["counters"]
    return sum(c.committed for c in counters)


def run(build, out_dir: Path) -> tuple[dict[str, list], object]:
    """Run ``build(pipeline) -> {name: pcoll}`` on FnApiRunner; read each output back from JSON lines."""
    pipeline = beam.Pipeline(runner="FnApiRunner")
    outputs = build(pipeline)
    for name, pcoll in outputs.items():
        (
            pcoll
            | f"Json{name}" >> beam.Map(json.dumps, sort_keys=True)
            | f"Write{name}" >> beam.io.WriteToText(str(out_dir / name), shard_name_template="")
        )
    result = pipeline.run()
    result.wait_until_finish()
    read = {}
    for name in outputs:
        text = (out_dir / name).read_text(encoding="utf-8")
        read[name] = [json.loads(line) for line in text.splitlines()]
    return read, result


def assert_valid_dedup_output(docs: list[dict], kept: list[dict], duplicates: list[dict]) -> None:
    """Every input once; duplicates point at kept documents; sizes agree with the clusters."""
    ids = sorted(d["id"] for d in docs)
    assert sorted([d["id"] for d in kept] + [d["id"] for d in duplicates]) == ids
    kept_by_id = {d["id"]: d for d in kept}
    for d in kept:
        validate_record(d, DOCUMENT)
        assert d["dedup_cluster"] == d["id"]
    members = collections.Counter(d["id"] for d in kept)
    for dup in duplicates:
        validate_record(dup, DUPLICATE)
        assert dup["duplicate_of"] in kept_by_id
        assert dup["cluster_id"] == dup["duplicate_of"]
        assert dup["cluster_size"] == kept_by_id[dup["duplicate_of"]]["dedup_cluster_size"]
        members[dup["duplicate_of"]] += 1
    for d in kept:
        assert d["dedup_cluster_size"] == members[d["id"]]


def partition(kept: list[dict], duplicates: list[dict]) -> set[frozenset[str]]:
    clusters = collections.defaultdict(set)
    for d in kept:
        clusters[d["id"]].add(d["id"])
    for d in duplicates:
        clusters[d["cluster_id"]].add(d["id"])
    return {frozenset(c) for c in clusters.values()}


def pairs(clusters: set[frozenset[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for c in clusters for p in itertools.combinations(sorted(c), 2)}


def clusters_of(labels: dict[str, str], ids: list[str]) -> set[frozenset[str]]:
    groups = collections.defaultdict(set)
    for i in ids:
        groups[labels.get(i, i)].add(i)
    return {frozenset(g) for g in groups.values()}


@pytest.fixture(scope="module")
def near_run(docs, tmp_path_factory):
    def build(p):
        out = p | beam.Create(docs) | NearDedup(MinHashParams(), keep="longest", verify_jaccard=VERIFY, batch_size=16)
        return {"kept": out["kept"], "duplicates": out["duplicates"]}

    return run(build, tmp_path_factory.mktemp("near"))


def test_near_dedup_output_is_complete_and_consistent(docs, near_run):
    (outputs, result) = near_run
    kept, duplicates = outputs["kept"], outputs["duplicates"]
    assert_valid_dedup_output(docs, kept, duplicates)
    assert duplicates and all(d["method"] == "minhash" for d in duplicates)
    assert counter(result, "dedup/near_duplicates") == len(duplicates)
    assert counter(result, "dedup/candidate_edges") > 0
    assert counter(result, "dedup/cc_not_converged") == 0
    n_chars = {d["id"]: d["n_chars"] for d in docs}
    for dup in duplicates:  # keep="longest"
        assert n_chars[dup["duplicate_of"]] >= n_chars[dup["id"]]


def test_near_dedup_clusters_match_brute_force_jaccard(docs, near_run):
    (outputs, _) = near_run
    ids = [d["id"] for d in docs]
    sets = [set(shingles(d["text"], d["script"])) for d in docs]
    truth_edges = [
        (ids[i], ids[j]) for i, j in itertools.combinations(range(len(docs)), 2) if jaccard(sets[i], sets[j]) >= VERIFY
    ]
    truth = pairs(clusters_of(union_find_labels(truth_edges), ids))
    found = pairs(partition(outputs["kept"], outputs["duplicates"]))
    assert len(truth) >= 40  # the fixture really holds near-duplicate clusters
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert precision >= 0.9, (precision, sorted(map(sorted, found - truth)))
    assert recall >= 0.9, (recall, sorted(map(sorted, truth - found)))


def test_near_dedup_equals_union_find_on_the_same_candidate_edges(docs, near_run):
    (outputs, _) = near_run
    params = MinHashParams()
    signatures = MinHashSigner(params).sign_batch([shingles(d["text"], d["script"]) for d in docs])
    buckets = collections.defaultdict(list)
    for d, signature in zip(docs, signatures, strict=True):
        for key in band_keys(signature, params):
            buckets[key].append((keeper_rank(d, "longest"), signature))
    edges = [e for members in buckets.values() for e in verified_bucket_edges(members, VERIFY)]
    reference = union_find_labels(edges)
    labels = {rank_doc_id(node): rank_doc_id(root) for node, root in reference.items()}
    ids = [d["id"] for d in docs]
    assert partition(outputs["kept"], outputs["duplicates"]) == clusters_of(labels, ids)
    # The component minimum (the best keeper rank) is the kept document.
    assert {d["id"] for d in outputs["kept"]} == {labels.get(i, i) for i in ids}


def test_exact_dedup_groups_by_content_hash(docs, tmp_path):
    def build(p):
        out = p | beam.Create(docs) | ExactDedup(keep="first")
        return {"kept": out["kept"], "duplicates": out["duplicates"]}

    (outputs, result) = run(build, tmp_path)
    kept, duplicates = outputs["kept"], outputs["duplicates"]
    assert_valid_dedup_output(docs, kept, duplicates)
    groups = collections.defaultdict(list)
    for d in docs:
        groups[d["content_hash"]].append(d["id"])
    assert len(kept) == len(groups)
    assert {d["id"] for d in kept} == {min(g) for g in groups.values()}
    assert all(d["method"] == "exact" for d in duplicates)
    assert counter(result, "dedup/exact_duplicates") == len(docs) - len(groups) == len(duplicates) > 0


def test_exact_then_near_points_every_duplicate_at_a_finally_kept_document(docs, tmp_path):
    def build(p):
        config = {"keep": "longest", "minhash": {"num_perm": 112, "bands": 14, "rows": 8, "ngram": 5, "seed": 1}}
        out = p | beam.Create(docs) | Dedup.from_config({**config, "verify_jaccard": VERIFY})
        return {"kept": out["kept"], "duplicates": out["duplicates"]}

    (outputs, result) = run(build, tmp_path)
    kept, duplicates = outputs["kept"], outputs["duplicates"]
    assert_valid_dedup_output(docs, kept, duplicates)
    assert sum(d["dedup_cluster_size"] for d in kept) == len(docs)
    methods = collections.Counter(d["method"] for d in duplicates)
    n_hashes = len({d["content_hash"] for d in docs})
    assert methods["exact"] == len(docs) - n_hashes
    assert methods["minhash"] > 0
    # libice-dev/libice6 are exact copies; both are near-duplicates of xauth (the longest), which must win.
    by_id = {d["id"]: d for d in duplicates}
    assert by_id["debian-copyright/libice6"]["duplicate_of"] == "debian-copyright/xauth"
    assert by_id["debian-copyright/libice6"]["method"] == "exact"
    assert counter(result, "dedup/exact_duplicates") == methods["exact"]


def test_connected_components_of_a_long_chain_converge(tmp_path):
    nodes = [f"node{i:03d}" for i in range(200)]
    order = random.Random(3).sample(nodes, len(nodes))
    edges = [(a, b) if i % 2 else (b, a) for i, (a, b) in enumerate(itertools.pairwise(order))]

    def build(p):
        return {"labels": p | beam.Create(edges) | ConnectedComponents(max_rounds=20)}

    (outputs, result) = run(build, tmp_path)
    labels = dict(outputs["labels"])
    assert sorted(labels) == nodes
    assert set(labels.values()) == {"node000"}
    assert counter(result, "dedup/cc_not_converged") == 0
    assert counter(result, "dedup/cc_round_1_changed") > 0
    assert counter(result, "dedup/cc_round_20_changed") == 0


def test_connected_components_out_of_rounds_warn_and_stay_valid(tmp_path, caplog):
    nodes = [f"node{i:03d}" for i in range(200)]
    edges = list(itertools.pairwise(nodes))  # sorted path: the slowest case for star contraction

    def build(p):
        return {"labels": p | beam.Create(edges) | ConnectedComponents(max_rounds=4)}

    (outputs, result) = run(build, tmp_path)
    labels = dict(outputs["labels"])
    assert sorted(labels) == nodes
    assert all(labels[labels[n]] == labels[n] for n in nodes)
    assert len(set(labels.values())) > 1
    assert counter(result, "dedup/cc_not_converged") == 1
    assert counter(result, "dedup/cc_unresolved_nodes") > 0
    assert "did not converge in 4 rounds" in caplog.text
