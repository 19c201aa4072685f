"""Beam transforms: curated, annotated documents -> shuffled, size-bounded Parquet shards + a manifest per stage.

Every decision is per document (`curation.mixture`); the corpus-wide state is each recipe's per-cell weight
histogram, summed by a combiner (lifted: partial sums on every worker) and turned into a plan that workers get as a
side input. Rows are spread over N shard groups by ``hash(seed, recipe, id, chunk, copy)``; each group is one
GroupByKey value, written sorted by that hash (a shuffle) and split into files at the row / byte bounds, with
deterministic names ``part-SSSSS-PPP.parquet``. The manifest is a combine over the written files' statistics, so it
adds up to the shards' contents by construction. Documents are never gathered on one worker.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.utils.shared import Shared

from curation.mixture import (
    Recipe,
    composition_add,
    composition_merge,
    instance_rows,
    make_plan,
    profile_item,
    profile_merge,
)
from curation.tokens import QwenTokenCounter
from pipelines.atomic import write_atomic
from pipelines.isolation import REJECT, per_batch, per_record
from schemas import SCHEMA_VERSION, SHARD_ROW, validate_table

_NAMESPACE = "mixing"
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ShardSpec:
    """Bounds of one shard file (whichever is hit first) and the output format."""

    max_rows: int = 100_000
    max_bytes: int = 512 << 20  # uncompressed text (+ token ids) bytes
    fill: float = 0.8  # groups are planned at this share of the bounds, so few spill into a second file
    pretokenize: bool = False
    compression: str = "zstd"

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> ShardSpec:
        cfg = dict(cfg or {})
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"mix.shards: unknown key(s) {sorted(unknown)}")
        spec = cls(**cfg)
        if spec.max_rows < 1 or spec.max_bytes < 1 or not 0 < spec.fill <= 1:
            raise ValueError("mix.shards: max_rows, max_bytes >= 1 and 0 < fill <= 1")
        return spec


def shard_schema(spec: ShardSpec) -> pa.Schema:
    """Every shard has the full ShardRow columns; ``token_ids`` is null unless ``pretokenize`` is on."""
    return SHARD_ROW


def n_shard_groups(plan: Mapping[str, Any], spec: ShardSpec) -> int:
    """Shard groups for a plan: enough that a group is expected at ``fill`` × the byte and row bounds."""
    cells = plan["cells"].values()
    exp_bytes = sum(c["expected_bytes"] for c in cells) * (3 if spec.pretokenize else 1)
    exp_rows = sum(c["docs"] * c["expected_tokens"] / c["tokens"] for c in cells if c["tokens"])
    by_bytes = math.ceil(exp_bytes / (spec.max_bytes * spec.fill))
    return max(1, by_bytes, math.ceil(exp_rows / (spec.max_rows * spec.fill)))


class _CountTokensFn(beam.DoFn):
    """Fills in ``n_tokens`` for a batch of documents (only where it is missing) with one batched encode."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._counted = Metrics.counter(_NAMESPACE, "documents_token_counted")

    def setup(self) -> None:
        self._counter = self._shared.acquire(QwenTokenCounter)

    @per_batch("mix")
    def process(self, batch: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
        missing = [doc["text"] for doc in batch if doc.get("n_tokens") is None]
        counts = iter(self._counter.count_batch(missing))
        self._counted.inc(len(missing))
        for doc in batch:
            yield doc if doc.get("n_tokens") is not None else {**doc, "n_tokens": next(counts)}


class CountTokens(beam.PTransform):
    """Documents -> ``docs``: the same documents with ``n_tokens`` (Qwen tokenizer) filled in where missing, and
    ``rejections``: documents whose count raised (per-record isolation)."""

    def __init__(self, shared: Shared | None = None) -> None:
        super().__init__()
        self._shared = shared or Shared()

    def expand(self, docs: beam.PCollection) -> beam.PCollection:
        return (
            docs
            | "BatchForTokens" >> beam.BatchElements(min_batch_size=8, max_batch_size=256)
            | "CountTokens" >> beam.ParDo(_CountTokensFn(self._shared)).with_outputs(REJECT, main="docs")
        )


class ProfilesFn(beam.CombineFn):
    """``(recipe, cell, profile)`` -> ``{recipe: {cell: profile}}``: a few hundred integers per recipe."""

    def create_accumulator(self) -> dict[str, dict[str, Any]]:
        return {}

    def add_input(self, acc: dict[str, dict[str, Any]], item: tuple[str, str, dict]) -> dict[str, dict[str, Any]]:
        name, cell, profile = item
        profile_merge(acc.setdefault(name, {}).setdefault(cell, {}), profile)
        return acc

    def merge_accumulators(self, accs: Iterable[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for acc in accs:
            for name, cells in acc.items():
                for cell, profile in cells.items():
                    profile_merge(out.setdefault(name, {}).setdefault(cell, {}), profile)
        return out

    def extract_output(self, acc: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return acc


def _profile_items(doc: dict[str, Any], recipes: Sequence[Recipe]) -> Iterable[tuple[str, str, dict]]:
    for recipe in recipes:
        item = profile_item(doc, recipe)
        if item is not None:
            yield recipe.name, item[0], item[1]


def make_plans(profiles: Mapping[str, Any], recipes: Sequence[Recipe], spec: ShardSpec) -> dict[str, dict]:
    """Every recipe's plan (an empty one when nothing is eligible) with its number of shard groups."""
    plans = {}
    for recipe in recipes:
        plan = make_plan(recipe, profiles.get(recipe.name, {}))
        plan["shard_groups"] = n_shard_groups(plan, spec)
        plans[recipe.name] = plan
    return plans


def profiles_to_json(profiles: Mapping[str, Any]) -> bytes:
    """Summed profiles as JSON (weight bins are integers: kept as ``[bin, tokens, weighted]`` lists)."""
    out = {
        name: {cell: {**p, "bins": [[b, *v] for b, v in sorted(p["bins"].items())]} for cell, p in cells.items()}
        for name, cells in profiles.items()
    }
    return json.dumps(out, sort_keys=True).encode("utf-8")


def profiles_from_json(data: bytes) -> dict[str, dict[str, Any]]:
    return {
        name: {cell: {**p, "bins": {int(b): [t, wt] for b, t, wt in p["bins"]}} for cell, p in cells.items()}
        for name, cells in json.loads(data).items()
    }


class StageProfiles(beam.PTransform):
    """Documents with ``n_tokens`` -> one element: ``{recipe: {cell: profile}}`` summed over them."""

    def __init__(self, recipes: Sequence[Recipe]) -> None:
        super().__init__()
        self._recipes = tuple(recipes)

    def expand(self, counted: beam.PCollection) -> beam.PCollection:
        return (
            counted
            | "ProfileItems" >> beam.FlatMap(_profile_items, self._recipes)
            | "SumProfiles" >> beam.CombineGlobally(ProfilesFn())
        )


PLACEMENT = "placement"


class _InstanceRowsFn(beam.DoFn):
    """A document -> ``((recipe, group), row)`` for each of its instances in every recipe."""

    def __init__(self, recipes: Sequence[Recipe], spec: ShardSpec, shared: Shared, slices: int = 1) -> None:
        self._recipes = tuple(recipes)
        self._spec = spec
        self._shared = shared
        self._slices = slices
        self._rows = {r.name: Metrics.counter(_NAMESPACE, f"{r.name}_instances") for r in recipes}
        self._tokens = {r.name: Metrics.counter(_NAMESPACE, f"{r.name}_tokens") for r in recipes}

    def setup(self) -> None:
        self._counter = self._shared.acquire(QwenTokenCounter)

    @per_record("mix")
    def process(self, doc: dict[str, Any], plans: dict[str, dict]) -> Iterable[tuple[tuple[str, int], dict]]:
        placed = False
        for recipe in self._recipes:
            plan = plans[recipe.name]
            rows = instance_rows(doc, recipe, plan, self._counter)
            if rows and self._spec.pretokenize:
                ids = self._counter.encoding.encode_ordinary_batch([r["text"] for r in rows])
                rows = [{**row, "token_ids": t} for row, t in zip(rows, ids, strict=True)]
            groups = slice_groups(plan["shard_groups"], self._slices)
            for row in rows:
                placed = True
                self._rows[recipe.name].inc()
                self._tokens[recipe.name].inc(row["n_tokens"])
                yield (recipe.name, row["shuffle_key"] % groups), row
        yield beam.pvalue.TaggedOutput(PLACEMENT, "placed" if placed else "unplaced")


def slice_groups(groups: int, slices: int) -> int:
    """Shard groups of one slice of a mix run in ``slices`` slices: each slice is a uniform sample of the corpus,
    so its share of the plan's groups keeps files near the planned size."""
    return max(1, math.ceil(groups / max(slices, 1)))


def _row_bytes(row: Mapping[str, Any]) -> int:
    return len(row["text"].encode("utf-8")) + 4 * len(row.get("token_ids") or ()) + 256


def split_rows(rows: list[dict[str, Any]], spec: ShardSpec) -> list[list[dict[str, Any]]]:
    """Consecutive files of at most ``max_rows`` rows and ``max_bytes`` bytes (a single larger row gets a file)."""
    files: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        n = _row_bytes(row)
        if current and (len(current) >= spec.max_rows or size + n > spec.max_bytes):
            files.append(current)
            current, size = [], 0
        current.append(row)
        size += n
    if current:
        files.append(current)
    return files


def shard_file_name(group: int, piece: int, part: str = "") -> str:
    """``part-SSSSS-PPP.parquet``; a slice of a local mix run puts its name first (``part-b00002-SSSSS-PPP``)."""
    return f"part-{part + '-' if part else ''}{group:05d}-{piece:03d}.parquet"


class _WriteShardFn(beam.DoFn):
    """One shard group -> Parquet files in shuffled order; yields ``(recipe, file statistics)``."""

    def __init__(self, root: str, spec: ShardSpec, part: str = "") -> None:
        self._root = root
        self._spec = spec
        self._part = part
        self._files = Metrics.counter(_NAMESPACE, "shard_files")

    def setup(self) -> None:
        self._schema = shard_schema(self._spec)

    def process(self, element: tuple[tuple[str, int], Iterable[dict]]) -> Iterable[tuple[str, dict]]:
        (name, group), grouped = element
        rows = sorted(grouped, key=lambda r: (r["shuffle_key"], r["id"]))
        for piece, chunk in enumerate(split_rows(rows, self._spec)):
            comp: dict[str, Any] = {}
            for row in chunk:
                composition_add(comp, row)
            names = self._schema.names
            table = pa.Table.from_pylist([{k: row.get(k) for k in names} for row in chunk], schema=self._schema)
            validate_table(table, self._schema)  # types checked by Arrow on build; required fields here
            file_name = shard_file_name(group, piece, self._part)
            path = FileSystems.join(self._root, name, file_name)
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink, compression=self._spec.compression)
            data = sink.getvalue().to_pybytes()
            write_atomic(path, data)  # a unique temp name, then renamed: a reader never sees half a shard
            self._files.inc()
            yield (
                name,
                {
                    "path": file_name,
                    "rows": comp["rows"],
                    "tokens": comp["tokens"],
                    "bytes": len(data),
                    "composition": comp,
                },
            )


class StatsFn(beam.CombineFn):
    """Per-file statistics -> per recipe: the sorted file list and the summed composition."""

    def create_accumulator(self) -> dict[str, dict[str, Any]]:
        return {}

    def add_input(self, acc: dict[str, dict[str, Any]], item: tuple[str, dict]) -> dict[str, dict[str, Any]]:
        name, stats = item
        entry = acc.setdefault(name, {"files": [], "composition": {}})
        entry["files"].append({k: stats[k] for k in ("path", "rows", "tokens", "bytes")})
        entry["composition"] = composition_merge([entry["composition"], stats["composition"]])
        return acc

    def merge_accumulators(self, accs: Iterable[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for acc in accs:
            for name, entry in acc.items():
                into = out.setdefault(name, {"files": [], "composition": {}})
                into["files"].extend(entry["files"])
                into["composition"] = composition_merge([into["composition"], entry["composition"]])
        return out

    def extract_output(self, acc: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return acc


def stage_manifest(recipe: Recipe, plan: Mapping[str, Any], stats: Mapping[str, Any] | None, spec: ShardSpec) -> dict:
    """The trainer-facing manifest of one stage: recipe, plan, totals, tokens by breakdown, the shard list."""
    stats = stats or {"files": [], "composition": {}}
    comp = composition_merge([stats["composition"]])
    return {
        "stage": recipe.name,
        "recipe_id": recipe.recipe_id,
        "recipe": recipe.to_json(),
        "schema_version": SCHEMA_VERSION,
        "tokenizer": QwenTokenCounter.name,
        "seq_len": recipe.seq_len,
        "pretokenized": spec.pretokenize,
        "columns": shard_schema(spec).names,
        "shard_bounds": {"max_rows": spec.max_rows, "max_bytes": spec.max_bytes},
        "totals": {
            "rows": comp["rows"],
            "tokens": comp["tokens"],
            "upsampled_rows": comp["upsampled_rows"],
            "files": len(stats["files"]),
            "bytes": sum(f["bytes"] for f in stats["files"]),
        },
        "budget_tokens": plan["budget_tokens"],
        "shortfall_tokens": max(0, plan["budget_tokens"] - comp["tokens"]),
        "tokens_by": comp["tokens_by"],
        "plan": {k: v for k, v in plan.items() if k not in ("recipe", "recipe_id")},
        "shards": sorted(stats["files"], key=lambda f: f["path"]),
    }


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def write_manifests(
    stats: Mapping[str, Any], plans: Mapping[str, Any], recipes: Sequence[Recipe], root: str, spec: ShardSpec
) -> Iterable[dict]:
    for recipe in recipes:
        manifest = stage_manifest(recipe, plans[recipe.name], stats.get(recipe.name), spec)
        write_atomic(FileSystems.join(root, recipe.name, MANIFEST_NAME), manifest_bytes(manifest))
        yield manifest


class BuildStageShards(beam.PTransform):
    """Documents (``edu_score``, ``domain``, ``safety_score`` joined; ``n_tokens`` may be None) -> shards under
    ``<root>/<recipe>/part-*.parquet`` + ``<root>/<recipe>/manifest.json``; returns the manifests (one per recipe)."""

    def __init__(
        self,
        recipes: Sequence[Recipe],
        root: str,
        spec: ShardSpec | None = None,
        plans: Mapping[str, dict] | None = None,
        part: str = "",
        slices: int = 1,
    ) -> None:
        super().__init__()
        names = [r.name for r in recipes]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"need distinct recipe names, got {names}")
        self._recipes = tuple(recipes)
        self._root = root
        self._spec = spec or ShardSpec()
        self._plans = plans  # a slice of a local run: the plans of the whole corpus, made before the slices
        self._part = part
        self._slices = slices

    def expand(self, docs: beam.PCollection) -> beam.PCollection:
        shared = Shared()  # one tokenizer per worker process, used by both DoFns
        tokens = docs | "Tokens" >> CountTokens(shared)
        counted = tokens.docs
        if self._plans is None:
            profiles = counted | "Profiles" >> StageProfiles(self._recipes)
            plans = profiles | "Plans" >> beam.Map(make_plans, self._recipes, self._spec)
        else:
            plans = docs.pipeline | "Plans" >> beam.Create([dict(self._plans)])
        instances = counted | "InstanceRows" >> beam.ParDo(
            _InstanceRowsFn(self._recipes, self._spec, shared, self._slices), plans=beam.pvalue.AsSingleton(plans)
        ).with_outputs(REJECT, PLACEMENT, main="rows")
        # per document "placed" (an instance in some stage) or "unplaced" (none: not eligible, or drawn 0 copies)
        self.placements = instances[PLACEMENT]
        # documents whose token count or instances raised (per-record isolation): build_mix writes and counts them
        self.rejected = (tokens[REJECT], instances[REJECT]) | "MixRejections" >> beam.Flatten()
        stats = (
            instances.rows
            | "GroupIntoShards" >> beam.GroupByKey()
            | "WriteShards" >> beam.ParDo(_WriteShardFn(self._root, self._spec, self._part))
            | "SumStats" >> beam.CombineGlobally(StatsFn())
        )
        if self._part:  # a slice: its file statistics; the manifests are written once every slice is done
            return stats
        return stats | "WriteManifests" >> beam.FlatMap(
            write_manifests, beam.pvalue.AsSingleton(plans), self._recipes, self._root, self._spec
        )


def manifest_counts(manifest: Mapping[str, Any]) -> Iterable[tuple[tuple[str, str, str], int]]:
    """Counts for the run report (``counts/mix.jsonl``) from a stage manifest."""
    stage = manifest["stage"]
    yield ("mix", "instances", stage), manifest["totals"]["rows"]
    yield ("mix", "tokens", stage), manifest["totals"]["tokens"]
    yield ("mix", "shortfall_tokens", stage), manifest["shortfall_tokens"]
    for name, table in manifest["tokens_by"].items():
        for key, tokens in table.items():
            outcome = "bucket_tokens" if name == "length" else f"{name}_tokens"
            yield ("mix", outcome, f"{stage}:{key}"), tokens
