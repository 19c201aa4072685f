"""Exact and MinHash-LSH near-duplicate removal as Beam transforms, distributed end to end.

    python -m pipelines.dedup curve [--config run.yaml] [--set dedup.minhash.bands=20 ...]
    python -m pipelines.dedup run --input 'docs-*.parquet' --output out/ [--previous earlier/run] [Beam flags]

Nothing is gathered on one worker: every grouping is keyed by a content hash, a band key, a graph node, a cluster
label or a document id, and each group is streamed (two passes over a re-iterable ``GroupByKey`` value, never a
``CoGroupByKey`` list), so the largest thing a worker holds is one document, one signature or one shingle set.

- Exact: documents grouped by content hash; the best-ranked copy is kept.
- Near: shingle hashes and MinHash signatures per batch (numpy, ``curation.dedup``), one (band key, node) pair per
  band, buckets grouped by band key give star edges, optionally verified by true Jaccard on shingles (the shingle
  sets travel with the edge: one join by child, one by parent), connected components by alternating large-star /
  small-star rounds (one GroupByKey per round, Kiveris et al. 2014), cluster sizes per label, labels joined back
  to documents by id.
- Incremental: the index rows (exact hash, signature, optionally shingles) of an earlier run's kept documents join
  the same groups as documents of tier "0", which sort before every new document: old documents always win and are
  never re-emitted, and the old corpus is not re-read or re-signed.

Outputs of ``Dedup`` are ``{"kept": Document dicts, "duplicates": Duplicate dicts, "index": DedupIndex dicts}``;
every input document comes out exactly once as kept or duplicate.

Node names are ``node_name(keeper_rank(doc, keep), weight)`` (see ``curation.dedup.keeper``), so the minimum node of
a component, the label star contraction converges to, is the document to keep, and the weight (how many original
documents it stands for) travels with it.

Convergence: the rounds are unrolled ``max_rounds`` times in the graph. Each round counts the edges it rewrote
(metric ``dedup/cc_round_N_changed``, and as data summed into a singleton). Two consecutive rounds without a
rewritten edge mean the graph is a set of stars; from then on each round's router sends the edges straight to the
output through a side-input check, so the later rounds' GroupByKeys see no data. If the last rounds still changed
edges, a warning is logged and ``dedup/cc_not_converged`` is incremented; labels stay valid (a node whose parent is
not a root keeps its own label, counted in ``dedup/cc_unresolved_nodes``), the result is then only under-merged.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
import numpy as np
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import AsSingleton, TaggedOutput

from curation.dedup.components import (
    Step,
    canonical_edge,
    is_rewritten,
    iter_large_star,
    iter_small_star,
    union_find_labels,
)
from curation.dedup.keeper import (
    NEW_TIER,
    OLD_TIER,
    POLICIES,
    is_old,
    keeper_rank,
    node_doc_id,
    node_name,
    node_weight,
    source_ranks,
)
from curation.dedup.lsh import bucket_edges
from curation.dedup.minhash import (
    MinHashParams,
    band_keys,
    estimate_jaccard,
    format_curve,
    shingle_set_from_bytes,
    shingle_set_to_bytes,
    signature_to_bytes,
    sorted_set_jaccard,
)
from curation.dedup.shingle_hash import ShingleHashes
from curation.dedup.shingles import ShingleConfig
from curation.records import rejection
from pipelines import layout
from pipelines.isolation import SystemicError, error_detail, error_reason, per_batch
from pipelines.metrics import counter

log = logging.getLogger(__name__)

KEPT = "kept"
DUPLICATES = "duplicates"
INDEX = "index"
REJECTED = "rejections"  # documents whose dedup features could not be computed (per-record isolation)
FAILED = "failed"
JOIN, KEYS = "join", "keys"  # dedup.index_lookup
STAR_ROUNDS, ONE_WORKER = "star_rounds", "one_worker"  # dedup.components
HASH_VERSION = "h1"  # bump when curation.dedup.shingle_hash changes its output: old indexes become incompatible


# ----------------------------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class DedupSettings:
    """The run config's ``dedup`` section, validated (see configs/default.yaml for each key)."""

    exact: bool = True
    near: bool = True
    keep: str = "longest"
    source_order: tuple[str, ...] = ()
    shingles: ShingleConfig = field(default_factory=ShingleConfig)
    minhash: MinHashParams = field(default_factory=MinHashParams)
    max_rounds: int = 20
    verify_jaccard: float | None = 0.8
    verify_centres: int = 8
    batch_size: int = 256
    write_index: bool = True
    index_shingles: bool = True
    previous: tuple[str, ...] = ()
    index_lookup: str = "join"  # join: every earlier index row joins by key; keys: only rows sharing a key are read
    components: str = "star_rounds"  # star_rounds: distributed, any size; one_worker: union-find of a bounded job
    source_shingles: tuple[tuple[str, ShingleConfig], ...] = ()  # sources whose documents are shingled otherwise

    def __post_init__(self) -> None:
        if self.components not in (STAR_ROUNDS, ONE_WORKER):
            raise ValueError(f"dedup.components: {STAR_ROUNDS} or {ONE_WORKER}, got {self.components!r}")
        if self.index_lookup not in (JOIN, KEYS):
            raise ValueError(f"dedup.index_lookup: {JOIN} or {KEYS}, got {self.index_lookup!r}")
        if self.keep not in POLICIES:
            raise ValueError(f"dedup.keep: {self.keep!r} is not one of {POLICIES}")
        if self.max_rounds < 2:
            raise ValueError("dedup.max_rounds: at least 2 (a large-star and a small-star round) are needed")
        if self.verify_jaccard is not None and not 0.0 < self.verify_jaccard <= 1.0:
            raise ValueError(f"dedup.verify_jaccard: a Jaccard threshold in (0, 1] or null, got {self.verify_jaccard}")
        if self.verify_centres < 1:
            raise ValueError("dedup.verify_centres: at least 1")

    @property
    def bucket_centres(self) -> int:
        """Centres per bucket: one star is enough for connectivity; verification needs more chances."""
        return 1 if self.verify_jaccard is None else self.verify_centres

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], sources: Sequence[str | Mapping[str, Any]] = ()) -> DedupSettings:
        """From ``config["dedup"]``; ``sources`` (the run's sources, or their names, in config order) give the default
        ``source_priority`` of the ``earliest`` policy and each source's own shingling (``source_shingles``)."""
        previous = cfg.get("previous") or ()
        verify = cfg.get("verify_jaccard", 0.8)
        names = [src if isinstance(src, str) else src["name"] for src in sources]
        return cls(
            exact=bool(cfg.get("exact", True)),
            near=bool(cfg.get("near", True)),
            keep=str(cfg.get("keep", "longest")),
            source_order=tuple(cfg.get("source_priority") or names),
            shingles=ShingleConfig.from_mapping(cfg.get("shingles")),
            minhash=MinHashParams.from_mapping(cfg.get("minhash")),
            max_rounds=int(cfg.get("max_rounds", 20)),
            verify_jaccard=None if verify is None else float(verify),
            verify_centres=int(cfg.get("verify_centres", 8)),
            batch_size=int(cfg.get("batch_size", 256)),
            write_index=bool(cfg.get("write_index", True)),
            index_shingles=bool(cfg.get("index_shingles", True)),
            previous=(previous,) if isinstance(previous, str) else tuple(previous),
            index_lookup=str(cfg.get("index_lookup", JOIN)),
            components=str(cfg.get("components", STAR_ROUNDS)),
            source_shingles=source_shingles(cfg.get("shingles"), sources),
        )

    def signature_params(self) -> str:
        """What a stored signature depends on; an index is only usable by a run with the same string. A source's own
        shingles (``source_shingles``) are not in it: a later run over other sources must still match an index
        that holds code, and a source keeps its shingling from run to run through its own config."""
        from curation.dedup.minhash import MinHashSigner

        return f"{MinHashSigner(self.minhash).describe()};{self.shingles.describe()};{HASH_VERSION}"


