"""Train, evaluate and save a fastText student on teacher labels (or on gold labels, as a sanity check).

    python -m pipelines.train_student --task edu \\
        --labels 'out/annotations/edu-*.parquet' --documents 'out/curated/documents-*.parquet' \\
        --out students/edu.ftz
    python -m pipelines.train_student --task safety --labels fortunes.jsonl --out students/safety.ftz

``--labels`` is either Annotation Parquet written by ``pipelines.annotate`` in teacher mode (its ``ok`` rows; the
texts come from ``--documents``, read only for the labelled ids) or JSONL with ``text`` and ``label`` per line (gold
labels). Paths and globs may be local, ``gs://`` or ``s3://`` (fsspec). A held-out share of the documents (by content
hash) measures agreement with the teacher: F1 at score >= 3 for edu, macro-F1 for domain and safety. Writes the
model and ``<out>.json`` (task, labels, prompt version, teacher, parameters, metrics) and prints the metrics.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import fsspec
import pyarrow.compute as pc
import pyarrow.parquet as pq

from annotators.students import fasttext_student as ft
from annotators.students.training import Example, fit_and_evaluate, teacher_target
from annotators.tasks.registry import TASKS, build_task

log = logging.getLogger(__name__)


def _files(pattern: str) -> Iterator[Any]:
    files = fsspec.open_files(pattern, "rb")
    if not files:
        raise FileNotFoundError(f"no file matches {pattern}")
    yield from files


def read_teacher_rows(pattern: str, task: str) -> list[dict[str, Any]]:
    """``ok`` Annotation rows of ``task`` (failed rows teach nothing); one teacher (model + prompt version) only."""
    rows: list[dict[str, Any]] = []
    for f in _files(pattern):
        with f as fh:
            rows.extend(r for r in pq.read_table(fh).to_pylist() if r["task"] == task and r["status"] == "ok")
    teachers = {(r["backend"], r["model"], r["prompt_version"]) for r in rows}
    if len(teachers) > 1:
        raise ValueError(f"labels from several teachers are mixed in {pattern}: {sorted(teachers)}")
    return rows


def read_texts(pattern: str, ids: set[str]) -> dict[str, tuple[str, str]]:
    """``{id: (text, content_hash)}`` of the wanted documents, file by file: the corpus is never held whole."""
    wanted = list(ids)
    out: dict[str, tuple[str, str]] = {}
    for f in _files(pattern):
        with f as fh:
            table = pq.read_table(fh, columns=["id", "text", "content_hash"])
        table = table.filter(pc.is_in(table["id"], value_set=pc.cast(wanted, table.schema.field("id").type)))
        for row in table.to_pylist():
            out[row["id"]] = (row["text"], row["content_hash"])
    return out


def teacher_examples(task_name: str, labels: str, documents: str) -> tuple[list[Example], str]:
    """Examples from teacher Annotation rows joined to their documents; (examples, label source)."""
    task = build_task(task_name)
    rows = read_teacher_rows(labels, task_name)
    if not rows:
        raise ValueError(f"no ok {task_name} rows in {labels}")
    texts = read_texts(documents, {r["id"] for r in rows})
    examples = [
        Example(key=r["content_hash"], text=texts[r["id"]][0], target=teacher_target(task, r), score=r["score"])
        for r in rows
        if r["id"] in texts
    ]
    missing = len(rows) - len(examples)
    if missing:
        log.warning("%d labelled ids have no document in %s", missing, documents)
    backend, model, version = rows[0]["backend"], rows[0]["model"], rows[0]["prompt_version"]
    if version != task.prompt_version:
        raise ValueError(f"labels are from prompt {version}, the task is at {task.prompt_version}")
    return examples, f"teacher:{backend}/{model}"


def gold_examples(path: str) -> tuple[list[Example], str]:
    """Examples from JSONL lines ``{"text": ..., "label": ...}`` (the split key is the text's hash)."""
    examples = []
    with fsspec.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                key = hashlib.sha256(row["text"].encode("utf-8")).hexdigest()
                examples.append(Example(key=key, text=row["text"], target=str(row["label"])))
    return examples, f"gold:{path.rsplit('/', 1)[-1]}"


def report(info: ft.StudentInfo) -> str:
    m = info.metrics
    lines = [
        f"student {info.task} ({info.label_source}, prompt {info.prompt_version}): "
        f"{info.n_train} train / {info.n_test} held-out documents",
        "| metric | value |",
        "|---|---|",
    ]
    for key in ("f1_at_3", "macro_f1", "f1_unsafe", "accuracy", "macro_f1_rounded", "majority_macro_f1"):
        if key in m:
            lines.append(f"| {key} | {m[key]:.3f} |")
    for key in ("teacher_positive_share", "student_positive_share", "majority_label"):
        if key in m:
            value = m[key]
            lines.append(f"| {key} | {value:.3f} |" if isinstance(value, float) else f"| {key} | {value} |")
    lines.append(f"train labels: {m.get('train_label_counts')}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> ft.StudentInfo:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", required=True, choices=sorted(TASKS))
    parser.add_argument("--labels", required=True, help="Annotation Parquet glob (teacher) or JSONL text+label (gold)")
    parser.add_argument("--documents", help="Document Parquet glob holding the labelled ids (teacher labels)")
    parser.add_argument("--out", required=True, help="model path (.ftz quantised, .bin not); sidecar <out>.json")
    parser.add_argument("--max-chars", type=int, default=1500, help="excerpt the student reads (as the teacher)")
    parser.add_argument("--test-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="fastText parameter")
    args = parser.parse_args(argv)
    params: dict[str, Any] = {}
    for item in args.param:
        key, value = item.split("=", 1)
        params[key] = type(ft.DEFAULT_PARAMS.get(key, value))(value)
    if args.labels.endswith((".jsonl", ".jsonl.gz")):
        examples, source = gold_examples(args.labels)
    else:
        if not args.documents:
            parser.error("--documents is required with teacher (Parquet) labels")
        examples, source = teacher_examples(args.task, args.labels, args.documents)
    task = build_task(args.task, args.max_chars)
    model, info = fit_and_evaluate(
        task,
        examples,
        args.max_chars,
        source,
        params,
        test_share=args.test_share,
        seed=args.seed,
        quantize=args.out.endswith(".ftz"),
    )
    path = ft.save(model, args.out, info)
    print(report(info))
    print(f"saved {path} and {path}.json")
    return info


if __name__ == "__main__":
    main(sys.argv[1:])
