"""Parquet text sources → Documents, one row group at a time; a corrupt file is one Rejection, not a dead job.

Beam's ReadFromParquet fails the whole job on one zero-byte or corrupt file ("Parquet magic bytes not found"), and
the good files of the run are lost with it. Here each file's footer is read by ``PlanRowGroupsFn`` (a file whose
footer is unreadable → ``corrupt_source``), its row groups are spread over workers, and ``ReadRowGroupFn`` streams
each in record batches; a row group that breaks mid-way → the rows before the break plus one ``corrupt_source``
(id ``<file>#rg<group>``) with the number of rows read. A row without an id of its own is keyed by a hash of its text
at its row number in the file, so identical rows stay distinct records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq

from curation.records import doc_id, id_problem, line_key, new_document, rejection
from pipelines.isolation import per_record
from pipelines.metrics import counter
from pipelines.read_lines import REJECT, _file_rejection, _scalar_meta, open_raw, relative_key

BATCH_ROWS = 1024


def _open_parquet(path: str) -> pq.ParquetFile:
    return pq.ParquetFile(open_raw(path))


class PlanRowGroupsFn(beam.DoFn):
    """File metadata → ``(path, row group index)``; an unreadable footer → one ``corrupt_source`` Rejection."""

    def __init__(self, source: Mapping[str, Any], prefix: str):
        self.name = source["name"]
        self.prefix = prefix

    def process(self, meta):
        path = meta.path
        counter("read", "files").inc()
        try:
            groups = _open_parquet(path).metadata.num_row_groups
        except Exception as err:  # ArrowInvalid (magic bytes, footer), OSError: the file, not the run
            yield _file_rejection(self.name, self.prefix, path, "corrupt_source", f"{type(err).__name__}: {err}")
            return
        for group in range(groups):
            yield path, group


class ReadRowGroupFn(beam.DoFn):
    """``(path, row group)`` → ``(path, row, row number)`` per row; a row group that breaks → one Rejection."""

    def __init__(self, source: Mapping[str, Any], prefix: str):
        self.name = source["name"]
        self.prefix = prefix

    def process(self, element: tuple[str, int]):
        path, group = element
        read = 0
        try:
            parquet = _open_parquet(path)
            first = sum(parquet.metadata.row_group(g).num_rows for g in range(group))
            columns = parquet.metadata.row_group(group)
            stored = sum(columns.column(c).total_compressed_size for c in range(columns.num_columns))
            counter("read", "stored_bytes").inc(stored)  # progress (MB/s, ETA)
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[group]):
                for row in batch.to_pylist():
                    yield path, row, first + read
                    read += 1
        except Exception as err:
            detail = f"row group {group}: {type(err).__name__}: {err}; {read} rows read before the break"
            yield _file_rejection(self.name, self.prefix, path, "corrupt_source", detail, part=f"rg{group}")
            return
        counter("read", "rows").inc(read)


class ParquetRowFn(beam.DoFn):
    """One row of a Parquet text source → a Document (or a Rejection when the text column is missing)."""

    def __init__(self, source: Mapping[str, Any], prefix: str):
        self.name = source["name"]
        self.text_field = source.get("text_field", "text")
        self.id_field = source.get("id_field", "id")
        self.prefix = prefix

    @per_record("read")
    def process(self, element: tuple[str, dict, int]):
        path, row, number = element
        text = row.get(self.text_field)
        rid = row.get(self.id_field)
        if rid not in (None, ""):
            key, locator = str(rid), f"{path}#id={rid}"
        else:
            key = f"{relative_key(path, self.prefix)}#{line_key(str(text).encode('utf-8', 'replace'))}@{number}"
            locator = f"{path}@{number}"
        base = {"id": doc_id(self.name, key), "source": self.name, "locator": locator}
        if rid not in (None, "") and (problem := id_problem(key)):
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", "invalid_id", problem))
            return
        if not isinstance(text, str):
            yield beam.pvalue.TaggedOutput(REJECT, rejection(base, "read", "missing_text", "no text column"))
            return
        yield new_document(base["id"], text, self.name, locator, _scalar_meta(row, {self.text_field}))
