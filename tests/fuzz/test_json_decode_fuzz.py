"""parse_json_record and the byte decoders on arbitrary input: a storable dict or RecordError; decoded text or
DecodeError — never another exception, never a string that cannot be written as UTF-8."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from curation.sources import RecordError, parse_json_record
from curation.text.charset import FileEncoding, decode_bytes, file_encoding
from curation.text.normalize import DecodeError, decode_text
from tests.curation.sources.cutfiles import assert_storable
from tests.fuzz.profile import fuzz, texts


def parse_or_reject(text: str):
    try:
        record, n = parse_json_record(text)
    except RecordError as err:
        assert err.reason == "invalid_json" and err.detail
        return None, 0
    assert isinstance(record, dict) and n >= 0
    assert_storable(record)  # strict: no surrogate survives
    return record, n


def repaired(s: str) -> tuple[str, int]:
    """``s`` with valid surrogate pairs joined and each lone surrogate replaced by U+FFFD, and how many."""
    out, lone, i = [], 0, 0
    while i < len(s):
        ch = s[i]
        if "\ud800" <= ch <= "\udbff" and i + 1 < len(s) and "\udc00" <= s[i + 1] <= "\udfff":
            out.append(chr(0x10000 + ((ord(ch) - 0xD800) << 10) + (ord(s[i + 1]) - 0xDC00)))
            i += 2
            continue
        if "\ud800" <= ch <= "\udfff":
            out.append("\ufffd")
            lone += 1
        else:
            out.append(ch)
        i += 1
    return "".join(out), lone


def repaired_value(value):
    if isinstance(value, str):
        return repaired(value)
    if isinstance(value, list):
        items = [repaired_value(v) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(value, dict):
        total, out = 0, {}
        for k, v in value.items():
            (k2, n1), (v2, n2) = repaired(k), repaired_value(v)
            out[k2] = v2
            total += n1 + n2
        return out, total
    return value, 0


# strings that may hold lone surrogates and surrogate pairs (as JSON escapes they are valid JSON)
surrogate_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.sampled_from(["\ud83d", "\ude00", "\\", '"', "\x00"]),
    ),
    max_size=20,
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), surrogate_text),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(surrogate_text, children, max_size=4)),
    max_leaves=20,
)


@fuzz(200)
@given(text=st.one_of(st.text(), texts))
def test_any_text_is_a_record_or_invalid_json(text):
    parse_or_reject(text)


@fuzz(200)
@given(
    record=st.dictionaries(surrogate_text, json_values, max_size=5),
    ensure_ascii=st.booleans(),
    indent=st.sampled_from([None, 0, 2]),
)
def test_json_objects_with_escaped_surrogates_come_back_repaired(record, ensure_ascii, indent):
    line = json.dumps(record, ensure_ascii=True, indent=indent)  # every surrogate becomes a \\uXXXX escape
    if not ensure_ascii:  # and the rest of the non-ASCII text raw, as most JSONL writers do
        line = _ESCAPE.sub(_unescape, line)
    parsed, n = parse_or_reject(line)
    expected, lone = repaired_value(record)
    assert parsed == expected and n == lone


_ESCAPE = re.compile(r"\\(?:u([0-9a-f]{4})|.)")


def _unescape(m: re.Match[str]) -> str:
    """A ``\\uXXXX`` escape of a non-surrogate, non-control character back to the character; others kept."""
    if m.group(1) is None:
        return m.group(0)
    cp = int(m.group(1), 16)
    return m.group(0) if 0xD800 <= cp <= 0xDFFF or cp < 0x20 else chr(cp)


@fuzz(100)
@given(depth=st.integers(1, 200_000), opener=st.sampled_from(["[", '{"a":', '{"id": "x", "text": [']))
def test_deep_nesting_is_invalid_json_or_a_record(depth, opener):
    parse_or_reject(opener * depth)


@fuzz(200)
@given(raw=st.one_of(st.binary(max_size=3000), texts.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_decode_text_gives_text_or_decode_error(raw):
    try:
        text = decode_text(raw)
    except DecodeError as err:
        assert err.reason in ("binary_junk", "invalid_utf8")
        return
    text.encode("utf-8")


legacy = st.sampled_from(["cp1251", "koi8_r", "gb18030", "shift_jis", "cp1256", "latin-1", "euc_kr", "utf-16-le"])


@fuzz(150)
@given(
    raw=st.one_of(
        st.binary(max_size=4000),
        st.tuples(texts, legacy).map(lambda t: t[0].encode(t[1], "replace")),
        st.tuples(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"]), st.binary()).map(
            b"".join
        ),
    ),
    detect=st.booleans(),
)
def test_decode_bytes_gives_text_or_decode_error(raw, detect):
    try:
        decoded = decode_bytes(raw, detect=detect)
    except DecodeError as err:
        assert err.reason in ("binary_junk", "invalid_utf8", "undecodable")
        return
    decoded.text.encode("utf-8")  # stored text must be valid Unicode
    assert isinstance(decoded.encoding, str) and decoded.encoding


@fuzz(100)
@given(
    lines=st.lists(
        st.one_of(st.binary(max_size=200), st.tuples(texts, legacy).map(lambda t: t[0].encode(t[1], "replace"))),
        max_size=30,
    )
)
def test_file_encoding_always_decides(lines):
    verdict = file_encoding(lines)
    assert isinstance(verdict, FileEncoding)
    if verdict.encoding is not None:
        assert verdict.codec
        for line in lines:  # the decided codec exists (decoding a line may still fail: that line is rejected)
            try:
                line.decode(verdict.codec).encode("utf-8")
            except UnicodeDecodeError:
                pass
