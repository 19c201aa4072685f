"""Exact and MinHash-LSH near-duplicate removal as Beam transforms, distributed end to end.

Nothing is gathered on one worker: exact dedup groups documents by content hash (a streamed group per hash), near
dedup shuffles only band keys and node names, finds connected components by alternating large-star / small-star
rounds (one GroupByKey per round, Kiveris et al. 2014), and joins labels back to documents by id.

Outputs are ``{"kept": Document dicts, "duplicates": Duplicate dicts}``; every input document comes out exactly once.

Node names in the near-dup graph are ``keeper_rank(doc, keep)`` (which ends with the document id), so the minimum
node of a component, the label star contraction converges to, is the document to keep.

Convergence: the rounds are unrolled ``max_rounds`` times in the graph. Each round counts the edges it rewrote
(metric ``dedup/cc_round_N_changed``, and as data summed into a singleton). Two consecutive rounds without a
rewritten edge mean the graph is a set of stars; from then on each round's router sends the edges straight to the
output through a side-input check, so the later rounds' GroupByKeys see no data. If the last rounds still changed
edges, a warning is logged and ``dedup/cc_not_converged`` is incremented; labels stay valid (a node whose parent is
not a root keeps its own label, counted in ``dedup/cc_unresolved_nodes``), the result is then only under-merged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import AsSingleton, TaggedOutput

from curation.dedup.components import Step, canonical_edge, is_rewritten, iter_large_star, iter_small_star
from curation.dedup.keeper import POLICIES, keeper_rank, rank_doc_id
from curation.dedup.lsh import bucket_edges, verified_bucket_edges
from curation.dedup.minhash import MinHashParams, band_keys
from curation.dedup.shingles import shingles
from pipelines.metrics import counter

log = logging.getLogger(__name__)

KEPT = "kept"
DUPLICATES = "duplicates"


def _check_policy(keep: str) -> str:
    if keep not in POLICIES:
        raise ValueError(f"keep: {keep!r} is not one of {POLICIES}")
    return keep


def doc_weight(doc: Mapping[str, Any]) -> int:
    """How many original documents ``doc`` stands for: its exact-dedup cluster size, else 1."""
    return int(doc.get("dedup_cluster_size") or 1)


def duplicate_record(doc: Mapping[str, Any], keeper_id: str, method: str, cluster_size: int) -> dict:
    return {
        "id": doc["id"],
        "source": doc["source"],
        "locator": doc["locator"],
        "duplicate_of": keeper_id,
        "method": method,
        "cluster_id": keeper_id,
        "cluster_size": int(cluster_size),
        "n_chars": doc.get("n_chars"),
    }


def kept_record(doc: Mapping[str, Any], cluster_id: str, cluster_size: int) -> dict:
    return {**doc, "dedup_cluster": cluster_id, "dedup_cluster_size": int(cluster_size)}


# ----------------------------------------------------------------------------------------------------------------
# Exact dedup


def _exact_key(doc: Mapping[str, Any]) -> str:
    """The content hash; a document without one is its own group (never lumped with other hash-less docs)."""
    return doc.get("content_hash") or f"\x00id:{doc['id']}"


class _MinRankAndCount(beam.CombineFn):
    """(keeper rank, weight) pairs -> (smallest rank, total weight); associative, so it runs map-side first."""

    def create_accumulator(self):
        return (None, 0)

    def add_input(self, acc, element):
        rank, weight = element
        return (rank if acc[0] is None or rank < acc[0] else acc[0], acc[1] + weight)

    def merge_accumulators(self, accumulators):
        ranks = [a[0] for a in accumulators if a[0] is not None]
        return (min(ranks, default=None), sum(a[1] for a in accumulators))

    def extract_output(self, acc):
        return acc


class _SplitExact(beam.DoFn):
    """One content-hash group (documents streamed) + its keeper rank and size -> kept / duplicates."""

    def __init__(self, keep: str):
        self.keep = keep

    def process(self, element):
        _, grouped = element
        (keeper, size) = next(iter(grouped["stats"]))
        keeper_id = rank_doc_id(keeper)
        kept_one = False
        for doc in grouped["docs"]:
            if not kept_one and keeper_rank(doc, self.keep) == keeper:
                kept_one = True
                yield kept_record(doc, keeper_id, size)
            else:
                counter("dedup", "exact_duplicates").inc()
                yield TaggedOutput(DUPLICATES, duplicate_record(doc, keeper_id, "exact", size))


class ExactDedup(beam.PTransform):
    """Group by ``content_hash`` (hash of the dedup-normalised text); keep the best-ranked copy of each group."""

    def __init__(self, keep: str = "longest"):
        super().__init__()
        self.keep = _check_policy(keep)

    def expand(self, docs):
        keep = self.keep
        keyed = docs | "KeyByHash" >> beam.Map(lambda d: (_exact_key(d), d))
        stats = (
            keyed
            | "RankPerHash" >> beam.Map(lambda kv: (kv[0], (keeper_rank(kv[1], keep), doc_weight(kv[1]))))
            | "KeeperPerHash" >> beam.CombinePerKey(_MinRankAndCount())
        )
        split = (
            {"docs": keyed, "stats": stats}
            | "JoinKeeper" >> beam.CoGroupByKey()
            | "SplitExact" >> beam.ParDo(_SplitExact(keep)).with_outputs(DUPLICATES, main=KEPT)
        )
        return {KEPT: split[KEPT], DUPLICATES: split[DUPLICATES]}


# ----------------------------------------------------------------------------------------------------------------
# Connected components (large-star / small-star)


def _star_key(step: Step):
    def key(edge: tuple[str, str]):
        child, parent = edge
        if step == "large":  # large-star needs every neighbour
            yield (child, parent)
            yield (parent, child)
        else:  # small-star only needs the smaller ones: send each edge to its larger end
            yield (child, parent)

    return key


class _StarStep(beam.DoFn):
    """One node's large- or small-star step; rewritten edges are counted (metric + a tagged count for the router)."""

    CHANGED = "changed"

    def __init__(self, step: Step, round_number: int):
        self.step = step
        self.round_number = round_number

    def setup(self):
        self.changed_counter = counter("dedup", f"cc_round_{self.round_number}_changed")

    def process(self, element):
        node, neighbors = element
        star = iter_large_star if self.step == "large" else iter_small_star
        changed = 0
        for edge in star(node, neighbors):
            changed += is_rewritten(self.step, node, edge)
            yield edge
        if changed:
            self.changed_counter.inc(changed)
            yield TaggedOutput(self.CHANGED, changed)


