"""Reading sources and writing/reading validated Parquet. Paths go through Beam FileSystems (local, gs://, s3://)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam import coders
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems

from curation.charset import FileEncoding, decode_bytes, file_encoding
from curation.records import doc_id, line_key, new_document, rejection
from curation.text import DecodeError, decode_text
from pipelines.metrics import counter
from pipelines.pdf_extract import ReadPdfs
from schemas import validate_record

GLOB_CHARS = "*?["
ENCODING_SCAN_BYTES = 16 << 20  # how much of a JSONL file decides its encoding when a line is not UTF-8


def static_prefix(pattern: str) -> str:
    """The directory part of a glob before its first wildcard, used to make stable relative keys."""
    cut = min([pattern.find(c) for c in GLOB_CHARS if c in pattern] or [len(pattern)])
    return pattern[: pattern.rfind("/", 0, cut) + 1]


def relative_key(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path.rsplit("/", 1)[-1]


def _scalar_meta(record: Mapping[str, Any], skip: set[str]) -> dict[str, str]:
    return {
        k: str(v)
        for k, v in record.items()
        if k not in skip and v is not None and isinstance(v, (str, int, float, bool))
    }


def _head_lines(path: str, max_bytes: int = ENCODING_SCAN_BYTES) -> list[bytes]:
    """The lines of the first ``max_bytes`` of a (possibly compressed) file: evidence for its encoding."""
    with FileSystems.open(path) as f:
        return f.read(max_bytes).split(b"\n")


class ParseJsonLineFn(beam.DoFn):
    """One JSONL line → a Document, or a Rejection saying why the line is unusable (never dropped silently).

    Lines are UTF-8. A line that is not makes the worker decide, once per file, how that file is encoded
    (``curation.charset.file_encoding`` over the file's first lines): a file in one legacy encoding (a KOI8-R or
    Shift-JIS export) has its lines decoded in it, with ``meta["source_encoding"]``; in a UTF-8 file the line is
    corrupt or from another file and is rejected ``invalid_utf8``.
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

    def _decode(self, path: str, line: bytes) -> tuple[str, str | None]:
        """The line's text and, when it is not UTF-8, its file's encoding; DecodeError when it has none."""
        try:
            return decode_text(line), None
        except DecodeError as err:
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

    def process(self, element: tuple[str, bytes]):
        path, line = element
        if not line.strip():
            return  # blank separator lines are not records
        rel = relative_key(path, self.prefix)
        key = line_key(line)
        base = {"id": doc_id(self.name, f"{rel}#{key}"), "source": self.name, "locator": f"{path}#{key}"}
        try:
            decoded, encoding = self._decode(path, line)
            record = json.loads(decoded)
        except DecodeError as err:
            yield beam.pvalue.TaggedOutput("rejections", rejection(base, "read", err.reason, err.detail))
            return
        except ValueError as err:
            yield beam.pvalue.TaggedOutput("rejections", rejection(base, "read", "invalid_json", str(err)))
            return
        if not isinstance(record, dict):
            yield beam.pvalue.TaggedOutput("rejections", rejection(base, "read", "invalid_json", "not an object"))
            return
        if record.get(self.id_field) not in (None, ""):
            rid = str(record[self.id_field])
            base = {"id": doc_id(self.name, rid), "source": self.name, "locator": f"{path}#id={rid}"}
        text = record.get(self.text_field)
        if not isinstance(text, str):
            yield beam.pvalue.TaggedOutput(
                "rejections", rejection(base, "read", "missing_text", f"field {self.text_field!r} absent or not text")
            )
            return
        meta = _scalar_meta(record, {self.text_field, self.id_field})
        if encoding:
            meta["source_encoding"] = encoding
            counter("read", f"legacy_encoding:{encoding}").inc()
        yield new_document(base["id"], text, self.name, base["locator"], meta)


class ParseTextFileFn(beam.DoFn):
    """One plain-text file (``.txt``, ``.txt.gz`` ...) → one Document, its encoding detected when it is not UTF-8.

    The whole file is the evidence (``curation.charset.decode_bytes``); ``meta["source_encoding"]`` and
    ``meta["source_encoding_detail"]`` (the detector's margin) record a legacy encoding. Undecodable, binary and
    oversized files become Rejections at stage ``read``.
    """

    def __init__(self, source: Mapping[str, Any], prefix: str):
        self.name = source["name"]
        self.prefix = prefix
        self.max_bytes = int(source.get("max_bytes", 64_000_000))
        self.detect = bool(source.get("detect_encoding", True))

    def process(self, readable):
        path = readable.metadata.path
        rel = relative_key(path, self.prefix)
        base = {"id": doc_id(self.name, rel), "source": self.name, "locator": path}
        if readable.metadata.size_in_bytes > self.max_bytes:
            detail = f"{readable.metadata.size_in_bytes} bytes > {self.max_bytes}"
            yield beam.pvalue.TaggedOutput("rejections", rejection(base, "read", "too_large", detail))
            return
        try:
            with readable.open() as f:
                raw = f.read(self.max_bytes + 1)  # decompressed; a compressed file can still be too large
        except Exception as err:  # corrupt gzip, vanished object: the file is lost, not the run
            yield beam.pvalue.TaggedOutput("rejections", rejection(base, "read", "unreadable", repr(err)))
            return
        if len(raw) > self.max_bytes:
            detail = f"more than {self.max_bytes} bytes decompressed"
            yield beam.pvalue.TaggedOutput("rejections", rejection(base, "read", "too_large", detail))
            return
        try:
            decoded = decode_bytes(raw, detect=self.detect)
        except DecodeError as err:
            yield beam.pvalue.TaggedOutput("rejections", rejection(base, "read", err.reason, err.detail))
            return
        meta = {}
        if decoded.encoding != "utf-8":
            meta = {"source_encoding": decoded.encoding, "source_encoding_detail": decoded.detail}
            counter("read", f"legacy_encoding:{decoded.encoding}").inc()
        yield new_document(base["id"], decoded.text, self.name, path, meta)


