"""Recipes, the instance weight formula, plans (balance, budget, epoch cap), deterministic copies, instance rows."""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import replace
from pathlib import Path

import pytest

import schemas
from curation.mixture import (
    DEFAULT_RECIPES,
    Balance,
    LengthBucket,
    Recipe,
    WeightSpec,
    bucket_of,
    cell_of,
    composition_add,
    composition_merge,
    doc_bucket,
    eligible,
    instance_rows,
    instance_weight,
    is_heldout,
    make_plan,
    n_copies,
    profile_item,
    profile_merge,
    recipes_from_config,
    stage_tokens,
)
from curation.tokens import QwenTokenCounter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mixture"
FAQ = (FIXTURES / "debian-faq.en.txt").read_text(encoding="utf-8")
ZH = (FIXTURES / "ls.1.zh_CN.txt").read_text(encoding="utf-8")
S1, S2, S3 = DEFAULT_RECIPES


@pytest.fixture(scope="module")
def counter() -> QwenTokenCounter:
    return QwenTokenCounter()


def make_doc(doc_id: str, text: str, counter: QwenTokenCounter, edu: float | None = None, **extra) -> dict:
    doc = {
        "id": doc_id,
        "text": text,
        "source": "debian-docs",
        "locator": f"fixtures/{doc_id}",
        "lang": extra.pop("lang", "eng_Latn"),
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        "n_chars": len(text),
        "n_tokens": counter.count(text),
        "meta": extra.pop("meta", {}),
    }
    schemas.validate_record(doc, schemas.DOCUMENT)
    return {**doc, "edu_score": edu, **extra}


def flat_plan(recipe: Recipe, docs: list[dict], alpha: float) -> dict:
    """A plan giving every document of the recipe ``alpha`` x its weight (what make_plan computes from totals)."""
    return {"recipe_id": recipe.recipe_id, "cells": {cell_of(d, recipe): {"alpha": alpha} for d in docs}}


def plan_of(recipe: Recipe, docs: list[dict]) -> dict:
    profiles: dict[str, dict] = {}
    for doc in docs:
        item = profile_item(doc, recipe)
        if item:
            profile_merge(profiles.setdefault(item[0], {}), item[1])
    return make_plan(recipe, profiles)


def realised(recipe: Recipe, docs: list[dict], plan: dict) -> list[tuple[dict, int]]:
    """(doc, copies) as instance_rows would draw them, without cutting text (stage_tokens per copy)."""
    from curation.mixture import expected_copies

    out = []
    for doc in docs:
        rate = expected_copies(doc, recipe, plan)
        out.append((doc, n_copies(doc["id"], rate, recipe.seed, recipe.name, recipe.max_epochs)))
    return out


def test_default_recipes_follow_the_qwen3_stages():
    assert [s.name for s in DEFAULT_RECIPES] == ["S1", "S2", "S3"]
    assert (S1.seq_len, S2.seq_len, S3.seq_len) == (4096, 4096, 32768)
    assert S2.min_edu_score is not None and S1.min_edu_score is None
    assert {b.name: b.share for b in S3.buckets} == {"4k-16k": 0.25, "16k-32k": 0.75}
    assert S3.min_tokens == 4096 and not S3.chunk_long_docs
    assert S3.balanced["length"].weights == {"4k-16k": 0.25, "16k-32k": 0.75} and "source" in S3.balanced
    assert S2.balanced["domain"].weights["stem"] > S2.balanced["domain"].weights["other"]


def test_eligibility_by_length_edu_score_and_domain():
    doc = {"id": "d", "n_tokens": 5000, "edu_score": 3.4}
    assert eligible(doc, S1) and eligible(doc, S2) and eligible(doc, S3)
    assert not eligible({**doc, "edu_score": 2.4}, S2)
    assert not eligible({**doc, "edu_score": None}, S2)
    assert eligible({**doc, "edu_score": None}, S1)
    assert not eligible({**doc, "n_tokens": 4095}, S3)
    assert eligible({**doc, "n_tokens": 100_000}, S3)  # windowed, not dropped
    assert not eligible({**doc, "n_tokens": 0}, S1)
    stem = Recipe("S2", 4096, min_edu_score=3.0, domains=("stem", "code"))
    assert not eligible(doc, stem)  # no domain annotation
    assert eligible({**doc, "domain": "code"}, stem)
    assert eligible({**doc, "meta": [("domain", "stem")]}, stem)  # a map column as pyarrow returns it
    assert not eligible({**doc, "meta": {"domain": "news"}}, stem)
    with pytest.raises(ValueError, match="n_tokens"):
        eligible({"id": "x", "n_tokens": None}, S1)


