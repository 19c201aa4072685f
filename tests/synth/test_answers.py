"""Final-answer extraction and equivalence (math-verify), and the majority vote that keeps a math sample."""

from __future__ import annotations

import pytest

from synth.answers import equivalent, extract_answer, majority_vote
from synth.verify import MathSettings, verify_math


@pytest.mark.parametrize(
    ("text", "value", "method"),
    [
        ("so x = \\boxed{\\frac{1}{2}} in the end", "\\frac{1}{2}", "boxed"),
        ("first \\boxed{3}, corrected: \\boxed{\\sqrt{2}+1}", "\\sqrt{2}+1", "boxed"),
        ("Step 1: 3+4=7.\nAnswer: 7 apples.", "7 apples", "marker"),
        ("The final answer is $12$.", "12", "marker"),
        ("we get 3, and then 1,250 in total", "1250", "last_number"),
    ],
)
def test_extraction_prefers_boxed_then_marker_then_last_number(text, value, method):
    found = extract_answer(text)
    assert found is not None and (found.value, found.method) == (value, method)


def test_no_answer_and_no_last_number_fallback():
    assert extract_answer("I cannot solve this.") is None
    assert extract_answer("we get 3 and then 17", allow_last_number=False) is None


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("42", "42.0", True),
        ("\\frac{1}{2}", "0.5", True),
        ("1/2", "\\frac12", True),
        ("2\\sqrt{2}", "\\sqrt{8}", True),
        ("x = 3", "3", True),
        ("1,000", "1000", True),
        ("3", "4", False),
        ("\\frac{1}{3}", "0.33", False),
        ("x^2", "2x", False),
    ],
)
def test_equivalence(a, b, same):
    assert equivalent(a, b) is same


def test_majority_vote_counts_answerless_samples_against_agreement():
    vote = majority_vote(["7", None, "7.0", "8"])
    assert vote.answer == "7" and vote.members == (0, 2) and vote.agreement == 0.5


def test_verify_math_keeps_agreeing_and_rejects_with_reasons():
    kept = verify_math("3 + 4 = 7.\nAnswer: 7", ["Answer: 7.0", "\\boxed{7}", "Answer: 8"])
    assert kept.kept and kept.fields["answer"] == "7" and kept.fields["agreement"] == 0.75
    assert kept.fields["meta"]["kept_solution"] == "reference"
    # the reference is in the minority: a majority-agreeing sampled solution is kept instead
    other = verify_math("Answer: 9", ["Answer: 7", "so \\boxed{7}", "Answer: 7"])
    assert (
        other.kept and other.fields["solution"] == "Answer: 7" and other.fields["meta"]["kept_solution"] == "sample_1"
    )
    split = verify_math("Answer: 1", ["Answer: 2", "Answer: 3"])
    assert (split.kept, split.reason) == (False, "answers_disagree") and "'1'" in split.detail
    none = verify_math("no idea", ["none", "nothing at all"])
    assert (none.kept, none.reason) == (False, "no_final_answer")
    strict = verify_math("Answer: 5", ["Answer: 5", "Answer: 6"], MathSettings(min_agreement=0.8))
    assert strict.reason == "answers_disagree"


def test_truncated_solutions_and_bare_numbers_do_not_vote():
    # cut at max_tokens mid-restatement: "4" is a number from the problem, not an answer
    cut = ["Tom has 3 apples and buys 4", "He buys 4", "Answer: 7"]
    assert verify_math("Answer: 9999", cut).reason == "answers_disagree"  # bare "4"s no longer vote by default
    loose = MathSettings(allow_last_number=True)
    assert "majority '4' 2/4" in verify_math("Answer: 9999", cut, loose).detail  # the opt-in fallback counts them
    verdict = verify_math("Answer: 9999", cut, loose, truncated=[False, True, True, False])
    assert verdict.reason == "answers_disagree" and "cut" in verdict.detail
    with pytest.raises(ValueError, match="one flag per solution"):
        verify_math("Answer: 1", ["Answer: 1"], truncated=[False])