class _RouteUnlessConverged(beam.DoFn):
    """Edges skip the remaining rounds once the two previous rounds rewrote nothing."""

    DONE = "done"

    def process(self, edge, changed_last: int, changed_before: int):
        if changed_last == 0 and changed_before == 0:
            yield TaggedOutput(self.DONE, edge)
        else:
            yield edge


def _warn_if_not_converged(changed_last: int, changed_before: int, max_rounds: int) -> None:
    if changed_last or changed_before:
        counter("dedup", "cc_not_converged").inc()
        log.warning(
            "connected components did not converge in %d rounds (last rounds rewrote %d, %d edges); "
            "labels are valid but some components may be split: raise max_rounds",
            max_rounds,
            changed_before,
            changed_last,
        )


class _LabelChildren(beam.DoFn):
    """For one parent: its children take its label if it is a root, else keep their own (rounds ran out)."""

    def process(self, element):
        parent, grouped = element
        parent_is_root = any(grouped["is_root"])
        for child in grouped["child"]:
            if parent_is_root:
                yield (child, parent)
            else:
                counter("dedup", "cc_unresolved_nodes").inc()
                yield (child, child)


def _parent(element) -> tuple[str, str]:
    node, neighbors = element
    return node, min(node, min(neighbors, default=node))


class ConnectedComponents(beam.PTransform):
    """Undirected edges ``(u, v)`` -> ``(node, label)`` for every node on an edge; label = component minimum.

    ``max_rounds`` star rounds (odd: large-star, even: small-star) are unrolled in the graph; see the module doc
    for the convergence check. Self-loops are ignored; nodes on no edge are not in the output.
    """

    def __init__(self, max_rounds: int = 20):
        super().__init__()
        if max_rounds < 2:
            raise ValueError("max_rounds: at least 2 (a large-star and a small-star round) are needed")
        self.max_rounds = max_rounds

    def expand(self, edges):
        current = edges | "Canonical" >> beam.FlatMap(lambda e: [canonical_edge(*e)] if e[0] != e[1] else [])
        finished = []
        changed: list = []
        for n in range(1, self.max_rounds + 1):
            step: Step = "large" if n % 2 else "small"
            if len(changed) >= 2:
                routed = current | f"Route{n}" >> beam.ParDo(
                    _RouteUnlessConverged(), AsSingleton(changed[-1]), AsSingleton(changed[-2])
                ).with_outputs(_RouteUnlessConverged.DONE, main="active")
                finished.append(routed[_RouteUnlessConverged.DONE])
                current = routed["active"]
            result = (
                current
                | f"Key{n}{step.title()}" >> beam.FlatMap(_star_key(step))
                | f"Group{n}" >> beam.GroupByKey()
                | f"Star{n}" >> beam.ParDo(_StarStep(step, n)).with_outputs(_StarStep.CHANGED, main="edges")
            )
            changed.append(result[_StarStep.CHANGED] | f"Changed{n}" >> beam.CombineGlobally(sum))
            current = result["edges"]
        changed[-1] | "CheckConverged" >> beam.Map(
            _warn_if_not_converged, AsSingleton(changed[-2]), max_rounds=self.max_rounds
        )
        final = (*finished, current) | "FinalEdges" >> beam.Flatten()
        parents = (
            final
            | "KeyBothEnds" >> beam.FlatMap(lambda e: [(e[0], e[1]), (e[1], e[0])])
            | "GroupNeighbors" >> beam.GroupByKey()
            | "Parent" >> beam.Map(_parent)
        )
        return (
            {
                "child": parents | "ByParent" >> beam.Map(lambda np: (np[1], np[0])),
                "is_root": parents | "IsRoot" >> beam.Map(lambda np: (np[0], np[0] == np[1])),
            }
            | "JoinParents" >> beam.CoGroupByKey()
            | "Label" >> beam.ParDo(_LabelChildren())
        )


