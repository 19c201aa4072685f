"""Labelling tasks: a versioned prompt, a closed label set and a scoring rule over label log-probabilities."""

from annotators.tasks.base import LabelTask, PromptTemplate, annotate_batch
from annotators.tasks.choice import ChoiceTask
from annotators.tasks.domain import DomainTask
from annotators.tasks.edu import EduScoreTask
from annotators.tasks.registry import TASKS, build_task
from annotators.tasks.safety import SafetyTask

__all__ = [
    "TASKS",
    "ChoiceTask",
    "DomainTask",
    "EduScoreTask",
    "LabelTask",
    "PromptTemplate",
    "SafetyTask",
    "annotate_batch",
    "build_task",
]
