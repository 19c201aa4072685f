"""Dedup transforms on a real Beam runner (FnApiRunner) over real near-duplicates: Debian copyright notices and the
sample's licence texts. Outputs are written (JSON lines or Parquet) and read back, never inspected in memory."""

from __future__ import annotations

import collections
import hashlib
import itertools
import json
import random
import re
from dataclasses import replace
from pathlib import Path

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.metrics.metric import MetricsFilter

from curation.dedup.components import union_find_labels
from curation.dedup.keeper import keeper_rank, node_doc_id, node_name, source_ranks
from curation.dedup.lsh import bucket_edges
from curation.dedup.minhash import MinHashParams, MinHashSigner, band_keys, jaccard, sorted_set_jaccard
from curation.dedup.shingle_hash import ShingleHasher
from curation.dedup.shingles import shingles
from curation.records import new_document
from pipelines import dedup as dedup_cli
from pipelines.dedup import ComponentsOnOneWorker, ConnectedComponents, Dedup, DedupSettings, ExactDedup, NearDedup
from pipelines.io import ReadRecords, WriteRecords
from schemas import DEDUP_INDEX, DOCUMENT, DUPLICATE, validate_record
from tests.pipelines.parquet_rows import read_rows

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "dedup" / "copyright.jsonl"
LICENSES = ROOT / "data" / "sample" / "text" / "licenses.jsonl"
VERIFY = 0.8  # ground truth threshold and the true-Jaccard verification of candidate edges
LOCAL = ["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"]


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def licence_docs() -> list[dict]:
    """The sample's licence texts as Documents (content hash over whitespace-normalised text, as EXPECTED.md)."""
    out = []
    for line in LICENSES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        doc = new_document(record["id"], record["text"], record["id"].split("/")[0], f"licenses.jsonl#{record['id']}")
        normalised = " ".join(record["text"].split())
        doc.update(lang="eng_Latn", script="Latn", content_hash=hashlib.sha256(normalised.encode()).hexdigest())
        out.append(doc)
    return out


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
            | f"Json{name}" >> beam.Map(lambda r: json.dumps({k: _jsonable(v) for k, v in r.items()}, sort_keys=True))
            | f"Write{name}" >> beam.io.WriteToText(str(out_dir / name), shard_name_template="")
        )
    result = pipeline.run()
    result.wait_until_finish()
    read = {}
    for name in outputs:
        text = (out_dir / name).read_text(encoding="utf-8")
        read[name] = [json.loads(line) for line in text.splitlines()]
    return read, result


def _jsonable(value):
    return value.hex() if isinstance(value, bytes) else value


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


def truth_edges(docs: list[dict], threshold: float = VERIFY) -> list[tuple[str, str]]:
    """Brute force: every pair whose reference shingle sets reach ``threshold``."""
    sets = [set(shingles(d["text"], d["script"])) for d in docs]
    return [
        (docs[i]["id"], docs[j]["id"])
        for i, j in itertools.combinations(range(len(docs)), 2)
        if jaccard(sets[i], sets[j]) >= threshold
    ]


def near_settings(**changes) -> DedupSettings:
    return replace(DedupSettings(verify_jaccard=VERIFY, write_index=False), **changes)


@pytest.fixture(scope="module")
def near_run(docs, tmp_path_factory):
    def build(p):
        out = p | beam.Create(docs) | NearDedup(near_settings(batch_size=16))
        return {"kept": out["kept"], "duplicates": out["duplicates"]}

    return run(build, tmp_path_factory.mktemp("near"))


def test_near_dedup_output_is_complete_and_consistent(docs, near_run):
    (outputs, result) = near_run
    kept, duplicates = outputs["kept"], outputs["duplicates"]
    assert_valid_dedup_output(docs, kept, duplicates)
    assert duplicates and all(d["method"] == "minhash" for d in duplicates)
    assert counter(result, "dedup/near_duplicates") == len(duplicates)
    assert counter(result, "dedup/candidate_edges") > counter(result, "dedup/verified_edges") > 0
    assert counter(result, "dedup/rejected_edges") > 0  # the hard negatives of the fixture
    assert counter(result, "dedup/verified_exactly") > 0 and counter(result, "dedup/verified_by_estimate") == 0
    assert counter(result, "dedup/cc_not_converged") == 0
    n_chars = {d["id"]: d["n_chars"] for d in docs}
    for dup in duplicates:  # keep="longest"
        assert n_chars[dup["duplicate_of"]] >= n_chars[dup["id"]]