# ----------------------------------------------------------------------------------------------------------------
# Near dedup (MinHash LSH)


def _script(doc: Mapping[str, Any]) -> str | None:
    """The document's script, else the one in its language code (``zho_Hans`` -> ``Hans``)."""
    lang = doc.get("lang") or ""
    return doc.get("script") or (lang.split("_", 1)[1] if "_" in lang else None)


class _SignBatch(beam.DoFn):
    """A batch of documents -> ``(band key, node)`` per band (node plus signature when edges are verified)."""

    def __init__(self, params: MinHashParams, keep: str, with_signatures: bool):
        self.params = params
        self.keep = keep
        self.with_signatures = with_signatures
        self.signer = None

    def setup(self):
        from curation.dedup.minhash import MinHashSigner

        self.signer = MinHashSigner(self.params)

    def process(self, batch: list[dict]):
        shingle_lists = [shingles(d["text"], _script(d), ngram=self.params.ngram) for d in batch]
        signatures = self.signer.sign_batch(shingle_lists)
        for doc, doc_shingles, signature in zip(batch, shingle_lists, signatures, strict=True):
            if not doc_shingles:  # empty text: nothing to compare, stays unique
                continue
            node = keeper_rank(doc, self.keep)
            member = (node, signature) if self.with_signatures else node
            for key in band_keys(signature, self.params):
                yield key, member


