"""Validation at pipeline boundaries: a record that does not match its schema fails loudly, naming the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa


class SchemaError(ValueError):
    """A record or table does not match its declared schema."""


def schema_name(schema: pa.Schema) -> str:
    meta = schema.metadata or {}
    return meta.get(b"schema_name", b"?").decode()


def _check_value(value: Any, typ: pa.DataType, path: str) -> None:
    if value is None:
        return
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        ok = isinstance(value, str)
    elif pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        ok = isinstance(value, bytes)
    elif pa.types.is_integer(typ):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif pa.types.is_floating(typ):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif pa.types.is_boolean(typ):
        ok = isinstance(value, bool)
    elif pa.types.is_map(typ):
        if isinstance(value, Mapping):
            items = list(value.items())
        elif isinstance(value, list):
            items = [tuple(kv) for kv in value]
        else:
            raise SchemaError(f"{path}: expected a map, got {type(value).__name__}")
        for k, v in items:
            _check_value(k, typ.key_type, f"{path}.key")
            _check_value(v, typ.item_type, f"{path}[{k!r}]")
        return
    elif pa.types.is_list(typ):
        if not isinstance(value, (list, tuple)):
            raise SchemaError(f"{path}: expected a list, got {type(value).__name__}")
        for i, v in enumerate(value):
            _check_value(v, typ.value_type, f"{path}[{i}]")
        return
    elif pa.types.is_struct(typ):
        if not isinstance(value, Mapping):
            raise SchemaError(f"{path}: expected a struct, got {type(value).__name__}")
        for f in typ:
            _check_value(value.get(f.name), f.type, f"{path}.{f.name}")
        return
    else:  # pragma: no cover - no other types are declared
        raise SchemaError(f"{path}: unsupported type {typ}")
    if not ok:
        raise SchemaError(f"{path}: expected {typ}, got {type(value).__name__} {value!r:.60}")


def validate_record(record: Mapping[str, Any], schema: pa.Schema) -> dict[str, Any]:
    """Check one record against ``schema``; return it restricted to (and ordered by) the schema's fields."""
    name = schema_name(schema)
    extra = set(record) - set(schema.names)
    if extra:
        raise SchemaError(f"{name}: unknown field(s) {sorted(extra)}")
    out: dict[str, Any] = {}
    for field in schema:
        value = record.get(field.name)
        if value is None and not field.nullable:
            raise SchemaError(f"{name}.{field.name}: required field is missing or null (id={record.get('id')!r})")
        _check_value(value, field.type, f"{name}.{field.name}")
        out[field.name] = value
    return out


def to_table(records: Iterable[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Validate records and build an Arrow table with exactly ``schema``."""
    rows = [validate_record(r, schema) for r in records]
    return pa.Table.from_pylist(rows, schema=schema)


def validate_table(table: pa.Table, schema: pa.Schema) -> None:
    """Check a table read back from disk: same field names and types, no nulls in required fields."""
    name = schema_name(schema)
    if table.schema.names != schema.names:
        raise SchemaError(f"{name}: columns {table.schema.names} != expected {schema.names}")
    for field in schema:
        col = table.column(field.name)
        if not col.type.equals(field.type):
            raise SchemaError(f"{name}.{field.name}: type {col.type} != expected {field.type}")
        if not field.nullable and col.null_count:
            raise SchemaError(f"{name}.{field.name}: {col.null_count} null value(s) in a required field")
