"""The one interface every annotator backend implements: label log-probabilities for the next token.

Scoring from next-token log-probabilities (rather than parsing generated text) gives a full distribution over the
labels in one forward pass, is deterministic, and cannot fail on malformed prose. A local transformers model and an
OpenAI-compatible HTTP server (vLLM, ``logprobs``/``top_logprobs``) can both provide it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class BackendError(RuntimeError):
    """A failure of one backend call (a batch); the task turns it into ``status="failed"`` annotation rows."""


class LogprobBackend(ABC):
    """Returns, for each prompt, the log-probability of each label as the next token after the prompt."""

    name: str  # backend kind recorded in annotations: "transformers" | "openai-http"
    model: str  # model identifier recorded in annotations, e.g. "smollm2-135m-instruct"

    @abstractmethod
    def label_logprobs(self, prompts: Sequence[str], labels: Sequence[str]) -> list[dict[str, float]]:
        """One ``{label: log p(label | prompt)}`` dict per prompt, in prompt order.

        Each label must map to exactly one token of the model's vocabulary; a label that does not raises
        ``ValueError`` (a configuration error, found on the first call). The values are log-probabilities over the
        whole vocabulary, so they are <= 0 and their exponentials sum to the probability mass on the labels (< 1).
        """

    @abstractmethod
    def chat_prompt(self, system: str, user: str, assistant_prefix: str = "") -> str:
        """Render one system + user turn with the model's chat template, opening the assistant turn.

        ``assistant_prefix`` is appended verbatim after the assistant header, so that the label is the very next
        token (e.g. ``"Educational score: "`` before a digit).
        """
