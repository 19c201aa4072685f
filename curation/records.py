"""Builders for Document and Rejection dicts, so every stage makes them the same way."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any


def doc_id(source: str, key: str) -> str:
    """Stable document id from its source name and a key unique within the source (relative path, record id)."""
    return f"{source}/{key}"


def id_problem(record_id: str) -> str | None:
    """Why a source's own record id cannot be used (NUL is reserved by dedup node names), or None."""
    if "\x00" in record_id:
        return f"id {record_id!r} contains NUL"
    return None


def line_key(line: bytes) -> str:
    """Key for a record without an id of its own: a short hash of its raw bytes (stable across runs and machines)."""
    return "h" + hashlib.blake2b(line, digest_size=8).hexdigest()


def new_document(doc_id: str, text: str, source: str, locator: str, meta: Mapping[str, str] | None = None) -> dict:
    """A Document before curation: stage columns are filled in along the way."""
    return {
        "id": doc_id,
        "text": text,
        "source": source,
        "locator": locator,
        "lang": None,
        "lang_score": None,
        "script": None,
        "content_hash": "",
        "n_chars": len(text),
        "n_tokens": None,
        "meta": dict(meta or {}),
        "quality": None,
        "dedup_cluster": None,
        "dedup_cluster_size": None,
    }


def rejection(doc: Mapping[str, Any], stage: str, reason: str, detail: str | None = None) -> dict:
    """A Rejection row for ``doc`` (a Document dict or any mapping with id/source/locator)."""
    text = doc.get("text")
    return {
        "id": doc["id"],
        "source": doc["source"],
        "locator": doc["locator"],
        "stage": stage,
        "reason": reason,
        "detail": None if detail is None else str(detail)[:2000],
        "lang": doc.get("lang"),
        "n_chars": len(text) if isinstance(text, str) else doc.get("n_chars"),
    }