def test_verified_clusters_match_brute_force_jaccard(docs, near_run):
    (outputs, _) = near_run
    ids = [d["id"] for d in docs]
    truth = pairs(clusters_of(union_find_labels(truth_edges(docs)), ids))
    found = pairs(partition(outputs["kept"], outputs["duplicates"]))
    assert len(truth) >= 40  # the fixture really holds near-duplicate clusters
    # Verified edges are true-Jaccard edges, so no cluster can merge what the truth keeps apart.
    assert found <= truth, sorted(map(sorted, found - truth))
    assert len(found) / len(truth) >= 0.95, sorted(map(sorted, truth - found))


def test_without_verification_lsh_merges_the_hard_negatives(docs, tmp_path):
    def build(p):
        out = p | beam.Create(docs) | NearDedup(near_settings(verify_jaccard=None))
        return {"kept": out["kept"], "duplicates": out["duplicates"]}

    (outputs, result) = run(build, tmp_path)
    assert_valid_dedup_output(docs, outputs["kept"], outputs["duplicates"])
    truth = pairs(clusters_of(union_find_labels(truth_edges(docs)), [d["id"] for d in docs]))
    found = pairs(partition(outputs["kept"], outputs["duplicates"]))
    assert found - truth  # MIT/X11/Apache notices with other headers (J 0.5-0.8) end up in one cluster
    assert counter(result, "dedup/verified_edges") == counter(result, "dedup/rejected_edges") == 0


def test_near_dedup_equals_union_find_on_the_same_verified_edges(docs, near_run):
    (outputs, _) = near_run
    settings = near_settings()
    hashed = ShingleHasher().hash_batch([d["text"] for d in docs], [d["script"] for d in docs])
    signatures = MinHashSigner(settings.minhash).sign(hashed)
    node_of = {d["id"]: node_name(keeper_rank(d, "longest"), 1) for d in docs}
    buckets = collections.defaultdict(list)
    for d, signature in zip(docs, signatures, strict=True):
        for key in band_keys(signature, settings.minhash):
            buckets[key].append(node_of[d["id"]])
    sets = {node_of[d["id"]]: hashed.shingle_set(i) for i, d in enumerate(docs)}
    candidates = {e for members in buckets.values() for e in bucket_edges(members, settings.bucket_centres)}
    edges = [(a, b) for a, b in candidates if sorted_set_jaccard(sets[a], sets[b]) >= VERIFY]
    reference = union_find_labels(edges)
    labels = {node_doc_id(node): node_doc_id(root) for node, root in reference.items()}
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
        config = {"keep": "longest", "minhash": {"num_perm": 112, "bands": 14, "rows": 8, "seed": 1}}
        out = p | beam.Create(docs) | Dedup.from_config({**config, "verify_jaccard": VERIFY})
        return {"kept": out["kept"], "duplicates": out["duplicates"], "index": out["index"]}

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
    assert by_id["debian-copyright/libice6"]["cluster_size"] == by_id["debian-copyright/libice-dev"]["cluster_size"]
    assert counter(result, "dedup/exact_duplicates") == methods["exact"]
    # The index holds one row per kept document, with its final cluster size.
    assert sorted(r["id"] for r in outputs["index"]) == sorted(d["id"] for d in kept)
    size = {d["id"]: d["dedup_cluster_size"] for d in kept}
    assert all(r["cluster_size"] == size[r["id"]] for r in outputs["index"])


def non_alpha_share(text: str) -> float:
    """Share of words without a letter: the statistic Gopher's quality filter calls non_alpha_words_ratio."""
    words = text.split()
    return sum(not re.search(r"[^\W\d_]", w) for w in words) / max(len(words), 1)


