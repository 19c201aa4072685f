"""Educational value (0–5), the signal FineWeb-Edu-style filtering and mixing use to up- or down-weight documents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from annotators.tasks.base import LabelTask, PromptTemplate

EDU_LABELS: tuple[str, ...] = ("0", "1", "2", "3", "4", "5")
EDU_THRESHOLD = 3.0  # the FineWeb-Edu cut: a document scoring >= 3 counts as educational


@dataclass(frozen=True)
class EduScoreTask(LabelTask):
    """Additive 0–5 rubric; score = expected points under the model's distribution over the six digits."""

    name: str = "edu"
    prompt_version: str = "edu-v1"
    labels: tuple[str, ...] = EDU_LABELS
    prompt: PromptTemplate = field(default_factory=lambda: PromptTemplate.load("edu_v1"))

    def from_distribution(self, distribution: Mapping[str, float]) -> tuple[str, float, dict[str, float]]:
        """(argmax digit, expected value in [0, 5], distribution).

        The expected value keeps the model's uncertainty (a 50/50 split between 2 and 3 scores 2.5), which makes a
        smoother filtering threshold than the argmax alone.
        """
        dist = {label: float(distribution.get(label, 0.0)) for label in self.labels}
        label = max(self.labels, key=dist.__getitem__)
        expected = sum(p * int(digit) for digit, p in dist.items())
        return label, min(max(expected, 0.0), 5.0), dist
