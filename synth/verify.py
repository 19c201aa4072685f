"""Verdicts on generated samples: only checked data leaves, and every rejected sample says why.

- math: the generated solution's final answer and those of ``k`` independently sampled solutions vote
  (``synth.answers.majority_vote``); the problem is kept with a majority-agreeing solution only when the majority
  holds at least ``min_agreement`` of all answers (answerless samples count against) and at least 2 answers. A
  solution cut at ``max_tokens`` has no final answer (its last number is whatever it was writing when cut: with a
  small model, truncated restatements of the problem agreed on a wrong number), and the bare last-number fallback is
  opt-in (``allow_last_number``) for the same reason: only an explicit ``\\boxed{}`` / ``Answer:`` votes by default.
- code: the generated tests run against the generated function in ``synth.sandbox``; only a passing pair is kept.
- explanation: there is no oracle; it must be complete (not cut at ``max_tokens``), long enough, and not
  repetitive (the share of characters in repeated lines / 5-grams, the Gopher repetition statistics).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from synth.answers import checker_name, extract_answer, majority_vote
from synth.sandbox import SandboxLimits, run_python


@dataclass(frozen=True)
class Verdict:
    kept: bool
    reason: str  # "" when kept
    detail: str
    fields: dict = field(default_factory=dict)  # what the SynthRecord keeps (solution, answer, agreement ...)


@dataclass(frozen=True)
class MathSettings:
    min_agreement: float = 0.6
    min_votes: int = 2
    allow_last_number: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.min_agreement <= 1 or self.min_votes < 1:
            raise ValueError("synth.math: min_agreement in (0, 1], min_votes >= 1")


def verify_math(
    reference: str,
    samples: Sequence[str],
    settings: MathSettings | None = None,
    truncated: Sequence[bool] | None = None,
) -> Verdict:
    """``reference``: the generated solution; ``samples``: independent solutions of the same problem;
    ``truncated``: per solution (reference first), whether it was cut at ``max_tokens`` (its answer does not count)."""
    settings = settings or MathSettings()
    solutions = [reference, *samples]
    cut = list(truncated) if truncated is not None else [False] * len(solutions)
    if len(cut) != len(solutions):
        raise ValueError(f"truncated: one flag per solution ({len(solutions)}), got {len(cut)}")
    extracted = [
        None if c else extract_answer(s, settings.allow_last_number) for s, c in zip(solutions, cut, strict=True)
    ]
    answers = [e.value if e else None for e in extracted]
    shown = ", ".join("cut" if c else "-" if a is None else repr(a[:30]) for a, c in zip(answers, cut, strict=True))
    if all(a is None for a in answers):
        return Verdict(False, "no_final_answer", f"no final answer in any of {len(solutions)} solutions")
    vote = majority_vote(answers)
    detail = f"answers [{shown}]; majority {vote.answer!r} {len(vote.members)}/{vote.n_samples} ({checker_name()})"
    if len(vote.members) < settings.min_votes or vote.agreement < settings.min_agreement:
        return Verdict(
            False, "answers_disagree", f"{detail} < {settings.min_agreement:g} or fewer than {settings.min_votes}"
        )
    kept = vote.members[0]
    return Verdict(
        True,
        "",
        detail,
        {
            "solution": solutions[kept],
            "answer": vote.answer,
            "agreement": vote.agreement,
            "n_votes": vote.n_samples,
            "meta": {"kept_solution": "reference" if kept == 0 else f"sample_{kept}", "checker": checker_name()},
        },
    )


def verify_code(function: str, tests: str, limits: SandboxLimits | None = None) -> Verdict:
    result = run_python(function, tests, limits)
    meta = {
        "sandbox_isolation": result.isolation,
        "sandbox_seccomp": str(result.seccomp).lower(),
        "sandbox_network": result.network,
        "sandbox_wall_s": f"{result.wall_s:.3f}",
    }
    if not result.passed:
        detail = result.detail or result.stderr[-300:]
        return Verdict(False, result.reason, detail[:1000], {"meta": meta})
    return Verdict(True, "", f"tests passed ({result.tests_run} test functions)", {"meta": meta})


@dataclass(frozen=True)
class ExplanationSettings:
    min_chars: int = 300
    max_repeated_share: float = 0.3


def repeated_share(text: str) -> float:
    """The larger of: the share of characters in duplicated lines, and in duplicated word 5-grams."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    counts = Counter(lines)
    total = sum(len(line) for line in lines) or 1
    dup_lines = sum(len(line) for line in lines if counts[line] > 1) / total
    words = text.split()
    grams = [" ".join(words[i : i + 5]) for i in range(len(words) - 4)]
    gram_counts = Counter(grams)
    covered = [False] * len(words)
    for i, gram in enumerate(grams):
        if gram_counts[gram] > 1:
            for j in range(i, i + 5):
                covered[j] = True
    word_chars = sum(len(w) for w in words) or 1
    dup_grams = sum(len(w) for w, c in zip(words, covered, strict=True) if c) / word_chars
    return max(dup_lines, dup_grams)


def verify_explanation(text: str, finish_reason: str, settings: ExplanationSettings | None = None) -> Verdict:
    settings = settings or ExplanationSettings()
    if finish_reason == "length":
        return Verdict(False, "truncated", f"cut at max_tokens after {len(text)} chars")
    if len(text.strip()) < settings.min_chars:
        return Verdict(False, "too_short", f"{len(text.strip())} chars < {settings.min_chars}")
    share = repeated_share(text)
    if share > settings.max_repeated_share:
        return Verdict(False, "repetitive", f"repeated share {share:.2f} > {settings.max_repeated_share}")
    return Verdict(True, "", f"{len(text)} chars, repeated share {share:.2f}")