CODE_SHINGLES = {"casefold": False, "digits": False}  # identifiers are case-sensitive, numbers mean something in code


def source_shingles(
    shingles: Mapping[str, Any] | None, sources: Sequence[str | Mapping[str, Any]]
) -> tuple[tuple[str, ShingleConfig], ...]:
    """(source name, shingle config) of each source shingled unlike ``dedup.shingles``: a source's own ``shingles``
    over them, and for ``code`` sources tokens kept as written (no case or digit folding) by default."""
    out = []
    for src in sources:
        if isinstance(src, str) or (src.get("shingles") is None and src.get("type") != "code"):
            continue
        code = CODE_SHINGLES if src.get("type") == "code" else {}
        merged = {**(shingles or {}), **code, **(src.get("shingles") or {})}
        out.append((src["name"], ShingleConfig.from_mapping(merged)))
    return tuple(out)


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


def index_record(doc: Mapping[str, Any], signature: bytes | None, shingles: bytes | None, params: str) -> dict:
    return {
        "id": doc["id"],
        "source": doc["source"],
        "content_hash": doc.get("content_hash") or "",
        "cluster_size": doc_weight(doc),
        "signature": signature,
        "shingles": shingles,
        "params": params,
    }


def old_node(row: Mapping[str, Any]) -> str:
    """The graph node of an earlier run's kept document: tier "0", ordered by id among old documents."""
    return node_name(keeper_rank(row, "first"), int(row.get("cluster_size") or 1), OLD_TIER)


def tag_and_group(label: str, tagged: Mapping[str, beam.PCollection]) -> beam.PCollection:
    """``{tag: PCollection of (key, value)}`` -> ``(key, iterable of (tag, value))`` by one GroupByKey.

    Unlike CoGroupByKey (which builds a list per tag), the grouped value stays a lazily read, re-iterable stream.
    """
    parts = [
        pcoll | f"{label}Tag{tag.title()}" >> beam.Map(lambda kv, t=tag: (kv[0], (t, kv[1])))
        for tag, pcoll in tagged.items()
    ]
    return parts | f"{label}Flatten" >> beam.Flatten() | f"{label}Group" >> beam.GroupByKey()


def index_pattern(path: str) -> str:
    """An earlier run's output root, or a Parquet path/glob of index files, as a file pattern."""
    if path.endswith(".parquet") or any(c in path for c in "*?["):
        return path
    return layout.pattern(layout.dedup_index_prefix(path))


BY_HASH = "hash"
BY_BANDS = "bands"


