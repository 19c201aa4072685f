"""The educational-value task: its scoring rule, its prompt, and real annotations by SmolLM2-135M-Instruct.

The 135M model is far too small to rank documents reliably (it spreads its mass almost evenly over the six digits),
so these tests check the shape and arithmetic of its answers, not their judgement.
"""

from __future__ import annotations

import math

import pytest

from annotators.tasks import EduScoreTask, annotate_batch
from annotators.tasks.base import truncate_at_whitespace
from annotators.tasks.edu import EDU_LABELS
from schemas import ANNOTATION, validate_record
from tests.annotators.texts import faq, faq_permission_notice, faq_section

NEG = -math.inf


def test_defaults_match_the_shipped_prompt():
    task = EduScoreTask()
    assert (task.name, task.prompt_version, task.prompt.version) == ("edu", "edu-v1", "edu-v1")
    assert task.labels == EDU_LABELS == tuple(str(d) for d in range(6))


def test_score_is_the_expected_number_of_points():
    task = EduScoreTask()
    half = math.log(0.5)
    label, score, dist = task.score({"0": NEG, "1": NEG, "2": half, "3": half, "4": NEG, "5": NEG})
    assert score == pytest.approx(2.5)  # between the two digits the model hesitates over
    assert label == "2"  # a tie goes to the first label
    assert dist == pytest.approx({"0": 0, "1": 0, "2": 0.5, "3": 0.5, "4": 0, "5": 0})
    for digit in EDU_LABELS:
        certain = {d: (0.0 if d == digit else NEG) for d in EDU_LABELS}
        assert task.score(certain)[:2] == (digit, float(digit))


def test_score_ignores_the_mass_outside_the_digits():
    task = EduScoreTask()
    logprobs = {d: math.log(p) for d, p in zip(EDU_LABELS, (0.01, 0.02, 0.03, 0.2, 0.1, 0.04), strict=True)}
    label, score, dist = task.score(logprobs)
    total = 0.4
    assert label == "3"
    assert dist["3"] == pytest.approx(0.2 / total)
    assert score == pytest.approx((0.02 + 2 * 0.03 + 3 * 0.2 + 4 * 0.1 + 5 * 0.04) / total)
    assert task.score({d: v - 20.0 for d, v in logprobs.items()})[1] == pytest.approx(score)


@pytest.mark.slow
def test_the_prompt_holds_the_truncated_document_and_ends_with_the_answer_prefix(backend):
    task = EduScoreTask(max_doc_chars=400)
    text = faq_section("What is Debian GNU/Linux?", 2000)
    prompt = task.build_prompt(text, backend)
    excerpt = truncate_at_whitespace(text, 400)
    assert f'"""\n{excerpt}\n"""' in prompt
    assert text[len(excerpt) : len(excerpt) + 40].strip() not in prompt
    assert prompt.startswith("<|im_start|>system\n" + task.prompt.system)
    assert prompt.endswith("<|im_start|>assistant\nEducational score: ")


@pytest.fixture(scope="module")
def docs() -> list[dict[str, str]]:
    table_of_contents = faq()[faq().index("Table of Contents") :][:500]
    texts = {
        "faq-linux": faq_section("what is Linux?!", 600),  # an encyclopedia-like explanation
        "faq-licence": faq_permission_notice(),  # legal boilerplate
        "faq-contents": table_of_contents,  # numbered navigation list
    }
    return [{"id": k, "content_hash": f"hash-{k}", "text": v} for k, v in texts.items()]


@pytest.fixture(scope="module")
def rows(backend, docs) -> list[dict[str, object]]:
    return annotate_batch(EduScoreTask(max_doc_chars=600), backend, docs)


@pytest.mark.slow
def test_real_documents_get_valid_edu_annotations(docs, rows):
    assert [row["id"] for row in rows] == [doc["id"] for doc in docs]
    for row in rows:
        assert validate_record(row, ANNOTATION) == row
        assert row["status"] == "ok" and row["error"] is None
        assert (row["task"], row["prompt_version"], row["backend"]) == ("edu", "edu-v1", "transformers")
        dist = row["distribution"]
        assert list(dist) == list(EDU_LABELS)
        assert sum(dist.values()) == pytest.approx(1.0)
        assert all(0.0 <= p <= 1.0 for p in dist.values())
        assert row["label"] == max(dist, key=dist.__getitem__)
        assert 0.0 <= row["score"] <= 5.0
        assert row["score"] == pytest.approx(sum(int(d) * p for d, p in dist.items()))


@pytest.mark.slow
def test_different_documents_get_different_distributions(rows):
    dists = [row["distribution"] for row in rows]
    assert dists[0] != pytest.approx(dists[1], abs=1e-4)
    assert dists[0] != pytest.approx(dists[2], abs=1e-4)
