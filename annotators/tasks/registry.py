"""Task names → task objects, as the ``annotate`` config refers to them."""

from __future__ import annotations

from collections.abc import Callable

from annotators.tasks.base import LabelTask
from annotators.tasks.domain import DomainTask
from annotators.tasks.edu import EduScoreTask
from annotators.tasks.safety import SafetyTask

TASKS: dict[str, Callable[..., LabelTask]] = {"edu": EduScoreTask, "domain": DomainTask, "safety": SafetyTask}


def build_task(name: str, max_doc_chars: int = 1500) -> LabelTask:
    if name not in TASKS:
        raise ValueError(f"unknown annotation task {name!r}; known: {sorted(TASKS)}")
    return TASKS[name](max_doc_chars=max_doc_chars)
