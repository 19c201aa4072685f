"""Every per-record pure step returns normally on any valid Unicode text (control characters, mixed scripts, very
long repeats): normalisation, quality filters, language ID, shingling + MinHash, decontamination, Qwen token counts
and chunks, synth answer extraction and parsing. Real models and indexes, loaded once per module."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation.config_merge import merged_filter_config
from curation.dedup.minhash import MinHashParams, MinHashSigner, band_keys
from curation.dedup.shingle_hash import ShingleHasher, shingle_hash
from curation.dedup.shingles import ShingleConfig, shingles, uses_char_ngrams
from curation.filters import apply_filters, build_filters
from curation.text.normalize import _CONTROLS, content_hash, junk_ratio, normalize
from synth.answers import ExtractedAnswer, equivalent, extract_answer, majority_vote
from synth.parse import CodeItem, MathItem, ParseError, parse_code, parse_math
from tests.fuzz.profile import ROOT, SNIPPETS, fuzz, texts


@pytest.fixture(scope="module")
def config():
    from pipelines.config import load_config

    return load_config()


@pytest.fixture(scope="module")
def lid(config):
    from curation.text.lid_decision import DocumentLanguageIdentifier

    return DocumentLanguageIdentifier.from_config(config["langid"])


@pytest.fixture(scope="module")
def decontam_index(config):
    from curation.decontam import DecontamIndex

    return DecontamIndex.from_config(config["decontam"])


@pytest.fixture(scope="module")
def token_counter():
    from curation.tokens import QwenTokenCounter

    return QwenTokenCounter()


FILTERS = build_filters(merged_filter_config({}))
LANG_SCRIPTS = [
    ("eng_Latn", "Latn"),
    ("deu_Latn", "Latn"),
    ("vie_Latn", "Latn"),
    ("rus_Cyrl", "Cyrl"),
    ("zho_Hans", "Hans"),
    ("zho_Hant", "Hant"),
    ("jpn_Jpan", "Jpan"),
    ("kor_Hang", "Hang"),
    ("arb_Arab", "Arab"),
    ("tha_Thai", "Thai"),
    ("und", "Zyyy"),
    ("und_Zyyy", "Zyyy"),
]


@fuzz(150)
@given(text=texts)
def test_normalize(text):
    result = normalize(text)
    result.text.encode("utf-8")
    assert not _CONTROLS.search(result.text) and "\r" not in result.text
    assert normalize(result.text).text == result.text  # idempotent: a second pass finds nothing to repair
    assert 0.0 <= result.junk <= 1.0 and 0.0 <= junk_ratio(text) <= 1.0
    assert all(isinstance(v, int) and v > 0 for v in result.repairs.values())
    assert len(content_hash(result.text)) == 32


@fuzz(120)
@given(text=texts, pair=st.sampled_from(LANG_SCRIPTS), normalized=st.booleans())
def test_quality_filters(text, pair, normalized):
    if normalized:  # what the pipeline feeds them; raw text must not crash them either
        text = normalize(text).text
    result = apply_filters(FILTERS, text, *pair)
    assert isinstance(result.keep, bool) and (result.keep or result.reason)
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in result.stats.values()), result.stats


@fuzz(60)
@given(
    batch=st.lists(texts, min_size=1, max_size=6),
    declared=st.sampled_from([None, "en", "zh-CN", "pt-BR", "sr@latin", "zho_Hant", "", "not a language!"]),
)
def test_language_id_decides_every_text(lid, batch, declared):
    results = lid.predict_batch(batch, [declared] * len(batch))
    assert len(results) == len(batch)
    for res in results:
        assert isinstance(res.lang, str) and "_" in res.lang and isinstance(res.script, str)
        assert 0.0 <= res.score <= 1.0001 and math.isfinite(res.score)
        second, share = res.second
        assert isinstance(second, str) and 0.0 <= share <= 1.0001


shingle_configs = st.builds(
    ShingleConfig,
    word_ngram=st.integers(1, 6),
    char_ngram=st.integers(1, 6),
    casefold=st.booleans(),
    digits=st.booleans(),
    punctuation=st.booleans(),
    whitespace=st.booleans(),
)
scripts = st.sampled_from([None, "Latn", "Cyrl", "Hans", "Jpan", "Thai", "Arab", "Zyyy"])


@fuzz(120)
@given(batch=st.lists(st.tuples(texts, scripts), min_size=1, max_size=8), config=shingle_configs)
def test_shingle_hashes_and_minhash_signatures(batch, config):
    """The vectorised batch hasher equals the reference shingles hashed one by one (as its module doc promises),
    and every document gets a signature and band keys, whatever its text."""
    hasher = ShingleHasher(config)
    docs, doc_scripts = [t for t, _ in batch], [s for _, s in batch]
    hashed = hasher.hash_batch(docs, doc_scripts)
    assert len(hashed) == len(batch)
    for i, (text, script) in enumerate(batch):
        expected = {shingle_hash(s, uses_char_ngrams(script)) for s in shingles(text, script, config)}
        assert set(hashed.shingle_set(i).tolist()) == expected
    params = MinHashParams()
    signatures = MinHashSigner(params).sign(hashed)
    assert signatures.shape == (len(batch), params.num_perm)
    for i in range(len(batch)):
        keys = band_keys(signatures[i], params)
        assert len(keys) == params.bands and len(set(keys)) == params.bands
    alone = MinHashSigner(params).sign(hasher.hash_batch(docs[-1:], doc_scripts[-1:]))
    assert np.array_equal(alone[0], signatures[-1])  # a document's signature does not depend on its batch


@fuzz(100)
@given(text=texts)
def test_decontam_check(decontam_index, text):
    hit = decontam_index.check(text)
    assert hit is None or (hit.benchmark and hit.item_id and hit.reason)


@fuzz(100)
@given(text=texts, max_tokens=st.sampled_from([1, 3, 4, 17, 300]), min_tokens=st.sampled_from([0, 3]))
def test_qwen_token_counts_and_chunks(token_counter, text, max_tokens, min_tokens):
    n = token_counter.count(text)
    assert token_counter.count_batch([text, text[: len(text) // 2]])[0] == n
    pieces = token_counter.chunk(text, max_tokens, min_tokens)
    for piece, n_piece in pieces:
        assert piece and n_piece == token_counter.count(piece)
        if max_tokens >= 4:
            assert n_piece <= max_tokens
    if min_tokens == 0:
        assert "".join(p for p, _ in pieces) == text


@pytest.mark.parametrize("text", ["00000000000 bree0", " bree,3breeghd bree8", "2.d,,fh 7bree; breeb"])
def test_qwen_chunks_with_a_budget_of_two_tokens(token_counter, text):
    pieces = token_counter.chunk(text, 2)
    assert "".join(p for p, _ in pieces) == text


answers = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["1/2", "0.5", "\\frac{1}{2}", "x = 3", "3", "-7", "2^{10}", "\\sqrt{2}", "1,000", "π", "∞"]),
)
math_texts = st.one_of(
    texts,
    st.lists(
        st.one_of(
            st.sampled_from(
                ["Problem:", "Solution:", "Answer:", "\\boxed{", "}", "{", "final answer is", "**Answer:**", "\n"]
            ),
            answers,
        ),
        max_size=25,
    ).map(" ".join),
)


@fuzz(150)
@given(text=math_texts, last_number=st.booleans())
def test_answer_extraction(text, last_number):
    got = extract_answer(text, allow_last_number=last_number)
    assert got is None or (isinstance(got, ExtractedAnswer) and got.method in ("boxed", "marker", "last_number"))


@fuzz(40)
@given(a=answers, b=answers)
def test_answer_equivalence_and_vote(a, b):
    assert isinstance(equivalent(a, b), bool)
    vote = majority_vote([a, None, b])
    assert vote.n_samples == 3 and 0.0 <= vote.agreement <= 1.0


CODE_PIECES = ["Task: t", "```python\n", "```\n", "```", "def f(x):\n", "    return x\n", "assert f(1) == 1\n"]
CODE_PIECES += ["def test_a():\n", "{", '"function": "def g(): pass"', '"tests": "assert g() is None"', "\x00"]
code_texts = st.one_of(
    texts,
    st.lists(
        st.one_of(
            st.sampled_from(CODE_PIECES),
            st.sampled_from(SNIPPETS),
            st.text(max_size=20),
        ),
        max_size=20,
    ).map("".join),
)


@fuzz(150)
@given(text=st.one_of(math_texts, code_texts))
def test_synth_parsers_parse_or_say_why(text):
    # parse_math only sees the first 300 characters: longer runs of blank lines take it minutes (see below)
    for parse, kind, arg in ((parse_math, MathItem, text[:300]), (parse_code, CodeItem, text)):
        try:
            item = parse(arg)
        except ParseError as err:
            assert err.reason
        else:
            assert isinstance(item, kind)


DEEP = [
    "```python\ndef f():\n    return 1" + "+1" * 10_000 + "\n```",  # RecursionError in ast.parse
    "```python\ndef f():\n    return " + "-" * 10_000 + "1\n```",  # MemoryError in ast.parse (CPython 3.11 parser)
]


@pytest.mark.parametrize("text", DEEP, ids=["recursion", "memory"])
def test_parse_code_on_deeply_nested_code_is_a_parse_error(text):
    try:
        parse_code(text)
    except ParseError:
        pass


def test_parse_math_on_a_run_of_blank_lines_returns_quickly():
    code = "from synth.parse import ParseError, parse_math\ntry:\n    parse_math('\\n' * 3000)\n"
    code += "except ParseError:\n    pass"
    try:
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("parse_math took more than 5 s on 3,000 newlines")
