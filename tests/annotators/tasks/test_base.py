"""Task plumbing: prompt templates, excerpt truncation, label normalisation, and annotate_batch on the real model."""

from __future__ import annotations

import math

import pytest

from annotators.tasks.base import LabelTask, PromptTemplate, annotate_batch, normalise, truncate_at_whitespace
from schemas import ANNOTATION, validate_record
from tests.annotators.texts import MIXTURE, faq_section

# ---------------------------------------------------------------------------------------------------------- truncate


def _end_of_next_word(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


@pytest.mark.parametrize(
    "text",
    [
        faq_section("what is Linux?!", 500),
        (MIXTURE / "ls.1.ru.txt").read_text(encoding="utf-8")[:500],
        (MIXTURE / "debian-faq.en.txt").read_text(encoding="utf-8")[:500],  # runs of spaces, blank lines
    ],
    ids=["faq-section", "ls-ru", "faq-title"],
)
def test_truncation_keeps_every_whole_word_that_fits_and_splits_none(text):
    for max_chars in range(len(text) + 2):
        out = truncate_at_whitespace(text, max_chars)
        assert text.startswith(out) and len(out) <= max_chars
        if len(text) <= max_chars:
            assert out == text
        elif any(c.isspace() for c in text[1 : max_chars + 1]):
            assert text[len(out)].isspace(), (max_chars, out[-20:])  # the cut is between words
            assert _end_of_next_word(text, len(out)) > max_chars, (max_chars, out[-20:])  # the next word did not fit
            assert out == out.rstrip()
        else:
            assert out == text[:max_chars].rstrip()  # one long word: a hard cut is the only way


def test_truncation_of_text_without_whitespace_is_a_hard_cut():
    text = "".join((MIXTURE / "ls.1.zh_CN.txt").read_text(encoding="utf-8").split())
    assert truncate_at_whitespace(text, 50) == text[:50]
    assert truncate_at_whitespace(text, len(text)) == text


def test_truncation_rejects_a_negative_limit():
    with pytest.raises(ValueError):
        truncate_at_whitespace("some text", -1)


# --------------------------------------------------------------------------------------------------------- normalise


def test_normalise_is_the_distribution_restricted_to_the_labels():
    raw = {"a": math.log(0.2), "b": math.log(0.3), "c": math.log(0.05), "other": math.log(0.4)}
    dist = normalise(raw, ["a", "b", "c"])
    assert list(dist) == ["a", "b", "c"]
    assert dist == pytest.approx({"a": 0.2 / 0.55, "b": 0.3 / 0.55, "c": 0.05 / 0.55})
    assert sum(dist.values()) == pytest.approx(1.0)
    shifted = normalise({k: v - 30.0 for k, v in raw.items()}, ["a", "b", "c"])  # tiny masses do not underflow
    assert shifted == pytest.approx(dist)


def test_normalise_gives_zero_to_an_impossible_label():
    dist = normalise({"a": -1.0, "b": -math.inf}, ["a", "b"])
    assert dist == {"a": 1.0, "b": 0.0}


@pytest.mark.parametrize(
    "logprobs",
    [{"a": math.nan, "b": -1.0}, {"a": math.inf, "b": -1.0}, {"a": -math.inf, "b": -math.inf}],
    ids=["nan", "inf", "all-impossible"],
)
def test_normalise_rejects_unusable_logprobs(logprobs):
    with pytest.raises(ValueError, match="not usable"):
        normalise(logprobs, ["a", "b"])


def test_normalise_needs_every_label():
    with pytest.raises(KeyError):
        normalise({"a": -1.0}, ["a", "b"])


# ------------------------------------------------------------------------------------------------- prompts and tasks

ENGLISH = PromptTemplate(
    version="english-test",
    system="You identify languages.",
    user="Is the following text written in English? Answer yes or no.\n\n{document}",
    assistant_prefix="Answer:",
)


@pytest.mark.parametrize("user", ["No slot at all.", "{document} twice {document}", "{Document} wrong case"])
def test_a_prompt_needs_exactly_one_document_slot(user):
    with pytest.raises(ValueError, match="exactly once"):
        PromptTemplate(version="v", system="s", user=user, assistant_prefix="")


def test_the_shipped_edu_prompt_loads():
    prompt = PromptTemplate.load("edu_v1")
    assert prompt.version == "edu-v1"
    assert prompt.user.count("{document}") == 1
    assert prompt.system and prompt.user == prompt.user.strip()
    assert prompt.assistant_prefix.endswith(" ")  # the digit label follows the space token, see the yaml


def test_loading_an_unknown_prompt_fails():
    with pytest.raises(FileNotFoundError):
        PromptTemplate.load("no_such_prompt_v0")


def test_a_task_checks_its_prompt_version_and_labels():
    with pytest.raises(ValueError, match="prompt file"):
        LabelTask(name="english", prompt_version="english-v9", labels=(" yes", " no"), prompt=ENGLISH)
    with pytest.raises(ValueError, match="distinct"):
        LabelTask(name="english", prompt_version="english-test", labels=(" yes", " yes"), prompt=ENGLISH)
    with pytest.raises(ValueError, match="non-empty"):
        LabelTask(name="english", prompt_version="english-test", labels=(), prompt=ENGLISH)


def test_default_score_is_the_top_labels_probability():
    task = LabelTask(name="english", prompt_version="english-test", labels=(" yes", " no"), prompt=ENGLISH)
    label, score, dist = task.score({" yes": math.log(0.1), " no": math.log(0.3)})
    assert (label, score) == (" no", pytest.approx(0.75))
    assert dist == pytest.approx({" yes": 0.25, " no": 0.75})


# ------------------------------------------------------------------------------------------ annotate_batch, real model

TASK = LabelTask(
    name="english", prompt_version="english-test", labels=(" yes", " no"), prompt=ENGLISH, max_doc_chars=300
)


def _doc(doc_id: str, text: object) -> dict[str, object]:
    return {"id": doc_id, "content_hash": f"hash-{doc_id}", "text": text}


@pytest.fixture(scope="module")
def docs() -> list[dict[str, object]]:
    return [
        _doc("faq", faq_section("what is Linux?!", 300)),
        _doc("not-a-string", 12345),
        _doc("ls-ru", (MIXTURE / "ls.1.ru.txt").read_text(encoding="utf-8")[:300]),
        _doc("none", None),
    ]


@pytest.fixture(scope="module")
def rows(backend, docs) -> list[dict[str, object]]:
    return annotate_batch(TASK, backend, docs)


@pytest.mark.slow
def test_rows_match_the_annotation_schema_in_input_order(backend, docs, rows):
    assert [row["id"] for row in rows] == [doc["id"] for doc in docs]
    for doc, row in zip(docs, rows, strict=True):
        assert validate_record(row, ANNOTATION) == row
        assert row["content_hash"] == doc["content_hash"]
        assert (row["task"], row["prompt_version"]) == ("english", "english-test")
        assert (row["model"], row["backend"]) == ("smollm2-135m-instruct", "transformers")


@pytest.mark.slow
def test_ok_rows_carry_a_normalised_distribution_and_its_top_label(rows):
    ok = [row for row in rows if row["id"] in {"faq", "ls-ru"}]
    assert [row["status"] for row in ok] == ["ok", "ok"]
    for row in ok:
        dist = row["distribution"]
        assert set(dist) == {" yes", " no"} and sum(dist.values()) == pytest.approx(1.0)
        assert all(0.0 <= p <= 1.0 for p in dist.values())
        assert row["label"] == max(dist, key=dist.__getitem__)
        assert row["score"] == dist[row["label"]]
        assert row["error"] is None


@pytest.mark.slow
def test_a_document_without_string_text_fails_alone(backend, docs, rows):
    failed = {row["id"]: row for row in rows if row["status"] == "failed"}
    assert set(failed) == {"not-a-string", "none"}
    for row in failed.values():
        assert row["error"].startswith("TypeError: document text must be a string")
        assert row["label"] is None and row["score"] is None and row["distribution"] is None
    # The good documents got exactly the labels they get without the bad ones in their batch.
    alone = annotate_batch(TASK, backend, [docs[0], docs[2]])
    by_id = {row["id"]: row for row in rows}
    for row in alone:
        assert row["status"] == "ok"
        assert row["distribution"] == pytest.approx(by_id[row["id"]]["distribution"], abs=1e-3)


@pytest.mark.slow
def test_a_backend_error_fails_every_document_of_the_batch_with_its_message(backend, docs):
    broken = LabelTask(name="english", prompt_version="english-test", labels=(" yes", "unusable"), prompt=ENGLISH)
    good = [doc for doc in docs if isinstance(doc["text"], str)]
    rows = annotate_batch(broken, backend, good)
    assert [row["id"] for row in rows] == [doc["id"] for doc in good]
    for row in rows:
        assert validate_record(row, ANNOTATION) == row
        assert row["status"] == "failed" and row["label"] is None
        assert row["error"].startswith("ValueError") and "unusable" in row["error"]  # the cause is named


@pytest.mark.slow
def test_an_empty_batch_has_no_rows(backend):
    assert annotate_batch(TASK, backend, []) == []