class _RelevantIndexRows(beam.DoFn):
    """An index file → the rows that can matter to this job: those sharing an exact hash (``by="hash"``) or an LSH
    band key (``by="bands"``) with one of its documents. The job's keys arrive as a side input and each row group is
    read column first (pyarrow), so what a job holds of an earlier corpus is bounded by its own size, not by the
    corpus's (what lets a long local run carry its index from batch to batch: ``pipelines.local_batches``).

    Rows signed under other settings stop the job: they would silently never match."""

    def __init__(self, params: str, by: str, minhash: MinHashParams):
        self.params, self.by, self.minhash = params, by, minhash
        self._keys_id: int | None = None
        self._key_array = None

    def _check_params(self, table, path: str) -> None:
        import pyarrow.compute as pc

        for value in pc.unique(table.column("params")).to_pylist():
            if value != self.params:  # a configuration mismatch, not one bad row: stop the job
                raise SystemicError(
                    f"dedup index {path} was built with {value!r} but this run signs with {self.params!r}: "
                    "use the same dedup.minhash / dedup.shingles settings as the earlier run"
                )

    def _hash_mask(self, table, keys):
        import pyarrow as pa
        import pyarrow.compute as pc

        if self._keys_id != id(keys):  # the side input is the same object for a whole bundle: convert it once
            self._keys_id, self._key_array = id(keys), pa.array(sorted(keys), type=pa.string())
        return pc.fill_null(pc.is_in(table.column("content_hash"), value_set=self._key_array), False).to_pylist()

    def _band_mask(self, table, keys) -> list[bool]:
        mask = []
        for data in table.column("signature").to_pylist():
            if not data:
                mask.append(False)
                continue
            signature = np.frombuffer(data, dtype="<u4" if len(data) == 4 * self.minhash.num_perm else "<u8")
            mask.append(any(key in keys for key in band_keys(signature, self.minhash)))
        return mask

    def process(self, path: str, keys=None):
        import pyarrow.parquet as pq

        from pipelines.read_lines import open_raw

        if keys is not None and not keys:
            return
        with open_raw(path) as f:
            parquet = pq.ParquetFile(f)
            column = "content_hash" if self.by == BY_HASH else "signature"
            for group in range(parquet.num_row_groups):
                head = parquet.read_row_group(group, columns=[column, "params"])
                self._check_params(head, path)
                counter("dedup", "index_rows").inc(head.num_rows)
                if keys is None:  # join mode: every row, matched by the GroupByKey downstream
                    yield from parquet.read_row_group(group).to_pylist()
                    continue
                mask = self._hash_mask(head, keys) if self.by == BY_HASH else self._band_mask(head, keys)
                rows = [i for i, hit in enumerate(mask) if hit]
                if not rows:
                    continue
                counter("dedup", f"index_rows_{self.by}_matched").inc(len(rows))
                yield from parquet.read_row_group(group).take(rows).to_pylist()


class ReadDedupIndex(beam.PTransform):
    """The rows of earlier runs' indexes (local, gs://, s3://: anything Beam FileSystems reads): all of them
    (``keys`` None: the index joins the job's groups by key, distributed), or only those sharing a key with
    ``keys`` (an ``AsSingleton`` side input holding this job's content hashes or band keys: ``_RelevantIndexRows``).
    """

    def __init__(self, paths: Sequence[str], params: str, by: str, keys=None, minhash: MinHashParams | None = None):
        super().__init__()
        self.paths = list(paths)
        self.params, self.by, self.keys = params, by, keys
        self.minhash = minhash or MinHashParams()

    def expand(self, pbegin):
        return (
            pbegin
            | "IndexPatterns" >> beam.Create([index_pattern(path) for path in self.paths])
            | "MatchIndex" >> fileio.MatchAll()
            | "IndexFiles" >> beam.Map(lambda meta: meta.path)
            | "SpreadIndexFiles" >> beam.Reshuffle()
            | "RelevantRows"
            >> beam.ParDo(_RelevantIndexRows(self.params, self.by, self.minhash), *([self.keys] if self.keys else []))
        )


# ----------------------------------------------------------------------------------------------------------------
# Exact dedup


def _exact_key(doc: Mapping[str, Any]) -> str:
    """The content hash; a document without one is its own group (never lumped with other hash-less docs)."""
    return doc.get("content_hash") or f"\x00id:{doc['id']}"


class _SplitExact(beam.DoFn):
    """One content-hash group (new documents and old index nodes, streamed twice) -> kept / duplicates."""

    def __init__(self, keep: str, source_order: Sequence[str]):
        self.keep = keep
        self.source_order = tuple(source_order)

    def setup(self):
        self.ranks = source_ranks(self.source_order)

    def _node(self, tag: str, value) -> str:
        if tag == OLD_TIER:
            return value
        return node_name(keeper_rank(value, self.keep, self.ranks), doc_weight(value))

    def process(self, element):
        _, members = element
        best, size, has_new = None, 0, False
        for tag, value in members:
            node = self._node(tag, value)
            size += node_weight(node)
            best = node if best is None or node < best else best
            has_new = has_new or tag == NEW_TIER
        if not has_new:
            return
        keeper_id = node_doc_id(best)
        from_index = is_old(best)
        kept_one = False
        for tag, doc in members:
            if tag == OLD_TIER:
                continue
            if not kept_one and doc["id"] == keeper_id:
                kept_one = True
                yield kept_record(doc, keeper_id, size)
            else:
                counter("dedup", "exact_duplicates").inc()
                if from_index:
                    counter("dedup", "index_exact_matches").inc()
                yield TaggedOutput(DUPLICATES, duplicate_record(doc, keeper_id, "exact", size))


