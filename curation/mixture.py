"""Instance-level mixture sampling of curated documents into Qwen3-style pretraining stages.

Stages: S1 general text at 4K sequence length, S2 knowledge-intensive text (high educational value, optionally STEM /
code domains) at 4K, S3 long context at 32K where 75% of the tokens come from documents of 16K–32K tokens and 25%
from 4K–16K tokens.

"Instance-level" means every document is decided on its own, by a seeded hash of its id: a run is reproducible, can
be re-run on any shard alone, and needs no global shuffle. The only corpus-wide input is a handful of token totals
per (stage, length bucket), from which `bucket_rates` derives the per-bucket sampling rates.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curation.tokens import QwenTokenCounter


@dataclass(frozen=True)
class LengthBucket:
    """Documents with ``min_tokens <= n_tokens <= max_tokens``; ``share`` is its target share of the stage's tokens."""

    name: str
    min_tokens: int
    max_tokens: int
    share: float

    def __post_init__(self) -> None:
        if not 0 <= self.min_tokens <= self.max_tokens:
            raise ValueError(f"bucket {self.name}: need 0 <= min_tokens <= max_tokens")
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"bucket {self.name}: share must be in [0, 1], got {self.share}")


@dataclass(frozen=True)
class StageSpec:
    """Which documents a pretraining stage takes, how often, and how they are cut into instances.

    Rates: a document's expected number of copies is ``min(sample_rate, max_repeats)`` (rates above 1 upsample);
    in a stage with length buckets that is the rate of the scarcest bucket and the others are downsampled to hit the
    bucket shares (see `bucket_rates`).

    Long documents: with ``chunk_long_docs`` a document longer than ``seq_len`` becomes consecutive pieces of at most
    ``seq_len`` tokens (cut at paragraph / line / sentence boundaries). Without it (S3) a long document becomes at most
    ``max_windows`` consecutive windows of at most ``seq_len`` tokens from its start, and only windows in the
    document's own bucket (the top one: a full window) are kept, dropping a short trailing remainder. So every window
    shares the document's sampling rate, and one very long document cannot dominate the long-context stage.
    """

    name: str
    seq_len: int
    min_tokens: int = 0
    min_edu_score: float | None = None
    domains: tuple[str, ...] = ()
    sample_rate: float = 1.0
    max_repeats: int = 1
    buckets: tuple[LengthBucket, ...] = ()
    chunk_long_docs: bool = True
    max_windows: int = 4

    def __post_init__(self) -> None:
        if self.seq_len < 1:
            raise ValueError(f"stage {self.name}: seq_len must be >= 1")
        if self.sample_rate < 0 or self.max_repeats < 1 or self.max_windows < 1:
            raise ValueError(f"stage {self.name}: need sample_rate >= 0, max_repeats >= 1, max_windows >= 1")
        if self.buckets:
            names = [b.name for b in self.buckets]
            if len(set(names)) != len(names):
                raise ValueError(f"stage {self.name}: duplicate bucket names {names}")
            if not math.isclose(sum(b.share for b in self.buckets), 1.0, abs_tol=1e-6):
                raise ValueError(f"stage {self.name}: bucket shares must sum to 1")
            if any(b.max_tokens > self.seq_len for b in self.buckets):
                raise ValueError(f"stage {self.name}: a bucket reaches beyond seq_len {self.seq_len}")

    @property
    def peak_rate(self) -> float:
        """Expected copies of a document in the best-served bucket (or of any document when unbucketed)."""
        return min(self.sample_rate, float(self.max_repeats))


S3_BUCKETS = (
    LengthBucket("4k-16k", 4096, 16384, 0.25),
    LengthBucket("16k-32k", 16384, 32768, 0.75),
)

DEFAULT_STAGES: tuple[StageSpec, ...] = (
    StageSpec("S1", seq_len=4096),
    StageSpec("S2", seq_len=4096, min_edu_score=3.0),
    StageSpec("S3", seq_len=32768, min_tokens=4096, buckets=S3_BUCKETS, chunk_long_docs=False),
)

