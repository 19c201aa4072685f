"""MinHash signatures (vectorised, equal to datasketch), the banding curve, LSH band keys and bucket edges."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash

import curation.dedup.minhash as minhash_module
from curation.dedup.keeper import NEW_TIER, OLD_TIER, node_name
from curation.dedup.lsh import bucket_edges
from curation.dedup.minhash import (
    MinHashParams,
    MinHashSigner,
    band_keys,
    detection_curve,
    estimate_jaccard,
    format_curve,
    jaccard,
    shingle_set_from_bytes,
    shingle_set_to_bytes,
    signature_from_bytes,
    signature_to_bytes,
    sorted_set_jaccard,
)
from curation.dedup.shingle_hash import ShingleHasher, shingle_hash
from curation.dedup.shingles import shingles

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "copyright.jsonl"


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def hashed(docs):
    return ShingleHasher().hash_batch([d["text"] for d in docs], [d["script"] for d in docs])


def datasketch_signature(text: str, script: str, params: MinHashParams, **kwargs) -> np.ndarray:
    """datasketch's own MinHash over the reference shingles, hashed by the reference shingle hash (low 32 bits)."""
    m = MinHash(num_perm=params.num_perm, seed=params.seed, hashfunc=lambda s: shingle_hash(s) & 0xFFFFFFFF, **kwargs)
    m.update_batch(shingles(text, script))
    return m.hashvalues


@pytest.mark.parametrize("params", [MinHashParams(), MinHashParams(num_perm=128, bands=16, rows=8, seed=7)])
def test_signatures_equal_datasketch(docs, hashed, params):
    signatures = MinHashSigner(params).sign(hashed)
    assert signatures.shape == (len(docs), params.num_perm) and signatures.dtype == np.uint32
    for d, signature in zip(docs, signatures, strict=True):
        np.testing.assert_array_equal(signature, datasketch_signature(d["text"], d["script"], params))


def test_legacy_scheme_equals_datasketch(docs, hashed):
    params = MinHashParams()
    signatures = MinHashSigner(params, scheme="legacy").sign(hashed)
    assert signatures.dtype == np.uint64
    for d, signature in zip(docs[:10], signatures[:10], strict=True):
        np.testing.assert_array_equal(signature, datasketch_signature(d["text"], d["script"], params, scheme="legacy"))


def test_chunking_across_document_boundaries_does_not_change_signatures(hashed, monkeypatch):
    signer = MinHashSigner(MinHashParams())
    whole = signer.sign(hashed)
    monkeypatch.setattr(minhash_module, "_CHUNK_ROWS", 7)
    np.testing.assert_array_equal(signer.sign(hashed), whole)


def test_empty_documents_get_the_empty_signature_and_batching_is_independent(docs):
    params = MinHashParams()
    signer, hasher = MinHashSigner(params), ShingleHasher()
    texts = ["", docs[0]["text"], " ... ", docs[1]["text"]]
    signatures = signer.sign(hasher.hash_batch(texts, ["Latn"] * 4))
    np.testing.assert_array_equal(signatures[0], MinHash(params.num_perm, seed=params.seed).hashvalues)
    np.testing.assert_array_equal(signatures[2], signatures[0])
    np.testing.assert_array_equal(signatures[3], signer.sign(hasher.hash_batch([docs[1]["text"]], ["Latn"]))[0])
    assert signer.sign(hasher.hash_batch([], [])).shape == (0, params.num_perm)


def test_candidate_probability_follows_the_banding_curve():
    params = MinHashParams()  # 14 bands x 8 rows
    assert params.candidate_probability(0.0) == 0.0
    assert params.candidate_probability(1.0) == 1.0
    assert params.candidate_probability(0.5) == pytest.approx(0.053320, abs=1e-6)
    assert params.candidate_probability(0.7) == pytest.approx(0.564504, abs=1e-6)
    assert params.candidate_probability(0.8) == pytest.approx(0.923548, abs=1e-6)
    assert params.candidate_probability(0.9) == pytest.approx(0.999622, abs=1e-6)
    assert params.threshold == pytest.approx(0.71901, abs=1e-5)


def test_detection_curve_is_printed_for_the_setting():
    params = MinHashParams(num_perm=100, bands=20, rows=5)
    curve = dict(detection_curve(params, (0.5, 0.8)))
    assert curve[0.8] == pytest.approx(1 - (1 - 0.8**5) ** 20)
    line = format_curve(params)
    assert "20 bands x 5 rows" in line and "1-(1-J^5)^20" in line
    assert f"0.80:{curve[0.8]:.3f}" in line and f"0.50:{curve[0.5]:.3f}" in line


def test_params_reject_more_banded_rows_than_permutations_and_unknown_keys():
    with pytest.raises(ValueError, match="exceeds num_perm"):
        MinHashParams(num_perm=100, bands=14, rows=8)
    with pytest.raises(ValueError, match=r"dedup\.shingles"):
        MinHashParams.from_mapping({"num_perm": 112, "ngram": 5})
    assert MinHashParams.from_mapping({"bands": 10, "rows": 10}) == MinHashParams(112, 10, 10, 1)