class ExactDedup(beam.PTransform):
    """Group by ``content_hash`` (hash of the normalised text); keep the best-ranked copy of each group.

    ``previous``: earlier runs' indexes (paths, signed with ``params``); a new document with an old hash is a
    duplicate of the old document. Only the index rows sharing a hash with this job's documents are read in.
    """

    def __init__(
        self,
        keep: str = "longest",
        source_order: Sequence[str] = (),
        previous: Sequence[str] = (),
        params: str = "",
        lookup: str = JOIN,
    ):
        super().__init__()
        if keep not in POLICIES:
            raise ValueError(f"keep: {keep!r} is not one of {POLICIES}")
        self.keep = keep
        self.source_order = tuple(source_order)
        self.previous = tuple(previous)
        self.params = params
        self.lookup = lookup

    def expand(self, docs):
        parts = [docs | "KeyByHash" >> beam.Map(lambda d: (_exact_key(d), (NEW_TIER, d)))]
        if self.previous:
            keys = None
            if self.lookup == KEYS:  # only the index rows sharing a hash with this (bounded) job's documents
                keys = AsSingleton(docs | "Hashes" >> beam.Map(_exact_key) | "HashSet" >> beam.combiners.ToSet())
            old = docs.pipeline | "OldByHashIndex" >> ReadDedupIndex(self.previous, self.params, BY_HASH, keys)
            parts.append(
                old
                | "OldByHash"
                >> beam.FlatMap(lambda r: [(r["content_hash"], (OLD_TIER, old_node(r)))] if r["content_hash"] else [])
            )
        split = (
            parts
            | "FlattenByHash" >> beam.Flatten()
            | "GroupByHash" >> beam.GroupByKey()
            | "SplitExact" >> beam.ParDo(_SplitExact(self.keep, self.source_order)).with_outputs(DUPLICATES, main=KEPT)
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
    """For one parent (its children and its own root flag, streamed twice): children take its label if it is a
    root, else keep their own (rounds ran out)."""

    def process(self, element):
        parent, members = element
        parent_is_root = any(value for tag, value in members if tag == "is_root")
        for tag, child in members:
            if tag != "child":
                continue
            if parent_is_root:
                yield (child, parent)
            else:
                counter("dedup", "cc_unresolved_nodes").inc()
                yield (child, child)


def _parent(element) -> tuple[str, str]:
    node, neighbors = element
    return node, min(node, min(neighbors, default=node))


class ComponentsOnOneWorker(beam.PTransform):
    """The output of ``ConnectedComponents`` by union-find over all edges on one worker: for a job whose edges are
    bounded by a setting (a local batch, ``run.local_batch_mb``), one shuffle instead of ~3 stages per star round
    (each a few hundred ms of fixed cost on the local runner). Never for an unbounded job: it gathers every edge."""

    def expand(self, edges):
        return (
            edges
            | "OneKey" >> beam.Map(lambda e: (None, e))
            | "AllEdges" >> beam.GroupByKey()
            | "UnionFind" >> beam.FlatMap(lambda kv: union_find_labels(e for e in kv[1] if e[0] != e[1]).items())
        )


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
                    _RouteUnlessConverged(),
                    AsSingleton(changed[-1], default_value=0),
                    AsSingleton(changed[-2], default_value=0),
                ).with_outputs(_RouteUnlessConverged.DONE, main="active")
                finished.append(routed[_RouteUnlessConverged.DONE])
                current = routed["active"]
            result = (
                current
                | f"Key{n}{step.title()}" >> beam.FlatMap(_star_key(step))
                | f"Group{n}" >> beam.GroupByKey()
                | f"Star{n}" >> beam.ParDo(_StarStep(step, n)).with_outputs(_StarStep.CHANGED, main="edges")
            )
            # Empty when nothing changed (no default element): read with default_value=0, one stage less per round.
            changed.append(result[_StarStep.CHANGED] | f"Changed{n}" >> beam.CombineGlobally(sum).without_defaults())
            current = result["edges"]
        (
            edges.pipeline
            | "ConvergenceCheck" >> beam.Create([None])
            | "CheckConverged"
            >> beam.Map(
                lambda _, last, before: _warn_if_not_converged(last, before, self.max_rounds),
                AsSingleton(changed[-1], default_value=0),
                AsSingleton(changed[-2], default_value=0),
            )
        )
        final = (*finished, current) | "FinalEdges" >> beam.Flatten()
        parents = (
            final
            | "KeyBothEnds" >> beam.FlatMap(lambda e: [(e[0], e[1]), (e[1], e[0])])
            | "GroupNeighbors" >> beam.GroupByKey()
            | "Parent" >> beam.Map(_parent)
        )
        by_parent = tag_and_group(
            "JoinParents",
            {
                "child": parents | "ByParent" >> beam.Map(lambda np_: (np_[1], np_[0])),
                "is_root": parents | "IsRoot" >> beam.Map(lambda np_: (np_[0], np_[0] == np_[1])),
            },
        )
        return by_parent | "Label" >> beam.ParDo(_LabelChildren())


# ----------------------------------------------------------------------------------------------------------------
# Candidate verification by true Jaccard


