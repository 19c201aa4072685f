"""One JSONL line's text → a JSON object that can be stored, or a ``RecordError`` saying why it cannot.

JSON may spell a lone UTF-16 surrogate as a valid escape (``"a\\ud800b"``); Python decodes it into a ``str`` that no
UTF-8 writer accepts, and Beam's coder then fails the whole bundle. Such code points are replaced by U+FFFD at this
boundary and counted (the reader records ``meta["lone_surrogates"]``): the rest of the record is real text worth
keeping, and U+FFFD is what any UTF-8 decoder would have produced. Escaped surrogate *pairs* are valid and kept.
Nesting deep enough to exhaust the parser's recursion limit is ``invalid_json``, not a crash.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class RecordError(Exception):
    """A record that cannot be used: ``reason`` is the rejection reason, ``detail`` says where and why."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _scrub_str(text: str) -> tuple[str, int]:
    found = len(_SURROGATE.findall(text))
    return (_SURROGATE.sub("\ufffd", text), found) if found else (text, 0)


def scrub_surrogates(value: Any) -> tuple[Any, int]:
    """``value`` with every lone surrogate in its strings (keys included) replaced by U+FFFD, and how many."""
    if isinstance(value, str):
        return _scrub_str(value)
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            item, n = scrub_surrogates(item)
            items.append(item)
            total += n
        return items, total
    if isinstance(value, dict):
        total = 0
        out = {}
        for key, item in value.items():
            key, n1 = _scrub_str(key)
            item, n2 = scrub_surrogates(item)
            out[key] = item
            total += n1 + n2
        return out, total
    return value, 0


def parse_json_record(text: str) -> tuple[dict, int]:
    """The JSON object on one line and the number of lone surrogates replaced in it."""
    try:
        record = json.loads(text)
    except RecursionError:
        raise RecordError("invalid_json", "nested too deeply to parse") from None
    except ValueError as err:  # JSONDecodeError; also ints longer than Python's digit limit
        raise RecordError("invalid_json", str(err)[:300]) from None
    if not isinstance(record, dict):
        raise RecordError("invalid_json", f"not an object ({type(record).__name__})")
    if _SURROGATE_ESCAPE.search(text):  # only an escape can bring a surrogate into a decoded line
        return scrub_surrogates(record)
    return record, 0
