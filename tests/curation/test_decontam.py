"""Decontamination: planted benchmark items (verbatim, renumbered, paraphrased, embedded) are found; clean text is
not."""

from __future__ import annotations

import json
import pickle

import pytest

from curation.decontam import (
    DecontamIndex,
    DecontamSettings,
    gsm_symbolic_instance,
    gsm_symbolic_templates,
    load_benchmark,
    normalized_tokens,
)
from tests.annotators.texts import faq_section


@pytest.fixture(scope="module")
def index() -> DecontamIndex:
    return DecontamIndex.from_config({"benchmarks": ["humaneval", "champ", "gsm_symbolic"]})


def test_benchmarks_load_with_ids(index):
    assert {b for b, _ in index.items} == {"humaneval", "champ", "gsm_symbolic"}
    assert ("humaneval", "HumanEval/0") in index.items and len(load_benchmark("humaneval")) == 164
    assert len(load_benchmark("champ")) == 270
    assert len(pickle.dumps(index)) < 8 << 20  # small enough for a side input


def test_numbers_are_normalised():
    assert normalized_tokens("Tom has 12 apples, 3.5 kg") == ["tom", "has", "<n>", "apples", "<n>", "kg"]


def test_verbatim_humaneval_and_champ_items_are_found(index):
    he = load_benchmark("humaneval")[12]
    hit = index.check("Some preamble.\n\n" + he.text + "\n\nMore text after it.")
    assert (hit.benchmark, hit.item_id, hit.method, hit.reason) == ("humaneval", he.item_id, "ngram", "benchmark_ngram")
    champ = load_benchmark("champ")[40]
    assert index.check(champ.text).item_id == champ.item_id


def test_renumbered_gsm_item_matches_its_template(index):
    template = gsm_symbolic_templates()[5]
    other = gsm_symbolic_instance(template, seed=12345)["question"]  # new numbers (and names) from the generator
    hit = index.check(other)
    assert hit is not None and hit.item_id == f"gsm_symbolic/{template}"


def test_paraphrase_is_found_by_similarity_not_by_ngrams(index):
    champ = load_benchmark("champ")
    item = next(i for i in champ if len(i.text.split()) > 40)
    words = item.text.split()
    # every 6th word dropped and the two halves swapped: no 13-gram survives, most content words do
    shuffled = [w for i, w in enumerate(words) if i % 6 != 5]
    half = len(shuffled) // 2
    paraphrase = " ".join([*shuffled[half:], "Moreover,", *shuffled[:half]])
    ngram_only = index.check(paraphrase, use_similarity=False)
    assert ngram_only is None or ngram_only.item_id == item.item_id
    hit = index.check(paraphrase)
    assert hit is not None and hit.item_id == item.item_id


def test_clean_text_is_not_flagged(index):
    for text in (faq_section("what is Linux?!", 3000), faq_section("What is Debian GNU/Linux?", 3000)):
        assert index.check(text) is None


def test_jsonl_benchmark_by_path_and_settings(tmp_path):
    path = tmp_path / "myeval.jsonl"
    question = "A farmer plants 12 rows of 30 corn plants and sells half of them at the market each week"
    path.write_text(json.dumps({"id": "q1", "question": question}) + "\n")
    index = DecontamIndex.from_config({"benchmarks": [], "paths": [str(path)], "ngram": 8})
    hit = index.check("blah. A farmer plants 7 rows of 9 corn plants and sells half of them at the market each week!")
    assert (hit.benchmark, hit.item_id) == ("myeval", "q1")
    with pytest.raises(ValueError):
        DecontamSettings(ngram=2)
    with pytest.raises(ValueError, match="benchmark"):
        load_benchmark("nope")