def _similarity(a: tuple[bytes | None, bytes], b: tuple[bytes | None, bytes], num_perm: int) -> float:
    """True Jaccard of the shingle sets when both travel; else (an index without shingles) the signature estimate."""
    (shingles_a, sig_a), (shingles_b, sig_b) = a, b
    if shingles_a is not None and shingles_b is not None:
        counter("dedup", "verified_exactly").inc()
        return sorted_set_jaccard(shingle_set_from_bytes(shingles_a), shingle_set_from_bytes(shingles_b))
    counter("dedup", "verified_by_estimate").inc()
    dtype = "<u4" if len(sig_a) == 4 * num_perm else "<u8"
    return estimate_jaccard(np.frombuffer(sig_a, dtype=dtype), np.frombuffer(sig_b, dtype=dtype))


class _AttachFeatures(beam.DoFn):
    """One node: its features, its candidate parents ("up") and whether it is a parent ("hub"), streamed twice ->
    (parent, (node, features)) per candidate edge, and (node, features) if some edge points at it.

    Nodes on no edge stop here, so their features cross one shuffle only."""

    def process(self, element):
        node, members = element
        features, is_parent = None, False
        for tag, value in members:
            if tag == "features":
                features = value
            elif tag == "hub":
                is_parent = True
        for tag, parent in members:
            if tag == "up":
                yield parent, ("candidate", (node, features))
        if is_parent:
            yield node, ("features", features)


class _JudgeCandidates(beam.DoFn):
    """One parent node: its features and its (child, features) candidates -> the edges at or above the threshold."""

    def __init__(self, threshold: float, num_perm: int):
        self.threshold = threshold
        self.num_perm = num_perm

    def process(self, element):
        parent, members = element
        features = next((value for tag, value in members if tag == "features"), None)
        for tag, value in members:
            if tag != "candidate":
                continue
            child, child_features = value
            if features is None or child_features is None:  # cannot happen when every node was signed
                counter("dedup", "verify_missing_features").inc()
                yield (child, parent)
            elif _similarity(child_features, features, self.num_perm) >= self.threshold:
                counter("dedup", "verified_edges").inc()
                yield (child, parent)
            else:
                counter("dedup", "rejected_edges").inc()


class VerifyEdges(beam.PTransform):
    """Keep candidate edges whose endpoints' true shingle Jaccard reaches ``threshold``.

    ``features``: (node, (shingle-set bytes or None, signature bytes)) for every node. One grouping by node attaches
    each node's features to its outgoing candidate edges (and keeps them for the nodes edges point at); a second
    grouping by parent brings each parent's features and its candidates together. No worker holds more than one
    node's features plus a stream of its candidates; features of nodes on no edge cross one shuffle only.
    """

    def __init__(self, threshold: float, features, num_perm: int):
        super().__init__()
        self.threshold = threshold
        self.features = features
        self.num_perm = num_perm

    def expand(self, edges):
        by_node = tag_and_group(
            "ByNode",
            {
                "features": self.features,
                "up": edges,
                "hub": edges | "ParentMarks" >> beam.Map(lambda e: (e[1], None)),
            },
        )
        candidates = by_node | "AttachFeatures" >> beam.ParDo(_AttachFeatures()) | "GroupByParent" >> beam.GroupByKey()
        return candidates | "Judge" >> beam.ParDo(_JudgeCandidates(self.threshold, self.num_perm))


# ----------------------------------------------------------------------------------------------------------------
# Near dedup (MinHash LSH)


def _script(doc: Mapping[str, Any]) -> str | None:
    """The document's script, else the one in its language code (``zho_Hans`` -> ``Hans``)."""
    lang = doc.get("lang") or ""
    return doc.get("script") or (lang.split("_", 1)[1] if "_" in lang else None)


FEATURES = "features"
SIGNATURES = "signatures"


def _sign_failed(_owner, doc: dict, err: BaseException):
    """A document whose shingles or signature raised: joined back by id, it leaves dedup as a Rejection."""
    yield TaggedOutput(FAILED, (doc["id"], rejection(doc, "dedup", error_reason(err), error_detail(err))))


class _SignBatch(beam.DoFn):
    """A batch of documents -> ``(band key, node)`` per band; node features for verification and signatures for
    the index on tagged outputs. The signer's permutations are drawn once, where the graph is built, and travel
    with the DoFn: a worker then never imports datasketch (and the scipy it loads: ~0.35 CPU-s per worker and local
    batch); the hasher is built once per worker."""

    def __init__(self, settings: DedupSettings):
        from curation.dedup.minhash import MinHashSigner

        self.settings = settings
        self.signer = MinHashSigner(settings.minhash)

    def setup(self):
        from curation.dedup.shingle_hash import ShingleHasher

        self.hasher = ShingleHasher(self.settings.shingles)
        self.hashers = {name: ShingleHasher(config) for name, config in self.settings.source_shingles}
        self.ranks = source_ranks(self.settings.source_order)

    @per_batch("dedup", on_error=_sign_failed)
    def process(self, batch: list[dict]):
        by_source: dict[str | None, list[dict]] = {}
        for doc in batch:  # documents of sources shingled their own way (code) are hashed with their hasher
            by_source.setdefault(doc["source"] if doc["source"] in self.hashers else None, []).append(doc)
        for name, docs in by_source.items():
            yield from self._sign(docs, self.hasher if name is None else self.hashers[name])

    def _sign(self, batch: list[dict], hasher):
        settings = self.settings
        hashed: ShingleHashes = hasher.hash_batch([d["text"] for d in batch], [_script(d) for d in batch])
        signatures = self.signer.sign(hashed)
        counts = hashed.counts()
        verify = settings.verify_jaccard is not None
        for i, doc in enumerate(batch):
            signature = signature_to_bytes(signatures[i])
            shingle_set = None
            if verify:
                shingle_set = shingle_set_to_bytes(hashed.hashes[hashed.offsets[i] : hashed.offsets[i + 1]])
            if settings.write_index:
                stored = shingle_set if settings.index_shingles else None
                yield TaggedOutput(SIGNATURES, (doc["id"], (signature, stored)))
            if not counts[i]:  # nothing to compare (no words after normalisation): stays unique
                continue
            node = node_name(keeper_rank(doc, settings.keep, self.ranks), doc_weight(doc))
            for key in band_keys(signatures[i], settings.minhash):
                yield key, node
            if verify:
                yield TaggedOutput(FEATURES, (node, (shingle_set, signature)))


