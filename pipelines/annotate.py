"""Annotate: curated documents → one Annotation table per task (kept apart from the text, as in Dolma).

python -m pipelines.annotate [--config run.yaml] [--output out/] [--set annotate.batch_size=16] [Beam flags]
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam

from pipelines import layout
from pipelines.io import ReadRecords, WriteRecords
from pipelines.metrics import WriteCounts, counter, tally
from pipelines.options import base_parser, beam_options, parse, setup_logging
from schemas import ANNOTATION, DOCUMENT

log = logging.getLogger(__name__)


def build_task(name: str, cfg: Mapping[str, Any]):
    from annotators.tasks.edu import EduScoreTask

    tasks = {"edu": lambda: EduScoreTask(max_doc_chars=int(cfg.get("max_doc_chars", 1500)))}
    if name not in tasks:
        raise ValueError(f"annotate.tasks: unknown task {name!r}; known: {sorted(tasks)}")
    return tasks[name]()


def build_backend(cfg: Mapping[str, Any]):
    if cfg.get("backend", "transformers") != "transformers":
        raise ValueError(f"annotate.backend: {cfg.get('backend')!r} is not available yet (transformers)")
    from annotators.backends.transformers_local import TransformersBackend

    return TransformersBackend(
        model=cfg.get("model", "smollm2-135m-instruct"),
        device=cfg.get("device", "cpu"),
        batch_size=int(cfg.get("batch_size", 8)),
        torch_threads=cfg.get("torch_threads"),
    )


class AnnotateFn(beam.DoFn):
    """A batch of documents → one Annotation row per (document, task). The model loads once per worker."""

    def __init__(self, cfg: Mapping[str, Any]):
        self.cfg = dict(cfg)
        self.backend = None
        self.tasks = []

    def setup(self):
        self.backend = build_backend(self.cfg)
        self.tasks = [build_task(name, self.cfg) for name in self.cfg.get("tasks", ["edu"])]

    def process(self, batch: list[dict]):
        from annotators.tasks.base import annotate_batch

        for task in self.tasks:
            for row in annotate_batch(task, self.backend, batch):
                counter("annotate", f"{row['task']}_{row['status']}").inc()
                yield row


def edu_bucket(row: dict) -> str:
    return "failed" if row["score"] is None else str(min(5, int(row["score"] + 0.5)))


def build_annotate(pipeline: beam.Pipeline, config: dict) -> beam.PCollection:
    out = config["run"]["output"]
    cfg = config["annotate"]
    docs = pipeline | "ReadDocuments" >> ReadRecords(layout.pattern(layout.documents_prefix(out)), DOCUMENT)
    rows = (
        docs
        | "SlimDocs" >> beam.Map(lambda d: {"id": d["id"], "text": d["text"], "content_hash": d["content_hash"]})
        | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=int(cfg.get("batch_size", 8)))
        | "Annotate" >> beam.ParDo(AnnotateFn(cfg))
    )
    for task in cfg.get("tasks", ["edu"]):
        (
            rows
            | f"Only_{task}" >> beam.Filter(lambda r, t=task: r["task"] == t)
            | f"Write_{task}" >> WriteRecords(layout.annotations_prefix(out, task), ANNOTATION)
        )
    counts = (
        tally(rows, "CountRows", lambda r: ("annotate", r["status"], r["task"])),
        tally(
            rows | "EduOnly" >> beam.Filter(lambda r: r["task"] == "edu"),
            "CountEdu",
            lambda r: ("annotate", "edu_bucket", edu_bucket(r)),
        ),
    )
    counts | "FlattenCounts" >> beam.Flatten() | "WriteCounts" >> WriteCounts(layout.counts_path(out, "annotate"))
    return rows


def run(argv: Sequence[str] | None = None) -> dict:
    setup_logging()
    _, config, beam_argv = parse(base_parser(__doc__), argv)
    with beam.Pipeline(options=beam_options(beam_argv)) as pipeline:
        build_annotate(pipeline, config)
    log.info("annotate: wrote %s", layout.annotations_prefix(config["run"]["output"], "*"))
    return config


if __name__ == "__main__":
    run(sys.argv[1:])
