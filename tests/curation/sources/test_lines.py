"""iter_lines / plan_ranges / iter_decoded_lines: byte ranges partition a file's lines exactly, whatever the split
and chunk sizes; CRLF, a missing final newline and too-long lines lose nothing; UTF-16/32 files read as the same
records as their UTF-8 version."""

from __future__ import annotations

import codecs
import io
import itertools
from pathlib import Path

import pytest

from curation.sources import SourceError, bom_of, open_checked, plan_ranges
from curation.sources.lines import BOM_LENGTHS, LONG_LINE_PREFIX, Line, LineRange, iter_decoded_lines, iter_lines
from tests.curation.sources.cutfiles import reference_lines

ROOT = Path(__file__).resolve().parents[3]
SHORT = (ROOT / "data" / "sample" / "text" / "short.jsonl").read_bytes()
BAD = (ROOT / "data" / "sample" / "text" / "bad_input.jsonl").read_bytes()


def read_ranges(data: bytes, split: int, chunk: int, max_line_bytes: int = 1 << 30, via_checked: bool = False):
    """Every range of ``plan_ranges`` read as ReadLinesFn does: a stream positioned at ``max(start - 1, 0)``."""
    lines: list[Line] = []
    ranges = plan_ranges("f.jsonl", len(data), False, split)
    for rng in ranges:
        stream = open_checked(io.BytesIO(data), None) if via_checked else io.BytesIO(data)
        stream.seek(max(rng.start - 1, 0))
        got = list(iter_lines(stream, rng.start, rng.end, max_line_bytes=max_line_bytes, chunk=chunk))
        assert all(rng.start <= ln.offset and (rng.end is None or ln.offset < rng.end) for ln in got), rng
        lines.extend(got)
    return lines, ranges


CORPORA = {
    "short_jsonl": SHORT,
    "bad_input": BAD,
    "crlf": SHORT.replace(b"\n", b"\r\n"),
    "no_final_newline": SHORT.rstrip(b"\n"),
    "blank_lines": b"\n\n" + SHORT.replace(b"\n", b"\n\n\n") + b"\n",
    "one_byte_lines": b"a\nb\n\nc\nd",
    "only_newlines": b"\n" * 17,
    "single_line": b'{"id": 1}',
    "empty": b"",
    "utf8_multibyte": "строка\n日本語の行\n\n🙂 emoji\r\nlast".encode(),
}


@pytest.mark.parametrize(
    ("name", "split", "chunk"),
    [
        (name, split, chunk)
        for name in sorted(CORPORA)
        for split in (1, 2, 3, 7, 64, 1000, 4096, 1 << 30)
        for chunk in (1, 5, 64, 1 << 20)
        if not (chunk == 1 and split < 64 and len(CORPORA[name]) > 2000)  # byte reads over 1000s of tiny ranges
    ],
)
def test_ranges_cover_every_line_exactly_once(name, split, chunk):
    data = CORPORA[name]
    lines, ranges = read_ranges(data, split, chunk)
    assert [(ln.offset, ln.data) for ln in lines] == reference_lines(data)
    assert not any(ln.too_long for ln in lines)
    # the ranges themselves tile [0, size)
    if len(ranges) > 1:
        assert ranges[0].start == 0 and ranges[-1].end is None
        assert all(a.end == b.start for a, b in itertools.pairwise(ranges))


def test_ranges_read_through_a_checked_plain_stream_with_seek():
    lines, _ = read_ranges(SHORT, 1000, 4096, via_checked=True)
    assert [(ln.offset, ln.data) for ln in lines] == reference_lines(SHORT)


def test_crlf_and_a_missing_final_newline():
    data = b'{"a": 1}\r\n{"b": 2}\r\n\r\n{"c": 3}'
    got = [(ln.offset, ln.data) for ln in iter_lines(io.BytesIO(data))]
    assert got == [(0, b'{"a": 1}'), (10, b'{"b": 2}'), (20, b""), (22, b'{"c": 3}')]
    assert [ln.data for ln in iter_lines(io.BytesIO(b"x\r"))] == [b"x"]


def test_plan_ranges():
    assert plan_ranges("p", 10_000, True, 100) == [LineRange("p")]  # compressed / BOM: one whole range
    assert plan_ranges("p", 100, False, 100) == [LineRange("p")]
    assert plan_ranges("p", 10_000, False, 0) == [LineRange("p")]
    assert plan_ranges("p", 0, False, 100) == [LineRange("p")]
    assert plan_ranges("p", 250, False, 100) == [LineRange("p", 0, 83), LineRange("p", 83, 166), LineRange("p", 166)]
    assert plan_ranges("p", 201, False, 100) == [LineRange("p", 0, 67), LineRange("p", 67, 134), LineRange("p", 134)]
    assert plan_ranges("p", 200, False, 100) == [LineRange("p", 0, 100), LineRange("p", 100)]


@pytest.mark.parametrize("split", [50, 333, 1 << 30])
@pytest.mark.parametrize("chunk", [7, 100, 1 << 20])
def test_too_long_lines_are_reported_and_skipped_without_losing_the_next_lines(split, chunk):
    records = SHORT.split(b"\n")[:6]
    long_line = b'{"id": "huge", "text": "' + b"x" * 5000 + b'"}'
    data = b"\n".join([records[0], long_line, records[1], long_line + b"\r", records[2], b"", long_line]) + b"\n"
    data += records[3] + b"\n" + long_line  # and a too-long last line without a newline
    lines, _ = read_ranges(data, split, chunk, max_line_bytes=1000)
    expected = reference_lines(data)
    assert [ln.offset for ln in lines] == [off for off, _ in expected]
    for ln, (_, full) in zip(lines, expected, strict=True):
        if len(full) > 1000:
            assert ln.too_long and full.startswith(ln.data) and 0 < len(ln.data) <= max(LONG_LINE_PREFIX, 1000)
        else:
            assert not ln.too_long and ln.data == full
    assert sum(ln.too_long for ln in lines) == 4


