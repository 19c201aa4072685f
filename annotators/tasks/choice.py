"""Closed-choice tasks: the labels are listed as lettered options and the model answers with one letter.

Why letters: topic and category names are several tokens each, and scoring only their first token would merge
labels that share one ("software" / "software development"). The letters " A" ... " Z" after an ``Answer:`` prefix
are single tokens in the SmolLM2, Qwen and Llama 3 tokenizers, so one next-token distribution covers every option.

Why shuffled: small and large models alike favour options by position (the first, or "A"). Each document gets its own
order, seeded by the task, prompt version and the document's content hash, so the bias spreads evenly over the labels
instead of always favouring the same one, and a rerun (or a cache lookup) sees exactly the same prompt.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from annotators.tasks.base import DOCUMENT_SLOT, OPTIONS_SLOT, LabelTask, PromptTemplate

KEY_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@cache
def load_prompt(name: str) -> PromptTemplate:
    return PromptTemplate.load(name)


def option_labels(name: str) -> tuple[str, ...]:
    return tuple(str(option["label"]) for option in load_prompt(name).options)


def shuffled(labels: Sequence[str], *seed_parts: str) -> tuple[str, ...]:
    """``labels`` in an order fixed by ``seed_parts`` (sha256 of them seeds the shuffle): same parts, same order."""
    digest = hashlib.sha256("\x1f".join(seed_parts).encode("utf-8")).digest()
    order = list(labels)
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return tuple(order)


@dataclass(frozen=True)
class ChoiceTask(LabelTask):
    """Options from the prompt file, presented as ``A. text`` lines; the answer keys are ``key_prefix + letter``."""

    shuffle: bool = True
    key_prefix: str = " "  # the letter follows "Answer:" with a space, which BPE tokenizers merge into one token

    def __post_init__(self) -> None:
        super().__post_init__()
        if tuple(str(o["label"]) for o in self.prompt.options) != self.labels:
            raise ValueError(f"task {self.name}: labels must be the prompt's options, in order")
        if len(self.labels) > len(KEY_LETTERS):
            raise ValueError(f"task {self.name}: at most {len(KEY_LETTERS)} options")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.key_prefix + KEY_LETTERS[i] for i in range(len(self.labels)))

    def presented_order(self, content_hash: str) -> tuple[str, ...]:
        if not self.shuffle:
            return self.labels
        return shuffled(self.labels, self.name, self.prompt_version, content_hash)

    def options_text(self, order: Sequence[str]) -> str:
        texts = {str(o["label"]): str(o["text"]) for o in self.prompt.options}
        return "\n".join(f"{KEY_LETTERS[i]}. {texts[label]}" for i, label in enumerate(order))

    def user_text(self, text: str, order: Sequence[str] | None = None) -> str:
        # Options first: a document that happens to contain "{options}" must stay as it is.
        user = self.prompt.user.replace(OPTIONS_SLOT, self.options_text(order or self.labels))
        return user.replace(DOCUMENT_SLOT, self.excerpt(text))
