"""fastText students: cheap CPU classifiers trained on teacher labels, to label a whole corpus after the teacher
labelled a sample (the FineWeb-Edu recipe: an LLM scores a sample, a small classifier scores everything).

A student is two files: the fastText model (``.ftz``, quantised, or ``.bin``) and a JSON sidecar (``<model>.json``)
saying which task, label set, prompt version and teacher it learnt from, how it read documents and how well it
agreed with its teacher on held-out documents. The Annotation rows it writes name it by task and model digest, so
its labels never mix with the teacher's.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from annotators.tasks.base import LabelTask, failed_row, make_row, truncate_at_whitespace

BUNDLED_PREFIX = "bundled:"
LABEL_PREFIX = "__label__"
BACKEND = "fasttext"
_SPACE = re.compile(r"\s+")
MAX_TOKEN_CHARS = 16
TRAIN_ATTEMPTS = 5
PIECE_CHARS = 2
_LONG_TOKEN = re.compile(rf"\S{{{MAX_TOKEN_CHARS + 1},}}")

DEFAULT_PARAMS: dict[str, Any] = {
    "dim": 32,
    "epoch": 20,
    "lr": 0.3,
    "wordNgrams": 2,
    "minn": 0,  # no character n-grams: smaller, faster, and far fewer spurious "Encountered NaN" (see train)
    "maxn": 0,
    "bucket": 200_000,
    "minCount": 1,
    "loss": "softmax",
    "thread": 1,  # one thread: training is reproducible bit for bit
    "seed": 0,
}


def features(text: str, max_chars: int) -> str:
    """What a student reads: the teacher's excerpt (first ``max_chars``), lower-cased, on one line.

    Tokens longer than ``MAX_TOKEN_CHARS`` (unsegmented Chinese or Japanese, base64, minified code) are cut into
    ``PIECE_CHARS``-character pieces, so a Chinese sentence becomes character pairs (with ``wordNgrams=2``, pairs of
    pairs) rather than one unique "word" the model can learn nothing from.
    """
    excerpt = _SPACE.sub(" ", truncate_at_whitespace(text.strip(), max_chars)).strip().lower()
    return _LONG_TOKEN.sub(lambda m: " ".join(_pieces(m.group(0))), excerpt)


def _pieces(token: str) -> list[str]:
    return [token[i : i + PIECE_CHARS] for i in range(0, len(token), PIECE_CHARS)]


@dataclass
class StudentInfo:
    """The sidecar of a student model."""

    task: str
    prompt_version: str
    labels: list[str]
    label_source: str  # "teacher:<backend>/<model>" or "gold:<description>"
    max_chars: int
    params: dict[str, Any] = field(default_factory=dict)
    n_train: int = 0
    n_test: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> StudentInfo:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


def bundled_path(name: str) -> Path:
    """The model file of a bundled student (``bundled:edu`` → ``annotators/students/bundled/edu.ftz``)."""
    return Path(str(resources.files("annotators.students").joinpath("bundled", f"{name}.ftz")))


def resolve_student(spec: str) -> Path:
    """A local model path for ``bundled:NAME``, a local file or a remote URL (fetched with its sidecar, cached)."""
    if spec.startswith(BUNDLED_PREFIX):
        path = bundled_path(spec[len(BUNDLED_PREFIX) :])
        if not path.exists():
            raise FileNotFoundError(f"no bundled student {spec!r} at {path}")
        return path
    from curation.model_store import resolve_model

    model = resolve_model(spec)
    if "://" in spec:
        resolve_model(spec + ".json")  # remote: the sidecar is cached beside the model under its own name
    return model


def _sidecar(model_path: Path, spec: str) -> Path:
    local = model_path.with_name(model_path.name + ".json")
    if local.exists():
        return local
    from curation.model_store import resolve_model

    return resolve_model(spec + ".json")


class FastTextStudent:
    """A trained student: ``predict`` gives a distribution over the task's labels per text."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._model: Any = None
        self.info: StudentInfo | None = None
        self.model_id = ""

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "_model": None, "info": None, "model_id": ""}

    def load(self) -> FastTextStudent:
        if self._model is not None:
            return self
        import fasttext

        path = resolve_student(self.spec)
        self.info = StudentInfo.load(_sidecar(path, self.spec))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        self.model_id = f"fasttext-student/{self.info.task}@{digest}"
        self._model = fasttext.load_model(str(path))
        return self

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """A normalised distribution over the task labels per text (labels the student never saw get 0)."""
        self.load()
        assert self.info is not None
        lines = [features(t, self.info.max_chars) for t in texts]
        if not lines:
            return []
        labels, probs = self._model.predict(lines, k=-1, threshold=0.0)
        out = []
        for names, values in zip(labels, probs, strict=True):
            dist = dict.fromkeys(self.info.labels, 0.0)
            for name, p in zip(names, values, strict=True):
                label = name[len(LABEL_PREFIX) :]
                if label in dist:
                    dist[label] = float(p)
            total = sum(dist.values())
            out.append({k: v / total for k, v in dist.items()} if total > 0 else dist)
        return out

    def annotate(self, task: LabelTask, docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One Annotation row per document, in order; a document without string text fails alone."""
        self.load()
        assert self.info is not None
        if self.info.task != task.name:
            raise ValueError(f"student {self.spec} was trained for task {self.info.task!r}, not {task.name!r}")
        rows: list[dict[str, Any] | None] = [None] * len(docs)
        good = []
        for i, doc in enumerate(docs):
            if isinstance(doc.get("text"), str):
                good.append(i)
            else:
                exc = TypeError(f"document text must be a string, got {type(doc.get('text')).__name__}")
                rows[i] = failed_row(task, self.model_id, BACKEND, doc, exc)
        for i, dist in zip(good, self.predict([docs[i]["text"] for i in good]), strict=True):
            try:
                if not math.isclose(sum(dist.values()), 1.0, abs_tol=1e-6):
                    raise ValueError("the student gave no probability to any label of the task")
                label, score, distribution = task.from_distribution(dist)
                rows[i] = make_row(
                    task,
                    self.model_id,
                    BACKEND,
                    docs[i],
                    status="ok",
                    label=label,
                    score=score,
                    distribution=distribution,
                )
            except Exception as exc:
                rows[i] = failed_row(task, self.model_id, BACKEND, docs[i], exc)
        return [row for row in rows if row is not None]


def train(texts: Sequence[str], labels: Sequence[str], max_chars: int, params: Mapping[str, Any] | None = None) -> Any:
    """A fastText supervised model on (text, label) pairs; ``params`` override ``DEFAULT_PARAMS``.

    Train one student per process (``python -m pipelines.train_student`` does): fasttext-numpy2-wheel 0.9.2 keeps
    state across trainings, and once a quantised model was made or loaded in a process a later training there can
    diverge or give other weights; the first training of a process is reproducible bit for bit (``thread=1``).
    """
    import fasttext

    if len(texts) != len(labels) or not texts:
        raise ValueError("need as many labels as texts, and at least one")
    settings = {**DEFAULT_PARAMS, **(params or {})}
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for text, label in zip(texts, labels, strict=True):
            f.write(f"{LABEL_PREFIX}{label} {features(text, max_chars)}\n")
        train_file = f.name
    try:
        for attempt in range(TRAIN_ATTEMPTS):
            try:
                model = fasttext.train_supervised(input=train_file, verbose=0, **settings)
                break
            except RuntimeError as exc:
                # The cross-training state above shows up as a spurious "Encountered NaN"; another try usually passes.
                if "NaN" not in str(exc) or attempt + 1 == TRAIN_ATTEMPTS:
                    raise
        model._train_file = train_file  # removed by finish()
        return model
    except BaseException:
        os.unlink(train_file)
        raise


def finish(model: Any, quantize: bool = True, cutoff: int = 20_000) -> Any:
    """Quantise a freshly trained model (product quantisation + the ``cutoff`` most useful rows: a ``.ftz`` of a few
    hundred KB instead of tens of MB) and drop its training file. Evaluate after this: it is what gets shipped."""
    train_file = getattr(model, "_train_file", None)
    try:
        if quantize:
            model.quantize(input=train_file, retrain=False, cutoff=cutoff, qnorm=True, verbose=0)
    finally:
        if train_file:
            Path(train_file).unlink(missing_ok=True)
            model._train_file = None
    return model


def save(model: Any, path: str | Path, info: StudentInfo) -> Path:
    """Write the model and its sidecar ``<path>.json``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save_model(str(path))
    info.save(path.with_name(path.name + ".json"))
    return path