@pytest.mark.parametrize("keep", ["quality", "earliest"])
def test_every_cluster_keeps_the_policy_minimum(docs, keep, tmp_path):
    sourced = [
        {
            **d,
            "source": "mirror" if i % 3 else "upstream",
            "quality": {"gopher_quality:non_alpha_words_ratio": non_alpha_share(d["text"])},
        }
        for i, d in enumerate(docs)
    ]
    order = ["upstream", "mirror"]

    def build(p):
        config = {"keep": keep, "verify_jaccard": VERIFY}
        out = p | beam.Create(sourced) | Dedup.from_config(config, sources=order)
        return {"kept": out["kept"], "duplicates": out["duplicates"]}

    (outputs, _) = run(build, tmp_path)
    assert_valid_dedup_output(sourced, outputs["kept"], outputs["duplicates"])
    ranks = source_ranks(order)
    rank = {d["id"]: keeper_rank(d, keep, ranks) for d in sourced}
    clusters = partition(outputs["kept"], outputs["duplicates"])
    assert any(len(c) > 2 for c in clusters)
    for d in outputs["kept"]:
        members = next(c for c in clusters if d["id"] in c)
        assert rank[d["id"]] == min(rank[m] for m in members)
    if keep == "earliest":
        by_id = {d["id"]: d for d in sourced}
        for c in clusters:
            kept = next(m for m in c if m in {d["id"] for d in outputs["kept"]})
            if any(by_id[m]["source"] == "upstream" for m in c):
                assert by_id[kept]["source"] == "upstream"


def write_documents(docs: list[dict], prefix: Path) -> str:
    with beam.Pipeline(runner="FnApiRunner") as p:
        _ = p | beam.Create(docs) | WriteRecords(str(prefix), DOCUMENT)
    return f"{prefix}-*.parquet"


@pytest.fixture(scope="module")
def incremental(docs, licence_docs, tmp_path_factory):
    """Run 1 dedups batch A and writes its index; run 2 dedups batch B against run 1's index only (CLI, Parquet)."""
    tmp = tmp_path_factory.mktemp("incremental")
    corpus = sorted(docs + licence_docs, key=lambda d: d["id"])
    batch_a, batch_b = corpus[0::2], corpus[1::2]
    inputs = write_documents(batch_a, tmp / "a" / "docs"), write_documents(batch_b, tmp / "b" / "docs")
    dedup_cli.main(["run", "--input", inputs[0], "--output", str(tmp / "run1"), *LOCAL])
    dedup_cli.main(
        ["run", "--input", inputs[1], "--output", str(tmp / "run2"), "--previous", str(tmp / "run1"), *LOCAL]
    )
    read = {}
    for run_name in ("run1", "run2"):
        base = tmp / run_name / "dedup"
        read[run_name] = {
            "kept": read_rows(f"{base}/documents-*.parquet", DOCUMENT),
            "duplicates": read_rows(f"{base}/duplicates-*.parquet", DUPLICATE),
            "index": read_rows(f"{base}/index-*.parquet", DEDUP_INDEX),
        }
    return batch_a, batch_b, read, tmp


def test_the_index_holds_the_kept_documents_signatures_and_shingles(incremental):
    batch_a, _, read, _ = incremental
    run1 = read["run1"]
    assert_valid_dedup_output(batch_a, run1["kept"], run1["duplicates"])
    kept = {d["id"]: d for d in run1["kept"]}
    assert sorted(r["id"] for r in run1["index"]) == sorted(kept)
    settings = DedupSettings.from_config({"verify_jaccard": VERIFY})
    signer, hasher = MinHashSigner(settings.minhash), ShingleHasher(settings.shingles)
    for row in run1["index"]:
        doc = kept[row["id"]]
        assert row["content_hash"] == doc["content_hash"] and row["cluster_size"] == doc["dedup_cluster_size"]
        assert row["params"] == settings.signature_params()
        hashed = hasher.hash_batch([doc["text"]], [doc["script"]])
        np.testing.assert_array_equal(np.frombuffer(row["signature"], "<u4"), signer.sign(hashed)[0])
        np.testing.assert_array_equal(np.frombuffer(row["shingles"], "<u8"), hashed.shingle_set(0))