class _OldBands(beam.DoFn):
    """An index row of an earlier run -> its (band key, old node) pairs, and its features for verification."""

    def __init__(self, settings: DedupSettings):
        self.settings = settings

    def process(self, row: dict):
        if not row.get("signature"):
            return
        node = old_node(row)
        dtype = "<u4" if len(row["signature"]) == 4 * self.settings.minhash.num_perm else "<u8"
        signature = np.frombuffer(row["signature"], dtype=dtype)
        for key in band_keys(signature, self.settings.minhash):
            yield key, node
        if self.settings.verify_jaccard is not None:
            yield TaggedOutput(FEATURES, (node, (row.get("shingles"), row["signature"])))


def _bucket_edges(element, centres: int):
    _, members = element
    yield from bucket_edges(members, centres)


def _count_candidate(edge):
    counter("dedup", "candidate_edges").inc()
    return edge


class _ClusterMembers(beam.DoFn):
    """One label and its member nodes (streamed twice) -> (member id, (label id, cluster size)) for new members."""

    def process(self, element):
        label, members = element
        size = sum(node_weight(node) for node in members)
        label_id = node_doc_id(label)
        from_index = is_old(label)
        for node in members:
            if is_old(node):
                continue
            if from_index:
                counter("dedup", "index_near_matches").inc()
            yield node_doc_id(node), (label_id, size)


class _SplitNear(beam.DoFn):
    """One document id: the document, its (label, size) if it is on an edge, its signature -> kept (+ index row)
    or a minhash duplicate of the label."""

    def __init__(self, params: str):
        self.params = params

    def process(self, element):
        doc_id, members = element
        doc = cluster = signature = failed = None
        for tag, value in members:
            if tag == "doc":
                doc = value
            elif tag == "cluster":
                cluster = value
            elif tag == FAILED:
                failed = value
            else:
                signature = value
        if doc is None:  # an old node: nothing to emit
            return
        if failed is not None:  # its features raised: on no edge, so nobody is its duplicate but its exact copies
            yield TaggedOutput(REJECTED, failed)
            return
        if cluster is not None and cluster[0] != doc_id:
            counter("dedup", "near_duplicates").inc()
            yield TaggedOutput(DUPLICATES, duplicate_record(doc, cluster[0], "minhash", cluster[1]))
            return
        kept = kept_record(doc, doc_id, cluster[1] if cluster else doc_weight(doc))
        yield kept
        if signature is not None:
            yield TaggedOutput(INDEX, index_record(kept, signature[0], signature[1], self.params))


class NearDedup(beam.PTransform):
    """MinHash LSH candidates (+ optional true-Jaccard verification) -> distributed connected components -> keep
    each component's best-ranked document. Cluster sizes count original documents: a document kept by exact dedup
    counts as its ``dedup_cluster_size``, an earlier run's document as its indexed ``cluster_size``."""

    def __init__(self, settings: DedupSettings, previous: Sequence[str] = ()):
        super().__init__()
        self.settings = settings
        self.previous = tuple(previous)

    def expand(self, docs):
        settings = self.settings
        verify = settings.verify_jaccard is not None
        signed = (
            docs
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=settings.batch_size)
            | "Sign" >> beam.ParDo(_SignBatch(settings)).with_outputs(FEATURES, SIGNATURES, FAILED, main="bands")
        )
        bands, features = [signed["bands"]], [signed[FEATURES]]
        if self.previous:
            keys = None
            if settings.index_lookup == KEYS:  # only the index rows sharing a band with this job's documents
                keys = AsSingleton(signed["bands"] | "BandKeys" >> beam.Keys() | "BandSet" >> beam.combiners.ToSet())
            rows = docs.pipeline | "OldByBandIndex" >> ReadDedupIndex(
                self.previous, settings.signature_params(), BY_BANDS, keys, settings.minhash
            )
            old = rows | "OldBands" >> beam.ParDo(_OldBands(settings)).with_outputs(FEATURES, main="bands")
            bands.append(old["bands"])
            features.append(old[FEATURES])
        edges = (
            bands
            | "FlattenBands" >> beam.Flatten()
            | "GroupBuckets" >> beam.GroupByKey()
            | "BucketEdges" >> beam.FlatMap(_bucket_edges, settings.bucket_centres)
            | "DistinctEdges" >> beam.Distinct()
            | "CountCandidates" >> beam.Map(_count_candidate)
        )
        if verify:
            all_features = features | "FlattenFeatures" >> beam.Flatten()
            edges = edges | "Verify" >> VerifyEdges(settings.verify_jaccard, all_features, settings.minhash.num_perm)
        clusters = (
            edges
            | "Components"
            >> (
                ComponentsOnOneWorker()
                if settings.components == ONE_WORKER
                else ConnectedComponents(settings.max_rounds)
            )
            | "ByLabel" >> beam.Map(lambda nl: (nl[1], nl[0]))
            | "GroupByLabel" >> beam.GroupByKey()
            | "ClusterMembers" >> beam.ParDo(_ClusterMembers())
        )
        tagged = {
            "doc": docs | "KeyById" >> beam.Map(lambda d: (d["id"], d)),
            "cluster": clusters,
            FAILED: signed[FAILED],
        }
        if settings.write_index:
            tagged["signature"] = signed[SIGNATURES]
        split = tag_and_group("JoinClusters", tagged) | "SplitNear" >> beam.ParDo(
            _SplitNear(settings.signature_params())
        ).with_outputs(DUPLICATES, INDEX, REJECTED, main=KEPT)
        return {KEPT: split[KEPT], DUPLICATES: split[DUPLICATES], INDEX: split[INDEX], REJECTED: split[REJECTED]}


