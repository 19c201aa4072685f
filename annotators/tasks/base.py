"""A labelling task = a versioned prompt + a closed label set + a rule that turns label log-probabilities into a score.

Tasks are plain data plus small code, independent of the backend: the same task runs on the local transformers
backend or on a vLLM server, and every annotation row records task, model, prompt version and backend so labels from
different runs are never mixed up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from annotators.backends.base import BackendError, LogprobBackend

DOCUMENT_SLOT = "{document}"
OPTIONS_SLOT = "{options}"


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt version: system text, user text with a ``{document}`` slot, and the assistant's answer prefix."""

    version: str
    system: str
    user: str
    assistant_prefix: str
    options: tuple[Mapping[str, str], ...] = ()  # closed-choice tasks: {label, text, ...} per answer option

    def __post_init__(self) -> None:
        if self.user.count(DOCUMENT_SLOT) != 1:
            raise ValueError(f"prompt {self.version}: the user text must contain {DOCUMENT_SLOT} exactly once")
        if self.user.count(OPTIONS_SLOT) != (1 if self.options else 0):
            raise ValueError(f"prompt {self.version}: {OPTIONS_SLOT} must appear once exactly when options are given")

    @classmethod
    def load(cls, name: str) -> PromptTemplate:
        """Read ``annotators/prompts/<name>.yaml`` (shipped as package data)."""
        text = resources.files("annotators.prompts").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        return cls(
            version=data["version"],
            system=data.get("system", "").strip(),
            user=data["user"].strip(),
            assistant_prefix=data.get("assistant_prefix", ""),
            options=tuple(dict(o) for o in data.get("options") or ()),
        )


def truncate_at_whitespace(text: str, max_chars: int) -> str:
    """At most ``max_chars`` characters, cut at the last whitespace so no word is split (hard cut if there is none).

    The character just past the limit is looked at too: when it is whitespace the last word fits whole and is kept.
    """
    if max_chars < 0:
        raise ValueError(f"max_chars must be >= 0, got {max_chars}")
    if len(text) <= max_chars:
        return text
    window = text[: max_chars + 1]
    cut = next((i for i in range(len(window) - 1, 0, -1) if window[i].isspace()), 0)
    return (text[:cut] if cut > 0 else text[:max_chars]).rstrip()


def normalise(logprobs: Mapping[str, float], labels: Sequence[str]) -> dict[str, float]:
    """Softmax over the label log-probabilities: the model's distribution restricted to the labels."""
    values = [float(logprobs[label]) for label in labels]
    if not all(math.isfinite(v) or v == -math.inf for v in values) or max(values) == -math.inf:
        raise ValueError(f"label log-probabilities are not usable: {dict(zip(labels, values, strict=True))}")
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    total = sum(weights)
    return {label: w / total for label, w in zip(labels, weights, strict=True)}