def test_incremental_batch_is_deduplicated_against_the_old_index_and_old_documents_win(incremental):
    _, batch_b, read, _ = incremental
    run1, run2 = read["run1"], read["run2"]
    old_kept = {d["id"]: d for d in run1["kept"]}
    kept2, dups2 = run2["kept"], run2["duplicates"]
    # Every new document once; no old document is re-emitted.
    assert sorted([d["id"] for d in kept2] + [d["id"] for d in dups2]) == sorted(d["id"] for d in batch_b)
    new_kept = {d["id"] for d in kept2}
    against_old = [d for d in dups2 if d["duplicate_of"] in old_kept]
    assert {d["method"] for d in against_old} == {"exact", "minhash"}
    assert all(d["duplicate_of"] in new_kept | set(old_kept) for d in dups2)
    # Old wins: a new document with an old copy (same hash, or Jaccard >= 0.95: LSH misses it with p < 1e-6) is
    # a duplicate of an old document, never kept.
    old_by_hash = {d["content_hash"]: d["id"] for d in run1["kept"]}
    old_sets = {d["id"]: set(shingles(d["text"], d["script"])) for d in run1["kept"]}
    dup_of = {d["id"]: d["duplicate_of"] for d in dups2}
    checked = 0
    for doc in batch_b:
        own = set(shingles(doc["text"], doc["script"]))
        if doc["content_hash"] in old_by_hash:
            assert dup_of.get(doc["id"]) == old_by_hash[doc["content_hash"]], doc["id"]
            checked += 1
        elif any(jaccard(own, s) >= 0.95 for s in old_sets.values()):
            assert dup_of.get(doc["id"]) in old_kept, doc["id"]
            checked += 1
    assert checked >= 5
    # Cluster sizes count the old document's own cluster too.
    for dup in against_old:
        assert dup["cluster_size"] >= old_kept[dup["duplicate_of"]]["dedup_cluster_size"] + 1
    # Run 2's index holds its own kept documents only (the old index stays where it is).
    assert sorted(r["id"] for r in run2["index"]) == sorted(new_kept)


def test_incremental_duplicates_are_true_near_duplicates(incremental):
    _, batch_b, read, _ = incremental
    run1, run2 = read["run1"], read["run2"]
    # Truth graph over the old kept documents and the new batch (old-old edges left out, as the pipeline does).
    nodes = run1["kept"] + batch_b
    old = {d["id"] for d in run1["kept"]}
    edges = [(a, b) for a, b in truth_edges(nodes) if not (a in old and b in old)]
    labels = union_find_labels(edges)
    for dup in run2["duplicates"]:
        assert labels.get(dup["id"], dup["id"]) == labels.get(dup["duplicate_of"], dup["duplicate_of"]), dup


def test_an_index_without_shingles_is_verified_on_signatures(incremental, tmp_path):
    _, batch_b, read, tmp = incremental
    lean = tmp_path / "run1-lean"
    lean_index = ["--set", "dedup.index_shingles=false"]
    dedup_cli.main(["run", "--input", f"{tmp}/a/docs-*.parquet", "--output", str(lean), *lean_index, *LOCAL])
    index = read_rows(f"{lean}/dedup/index-*.parquet", DEDUP_INDEX)
    assert index and all(r["shingles"] is None and len(r["signature"]) == 4 * 112 for r in index)

    def build(p):
        docs = p | ReadRecords(f"{tmp}/b/docs-*.parquet", DOCUMENT)
        out = docs | Dedup(DedupSettings(verify_jaccard=VERIFY, write_index=False, previous=(str(lean),)))
        return {"kept": out["kept"], "duplicates": out["duplicates"]}

    (outputs, result) = run(build, tmp_path)
    assert counter(result, "dedup/verified_by_estimate") > 0  # pairs with an old document
    assert counter(result, "dedup/verified_exactly") > 0  # pairs of new documents
    assert sorted([d["id"] for d in outputs["kept"]] + [d["id"] for d in outputs["duplicates"]]) == sorted(
        d["id"] for d in batch_b
    )
    # Exact matches against the old index do not depend on verification.
    exact_old = {(d["id"], d["duplicate_of"]) for d in read["run2"]["duplicates"] if d["method"] == "exact"}
    assert exact_old <= {(d["id"], d["duplicate_of"]) for d in outputs["duplicates"] if d["method"] == "exact"}


