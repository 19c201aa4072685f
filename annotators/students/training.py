"""Teacher labels → a student: training targets, a deterministic held-out split, and agreement on it.

Agreement is measured the way the student will be used: for education value, F1 of the binary decision "score >= 3"
(the FineWeb-Edu threshold) plus accuracy of the rounded score; for domain and safety, macro-F1 over the labels
(rare categories weigh as much as common ones) plus accuracy, next to the majority-label baseline a useless student
would reach. For safety also F1 of "unsafe" (any category but safe).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from annotators.students import fasttext_student as ft
from annotators.students.metrics import accuracy, f1_binary, macro_f1, majority_baseline
from annotators.tasks.base import LabelTask
from annotators.tasks.edu import EDU_THRESHOLD
from annotators.tasks.safety import SAFE


@dataclass(frozen=True)
class Example:
    """One labelled document: its text, the target class, and the teacher's score (edu: expected points)."""

    key: str  # content hash: decides the split, so copies of a text never straddle it
    text: str
    target: str
    score: float | None = None


def teacher_target(task: LabelTask, row: Mapping[str, Any]) -> str:
    """The class a student learns from one teacher row: the rounded expected score (edu) or the argmax label."""
    if task.name == "edu":
        return str(min(5, max(0, int(float(row["score"]) + 0.5))))
    return str(row["label"])


def in_test_split(key: str, share: float, seed: int = 0) -> bool:
    digest = hashlib.sha256(f"{seed}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def agreement(task: LabelTask, truth: Sequence[Example], predicted: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """Metrics of student distributions ``predicted`` against the teacher (or gold) ``truth``, example by example."""
    scored = [task.from_distribution(dist) for dist in predicted]
    labels = [label for label, _, _ in scored]
    targets = [ex.target for ex in truth]
    out: dict[str, Any] = {"n": len(truth), "accuracy": accuracy(targets, labels)}
    if task.name == "edu":
        teacher = [(ex.score if ex.score is not None else float(ex.target)) >= EDU_THRESHOLD for ex in truth]
        student = [score >= EDU_THRESHOLD for _, score, _ in scored]
        out["f1_at_3"] = f1_binary(teacher, student)
        out["teacher_positive_share"] = sum(teacher) / len(teacher) if teacher else 0.0
        out["student_positive_share"] = sum(student) / len(student) if student else 0.0
        out["macro_f1_rounded"] = macro_f1(targets, labels)
    else:
        out["macro_f1"] = macro_f1(targets, labels)
        if task.name == "safety":
            out["f1_unsafe"] = f1_binary([t != SAFE for t in targets], [p != SAFE for p in labels])
    return out


def fit_and_evaluate(
    task: LabelTask,
    examples: Sequence[Example],
    max_chars: int,
    label_source: str,
    params: Mapping[str, Any] | None = None,
    test_share: float = 0.2,
    seed: int = 0,
    quantize: bool = True,
) -> tuple[Any, ft.StudentInfo]:
    """Train on the examples outside the held-out split, measure agreement on it; (fastText model, sidecar info)."""
    unknown = sorted({ex.target for ex in examples} - set(task.labels))
    if unknown:
        raise ValueError(f"targets {unknown} are not labels of task {task.name}")
    test = [ex for ex in examples if in_test_split(ex.key, test_share, seed)]
    train = [ex for ex in examples if not in_test_split(ex.key, test_share, seed)]
    if not train or not test:
        raise ValueError(f"need examples on both sides of the split: {len(train)} train, {len(test)} test")
    model = ft.finish(ft.train([ex.text for ex in train], [ex.target for ex in train], max_chars, params), quantize)
    info = ft.StudentInfo(
        task=task.name,
        prompt_version=task.prompt_version,
        labels=list(task.labels),
        label_source=label_source,
        max_chars=max_chars,
        params={**ft.DEFAULT_PARAMS, **(params or {})},
        n_train=len(train),
        n_test=len(test),
    )
    predicted = _predict(model, info, [ex.text for ex in test])
    metrics = agreement(task, test, predicted)
    top, baseline = majority_baseline([ex.target for ex in train], [ex.target for ex in test])
    metrics["majority_label"] = top
    metrics["majority_macro_f1"] = baseline
    metrics["train_label_counts"] = _counts(ex.target for ex in train)
    info.metrics = metrics
    return model, info


def _counts(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def _predict(model: Any, info: ft.StudentInfo, texts: Sequence[str]) -> list[dict[str, float]]:
    student = ft.FastTextStudent("<in memory>")
    student._model, student.info = model, info
    return student.predict(texts)
