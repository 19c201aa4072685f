"""MinHash signatures (vectorised, equal to datasketch), LSH banding and bucket edges."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash

import curation.dedup.minhash as minhash_module
from curation.dedup.lsh import bucket_edges, verified_bucket_edges
from curation.dedup.minhash import MinHashParams, MinHashSigner, band_keys, estimate_jaccard, jaccard
from curation.dedup.shingles import shingles

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "copyright.jsonl"


@pytest.fixture(scope="module")
def fixture_shingles() -> list[list[bytes]]:
    docs = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    return [shingles(d["text"], d["script"]) for d in docs]


def datasketch_signature(grams: list[bytes], params: MinHashParams, **kwargs) -> np.ndarray:
    m = MinHash(num_perm=params.num_perm, seed=params.seed, **kwargs)
    m.update_batch(grams)
    return m.hashvalues


@pytest.mark.parametrize("params", [MinHashParams(), MinHashParams(num_perm=128, bands=16, rows=8, seed=7)])
def test_signatures_equal_datasketch(fixture_shingles, params):
    signatures = MinHashSigner(params).sign_batch(fixture_shingles)
    assert signatures.shape == (len(fixture_shingles), params.num_perm)
    for grams, signature in zip(fixture_shingles, signatures, strict=True):
        np.testing.assert_array_equal(signature, datasketch_signature(grams, params))


def test_legacy_scheme_equals_datasketch(fixture_shingles):
    params = MinHashParams()
    signer = MinHashSigner(params, scheme="legacy")
    signatures = signer.sign_batch(fixture_shingles[:10])
    assert signatures.dtype == np.uint64
    for grams, signature in zip(fixture_shingles[:10], signatures, strict=True):
        np.testing.assert_array_equal(signature, datasketch_signature(grams, params, scheme="legacy"))


def test_chunking_across_document_boundaries_does_not_change_signatures(fixture_shingles, monkeypatch):
    signer = MinHashSigner(MinHashParams())
    whole = signer.sign_batch(fixture_shingles[:8])
    monkeypatch.setattr(minhash_module, "_CHUNK_ROWS", 7)
    np.testing.assert_array_equal(signer.sign_batch(fixture_shingles[:8]), whole)


def test_empty_documents_get_the_empty_signature_and_batching_is_independent(fixture_shingles):
    params = MinHashParams()
    signer = MinHashSigner(params)
    batch = [[], fixture_shingles[0], [], fixture_shingles[1]]
    signatures = signer.sign_batch(batch)
    np.testing.assert_array_equal(signatures[0], MinHash(params.num_perm, seed=params.seed).hashvalues)
    np.testing.assert_array_equal(signatures[2], signatures[0])
    np.testing.assert_array_equal(signatures[3], signer.sign_batch([fixture_shingles[1]])[0])
    assert signer.sign_batch([]).shape == (0, params.num_perm)


def test_candidate_probability_follows_the_banding_curve():
    params = MinHashParams()  # 14 bands x 8 rows
    assert params.candidate_probability(0.0) == 0.0
    assert params.candidate_probability(1.0) == 1.0
    assert params.candidate_probability(0.5) == pytest.approx(0.053320, abs=1e-6)
    assert params.candidate_probability(0.7) == pytest.approx(0.564504, abs=1e-6)
    assert params.candidate_probability(0.8) == pytest.approx(0.923548, abs=1e-6)
    assert params.candidate_probability(0.9) == pytest.approx(0.999622, abs=1e-6)
    assert params.threshold == pytest.approx(0.71901, abs=1e-5)


def test_params_reject_more_banded_rows_than_permutations():
    with pytest.raises(ValueError, match="exceeds num_perm"):
        MinHashParams(num_perm=100, bands=14, rows=8)


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


def test_estimate_tracks_true_jaccard_on_real_texts(fixture_shingles):
    signer = MinHashSigner(MinHashParams(num_perm=256, bands=32, rows=8))
    a, b, c = fixture_shingles[0], fixture_shingles[2], fixture_shingles[-1]  # libice-dev, libsm-dev, tar
    sig = signer.sign_batch([a, b, c])
    assert abs(estimate_jaccard(sig[0], sig[1]) - jaccard(set(a), set(b))) < 0.1
    assert estimate_jaccard(sig[0], sig[2]) < 0.1
    assert estimate_jaccard(sig[0], sig[0]) == 1.0


def test_jaccard_of_sets():
    assert jaccard({1, 2, 3}, {2, 3, 4}) == 0.5
    assert jaccard(set(), set()) == 1.0
    assert jaccard({1}, set()) == 0.0


def test_bucket_edges_are_a_star_from_the_minimum():
    assert sorted(bucket_edges(["c", "a", "d", "b"])) == [("b", "a"), ("c", "a"), ("d", "a")]
    assert list(bucket_edges(["a"])) == []
    assert list(bucket_edges([])) == []


def test_verified_bucket_edges_split_dissimilar_members():
    base = np.arange(100, dtype=np.uint32)
    near_base = base.copy()
    near_base[:5] += 1000  # estimate 0.95
    other = base + 5000  # estimate 0.0
    near_other = other.copy()
    near_other[:10] += 1  # estimate 0.9
    members = [("d", near_other), ("a", base), ("c", other), ("b", near_base)]
    assert verified_bucket_edges(members, 0.8) == [("b", "a"), ("d", "c")]
    assert verified_bucket_edges(members, 0.95) == [("b", "a")]