def test_length_buckets_and_their_bounds():
    assert [bucket_of(n, S3) for n in (4095, 4096, 16383, 16384, 16385, 32768, 32769)] == [
        None, "4k-16k", "4k-16k", "4k-16k", "16k-32k", "16k-32k", None,
    ]  # fmt: skip
    assert bucket_of(5000, S1) is None
    assert doc_bucket(90_000, S3) == "16k-32k"  # windowed: sampled as its full-length first window
    assert doc_bucket(90_000, Recipe("X", 32768, buckets=S3.buckets)) is None  # chunked stage: its own length
    assert stage_tokens(3000, S1) == 3000 and stage_tokens(90_000, S1) == 90_000
    assert stage_tokens(20_000, S3) == 20_000
    assert stage_tokens(70_000, S3) == 2 * 32768  # remainder 4_464 is below the 16k-32k bucket
    assert stage_tokens(60_000, S3) == 60_000
    assert stage_tokens(10**7, S3) == 4 * 32768  # max_windows


def test_instance_weight_follows_the_documented_formula():
    spec = WeightSpec(
        edu_beta=0.7, edu_pivot=2.5, domain={"stem": 2.0}, lang={"fra_Latn": 0.5}, source={"web": 0.8},
        length_pivot=100, length_gamma=0.5, dup_alpha=0.25, dup_cap=8, safety_max=0.9, safety_gamma=2.0,
    )  # fmt: skip
    doc = {"id": "d", "n_tokens": 25, "edu_score": 4.0, "domain": "stem", "lang": "fra_Latn", "source": "web",
           "dedup_cluster_size": 20, "safety_score": 0.2}  # fmt: skip
    expected = math.exp(0.7 * 1.5) * 2.0 * 0.5 * 0.8 * (25 / 100) ** 0.5 * 8**0.25 * 0.8**2.0
    assert instance_weight(doc, spec) == pytest.approx(expected)
    assert instance_weight({**doc, "safety_score": 0.95}, spec) == 0.0  # above safety_max: removed
    assert instance_weight({**doc, "n_tokens": 400}, spec) == pytest.approx(expected * 2)  # length factor capped at 1
    assert instance_weight({**doc, "edu_score": None}, spec) == pytest.approx(expected / math.exp(0.7 * 1.5))
    assert instance_weight({**doc, "domain": "code"}, spec) == pytest.approx(expected / 2)  # default multiplier 1
    assert instance_weight({"id": "x", "n_tokens": 5}, WeightSpec()) == 1.0
    higher = [instance_weight({**doc, "edu_score": e}, spec) for e in (0, 1, 2, 3, 4, 5)]
    assert higher == sorted(higher) and len(set(higher)) == 6


def test_copies_are_deterministic_unbiased_and_capped():
    ids = [f"doc-{i}" for i in range(20_000)]
    copies = [n_copies(i, 0.3, 1, "S1", 4) for i in ids]
    assert copies == [n_copies(i, 0.3, 1, "S1", 4) for i in ids]  # same seed: identical
    assert copies != [n_copies(i, 0.3, 2, "S1", 4) for i in ids]  # another seed: another draw
    assert copies != [n_copies(i, 0.3, 1, "S2", 4) for i in ids]  # recipes draw independently
    assert sum(copies) / len(ids) == pytest.approx(0.3, abs=0.015)
    up = [n_copies(i, 1.4, 1, "S1", 4) for i in ids]
    assert set(up) == {1, 2} and sum(up) / len(ids) == pytest.approx(1.4, abs=0.015)
    assert {n_copies(i, 7.5, 1, "S1", 3) for i in ids[:100]} == {3}  # epoch cap
    assert n_copies("x", 0.0, 1, "S1", 4) == 0


