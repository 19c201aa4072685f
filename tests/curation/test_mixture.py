"""Stage eligibility, length buckets, bucket rates and deterministic instance rows on real text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import schemas
from curation.mixture import (
    DEFAULT_STAGES,
    LengthBucket,
    StageSpec,
    bucket_of,
    bucket_rates,
    doc_bucket,
    eligible,
    instance_rate,
    instance_rows,
    mixture_summary,
    n_copies,
    stage_specs_from_config,
    stage_tokens,
)
from curation.tokens import QwenTokenCounter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mixture"
FAQ = (FIXTURES / "debian-faq.en.txt").read_text(encoding="utf-8")
ZH = (FIXTURES / "ls.1.zh_CN.txt").read_text(encoding="utf-8")
S1, S2, S3 = DEFAULT_STAGES


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


def test_default_stages_follow_the_qwen3_recipe():
    assert [s.name for s in DEFAULT_STAGES] == ["S1", "S2", "S3"]
    assert (S1.seq_len, S2.seq_len, S3.seq_len) == (4096, 4096, 32768)
    assert S2.min_edu_score is not None and S1.min_edu_score is None
    assert {b.name: b.share for b in S3.buckets} == {"4k-16k": 0.25, "16k-32k": 0.75}
    assert S3.min_tokens == 4096 and not S3.chunk_long_docs


def test_eligibility_by_length_edu_score_and_domain():
    doc = {"id": "d", "n_tokens": 5000, "edu_score": 3.4}
    assert eligible(doc, S1) and eligible(doc, S2) and eligible(doc, S3)
    assert not eligible({**doc, "edu_score": 2.9}, S2)
    assert not eligible({**doc, "edu_score": None}, S2)
    assert eligible({**doc, "edu_score": None}, S1)
    assert not eligible({**doc, "n_tokens": 4095}, S3)
    assert eligible({**doc, "n_tokens": 100_000}, S3)  # windowed, not dropped
    assert not eligible({**doc, "n_tokens": 0}, S1)
    stem = StageSpec("S2", 4096, min_edu_score=3.0, domains=("stem", "code"))
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
    assert doc_bucket(90_000, StageSpec("X", 32768, buckets=S3.buckets)) is None  # chunked stage: its own length
    assert stage_tokens(3000, S1) == 3000 and stage_tokens(90_000, S1) == 90_000
    assert stage_tokens(20_000, S3) == 20_000
    assert stage_tokens(70_000, S3) == 2 * 32768  # remainder 4_464 is below the 16k-32k bucket
    assert stage_tokens(60_000, S3) == 60_000
    assert stage_tokens(10**7, S3) == 4 * 32768  # max_windows


def test_bucket_rates_hit_the_shares_in_expectation_on_skewed_totals():
    for totals in ({"4k-16k": 9_000_000_000, "16k-32k": 1_000_000_000}, {"4k-16k": 120_000, "16k-32k": 8_000_000}):
        rates = bucket_rates(totals, S3)
        taken = {b: rates[b] * totals[b] for b in totals}
        total = sum(taken.values())
        assert taken["16k-32k"] / total == pytest.approx(0.75)
        assert taken["4k-16k"] / total == pytest.approx(0.25)
        assert max(rates.values()) == pytest.approx(1.0)  # the scarce bucket is taken whole ...
        assert all(0 < r <= 1.0 for r in rates.values())  # ... the other downsampled, never above the cap
    assert bucket_rates({"4k-16k": 9_000_000_000, "16k-32k": 1_000_000_000}, S3)["4k-16k"] == pytest.approx(1 / 27)


def test_bucket_rates_with_upsampling_missing_buckets_and_errors():
    up = StageSpec("S3", 32768, min_tokens=4096, buckets=S3.buckets, sample_rate=3.0, max_repeats=2)
    rates = bucket_rates({"4k-16k": 1_000, "16k-32k": 1_000}, up)
    assert rates["16k-32k"] == pytest.approx(2.0)  # capped at max_repeats, not sample_rate
    assert rates["4k-16k"] == pytest.approx(2.0 / 3)
    assert bucket_rates({"4k-16k": 5_000}, S3) == {"4k-16k": 1.0, "16k-32k": 1.0}
    assert bucket_rates({}, S3) == {"4k-16k": 1.0, "16k-32k": 1.0}
    assert bucket_rates({"4k-16k": 10, "16k-32k": 0}, S3)["4k-16k"] == 1.0
    with pytest.raises(ValueError, match="unknown"):
        bucket_rates({"8k": 10}, S3)


def test_copies_are_deterministic_and_match_the_rate():
    ids = [f"doc-{i}" for i in range(20_000)]
    copies = [n_copies(i, S1, 0.3, seed=1) for i in ids]
    assert copies == [n_copies(i, S1, 0.3, seed=1) for i in ids]
    assert sum(copies) / len(ids) == pytest.approx(0.3, abs=0.015)
    assert copies != [n_copies(i, S1, 0.3, seed=2) for i in ids]
    up = StageSpec("S2", 4096, max_repeats=3)
    up_copies = [n_copies(i, up, 1.4, seed=1) for i in ids]
    assert set(up_copies) == {1, 2}
    assert sum(up_copies) / len(ids) == pytest.approx(1.4, abs=0.015)
    assert {n_copies(i, up, 7.5, seed=1) for i in ids[:50]} == {3}  # capped at max_repeats
    assert n_copies("x", S1, 0.0, seed=1) == 0
    # stages draw independently
    assert [n_copies(i, S1, 0.5, 1) for i in ids[:200]] != [n_copies(i, S2, 0.5, 1) for i in ids[:200]]


def test_instance_rows_are_deterministic_valid_and_unique(counter):
    docs = [
        make_doc("faq", FAQ, counter, edu=3.5),
        make_doc("zh-ls", ZH, counter, edu=2.0, lang="zho_Hans"),
        make_doc("faq-part", FAQ[:60_000], counter, edu=4.1),
    ]
    assert docs[0]["n_tokens"] > 32768 and 4096 < docs[2]["n_tokens"] < 16384
    rows = []
    for spec in DEFAULT_STAGES:
        for doc in docs:
            rate = instance_rate(doc, spec, {"4k-16k": 1.0, "16k-32k": 1.0})
            once = instance_rows(doc, spec, rate, seed=0, counter=counter)
            assert once == instance_rows(doc, spec, rate, seed=0, counter=counter)
            rows += once
    for row in rows:
        assert schemas.validate_record(row, schemas.SHARD_ROW) == row
    assert len({r["id"] for r in rows}) == len(rows)
    by_stage = {s.name: [r for r in rows if r["stage"] == s.name] for s in DEFAULT_STAGES}
    assert {r["doc_id"] for r in by_stage["S2"]} == {"faq", "faq-part"}  # zh-ls has edu 2.0
    assert {r["doc_id"] for r in by_stage["S3"]} == {"faq", "faq-part"}  # zh-ls is < 4K tokens
    faq_s1 = [r for r in by_stage["S1"] if r["doc_id"] == "faq"]
    assert "".join(r["text"] for r in faq_s1) == FAQ
    assert [r["chunk_index"] for r in faq_s1] == list(range(len(faq_s1)))
    assert all(r["n_tokens"] <= 4096 for r in by_stage["S1"] + by_stage["S2"])
    faq_s3 = [r for r in by_stage["S3"] if r["doc_id"] == "faq"]
    assert len(faq_s3) == 1 and FAQ.startswith(faq_s3[0]["text"])  # one 32K window; the 9K tail is dropped
    assert faq_s3[0]["length_bucket"] == "16k-32k" and 26_000 < faq_s3[0]["n_tokens"] <= 32768
    part_s3 = [r for r in by_stage["S3"] if r["doc_id"] == "faq-part"]
    assert [(r["length_bucket"], r["text"]) for r in part_s3] == [("4k-16k", FAQ[:60_000])]
    assert all(r["edu_score"] is None or isinstance(r["edu_score"], float) for r in rows)


def test_instance_rows_upsample_windows_and_skip(counter):
    text = (FAQ + "\n\n" + FAQ)[:-10_000]  # ~80K tokens: two full windows + a <16K remainder (other bucket)
    doc = make_doc("faq", text, counter, edu=4.0)
    windows = StageSpec("S3", 32768, min_tokens=4096, buckets=S3.buckets, chunk_long_docs=False, max_repeats=2)
    rows = instance_rows(doc, windows, 2.0, seed=3, counter=counter)
    assert [(r["chunk_index"], r["copy_index"]) for r in rows] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert all(r["length_bucket"] == "16k-32k" and r["n_tokens"] <= 32768 for r in rows)
    assert rows[0]["text"] + rows[1]["text"] == text[: len(rows[0]["text"] + rows[1]["text"])]
    one = StageSpec("S3", 32768, min_tokens=4096, buckets=S3.buckets, chunk_long_docs=False, max_windows=1)
    assert len(instance_rows(doc, one, 1.0, seed=3, counter=counter)) == 1
    assert instance_rows(doc, S1, 0.0, seed=3, counter=counter) == []
    assert instance_rows({**doc, "edu_score": 1.0}, S2, 1.0, seed=3, counter=counter) == []


def test_stage_specs_from_config():
    specs = stage_specs_from_config(
        [
            {"name": "S1"},
            {"name": "S2", "min_edu_score": 3.5, "domains": ["stem", "code"], "sample_rate": 2.0, "max_repeats": 2},
            {
                "name": "S3",
                "buckets": [
                    {"name": "4k-16k", "min_tokens": 4096, "max_tokens": 16384, "share": 0.4},
                    {"name": "16k-32k", "min_tokens": 16384, "max_tokens": 32768, "share": 0.6},
                ],
            },
            {"name": "S4", "seq_len": 131072, "min_tokens": 32768},
        ]
    )
    assert specs[0] == S1
    assert specs[1].min_edu_score == 3.5 and specs[1].domains == ("stem", "code") and specs[1].peak_rate == 2.0
    assert specs[2].buckets[0] == LengthBucket("4k-16k", 4096, 16384, 0.4) and specs[2].seq_len == 32768
    assert specs[3].seq_len == 131072 and not specs[3].buckets
    for bad in (
        [{"name": "S1", "seqlen": 10}],
        [{"name": "S9"}],
        [{"seq_len": 10}],
        [{"name": "S1"}, {"name": "S1"}],
        [{"name": "S3", "buckets": [{"name": "a", "min_tokens": 1, "max_tokens": 2, "share": 0.5}]}],
        [{"name": "S1", "buckets": [{"name": "a", "min_tokens": 1, "max_tokens": 9000, "share": 1.0}]}],
    ):
        with pytest.raises(ValueError):
            stage_specs_from_config(bad)


def test_mixture_summary_counts_tokens_buckets_and_languages(counter):
    docs = [make_doc("faq-part", FAQ[:60_000], counter, edu=4.1), make_doc("zh", ZH, counter, lang="zho_Hans")]
    rows = [r for spec in (S1, S3) for d in docs for r in instance_rows(d, spec, 1.0, 0, counter)]
    summary = mixture_summary(rows)
    s1, s3 = summary["stages"]["S1"], summary["stages"]["S3"]
    assert s1["tokens"] == docs[0]["n_tokens"] + docs[1]["n_tokens"]
    assert s1["instances"] == len([r for r in rows if r["stage"] == "S1"])
    assert s1["lang_token_shares"]["zho_Hans"] == pytest.approx(docs[1]["n_tokens"] / s1["tokens"])
    assert sum(s1["lang_token_shares"].values()) == pytest.approx(1.0)
    assert s3["buckets"] == {"4k-16k": {"instances": 1, "tokens": docs[0]["n_tokens"], "token_share": 1.0}}
    assert summary["total_tokens"] == s1["tokens"] + s3["tokens"]
    assert mixture_summary([]) == {"stages": {}, "total_tokens": 0}
