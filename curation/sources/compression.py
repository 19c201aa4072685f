"""Decompression that notices a cut or corrupt file instead of ending early as if the file were complete.

A ``.jsonl.gz`` cut at half its bytes must not read as a shorter, valid file: the records after the cut would be lost
with nothing counted. Python's gzip/bz2/lzma readers raise ``EOFError`` at a missing end-of-stream marker; zstd
frames are checked here by hand (``zstandard``'s stream reader stops silently on a cut frame). Errors of the
underlying storage (a network read failing) are re-raised as they are: they are not the file's fault.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import BinaryIO

COMPRESSIONS = {
    ".gz": "gzip",
    ".gzip": "gzip",
    ".bz2": "bzip2",
    ".xz": "xz",
    ".lzma": "xz",
    ".zst": "zstd",
    ".zstd": "zstd",
}


class SourceError(Exception):
    """A whole source file is cut (``truncated_source``) or unreadable as its format (``corrupt_source``)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class _StorageError(Exception):
    """Carries an exception raised by the underlying storage read through the decompressor unchanged."""

    def __init__(self, err: BaseException):
        super().__init__(str(err))
        self.err = err


def compression_of(path: str) -> str | None:
    """The compression a file name declares (``.gz``, ``.bz2``, ``.xz``/``.lzma``, ``.zst``); None for plain."""
    lower = path.lower()
    for ext, kind in COMPRESSIONS.items():
        if lower.endswith(ext):
            return kind
    return None


class _GuardedRaw(io.RawIOBase):
    """The compressed bytes; a read error of the storage is wrapped so it is not mistaken for corrupt data."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self.raw.read(len(buffer))
        except Exception as err:
            raise _StorageError(err) from err
        n = len(data)
        buffer[:n] = data
        self.consumed += n
        return n


class _ZstdReader(io.RawIOBase):
    """zstd frames one after another; input that ends inside a frame raises ``EOFError`` like gzip does."""

    def __init__(self, raw: BinaryIO, chunk: int = 1 << 20):
        import zstandard

        self.raw = raw
        self.chunk = chunk
        self.dctx = zstandard.ZstdDecompressor()
        self.frame = None
        self.pending = bytearray()
        self.done = False
        self.cut = False  # input ended inside a frame: raised once the bytes decoded before the cut are handed out

    def readable(self) -> bool:
        return True

    def _feed(self, data: bytes) -> None:
        while data:
            if self.frame is None:
                self.frame = self.dctx.decompressobj()
            self.pending += self.frame.decompress(data)
            if not self.frame.eof:
                return
            data = self.frame.unused_data
            self.frame = None

    def readinto(self, buffer) -> int:
        while not self.done and len(self.pending) < len(buffer):
            data = self.raw.read(self.chunk)
            if not data:
                self.done = True
                self.cut = self.frame is not None
                break
            self._feed(data)
        n = min(len(buffer), len(self.pending))
        if n == 0 and self.cut:
            raise EOFError("zstd input ended inside a frame")
        buffer[:n] = self.pending[:n]
        del self.pending[:n]
        return n


def _decompressor(raw: BinaryIO, kind: str) -> BinaryIO:
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if kind == "zstd":
        return io.BufferedReader(_ZstdReader(raw))
    raise ValueError(f"unknown compression {kind!r}")


class CheckedStream(io.RawIOBase):
    """Decompressed bytes of one file; a cut or corrupt stream raises ``SourceError`` with the offset reached.

    Every byte the codec decodes before a cut is handed out first: a read stops at the break and returns what it
    has, and the ``SourceError`` comes with the next read. A plain file is passed through untouched, so a failing
    storage read stays the storage's error.
    """

    def __init__(self, raw: BinaryIO, kind: str | None):
        self.kind = kind or "plain"
        self.guard = _GuardedRaw(raw)
        self.inner: BinaryIO = raw if kind is None else _decompressor(self.guard, kind)  # type: ignore[arg-type]
        self.produced = 0
        self.failure: SourceError | None = None

    def readable(self) -> bool:
        return True

    def _error(self, err: Exception) -> SourceError:
        """The codec's exception as the file's fault; anything else is re-raised unchanged."""
        if isinstance(err, _StorageError):
            raise err.err from None
        if isinstance(err, EOFError):
            return SourceError(
                "truncated_source", f"{self.kind} stream cut after {self.produced} decompressed bytes: {err}"
            )
        if isinstance(err, (OSError, lzma.LZMAError, zlib.error, ValueError)) or type(err).__module__.startswith(
            "zstandard"
        ):
            return SourceError(
                "corrupt_source", f"{self.kind} data corrupt after {self.produced} decompressed bytes: {err}"
            )
        raise err

    def read(self, size: int | None = -1) -> bytes:
        if self.kind == "plain":
            data = self.inner.read(size)
            self.produced += len(data)
            return data
        if self.failure is not None:
            raise self.failure
        want = -1 if size is None or size < 0 else size
        parts: list[bytes] = []
        got = 0
        while want < 0 or got < want:
            try:
                piece = self.inner.read1(want - got if want >= 0 else 1 << 20)  # type: ignore[attr-defined]
            except Exception as err:
                failure = self._error(err)
                if not parts or want < 0:  # read-all cannot return a part as if it were all
                    raise failure from None
                self.failure = failure  # hand out what was decoded before the break first
                break
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
            self.produced += len(piece)
        return b"".join(parts)

    def stored_position(self) -> int:
        """Bytes of the stored (compressed) file consumed so far: what progress is measured in."""
        return self.produced if self.kind == "plain" else self.guard.consumed

    def seek(self, offset: int, whence: int = 0) -> int:
        """Plain files only: a compressed stream is read from its start."""
        if self.kind != "plain":
            raise io.UnsupportedOperation(f"cannot seek in a {self.kind} stream")
        self.produced = self.inner.seek(offset, whence)
        return self.produced

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_checked(raw: BinaryIO, kind: str | None) -> CheckedStream:
    """Wrap the raw (compressed) bytes of a file: reads give decompressed bytes or raise ``SourceError``."""
    return CheckedStream(raw, kind)