def test_reading_only_the_index_rows_that_share_a_key_gives_the_join_result(incremental, tmp_path):
    """``index_lookup: keys`` with ``components: one_worker`` (what local batches use) reads only the old rows sharing
    a hash or a band with the new documents and labels components by union-find, yet decides exactly as joining
    every old row and star rounds do."""
    _, _, read, tmp = incremental

    def build(p):
        docs = p | ReadRecords(f"{tmp}/b/docs-*.parquet", DOCUMENT)
        settings = DedupSettings(verify_jaccard=VERIFY, write_index=False, previous=(str(tmp / "run1"),))
        out = docs | Dedup(replace(settings, index_lookup="keys", components="one_worker"))
        return {"kept": out["kept"], "duplicates": out["duplicates"]}

    (outputs, result) = run(build, tmp_path)
    join = read["run2"]
    assert sorted(d["id"] for d in outputs["kept"]) == sorted(d["id"] for d in join["kept"])
    pairs = sorted((d["id"], d["duplicate_of"], d["method"], d["cluster_size"]) for d in outputs["duplicates"])
    assert pairs == sorted((d["id"], d["duplicate_of"], d["method"], d["cluster_size"]) for d in join["duplicates"])
    old_rows = len(read["run1"]["index"])
    assert counter(result, "dedup/index_rows") == 2 * old_rows  # hash and signature columns scanned, once each
    matched = counter(result, "dedup/index_rows_hash_matched") + counter(result, "dedup/index_rows_bands_matched")
    assert 0 < matched < old_rows  # only the rows that can matter were read in


def test_an_index_built_with_other_settings_is_refused(incremental):
    _, _, _, tmp = incremental
    with pytest.raises(SystemExit, match=r"^error: dedup: failed .*SystemicError: dedup index .* was built with"):
        dedup_cli.main(
            [
                "run",
                "--input",
                f"{tmp}/b/docs-*.parquet",
                "--output",
                str(tmp / "run3"),
                "--previous",
                str(tmp / "run1"),
                "--set",
                "dedup.minhash.seed=2",
                *LOCAL,
            ]
        )


def test_curve_cli_prints_the_detection_curve(capsys):
    dedup_cli.main(["curve", "--set", "dedup.minhash.bands=20", "--set", "dedup.minhash.rows=5"])
    out = capsys.readouterr().out
    assert "20 bands x 5 rows" in out
    p80 = MinHashParams(num_perm=112, bands=20, rows=5).candidate_probability(0.8)
    assert f"0.80  {p80:.4f}" in out


def test_run_report_shows_the_configured_detection_curve():
    from pipelines.config import config_json, load_config
    from pipelines.report import dedup_curve_section

    config = load_config(None, ["dedup.minhash.bands=20", "dedup.minhash.rows=5", "dedup.verify_jaccard=0.8"])
    section = dedup_curve_section(config_json(config))
    assert "20 bands × 5 rows" in section and "verified at true Jaccard ≥ 0.8" in section
    p80 = MinHashParams(num_perm=112, bands=20, rows=5).candidate_probability(0.8)
    assert f"<td>0.80</td><td>{p80:.4f}</td>" in section