_SPEC_FIELDS = {f.name for f in fields(StageSpec)}


def stage_specs_from_config(cfg: list[dict]) -> tuple[StageSpec, ...]:
    """Stage specs from config entries (the keys of `StageSpec`; ``buckets`` as a list of `LengthBucket` dicts).

    An entry named like a default stage (S1/S2/S3) overrides only the keys it gives, so
    ``[{"name": "S2", "min_edu_score": 3.5}]`` keeps the default S2 otherwise. Unknown keys are errors.
    """
    defaults = {spec.name: spec for spec in DEFAULT_STAGES}
    specs: list[StageSpec] = []
    for entry in cfg:
        unknown = set(entry) - _SPEC_FIELDS
        if unknown:
            raise ValueError(f"stage config: unknown key(s) {sorted(unknown)}")
        if "name" not in entry:
            raise ValueError("stage config: every stage needs a name")
        values: dict[str, Any] = {}
        base = defaults.get(entry["name"])
        if base is not None:
            values = {f: getattr(base, f) for f in _SPEC_FIELDS}
        values.update(entry)
        if "buckets" in entry:
            values["buckets"] = tuple(b if isinstance(b, LengthBucket) else LengthBucket(**b) for b in entry["buckets"])
        if "domains" in entry:
            values["domains"] = tuple(entry["domains"])
        if "seq_len" not in values:
            raise ValueError(f"stage {entry['name']}: seq_len is required for a stage without defaults")
        specs.append(StageSpec(**values))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"stage config: duplicate stage names {names}")
    return tuple(specs)


def _meta_value(meta: Any, key: str) -> str | None:
    """Read a map column whether it is a dict or (as pyarrow returns maps) a list of key/value pairs."""
    if isinstance(meta, Mapping):
        return meta.get(key)
    for k, v in meta or ():
        if k == key:
            return v
    return None


def doc_domain(doc: Mapping[str, Any]) -> str | None:
    """Domain group of a document: a ``domain`` column (joined annotation) or ``meta["domain"]``."""
    return doc.get("domain") or _meta_value(doc.get("meta"), "domain")


def bucket_of(n_tokens: int, spec: StageSpec) -> str | None:
    """Name of the first bucket (in declared order) with ``min_tokens <= n_tokens <= max_tokens``, else None."""
    for bucket in spec.buckets:
        if bucket.min_tokens <= n_tokens <= bucket.max_tokens:
            return bucket.name
    return None


def doc_bucket(n_tokens: int, spec: StageSpec) -> str | None:
    """Bucket a document is sampled in. Unchunked long documents count as their first, full-length window."""
    return bucket_of(n_tokens if spec.chunk_long_docs else min(n_tokens, spec.seq_len), spec)


def _window_kept(n_window: int, n_doc: int, spec: StageSpec) -> bool:
    """Windows of a long document are kept only in the document's own bucket, so they all share its sampling rate."""
    if spec.buckets:
        return bucket_of(n_window, spec) == doc_bucket(n_doc, spec)
    return n_window >= spec.min_tokens


def stage_tokens(n_tokens: int, spec: StageSpec) -> int:
    """Tokens one copy of a document contributes to a stage (for the bucket totals).

    Exact unless a windowed stage cuts the document: then full ``seq_len`` windows plus the remainder are assumed
    (real windows end at a paragraph or sentence, up to 20% shorter), keeping only what `instance_rows` would keep.
    """
    if spec.chunk_long_docs or n_tokens <= spec.seq_len:
        return n_tokens
    full, tail = divmod(n_tokens, spec.seq_len)
    windows = [spec.seq_len] * min(full, spec.max_windows) + [tail]
    return sum([w for w in windows if _window_kept(w, n_tokens, spec)][: spec.max_windows])


