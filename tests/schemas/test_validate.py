import pyarrow as pa
import pytest

from curation.records import new_document, rejection
from schemas import (
    ALL_SCHEMAS,
    ANNOTATION,
    DOCUMENT,
    REJECTION,
    SCHEMA_VERSION,
    SchemaError,
    to_table,
    validate_record,
    validate_table,
)


def test_every_schema_is_versioned_and_named():
    for name, schema in ALL_SCHEMAS.items():
        assert schema.metadata[b"schema_name"].decode() == name
        assert schema.metadata[b"schema_version"].decode() == SCHEMA_VERSION
        assert "id" in schema.names or name == "RunManifest"


def test_new_document_validates_and_round_trips():
    doc = new_document("src/a", "Hello world", "src", "a.jsonl#id=a", {"license": "MIT"})
    doc["content_hash"] = "0" * 32
    table = to_table([doc], DOCUMENT)
    validate_table(table, DOCUMENT)
    back = table.to_pylist()[0]
    assert back["text"] == "Hello world" and dict(back["meta"]) == {"license": "MIT"}


def test_missing_required_field_is_named():
    doc = new_document("src/a", "x", "src", "loc")
    del doc["source"]
    with pytest.raises(SchemaError, match=r"Document\.source"):
        validate_record(doc, DOCUMENT)


def test_wrong_type_and_unknown_field_fail():
    rej = rejection({"id": "a", "source": "s", "locator": "l", "text": "abc"}, "read", "invalid_json")
    assert validate_record(rej, REJECTION)["n_chars"] == 3
    with pytest.raises(SchemaError, match="expected int64"):
        validate_record({**rej, "n_chars": "3"}, REJECTION)
    with pytest.raises(SchemaError, match="unknown field"):
        validate_record({**rej, "colour": "red"}, REJECTION)


def test_map_values_are_checked():
    row = {
        "id": "a",
        "content_hash": "h",
        "task": "edu",
        "status": "ok",
        "label": "3",
        "score": 2.7,
        "distribution": {"0": 0.1, "1": "lots"},
        "model": "m",
        "prompt_version": "v1",
        "backend": "transformers",
        "error": None,
    }
    with pytest.raises(SchemaError, match=r"distribution\['1'\]"):
        validate_record(row, ANNOTATION)


def test_validate_table_rejects_nulls_and_wrong_columns():
    bad = pa.table({"id": pa.array([None], pa.string())})
    with pytest.raises(SchemaError, match="columns"):
        validate_table(bad, REJECTION)
    rows = [rejection({"id": "a", "source": "s", "locator": "l"}, "read", "x")]
    table = to_table(rows, REJECTION)
    nulled = table.set_column(0, pa.field("id", pa.string(), nullable=False), pa.array([None], pa.string()))
    with pytest.raises(SchemaError, match="null"):
        validate_table(nulled, REJECTION)