class _GatherCheck(beam.pipeline.PipelineVisitor):
    def __init__(self):
        self.global_combines, self.side_inputs = [], []

    def enter_composite_transform(self, node):
        self.visit_transform(node)

    def visit_transform(self, node):
        if isinstance(node.transform, beam.CombineGlobally):
            self.global_combines.append(node.full_label)
        for side in node.side_inputs:
            self.side_inputs.append((node.full_label, type(side).__name__))


def test_no_step_gathers_all_edges_or_documents(docs, incremental):
    pipeline = beam.Pipeline(runner="FnApiRunner")
    settings = DedupSettings(verify_jaccard=VERIFY, previous=(str(incremental[3] / "run1"),))
    _ = pipeline | beam.Create(docs) | Dedup(settings)
    check = _GatherCheck()
    pipeline.visit(check)
    # The only global combines sum one integer per round (convergence), the only side inputs are those sums
    # (read as singletons, or inside the combine itself, where Beam injects the default for an empty input).
    assert check.global_combines and all(re.search(r"/Changed\d+$", label) for label in check.global_combines)
    assert check.side_inputs
    for label, kind in check.side_inputs:
        assert kind == "AsSingleton" or re.search(r"/Changed\d+/", label), (label, kind)


def test_connected_components_of_a_long_chain_converge(tmp_path):
    nodes = [f"node{i:03d}" for i in range(200)]
    order = random.Random(3).sample(nodes, len(nodes))
    edges = [(a, b) if i % 2 else (b, a) for i, (a, b) in enumerate(itertools.pairwise(order))]

    def build(p):
        return {"labels": p | beam.Create(edges) | ConnectedComponents(max_rounds=20)}

    (outputs, result) = run_pairs(build, tmp_path)
    labels = dict(outputs["labels"])
    assert sorted(labels) == nodes
    assert set(labels.values()) == {"node000"}
    assert counter(result, "dedup/cc_not_converged") == 0
    assert counter(result, "dedup/cc_round_1_changed") > 0
    assert counter(result, "dedup/cc_round_20_changed") == 0


def test_components_on_one_worker_equal_the_star_rounds(tmp_path):
    rng = random.Random(5)
    nodes = [f"n{i:03d}" for i in range(300)]
    edges = [tuple(rng.sample(nodes, 2)) for _ in range(220)] + [("n007", "n007")]  # many components, a self-loop

    def build(p):
        edges_in = p | beam.Create(edges)
        return {
            "star": edges_in | "Star" >> ConnectedComponents(max_rounds=20),
            "one": edges_in | "One" >> ComponentsOnOneWorker(),
        }

    (outputs, _) = run_pairs(build, tmp_path)
    star, one = dict(outputs["star"]), dict(outputs["one"])
    assert one == star == union_find_labels(e for e in edges if e[0] != e[1])
    assert len(set(one.values())) > 10


def test_connected_components_out_of_rounds_warn_and_stay_valid(tmp_path, caplog):
    nodes = [f"node{i:03d}" for i in range(200)]
    edges = list(itertools.pairwise(nodes))  # sorted path: the slowest case for star contraction

    def build(p):
        return {"labels": p | beam.Create(edges) | ConnectedComponents(max_rounds=4)}

    (outputs, result) = run_pairs(build, tmp_path)
    labels = dict(outputs["labels"])
    assert sorted(labels) == nodes
    assert all(labels[labels[n]] == labels[n] for n in nodes)
    assert len(set(labels.values())) > 1
    assert counter(result, "dedup/cc_not_converged") == 1
    assert counter(result, "dedup/cc_unresolved_nodes") > 0
    assert "did not converge in 4 rounds" in caplog.text


def run_pairs(build, out_dir: Path):
    pipeline = beam.Pipeline(runner="FnApiRunner")
    names = []
    for name, pcoll in build(pipeline).items():
        names.append(name)
        (
            pcoll
            | f"Json{name}" >> beam.Map(json.dumps)
            | f"Write{name}" >> beam.io.WriteToText(str(out_dir / name), shard_name_template="")
        )
    result = pipeline.run()
    result.wait_until_finish()
    return {name: [json.loads(x) for x in (out_dir / name).read_text().splitlines()] for name in names}, result
