"""Math verification with answers sampled from the real SmolLM2-135M, not hand-written ones.

The end-to-end synth test rarely reaches the vote (the 135M model seldom writes a parsable problem); here the
problem is given and only the verifying solutions are sampled, through the recipe's own verification prompt, so
the vote runs on real model output. The reference solution is deliberately wrong: whatever the small model
writes, the verdict must never keep that solution, and a kept verdict must rest on real agreeing answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from synth.answers import extract_answer
from synth.recipe import derive_seed, load_recipe
from synth.verify import MathSettings, verify_math

pytestmark = pytest.mark.slow
PROBLEMS = {
    "apples": "Tom has 3 apples and buys 4 more. How many apples does he have now?",
    "pens": "A box holds 10 pens. How many pens are in 2 boxes?",
}
WRONG_REFERENCE = "Problem solved by guessing.\nAnswer: 9999"


@pytest.fixture(scope="module")
def backend() -> Iterator[Any]:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    from annotators.backends.transformers_local import TransformersBackend

    threads = torch.get_num_threads()
    yield TransformersBackend("smollm2-135m-instruct", device="cpu", batch_size=8, torch_threads=1)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def sampled(backend) -> dict[str, list[Any]]:
    recipe = load_recipe("math")
    params = replace(recipe.verify_sampling, n=4, max_tokens=64)
    requests = [recipe.verify_request(problem, derive_seed(0, "verify", key)) for key, problem in PROBLEMS.items()]
    results = backend.generate(requests, params)
    assert all(not isinstance(r, Exception) for r in results), results
    return dict(zip(PROBLEMS, results, strict=True))


def test_the_vote_runs_on_real_samples_and_never_keeps_the_wrong_reference(sampled):
    for key, samples in sampled.items():
        texts = [s.text for s in samples]
        assert len(texts) == 4 and all(isinstance(t, str) for t in texts)
        cut = [False] + [s.finish_reason == "length" for s in samples]
        verdict = verify_math(WRONG_REFERENCE, texts, MathSettings(min_agreement=0.6, min_votes=2), truncated=cut)
        print(key, verdict.reason or "kept", verdict.detail)
        assert verdict.reason in ("", "answers_disagree", "no_final_answer"), (key, verdict)
        if verdict.kept:
            assert verdict.fields["solution"] != WRONG_REFERENCE, (key, verdict.detail)
            assert verdict.fields["meta"]["kept_solution"].startswith("sample_")
            complete = [s.text for s in samples if s.finish_reason != "length"]
            agreeing = [t for t in complete if (a := extract_answer(t, False)) and a.value == verdict.fields["answer"]]
            assert len(agreeing) >= 2, (key, verdict.detail)
        else:
            assert "9999" in verdict.detail or verdict.reason == "no_final_answer", verdict.detail


def test_the_same_seed_samples_the_same_solutions(backend, sampled):
    recipe = load_recipe("math")
    params = replace(recipe.verify_sampling, n=4, max_tokens=64)
    again = backend.generate([recipe.verify_request(PROBLEMS["pens"], derive_seed(0, "verify", "pens"))], params)
    assert [s.text for s in again[0]] == [s.text for s in sampled["pens"]]
