"""Reading sources and writing/reading validated Parquet. Paths go through Beam FileSystems (local, gs://, s3://)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam import coders
from apache_beam.io.filesystems import FileSystems

from curation.records import doc_id, line_key, new_document, rejection
from curation.text import DecodeError, decode_text
from pipelines.metrics import counter
from pipelines.pdf_extract import ReadPdfs
from schemas import validate_record

GLOB_CHARS = "*?["


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


class ParseJsonLineFn(beam.DoFn):
    """One JSONL line → a Document, or a Rejection saying why the line is unusable (never dropped silently)."""

    def __init__(self, source: Mapping[str, Any], prefix: str):
        self.name = source["name"]
        self.text_field = source.get("text_field", "text")
        self.id_field = source.get("id_field", "id")
        self.prefix = prefix

    def process(self, element: tuple[str, bytes]):
        path, line = element
        if not line.strip():
            return  # blank separator lines are not records
        rel = relative_key(path, self.prefix)
        key = line_key(line)
        base = {"id": doc_id(self.name, f"{rel}#{key}"), "source": self.name, "locator": f"{path}#{key}"}
        try:
            record = json.loads(decode_text(line))
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
        yield new_document(base["id"], text, self.name, base["locator"], meta)


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
                if src["type"] == "jsonl":
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
