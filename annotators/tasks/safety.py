"""Content safety: Llama Guard 3-style risk categories plus ``offensive`` and ``safe`` (``prompts/safety_v1.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from annotators.tasks.base import PromptTemplate
from annotators.tasks.choice import ChoiceTask, load_prompt, option_labels

SAFETY_PROMPT = "safety_v1"
SAFETY_LABELS: tuple[str, ...] = option_labels(SAFETY_PROMPT)
SAFE = "safe"


@dataclass(frozen=True)
class SafetyTask(ChoiceTask):
    """Most likely category; score = P(unsafe) = 1 - P(safe), a risk a filter can threshold whatever the category."""

    name: str = "safety"
    prompt_version: str = "safety-v1"
    labels: tuple[str, ...] = SAFETY_LABELS
    prompt: PromptTemplate = field(default_factory=lambda: load_prompt(SAFETY_PROMPT))

    def from_distribution(self, distribution: Mapping[str, float]) -> tuple[str, float, dict[str, float]]:
        label, _, dist = super().from_distribution(distribution)
        return label, min(max(1.0 - dist[SAFE], 0.0), 1.0), dist
