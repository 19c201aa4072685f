"""Record shapes shared by every layer. Imports pyarrow only."""

from schemas.records import (
    ALL_SCHEMAS,
    ANNOTATION,
    DEDUP_INDEX,
    DOCUMENT,
    DUPLICATE,
    REJECTION,
    RUN_MANIFEST,
    SHARD_ROW,
    SYNTH_RECORD,
)
from schemas.validate import SchemaError, to_table, validate_record, validate_table
from schemas.version import SCHEMA_VERSION

__all__ = [
    "ALL_SCHEMAS",
    "ANNOTATION",
    "DEDUP_INDEX",
    "DOCUMENT",
    "DUPLICATE",
    "REJECTION",
    "RUN_MANIFEST",
    "SCHEMA_VERSION",
    "SHARD_ROW",
    "SYNTH_RECORD",
    "SchemaError",
    "to_table",
    "validate_record",
    "validate_table",
]
