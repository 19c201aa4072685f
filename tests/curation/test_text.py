from pathlib import Path

import pytest

from curation.text import DecodeError, content_hash, decode_text, junk_ratio, normalize_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mixture"


def test_decode_real_utf8_with_bom():
    raw = (FIXTURES / "ls.1.ru.txt").read_bytes()
    assert decode_text(b"\xef\xbb\xbf" + raw) == raw.decode("utf-8")


def test_decode_rejects_invalid_utf8_and_nul():
    raw = (FIXTURES / "ls.1.ru.txt").read_bytes()
    with pytest.raises(DecodeError) as err:
        decode_text(raw.decode("utf-8").encode("cp1251"))
    assert err.value.reason == "invalid_utf8"
    with pytest.raises(DecodeError) as err:
        decode_text(b"abc\x00def")
    assert err.value.reason == "binary_junk"


def test_junk_ratio_separates_text_from_binary():
    text = (FIXTURES / "ls.1.zh_CN.txt").read_text(encoding="utf-8")
    assert junk_ratio(text) == 0.0
    binary = Path("/bin/ls").read_bytes()[:4000].decode("latin-1")
    assert junk_ratio(binary) > 0.2
    assert junk_ratio("") == 0.0
    assert junk_ratio("ab\ufffd\ufffd") == 0.5


def test_normalize_nfc_spaces_and_invisibles():
    decomposed = "Cafe\u0301  au\u00a0lait\u200b\r\n\r\n\r\n\r\nnext \t line  \n"
    assert normalize_text(decomposed) == "Café au lait\n\nnext line"
    # zero-width joiner is orthographic in Indic / Arabic scripts and must survive
    assert "\u200d" in normalize_text("क्\u200dष")


def test_normalize_is_idempotent_on_real_text():
    for path in FIXTURES.glob("*.txt"):
        once = normalize_text(path.read_text(encoding="utf-8"))
        assert normalize_text(once) == once
        assert once


def test_content_hash_ignores_whitespace_layout_only():
    text = (FIXTURES / "django-messages.ar.txt").read_text(encoding="utf-8")
    assert content_hash(text) == content_hash("  " + text.replace(" ", "\n  ") + "\n")
    assert content_hash(text) != content_hash(text.replace("ال", "ل", 1))
    assert len(content_hash(text)) == 32