class ParquetRowFn(beam.DoFn):
    """One row of a Parquet text source → a Document (or a Rejection when the text column is missing)."""

    def __init__(self, source: Mapping[str, Any], pattern: str):
        self.name = source["name"]
        self.text_field = source.get("text_field", "text")
        self.id_field = source.get("id_field", "id")
        self.pattern = pattern

    def process(self, row: dict):
        text = row.get(self.text_field)
        rid = row.get(self.id_field)
        key = str(rid) if rid not in (None, "") else line_key(str(text).encode("utf-8", "replace"))
        base = {"id": doc_id(self.name, key), "source": self.name, "locator": f"{self.pattern}#id={key}"}
        if not isinstance(text, str):
            yield beam.pvalue.TaggedOutput("rejections", rejection(base, "read", "missing_text", "no text column"))
            return
        yield new_document(base["id"], text, self.name, base["locator"], _scalar_meta(row, {self.text_field}))


class ReadSources(beam.PTransform):
    """All configured sources → {"docs": Documents, "rejections": Rejections}. Every input record lands in one."""

    def __init__(self, sources: list[dict], extract: Mapping[str, Any]):
        super().__init__()
        self.sources = sources
        self.extract = extract

    def expand(self, pbegin):
        docs, rejections = [], []
        for src in self.sources:
            for i, pattern in enumerate(src["paths"]):
                label = f"{src['name']}[{i}]"
                prefix = static_prefix(pattern)
                if src["type"] == "pdf":
                    parsed = pbegin | f"Pdf {label}" >> ReadPdfs(
                        pattern, src["name"], prefix, self.extract, src.get("languages") or ()
                    )
                    docs.append(parsed["docs"])
                    rejections.append(parsed["rejections"])
                    continue
                if src["type"] == "text":
                    parsed = (
                        pbegin
                        | f"Match {label}" >> fileio.MatchFiles(pattern)
                        | f"Open {label}" >> fileio.ReadMatches()
                        | f"Spread {label}" >> beam.Reshuffle()
                        | f"Parse {label}"
                        >> beam.ParDo(ParseTextFileFn(src, prefix)).with_outputs("rejections", main="docs")
                    )
                elif src["type"] == "jsonl":
                    parsed = (
                        pbegin
                        | f"Read {label}" >> beam.io.ReadFromTextWithFilename(pattern, coder=coders.BytesCoder())
                        | f"Parse {label}"
                        >> beam.ParDo(ParseJsonLineFn(src, prefix)).with_outputs("rejections", main="docs")
                    )
                else:
                    parsed = (
                        pbegin
                        | f"Read {label}" >> beam.io.ReadFromParquet(pattern)
                        | f"Parse {label}"
                        >> beam.ParDo(ParquetRowFn(src, pattern)).with_outputs("rejections", main="docs")
                    )
                docs.append(parsed.docs)
                rejections.append(parsed.rejections)
        return {
            "docs": tuple(docs) | "FlattenDocs" >> beam.Flatten(),
            "rejections": tuple(rejections) | "FlattenReadRejections" >> beam.Flatten(),
        }


def _maps_to_dicts(record: dict, schema: pa.Schema) -> dict:
    for field in schema:
        if pa.types.is_map(field.type) and isinstance(record.get(field.name), list):
            record[field.name] = dict(record[field.name])
    return record


class WriteRecords(beam.PTransform):
    """Validate every record against its schema, then write Parquet shards ``<prefix>-SSSSS-of-NNNNN.parquet``."""

    def __init__(self, prefix: str, schema: pa.Schema):
        super().__init__()
        self.prefix = prefix
        self.schema = schema

    def expand(self, records):
        return (
            records
            | "Validate" >> beam.Map(validate_record, self.schema)
            | "WriteParquet"
            >> beam.io.WriteToParquet(self.prefix, self.schema, file_name_suffix=".parquet", record_batch_size=256)
        )


class ReadRecords(beam.PTransform):
    """Read Parquet written by WriteRecords, validating each record on the way in (maps come back as dicts)."""

    def __init__(self, pattern: str, schema: pa.Schema):
        super().__init__()
        self.pattern = pattern
        self.schema = schema

    def expand(self, pbegin):
        return (
            pbegin
            | "ReadParquet" >> beam.io.ReadFromParquet(self.pattern)
            | "Validate" >> beam.Map(lambda r: _maps_to_dicts(validate_record(r, self.schema), self.schema))
        )


def join_path(*parts: str) -> str:
    return FileSystems.join(*parts)


__all__ = ["ReadRecords", "ReadSources", "WriteRecords", "counter", "join_path"]
