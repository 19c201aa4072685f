"""Faults of the HTTP backend a real server cannot show on demand (hangs, 503 bursts, throttling, bad answers),
against the FAKE server in ``fake_openai_server.py``. Real-server behaviour: ``test_openai_http.py``."""

from __future__ import annotations

import math
import pickle
import random

import pytest

from annotators.backends.base import BackendError, ChatRequest
from annotators.backends.openai_http import OpenAIHTTPBackend, RetryPolicy, next_token_top_logprobs
from annotators.tasks.base import LabelTask, PromptTemplate, annotate_batch
from schemas import ANNOTATION, validate_record
from tests.annotators.backends.fake_openai_server import CHAT_ANSWER, TOP_LOGPROBS, FakeOpenAIServer

LABELS = [" A", " B", " C"]
FAST_RETRY = RetryPolicy(max_retries=3, base_s=0.01, max_s=0.05)
SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "points": {"type": "integer", "minimum": 0, "maximum": 5}},
    "required": ["title", "points"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer(hang_s=3.0) as fake:
        yield fake


def backend(server, **kwargs) -> OpenAIHTTPBackend:
    settings = {"model": "fake", "retry": FAST_RETRY, "timeout_s": 1.0, "concurrency": 4, "seed": 0, **kwargs}
    return OpenAIHTTPBackend(server.base_url, **settings)


def test_a_healthy_answer_gives_each_labels_next_token_logprob(server):
    b = backend(server)
    (result,) = b.label_logprobs(["plain prompt"], LABELS)
    assert result == {label: TOP_LOGPROBS[label] for label in LABELS}
    (partial,) = b.label_logprobs(["plain prompt"], [" A", " Z"])
    assert partial == {" A": TOP_LOGPROBS[" A"], " Z": -math.inf}  # not in the top k: below all of them
    b.close()


def test_a_503_burst_is_retried_until_it_passes(server):
    b = backend(server)
    before = server.requests["FLAKY2"]
    (result,) = b.label_logprobs(["FLAKY2 prompt"], LABELS)
    assert isinstance(result, dict) and result[" A"] == TOP_LOGPROBS[" A"]
    assert server.requests["FLAKY2"] - before == 3  # two 503s, then the answer
    assert b.stats["retries"] == 2
    b.close()


def test_throttling_that_never_ends_fails_after_the_retries(server):
    b = backend(server)
    before = server.requests["THROTTLE"]
    (result,) = b.label_logprobs(["THROTTLE prompt"], LABELS)
    assert isinstance(result, BackendError)
    assert "gave up after 4 attempts" in str(result) and "HTTP 429" in str(result)
    assert server.requests["THROTTLE"] - before == 4
    b.close()


def test_a_hanging_server_times_out_and_only_that_prompt_fails(server):
    b = backend(server, retry=RetryPolicy(max_retries=1, base_s=0.01, max_s=0.01), timeout_s=0.5)
    results = b.label_logprobs(["plain one", "HANG prompt", "plain two"], LABELS)
    assert isinstance(results[0], dict) and isinstance(results[2], dict)
    assert isinstance(results[1], BackendError) and "timed out after 0.5 s" in str(results[1])
    b.close()


def test_a_request_error_is_not_retried(server):
    b = backend(server)
    before = server.requests["BAD400"]
    (result,) = b.label_logprobs(["BAD400 prompt"], LABELS)
    assert isinstance(result, BackendError) and "HTTP 400" in str(result)
    assert server.requests["BAD400"] - before == 1
    b.close()


def test_a_server_without_logprobs_is_a_clear_failure(server):
    b = backend(server)
    (result,) = b.label_logprobs(["NOLOGPROBS prompt"], LABELS)
    assert isinstance(result, BackendError) and "no top_logprobs" in str(result)
    (result,) = b.label_logprobs(["plain"], [" X", " Y"])
    assert isinstance(result, BackendError) and "none of the labels" in str(result)
    b.close()


def test_nothing_listens_is_a_connection_failure_per_prompt():
    b = OpenAIHTTPBackend("http://127.0.0.1:9/v1", model="none", retry=FAST_RETRY, timeout_s=1.0)
    results = b.label_logprobs(["a", "b"], LABELS)
    assert all(isinstance(r, BackendError) and "ConnectError" in str(r) for r in results)
    b.close()


TASK = LabelTask(
    name="letters",
    prompt_version="letters-test",
    labels=(" A", " B", " C"),
    prompt=PromptTemplate(version="letters-test", system="s", user="Pick one.\n{document}", assistant_prefix="Answer:"),
)


def test_annotate_batch_fails_only_the_documents_whose_requests_failed(server):
    b = backend(server, retry=RetryPolicy(max_retries=0), timeout_s=0.5)
    docs = [
        {"id": "good", "content_hash": "h1", "text": "a plain document"},
        {"id": "stuck", "content_hash": "h2", "text": "this one makes the server HANG"},
        {"id": "rejected", "content_hash": "h3", "text": "BAD400"},
        {"id": "also-good", "content_hash": "h4", "text": "another plain document"},
    ]
    rows = annotate_batch(TASK, b, docs)
    assert [r["id"] for r in rows] == [d["id"] for d in docs]
    status = {r["id"]: r["status"] for r in rows}
    assert status == {"good": "ok", "stuck": "failed", "rejected": "failed", "also-good": "ok"}
    for row in rows:
        assert validate_record(row, ANNOTATION) == row
        assert (row["backend"], row["model"]) == ("openai-http", "fake")
    by_id = {r["id"]: r for r in rows}
    assert by_id["stuck"]["error"].startswith("BackendError") and "timed out" in by_id["stuck"]["error"]
    assert "HTTP 400" in by_id["rejected"]["error"]
    ok = by_id["good"]["distribution"]
    total = sum(math.exp(TOP_LOGPROBS[k]) for k in LABELS)
    assert ok == pytest.approx({k: math.exp(TOP_LOGPROBS[k]) / total for k in LABELS})
    b.close()


def test_concurrent_requests_stay_within_the_limit(server):
    b = backend(server, concurrency=2, timeout_s=5.0)
    results = b.label_logprobs([f"plain {i}" for i in range(10)], LABELS)
    assert all(isinstance(r, dict) for r in results)
    assert b.stats["requests"] == 10
    b.close()


def test_structured_chat_parses_and_checks_the_answer(server):
    b = backend(server)
    good, prose = b.chat_json([ChatRequest("sys", "give JSON"), ChatRequest("sys", "PROSE please")], SCHEMA)
    assert good == CHAT_ANSWER
    assert isinstance(prose, BackendError) and "does not match the schema" in str(prose)
    wrong = {**SCHEMA, "required": ["title", "points", "missing"]}
    (result,) = b.chat_json([ChatRequest("sys", "give JSON")], wrong)
    assert isinstance(result, BackendError) and "missing" in str(result)
    b.close()


def test_backoff_has_full_jitter_capped_and_honours_retry_after():
    policy = RetryPolicy(max_retries=5, base_s=1.0, max_s=8.0)
    rng = random.Random(0)
    for attempt in range(6):
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(0.0 <= d <= min(8.0, 2**attempt) for d in delays)
        assert max(delays) > 0.5 * min(8.0, 2**attempt)  # spread over the whole window, not a fixed step
    assert policy.delay(0, 5.0, rng) == 5.0  # the server asked for 5 s: at least that
    assert policy.delay(0, 60.0, rng) == 8.0  # but never beyond the cap


def test_pickling_keeps_configuration_not_connections_or_secrets(server):
    b = backend(server, api_key="secret-key")
    b.label_logprobs(["plain"], LABELS)
    copy = pickle.loads(pickle.dumps(b))
    assert (copy.base_url, copy.model, copy.concurrency, copy.retry) == (b.base_url, b.model, 4, FAST_RETRY)
    assert copy.api_key != "secret-key"
    assert copy.label_logprobs(["plain"], LABELS)[0][" A"] == TOP_LOGPROBS[" A"]
    copy.close()
    b.close()


def test_invalid_settings_are_rejected():
    with pytest.raises(ValueError):
        OpenAIHTTPBackend(concurrency=0)
    with pytest.raises(ValueError):
        OpenAIHTTPBackend(chat_template="no-such-template")
    with pytest.raises(ValueError):
        OpenAIHTTPBackend(structured_style="xml")
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


def test_top_logprobs_in_list_form_are_read_too():
    body = {"choices": [{"logprobs": {"top_logprobs": [[{"token": " A", "logprob": -0.1}]]}}]}
    assert next_token_top_logprobs(body) == {" A": -0.1}
    with pytest.raises(BackendError):
        next_token_top_logprobs({"error": "x"})