def test_a_line_exactly_at_the_limit_is_kept_whole():
    data = b"a" * 100 + b"\n" + b"b" * 101 + b"\nc"
    lines = list(iter_lines(io.BytesIO(data), max_line_bytes=100, chunk=16))
    expected = [(b"a" * 100, False), (b"b" * 101, True), (b"c", False)]  # too long: its first bytes, here all 101
    assert [(ln.data, ln.too_long) for ln in lines] == expected


# ------------------------------------------------------------------------------------------ BOMs and UTF-16/32


def test_bom_of_prefers_the_longest_mark():
    assert bom_of(codecs.BOM_UTF32_LE + b"x") == ("utf-32-le", 4)
    assert bom_of(codecs.BOM_UTF16_LE + b"x\x00") == ("utf-16-le", 2)
    assert bom_of(codecs.BOM_UTF32_BE) == ("utf-32-be", 4)
    assert bom_of(codecs.BOM_UTF16_BE) == ("utf-16-be", 2)
    assert bom_of(codecs.BOM_UTF8 + b"{") == ("utf-8", 3)
    assert bom_of(b'{"id"') == (None, 0)
    assert bom_of(b"") == (None, 0)
    assert all(BOM_LENGTHS[enc] == n for enc, n in [("utf-16-le", 2), ("utf-32-be", 4), ("utf-8", 3)])


UNICODE_RECORDS = [
    *SHORT.decode("utf-8").splitlines()[:8],
    '{"id": "astral", "text": "emoji 🙂 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 outside the BMP"}',
    '{"id": "cjk", "text": "日本語のテキストと中文"}',
    '{"id": "ru", "text": "Съешь же ещё этих мягких французских булок"}',
]


def read_bom_file(raw: bytes, chunk: int, max_line_bytes: int = 1 << 30) -> tuple[str, list[Line]]:
    stream = io.BytesIO(raw)
    encoding, _ = bom_of(stream.read(4))
    assert encoding is not None
    stream.seek(0)
    stream.read(BOM_LENGTHS[encoding])
    return encoding, list(iter_decoded_lines(stream, encoding, max_line_bytes=max_line_bytes, chunk=chunk))


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
    ],
)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("chunk", [1, 3, 7, 4096])
def test_utf16_and_utf32_files_read_as_the_same_records_as_utf8(encoding, bom, newline, chunk):
    text = newline.join(UNICODE_RECORDS) + newline
    found, lines = read_bom_file(bom + text.encode(encoding), chunk)
    utf8 = [data for _, data in reference_lines(text.encode("utf-8"))]
    assert found == encoding
    assert [ln.data for ln in lines] == utf8
    assert [ln.offset for ln in lines] == list(range(len(utf8)))  # record index within the file
    assert not any(ln.too_long for ln in lines)


def test_utf16_without_a_final_newline_keeps_the_last_record():
    text = "\n".join(UNICODE_RECORDS)
    _, lines = read_bom_file(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), 5)
    assert [ln.data.decode() for ln in lines] == UNICODE_RECORDS


def test_a_utf16_file_cut_inside_a_code_unit_is_truncated_after_its_complete_lines():
    raw = codecs.BOM_UTF16_LE + ("\n".join(UNICODE_RECORDS) + "\n").encode("utf-16-le")
    got = []
    with pytest.raises(SourceError) as err:
        for ln in read_bom_file_iter(raw[:-3], 64):
            got.append(ln.data.decode("utf-8"))
    assert err.value.reason == "truncated_source"
    assert got == UNICODE_RECORDS[: len(got)] and len(got) >= len(UNICODE_RECORDS) - 1


def read_bom_file_iter(raw: bytes, chunk: int):
    stream = io.BytesIO(raw)
    encoding, n = bom_of(raw[:4])
    stream.read(n)
    return iter_decoded_lines(stream, encoding, chunk=chunk)


def test_a_lone_utf16_surrogate_makes_only_its_line_invalid_utf8():
    good = UNICODE_RECORDS[:3]
    raw = codecs.BOM_UTF16_LE + "\n".join(good[:2]).encode("utf-16-le") + b"\n\x00"
    raw += b"\x00\xd8" + "bad line".encode("utf-16-le") + b"\n\x00" + good[2].encode("utf-16-le")
    lines = [ln.data for ln in read_bom_file_iter(raw, 16)]
    assert len(lines) == 4 and [lines[0], lines[1], lines[3]] == [g.encode() for g in good]
    with pytest.raises(UnicodeDecodeError):
        lines[2].decode("utf-8")


def test_a_too_long_utf16_line_is_reported():
    text = "\n".join([UNICODE_RECORDS[0], "y" * 3000, UNICODE_RECORDS[1]]) + "\n"
    _, lines = read_bom_file(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), 8192, max_line_bytes=1000)
    assert [ln.too_long for ln in lines] == [False, True, False]
    assert lines[2].data == UNICODE_RECORDS[1].encode()
