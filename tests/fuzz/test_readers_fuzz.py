"""Reader cores on arbitrary bytes: open_checked + iter_lines / iter_decoded_lines either yield lines or raise
SourceError, never anything else; uncut input reads as ``data.split(b"\\n")``; byte ranges partition the lines."""

from __future__ import annotations

import codecs
import io
import itertools

from hypothesis import assume, given
from hypothesis import strategies as st

from curation.sources import SourceError, bom_of, open_checked, plan_ranges
from curation.sources.lines import BOM_LENGTHS, iter_decoded_lines, iter_lines
from tests.curation.sources.cutfiles import KINDS, compress, reference_lines
from tests.fuzz.profile import fuzz


def drain(lines) -> tuple[list, SourceError | None]:
    got = []
    try:
        for line in lines:
            got.append(line)
    except SourceError as err:
        assert err.reason in ("truncated_source", "corrupt_source") and err.detail
        return got, err
    return got, None


line_bytes = st.lists(
    st.one_of(st.binary(max_size=40), st.sampled_from([b"", b"\r", b"{}", b'{"id": 1, "text": "x"}', b"\xff\xfe"])),
    max_size=40,
)
files = st.one_of(st.binary(max_size=3000), line_bytes.map(b"\n".join), line_bytes.map(lambda ls: b"\r\n".join(ls)))
chunks = st.sampled_from([1, 2, 3, 7, 64, 1000, 1 << 20])


@fuzz(150)
@given(data=files, chunk=chunks)
def test_plain_bytes_read_as_split_lines(data, chunk):
    got, err = drain(iter_lines(open_checked(io.BytesIO(data), None), chunk=chunk))
    assert err is None
    assert [(ln.offset, ln.data) for ln in got] == reference_lines(data)


@fuzz(150)
@given(
    data=files,
    split=st.integers(1, 400),
    chunk=chunks,
    max_line=st.sampled_from([5, 30, 1 << 30]),
)
def test_byte_ranges_partition_the_lines(data, split, chunk, max_line):
    ranges = plan_ranges("f", len(data), False, split)
    assert ranges[0].start == 0 and ranges[-1].end is None
    assert all(a.end == b.start for a, b in itertools.pairwise(ranges))
    got = []
    for rng in ranges:
        stream = open_checked(io.BytesIO(data), None)
        stream.seek(max(rng.start - 1, 0))
        for ln in iter_lines(stream, rng.start, rng.end, max_line_bytes=max_line, chunk=chunk):
            assert rng.start <= ln.offset and (rng.end is None or ln.offset < rng.end)
            got.append(ln)
    expected = reference_lines(data)
    assert [ln.offset for ln in got] == [off for off, _ in expected]  # every line once, in order
    for ln, (_, full) in zip(got, expected, strict=True):
        if ln.too_long:
            assert len(full) + 1 > max_line and (full + b"\r").startswith(ln.data)  # the raw first bytes
        else:
            assert ln.data == full and len(full) <= max_line


text_files = st.lists(st.text(max_size=30), max_size=30).map(lambda ls: "\n".join(ls).encode("utf-8"))


@fuzz(120)
@given(
    data=st.one_of(text_files, st.binary(max_size=2000)),
    kind=st.sampled_from(KINDS),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=3),
    chunk=chunks,
)
def test_compressed_then_cut_or_flipped_gives_lines_or_source_error(data, kind, cut, flips, chunk):
    full = compress(data, kind)
    got, err = drain(iter_lines(open_checked(io.BytesIO(full), kind), chunk=chunk))
    assert err is None and [(ln.offset, ln.data) for ln in got] == reference_lines(data)

    n = int(len(full) * cut)
    broken = bytearray(full[:n])
    for where, mask in flips:
        if broken:
            broken[min(int(where * len(broken)), len(broken) - 1)] ^= mask
    got, err = drain(iter_lines(open_checked(io.BytesIO(bytes(broken)), kind), chunk=chunk))
    if not flips and n < len(full):
        # only a cut: what was read is a prefix of the file's lines, and the cut is said (or the file was empty)
        assert [(ln.offset, ln.data) for ln in got] == reference_lines(data)[: len(got)]
        assert err is not None or (n == 0 and not got)
        if err is not None:
            assert err.reason in ("truncated_source", "corrupt_source")


@fuzz(100)
@given(junk=st.binary(max_size=3000), kind=st.sampled_from([*KINDS, None]), chunk=chunks)
def test_binary_junk_under_any_compression_name(junk, kind, chunk):
    drain(iter_lines(open_checked(io.BytesIO(junk), kind), chunk=chunk))


ENCODINGS = {
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}


def read_bom(raw: bytes, chunk: int, max_line: int = 1 << 30):
    encoding, n = bom_of(raw[:4])
    assert encoding in ENCODINGS and n == BOM_LENGTHS[encoding]
    stream = io.BytesIO(raw)
    stream.read(n)
    return drain(iter_decoded_lines(stream, encoding, max_line_bytes=max_line, chunk=chunk))


@fuzz(120)
@given(
    lines=st.lists(st.text(max_size=30).filter(lambda s: "\n" not in s), max_size=20),
    encoding=st.sampled_from(sorted(ENCODINGS)),
    newline=st.sampled_from(["\n", "\r\n"]),
    chunk=chunks,
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_utf16_and_utf32_text_reads_as_its_utf8_lines(lines, encoding, newline, chunk, cut):
    text = newline.join(lines)
    raw = ENCODINGS[encoding] + text.encode(encoding)
    assume(not (encoding.startswith("utf-16-le") and raw[2:4] == b"\x00\x00"))  # would read as a UTF-32-LE mark
    got, err = read_bom(raw, chunk)
    assert err is None
    assert [ln.data for ln in got] == [d for _, d in reference_lines(text.encode("utf-8"))]
    if cut is not None and cut < len(raw) - len(ENCODINGS[encoding]):
        # a plain file cut at a character boundary cannot be told from a shorter file: its last line may be short
        got, err = read_bom(raw[: len(ENCODINGS[encoding]) + cut], chunk)
        whole = [d for _, d in reference_lines(text.encode("utf-8"))]
        assert [ln.data for ln in got[:-1]] == whole[: max(len(got) - 1, 0)]
        if got:  # ... or end in the high half of a surrogate pair (passed through: its line is then invalid UTF-8)
            last = got[-1].data.decode("utf-8", "surrogatepass")
            last = last[:-1] if last and "\ud800" <= last[-1] <= "\udbff" else last
            assert whole[len(got) - 1].decode("utf-8").startswith(last)


@fuzz(120)
@given(
    encoding=st.sampled_from(sorted(ENCODINGS)),
    body=st.binary(max_size=2000),
    chunk=chunks,
    max_line=st.sampled_from([8, 1 << 30]),
)
def test_random_code_units_after_a_bom_give_lines_or_source_error(encoding, body, chunk, max_line):
    raw = ENCODINGS[encoding] + body
    assume(bom_of(raw)[0] == encoding)
    got, _ = read_bom(raw, chunk, max_line)
    for ln in got:
        assert isinstance(ln.data, bytes) and (ln.too_long or len(ln.data) <= max_line)
