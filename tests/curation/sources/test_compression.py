"""open_checked: a compressed file reads back exactly, a cut one is ``truncated_source``, garbage is
``corrupt_source``, and a failing storage read stays an OSError (the storage's fault, not the file's)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
import zstandard

from curation.sources import COMPRESSIONS, SourceError, compression_of, open_checked
from curation.sources.lines import iter_lines
from tests.curation.sources.cutfiles import KINDS, complete_lines, compress, non_blank, recoverable

ROOT = Path(__file__).resolve().parents[3]
MANPAGES = (ROOT / "data" / "sample" / "text" / "manpages.jsonl").read_bytes()  # 942 kB of real JSONL
SHORT = (ROOT / "data" / "sample" / "text" / "short.jsonl").read_bytes()


def read_all(raw: bytes, kind: str | None, size: int = -1) -> bytes:
    stream = open_checked(io.BytesIO(raw), kind)
    if size < 0:
        return stream.read()
    parts = []
    while chunk := stream.read(size):
        parts.append(chunk)
    return b"".join(parts)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.jsonl.gz", "gzip"),
        ("a.GZ", "gzip"),
        ("a.txt.gzip", "gzip"),
        ("dir.gz/a.bz2", "bzip2"),
        ("a.xz", "xz"),
        ("a.lzma", "xz"),
        ("a.zst", "zstd"),
        ("a.jsonl.zstd", "zstd"),
        ("a.jsonl", None),
        ("a.gz.jsonl", None),
        ("gs://bucket/dir.xz/part-0", None),
    ],
)
def test_compression_is_declared_by_the_file_name(name, kind):
    assert compression_of(name) == kind
    assert set(COMPRESSIONS.values()) == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [-1, 997, 1 << 20])
def test_a_whole_file_reads_back_exactly(kind, size):
    assert read_all(compress(MANPAGES, kind), kind, size) == MANPAGES


def test_plain_files_pass_through_and_can_seek():
    assert read_all(SHORT, None) == SHORT
    stream = open_checked(io.BytesIO(SHORT), None)
    stream.seek(100)
    assert stream.read(10) == SHORT[100:110]
    with pytest.raises(io.UnsupportedOperation):
        open_checked(io.BytesIO(compress(SHORT, "gzip")), "gzip").seek(100)


@pytest.mark.parametrize("kind", KINDS)
def test_empty_input_decompresses_to_nothing(kind):
    assert read_all(compress(b"", kind), kind) == b""


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", ["half", "last_byte", "header"])
@pytest.mark.parametrize("size", [-1, 4096])
def test_a_cut_file_is_truncated_source_not_a_shorter_file(kind, where, size):
    data = compress(MANPAGES, kind)
    cut = {"half": len(data) // 2, "last_byte": len(data) - 1, "header": 6}[where]
    with pytest.raises(SourceError) as err:
        read_all(data[:cut], kind, size)
    assert err.value.reason == "truncated_source", err.value.detail
    assert kind in err.value.detail and "decompressed bytes" in err.value.detail


def test_zstd_cut_at_a_frame_boundary_is_complete_and_inside_a_frame_is_cut():
    cctx = zstandard.ZstdCompressor(level=3)
    first, second = MANPAGES[:300_000], MANPAGES[300_000:]
    frames = cctx.compress(first) + cctx.compress(second)
    boundary = len(cctx.compress(first))
    assert read_all(frames, "zstd") == MANPAGES
    assert read_all(frames[:boundary], "zstd") == first  # a complete frame: a legitimately shorter file
    for cut in (boundary + 1, boundary + 10, (boundary + len(frames)) // 2, len(frames) - 1):
        with pytest.raises(SourceError) as err:
            read_all(frames[:cut], "zstd", 4096)
        assert err.value.reason == "truncated_source"


def test_multi_member_gzip_reads_every_member():
    members = gzip.compress(SHORT[:5000], mtime=0) + gzip.compress(SHORT[5000:], mtime=0)
    assert read_all(members, "gzip") == SHORT
    with pytest.raises(SourceError) as err:
        read_all(members[:-3], "gzip")
    assert err.value.reason == "truncated_source"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "garbage",
    [
        b"this is not compressed at all, just text in a file with a compressed name\n" * 20,
        MANPAGES[:5000],
        (ROOT / "data" / "sample" / "pdf" / "broken.pdf").read_bytes()[:20000],  # real binary
    ],
    ids=["text", "jsonl", "pdf_bytes"],
)
def test_garbage_under_a_compressed_name_is_corrupt_source(kind, garbage):
    with pytest.raises(SourceError) as err:
        read_all(garbage, kind)
    assert err.value.reason == "corrupt_source", err.value.detail


@pytest.mark.parametrize("kind", KINDS)
def test_a_flipped_byte_inside_the_stream_is_a_source_error(kind):
    data = bytearray(compress(MANPAGES, kind))
    data[len(data) // 2] ^= 0xFF
    try:
        out = read_all(bytes(data), kind)
    except SourceError as err:
        assert err.reason in ("corrupt_source", "truncated_source")
    else:  # some codecs have no checksum over every block: then the flip must at least change the bytes
        assert out != MANPAGES


class FailingStorage(io.RawIOBase):
    """A raw object store stream whose read fails after ``ok`` bytes, as a dropped network connection does."""

    def __init__(self, data: bytes, ok: int, err: Exception):
        self.data, self.ok, self.err, self.pos = data, ok, err, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.pos >= self.ok:
            raise self.err
        size = len(self.data) - self.pos if size is None or size < 0 else size
        out = self.data[self.pos : min(self.pos + size, self.ok)]
        self.pos += len(out)
        return out

    def readinto(self, buffer) -> int:
        out = self.read(len(buffer))
        buffer[: len(out)] = out
        return len(out)


@pytest.mark.parametrize("kind", [*KINDS, None])
@pytest.mark.parametrize("ok", [0, 3000])
def test_a_storage_read_error_propagates_as_oserror_not_source_error(kind, ok):
    data = compress(MANPAGES, kind) if kind else MANPAGES
    err = ConnectionResetError(104, "Connection reset by peer")
    stream = open_checked(FailingStorage(data, ok, err), kind)
    with pytest.raises(OSError) as caught:
        while stream.read(4096):
            pass
    assert caught.value is err  # unchanged, so the runner's retry logic sees the storage error
    assert not isinstance(caught.value, SourceError)


@pytest.mark.parametrize("kind", KINDS)
def test_lines_read_before_the_cut_are_all_recoverable_lines(kind):
    """What the reader yields before raising is exactly a prefix of the file's lines, never a mangled line."""
    data = compress(MANPAGES, kind)
    cut = data[: len(data) // 2]
    lines = []
    with pytest.raises(SourceError) as err:
        for line in iter_lines(open_checked(io.BytesIO(cut), kind)):
            lines.append(line.data)
    assert err.value.reason == "truncated_source"
    expected = complete_lines(recoverable(cut, kind))
    assert lines == expected[: len(lines)]


@pytest.mark.parametrize("kind", KINDS)
def test_every_line_before_the_cut_is_yielded_with_the_default_chunk(kind):
    data = compress(MANPAGES, kind)
    cut = data[: len(data) // 2]
    expected = complete_lines(recoverable(cut, kind))
    assert non_blank(expected) > 10  # the test data really has whole records before the cut
    lines = []
    with pytest.raises(SourceError):
        for line in iter_lines(open_checked(io.BytesIO(cut), kind)):
            lines.append(line.data)
    assert lines == expected
