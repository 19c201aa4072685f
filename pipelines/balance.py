"""Each stage's own balance, from the exact counts it wrote (``counts/<stage>.jsonl``, ``pipelines.metrics``).

``pipelines.run`` checks the run manifest (input = kept + rejected + duplicate); a stage run alone must not lose
documents silently either, so every stage's job is checked the same way before its completion marker is written:

* curate: documents read = kept + rejected + duplicate (``read/input`` vs the outcomes, as in the run manifest);
* synth: samples generated = kept + rejected + duplicate;
* dedup (``pipelines.dedup`` run alone): documents in = kept + rejected + duplicate;
* annotate: for every task, ``ok`` + ``failed`` rows = the curated documents it read (their Parquet row count);
* mix: documents read = placed (an instance in some stage) + unplaced + failed; per stage, the rows and tokens
  counted = the stage manifest's totals = the sum over its shard list; every listed shard exists with the size
  written and no unlisted one is there; each token breakdown (language, domain, edu, source, length) adds up to the
  stage's tokens; synthetic records read = kept + capped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipelines import layout
from pipelines.layout import matched_files
from pipelines.manifest import read_counts, totals_of

BREAKDOWNS = ("lang_tokens", "domain_tokens", "edu_tokens", "source_tokens", "bucket_tokens")


class Unbalanced(RuntimeError):
    """A stage's counts do not add up: something was lost or counted twice. Its outputs stay for inspection."""


@dataclass
class Balance:
    stage: str
    summary: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        return f"{self.summary} ({'balanced' if self.ok else 'NOT BALANCED: ' + '; '.join(self.problems)})"


