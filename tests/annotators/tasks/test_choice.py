"""Closed-choice tasks (domain, safety): options as data, per-document shuffles, letters back to labels, groups."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from annotators.tasks import DomainTask, SafetyTask, annotate_batch
from annotators.tasks.choice import KEY_LETTERS, load_prompt
from annotators.tasks.domain import DOMAIN_GROUPS, MIXTURE_GROUPS, domain_group, group_distribution
from curation.mixture import Recipe, eligible
from schemas import ANNOTATION, validate_record
from tests.annotators.texts import MIXTURE, faq_permission_notice, faq_section

TASKS = [DomainTask(), SafetyTask()]


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_labels_and_keys_come_from_the_prompt_file(task):
    options = load_prompt(task.prompt.version.replace("-", "_")).options
    assert task.labels == tuple(o["label"] for o in options)
    assert task.keys == tuple(" " + KEY_LETTERS[i] for i in range(len(task.labels)))
    assert task.prompt.assistant_prefix == "Answer:"  # the key's own leading space follows it


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_option_order_is_a_permutation_fixed_by_the_content_hash(task):
    orders = [task.presented_order(f"hash-{i}") for i in range(300)]
    assert all(sorted(order) == sorted(task.labels) for order in orders)
    assert task.presented_order("hash-7") == orders[7]  # the same document always sees the same prompt
    assert len(set(orders)) == len(orders)
    first = Counter(order[0] for order in orders)
    assert set(first) == set(task.labels)  # every label gets to be "A" for some documents
    assert max(first.values()) < 4 * len(orders) / len(task.labels)


def test_the_prompt_lists_the_options_in_the_documents_order_and_keeps_the_document_verbatim():
    task = SafetyTask(max_doc_chars=200)
    order = task.presented_order("some-hash")
    text = "A document that mentions {options} and {document} literally."
    user = task.user_text(text, order)
    assert text in user  # the placeholders inside the document are not expanded
    texts = {o["label"]: o["text"] for o in task.prompt.options}
    listed = [line for line in user.splitlines() if len(line) > 2 and line[1:3] == ". "]
    assert listed == [f"{KEY_LETTERS[i]}. {texts[label]}" for i, label in enumerate(order)]
    assert user.index(text) < user.index("A. ")  # document first: the shared prefix is as long as possible


def test_letters_map_back_to_the_labels_presented_under_them():
    task = DomainTask()
    order = task.presented_order("doc-1")
    keys = {key: -10.0 for key in task.keys}
    keys[" C"] = math.log(0.9)
    label, score, dist = task.score(task.by_label(keys, order))
    assert label == order[2] and score == pytest.approx(dist[order[2]])
    assert sum(dist.values()) == pytest.approx(1.0)


def test_safety_score_is_the_probability_of_any_harm():
    task = SafetyTask()
    dist = dict.fromkeys(task.labels, 0.0)
    dist.update({"safe": 0.7, "hate": 0.2, "offensive": 0.1})
    label, score, _ = task.from_distribution(dist)
    assert label == "safe" and score == pytest.approx(0.3)
    dist.update({"safe": 0.1, "hate": 0.6, "offensive": 0.3})
    assert task.from_distribution(dist)[:2] == ("hate", pytest.approx(0.9))


def test_domain_groups_are_the_mixtures_groups():
    assert set(DOMAIN_GROUPS) == set(DomainTask().labels)
    assert set(DOMAIN_GROUPS.values()) == set(MIXTURE_GROUPS)
    assert domain_group("software_dev") == "code" and domain_group("science_tech") == "stem"
    assert domain_group("travel") == "other" and domain_group(None) is None
    stage = Recipe("S2", 4096, domains=("stem", "code"))
    doc = {"id": "d", "n_tokens": 100}
    chosen = {label for label in DOMAIN_GROUPS if eligible({**doc, "domain": domain_group(label)}, stage)}
    assert chosen == {label for label, group in DOMAIN_GROUPS.items() if group in ("stem", "code")}
    dist = {label: 1.0 / len(DOMAIN_GROUPS) for label in DOMAIN_GROUPS}
    assert sum(group_distribution(dist).values()) == pytest.approx(1.0)


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_answer_keys_are_single_tokens_of_the_model(backend, task):
    ids = backend.label_token_ids(task.keys)
    assert len(set(ids)) == len(task.keys)
    prompt = task.build_prompt("Some text.", backend, task.labels)
    assert prompt.endswith("<|im_start|>assistant\nAnswer:")


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_real_documents_get_valid_choice_annotations(backend, task):
    texts = {
        "faq": faq_section("what is Linux?!", 400),
        "licence": faq_permission_notice()[:400],
        "ls-ru": (MIXTURE / "ls.1.ru.txt").read_text(encoding="utf-8")[:400],
    }
    docs = [{"id": k, "content_hash": f"hash-{k}", "text": v} for k, v in texts.items()]
    rows = annotate_batch(type(task)(max_doc_chars=400), backend, docs)
    assert [r["id"] for r in rows] == list(texts)
    for row in rows:
        assert validate_record(row, ANNOTATION) == row
        assert row["status"] == "ok" and row["prompt_version"] == task.prompt_version
        assert set(row["distribution"]) == set(task.labels)
        assert sum(row["distribution"].values()) == pytest.approx(1.0)
        assert row["label"] == max(row["distribution"], key=row["distribution"].__getitem__)