def test_band_keys_are_stable_and_band_specific():
    params = MinHashParams()
    signature = (np.arange(112, dtype=np.uint64) * 2654435761 % 2**32).astype(np.uint32)
    keys = band_keys(signature, params)
    assert len(keys) == params.bands and len(set(keys)) == params.bands
    # Pinned: keys must not change across machines, numpy versions or releases (persisted buckets stay valid).
    assert keys[0].hex() == "0000c690145e9ed434711cab3fc4ee43f2e3"
    assert keys[1].hex() == "0001db1e8d0a2240f2b41126bb08129a7d50"
    assert keys[-1].hex() == "000d0974d83619c8517d32e6cd1bff83bf8d"
    assert band_keys(signature.astype(np.uint64), params) == keys
    # The same rows in another band give another key; one changed row changes only its band's key.
    constant = np.full(112, 5, dtype=np.uint32)
    assert len(set(band_keys(constant, params))) == params.bands
    changed = signature.copy()
    changed[9] += 1  # row 1 of band 1
    diff = [i for i, (a, b) in enumerate(zip(keys, band_keys(changed, params), strict=True)) if a != b]
    assert diff == [1]


def test_signatures_and_shingle_sets_round_trip_through_bytes(hashed):
    signature = MinHashSigner(MinHashParams()).sign(hashed)[0]
    np.testing.assert_array_equal(signature_from_bytes(signature_to_bytes(signature)), signature)
    assert len(signature_to_bytes(signature)) == 4 * 112
    raw = hashed.hashes[hashed.offsets[0] : hashed.offsets[1]]
    np.testing.assert_array_equal(shingle_set_from_bytes(shingle_set_to_bytes(raw)), np.unique(raw))


def test_estimate_and_exact_set_jaccard_track_true_jaccard_on_real_texts(docs):
    by_package = {d["meta"]["package"]: d for d in docs}
    chosen = [by_package[p] for p in ("libice-dev", "libsm-dev", "tar")]
    batch = ShingleHasher().hash_batch([d["text"] for d in chosen], ["Latn"] * 3)
    sig = MinHashSigner(MinHashParams(num_perm=256, bands=32, rows=8)).sign(batch)
    ice, sm = (set(shingles(d["text"], "Latn")) for d in chosen[:2])
    true = jaccard(ice, sm)
    assert sorted_set_jaccard(batch.shingle_set(0), batch.shingle_set(1)) == pytest.approx(true)
    assert abs(estimate_jaccard(sig[0], sig[1]) - true) < 0.1
    assert estimate_jaccard(sig[0], sig[2]) < 0.1
    assert estimate_jaccard(sig[0], sig[0]) == 1.0


def test_jaccard_of_sets():
    assert jaccard({1, 2, 3}, {2, 3, 4}) == 0.5
    assert jaccard(set(), set()) == 1.0
    assert jaccard({1}, set()) == 0.0
    assert sorted_set_jaccard(np.array([1, 2, 3], np.uint64), np.array([2, 3, 4], np.uint64)) == 0.5
    assert sorted_set_jaccard(np.array([], np.uint64), np.array([], np.uint64)) == 1.0


def test_bucket_edges_are_a_star_from_the_minimum():
    assert sorted(bucket_edges(["c", "a", "d", "b"])) == [("b", "a"), ("c", "a"), ("d", "a")]
    assert list(bucket_edges(["a"])) == []
    assert list(bucket_edges([])) == []


def test_bucket_edges_with_several_centres_link_every_member_to_each_smaller_centre():
    members = ["e", "c", "a", "d", "b"]
    assert sorted(bucket_edges(members, centres=2)) == [
        ("b", "a"),
        ("c", "a"),
        ("c", "b"),
        ("d", "a"),
        ("d", "b"),
        ("e", "a"),
        ("e", "b"),
    ]
    every_pair = sorted(bucket_edges(members, centres=5))
    assert len(every_pair) == 10 and all(a > b for a, b in every_pair)
    assert sorted(bucket_edges(["b", "a", "b"], centres=3)) == [("b", "a"), ("b", "a")]


def test_old_index_members_are_centres_only():
    old_a, old_b = node_name("\x00a", 1, OLD_TIER), node_name("\x00b", 1, OLD_TIER)
    new_c, new_d = node_name("\x00c", 1, NEW_TIER), node_name("\x00d", 1, NEW_TIER)
    assert old_b < new_c  # any old document sorts before any new one
    assert sorted(bucket_edges([new_d, old_b, new_c, old_a])) == [(new_c, old_a), (new_d, old_a)]
    assert list(bucket_edges([old_a, old_b])) == []  # old documents were deduplicated against each other already
    assert sorted(bucket_edges([new_d, old_b, new_c, old_a], centres=2)) == [
        (new_c, old_a),
        (new_c, old_b),
        (new_d, old_a),
        (new_d, old_b),
    ]
