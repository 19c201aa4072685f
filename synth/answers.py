"""Final answers of math solutions: extraction from prose and equivalence under a real checker.

Extraction tries, in order, the last ``\\boxed{...}`` (balanced braces), the last "Answer:" / "final answer is"
marker, and (optionally) the last number in the text; it reports which rule fired, so a caller can refuse the
weaker ones. Equivalence uses Hugging Face's ``math-verify`` (LaTeX and plain expressions parsed to sympy, numbers
compared to 6 decimals, ``x = 3`` equal to ``3``); without it, a sympy fallback compares numbers and simplified
expressions, and as a last resort the normalised strings.

``math-verify`` bounds its sympy work with ``signal.alarm``, which only works in a process's main thread; Beam runs
DoFns in worker threads, so there the alarms are off and inputs are length-capped instead (``MAX_ANSWER_CHARS``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_ANSWER_CHARS = 120
_ANSWER_MARKERS = re.compile(
    r"(?:final answer|answer)\s*(?:is|:|=)\s*(?P<rest>[^\n]*)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_TRAILING = " \t.;,:!$*`\"'"

for _name in ("math_verify", "math_verify.grader", "math_verify.parser", "math_verify.utils"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@dataclass(frozen=True)
class ExtractedAnswer:
    value: str  # the answer text, as written (LaTeX allowed)
    method: str  # boxed | marker | last_number


def _boxed_contents(text: str) -> list[str]:
    """Contents of every ``\\boxed{...}`` / ``\\fbox{...}``, braces balanced."""
    out = []
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    out.append(text[start:i])
                    break
    return out


def _clean(value: str) -> str:
    value = value.strip().strip(_TRAILING).strip()
    value = re.sub(r"^\\\(|\\\)$", "", value).strip()
    return value


def extract_answer(text: str, allow_last_number: bool = True) -> ExtractedAnswer | None:
    """The final answer of a solution, or None when it states none."""
    boxed = [b for b in _boxed_contents(text) if b.strip()]
    if boxed:
        return ExtractedAnswer(_clean(boxed[-1]), "boxed")
    markers = [m.group("rest") for m in _ANSWER_MARKERS.finditer(text)]
    for rest in reversed(markers):
        rest = _clean(rest)
        if rest and any(ch.isalnum() for ch in rest):
            return ExtractedAnswer(rest[:MAX_ANSWER_CHARS], "marker")
    if allow_last_number:
        numbers = _NUMBER.findall(text)
        if numbers:
            return ExtractedAnswer(numbers[-1].replace(",", ""), "last_number")
    return None


# ------------------------------------------------------------------------------------------------- equivalence


@lru_cache(maxsize=1)
def _math_verify() -> Any:
    try:
        import math_verify
    except ImportError:  # pragma: no cover - math-verify is a core dependency; the fallback serves stripped installs
        return None
    return math_verify


def checker_name() -> str:
    return "math-verify" if _math_verify() is not None else "sympy-fallback"


def _timeouts() -> int | None:
    return 5 if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=4096)
def _parsed(value: str) -> tuple:
    mv = _math_verify()
    config = [mv.LatexExtractionConfig(), mv.ExprExtractionConfig()]
    timeout = _timeouts()
    for text in (f"${value}$", value):
        try:
            parsed = mv.parse(text, extraction_config=config, parsing_timeout=timeout)
        except Exception:  # a parser crash on odd input means "unparsed", not a failed run
            parsed = []
        if parsed:
            return tuple(parsed)
    return ()


def _normalised_string(value: str) -> str:
    value = re.sub(r"\\(?:text|mathrm|mbox)\{([^}]*)\}", r"\1", value)
    value = re.sub(r"\\[,!;: ]|\$|\\left|\\right", "", value)
    return re.sub(r"\s+", "", value).lower().rstrip(".")


def _sympy_equal(a: str, b: str) -> bool | None:
    """sympy's verdict on two plain expressions, or None when either does not parse."""
    try:
        import sympy
        from sympy.parsing.sympy_parser import (
            implicit_multiplication_application,
            parse_expr,
            standard_transformations,
        )

        transformations = (*standard_transformations, implicit_multiplication_application)

        def to_expr(value: str):
            value = value.replace(",", "").replace("^", "**").split("=")[-1]
            return parse_expr(value, transformations=transformations, evaluate=True)

        ea, eb = to_expr(a), to_expr(b)
        diff = sympy.simplify(ea - eb)
        return bool(diff == 0 or (diff.is_number and abs(float(diff)) < 1e-6))
    except Exception:
        return None


def equivalent(a: str, b: str) -> bool:
    """Whether two final answers denote the same value (``0.5`` ≡ ``\\frac{1}{2}``, ``x=3`` ≡ ``3``)."""
    a, b = a[:MAX_ANSWER_CHARS], b[:MAX_ANSWER_CHARS]
    if _normalised_string(a) == _normalised_string(b):
        return True
    mv = _math_verify()
    if mv is not None:
        pa, pb = _parsed(a), _parsed(b)
        if pa and pb:
            try:
                return bool(mv.verify(list(pa), list(pb), timeout_seconds=_timeouts()))
            except Exception:
                return False
    verdict = _sympy_equal(a, b)
    return bool(verdict)


# ------------------------------------------------------------------------------------------------ majority vote


@dataclass(frozen=True)
class Vote:
    """The largest class of mutually equivalent answers among the samples."""

    answer: str | None  # a representative answer of the majority class (the first one seen)
    members: tuple[int, ...]  # indices of the samples in it
    n_answers: int  # samples that stated an answer
    n_samples: int

    @property
    def agreement(self) -> float:
        """Share of ALL samples (answerless ones count against) that agree with the majority answer."""
        return len(self.members) / self.n_samples if self.n_samples else 0.0


def majority_vote(answers: Sequence[str | None]) -> Vote:
    """Group answers into equivalence classes (greedy, against each class's first member); the largest wins.

    Ties go to the class seen first, so the reference solution (sample 0 by convention) wins a tie.
    """
    classes: list[tuple[str, list[int]]] = []
    for i, answer in enumerate(answers):
        if answer is None:
            continue
        for representative, members in classes:
            if equivalent(representative, answer):
                members.append(i)
                break
        else:
            classes.append((answer, [i]))
    n_answers = sum(a is not None for a in answers)
    if not classes:
        return Vote(None, (), 0, len(answers))
    best = max(classes, key=lambda c: len(c[1]))  # max keeps the first of equal classes
    return Vote(best[0], tuple(best[1]), n_answers, len(answers))