class _BucketEdges(beam.DoFn):
    def __init__(self, verify_jaccard: float | None):
        self.verify_jaccard = verify_jaccard

    def process(self, element):
        _, members = element
        if self.verify_jaccard is None:
            yield from bucket_edges(members)
        else:
            yield from verified_bucket_edges(members, self.verify_jaccard)


def _count_candidate(edge):
    counter("dedup", "candidate_edges").inc()
    return edge


def _label_weights(element):
    """(doc id, {label: [label id], weight: [w]}) -> (label id, w) for documents on an edge."""
    _, grouped = element
    labels = list(grouped["label"])
    if labels:
        yield labels[0], sum(grouped["weight"])


def _members_with_size(element):
    label, grouped = element
    size = next(iter(grouped["size"]))
    for member in grouped["member"]:
        yield member, (label, size)


class _SplitNear(beam.DoFn):
    """One document id + its (label, size) if it is on an edge -> kept or a minhash duplicate of the label."""

    def process(self, element):
        doc_id, grouped = element
        cluster = next(iter(grouped["cluster"]), None)
        for doc in grouped["doc"]:
            if cluster is None:
                yield kept_record(doc, doc_id, doc_weight(doc))
                continue
            label, size = cluster
            if label == doc_id:
                yield kept_record(doc, label, size)
            else:
                counter("dedup", "near_duplicates").inc()
                yield TaggedOutput(DUPLICATES, duplicate_record(doc, label, "minhash", size))


class NearDedup(beam.PTransform):
    """MinHash LSH candidates -> distributed connected components -> keep each component's best-ranked document.

    ``verify_jaccard``: drop candidate edges whose *signature-estimated* Jaccard is below it (checked within each
    bucket against the bucket's leaders, see ``curation.dedup.lsh.verified_bucket_edges``); signatures then travel
    with the band keys. Cluster sizes count original documents: a document kept by exact dedup counts as its
    ``dedup_cluster_size``.
    """

    def __init__(
        self,
        params: MinHashParams,
        keep: str = "longest",
        max_rounds: int = 20,
        verify_jaccard: float | None = None,
        batch_size: int = 256,
    ):
        super().__init__()
        self.params = params
        self.keep = _check_policy(keep)
        self.max_rounds = max_rounds
        self.verify_jaccard = None if verify_jaccard is None else float(verify_jaccard)
        self.batch_size = batch_size

    def expand(self, docs):
        edges = (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self.batch_size)
            | "Sign" >> beam.ParDo(_SignBatch(self.params, self.keep, self.verify_jaccard is not None))
            | "GroupBuckets" >> beam.GroupByKey()
            | "BucketEdges" >> beam.ParDo(_BucketEdges(self.verify_jaccard))
            | "DistinctEdges" >> beam.Distinct()
            | "CountCandidates" >> beam.Map(_count_candidate)
        )
        labels = (
            edges
            | "Components" >> ConnectedComponents(self.max_rounds)
            | "LabelIds" >> beam.Map(lambda nl: (rank_doc_id(nl[0]), rank_doc_id(nl[1])))
        )
        docs_by_id = docs | "KeyById" >> beam.Map(lambda d: (d["id"], d))
        sizes = (
            {"label": labels, "weight": docs_by_id | "Weights" >> beam.Map(lambda kv: (kv[0], doc_weight(kv[1])))}
            | "JoinWeights" >> beam.CoGroupByKey()
            | "LabelWeights" >> beam.FlatMap(_label_weights)
            | "ComponentSize" >> beam.CombinePerKey(sum)
        )
        clusters = (
            {"member": labels | "ByLabel" >> beam.Map(lambda il: (il[1], il[0])), "size": sizes}
            | "JoinSizes" >> beam.CoGroupByKey()
            | "MemberClusters" >> beam.FlatMap(_members_with_size)
        )
        split = (
            {"doc": docs_by_id, "cluster": clusters}
            | "JoinClusters" >> beam.CoGroupByKey()
            | "SplitNear" >> beam.ParDo(_SplitNear()).with_outputs(DUPLICATES, main=KEPT)
        )
        return {KEPT: split[KEPT], DUPLICATES: split[DUPLICATES]}