def parquet_rows(pattern: str) -> int:
    """Rows in the Parquet files a glob matches, from their footers (no data read)."""
    total = 0
    for m in matched_files(pattern):
        with FileSystems.open(m.path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            total += pq.ParquetFile(f).metadata.num_rows
    return total


def _outcome_totals(stage: str, what: str, counts: list[dict]) -> Balance:
    if not counts:
        return Balance(stage, f"{stage}: no counts", [f"no counts were written ({stage}.jsonl)"])
    t = totals_of(counts)
    summary = (
        f"{stage}: {t['input']:,} {what} → {t['kept']:,} kept, {t['rejected']:,} rejected, {t['duplicate']:,} duplicate"
    )
    accounted = t["kept"] + t["rejected"] + t["duplicate"]
    problems = [] if t["input"] == accounted else [f"input {t['input']:,} != kept + rejected + duplicate {accounted:,}"]
    return Balance(stage, summary, problems)


def check_curate(counts: list[dict]) -> Balance:
    return _outcome_totals("curate", "documents in", counts)


def check_dedup(counts: list[dict]) -> Balance:
    return _outcome_totals("dedup", "documents in", counts)


def check_synth(counts: list[dict]) -> Balance:
    return _outcome_totals("synth", "samples generated", counts)


def check_annotate(counts: list[dict], tasks: Iterable[str], documents: int) -> Balance:
    by: dict[tuple[str, str], int] = {}
    for row in counts:
        if row["stage"] == "annotate" and row["outcome"] in ("ok", "failed"):
            by[(row["reason"], row["outcome"])] = by.get((row["reason"], row["outcome"]), 0) + int(row["count"])
    parts, problems = [], []
    for task in tasks:
        ok, failed = by.get((task, "ok"), 0), by.get((task, "failed"), 0)
        parts.append(f"{task} {ok:,} ok, {failed:,} failed")
        if ok + failed != documents:
            problems.append(f"{task}: {ok:,} ok + {failed:,} failed != {documents:,} documents read")
    return Balance("annotate", f"annotate: {documents:,} documents → " + "; ".join(parts), problems)


def _read_json(path: str) -> dict | None:
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return json.loads(f.read().decode("utf-8"))


def check_mix(counts: list[dict], out: str, synth_records: int | None = None) -> Balance:
    """The mix's balance (see the module docstring); ``synth_records``: how many synthetic records it read."""
    value: dict[tuple[str, str], int] = {}
    for row in counts:
        if row["stage"] == "mix":
            value[(row["outcome"], row["reason"])] = value.get((row["outcome"], row["reason"]), 0) + int(row["count"])
    stages = sorted(reason for outcome, reason in value if outcome == "instances")
    parts, problems = [], []
    if not counts:
        problems.append("no counts were written (mix.jsonl)")
    for stage in stages:
        rows, tokens = value[("instances", stage)], value.get(("tokens", stage), 0)
        manifest = _read_json(layout.stage_manifest_path(out, stage))
        if manifest is None:
            problems.append(f"{stage}: no manifest.json")
            continue
        shards = manifest.get("shards") or []
        parts.append(f"{stage} {rows:,} rows, {tokens:,} tokens in {len(shards)} files")
        totals = manifest.get("totals") or {}
        listed_rows, listed_tokens = sum(s["rows"] for s in shards), sum(s["tokens"] for s in shards)
        if not rows == totals.get("rows") == listed_rows:
            problems.append(f"{stage}: rows counted {rows:,}, manifest {totals.get('rows')}, shards {listed_rows:,}")
        if not tokens == totals.get("tokens") == listed_tokens:
            problems.append(
                f"{stage}: tokens counted {tokens:,}, manifest {totals.get('tokens')}, shards {listed_tokens:,}"
            )
        for outcome in BREAKDOWNS:
            part = [n for (o, reason), n in value.items() if o == outcome and reason.startswith(f"{stage}:")]
            if part and sum(part) != tokens:
                problems.append(f"{stage}: {outcome} add up to {sum(part):,}, not {tokens:,}")
        problems += _shard_files(out, stage, shards)
    synth = sum(n for (o, _), n in value.items() if o in ("synth_kept", "synth_capped"))
    if synth_records is not None and (synth or synth_records):
        kept = sum(n for (o, _), n in value.items() if o == "synth_kept")
        parts.append(f"synthetic {synth_records:,} read → {kept:,} kept, {synth - kept:,} capped")
        if synth != synth_records:
            problems.append(f"synthetic records: {synth_records:,} read != kept + capped {synth:,}")
    failed = sum(n for (o, _), n in value.items() if o == "failed")
    read = value.get(("documents", "read"), 0)
    placed, unplaced = value.get(("documents", "placed"), 0), value.get(("documents", "unplaced"), 0)
    parts.append(f"{read:,} documents read → {placed:,} placed, {unplaced:,} not drawn, {failed:,} failed")
    if read != placed + unplaced + failed:
        problems.append(f"documents: {read:,} read != placed + unplaced + failed {placed + unplaced + failed:,}")
    return Balance("mix", "mix: " + ("; ".join(parts) or "nothing placed"), problems)


def _shard_files(out: str, stage: str, shards: list[Mapping]) -> list[str]:
    """Every listed shard is there with the size written; no unlisted part file lies beside them."""
    pattern = FileSystems.join(layout.shards_dir(out), stage, "part-*.parquet")
    present = {FileSystems.split(m.path)[1]: int(m.size_in_bytes) for m in matched_files(pattern)}
    listed = {s["path"]: int(s["bytes"]) for s in shards}
    problems = [
        f"{stage}/{name}: {present.get(name)} bytes on storage, {size} written"
        for name, size in listed.items()
        if present.get(name) != size
    ]
    extra = sorted(set(present) - set(listed))
    if extra:
        problems.append(f"{stage}: shard files not in its manifest: {', '.join(extra[:5])}")
    return problems


def check_stage(stage: str, config: Mapping, out: str | None = None) -> Balance:
    """The balance of ``stage`` in the output root (``run.output`` unless ``out``), from its written counts."""
    out = out or config["run"]["output"]
    counts = read_counts(out, [stage])
    if stage == "curate":
        return check_curate(counts)
    if stage == "synth":
        return check_synth(counts)
    if stage == "dedup":
        return check_dedup(counts)
    if stage == "annotate":
        documents = parquet_rows(layout.pattern(layout.documents_prefix(out)))
        return check_annotate(counts, config["annotate"]["tasks"], documents)
    if stage == "mix":
        from pipelines.mix_synth import SynthMix

        synth = SynthMix.from_config(config["mix"].get("synth")).records_pattern(out)
        uses_synth = any(r["outcome"] in ("synth_kept", "synth_capped") for r in counts)
        return check_mix(counts, out, parquet_rows(synth) if uses_synth else None)
    return Balance(stage, f"{stage}: {len(counts)} count rows")


def require_balance(stage: str, config: Mapping, out: str | None = None) -> Balance:
    """``check_stage``, raising ``Unbalanced`` (one line: the stage and what does not add up) when it fails."""
    balance = check_stage(stage, config, out)
    if not balance.ok:
        raise Unbalanced(f"{stage}: counts do not balance: {'; '.join(balance.problems)}")
    return balance


__all__ = [
    "Balance",
    "Unbalanced",
    "check_annotate",
    "check_curate",
    "check_dedup",
    "check_mix",
    "check_stage",
    "check_synth",
    "parquet_rows",
    "require_balance",
]
