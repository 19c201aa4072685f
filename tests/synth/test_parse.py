"""Parsing generated completions (prose in the recipe's format, or JSON from structured outputs)."""

from __future__ import annotations

import pytest

from synth.parse import ParseError, parse_code, parse_math

FENCE = "`" * 3


def test_math_prose_and_json():
    item = parse_math("Problem: Tom has 3 apples and buys 4 more. How many now?\nSolution: 3 + 4 = 7\nAnswer: 7")
    assert item.problem.startswith("Tom has 3") and item.solution.endswith("Answer: 7")
    item = parse_math('{"problem": "A train runs 60 km per hour for 2 hours.", "solution": "60*2", "answer": "120"}')
    assert item.solution == "60*2\nAnswer: 120"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Here is a nice problem about apples. The answer is 7.", "no_solution"),
        ("Problem: 2+2\nSolution: 4", "no_problem"),
    ],
)
def test_math_rejections(text, reason):
    with pytest.raises(ParseError) as err:
        parse_math(text)
    assert err.value.reason == reason


def test_code_two_blocks_one_block_and_json():
    function = f"{FENCE}python\ndef add(a, b):\n    return a + b\n{FENCE}"
    text = f"Task: add\n{function}\n{FENCE}python\nassert add(1, 2) == 3\n{FENCE}"
    item = parse_code(text)
    assert (item.task, item.function.splitlines()[0], item.tests) == ("add", "def add(a, b):", "assert add(1, 2) == 3")
    one = parse_code(f"{FENCE}python\ndef f(x):\n    return x\n\nassert f(1) == 1\n{FENCE}")
    assert one.function.strip() == "def f(x):\n    return x" and one.tests == "assert f(1) == 1"
    js = parse_code('{"task": "t", "function": "def g():\\n    return 1", "tests": "assert g() == 1"}')
    assert js.tests == "assert g() == 1"


@pytest.mark.parametrize(
    ("text", "reason"),
    [("Just prose, no code.", "no_code"), (f"{FENCE}python\ndef f():\n    return 1\n{FENCE}", "no_tests")],
)
def test_code_rejections(text, reason):
    with pytest.raises(ParseError) as err:
        parse_code(text)
    assert err.value.reason == reason
