"""Schema version shared by every record type; bump on any incompatible change."""

SCHEMA_VERSION = "1.0.0"
