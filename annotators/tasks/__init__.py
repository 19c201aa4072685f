"""Labelling tasks: a versioned prompt, a closed label set and a scoring rule over label log-probabilities."""

from annotators.tasks.base import LabelTask, PromptTemplate, annotate_batch
from annotators.tasks.edu import EduScoreTask

__all__ = ["EduScoreTask", "LabelTask", "PromptTemplate", "annotate_batch"]
