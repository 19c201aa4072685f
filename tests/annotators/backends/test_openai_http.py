"""The HTTP backend against a REAL OpenAI-compatible server: llama-cpp-python's, serving the bundled SmolLM2 GGUF.

The same GGUF runs in the transformers backend (de-quantised to float32) and in llama.cpp (Q4_1 kernels), so the two
give close but not identical log-probabilities: the comparison allows for that. Skipped, with the reason, when
``CURATION_LLAMA_SERVER_PYTHON`` is not set (see ``tests/annotators/llama_server.py``).
"""

from __future__ import annotations

import math

import pytest

from annotators.backends.base import BackendError, ChatRequest
from annotators.backends.openai_http import OpenAIHTTPBackend
from annotators.tasks import DomainTask, EduScoreTask, SafetyTask, annotate_batch
from schemas import ANNOTATION, validate_record
from tests.annotators.llama_server import ALIAS, llama_server
from tests.annotators.texts import MIXTURE, faq, faq_permission_notice, faq_section

pytestmark = [pytest.mark.slow, pytest.mark.llama_server]
DIGITS = ["0", "1", "2", "3", "4", "5"]


@pytest.fixture(scope="module")
def server():
    with llama_server() as base_url:
        yield base_url


@pytest.fixture(scope="module")
def http(server):
    b = OpenAIHTTPBackend(server, model=ALIAS, chat_template="chatml", concurrency=4, timeout_s=120.0)
    yield b
    b.close()


@pytest.fixture(scope="module")
def docs() -> list[dict[str, str]]:
    texts = {
        "faq-linux": faq_section("what is Linux?!", 500),
        "faq-licence": faq_permission_notice(),
        "faq-contents": faq()[faq().index("Table of Contents") :][:400],
        "ls-ru": (MIXTURE / "ls.1.ru.txt").read_text(encoding="utf-8")[:400],
    }
    return [{"id": k, "content_hash": f"hash-{k}", "text": v} for k, v in texts.items()]


def test_chatml_rendering_is_the_models_own_template(http, backend):
    """The prompt the HTTP backend sends is byte for byte what the tokenizer's chat template renders."""
    for system, user, prefix in [("You rate texts.", "Rate: hello", "Score: "), ("S", "two\nlines", "Answer:")]:
        assert http.chat_prompt(system, user, prefix) == backend.chat_prompt(system, user, prefix)


def test_next_token_logprobs_match_the_local_backend_on_the_same_gguf(http, backend, docs):
    task = EduScoreTask(max_doc_chars=500)
    prompts = [task.build_prompt(d["text"], http) for d in docs]
    remote = http.label_logprobs(prompts, DIGITS)
    local = backend.label_logprobs(prompts, DIGITS)
    for r, loc in zip(remote, local, strict=True):
        assert isinstance(r, dict) and set(r) == set(DIGITS)
        assert all(v <= 0.0 for v in r.values()) and any(math.isfinite(v) for v in r.values())
        p_remote = task.score(r)[2]
        p_local = task.score(loc)[2]
        # Q4_1 kernels vs de-quantised float32: close distributions (total variation), not equal ones.
        tv = 0.5 * sum(abs(p_remote[d] - p_local[d]) for d in DIGITS)
        assert tv < 0.15, (p_remote, p_local)


def test_results_do_not_depend_on_concurrency(server, http, docs):
    task = EduScoreTask(max_doc_chars=300)
    prompts = [task.build_prompt(d["text"], http) for d in docs]
    serial = OpenAIHTTPBackend(server, model=ALIAS, concurrency=1, timeout_s=120.0)
    try:
        one = serial.label_logprobs(prompts, DIGITS)
    finally:
        serial.close()
    many = http.label_logprobs(prompts, DIGITS)
    for a, b in zip(one, many, strict=True):
        assert a == pytest.approx(b, abs=1e-3)


@pytest.mark.parametrize(
    "task", [EduScoreTask(max_doc_chars=400), DomainTask(max_doc_chars=400), SafetyTask(max_doc_chars=300)]
)
def test_every_task_gives_valid_rows_over_http(http, docs, task):
    rows = annotate_batch(task, http, docs)
    assert [r["id"] for r in rows] == [d["id"] for d in docs]
    for row in rows:
        assert validate_record(row, ANNOTATION) == row
        assert row["status"] == "ok", row["error"]
        assert (row["task"], row["backend"], row["model"]) == (task.name, "openai-http", ALIAS)
        assert row["prompt_version"] == task.prompt_version
        dist = row["distribution"]
        assert set(dist) == set(task.labels) and sum(dist.values()) == pytest.approx(1.0)
        assert row["label"] == max(dist, key=dist.__getitem__)


def test_shuffled_options_move_the_answer_with_the_letter(http, docs):
    """The same document under two option orders: the label distribution is computed through each order."""
    task = DomainTask(max_doc_chars=300)
    doc = docs[0]
    a, b = task.presented_order("order-1"), task.presented_order("order-2")
    assert a != b
    prompts = [task.build_prompt(doc["text"], http, order) for order in (a, b)]
    res_a, res_b = http.label_logprobs(prompts, task.keys)
    dist_a = task.score(task.by_label(res_a, a))[2]
    dist_b = task.score(task.by_label(res_b, b))[2]
    assert set(dist_a) == set(dist_b) == set(task.labels)
    assert dist_a != pytest.approx(dist_b)  # the order changes what a small model answers: why it is shuffled


def test_structured_chat_generation_follows_the_schema(server):
    """llama-cpp-python takes the schema as ``response_format: {type: json_object, schema}`` (vLLM: json_schema).

    Its grammar enforces structure and enums but not numeric bounds (it answered ``"difficulty": 10`` to a
    ``maximum: 3``), which is why the backend checks every answer against the schema itself.
    """
    http = OpenAIHTTPBackend(server, model=ALIAS, structured_style="json_object", timeout_s=120.0)
    schema = {
        "type": "object",
        "properties": {
            "topic": {"type": "string", "enum": ["linux", "cooking", "sports"]},
            "difficulty": {"type": "string", "enum": ["easy", "medium", "hard"]},
        },
        "required": ["topic", "difficulty"],
        "additionalProperties": False,
    }
    requests = [
        ChatRequest("You classify questions.", "How do I list files in a directory with ls?", max_tokens=64),
        ChatRequest("You classify questions.", "How long should I boil an egg?", max_tokens=64),
    ]
    answers = http.chat_json(requests, schema)
    http.close()
    for answer in answers:
        assert not isinstance(answer, BackendError), answer
        assert answer["topic"] in {"linux", "cooking", "sports"} and answer["difficulty"] in {"easy", "medium", "hard"}
