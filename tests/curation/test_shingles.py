"""Shingling: canonical form, word n-grams for spaced scripts, character n-grams for scripts without spaces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.dedup.minhash import jaccard
from curation.dedup.shingles import NO_SPACE_SCRIPTS, ShingleConfig, normalize_for_shingles, shingles

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "dedup" / "copyright.jsonl"


@pytest.fixture(scope="module")
def copyright_texts() -> dict[str, str]:
    docs = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    return {d["meta"]["package"]: d["text"] for d in docs}


def test_normalize_casefolds_zeroes_digits_drops_punctuation_and_collapses_space():
    text = "Copyright (C) 2019-2023  Free Software Foundation, Inc.\n\tStraße ٢٠٢٤!"
    assert normalize_for_shingles(text) == "copyright c 0000 0000 free software foundation inc strasse 0000"


def test_normalize_flags_can_be_turned_off():
    text = "A  B, 12"
    assert normalize_for_shingles(text, casefold=False) == "A B 00"
    assert normalize_for_shingles(text, digits=False) == "a b 12"
    assert normalize_for_shingles(text, punctuation=False) == "a b, 00"
    assert normalize_for_shingles(text, whitespace=False) == "a  b  00"


def test_word_shingles_of_a_spaced_script():
    text = "The quick brown fox jumps over the lazy dog."
    grams = shingles(text, "Latn", ShingleConfig(word_ngram=5))
    assert grams[0] == b"the quick brown fox jumps"
    assert grams[-1] == b"jumps over the lazy dog"
    assert len(grams) == 9 - 5 + 1
    assert all(isinstance(g, bytes) for g in grams)


def test_shingles_are_distinct_and_in_first_seen_order():
    grams = shingles("a b a b a b a b", "Latn", ShingleConfig(word_ngram=2))
    assert grams == [b"a b", b"b a"]


def test_short_text_gives_one_shingle_of_the_whole_text():
    assert shingles("Hello,   World!", "Latn") == [b"hello world"]
    assert shingles("你好", "Hans") == ["你好".encode()]


def test_empty_text_gives_no_shingles():
    assert shingles("", "Latn") == []
    assert shingles(" ... ", "Latn") == []


def test_cjk_uses_character_ngrams_and_ignores_spaces():
    text = "数据清洗是训练语言模型的重要步骤。"
    grams = shingles(text, "Hans")
    chars = "数据清洗是训练语言模型的重要步骤"
    assert grams[0] == chars[:5].encode()
    assert len(grams) == len(chars) - 5 + 1
    assert shingles("数据清洗 是训练", "Hans") == shingles("数据清洗是训练", "Hans")
    assert len(shingles(text, "Hans", ShingleConfig(char_ngram=3))) == len(chars) - 3 + 1
    # Without the script, the unspaced sentence is one "word": a single shingle, useless for near-dedup.
    assert len(shingles(text, "Latn")) == 1


def test_thai_and_japanese_are_no_space_scripts():
    for script in ("Hani", "Hans", "Hant", "Jpan", "Thai", "Laoo", "Khmr", "Mymr"):
        assert script in NO_SPACE_SCRIPTS
    assert "Latn" not in NO_SPACE_SCRIPTS and "Kore" not in NO_SPACE_SCRIPTS
    thai = "ภาษาไทยไม่เว้นวรรคระหว่างคำ"
    assert len(shingles(thai, "Thai")) == len(thai) - 5 + 1


def test_real_near_duplicate_notices_share_most_shingles(copyright_texts):
    # libICE and libSM ship the same X.Org licence with other holders and years.
    ice = set(shingles(copyright_texts["libice-dev"], "Latn"))
    sm = set(shingles(copyright_texts["libsm-dev"], "Latn"))
    bash = set(shingles(copyright_texts["bash"], "Latn"))
    assert jaccard(ice, sm) > 0.8
    assert jaccard(ice, bash) < 0.1


def test_config_switches_change_what_counts_as_the_same_shingle():
    a, b = "Copyright 2019 The Authors; all rights", "copyright 2023 the authors, all  rights"
    assert shingles(a, "Latn") == shingles(b, "Latn")
    assert shingles(a, "Latn", ShingleConfig(digits=False)) != shingles(b, "Latn", ShingleConfig(digits=False))
    assert shingles(a, "Latn", ShingleConfig(casefold=False)) != shingles(b, "Latn", ShingleConfig(casefold=False))
    no_punct = ShingleConfig(punctuation=False)
    assert shingles(a, "Latn", no_punct) != shingles(b, "Latn", no_punct)
    # Without whitespace collapsing, a double space is an empty word: the layout now matters.
    spaced = ShingleConfig(whitespace=False, word_ngram=2)
    assert shingles("all  rights", "Latn", spaced) == [b"all ", b" rights"]
    assert shingles("all rights", "Latn", spaced) == [b"all rights"]


def test_config_from_mapping_rejects_unknown_keys_and_describes_itself():
    config = ShingleConfig.from_mapping({"word_ngram": 7, "digits": False})
    assert config == ShingleConfig(word_ngram=7, digits=False)
    assert config.describe() == "w7c5f1011"
    assert ShingleConfig.from_mapping(None) == ShingleConfig()
    with pytest.raises(ValueError, match="ngram"):
        ShingleConfig.from_mapping({"ngram": 5})
    with pytest.raises(ValueError, match="positive"):
        ShingleConfig(word_ngram=0)