def synthetic(n: int, seed: int, **kw) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        doc = {
            "id": f"d{i}", "text": "x" * 10, "source": rng.choice(["web", "web", "books"]),
            "lang": rng.choice(["eng_Latn"] * 6 + ["fra_Latn"] * 3 + ["swh_Latn"]),
            "domain": rng.choice(["stem", "code", "other", "other"]), "edu_score": rng.uniform(0, 5),
            "n_tokens": kw.get("length", lambda r: r.randint(50, 4000))(rng), "dedup_cluster_size": rng.randint(1, 5),
        }  # fmt: skip
        docs.append(doc)
    return docs


def shares(pairs: list[tuple[dict, int]], key, recipe: Recipe) -> dict[str, float]:
    out: dict[str, float] = {}
    for doc, copies in pairs:
        out[key(doc)] = out.get(key(doc), 0) + copies * stage_tokens(doc["n_tokens"], recipe)
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}


def test_plan_hits_budget_and_group_weights_and_reports_shortfall():
    docs = synthetic(4000, 0)
    recipe = Recipe("S2", 4096, budget_tokens=3_000_000, weights=WeightSpec(edu_beta=0.5),
                    balance={"domain": Balance("weights", {"stem": 0.5, "code": 0.3, "other": 0.2})})  # fmt: skip
    plan = plan_of(recipe, docs)
    assert plan["expected_tokens"] == pytest.approx(3_000_000, rel=1e-3) and plan["shortfall_tokens"] < 3000
    drawn = realised(recipe, docs, plan)
    got = shares(drawn, lambda d: d["domain"], recipe)
    for group, want in {"stem": 0.5, "code": 0.3, "other": 0.2}.items():
        assert got[group] == pytest.approx(want, abs=0.03)
    total = sum(c * d["n_tokens"] for d, c in drawn)
    assert total == pytest.approx(3_000_000, rel=0.03)
    # instance weights act inside a group: high-edu documents are drawn more often
    hi = [c for d, c in drawn if d["edu_score"] > 4]
    lo = [c for d, c in drawn if d["edu_score"] < 1]
    assert sum(hi) / len(hi) > 2 * sum(lo) / len(lo)
    # a budget beyond what the cap allows: everything at max_epochs, the rest reported
    big = Recipe("S1", 4096, budget_tokens=10**13, max_epochs=3)
    big_plan = plan_of(big, docs)
    eligible_tokens = sum(d["n_tokens"] for d in docs)
    assert big_plan["expected_tokens"] == pytest.approx(3 * eligible_tokens, rel=1e-6)
    assert big_plan["shortfall_tokens"] == pytest.approx(10**13 - 3 * eligible_tokens, rel=1e-6)
    assert {c for _, c in realised(big, docs, big_plan)} == {3}


def test_language_balance_by_temperature_and_unimax():
    docs = synthetic(4000, 1)
    raw = {}
    for d in docs:
        raw[d["lang"]] = raw.get(d["lang"], 0) + d["n_tokens"]
    natural = {k: v / sum(raw.values()) for k, v in raw.items()}
    temp = Recipe("S1", 4096, balance={"lang": Balance("temperature", temperature=3.0)})
    plan = plan_of(temp, docs)
    z = sum(v ** (1 / 3) for v in raw.values())
    assert plan["target_shares"]["lang"] == pytest.approx({k: v ** (1 / 3) / z for k, v in raw.items()}, rel=1e-6)
    got = shares(realised(temp, docs, plan), lambda d: d["lang"], temp)
    assert got["swh_Latn"] > 2 * natural["swh_Latn"] and got["eng_Latn"] < natural["eng_Latn"]
    budget = sum(raw.values())  # uniform would be 1/3 each; Swahili (10%) is capped at 2 epochs, the rest re-spread
    uni = Recipe("S1", 4096, budget_tokens=budget, max_epochs=8, balance={"lang": Balance("unimax", max_epochs=2)})
    t = plan_of(uni, docs)["target_shares"]["lang"]
    assert t["swh_Latn"] * budget == pytest.approx(2 * raw["swh_Latn"], rel=1e-6)
    assert t["fra_Latn"] == pytest.approx(t["eng_Latn"], rel=1e-6)
    assert t["fra_Latn"] * budget == pytest.approx((budget - 2 * raw["swh_Latn"]) / 2, rel=1e-6)
    assert sum(t.values()) == pytest.approx(1.0)


