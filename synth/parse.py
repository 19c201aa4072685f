"""Turn a generated completion into the parts a recipe needs, or say why it cannot be used.

Completions arrive as prose in the recipe's format (a local model cannot be forced into JSON) or as a JSON object
(servers with structured outputs); both are accepted. A failed parse is a ``ParseError`` whose ``reason`` becomes
the sample's rejection reason.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass


class ParseError(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _json_object(text: str) -> dict | None:
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class MathItem:
    problem: str
    solution: str  # the generated (reference) solution, final answer included


_MARK = r"(?im)^[ \t]*[*#]*[ \t]*{}[ \t]*[*#]*[ \t]*[:.][ \t]*[*]*"  # [ \t], not \s: no backtracking over blank lines


def parse_math(text: str) -> MathItem:
    """``Problem: ... Solution: ... Answer: ...`` (or JSON ``problem``/``solution``/``answer``)."""
    obj = _json_object(text)
    if obj is not None:
        problem, solution = str(obj.get("problem", "")).strip(), str(obj.get("solution", "")).strip()
        answer = str(obj.get("answer", "")).strip()
        if answer:
            solution = f"{solution}\nAnswer: {answer}"
    else:
        p = re.search(_MARK.format("problem"), text)
        s = re.search(_MARK.format("solution"), text)
        if s is None:
            raise ParseError("no_solution", "no 'Solution:' section")
        start = p.end() if p is not None and p.start() < s.start() else 0
        problem, solution = text[start : s.start()].strip(), text[s.end() :].strip()
    if len(problem) < 20:
        raise ParseError("no_problem", f"problem too short: {problem[:80]!r}")
    if not solution:
        raise ParseError("no_solution", "empty solution")
    return MathItem(problem, solution)


@dataclass(frozen=True)
class CodeItem:
    task: str
    function: str
    tests: str


_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


def _split_tests(code: str) -> tuple[str, str]:
    """One block with both: top-level ``assert`` statements and ``test*`` functions are the tests."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, RecursionError, MemoryError):  # the last two: nesting deeper than the parser's stack
        lines = code.splitlines()
        cut = next((i for i, line in enumerate(lines) if line.startswith("assert")), len(lines))
        return "\n".join(lines[:cut]), "\n".join(lines[cut:])
    lines = code.splitlines()
    first_test = None
    for node in tree.body:
        if isinstance(node, ast.Assert) or (isinstance(node, ast.FunctionDef) and node.name.startswith("test")):
            first_test = node.lineno - 1
            break
    if first_test is None:
        return code, ""
    return "\n".join(lines[:first_test]), "\n".join(lines[first_test:])


def parse_code(text: str) -> CodeItem:
    """A task line, a fenced function and fenced asserts (or JSON ``task``/``function``/``tests``)."""
    obj = _json_object(text)
    if obj is not None:
        task, function, tests = (str(obj.get(k, "")).strip() for k in ("task", "function", "tests"))
    else:
        task_match = re.search(r"(?im)^[ \t]*task[ \t]*:\s*(.+)$", text)
        task = task_match.group(1).strip() if task_match else ""
        blocks = [b.strip("\n") for b in _FENCE.findall(text) if b.strip()]
        defining = [b for b in blocks if re.search(r"(?m)^[ \t]*def \w+", b)]
        if not defining:
            raise ParseError("no_code", "no fenced Python block defining a function")
        function = defining[0]
        later = blocks[blocks.index(function) + 1 :]
        tests = next((b for b in later if "assert" in b), "")
        if not tests:
            function, tests = _split_tests(function)
    if not re.search(r"(?m)^[ \t]*def \w+", function):
        raise ParseError("no_code", "the solution defines no function")
    if "assert" not in tests:
        raise ParseError("no_tests", "no assert statements")
    return CodeItem(task, function, tests)