def eligible(doc: Mapping[str, Any], spec: StageSpec) -> bool:
    """Whether a document may enter the stage: long enough, edu score and domain conditions met, inside a bucket."""
    n_tokens = doc.get("n_tokens")
    if n_tokens is None:
        raise ValueError(f"document {doc.get('id')!r} has no n_tokens; count tokens first")
    if n_tokens <= 0 or n_tokens < spec.min_tokens:
        return False
    if spec.min_edu_score is not None:
        score = doc.get("edu_score")
        if score is None or score < spec.min_edu_score:
            return False
    if spec.domains and doc_domain(doc) not in spec.domains:
        return False
    return not spec.buckets or doc_bucket(n_tokens, spec) is not None


def bucket_rates(token_totals: dict[str, int], spec: StageSpec) -> dict[str, float]:
    """Per-bucket sampling rates (expected copies per document) that hit the bucket shares in expectation.

    ``token_totals`` maps a bucket name to the eligible tokens in it (`stage_tokens` summed). With shares ``s_b``
    (renormalised over buckets that have tokens) and totals ``T_b``, the stage can take at most
    ``X = min_b(peak * T_b / s_b)`` tokens without any rate exceeding ``spec.peak_rate``; each bucket then gets
    ``r_b = X * s_b / T_b``. So the scarcest bucket is taken at the peak rate (1 unless upsampling is configured)
    and every over-represented bucket is downsampled: ``r_b * T_b / X == s_b`` exactly. A bucket with no tokens
    gets the peak rate (nothing to take), a bucket with share 0 gets 0.
    """
    unknown = set(token_totals) - {b.name for b in spec.buckets}
    if unknown:
        raise ValueError(f"stage {spec.name}: token totals for unknown bucket(s) {sorted(unknown)}")
    peak = spec.peak_rate
    present = [b for b in spec.buckets if b.share > 0 and token_totals.get(b.name, 0) > 0]
    rates = {b.name: (peak if b.share > 0 else 0.0) for b in spec.buckets}
    if not present:
        return rates
    share_sum = sum(b.share for b in present)
    stage_total = min(peak * token_totals[b.name] * share_sum / b.share for b in present)
    for b in present:
        rates[b.name] = min(peak, stage_total * (b.share / share_sum) / token_totals[b.name])
    return rates


def instance_rate(doc: Mapping[str, Any], spec: StageSpec, rates: Mapping[str, float]) -> float:
    """Expected copies of an eligible document: its bucket's rate, or the stage's peak rate when unbucketed."""
    if not spec.buckets:
        return spec.peak_rate
    return rates.get(doc_bucket(doc["n_tokens"], spec) or "", 0.0)


def _unit_hash(seed: int, stage: str, doc_id: str, copy: int) -> float:
    """A stable uniform number in [0, 1) for (seed, stage, document, copy): same on every worker and run."""
    key = f"{seed}\x1f{stage}\x1f{doc_id}\x1f{copy}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2.0**64


def n_copies(doc_id: str, spec: StageSpec, rate: float, seed: int) -> int:
    """Copies taken: copy ``c`` is taken when its hash is below ``rate - c`` (floor(rate) sure, fraction by chance)."""
    rate = min(max(rate, 0.0), float(spec.max_repeats))
    return sum(1 for copy in range(math.ceil(rate)) if _unit_hash(seed, spec.name, doc_id, copy) < rate - copy)


def _pieces(doc: Mapping[str, Any], spec: StageSpec, counter: QwenTokenCounter) -> list[tuple[str, int]]:
    text, n_tokens = doc["text"], doc["n_tokens"]
    if n_tokens <= spec.seq_len:
        return [(text, n_tokens)]
    pieces = counter.chunk(text, spec.seq_len, spec.min_tokens)
    if spec.chunk_long_docs:
        return pieces
    return [p for p in pieces if _window_kept(p[1], n_tokens, spec)][: spec.max_windows]


