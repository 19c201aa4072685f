"""Agreement between a student and its teacher: F1 of a binary decision, macro-F1 over labels, accuracy.

Plain Python on label lists (no scikit-learn), so the numbers in a student's sidecar are reproducible anywhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence


def f1_binary(truth: Sequence[bool], predicted: Sequence[bool]) -> float:
    """F1 of the positive class; 0.0 when neither side has a positive (no agreement to measure)."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted differ in length")
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def macro_f1(truth: Sequence[str], predicted: Sequence[str], labels: Iterable[str] | None = None) -> float:
    """Mean per-label F1 over ``labels`` (default: every label either side used)."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted differ in length")
    names = sorted(set(labels) if labels is not None else set(truth) | set(predicted))
    if not names:
        return 0.0
    scores = [f1_binary([t == n for t in truth], [p == n for p in predicted]) for n in names]
    return sum(scores) / len(scores)


def accuracy(truth: Sequence[str], predicted: Sequence[str]) -> float:
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted differ in length")
    return sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth) if truth else 0.0


def majority_baseline(train: Sequence[str], test: Sequence[str]) -> tuple[str, float]:
    """The most frequent training label and the macro-F1 of always predicting it on ``test``: the floor to beat."""
    top = Counter(train).most_common(1)[0][0]
    return top, macro_f1(test, [top] * len(test))
