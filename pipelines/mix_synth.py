"""Verified synthetic records (``<run>/synth/records-*.parquet``, ``pipelines.synth``) as mixture documents.

A synthetic record becomes a document with source ``synth/<recipe>``, the language of its seed (else ``eng_Latn``),
the domain group of its recipe (math → stem, code → code, explanation → the seed's group, else stem), the seed's
education score (else ``mix.synth.edu_default``) and its generation provenance (recipe, prompt version, seed id,
model, ...), which every shard row drawn from it carries. From there the ordinary weight formula, balancing and epoch
cap apply. Two knobs keep it from swamping a stage:

* ``weight``: the instance-weight multiplier of each ``synth/<recipe>`` source in the stages listed in ``stages``
  (other stages get 0: they never take synthetic data);
* ``max_share``: a cap on the synthetic share of the mixture pool by characters; when the records exceed it, a fixed
  hash draw (``hash(seed, id)``) keeps ``p = share/(1−share) · curated/synthetic`` of them. Dropped records are
  counted (``mix/synth_capped/<recipe>``), never silently lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from curation.mixture import Recipe, unit_hash

SYNTH_KINDS = ("math", "explanation", "code")
RECIPE_GROUP = {"math": "stem", "code": "code"}  # explanation: the seed's group, else stem
DEFAULT_LANG = "eng_Latn"
SOURCE_PREFIX = "synth/"
PROVENANCE_KEYS = ("recipe", "prompt_version", "seed_id", "seed_source", "model", "backend", "verification")


@dataclass(frozen=True)
class SynthMix:
    """``mix.synth`` settings (defaults: configs/default.yaml)."""

    include: bool = True
    input: str | None = None  # run root holding synth/ (None: the run output)
    stages: tuple[str, ...] = ("S1", "S2")
    weight: float = 0.5
    max_share: float | None = 0.2
    edu_default: float = 3.0
    seed: int = 0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None, seed: int = 0) -> SynthMix:
        cfg = dict(cfg or {})
        unknown = set(cfg) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"mix.synth: unknown key(s) {sorted(unknown)}")
        cfg.setdefault("seed", seed)
        cfg["stages"] = tuple(cfg.get("stages") or ())
        out = cls(**cfg)
        if out.weight < 0 or (out.max_share is not None and not 0 < out.max_share <= 1):
            raise ValueError("mix.synth: weight >= 0 and 0 < max_share <= 1 (or null)")
        return out

    def records_pattern(self, out: str) -> str:
        return FileSystems.join((self.input or out).rstrip("/"), "synth", "records-*.parquet")


def synth_source(recipe: str) -> str:
    return f"{SOURCE_PREFIX}{recipe}"


def is_synthetic(doc: Mapping[str, Any]) -> bool:
    return doc["source"].startswith(SOURCE_PREFIX)


def with_synth_weights(recipes: Sequence[Recipe], settings: SynthMix) -> tuple[Recipe, ...]:
    """The recipes with a source weight for every synthetic source: ``weight`` in ``stages``, 0 elsewhere; a
    stage config's own ``weights.source`` entry for a synthetic source wins."""
    out = []
    for recipe in recipes:
        default = settings.weight if recipe.name in settings.stages else 0.0
        source = {synth_source(k): default for k in SYNTH_KINDS} | dict(recipe.weights.source)
        out.append(replace(recipe, weights=replace(recipe.weights, source=source)))
    return tuple(out)


def synth_document(
    record: Mapping[str, Any],
    settings: SynthMix,
    seed_lang: str | None = None,
    seed_edu: float | None = None,
    seed_group: str | None = None,
) -> dict[str, Any]:
    """One SynthRecord as a mixture document (``n_tokens`` left to the mix's token counter, as for curated ones)."""
    recipe = record["recipe"]
    provenance = {k: str(record[k]) for k in PROVENANCE_KEYS if record.get(k) is not None}
    provenance["rng_seed"] = str(record["rng_seed"])
    return {
        "id": record["id"],
        "text": record["text"],
        "source": synth_source(recipe),
        "locator": record["seed_id"],
        "lang": seed_lang or DEFAULT_LANG,
        "lang_score": None,
        "script": None,
        "content_hash": record["content_hash"],
        "n_chars": record["n_chars"],
        "n_tokens": record.get("n_tokens"),  # counted before the join by a local mix's profile pass
        "text_bytes": record.get("text_bytes"),
        "meta": None,
        "quality": None,
        "dedup_cluster": None,
        "dedup_cluster_size": None,
        "domain": RECIPE_GROUP.get(recipe) or seed_group or "stem",
        "edu_score": settings.edu_default if seed_edu is None else seed_edu,
        "safety_score": None,
        "provenance": provenance,
    }


def keep_probability(curated_chars: int, synth_chars: int, max_share: float | None) -> float:
    """Share of synthetic records kept so that they are at most ``max_share`` of the pool's characters."""
    if max_share is None or max_share >= 1 or synth_chars <= 0:
        return 1.0
    allowed = max_share / (1 - max_share) * curated_chars
    return min(1.0, allowed / synth_chars)


def _chars(doc: Mapping[str, Any]) -> tuple[str, int]:
    return ("synth" if is_synthetic(doc) else "curated"), int(doc["n_chars"])


def _keep(doc: dict, totals: Mapping[str, int], settings: SynthMix) -> Iterable[beam.pvalue.TaggedOutput | dict]:
    if is_synthetic(doc):
        p = keep_probability(totals.get("curated", 0), totals.get("synth", 0), settings.max_share)
        if unit_hash("synth-cap", settings.seed, doc["id"]) >= p:
            yield beam.pvalue.TaggedOutput("capped", doc)
            return
    yield doc


class CapSynthetic(beam.PTransform):
    """Documents (curated + synthetic) → the same with synthetic ones cut to ``max_share`` of the characters, and
    ``((stage, outcome, reason), n)`` counts of the synthetic records read, kept and capped per recipe."""

    def __init__(self, settings: SynthMix, chars: Mapping[str, int] | None = None) -> None:
        super().__init__()
        self._settings = settings
        self._chars = chars  # ``{"curated": n, "synth": n}`` of the whole corpus, when docs are one slice of it

    def expand(self, docs: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        if self._chars is None:
            totals = docs | "Chars" >> beam.Map(_chars) | "SumChars" >> beam.CombinePerKey(sum)
        else:
            totals = docs.pipeline | "Chars" >> beam.Create(sorted(self._chars.items()))
        split = docs | "Cap" >> beam.FlatMap(_keep, beam.pvalue.AsDict(totals), self._settings).with_outputs(
            "capped", main="kept"
        )
        kept, capped = split["kept"], split["capped"]

        def count(outcome: str):
            return lambda d: (("mix", outcome, d["source"].removeprefix(SOURCE_PREFIX)), 1)

        counts = (
            kept | "SynthKept" >> beam.Filter(is_synthetic) | "CountKept" >> beam.Map(count("synth_kept")),
            capped | "CountCapped" >> beam.Map(count("synth_capped")),
        ) | "FlattenSynthCounts" >> beam.Flatten()
        return kept, counts