@dataclass(frozen=True)
class LabelTask:
    """A closed-label annotation task; ``score`` defaults to the top label's probability.

    The backend scores ``keys`` (the answer tokens); ``presented_order`` says which label each key stands for in one
    document's prompt. For a task whose labels are their own answer tokens (edu: the digits) both are the labels.
    """

    name: str
    prompt_version: str
    labels: tuple[str, ...]
    prompt: PromptTemplate
    max_doc_chars: int = 2000

    def __post_init__(self) -> None:
        if self.prompt.version != self.prompt_version:
            raise ValueError(f"task {self.name}: prompt file is {self.prompt.version}, task says {self.prompt_version}")
        if len(set(self.labels)) != len(self.labels) or not self.labels:
            raise ValueError(f"task {self.name}: labels must be distinct and non-empty, got {self.labels}")

    @property
    def keys(self) -> tuple[str, ...]:
        """The answer tokens the backend scores, in presentation position order."""
        return self.labels

    def presented_order(self, content_hash: str) -> tuple[str, ...]:
        """The labels in the order the prompt of the document with ``content_hash`` presents them (key i = label i)."""
        return self.labels

    def excerpt(self, text: str) -> str:
        if not isinstance(text, str):  # say what is wrong, not "'NoneType' object has no attribute 'strip'"
            raise TypeError(f"document text must be a string, got {type(text).__name__}")
        return truncate_at_whitespace(text.strip(), self.max_doc_chars)

    def user_text(self, text: str, order: Sequence[str] | None = None) -> str:
        return self.prompt.user.replace(DOCUMENT_SLOT, self.excerpt(text))

    def build_prompt(self, text: str, backend: LogprobBackend, order: Sequence[str] | None = None) -> str:
        return backend.chat_prompt(self.prompt.system, self.user_text(text, order), self.prompt.assistant_prefix)

    def by_label(self, key_logprobs: Mapping[str, float], order: Sequence[str]) -> dict[str, float]:
        """Key log-probabilities of one document → label log-probabilities, through its presentation order."""
        return {label: key_logprobs[key] for key, label in zip(self.keys, order, strict=True)}

    def from_distribution(self, distribution: Mapping[str, float]) -> tuple[str, float, dict[str, float]]:
        """(argmax label, score, distribution) from a normalised distribution over the labels (teacher or student)."""
        dist = {label: float(distribution.get(label, 0.0)) for label in self.labels}
        label = max(self.labels, key=dist.__getitem__)
        return label, dist[label], dist

    def score(self, logprobs: Mapping[str, float]) -> tuple[str, float, dict[str, float]]:
        """(argmax label, score, normalised distribution over the labels) from label log-probabilities."""
        return self.from_distribution(normalise(logprobs, self.labels))


def make_row(task: LabelTask, model: str, backend: str, doc: Mapping[str, Any], **outcome: Any) -> dict[str, Any]:
    """One ``schemas.ANNOTATION`` row: which task, prompt version, model and backend said what about ``doc``."""
    return {
        "id": doc["id"],
        "content_hash": doc["content_hash"],
        "task": task.name,
        "model": model,
        "prompt_version": task.prompt_version,
        "backend": backend,
        "label": None,
        "score": None,
        "distribution": None,
        "error": None,
        **outcome,
    }


def failed_row(task: LabelTask, model: str, backend: str, doc: Mapping[str, Any], exc: BaseException) -> dict:
    return make_row(task, model, backend, doc, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])


def _failed(task: LabelTask, backend: LogprobBackend, doc: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    return failed_row(task, backend.model, backend.name, doc, exc)


def annotate_batch(task: LabelTask, backend: LogprobBackend, docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One ``schemas.ANNOTATION`` row per document, in input order: ``ok`` with label/score/distribution or ``failed``.

    A document whose prompt cannot be built, or whose request failed (HTTP backends report per request), fails
    alone; a backend exception fails every document of the batch (with the error message), so no document is ever
    silently left unlabelled.
    """
    rows: list[dict[str, Any] | None] = [None] * len(docs)
    prompts: list[str] = []
    pending: list[tuple[int, tuple[str, ...]]] = []
    for i, doc in enumerate(docs):
        try:
            order = task.presented_order(doc["content_hash"])
            prompts.append(task.build_prompt(doc["text"], backend, order))
            pending.append((i, order))
        except Exception as exc:
            rows[i] = _failed(task, backend, doc, exc)
    try:
        results = backend.label_logprobs(prompts, task.keys) if prompts else []
        if len(results) != len(prompts):
            raise BackendError(f"backend returned {len(results)} results for {len(prompts)} prompts")
    except Exception as exc:
        for i, _ in pending:
            rows[i] = _failed(task, backend, docs[i], exc)
        return [row for row in rows if row is not None]
    for (i, order), result in zip(pending, results, strict=True):
        try:
            if isinstance(result, BaseException):
                raise result
            label, score, distribution = task.score(task.by_label(result, order))
            rows[i] = make_row(
                task,
                backend.model,
                backend.name,
                docs[i],
                status="ok",
                label=label,
                score=score,
                distribution=distribution,
            )
        except Exception as exc:
            rows[i] = _failed(task, backend, docs[i], exc)
    return [row for row in rows if row is not None]
