"""JSONL and plain-text sources → Documents, or Rejections that say why (nothing is lost silently).

Files are matched, spread over workers, and read by our own line reader (``curation.sources``) rather than Beam's
ReadFromText, because that one ends a cut ``.gz`` early without a word and splits UTF-16 records at 0x0A bytes:

* ``PlanLineRangesFn``: a file → byte ranges (big uncompressed UTF-8 files are split; compressed and BOM-encoded
  files are read whole); a file that cannot even be opened → one ``corrupt_source`` Rejection.
* ``ReadLinesFn``: a range → ``(path, line, encoding, offset)``; a cut or corrupt compressed stream → the lines
  before the break plus one ``truncated_source`` / ``corrupt_source`` Rejection for the file, counted as an input.
* ``ParseJsonLineFn``: a line → a Document (legacy encodings detected per file, lone surrogates replaced and flagged).
* ``ParseTextFileFn``: a whole text file → one Document; a cut compressed file is ``truncated_source``, not a short
  document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from curation.records import doc_id, id_problem, line_key, new_document, rejection
from curation.sources import RecordError, SourceError, bom_of, compression_of, open_checked, parse_json_record
from curation.sources.lines import BOM_LENGTHS, LineRange, iter_decoded_lines, iter_lines, plan_ranges
from curation.text.charset import FileEncoding, decode_bytes, file_encoding
from curation.text.normalize import DecodeError, decode_text
from pipelines.isolation import error_detail, error_reason, per_record
from pipelines.metrics import counter

REJECT = "rejections"
ENCODING_SCAN_BYTES = 16 << 20  # how much of a JSONL file decides its encoding when a line is not UTF-8
PROGRESS_BYTES = 4 << 20  # how often (in stored bytes) a reader reports its progress
SPLIT_BYTES = 64 << 20  # uncompressed JSONL files larger than this are read in ranges by several workers
Window = tuple[int | None, ...]  # [start, end) a local batch reads, and its worker slot (pipelines.local_batches)


def match_files(pbegin, label: str, pattern: str, paths: Sequence[str] | None = None):
    """File metadata of the glob, or of the listed ``paths`` (a local batch's share of the glob's files)."""
    if paths is None:
        return pbegin | f"Match {label}" >> fileio.MatchFiles(pattern, fileio.EmptyMatchTreatment.ALLOW)
    return pbegin | f"Files {label}" >> beam.Create(list(paths)) | f"Match {label}" >> fileio.MatchAll()


def relative_key(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path.rsplit("/", 1)[-1]


def open_raw(path: str):
    """The file's stored bytes (no decompression by Beam: ``open_checked`` does it and notices cuts)."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def open_source(path: str):
    """The file's decompressed bytes, checked: reading a cut or corrupt stream raises ``SourceError``."""
    return open_checked(open_raw(path), compression_of(path))


def _file_rejection(
    source: str, prefix: str, path: str, reason: str, detail: str, part: str = "file"
) -> beam.pvalue.TaggedOutput:
    """One Rejection for a whole file (or one ``part`` of it, e.g. a Parquet row group), counted as an input."""
    base = {"id": doc_id(source, f"{relative_key(path, prefix)}#{part}"), "source": source, "locator": path}
    counter("read", reason).inc()
    return beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", reason, detail))


class PlanLineRangesFn(beam.DoFn):
    """File metadata → LineRanges plus the file's BOM encoding; a file that cannot be opened → a Rejection."""

    def __init__(self, source: Mapping[str, Any], prefix: str, windows: Mapping[str, Sequence[Window]] | None = None):
        self.name = source["name"]
        self.prefix = prefix
        self.split_bytes = int(source.get("split_bytes", SPLIT_BYTES))
        self.windows = {path: [tuple(w[:2]) for w in ws] for path, ws in (windows or {}).items()}

    def _in_window(self, path: str, start: int) -> bool:
        """Whether this job owns the range starting at ``start`` (a local batch reads only its windows)."""
        if not self.windows:
            return True
        return any(lo <= start and (hi is None or start < hi) for lo, hi in self.windows.get(path, ()))

    def process(self, meta):
        path, size = meta.path, int(meta.size_in_bytes)
        owner = self._in_window(path, 0)  # the window at offset 0 counts the file and rejects it if unreadable
        if owner:
            counter("read", "files").inc()
        compressed = compression_of(path) is not None
        try:
            with open_source(path) as f:
                head = f.read(4)
        except SourceError as err:
            if owner:
                yield _file_rejection(self.name, self.prefix, path, err.reason, err.detail)
            return
        except OSError as err:  # vanished or unreadable object: the file is lost, the run goes on
            if owner:
                yield _file_rejection(self.name, self.prefix, path, "corrupt_source", f"cannot open: {err}")
            return
        encoding, _ = bom_of(head)
        whole = compressed or encoding not in (None, "utf-8")  # one range at offset 0: read by the owner only
        for rng in plan_ranges(path, size, whole, self.split_bytes):
            if self._in_window(path, rng.start):
                yield rng, encoding