# ----------------------------------------------------------------------------------------------------------------
# Exact then near, with exact duplicates re-pointed at the final keeper


def _final_keeper_of_kept(doc: Mapping[str, Any]):
    return doc["id"], (doc["id"], doc["dedup_cluster_size"])


def _final_keeper_of_duplicate(dup: Mapping[str, Any]):
    return dup["id"], (dup["duplicate_of"], dup["cluster_size"])


def _repoint(element):
    _, grouped = element
    keeper, size = next(iter(grouped["final"]))
    for dup in grouped["dup"]:
        yield {**dup, "duplicate_of": keeper, "cluster_id": keeper, "cluster_size": size}


class Dedup(beam.PTransform):
    """Exact dedup, then near dedup of the survivors; the composite the curate pipeline should use.

    Chaining the two naively leaves exact duplicates pointing at an exact keeper that near dedup may remove. Here
    they are re-pointed (one join keyed by that keeper) at the document finally kept, with the final cluster size;
    their ``method`` stays "exact" (the stage that removed them). Kept ``dedup_cluster_size`` values therefore sum
    to the number of input documents.
    """

    def __init__(
        self,
        exact: bool = True,
        near: bool = True,
        params: MinHashParams | None = None,
        keep: str = "longest",
        max_rounds: int = 20,
        verify_jaccard: float | None = None,
        batch_size: int = 256,
    ):
        super().__init__()
        self.exact, self.near = exact, near
        self.params = params or MinHashParams()
        self.keep = _check_policy(keep)
        self.max_rounds = max_rounds
        self.verify_jaccard = verify_jaccard
        self.batch_size = batch_size

    @classmethod
    def from_config(cls, dedup_config: Mapping[str, Any]) -> Dedup:
        """Build from the run config's ``dedup`` section."""
        return cls(
            exact=bool(dedup_config.get("exact", True)),
            near=bool(dedup_config.get("near", True)),
            params=MinHashParams(**dedup_config.get("minhash", {})),
            keep=dedup_config.get("keep", "longest"),
            max_rounds=int(dedup_config.get("max_rounds", 20)),
            verify_jaccard=dedup_config.get("verify_jaccard"),
            batch_size=int(dedup_config.get("batch_size", 256)),
        )

    def expand(self, docs):
        kept, duplicates = docs, []
        exact_dups = None
        if self.exact:
            exact = kept | "ExactDedup" >> ExactDedup(self.keep)
            kept, exact_dups = exact[KEPT], exact[DUPLICATES]
        if self.near:
            near = kept | "NearDedup" >> NearDedup(
                self.params, self.keep, self.max_rounds, self.verify_jaccard, self.batch_size
            )
            kept = near[KEPT]
            duplicates.append(near[DUPLICATES])
            if exact_dups is not None:
                final = (
                    kept | "FinalOfKept" >> beam.Map(_final_keeper_of_kept),
                    near[DUPLICATES] | "FinalOfNearDup" >> beam.Map(_final_keeper_of_duplicate),
                ) | "FinalKeepers" >> beam.Flatten()
                exact_dups = (
                    {"dup": exact_dups | "ByExactKeeper" >> beam.Map(lambda d: (d["duplicate_of"], d)), "final": final}
                    | "JoinFinalKeeper" >> beam.CoGroupByKey()
                    | "Repoint" >> beam.FlatMap(_repoint)
                )
        if exact_dups is not None:
            duplicates.append(exact_dups)
        if not duplicates:
            duplicates.append(docs | "NoDuplicates" >> beam.FlatMap(lambda _: []))
        return {KEPT: kept, DUPLICATES: tuple(duplicates) | "AllDuplicates" >> beam.Flatten()}
