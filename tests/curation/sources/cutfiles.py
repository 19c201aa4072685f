"""Test helpers for the source readers: compress real bytes, cut them, and count independently what a cut file still
holds; the lines of a byte string as the line reader must give them; whether a parsed record is storable text.

``recoverable`` decodes a cut stream with the codec's own incremental decompressor, which hands out every byte it
can decode before the input ends (and raises nothing for a cut): that is what a reader *could* recover. A record
counts as present before the cut only when its terminating newline is in those bytes.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import zlib
from functools import lru_cache

import zstandard

KINDS = ("gzip", "bzip2", "xz", "zstd")
SUFFIX = {"gzip": ".gz", "bzip2": ".bz2", "xz": ".xz", "zstd": ".zst"}


@lru_cache(maxsize=32)
def compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "bzip2":
        return bz2.compress(data, compresslevel=1)  # 100 kB blocks: a cut file still holds whole blocks
    if kind == "xz":
        return lzma.compress(data)
    if kind == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    raise ValueError(kind)


def recoverable(cut: bytes, kind: str) -> bytes:
    """Every decompressed byte a streaming decoder yields from ``cut`` (the bytes before the break)."""
    out = []
    data = cut
    while data:
        if kind == "gzip":
            d = zlib.decompressobj(wbits=31)
        elif kind == "bzip2":
            d = bz2.BZ2Decompressor()
        elif kind == "xz":
            d = lzma.LZMADecompressor()
        else:
            d = zstandard.ZstdDecompressor().decompressobj()
        out.append(d.decompress(data))
        if not getattr(d, "eof", False):
            break
        data = d.unused_data
    return b"".join(out)


def complete_lines(prefix: bytes) -> list[bytes]:
    """The lines whose newline is in ``prefix`` (the piece after the last newline is cut or empty)."""
    return prefix.split(b"\n")[:-1]


def non_blank(lines: list[bytes]) -> int:
    """Records among ``lines``: the reader skips blank separator lines (``bytes.strip()`` empty)."""
    return sum(1 for line in lines if line.strip())


def reference_lines(data: bytes) -> list[tuple[int, bytes]]:
    """``data.split(b"\\n")`` with each piece's offset; a trailing CR dropped; no line after a final newline."""
    out, pos = [], 0
    pieces = data.split(b"\n")
    for i, piece in enumerate(pieces):
        if i == len(pieces) - 1 and not piece:
            break
        out.append((pos, piece[:-1] if piece.endswith(b"\r") else piece))
        pos += len(piece) + 1
    return out


def strings(value):
    """Every string in a parsed JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)


def assert_storable(record: dict) -> None:
    """Every string encodes as strict UTF-8 (no surrogate left), and so does the record as JSON."""
    for s in strings(record):
        s.encode("utf-8")
    json.dumps(record, ensure_ascii=False).encode("utf-8")
