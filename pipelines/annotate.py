"""Annotate: curated documents → one Annotation table per task (kept apart from the text, as in Dolma).

python -m pipelines.annotate [--config run.yaml] [--output out/] [--set annotate.batch_size=16] [Beam flags]

Each task (edu, domain, safety) runs in one of three modes (``annotate.mode``, per task ``annotate.modes.<task>``):

* ``teacher``: the LLM teacher labels every document (``annotate.backend``: ``transformers`` in-process on CPU/GPU,
  or ``openai-http`` against ``vllm serve``) → ``annotations/<task>``;
* ``student``: the task's fastText student (``annotate.students.<task>``) labels every document on CPU;
* ``both``: the student labels every document (``annotations/<task>``) and the teacher also labels a deterministic
  sample (``annotate.teacher_sample``, chosen by content hash) → ``annotations/<task>_teacher``, to watch agreement
  and to train the next student (``python -m pipelines.train_student``).

Teacher labels go through a label cache keyed by (task, prompt version, model, content hash): Parquet Annotation
rows under ``annotate.cache_path`` (default ``<output>/annotations/cache``), joined to the documents by content hash
with a CoGroupByKey (no worker holds the cache), so a rerun, or a document seen in an earlier run, never pays twice.
Only ``ok`` rows are cached: failures are retried on the next run. The backend and the students are created once
per worker (``DoFn.setup``); the teacher sees documents in batches (``BatchElements``).
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines import layout
from pipelines.io import ReadRecords, WriteRecords
from pipelines.isolation import DEFAULT_MAX_CONSECUTIVE_ERRORS, ErrorBudget, per_batch
from pipelines.metrics import WriteCounts, counter, tally
from pipelines.options import base_parser, parse, setup_logging
from pipelines.workload import curated_rows
from schemas import ANNOTATION, DOCUMENT

log = logging.getLogger(__name__)

MODES = ("teacher", "student", "both")
BACKENDS = ("transformers", "openai-http")
HTTP_DEFAULTS: dict[str, Any] = {
    "base_url": "http://localhost:8000/v1",
    "chat_template": "chatml",
    "concurrency": 8,
    "timeout_s": 60.0,
    "max_retries": 4,
    "backoff_s": 0.5,
    "backoff_max_s": 20.0,
    "top_logprobs": 20,
    "api_key_env": "OPENAI_API_KEY",
    "structured_style": "json_schema",
    "extra_body": {},
}


# ----------------------------------------------------------------------------------------------------- settings


def task_modes(cfg: Mapping[str, Any]) -> dict[str, str]:
    """Mode of every configured task; ``ValueError`` naming the key on a bad value or a missing student."""
    from annotators.tasks.registry import TASKS

    tasks = list(cfg.get("tasks") or [])
    if not tasks or len(set(tasks)) != len(tasks):
        raise ValueError(f"annotate.tasks: a non-empty list of distinct task names, got {tasks}")
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise ValueError(f"annotate.tasks: unknown task(s) {unknown}; known: {sorted(TASKS)}")
    default = cfg.get("mode", "teacher")
    per_task = dict(cfg.get("modes") or {})
    modes = {t: per_task.get(t, default) for t in tasks}
    for task, mode in modes.items():
        if mode not in MODES:
            raise ValueError(f"annotate.modes.{task}: {mode!r} not in {MODES}")
        if mode != "teacher" and not (cfg.get("students") or {}).get(task):
            raise ValueError(f"annotate.students.{task}: mode {mode} needs a student model (bundled:NAME or path)")
    if any(m != "student" for m in modes.values()) and cfg.get("backend", "transformers") not in BACKENDS:
        raise ValueError(f"annotate.backend: {cfg.get('backend')!r} not in {BACKENDS}")
    rate = float(cfg.get("teacher_sample", 0.0))
    if "both" in modes.values() and not 0.0 <= rate <= 1.0:
        raise ValueError(f"annotate.teacher_sample: a share in [0, 1], got {rate}")
    return modes


def http_settings(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return {**HTTP_DEFAULTS, **(cfg.get("http") or {})}


def teacher_model(cfg: Mapping[str, Any]) -> str:
    return str(cfg.get("model", "smollm2-135m-instruct"))


def build_backend(cfg: Mapping[str, Any]):
    """The teacher backend of the config (not loaded: models load and connections open on first use)."""
    backend = cfg.get("backend", "transformers")
    if backend == "transformers":
        from annotators.backends.transformers_local import TransformersBackend

        return TransformersBackend(
            model=teacher_model(cfg),
            device=cfg.get("device", "cpu"),
            batch_size=int(cfg.get("batch_size", 8)),
            max_prompt_tokens=int(cfg.get("max_prompt_tokens", 1024)),
            torch_threads=cfg.get("torch_threads"),
            dtype=cfg.get("dtype"),
        )
    if backend == "openai-http":
        from annotators.backends.openai_http import OpenAIHTTPBackend, RetryPolicy

        http = http_settings(cfg)
        return OpenAIHTTPBackend(
            base_url=http["base_url"],
            model=teacher_model(cfg),
            chat_template=http["chat_template"],
            concurrency=int(http["concurrency"]),
            timeout_s=float(http["timeout_s"]),
            retry=RetryPolicy(int(http["max_retries"]), float(http["backoff_s"]), float(http["backoff_max_s"])),
            top_logprobs=int(http["top_logprobs"]),
            api_key_env=http["api_key_env"],
            structured_style=http["structured_style"],
            extra_body=http["extra_body"],
        )
    raise ValueError(f"annotate.backend: {backend!r} not in {BACKENDS}")


def build_task(name: str, cfg: Mapping[str, Any]):
    from annotators.tasks.registry import build_task as make

    return make(name, max_doc_chars=int(cfg.get("max_doc_chars", 1500)))


def teacher_batch_size(cfg: Mapping[str, Any]) -> int:
    """Documents per teacher call: the forward batch in-process; enough to keep every HTTP slot busy otherwise."""
    size = int(cfg.get("batch_size", 8))
    if cfg.get("backend", "transformers") == "openai-http":
        size = max(size, 4 * int(http_settings(cfg)["concurrency"]))
    return size


def in_teacher_sample(content_hash: str, task: str, rate: float, seed: int = 0) -> bool:
    """Whether the teacher labels this document in mode ``both``: a fixed hash draw, the same on every run."""
    if rate >= 1.0:
        return True
    digest = hashlib.sha256(f"teacher-sample\x1f{seed}\x1f{task}\x1f{content_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


TEACHER_CPU_MAX_DOCS = 300  # ~20 min of SmolLM2-135M on 2 CPU cores (~0.25 docs/s); students label the rest


def teacher_cap(cfg: Mapping[str, Any]) -> int | None:
    """Most documents per task the teacher samples in mode ``both``; None = no cap (``teacher_max_docs``)."""
    value = cfg.get("teacher_max_docs", "auto")
    if value != "auto":
        return None if value is None else int(value)
    if cfg.get("backend", "transformers") != "transformers":
        return None  # a served model (vLLM) is sized by its operator
    import torch

    return None if torch.cuda.is_available() else TEACHER_CPU_MAX_DOCS


def capped_rate(rate: float, cap: int | None, n_docs: int | None) -> float:
    """The sample share that keeps the expected sample within ``cap`` documents (hash draws below it are nested
    inside the full sample, so the capped sample is a subset of the configured one)."""
    if cap is None or n_docs is None or n_docs * rate <= cap:
        return rate
    return cap / n_docs


def cache_dir(config: Mapping[str, Any]) -> str:
    path = config["annotate"].get("cache_path")
    return str(path) if path else FileSystems.join(config["run"]["output"].rstrip("/"), "annotations", "cache")


def teacher_prefix(out: str, task: str) -> str:
    """Teacher labels of the sample in mode ``both`` (kept apart from the student's table of the same task)."""
    return layout.annotations_prefix(out, f"{task}_teacher")


def _slim(doc: Mapping[str, Any]) -> dict[str, Any]:
    counter("annotate", "documents").inc()  # progress (docs/s, ETA)
    return {"id": doc["id"], "text": doc["text"], "content_hash": doc["content_hash"]}


def _error_kind(row: Mapping[str, Any]) -> str:
    return (row.get("error") or "").split(":", 1)[0] or "unknown"


# --------------------------------------------------------------------------------------------------------- DoFns


class TeacherRowFailed(Exception):
    """The teacher returned a ``failed`` row (after the backend's own retries); its text is the row's error."""


def _teacher_failed(owner: TeacherFn, element: tuple[str, dict], err: BaseException):
    """Per-record isolation: a (task, document) whose labelling raised → a ``failed`` Annotation row, not a dead job."""
    from annotators.tasks.base import failed_row

    task, doc = element
    if task not in owner.tasks:
        owner.tasks[task] = build_task(task, owner.cfg)
    model = getattr(owner.backend, "model", None) or str(owner.cfg.get("model", ""))
    counter("annotate", f"teacher_{task}_failed").inc()
    yield failed_row(owner.tasks[task], model, getattr(owner.backend, "name", "?"), doc, err)


def _student_failed(owner: StudentFn, doc: dict, err: BaseException):
    """Per-record isolation: a document a student raised on → one ``failed`` row per student task."""
    from annotators.students.fasttext_student import BACKEND
    from annotators.tasks.base import failed_row

    for name in owner.task_names:
        counter("annotate", f"student_{name}_failed").inc()
        yield failed_row(owner.tasks[name], owner.students[name].model_id, BACKEND, doc, err)


class TeacherFn(beam.DoFn):
    """A batch of (task, document) pairs → one Annotation row each, from the LLM teacher (created once per worker)."""

    def __init__(self, cfg: Mapping[str, Any]):
        self.cfg = dict(cfg)
        self.backend = None
        self.tasks: dict[str, Any] = {}

    def setup(self):
        self.backend = build_backend(self.cfg)
        self._retries_seen = 0
        self._failed_rows = ErrorBudget("annotate", DEFAULT_MAX_CONSECUTIVE_ERRORS)

    def _watch(self, row: Mapping[str, Any]) -> None:
        """A failed row is one document's fault; every row failing, request after request, is a dead or unreachable
        model server: the job stops with that cause instead of writing a table of failures."""
        if row["status"] == "ok":
            self._failed_rows.ok()
        else:
            self._failed_rows.failed(row["id"], TeacherRowFailed(row.get("error") or "failed"))

    def teardown(self):
        if self.backend is not None:
            self.backend.close()

    @per_batch("annotate", on_error=_teacher_failed)
    def process(self, batch: list[tuple[str, dict]]):
        from annotators.tasks.base import annotate_batch

        by_task: dict[str, list[dict]] = {}
        for task, doc in batch:
            by_task.setdefault(task, []).append(doc)
        for name, docs in by_task.items():
            if name not in self.tasks:
                self.tasks[name] = build_task(name, self.cfg)
            for row in annotate_batch(self.tasks[name], self.backend, docs):
                counter("annotate", f"teacher_{row['task']}_{row['status']}").inc()
                self._watch(row)
                yield row
        stats = getattr(self.backend, "stats", None)
        if stats is not None and stats["retries"] > self._retries_seen:
            counter("annotate", "http_retries").inc(stats["retries"] - self._retries_seen)
            self._retries_seen = stats["retries"]


class StudentFn(beam.DoFn):
    """A batch of documents → one Annotation row per (document, student task); students load once per worker."""

    def __init__(self, tasks: Sequence[str], cfg: Mapping[str, Any]):
        self.task_names = list(tasks)
        self.cfg = dict(cfg)
        self.students: dict[str, Any] = {}
        self.tasks: dict[str, Any] = {}

    def setup(self):
        from annotators.students.fasttext_student import FastTextStudent

        for name in self.task_names:
            self.tasks[name] = build_task(name, self.cfg)
            self.students[name] = FastTextStudent(self.cfg["students"][name]).load()

    @per_batch("annotate", on_error=_student_failed)
    def process(self, batch: list[dict]):
        for name in self.task_names:
            for row in self.students[name].annotate(self.tasks[name], batch):
                counter("annotate", f"student_{row['task']}_{row['status']}").inc()
                yield row


class SplitCacheHits(beam.DoFn):
    """(content_hash, {docs, cache}) → cached rows re-keyed to each document (main) and (task, doc) misses."""

    def __init__(self, wanted: Mapping[str, float]):
        self.wanted = dict(wanted)  # task -> share of documents the teacher labels

    def process(self, element):
        content_hash, grouped = element
        cached: dict[str, dict] = {}
        for row in grouped["cache"]:
            cached.setdefault(row["task"], row)  # duplicates (two runs wrote the same key) are equivalent
        for doc in grouped["docs"]:
            for task, rate in self.wanted.items():
                if not in_teacher_sample(content_hash, task, rate):
                    continue
                if task in cached:
                    counter("annotate", f"cache_hit_{task}").inc()
                    yield {**cached[task], "id": doc["id"]}
                else:
                    yield beam.pvalue.TaggedOutput("miss", (task, doc))


class TeacherLabels(beam.PTransform):
    """Slim documents → teacher Annotation rows for ``wanted`` tasks, through the label cache when it is on."""

    def __init__(self, cfg: Mapping[str, Any], wanted: Mapping[str, float], cache: str | None, run_token: str):
        super().__init__()
        self.cfg = dict(cfg)
        self.wanted = dict(wanted)
        self.cache = cache
        self.run_token = run_token

    def expand(self, docs):
        if self.cache is None:
            wanted = self.wanted
            misses = docs | "Wanted" >> beam.FlatMap(
                lambda d: [(t, d) for t, r in wanted.items() if in_teacher_sample(d["content_hash"], t, r)]
            )
            hits = None
        else:
            pattern = FileSystems.join(self.cache, "labels-*.parquet")
            keys = {(t, build_task(t, self.cfg).prompt_version, teacher_model(self.cfg)) for t in self.wanted}
            if layout.has_files(pattern):
                cached = docs.pipeline | "ReadCache" >> ReadRecords(pattern, ANNOTATION)
            else:
                cached = docs.pipeline | "NoCacheYet" >> beam.Create([])
            relevant = (
                cached
                | "CacheForRun"
                >> beam.Filter(lambda r: r["status"] == "ok" and (r["task"], r["prompt_version"], r["model"]) in keys)
                | "KeyCache" >> beam.Map(lambda r: (r["content_hash"], r))
            )
            wanted = self.wanted
            sampled = docs | "InTeacherSample" >> beam.Filter(  # mode both: only the sample crosses the cache join
                lambda d: any(in_teacher_sample(d["content_hash"], t, r) for t, r in wanted.items())
            )
            split = (
                {"docs": sampled | "KeyDocs" >> beam.Map(lambda d: (d["content_hash"], d)), "cache": relevant}
                | "JoinCache" >> beam.CoGroupByKey()
                | "SplitHits" >> beam.ParDo(SplitCacheHits(self.wanted)).with_outputs("miss", main="hits")
            )
            hits, misses = split.hits, split.miss
        labelled = (
            misses
            | "BatchForTeacher" >> beam.BatchElements(min_batch_size=1, max_batch_size=teacher_batch_size(self.cfg))
            | "Teacher" >> beam.ParDo(TeacherFn(self.cfg))
        )
        calls = labelled | "CountCalls" >> beam.Map(lambda r: (("annotate", "teacher_call", r["task"]), 1))
        if hits is None:
            return {"rows": labelled, "counts": calls}
        (
            labelled
            | "OkForCache" >> beam.Filter(lambda r: r["status"] == "ok")
            | "WriteCache" >> WriteRecords(FileSystems.join(self.cache, f"labels-{self.run_token}"), ANNOTATION)
        )
        counts = (
            calls,
            hits | "CountHits" >> beam.Map(lambda r: (("annotate", "cache_hit", r["task"]), 1)),
        ) | "FlattenTeacherCounts" >> beam.Flatten()
        return {"rows": (hits, labelled) | "TeacherRows" >> beam.Flatten(), "counts": counts}


# ------------------------------------------------------------------------------------------------------ pipeline


def edu_bucket(row: dict) -> str:
    return "failed" if row["score"] is None else str(min(5, int(row["score"] + 0.5)))


def build_annotate(pipeline: beam.Pipeline, config: dict) -> beam.PCollection:
    """Read the curated documents, label them per task and mode, write one table per task and the counts."""
    out = config["run"]["output"]
    cfg = config["annotate"]
    modes = task_modes(cfg)
    log.info("annotate: modes %s, teacher %s/%s", modes, cfg.get("backend", "transformers"), teacher_model(cfg))
    docs = (
        pipeline
        | "ReadDocuments" >> ReadRecords(layout.pattern(layout.documents_prefix(out)), DOCUMENT)
        | "SlimDocs" >> beam.Map(_slim)
    )
    rate = float(cfg.get("teacher_sample", 0.0))
    sample = rate
    if "both" in modes.values():
        n_docs, cap = curated_rows(out), teacher_cap(cfg)
        sample = capped_rate(rate, cap, n_docs)
        if sample < rate:
            log.info(
                "annotate: teacher sample %.4g%% of %s documents instead of %.4g%% (teacher_max_docs %s); "
                "students label the rest (counted teacher_capped)", 100 * sample, f"{n_docs:,}", 100 * rate, cap
            )  # fmt: skip
    wanted = {t: (1.0 if m == "teacher" else sample) for t, m in modes.items() if m != "student"}
    students = [t for t, m in modes.items() if m != "teacher"]
    teacher = student = None
    counts: list[beam.PCollection] = []
    for task in [t for t, m in modes.items() if m == "both" and sample < rate]:
        capped = docs | f"Capped_{task}" >> beam.Filter(
            lambda d, t=task: (
                in_teacher_sample(d["content_hash"], t, rate) and not in_teacher_sample(d["content_hash"], t, sample)
            )
        )
        counts.append(tally(capped, f"CountCapped_{task}", lambda d, t=task: ("annotate", "teacher_capped", t)))
    if wanted:
        cache = cache_dir(config) if cfg.get("cache", True) else None
        token = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        labelled = docs | "TeacherLabels" >> TeacherLabels(cfg, wanted, cache, token)
        teacher = labelled["rows"]
        counts.append(labelled["counts"])
    if students:
        student = (
            docs
            | "BatchForStudents" >> beam.BatchElements(min_batch_size=16, max_batch_size=512)
            | "Students" >> beam.ParDo(StudentFn(students, cfg))
        )
    primary = []
    for task, mode in modes.items():
        source = teacher if mode == "teacher" else student
        rows = source | f"Only_{task}" >> beam.Filter(lambda r, t=task: r["task"] == t)
        rows | f"Write_{task}" >> WriteRecords(layout.annotations_prefix(out, task), ANNOTATION)
        primary.append(rows)
        if mode == "both":
            sampled = teacher | f"OnlyTeacher_{task}" >> beam.Filter(lambda r, t=task: r["task"] == t)
            sampled | f"WriteTeacher_{task}" >> WriteRecords(teacher_prefix(out, task), ANNOTATION)
            counts.append(
                tally(sampled, f"CountTeacher_{task}", lambda r: ("annotate", f"teacher_{r['status']}", r["task"]))
            )
    rows = tuple(primary) | "AllRows" >> beam.Flatten()
    counts.append(tally(rows, "CountRows", lambda r: ("annotate", r["status"], r["task"])))
    counts.append(
        tally(
            rows | "FailedOnly" >> beam.Filter(lambda r: r["status"] == "failed"),
            "CountErrors",
            lambda r: ("annotate", "error", f"{r['task']}:{_error_kind(r)}"),
        )
    )
    counts.append(tally(rows, "CountSources", lambda r: ("annotate", "labelled_by", f"{r['task']}:{r['backend']}")))
    labelled = rows | "LabelledOnly" >> beam.Filter(lambda r: r["status"] == "ok" and r.get("label") is not None)
    counts.append(tally(labelled, "CountLabels", lambda r: ("annotate", "label", f"{r['task']}:{r['label']}")))
    if "edu" in modes:
        edu = rows | "EduOnly" >> beam.Filter(lambda r: r["task"] == "edu")
        counts.append(tally(edu, "CountEdu", lambda r: ("annotate", "edu_bucket", edu_bucket(r))))
    counts | "FlattenCounts" >> beam.Flatten() | "WriteCounts" >> WriteCounts(layout.counts_path(out, "annotate"))
    return rows


def run(argv: Sequence[str] | None = None) -> dict:
    """The CLI: under the output lock, as a stage with a marker; checks every task's ok + failed = documents read."""
    from pipelines.stage_cli import add_stage_flags, cli_errors, run_standalone

    with cli_errors():
        setup_logging()
        args, config, beam_argv = parse(add_stage_flags(base_parser(__doc__)), argv)
        run_standalone("annotate", build_annotate, args, config, beam_argv)
    log.info("annotate: wrote %s", layout.annotations_prefix(config["run"]["output"], "*"))
    return config


if __name__ == "__main__":
    run(sys.argv[1:])