# ----------------------------------------------------------------------------------------------------------------
# Exact then near, with exact duplicates re-pointed at the final keeper


def _final_of_kept(doc: Mapping[str, Any]):
    return doc["id"], (doc["id"], doc["dedup_cluster_size"])


def _final_of_duplicate(dup: Mapping[str, Any]):
    return dup["id"], (dup["duplicate_of"], dup["cluster_size"])


def _repoint(element):
    """One exact keeper: its final fate (kept, or a near duplicate of another) and its exact duplicates, streamed.

    No final fate means the exact keeper is an earlier run's document: the duplicates already point at it. A keeper
    rejected by near dedup (its features raised) takes its exact copies with it: same text, same failure.
    """
    _, members = element
    final = next((value for tag, value in members if tag == "final"), None)
    failed = next((value for tag, value in members if tag == FAILED), None)
    for tag, dup in members:
        if tag != "dup":
            continue
        if failed is not None:
            detail = f"exact copy of {failed['id']}, which failed: {failed['detail']}"
            yield TaggedOutput(REJECTED, rejection(dup, "dedup", failed["reason"], detail))
        elif final is None:
            yield dup
        else:
            keeper, size = final
            yield {**dup, "duplicate_of": keeper, "cluster_id": keeper, "cluster_size": size}


def _exact_only_index_row(params: str):
    def row(doc: Mapping[str, Any]) -> dict:
        return index_record(doc, None, None, params)

    return row


class Dedup(beam.PTransform):
    """Exact dedup, then near dedup of the survivors (optionally against earlier runs' indexes): what curate uses.

    Chaining the two naively leaves exact duplicates pointing at an exact keeper that near dedup may remove. Here
    they are re-pointed (one join keyed by that keeper) at the document finally kept, with the final cluster size;
    their ``method`` stays "exact" (the stage that removed them). Kept ``dedup_cluster_size`` values therefore sum
    to the number of input documents (plus, in incremental mode, the sizes of the old documents they joined).
    """

    def __init__(self, settings: DedupSettings | None = None):
        super().__init__()
        self.settings = settings or DedupSettings()
        if self.settings.near:
            log.info("near dedup: %s", format_curve(self.settings.minhash))

    @classmethod
    def from_config(cls, dedup_config: Mapping[str, Any], sources: Sequence[str | Mapping[str, Any]] = ()) -> Dedup:
        """Build from the run config's ``dedup`` section."""
        return cls(DedupSettings.from_config(dedup_config, sources))

    def expand(self, docs):
        settings = self.settings
        previous, params = settings.previous, settings.signature_params()
        kept, duplicates, rejected = docs, [], []
        exact_dups = None
        index = None
        if settings.exact:
            exact = kept | "ExactDedup" >> ExactDedup(
                settings.keep, settings.source_order, previous, params, settings.index_lookup
            )
            kept, exact_dups = exact[KEPT], exact[DUPLICATES]
        if settings.near:
            near = kept | "NearDedup" >> NearDedup(settings, previous)
            kept, index = near[KEPT], near[INDEX]
            duplicates.append(near[DUPLICATES])
            rejected.append(near[REJECTED])
            if exact_dups is not None:
                final = (
                    kept | "FinalOfKept" >> beam.Map(_final_of_kept),
                    near[DUPLICATES] | "FinalOfNearDup" >> beam.Map(_final_of_duplicate),
                ) | "FinalKeepers" >> beam.Flatten()
                repointed = tag_and_group(
                    "JoinFinalKeeper",
                    {
                        "dup": exact_dups | "ByExactKeeper" >> beam.Map(lambda d: (d["duplicate_of"], d)),
                        "final": final,
                        FAILED: near[REJECTED] | "FailedKeepers" >> beam.Map(lambda r: (r["id"], r)),
                    },
                ) | "Repoint" >> beam.FlatMap(_repoint).with_outputs(REJECTED, main="dups")
                exact_dups = repointed.dups
                rejected.append(repointed[REJECTED])
        elif settings.write_index:
            index = kept | "ExactIndexRows" >> beam.Map(_exact_only_index_row(settings.signature_params()))
        if exact_dups is not None:
            duplicates.append(exact_dups)
        if not duplicates:
            duplicates.append(docs | "NoDuplicates" >> beam.FlatMap(lambda _: []))
        if index is None:
            index = docs | "NoIndex" >> beam.FlatMap(lambda _: [])
        if not rejected:
            rejected.append(docs | "NoRejections" >> beam.FlatMap(lambda _: []))
        return {
            KEPT: kept,
            DUPLICATES: tuple(duplicates) | "AllDuplicates" >> beam.Flatten(),
            INDEX: index,
            REJECTED: tuple(rejected) | "AllDedupRejections" >> beam.Flatten(),
        }


