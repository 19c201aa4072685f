"""Vectorised shingle hashing equals hashing the reference shingles one by one, on real texts in several scripts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from curation.dedup.shingle_hash import ShingleHasher, shingle_hash
from curation.dedup.shingles import ShingleConfig, shingles, uses_char_ngrams

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "copyright.jsonl"
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "text"
SCRIPT_OF_LANG = {"ja": "Jpan", "zh-CN": "Hans", "ru": "Cyrl", "uk": "Cyrl", "ar": "Arab"}


@pytest.fixture(scope="module")
def texts() -> list[tuple[str, str]]:
    """(text, script): Debian copyright notices, SPDX licences and man pages in 15 languages (CJK included)."""
    out = [(d["text"], d["script"]) for d in map(json.loads, FIXTURES.read_text(encoding="utf-8").splitlines())]
    for name in ("licenses.jsonl", "manpages.jsonl"):
        for line in (SAMPLE / name).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            out.append((record["text"], SCRIPT_OF_LANG.get(record.get("lang"), "Latn")))
    assert {"Jpan", "Hans", "Cyrl"} <= {script for _, script in out}
    return out


def reference_sets(texts, config: ShingleConfig) -> list[set[int]]:
    return [
        {shingle_hash(s, uses_char_ngrams(script)) for s in shingles(text, script, config)} for text, script in texts
    ]


@pytest.mark.parametrize(
    "config",
    [
        ShingleConfig(),
        ShingleConfig(word_ngram=3, char_ngram=2),
        ShingleConfig(casefold=False, digits=False, punctuation=False, whitespace=False),
        ShingleConfig(word_ngram=1, char_ngram=1),
    ],
)
def test_batch_hashes_are_the_reference_shingles_hashed_one_by_one(texts, config):
    batch = ShingleHasher(config).hash_batch([t for t, _ in texts], [s for _, s in texts])
    assert len(batch) == len(texts)
    for i, expected in enumerate(reference_sets(texts, config)):
        got = batch.hashes[batch.offsets[i] : batch.offsets[i + 1]]
        assert set(got.tolist()) == expected, i
        np.testing.assert_array_equal(batch.shingle_set(i), np.array(sorted(expected), dtype=np.uint64))


def test_one_hash_per_ngram_position_and_none_for_empty_texts():
    hasher = ShingleHasher()
    words = "one two three four five six seven"
    batch = hasher.hash_batch(
        ["", words, " ... ", "two words", "一二三四五六七"], ["Latn", "Latn", "Latn", "Latn", "Hans"]
    )
    assert batch.counts().tolist() == [0, 3, 0, 1, 3]
    assert batch.hashes[batch.offsets[3]] == shingle_hash(b"two words")
    assert batch.hashes[batch.offsets[4]] == shingle_hash("一二三四五".encode(), char_ngrams=True)


def test_a_document_hashes_the_same_alone_and_in_any_batch(texts):
    hasher = ShingleHasher()
    together = hasher.hash_batch([t for t, _ in texts[:20]], [s for _, s in texts[:20]])
    for i in (0, 7, 19):
        alone = hasher.hash_batch([texts[i][0]], [texts[i][1]])
        np.testing.assert_array_equal(alone.hashes, together.hashes[together.offsets[i] : together.offsets[i + 1]])


def test_word_and_character_modes_differ_and_hashes_spread():
    assert shingle_hash("数据".encode(), char_ngrams=True) != shingle_hash("数据".encode())
    one_word = ShingleConfig(word_ngram=1, digits=False)
    hashes = ShingleHasher(one_word).hash_batch([" ".join(f"w{i}" for i in range(5000))], ["Latn"])
    low = (hashes.hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    assert len(np.unique(low)) == 5000
    assert 0.45 < np.mean(low & np.uint32(1)) < 0.55  # the low bits MinHash uses are not biased
