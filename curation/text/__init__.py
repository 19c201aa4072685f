"""Text and language: decoding and charset detection, Unicode normalisation, scripts, the language registry, and
language identification (model + document-level decisions)."""
