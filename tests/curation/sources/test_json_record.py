"""parse_json_record: lone surrogates become U+FFFD and are counted, valid pairs stay astral characters, deep
nesting and non-objects are ``invalid_json``; the result always encodes to UTF-8."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.sources import RecordError, parse_json_record, scrub_surrogates
from tests.curation.sources.cutfiles import assert_storable

ROOT = Path(__file__).resolve().parents[3]


def test_a_lone_surrogate_escape_becomes_a_replacement_character():
    record, n = parse_json_record('{"id":"x","text":"a\\ud800b"}')
    assert record == {"id": "x", "text": "a\ufffdb"} and n == 1
    assert_storable(record)


def test_lone_surrogates_in_keys_nested_values_and_upper_case_are_counted():
    line = '{"id":"x","text":"\\uDC00 and \\udbff","meta":{"k\\ud801":["\\ud83d", 1, {"z":"\\udfff"}]}}'
    record, n = parse_json_record(line)
    assert n == 5
    assert record == {"id": "x", "text": "\ufffd and \ufffd", "meta": {"k\ufffd": ["\ufffd", 1, {"z": "\ufffd"}]}}
    assert_storable(record)


def test_a_valid_escaped_pair_is_kept_as_the_astral_character():
    record, n = parse_json_record('{"id":"x","text":"smile \\ud83d\\ude00 and \\uD835\\uDD18"}')
    assert record["text"] == "smile \U0001f600 and \U0001d518" and n == 0
    assert_storable(record)


def test_a_pair_next_to_a_lone_surrogate():
    record, n = parse_json_record('{"text":"\\ud800\\ud83d\\ude00\\ude00"}')
    assert record["text"] == "\ufffd\U0001f600\ufffd" and n == 2


def test_an_escaped_backslash_before_u_is_plain_text():
    record, n = parse_json_record('{"text":"C:\\\\ud800\\\\x"}')
    assert record["text"] == "C:\\ud800\\x" and n == 0


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_nesting_too_deep_is_invalid_json_not_a_crash(depth):
    with pytest.raises(RecordError) as err:
        parse_json_record("[" * depth)
    assert err.value.reason == "invalid_json"
    with pytest.raises(RecordError) as err:
        parse_json_record('{"id": "deep", "text": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert err.value.reason == "invalid_json"


@pytest.mark.parametrize("line", ["[1, 2]", '"text"', "42", "null", "true", "3.5", '[{"id": 1}]'], ids=lambda s: s[:10])
def test_a_valid_json_value_that_is_not_an_object_is_invalid_json(line):
    with pytest.raises(RecordError) as err:
        parse_json_record(line)
    assert err.value.reason == "invalid_json" and "not an object" in err.value.detail


@pytest.mark.parametrize(
    "line",
    ["", "   ", "{", '{"id": 1,}', "{'id': 1}", '{"a": "\\x41"}', '{"a": 1} trailing', "1" * 5000, "{" + "1" * 5000],
    ids=lambda s: repr(s[:12]),
)
def test_broken_json_is_invalid_json_with_a_bounded_detail(line):
    with pytest.raises(RecordError) as err:
        parse_json_record(line)
    assert err.value.reason == "invalid_json" and 0 < len(err.value.detail) <= 300


def test_a_huge_integer_is_invalid_json_not_a_crash():
    with pytest.raises(RecordError) as err:
        parse_json_record('{"id": ' + "9" * 5000 + ', "text": "t"}')
    assert err.value.reason == "invalid_json"


def test_real_sample_records_parse_unchanged():
    for path in sorted((ROOT / "data" / "sample" / "text").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                text = line.decode("utf-8")
                expected = json.loads(text)
            except ValueError:
                continue  # the sample's deliberately bad lines
            if not isinstance(expected, dict):
                continue
            record, n = parse_json_record(text)
            assert record == expected and n == 0


def test_scrub_surrogates_leaves_clean_values_alone():
    value = {"a": ["b", 1, None, 2.5, {"c": "d"}], "e": True}
    assert scrub_surrogates(value) == (value, 0)
    assert scrub_surrogates("\ud800x\udfff") == ("\ufffdx\ufffd", 2)