def test_s3_length_split_and_source_mix_on_a_synthetic_length_corpus():
    docs = synthetic(3000, 2, length=lambda r: int(math.exp(r.uniform(math.log(4096), math.log(60_000)))))
    plan = plan_of(S3, docs)
    drawn = realised(S3, docs, plan)
    by_bucket = shares(drawn, lambda d: doc_bucket(d["n_tokens"], S3), S3)
    assert by_bucket["16k-32k"] == pytest.approx(0.75, abs=0.03)
    assert by_bucket["4k-16k"] == pytest.approx(0.25, abs=0.03)
    pool = shares([(d, 1) for d in docs if eligible(d, S3)], lambda d: d["source"], S3)
    kept = shares(drawn, lambda d: d["source"], S3)
    assert kept == pytest.approx(pool, abs=0.03)  # upsampled within each source: the source mix is kept
    assert max(c for _, c in drawn) <= S3.max_epochs
    empty = plan_of(S3, synthetic(50, 3))  # only short documents: nothing eligible, an empty plan
    assert empty["expected_tokens"] == 0 and empty["cells"] == {}


def test_plans_are_order_independent():
    docs = synthetic(500, 4)
    plan = plan_of(S1, docs)
    assert plan_of(S1, list(reversed(docs))) == plan
    assert plan_of(S1, docs[::2] + docs[1::2]) == plan


def test_instance_rows_are_deterministic_valid_and_unique(counter):
    docs = [
        make_doc("faq", FAQ, counter, edu=3.5),
        make_doc("zh-ls", ZH, counter, edu=2.0, lang="zho_Hans"),
        make_doc("faq-part", FAQ[:60_000], counter, edu=4.1),
    ]
    assert docs[0]["n_tokens"] > 32768 and 4096 < docs[2]["n_tokens"] < 16384
    rows = []
    for recipe in DEFAULT_RECIPES:
        plan = flat_plan(recipe, docs, 1.0 / max(instance_weight(d, recipe.weights) for d in docs))
        for doc in docs:
            once = instance_rows(doc, recipe, plan, counter)
            assert once == instance_rows(doc, recipe, plan, counter)
            rows += once
    for row in rows:
        record = {k: v for k, v in row.items() if k != "shuffle_key"}
        assert schemas.validate_record(record, schemas.SHARD_ROW) == {**record, "token_ids": None}
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["shuffle_key"] for r in rows}) == len(rows)
    by_stage = {s.name: [r for r in rows if r["stage"] == s.name] for s in DEFAULT_RECIPES}
    assert {r["doc_id"] for r in by_stage["S2"]} <= {"faq", "faq-part"}  # zh-ls has edu 2.0
    assert {r["doc_id"] for r in by_stage["S3"]} <= {"faq", "faq-part"}  # zh-ls is < 4K tokens
    faq_s1 = [r for r in by_stage["S1"] if r["doc_id"] == "faq" and r["copy_index"] == 0]
    assert "".join(r["text"] for r in faq_s1) == FAQ
    assert [r["chunk_index"] for r in faq_s1] == list(range(len(faq_s1)))
    assert all(r["n_tokens"] <= 4096 for r in by_stage["S1"] + by_stage["S2"])
    assert all(r["recipe_id"].startswith(r["stage"] + "-") for r in rows)


def test_s3_windows_of_a_long_document(counter):
    text = (FAQ + "\n\n" + FAQ)[:-10_000]  # ~80K tokens: two full windows + a <16K remainder (other bucket)
    doc = make_doc("faq", text, counter, edu=4.0)
    rows = instance_rows(doc, S3, flat_plan(S3, [doc], 2.0), counter)
    assert [(r["chunk_index"], r["copy_index"]) for r in rows] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert all(r["length_bucket"] == "16k-32k" and r["n_tokens"] <= 32768 for r in rows)
    assert rows[0]["text"] + rows[1]["text"] == text[: len(rows[0]["text"] + rows[1]["text"])]
    assert instance_rows(doc, S1, flat_plan(S1, [doc], 0.0), counter) == []
    assert instance_rows({**doc, "edu_score": 1.0}, S2, flat_plan(S2, [doc], 1.0), counter) == []