def instance_rows(
    doc: Mapping[str, Any], spec: StageSpec, rate: float, seed: int, counter: QwenTokenCounter
) -> list[dict[str, Any]]:
    """ShardRow dicts for one document in one stage (empty when it is not eligible or not drawn).

    ``rate`` is the expected number of copies (`instance_rate`); each copy repeats every piece of the document, and
    ids are ``f"{doc_id}/{stage}/{chunk}/{copy}"``. Documents are only chunked when at least one copy is taken.
    """
    if not eligible(doc, spec):
        return []
    copies = n_copies(doc["id"], spec, rate, seed)
    if not copies:
        return []
    edu = doc.get("edu_score")
    edu_score = None if edu is None else float(edu)
    pieces = _pieces(doc, spec, counter)
    return [
        {
            "id": f"{doc['id']}/{spec.name}/{chunk}/{copy}",
            "doc_id": doc["id"],
            "stage": spec.name,
            "text": text,
            "n_tokens": n_tokens,
            "chunk_index": chunk,
            "copy_index": copy,
            "lang": doc.get("lang"),
            "source": doc["source"],
            "edu_score": edu_score,
            "length_bucket": bucket_of(n_tokens, spec) if spec.buckets else None,
        }
        for copy in range(copies)
        for chunk, (text, n_tokens) in enumerate(pieces)
    ]


# Mixture summary, built as accumulate / merge / finish so a Beam CombineFn can compute it without gathering rows.


def summary_accumulator() -> dict[str, Any]:
    return {}


def summary_add(acc: dict[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    stage = acc.setdefault(row["stage"], {"instances": 0, "tokens": 0, "copies": 0, "buckets": {}, "langs": {}})
    n = row["n_tokens"]
    stage["instances"] += 1
    stage["tokens"] += n
    stage["copies"] += 1 if row["copy_index"] > 0 else 0
    if row.get("length_bucket") is not None:
        bucket = stage["buckets"].setdefault(row["length_bucket"], [0, 0])
        bucket[0] += 1
        bucket[1] += n
    lang = row.get("lang") or "und"
    stage["langs"][lang] = stage["langs"].get(lang, 0) + n
    return acc


def summary_merge(accs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for acc in accs:
        for name, part in acc.items():
            stage = out.setdefault(name, {"instances": 0, "tokens": 0, "copies": 0, "buckets": {}, "langs": {}})
            for key in ("instances", "tokens", "copies"):
                stage[key] += part[key]
            for bucket, (inst, tok) in part["buckets"].items():
                merged = stage["buckets"].setdefault(bucket, [0, 0])
                merged[0] += inst
                merged[1] += tok
            for lang, tok in part["langs"].items():
                stage["langs"][lang] = stage["langs"].get(lang, 0) + tok
    return out


def summary_finish(acc: dict[str, Any]) -> dict[str, Any]:
    """Per stage: instances, tokens, upsampled copies, and per bucket / language token counts and shares."""
    stages: dict[str, Any] = {}
    for name in sorted(acc):
        part = acc[name]
        tokens = part["tokens"] or 1
        stages[name] = {
            "instances": part["instances"],
            "tokens": part["tokens"],
            "upsampled_instances": part["copies"],
            "buckets": {
                b: {"instances": inst, "tokens": tok, "token_share": tok / tokens}
                for b, (inst, tok) in sorted(part["buckets"].items())
            },
            "lang_token_shares": {lang: tok / tokens for lang, tok in sorted(part["langs"].items())},
        }
    return {"stages": stages, "total_tokens": sum(s["tokens"] for s in stages.values())}


def mixture_summary(rows: Iterable[dict]) -> dict:
    """Tokens and instances per stage and length bucket, language token shares: small, for tests and run reports."""
    acc = summary_accumulator()
    for row in rows:
        summary_add(acc, row)
    return summary_finish(acc)
