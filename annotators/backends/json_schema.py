"""A small JSON-schema checker for structured outputs: the subset a generation schema uses, no dependency.

Servers enforce the schema while decoding, but a server that ignores the parameter (an old vLLM, another
OpenAI-compatible server) returns free text; checking the answer on our side turns that into a clear per-request
failure instead of a malformed record further down the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


class SchemaMismatch(ValueError):
    """The value does not match the schema; the message names the path."""


def _type_ok(value: Any, name: str) -> bool:
    if name not in _TYPES:
        raise ValueError(f"unsupported JSON-schema type {name!r}")
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, _TYPES[name])


def check(value: Any, schema: Mapping[str, Any], path: str = "$") -> None:
    """Raise ``SchemaMismatch`` unless ``value`` matches ``schema`` (type, enum, properties, required, items)."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(value, n) for n in names):
            raise SchemaMismatch(f"{path}: expected {'|'.join(names)}, got {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaMismatch(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            raise SchemaMismatch(f"{path}: string length {len(value)} out of bounds")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaMismatch(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaMismatch(f"{path}: {value} > maximum {schema['maximum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        missing = [k for k in schema.get("required", ()) if k not in value]
        if missing:
            raise SchemaMismatch(f"{path}: missing required {missing}")
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                raise SchemaMismatch(f"{path}: unexpected properties {extra}")
        for key, sub in props.items():
            if key in value:
                check(value[key], sub, f"{path}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            raise SchemaMismatch(f"{path}: {len(value)} items out of bounds")
        if "items" in schema:
            for i, item in enumerate(value):
                check(item, schema["items"], f"{path}[{i}]")
