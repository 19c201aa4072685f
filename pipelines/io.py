"""Reading sources and writing/reading validated Parquet. Paths go through Beam FileSystems (local, gs://, s3://)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from pipelines.config import ConfigError
from pipelines.layout import has_files
from pipelines.metrics import counter
from pipelines.read_lines import (
    ParseJsonLineFn,
    ParseTextFileFn,
    PlanLineRangesFn,
    ReadLinesFn,
    SpreadToSlots,
    match_files,
    relative_key,
    window_slots,
)
from pipelines.read_parquet import ParquetRowFn, PlanRowGroupsFn, ReadRowGroupFn
from schemas import validate_record

GLOB_CHARS = "*?["
UNITS = "_units"  # a source key set only by a local batch: {pattern index: {path: [[start, end, slot], ...]}}


def static_prefix(pattern: str) -> str:
    """The directory part of a glob before its first wildcard, used to make stable relative keys."""
    cut = min([pattern.find(c) for c in GLOB_CHARS if c in pattern] or [len(pattern)])
    return pattern[: pattern.rfind("/", 0, cut) + 1]


class ReadSources(beam.PTransform):
    """All configured sources → {"docs": Documents, "rejections": Rejections}. Every input record lands in one."""

    def __init__(self, sources: list[dict], extract: Mapping[str, Any]):
        super().__init__()
        self.sources = sources
        self.extract = extract

    def expand(self, pbegin):
        docs, rejections = [], []
        for src in self.sources:
            units = src.get(UNITS)  # set by a local batch (pipelines.local_batches): the windows it reads
            for i, pattern in enumerate(src["paths"]):
                label = f"{src['name']}[{i}]"
                prefix = static_prefix(pattern)  # of the configured pattern: ids do not depend on the batching
                windows = None if units is None else units.get(i) or units.get(str(i)) or {}
                if windows is None:
                    check_matches(src, i, pattern)
                elif not windows:  # nothing of this pattern in this batch
                    continue
                paths = None if windows is None else sorted(windows)
                if src["type"] == "pdf":
                    from pipelines.pdf_extract import ReadPdfs  # MuPDF (and its layout model) only where PDFs are read

                    parsed = pbegin | f"Pdf {label}" >> ReadPdfs(
                        pattern, src["name"], prefix, self.extract, src.get("languages") or (), paths
                    )
                    docs.append(parsed["docs"])
                    rejections.append(parsed["rejections"])
                    continue
                files = match_files(pbegin, label, pattern, paths) | f"Spread {label}" >> beam.Reshuffle()
                records, parse, read_rejections = _records(files, src, prefix, label, windows)
                parsed = records | f"Parse {label}" >> beam.ParDo(parse).with_outputs("rejections", main="docs")
                docs.append(parsed.docs)
                rejections.append(parsed.rejections)
                rejections.extend(read_rejections)
        return {
            "docs": tuple(docs) | "FlattenDocs" >> beam.Flatten(),
            "rejections": tuple(rejections) | "FlattenReadRejections" >> beam.Flatten(),
        }


def _two_steps(pcoll, label: str, plan: beam.DoFn, read: beam.DoFn, slots: Mapping[tuple[str, int], int] | None = None):
    """Plan units of work per file (ranges, row groups), spread them over workers (by their planned ``slots`` where
    a local batch set them, else at random), read them; both may reject."""
    planned = pcoll | f"Plan {label}" >> beam.ParDo(plan).with_outputs("rejections", main="units")
    spread = SpreadToSlots(slots) if slots else beam.Reshuffle()
    units = planned.units | f"SpreadUnits {label}" >> spread
    read = units | f"Read {label}" >> beam.ParDo(read).with_outputs("rejections", main="records")
    return read.records, (planned.rejections, read.rejections)


def _records(files, src: Mapping[str, Any], prefix: str, label: str, windows=None):
    """Matched files of a text/jsonl/parquet source → (raw records, the DoFn parsing them, read Rejections)."""
    if src["type"] in ("text", "code"):  # one file, one document (a code file's relative path goes in its meta)
        return files, ParseTextFileFn(src, prefix), ()
    if src["type"] == "jsonl":
        plan = PlanLineRangesFn(src, prefix, windows)
        lines, rejected = _two_steps(files, label, plan, ReadLinesFn(src, prefix), window_slots(windows))
        return lines, ParseJsonLineFn(src, prefix), rejected
    rows, rejected = _two_steps(files, label, PlanRowGroupsFn(src, prefix), ReadRowGroupFn(src, prefix))
    return rows, ParquetRowFn(src, prefix), rejected


def check_matches(source: Mapping[str, Any], index: int, pattern: str) -> None:
    """A path or glob that matches no file is a configuration error unless the source says ``allow_empty: true``:
    a misspelt glob (``*.PDF``) must not make a run that "balances" over nothing."""
    if source.get("allow_empty", False) or has_files(pattern):
        return
    raise ConfigError(
        f"sources[{source['name']}].paths[{index}]: {pattern!r} matches no file "
        "(set allow_empty: true on the source if that is expected)"
    )


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


__all__ = ["ReadRecords", "ReadSources", "WriteRecords", "check_matches", "counter", "join_path", "relative_key"]
