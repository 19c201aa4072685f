"""Mix: curated documents + education scores → instance-level stage shards (S1 general, S2 knowledge, S3 long).

python -m pipelines.mix [--config run.yaml] [--output out/] [--no-annotations] [Beam flags]
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from curation.mixture import stage_specs_from_config
from pipelines import layout
from pipelines.io import ReadRecords, WriteRecords
from pipelines.metrics import WriteCounts, tally
from pipelines.mixing import BuildStageShards
from pipelines.options import base_parser, beam_options, parse, setup_logging
from schemas import ANNOTATION, DOCUMENT, SHARD_ROW

log = logging.getLogger(__name__)


def attach_edu(kv: tuple[str, dict]):
    """CoGroupByKey result → each document once, with its edu score (None if unscored or failed) and, when a domain
    table was joined, its mixture domain group (``stem`` / ``code`` / ``other``, what ``stages[].domains`` selects)."""
    from annotators.tasks.domain import domain_group

    _, grouped = kv
    scores = [a["score"] for a in grouped["edu"] if a["status"] == "ok" and a["score"] is not None]
    topics = [a["label"] for a in grouped.get("domain", ()) if a["status"] == "ok" and a["label"] is not None]
    for doc in grouped["docs"]:
        out = {**doc, "edu_score": scores[0] if scores else None}
        if topics:
            out["domain"] = domain_group(topics[0])
        yield out


def _has_files(pattern: str) -> bool:
    try:
        return bool(FileSystems.match([pattern])[0].metadata_list)
    except Exception:  # no annotations directory at all
        return False


def build_mix(pipeline: beam.Pipeline, config: dict, use_annotations: bool = True) -> dict[str, beam.PCollection]:
    out = config["run"]["output"]
    stages = stage_specs_from_config(config["mix"]["stages"])
    docs = pipeline | "ReadDocuments" >> ReadRecords(layout.pattern(layout.documents_prefix(out)), DOCUMENT)
    if use_annotations:
        edu = pipeline | "ReadEdu" >> ReadRecords(layout.pattern(layout.annotations_prefix(out, "edu")), ANNOTATION)
        joined = {
            "docs": docs | "KeyDocs" >> beam.Map(lambda d: (d["id"], d)),
            "edu": edu | "KeyEdu" >> beam.Map(lambda a: (a["id"], a)),
        }
        domain_pattern = layout.pattern(layout.annotations_prefix(out, "domain"))
        if _has_files(domain_pattern):
            domain = pipeline | "ReadDomain" >> ReadRecords(domain_pattern, ANNOTATION)
            joined["domain"] = domain | "KeyDomain" >> beam.Map(lambda a: (a["id"], a))
        docs = joined | "JoinEdu" >> beam.CoGroupByKey() | "AttachEdu" >> beam.FlatMap(attach_edu)
    else:
        docs = docs | "NoEdu" >> beam.Map(lambda d: {**d, "edu_score": None})
    shards = docs | "BuildStageShards" >> BuildStageShards(stages, seed=int(config["mix"].get("seed", 0)))
    counts = []
    for name, rows in shards.items():
        rows | f"Write_{name}" >> WriteRecords(layout.shard_prefix(out, name), SHARD_ROW)
        counts.append(tally(rows, f"CountInstances_{name}", lambda r: ("mix", "instances", r["stage"])))
        counts.append(
            rows | f"CountTokens_{name}" >> beam.Map(lambda r: (("mix", "tokens", r["stage"]), r["n_tokens"]))
        )
        counts.append(
            rows
            | f"CountBucketTokens_{name}"
            >> beam.Map(
                lambda r: (("mix", "bucket_tokens", f"{r['stage']}:{r['length_bucket'] or '-'}"), r["n_tokens"])
            )
        )
    counts | "FlattenCounts" >> beam.Flatten() | "WriteCounts" >> WriteCounts(layout.counts_path(out, "mix"))
    return shards


def run(argv: Sequence[str] | None = None) -> dict:
    setup_logging()
    parser = base_parser(__doc__)
    parser.add_argument("--no-annotations", action="store_true", help="mix without education scores")
    args, config, beam_argv = parse(parser, argv)
    with beam.Pipeline(options=beam_options(beam_argv)) as pipeline:
        build_mix(pipeline, config, use_annotations=not args.no_annotations)
    log.info("mix: wrote %s", layout.shard_prefix(config["run"]["output"], "*"))
    return config


if __name__ == "__main__":
    run(sys.argv[1:])
