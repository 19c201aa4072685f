"""Lines of a text file in byte ranges, so one big uncompressed JSONL file spreads over many workers.

A line belongs to the range its first byte falls in: a reader of ``[start, end)`` starts at ``start - 1``, drops the
partial line it lands in, and reads on past ``end`` to finish the last line it started. Files with a UTF-16/UTF-32
byte-order mark (and compressed files, which cannot be seeked) are read whole and decoded per file, so a UTF-16
record is one record, not two halves split at a 0x0A byte. A line longer than ``max_line_bytes`` is reported by its
first bytes and skipped without holding it in memory.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from curation.sources.compression import SourceError

# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
BOM_LENGTHS = {encoding: len(mark) for mark, encoding in BOMS}
DEFAULT_MAX_LINE_BYTES = 256 << 20
LONG_LINE_PREFIX = 256
CHUNK = 1 << 20


def bom_of(head: bytes) -> tuple[str | None, int]:
    """The encoding a byte-order mark at the start of ``head`` declares, and the mark's length."""
    for mark, encoding in BOMS:
        if head.startswith(mark):
            return encoding, len(mark)
    return None, 0


@dataclass(frozen=True)
class LineRange:
    """Lines of ``path`` that start in ``[start, end)``; ``end`` None reads to the end of the file."""

    path: str
    start: int = 0
    end: int | None = None


def plan_ranges(path: str, size: int, whole: bool, split_bytes: int) -> list[LineRange]:
    """One range for a small, compressed or BOM-encoded file (``whole``); else the fewest ranges of at most
    ``split_bytes``, all of one size (a 17 MB file in 16 MB ranges is two of 8.5 MB, not 16 + 1: ranges of one size
    spread evenly over the workers)."""
    if whole or size <= split_bytes or split_bytes <= 0:
        return [LineRange(path)]
    n = -(-size // split_bytes)
    return [LineRange(path, size * k // n, None if k == n - 1 else size * (k + 1) // n) for k in range(n)]


@dataclass(frozen=True)
class Line:
    """One line without its newline (and a trailing CR); ``too_long``: only the first bytes, the rest skipped."""

    offset: int
    data: bytes
    too_long: bool = False


def iter_lines(
    stream: BinaryIO,
    start: int = 0,
    end: int | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    chunk: int = CHUNK,
) -> Iterator[Line]:
    """Lines starting in ``[start, end)`` of a byte stream positioned at ``max(start - 1, 0)``."""
    pos = max(start - 1, 0)  # absolute offset of the next byte read
    skip = start > 0  # the line in progress began before ``start``: the previous range owns it
    pending: list[bytes] = []  # pieces of the line in progress
    pending_len = 0
    line_start = pos
    cut = False
    while True:
        data = stream.read(chunk)
        if not data:
            break
        pieces = data.split(b"\n")
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            if not skip and not cut:
                pending.append(piece)
                pending_len += len(piece)
                if pending_len > max_line_bytes:
                    yield Line(line_start, b"".join(pending)[:LONG_LINE_PREFIX], True)
                    cut, pending, pending_len = True, [], 0
            if last:
                pos += len(piece)
                break
            pos += len(piece) + 1  # the newline
            if not skip and not cut:
                if end is not None and line_start >= end:
                    return
                yield Line(line_start, _strip_cr(b"".join(pending)))
            skip = cut = False
            pending, pending_len = [], 0
            line_start = pos
            if end is not None and line_start >= end:
                return
    if pending_len and not skip and not cut and (end is None or line_start < end):
        yield Line(line_start, _strip_cr(b"".join(pending)))  # the last line, without a final newline


def _strip_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


def iter_decoded_lines(
    stream: BinaryIO, encoding: str, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, chunk: int = CHUNK
) -> Iterator[Line]:
    """Lines of a whole UTF-16/UTF-32 stream (its BOM already read), re-encoded as UTF-8 for the parser.

    Invalid code units pass through as surrogates and make only their own line invalid UTF-8; a stream that ends
    inside a code unit is cut (``SourceError`` truncated_source after the complete lines).
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogatepass")
    pending = ""
    index = 0
    while True:
        data = stream.read(chunk)
        final = not data
        try:
            text = decoder.decode(data, final=final)
        except UnicodeDecodeError as err:
            raise SourceError("truncated_source", f"{encoding} stream ends inside a character: {err.reason}") from None
        lines = (pending + text).split("\n")
        pending = lines.pop()
        for line in lines:
            yield _encoded_line(index, line, max_line_bytes)
            index += 1
        if len(pending) * 4 > max_line_bytes:
            yield Line(index, pending[:LONG_LINE_PREFIX].encode("utf-8", "surrogatepass"), True)
            raise SourceError("corrupt_source", f"a line longer than {max_line_bytes} bytes in a {encoding} file")
        if final:
            break
    if pending:
        yield _encoded_line(index, pending, max_line_bytes)


def _encoded_line(index: int, line: str, max_line_bytes: int) -> Line:
    data = line.removesuffix("\r").encode("utf-8", "surrogatepass")
    if len(data) > max_line_bytes:
        return Line(index, data[:LONG_LINE_PREFIX], True)
    return Line(index, data)
