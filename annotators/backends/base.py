"""The one interface every annotator backend implements: label log-probabilities for the next token.

Scoring from next-token log-probabilities (rather than parsing generated text) gives a full distribution over the
labels in one forward pass, is deterministic, and cannot fail on malformed prose. A local transformers model and an
OpenAI-compatible HTTP server (vLLM, ``logprobs``/``top_logprobs``) can both provide it.

Generation with structured outputs (a JSON schema the server enforces while decoding) is a second, optional
interface, for recipes that need text back rather than a label.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class BackendError(RuntimeError):
    """A failed backend call; the task turns it into ``status="failed"`` annotation rows carrying this message."""


LabelLogprobs = dict[str, float]


class LogprobBackend(ABC):
    """Returns, for each prompt, the log-probability of each label as the next token after the prompt."""

    name: str  # backend kind recorded in annotations: "transformers" | "openai-http"
    model: str  # model identifier recorded in annotations, e.g. "smollm2-135m-instruct"

    @abstractmethod
    def label_logprobs(self, prompts: Sequence[str], labels: Sequence[str]) -> list[LabelLogprobs | BackendError]:
        """One ``{label: log p(label | prompt)}`` dict per prompt, in prompt order.

        The values are log-probabilities over the whole vocabulary, so they are <= 0 and their exponentials sum to
        the probability mass on the labels (< 1); ``-inf`` marks a label the backend could not see (an HTTP server
        reports only its top-k tokens). A backend that fails per request (HTTP) puts a ``BackendError`` in place of
        the dict of a prompt that failed after its retries; a backend that fails per batch raises it instead. A label
        that is not exactly one token is a configuration error (``ValueError``) where the backend can tell.
        """

    @abstractmethod
    def chat_prompt(self, system: str, user: str, assistant_prefix: str = "") -> str:
        """Render one system + user turn with the model's chat template, opening the assistant turn.

        ``assistant_prefix`` is appended verbatim after the assistant header, so that the label is the very next
        token (e.g. ``"Educational score: "`` before a digit).
        """

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for in-process backends
        """Release connections or devices (a DoFn's ``teardown``)."""


@dataclass(frozen=True)
class ChatRequest:
    """One chat turn to answer with JSON that matches a schema."""

    system: str
    user: str
    max_tokens: int = 512


class StructuredChatBackend(ABC):
    """Chat generation constrained to a JSON schema (vLLM structured outputs / guided decoding)."""

    @abstractmethod
    def chat_json(
        self, requests: Sequence[ChatRequest], schema: Mapping[str, Any]
    ) -> list[dict[str, Any] | BackendError]:
        """One parsed JSON object per request, valid against ``schema``, or the ``BackendError`` that request hit."""


@dataclass(frozen=True)
class SamplingParams:
    """How to sample: the same settings mean the same thing for every backend (OpenAI / vLLM semantics)."""

    n: int = 1  # samples per request
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 256
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.n < 1 or self.max_tokens < 1:
            raise ValueError("n and max_tokens must be >= 1")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError("temperature must be >= 0 and top_p in (0, 1]")

    def as_map(self) -> dict[str, str]:
        """The settings as strings, for a record's provenance."""
        return {
            "n": str(self.n),
            "temperature": f"{self.temperature:g}",
            "top_p": f"{self.top_p:g}",
            "max_tokens": str(self.max_tokens),
            "stop": "|".join(self.stop),
        }


@dataclass(frozen=True)
class GenerationRequest:
    """One chat turn to sample from; ``seed`` makes its samples reproducible (per request, not per batch)."""

    system: str
    user: str
    seed: int = 0


@dataclass(frozen=True)
class Sample:
    """One generated completion; ``finish_reason`` is ``stop`` (end of turn / stop string) or ``length`` (cut)."""

    text: str
    finish_reason: str


class TextGenerationBackend(ABC):
    """Sampled chat generation: the interface synthetic-data recipes use (vLLM in production)."""

    name: str
    model: str

    @abstractmethod
    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: SamplingParams,
        json_schema: Mapping[str, Any] | None = None,
    ) -> list[list[Sample] | BackendError]:
        """``params.n`` samples per request, in request order, or the ``BackendError`` that request hit.

        ``json_schema`` asks the server to constrain decoding to that schema where it can (structured outputs); a
        backend that cannot ignores it, so callers parse the text either way.
        """

    @property
    def supports_structured(self) -> bool:
        """Whether ``json_schema`` is enforced while decoding."""
        return False