def test_recipes_from_config_merge_by_name_and_reject_unknown_keys():
    recipes = recipes_from_config(
        {
            "S1": {"budget_tokens": 3.0e13, "balance": {"lang": {"method": "unimax", "max_epochs": 4}}},
            "S2": {"min_edu_score": 3.5, "weights": {"edu_beta": 1.0}},
            "S3": None,
            "S4": {"seq_len": 131072, "min_tokens": 32768},
        },
        seed=7,
    )
    assert [r.name for r in recipes] == ["S1", "S2", "S4"]
    s1, s2, s4 = recipes
    assert s1.budget_tokens == 30_000_000_000_000 and s1.balanced["lang"].method == "unimax" and s1.seed == 7
    assert s2.min_edu_score == 3.5 and s2.weights.edu_beta == 1.0 and s2.balanced == S2.balanced
    assert s4.seq_len == 131072 and s4.recipe_id != s1.recipe_id
    assert recipes_from_config([{"name": "S1"}])[0] == S1
    assert recipes_from_config({"S1": {"seed": 1}})[0].recipe_id != S1.recipe_id
    for bad in (
        {"S1": {"seqlen": 10}},
        {"S9": {}},
        {"S1": {"weights": {"edu": 1}}},
        {"S1": {"balance": {"topic": "natural"}}},
        {"S1": {"balance": {"lang": {"method": "sqrt"}}}},
        {"S3": {"buckets": [{"name": "a", "min_tokens": 1, "max_tokens": 2, "share": 0.5}]}},
    ):
        with pytest.raises(ValueError):
            recipes_from_config(bad)


def test_composition_and_heldout_split(counter):
    rows = [{"n_tokens": 10, "copy_index": 0, "lang": "eng_Latn", "domain": "stem", "edu_score": 3.6,
             "source": "a", "length_bucket": "<512"}, {"n_tokens": 5, "copy_index": 1, "lang": None,
             "domain": None, "edu_score": None, "source": "b", "length_bucket": "<512"}]  # fmt: skip
    parts = [composition_add({}, r) for r in rows]
    comp = composition_merge(parts)
    assert comp["rows"] == 2 and comp["tokens"] == 15 and comp["upsampled_rows"] == 1
    assert comp["tokens_by"]["edu"] == {"4": 10, "und": 5} and comp["tokens_by"]["lang"] == {"eng_Latn": 10, "und": 5}
    held = [is_heldout(f"d{i}", 0.1, 0) for i in range(10_000)]
    assert sum(held) / len(held) == pytest.approx(0.1, abs=0.015)
    assert held == [is_heldout(f"d{i}", 0.1, 0) for i in range(10_000)]
    assert not any(is_heldout(f"d{i}", 0.0, 0) for i in range(100))
    assert bucket_of(5000, S1) is None and LengthBucket("x", 0, 1, 1.0).share == 1.0


def test_recipes_sharing_a_draw_name_draw_nested_document_sets(counter):
    # Common random numbers for the ablation: two candidates with a shared draw_name use the same uniform per
    # document, so the one with the higher rate keeps a superset of the other's documents; without it they are
    # independent draws. An unset draw_name leaves the recipe id as it was.
    docs = [make_doc(f"d{i}", f"text {i}", counter, 3.0) for i in range(400)]
    low, high = (replace(S1, name=n, draw_name="shared") for n in ("A", "B"))
    kept_low = {d["id"] for d in docs if instance_rows(d, low, flat_plan(low, docs, 0.3), counter)}
    kept_high = {d["id"] for d in docs if instance_rows(d, high, flat_plan(high, docs, 0.6), counter)}
    assert kept_low and kept_low < kept_high
    indep = replace(S1, name="B")
    kept_indep = {d["id"] for d in docs if instance_rows(d, indep, flat_plan(indep, docs, 0.6), counter)}
    assert not kept_low <= kept_indep
    assert "draw_name" not in S1.to_json() and low.to_json()["draw_name"] == "shared"