def window_slots(windows: Mapping[str, Sequence[Window]] | None) -> dict[tuple[str, int], int]:
    """(path, range start) -> worker slot, for windows that carry one (``[start, end, slot]``, set by a local batch
    whose windows are the reader's own ranges); empty when none does."""
    return {(path, int(w[0] or 0)): int(w[2]) for path, ws in (windows or {}).items() for w in ws if len(w) > 2}


class SpreadToSlots(beam.PTransform):
    """(LineRange, encoding) units grouped by the worker slot planned for them, instead of ``Reshuffle``'s random keys:
    the local runner gives each worker the units of one slot. A unit without a slot goes to slot 0."""

    def __init__(self, slots: Mapping[tuple[str, int], int]):
        super().__init__()
        self.slots = dict(slots)

    def expand(self, units):
        slots = self.slots
        return (
            units
            | "KeyBySlot" >> beam.Map(lambda unit: (slots.get((unit[0].path, unit[0].start), 0), unit))
            | "GroupBySlot" >> beam.GroupByKey()
            | "Units" >> beam.FlatMap(lambda kv: kv[1])
        )


class ReadLinesFn(beam.DoFn):
    """A LineRange → ``(path, line bytes, encoding)`` per line; a stream that breaks → one Rejection for the file."""

    def __init__(self, source: Mapping[str, Any], prefix: str):
        self.name = source["name"]
        self.prefix = prefix
        self.max_line_bytes = int(source.get("max_line_bytes", 256 << 20))

    def process(self, element: tuple[LineRange, str | None]):
        rng, encoding = element
        path = rng.path
        read = 0
        stored = counter("read", "stored_bytes")  # progress (MB/s, ETA), flushed every few MB
        reported = max(rng.start - 1, 0)
        try:
            with open_source(path) as f:
                if rng.start > 0:
                    f.seek(rng.start - 1)  # plain files only: compressed and BOM-encoded files are one range
                if encoding in (None, "utf-8"):
                    lines = iter_lines(f, rng.start, rng.end, self.max_line_bytes)
                else:
                    f.read(BOM_LENGTHS[encoding])
                    lines = iter_decoded_lines(f, encoding, self.max_line_bytes)
                for line in lines:
                    data = line.data
                    if line.offset == 0 and rng.start == 0 and data.startswith(b"\xef\xbb\xbf"):
                        data = data[3:]  # a UTF-8 BOM belongs to the file, not to the first record
                    if line.too_long:
                        yield self._too_long(path, line.offset, data)
                    else:
                        yield path, data, encoding if encoding not in (None, "utf-8") else None, line.offset
                    read += 1
                    if (at := f.stored_position()) - reported >= PROGRESS_BYTES:  # absolute, also after a seek
                        at = at if rng.end is None else min(at, rng.end)
                        stored.inc(at - reported)
                        reported = at
                final = f.stored_position() if rng.end is None else rng.end
                stored.inc(max(final - reported, 0))
        except SourceError as err:
            detail = f"{err.detail}; {read} records read before the break"
            yield _file_rejection(self.name, self.prefix, path, err.reason, detail)
            return
        counter("read", "lines").inc(read)

    def _too_long(self, path: str, offset: int, head: bytes) -> beam.pvalue.TaggedOutput:
        base = _line_base(self.name, self.prefix, path, head, offset)
        detail = f"a line longer than {self.max_line_bytes} bytes at offset {offset}"
        counter("read", "too_large").inc()
        return beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", "too_large", detail))


