"""Synthetic records in the mixture: pipelines.mix end to end with SynthRecord Parquet next to curated documents, and
the helpers of pipelines.mix_synth (document shape, recipe source weights, the share cap)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.mixture import DEFAULT_RECIPES
from curation.tokens import QwenTokenCounter
from pipelines import mix
from pipelines.mix_synth import SynthMix, keep_probability, synth_document, with_synth_weights
from schemas import SHARD_ROW, SYNTH_RECORD, to_table
from tests.pipelines.mix_corpus import make_docs, write_run
from tests.pipelines.parquet_rows import read_rows

LOCAL = ["--direct_num_workers=1", "--direct_running_mode=in_memory"]
STAGES = ("S1", "S2", "S3")

MATH = (
    "Problem: A train travels {a} km in {b} hours. What is its average speed in km/h?\n"
    "Solution: Average speed is distance divided by time. {a} / {b} = {c}. The answer is {c} km/h.\n"
)
CODE = (
    "def add_{n}(x: int) -> int:\n    '''Return x plus {n}.'''\n    return x + {n}\n\n\n"
    "def test_add_{n}():\n    assert add_{n}(1) == {m}\n    assert add_{n}(-{n}) == 0\n"
)
EXPLANATION = (
    "Explanation {n}: A prime number has exactly two divisors, one and itself. To test whether {p} is prime, try "
    "every divisor up to its square root; none of them divides {p}, so {p} is prime. This bounds the work by the "
    "square root of the number instead of the number itself.\n"
)


def synth_record(i: int, recipe: str, seed_id: str, text: str) -> dict:
    return {
        "id": f"synth/{recipe}/{seed_id}/{i}",
        "kind": recipe,
        "text": text,
        "problem": None,
        "solution": None,
        "answer": None,
        "tests": None,
        "seed_id": seed_id,
        "seed_source": "web",
        "recipe": recipe,
        "prompt_version": f"synth-{recipe}-v1",
        "model": "smollm2-135m-instruct",
        "backend": "transformers",
        "sampling": {"temperature": "0.7"},
        "rng_seed": 1000 + i,
        "verification": {"math": "majority_vote", "code": "sandbox_tests"}.get(recipe, "checks"),
        "agreement": None,
        "n_votes": None,
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        "n_chars": len(text),
        "meta": None,
    }


def make_corpus() -> tuple[list[dict], list[dict]]:
    specs = [(("web", "books")[i % 2], ("eng_Latn", "rus_Cyrl")[i % 2], 120 + 37 * i) for i in range(24)]
    return make_docs(specs, QwenTokenCounter())


def make_records(corpus) -> list[dict]:
    """30 records (10 per recipe) on seeds with edu >= 2.5, the last three on a seed that is not in the run."""
    docs, annotations = corpus
    edu = {a["id"]: a["score"] for a in annotations if a["task"] == "edu"}
    seeds = [d["id"] for d in docs if edu[d["id"]] >= 2.5][:6]
    assert len(seeds) >= 3
    out = []
    for i in range(30):
        seed = seeds[i % len(seeds)] if i < 27 else "not-in-this-run"
        recipe = ("math", "code", "explanation")[i % 3]
        text = {
            "math": MATH.format(a=60 * (i + 2), b=i % 4 + 2, c=60 * (i + 2) / (i % 4 + 2)),
            "code": CODE.format(n=i, m=i + 1),
            "explanation": EXPLANATION.format(n=i, p=(101, 103, 107, 109, 113)[i % 5]),
        }[recipe]
        out.append(synth_record(i, recipe, seed, text * 3))
    return out


@pytest.fixture(scope="module")
def corpus():
    return make_corpus()


@pytest.fixture(scope="module")
def records(corpus):
    return make_records(corpus)


def run_mix(root: Path, corpus, records: list[dict] | None, *sets: str) -> Path:
    out = root / "out"
    write_run(out, *corpus)
    if records is not None:
        (out / "synth").mkdir(parents=True)
        pq.write_table(to_table(records, SYNTH_RECORD), out / "synth" / "records-00000-of-00001.parquet")
    args = [x for s in sets for x in ("--set", s)]
    mix.run(["--output", str(out), *args, *LOCAL])
    return out


def manifest(out: Path, stage: str) -> dict:
    return json.loads((out / "shards" / stage / "manifest.json").read_text())


def counts(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "counts" / "mix.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, corpus, records):
    return {
        "plain": run_mix(tmp_path_factory.mktemp("plain"), corpus, None),
        "off": run_mix(tmp_path_factory.mktemp("off"), corpus, records, "mix.synth.include=false"),
        "synth": run_mix(tmp_path_factory.mktemp("synth"), corpus, records, "mix.synth.max_share=null"),
        "capped": run_mix(tmp_path_factory.mktemp("capped"), corpus, records, "mix.synth.max_share=0.02"),
        "capped_sliced": run_mix(
            tmp_path_factory.mktemp("sliced"),
            corpus,
            records,
            "mix.synth.max_share=0.02",
            f"run.local_batch_mb={SLICE_MB}",
        ),
    }


SLICE_MB = 0.1  # local slices: the cap is a share of the whole corpus, not of a slice


@pytest.mark.slow
def test_synthetic_rows_reach_s1_s2_with_provenance_and_manifest_counts(runs, records, corpus):
    out = runs["synth"]
    by_id = {r["id"]: r for r in records}
    langs = {d["id"]: d["lang"] for d in corpus[0]}
    assert not [s for s in manifest(out, "S3")["tokens_by"]["source"] if s.startswith("synth/")]  # not in stages
    for stage in ("S1", "S2"):
        rows = read_rows(str(out / "shards" / stage / "part-*.parquet"), SHARD_ROW)
        synth = [r for r in rows if r["source"].startswith("synth/")]
        assert synth, stage
        assert any(r["provenance"] is None for r in rows)  # curated rows carry none
        for row in synth:
            rec = by_id[row["doc_id"]]
            prov = dict(row["provenance"])
            assert row["source"] == f"synth/{rec['recipe']}"
            assert (prov["recipe"], prov["prompt_version"], prov["seed_id"], prov["model"]) == (
                rec["recipe"],
                rec["prompt_version"],
                rec["seed_id"],
                rec["model"],
            )
            assert row["lang"] == langs.get(rec["seed_id"], "eng_Latn")
            assert row["domain"] == {"math": "stem", "code": "code"}.get(rec["recipe"], row["domain"])
            assert row["n_tokens"] == QwenTokenCounter().count(row["text"])
        if stage == "S2":
            assert {r["source"] for r in synth} == {"synth/math", "synth/code", "synth/explanation"}
            assert all(r["edu_score"] >= 2.5 for r in synth)
        found = {}
        for row in synth:
            found[row["source"]] = found.get(row["source"], 0) + row["n_tokens"]
        sources = manifest(out, stage)["tokens_by"]["source"]
        assert {k: v for k, v in sources.items() if k.startswith("synth/")} == found
    kept = {c["reason"]: c["count"] for c in counts(out) if c["outcome"] == "synth_kept"}
    assert kept == {"math": 10, "code": 10, "explanation": 10}


@pytest.mark.slow
def test_no_synth_files_or_include_off_leaves_the_mix_unchanged(runs):
    for stage in STAGES:
        plain = (runs["plain"] / "shards" / stage / "manifest.json").read_bytes()
        assert plain == (runs["off"] / "shards" / stage / "manifest.json").read_bytes()
        assert "synth/" not in plain.decode()
    assert not [c for c in counts(runs["plain"]) if c["outcome"].startswith("synth")]
    assert manifest(runs["plain"], "S1")["recipe_id"] != manifest(runs["synth"], "S1")["recipe_id"]


@pytest.mark.slow
def test_share_cap_drops_and_counts_synthetic_records(runs, records):
    rows = counts(runs["capped"])
    kept = sum(c["count"] for c in rows if c["outcome"] == "synth_kept")
    capped = sum(c["count"] for c in rows if c["outcome"] == "synth_capped")
    assert kept + capped == len(records) and capped > 0
    synth_rows = {
        r["doc_id"]
        for stage in ("S1", "S2")
        for r in read_rows(str(runs["capped"] / "shards" / stage / "part-*.parquet"), SHARD_ROW)
        if r["source"].startswith("synth/")
    }
    assert len(synth_rows) <= kept


@pytest.mark.slow
def test_sliced_local_mix_caps_the_same_synthetic_records(runs):
    from pipelines.config import load_config
    from pipelines.mix_slices import plan_slices

    one, sliced = runs["capped"], runs["capped_sliced"]
    config = load_config(None, [f"run.output={sliced}", f"run.local_batch_mb={SLICE_MB}"])
    assert plan_slices(config, []) >= 2
    assert sorted(map(json.dumps, counts(one))) == sorted(map(json.dumps, counts(sliced)))
    for stage in ("S1", "S2"):
        rows = [
            sorted(
                (r["doc_id"], r["chunk_index"], r["copy_index"])
                for r in read_rows(str(out / "shards" / stage / "part-*.parquet"), SHARD_ROW)
            )
            for out in (one, sliced)
        ]
        assert rows[0] == rows[1]


def test_synth_document_takes_the_seed_labels_or_defaults():
    rec = synth_record(0, "explanation", "seed-1", "text")
    settings = SynthMix(edu_default=3.5)
    doc = synth_document(rec, settings, "rus_Cyrl", 4.2, "other")
    expected = ("synth/explanation", "rus_Cyrl", 4.2, "other")
    assert (doc["source"], doc["lang"], doc["edu_score"], doc["domain"]) == expected
    assert doc["n_tokens"] is None and doc["provenance"]["seed_id"] == "seed-1"
    doc = synth_document(rec, settings)
    assert (doc["lang"], doc["edu_score"], doc["domain"]) == ("eng_Latn", 3.5, "stem")
    math = synth_document(synth_record(1, "math", "s", "t"), settings, seed_group="other")
    code = synth_document(synth_record(2, "code", "s", "t"), settings, seed_group="other")
    assert (math["domain"], code["domain"]) == ("stem", "code")


def test_synth_weights_and_cap():
    recipes = with_synth_weights(DEFAULT_RECIPES, SynthMix(stages=("S2",), weight=0.25))
    weights = {r.name: r.weights.source["synth/math"] for r in recipes}
    assert weights == {"S1": 0.0, "S2": 0.25, "S3": 0.0}
    assert keep_probability(800, 400, 0.2) == pytest.approx(0.5)  # 200 of 400 synthetic chars: 20% of 1000
    assert keep_probability(800, 100, 0.2) == 1.0
    assert keep_probability(800, 400, None) == 1.0
    with pytest.raises(ValueError, match="unknown"):
        SynthMix.from_config({"weights": 1})