# ----------------------------------------------------------------------------------------------------------------
# CLI: the detection curve, and dedup as a job of its own (Document Parquet in, kept/duplicates/index out)


def build_dedup(pipeline: beam.Pipeline, config: dict, inputs: Iterable[str]) -> dict[str, beam.PCollection]:
    """Read Document Parquet, dedup, write ``<output>/dedup/{documents,duplicates,index}-*.parquet`` + counts."""
    from pipelines.io import ReadRecords, WriteRecords
    from pipelines.metrics import WriteCounts, tally
    from schemas import DEDUP_INDEX, DOCUMENT, DUPLICATE, REJECTION

    out = config["run"]["output"]
    reads = [pipeline | f"Read{i}" >> ReadRecords(p, DOCUMENT) for i, p in enumerate(inputs)]
    docs = reads | "FlattenInputs" >> beam.Flatten()
    result = docs | "Dedup" >> Dedup.from_config(config["dedup"], config["sources"])
    result[KEPT] | "WriteKept" >> WriteRecords(layout.dedup_documents_prefix(out), DOCUMENT)
    result[DUPLICATES] | "WriteDuplicates" >> WriteRecords(layout.dedup_duplicates_prefix(out), DUPLICATE)
    rejections_prefix = FileSystems.join(layout.dedup_dir(out), "rejections")
    result[REJECTED] | "WriteRejections" >> WriteRecords(rejections_prefix, REJECTION)
    if config["dedup"].get("write_index", True):
        result[INDEX] | "WriteIndex" >> WriteRecords(layout.dedup_index_prefix(out), DEDUP_INDEX)
    counts = (
        tally(docs, "CountInput", lambda d: ("dedup", "input", "")),
        tally(result[KEPT], "CountKept", lambda d: ("dedup", "kept", "")),
        tally(result[DUPLICATES], "CountDuplicates", lambda d: ("dedup", "duplicate", d["method"])),
        tally(result[REJECTED], "CountRejected", lambda r: ("dedup", "rejected", r["reason"])),
    )
    counts | "FlattenCounts" >> beam.Flatten() | "WriteCounts" >> WriteCounts(layout.counts_path(out, "dedup"))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    from pipelines.options import base_parser, parse, setup_logging
    from pipelines.stage_cli import cli_errors

    setup_logging()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("curve", "run"):
        raise SystemExit("usage: python -m pipelines.dedup {curve,run} [--config ...] [--set k=v ...] (see --help)")
    command, rest = argv[0], argv[1:]
    parser = base_parser(__doc__)
    if command == "run":
        parser.add_argument("--input", action="append", required=True, help="Document Parquet glob (repeatable)")
        parser.add_argument(
            "--previous",
            action="append",
            default=[],
            help="earlier run output root or index glob to dedup against (repeatable; adds to dedup.previous)",
        )
    parser.add_argument("--progress_s", type=float, default=10.0, help="log counters every N seconds (0: off)")
    args, config, beam_argv = parse(parser, rest)
    params = MinHashParams.from_mapping(config["dedup"]["minhash"])
    if command == "curve":
        print(format_curve(params))
        print("   J  P(candidate)")
        for j in np.round(np.arange(0.3, 1.0001, 0.05), 2):
            print(f"{j:4.2f}  {params.candidate_probability(float(j)):.4f}")
        return
    previous = config["dedup"].get("previous") or []
    config["dedup"]["previous"] = [*([previous] if isinstance(previous, str) else previous), *args.previous]
    with cli_errors():
        run_dedup_job(config, args.input, beam_argv, args.progress_s)


def run_dedup_job(config: dict, inputs: Sequence[str], beam_argv: Sequence[str], progress_s: float = 0.0):
    """The standalone dedup job under the output lock; its counts must balance: input = kept + duplicate + rejected
    (``pipelines.balance``). Returns that Balance."""
    from pipelines.atomic import sweep_temp
    from pipelines.balance import require_balance
    from pipelines.failures import one_line_cause
    from pipelines.lock import OutputLock
    from pipelines.stage_cli import LOCK_TEMP, new_run_id, run_pipeline
    from pipelines.stages import StageFailed

    out = config["run"]["output"]
    run_id = new_run_id()
    with OutputLock(out, run_id, command="pipelines.dedup"):
        sweep_temp(out, keep=LOCK_TEMP)
        try:
            run_pipeline(lambda p, c: build_dedup(p, c, inputs), config, beam_argv, progress_s, "dedup")
        except Exception as err:  # the runner re-raises a worker's error as a traceback: keep its one line
            raise StageFailed("dedup", 1, one_line_cause(err), "not a retried stage") from err
    balance = require_balance("dedup", config)
    print(f"dedup {run_id}: {balance.line()}; wrote {layout.dedup_dir(out)}")
    return balance


if __name__ == "__main__":
    main()