def _line_base(source: str, prefix: str, path: str, line: bytes, offset: int) -> dict[str, str]:
    """Id and locator of a line's record before its own id is known: a hash of its bytes at its position.

    The position (byte offset in the decompressed file; line number in a UTF-16/32 file) tells apart identical
    lines of one file, so every record gets an id of its own; both are stable across runs and read splits.
    """
    key = f"{relative_key(path, prefix)}#{line_key(line)}@{offset}"
    return {"id": doc_id(source, key), "source": source, "locator": f"{path}@{offset}"}


def _scalar_meta(record: Mapping[str, Any], skip: set[str]) -> dict[str, str]:
    return {
        k: str(v)
        for k, v in record.items()
        if k not in skip and v is not None and isinstance(v, (str, int, float, bool))
    }


def _head_lines(path: str, max_bytes: int = ENCODING_SCAN_BYTES) -> list[bytes]:
    """The lines of the first ``max_bytes`` of a (possibly compressed) file: evidence for its encoding."""
    with open_source(path) as f:
        try:
            head = f.read(max_bytes)
        except SourceError:
            head = b""  # a cut file: its ReadLinesFn reports the cut; the encoding is decided on what was read
    return head.split(b"\n")


def _line_error(owner: Any, element: Any, err: BaseException):
    """Per-record isolation's error output for a JSONL line (the element is ``(path, line, encoding, offset)``)."""
    base = _line_base(owner.name, owner.prefix, element[0], element[1], element[3])
    yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", error_reason(err), error_detail(err)))


class ParseJsonLineFn(beam.DoFn):
    """One JSONL line → a Document, or a Rejection saying why the line is unusable (never dropped silently).

    Lines are UTF-8 (or re-encoded from a UTF-16/32 file's BOM encoding). A line that is not makes the worker
    decide, once per file, how that file is encoded (``curation.text.charset.file_encoding`` over the file's first
    lines): a file in one legacy encoding (a KOI8-R or Shift-JIS export) has its lines decoded in it, with
    ``meta["source_encoding"]``; in a UTF-8 file the line is corrupt or from another file and is rejected
    ``invalid_utf8``. Lone surrogates (valid JSON escapes, not storable text) become U+FFFD with
    ``meta["lone_surrogates"]``; nesting too deep to parse is ``invalid_json``.
    """

    def __init__(self, source: Mapping[str, Any], prefix: str):
        self.name = source["name"]
        self.text_field = source.get("text_field", "text")
        self.id_field = source.get("id_field", "id")
        self.detect = bool(source.get("detect_encoding", True))
        self.prefix = prefix
        self.encodings: dict[str, FileEncoding] = {}

    def setup(self):
        self.encodings = {}

    def _file_encoding(self, path: str) -> FileEncoding:
        if path not in self.encodings:
            if len(self.encodings) >= 256:  # a worker sees few files at a time; keep the cache bounded
                self.encodings.clear()
            self.encodings[path] = file_encoding(_head_lines(path))
            counter("read", f"file_encoding:{self.encodings[path].encoding or 'undecodable'}").inc()
        return self.encodings[path]

    def _decode(self, path: str, line: bytes, bom: str | None) -> tuple[str, str | None]:
        """The line's text and, when it is not UTF-8, its file's encoding; DecodeError when it has none."""
        try:
            return decode_text(line), None
        except DecodeError as err:
            if bom:  # re-encoded from a UTF-16/32 file: only its invalid code units make it invalid
                raise DecodeError("undecodable", f"invalid {bom} code units ({err.detail})") from None
            if err.reason != "invalid_utf8" or not self.detect:
                raise
            verdict = self._file_encoding(path)
            if verdict.encoding == "utf-8":
                raise DecodeError("invalid_utf8", f"{err.detail}; the file is UTF-8 ({verdict.detail})") from None
            if verdict.codec is None:
                raise DecodeError("undecodable", verdict.detail) from None
            try:
                return line.decode(verdict.codec), verdict.encoding
            except UnicodeDecodeError as err2:
                raise DecodeError(
                    "undecodable",
                    f"byte {err2.start} is not {verdict.encoding}, the file's encoding ({verdict.detail})",
                ) from None

    @per_record("read", on_error=_line_error)
    def process(self, element: tuple):
        path, line, bom_encoding, offset = element
        if not line.strip():
            return  # blank separator lines are not records
        base = _line_base(self.name, self.prefix, path, line, offset)
        try:
            decoded, encoding = self._decode(path, line, bom_encoding)
            record, surrogates = parse_json_record(decoded)
        except (DecodeError, RecordError) as err:
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", err.reason, err.detail))
            return
        if record.get(self.id_field) not in (None, ""):
            rid = str(record[self.id_field])
            base = {"id": doc_id(self.name, rid), "source": self.name, "locator": f"{path}#id={rid}"}
            if problem := id_problem(rid):
                yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", "invalid_id", problem))
                return
        text = record.get(self.text_field)
        if not isinstance(text, str):
            yield beam.pvalue.TaggedOutput(
                REJECT, rejection(base, "read", "missing_text", f"field {self.text_field!r} absent or not text")
            )
            return
        meta = _scalar_meta(record, {self.text_field, self.id_field})
        encoding = encoding or bom_encoding
        if encoding:
            meta["source_encoding"] = encoding
            counter("read", f"legacy_encoding:{encoding}").inc()
        if surrogates:
            meta["lone_surrogates"] = str(surrogates)
            counter("read", "lone_surrogates").inc()
        yield new_document(base["id"], text, self.name, base["locator"], meta)


