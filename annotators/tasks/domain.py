"""Topic domain: 24 WebOrganizer-style topics (``prompts/domain_v1.yaml``), each in one mixture group.

The groups are the values ``curation.mixture`` stages select with ``domains`` (``stem``, ``code``; every other topic
is ``other``), so a stage can ask for "STEM or code" without knowing the taxonomy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from annotators.tasks.base import PromptTemplate
from annotators.tasks.choice import ChoiceTask, load_prompt, option_labels

DOMAIN_PROMPT = "domain_v1"
DOMAIN_LABELS: tuple[str, ...] = option_labels(DOMAIN_PROMPT)
DOMAIN_GROUPS: dict[str, str] = {str(o["label"]): str(o["group"]) for o in load_prompt(DOMAIN_PROMPT).options}
MIXTURE_GROUPS = ("stem", "code", "other")


def domain_group(label: str | None) -> str | None:
    """The mixture group of a topic label (None for None: an unlabelled or failed document has no group)."""
    return None if label is None else DOMAIN_GROUPS[label]


def group_distribution(distribution: Mapping[str, float]) -> dict[str, float]:
    """A topic distribution summed per mixture group."""
    out = dict.fromkeys(MIXTURE_GROUPS, 0.0)
    for label, p in distribution.items():
        out[DOMAIN_GROUPS[label]] += p
    return out


@dataclass(frozen=True)
class DomainTask(ChoiceTask):
    """Main topic of a document; score = probability of the top topic."""

    name: str = "domain"
    prompt_version: str = "domain-v1"
    labels: tuple[str, ...] = DOMAIN_LABELS
    prompt: PromptTemplate = field(default_factory=lambda: load_prompt(DOMAIN_PROMPT))
