"""Reading a pipeline's Parquet outputs back in tests, each table validated against its schema."""

from __future__ import annotations

import glob

import pyarrow.parquet as pq

from schemas import validate_table


def read_rows(pattern: str, schema) -> list[dict]:
    """All rows of the files matching ``pattern`` (at least one must exist), validated against ``schema``."""
    files = sorted(glob.glob(pattern))
    assert files, f"no output at {pattern}"
    rows = []
    for f in files:
        table = pq.read_table(f)
        validate_table(table, schema)
        rows.extend(table.to_pylist())
    return rows