class ParseTextFileFn(beam.DoFn):
    """One plain-text or source file (``.txt``, ``.txt.gz``, ``.py`` ...) → one Document, its encoding detected when it
    is not UTF-8; a ``code`` source's document carries its path relative to the pattern in ``meta["path"]``.

    The whole file is the evidence (``curation.text.charset.decode_bytes``); ``meta["source_encoding"]`` and
    ``meta["source_encoding_detail"]`` (the detector's margin) record a legacy encoding. Undecodable, binary and
    oversized files become Rejections at stage ``read``; a cut compressed file is ``truncated_source`` (the part that
    arrived is not passed off as the whole document).
    """

    def __init__(self, source: Mapping[str, Any], prefix: str):
        self.name = source["name"]
        self.prefix = prefix
        self.max_bytes = int(source.get("max_bytes", 64_000_000))
        self.detect = bool(source.get("detect_encoding", True))
        self.code = source.get("type") == "code"

    @per_record("read")
    def process(self, meta):
        path = meta.path
        rel = relative_key(path, self.prefix)
        base = {"id": doc_id(self.name, rel), "source": self.name, "locator": path}
        counter("read", "files").inc()
        counter("read", "stored_bytes").inc(meta.size_in_bytes)
        if meta.size_in_bytes > self.max_bytes:
            detail = f"{meta.size_in_bytes} bytes > {self.max_bytes}"
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", "too_large", detail))
            return
        chunks: list[bytes] = []
        size = 0
        try:
            with open_source(path) as f:
                while size <= self.max_bytes and (chunk := f.read(1 << 20)):  # decompressed: can still be too large
                    chunks.append(chunk)
                    size += len(chunk)
        except SourceError as err:
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", err.reason, err.detail))
            return
        except OSError as err:  # vanished object: the file is lost, not the run
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", "corrupt_source", f"cannot read: {err}"))
            return
        raw = b"".join(chunks)
        if len(raw) > self.max_bytes:
            detail = f"more than {self.max_bytes} bytes decompressed"
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", "too_large", detail))
            return
        try:
            decoded = decode_bytes(raw, detect=self.detect)
        except DecodeError as err:
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", err.reason, err.detail))
            return
        doc_meta = {"path": rel} if self.code else {}  # the code branch reads the language and vendoring from it
        if decoded.encoding != "utf-8":
            doc_meta = {"source_encoding": decoded.encoding, "source_encoding_detail": decoded.detail}
            counter("read", f"legacy_encoding:{decoded.encoding}").inc()
        yield new_document(base["id"], decoded.text, self.name, path, doc_meta)
