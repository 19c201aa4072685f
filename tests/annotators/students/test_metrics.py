"""Agreement metrics on small label lists whose F1 can be worked out by hand."""

from __future__ import annotations

import pytest

from annotators.students.metrics import accuracy, f1_binary, macro_f1, majority_baseline


def test_binary_f1():
    truth = [True, True, False, False, True]
    pred = [True, False, True, False, True]  # tp 2, fp 1, fn 1 → 4 / 6
    assert f1_binary(truth, pred) == pytest.approx(2 / 3)
    assert f1_binary([False, False], [False, False]) == 0.0
    assert f1_binary(truth, truth) == 1.0


def test_macro_f1_weighs_every_label_equally():
    truth = ["a", "a", "a", "b"]
    pred = ["a", "a", "a", "a"]  # a: tp 3 fp 1 → 6/7; b: 0
    assert macro_f1(truth, pred) == pytest.approx((6 / 7 + 0) / 2)
    assert macro_f1(truth, pred, labels=["a"]) == pytest.approx(6 / 7)
    assert accuracy(truth, pred) == 0.75


def test_majority_baseline_predicts_the_commonest_training_label():
    label, score = majority_baseline(["x", "x", "y"], ["x", "y"])
    assert label == "x" and score == pytest.approx((2 / 3 + 0) / 2)


def test_lengths_must_match():
    with pytest.raises(ValueError):
        f1_binary([True], [])
    with pytest.raises(ValueError):
        macro_f1(["a"], [])
