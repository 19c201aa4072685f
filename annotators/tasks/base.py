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


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt version: system text, user text with a ``{document}`` slot, and the assistant's answer prefix."""

    version: str
    system: str
    user: str
    assistant_prefix: str

    def __post_init__(self) -> None:
        if self.user.count(DOCUMENT_SLOT) != 1:
            raise ValueError(f"prompt {self.version}: the user text must contain {DOCUMENT_SLOT} exactly once")

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
    """A closed-label annotation task; ``score`` defaults to the top label's probability."""

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

    def build_prompt(self, text: str, backend: LogprobBackend) -> str:
        if not isinstance(text, str):  # say what is wrong, not "'NoneType' object has no attribute 'strip'"
            raise TypeError(f"document text must be a string, got {type(text).__name__}")
        excerpt = truncate_at_whitespace(text.strip(), self.max_doc_chars)
        user = self.prompt.user.replace(DOCUMENT_SLOT, excerpt)
        return backend.chat_prompt(self.prompt.system, user, self.prompt.assistant_prefix)

    def score(self, logprobs: dict[str, float]) -> tuple[str, float, dict[str, float]]:
        """(argmax label, score, normalised distribution over the labels)."""
        distribution = normalise(logprobs, self.labels)
        label = max(self.labels, key=distribution.__getitem__)
        return label, distribution[label], distribution


def _row(task: LabelTask, backend: LogprobBackend, doc: Mapping[str, Any], **outcome: Any) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "content_hash": doc["content_hash"],
        "task": task.name,
        "model": backend.model,
        "prompt_version": task.prompt_version,
        "backend": backend.name,
        "label": None,
        "score": None,
        "distribution": None,
        "error": None,
        **outcome,
    }


def _failed(task: LabelTask, backend: LogprobBackend, doc: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    return _row(task, backend, doc, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000])


def annotate_batch(task: LabelTask, backend: LogprobBackend, docs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One ``schemas.ANNOTATION`` row per document, in input order: ``ok`` with label/score/distribution or ``failed``.

    A document whose prompt cannot be built fails alone; a backend exception fails every document of the batch
    (with the error message), so no document is ever silently left unlabelled.
    """
    rows: list[dict[str, Any] | None] = [None] * len(docs)
    prompts: list[str] = []
    pending: list[int] = []
    for i, doc in enumerate(docs):
        try:
            prompts.append(task.build_prompt(doc["text"], backend))
            pending.append(i)
        except Exception as exc:
            rows[i] = _failed(task, backend, doc, exc)
    try:
        results = backend.label_logprobs(prompts, task.labels) if prompts else []
        if len(results) != len(prompts):
            raise BackendError(f"backend returned {len(results)} results for {len(prompts)} prompts")
    except Exception as exc:
        for i in pending:
            rows[i] = _failed(task, backend, docs[i], exc)
        return [row for row in rows if row is not None]
    for i, logprobs in zip(pending, results, strict=True):
        try:
            label, score, distribution = task.score(logprobs)
            rows[i] = _row(task, backend, docs[i], status="ok", label=label, score=score, distribution=distribution)
        except Exception as exc:
            rows[i] = _failed(task, backend, docs[i], exc)
    return [row for row in rows if row is not None]
