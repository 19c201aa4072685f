"""Charset detection on real legacy-encoded files and on real UTF-8 text encoded with Python's codecs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from curation.text.charset import CANDIDATES, codec_for, decode_bytes, detect_legacy, file_encoding
from curation.text.normalize import DecodeError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CHARSET = FIXTURES / "charset"
MIXTURE = FIXTURES / "mixture"
SAMPLE_TEXT = Path(__file__).resolve().parents[3] / "data" / "sample" / "text"

REAL_FILES = [
    ("README.koi8-r", "koi8-r"),
    ("README-bulgarian.cp1251.txt", "windows-1251"),
    ("karabas.cp866.tex", "ibm866"),
    ("example-gbk.tex", "gb18030"),
    ("zhlipsum-big5.def", "big5"),
    ("simple-sjis.tex", "shift_jis"),
    ("simple-euc.tex", "euc-jp"),
    ("samplebook.cp1256.tex", "windows-1256"),
]


@pytest.mark.parametrize(("name", "label"), REAL_FILES)
def test_real_legacy_files_are_decoded_in_their_encoding(name, label):
    raw = (CHARSET / name).read_bytes()
    decoded = decode_bytes(raw)
    assert decoded.encoding == label
    assert decoded.text == raw.decode(codec_for(label))
    assert decoded.margin >= 3 and label in decoded.detail


def _paragraphs(text: str, size: int) -> list[str]:
    """Consecutive slices of about ``size`` characters, cut at line ends."""
    out, buf = [], ""
    for line in text.splitlines(keepends=True):
        buf += line
        if len(buf) >= size:
            out.append(buf)
            buf = ""
    return out


ENCODED = [
    ("ls.1.ru.txt", "cp1251"),
    ("ls.1.ru.txt", "koi8_r"),
    ("ls.1.ru.txt", "iso8859_5"),
    ("ls.1.ru.txt", "cp866"),
    ("ls.1.zh_CN.txt", "gb18030"),
    ("ls.1.zh_CN.txt", "cp950"),  # simplified text in Big5 where its characters exist, '?' where not
    ("django-messages.ar.txt", "cp1256"),
    ("django-messages.ar.txt", "iso8859_6"),
]


@pytest.mark.parametrize(("name", "codec"), ENCODED)
def test_real_text_encoded_with_real_codecs_round_trips(name, codec):
    text = (MIXTURE / name).read_text(encoding="utf-8")
    for size in (300, 2000, len(text)):
        for chunk in _paragraphs(text, size)[:4]:
            raw = chunk.encode(codec, errors="replace")
            if raw.isascii():
                continue
            decoded = decode_bytes(raw)
            assert decoded.text == raw.decode(codec), (codec, size)
            assert codec_for(decoded.encoding) == codec or decoded.text == raw.decode(codec_for(decoded.encoding))


def test_whole_documents_encoded_with_every_candidate_never_come_back_wrong():
    """A wrong guess is worse than a rejection: across all candidates, decoding is right or refused, never wrong."""
    texts = [(MIXTURE / n).read_text(encoding="utf-8") for n in ("ls.1.ru.txt", "ls.1.zh_CN.txt")]
    texts.append((MIXTURE / "debian-faq.en.txt").read_text(encoding="utf-8")[:20000])
    right = 0
    for text in texts:
        for codec, _, _ in CANDIDATES:
            raw = text.encode(codec, errors="replace")
            if raw.isascii() or raw.count(b"?") > 0.2 * len(raw):
                continue  # nothing to detect, or a script the code page cannot hold
            try:
                decoded = decode_bytes(raw)
            except DecodeError as err:
                assert err.reason == "undecodable"
                continue
            assert decoded.text == raw.decode(codec), codec
            right += 1
    assert right >= 8


def test_valid_utf8_and_byte_order_marks_win():
    text = (MIXTURE / "ls.1.ru.txt").read_text(encoding="utf-8")
    assert decode_bytes(text.encode("utf-8")).encoding == "utf-8"
    assert decode_bytes(b"\xef\xbb\xbf" + text.encode("utf-8")).text == text
    for codec, label in (("utf-16", "utf-16le"), ("utf-32", "utf-32le")):
        decoded = decode_bytes(text.encode(codec))  # Python writes a little-endian BOM
        assert (decoded.text, decoded.encoding) == (text, label)
    english = (MIXTURE / "debian-faq.en.txt").read_text(encoding="utf-8")[:3000]
    assert decode_bytes(english.encode("utf-16-le")).text == english  # no BOM: found by its NUL bytes
    assert decode_bytes(english.encode("utf-16-be")).encoding == "utf-16be"


def test_iso_2022_jp_is_recognised_by_its_escapes():
    raw = (CHARSET / "simple-euc.tex").read_bytes().decode("euc_jp").encode("iso2022_jp")
    assert raw.isascii()
    decoded = decode_bytes(raw)
    assert decoded.encoding == "iso-2022-jp" and decoded.text == raw.decode("iso2022_jp")


def test_binary_junk_is_rejected():
    with pytest.raises(DecodeError) as err:
        decode_bytes(Path("/bin/ls").read_bytes()[:5000])
    assert err.value.reason == "binary_junk"
    with pytest.raises(DecodeError) as err:
        decode_bytes(bytes(range(1, 32)) * 40 + "é".encode("latin-1"))
    assert err.value.reason == "binary_junk" and "control bytes" in err.value.detail


@pytest.mark.parametrize("size", [100, 400, 4000])
def test_random_high_bytes_are_not_text(size):
    """Letter soup: every single-byte code page decodes it, none reads like a language (fixed seeds; below ~40
    chars a character model cannot tell soup from a short line, see MAX_SURPRISE)."""
    for seed in range(5):
        rng = random.Random(seed)
        raw = bytes(rng.choice([*range(0x80, 0x100), 0x20, 0x20, 0x20]) for _ in range(size))
        with pytest.raises(DecodeError) as err:
            decode_bytes(raw)
        assert err.value.reason == "undecodable"


def test_mostly_utf8_with_a_bad_byte_is_corrupt_not_legacy():
    text = (MIXTURE / "ls.1.ru.txt").read_bytes()
    with pytest.raises(DecodeError) as err:
        decode_bytes(text[:3000] + b"\xe9" + text[3000:])
    assert err.value.reason == "invalid_utf8" and "valid UTF-8" in err.value.detail
    with pytest.raises(DecodeError) as err:
        decode_bytes("Früchte".encode("latin-1"), detect=False)
    assert err.value.reason == "invalid_utf8"


def test_short_inputs_are_decoded_right_or_refused():
    """One line of text is little evidence: the detector may refuse, but what it returns must be the text."""
    lines = [line for line in (MIXTURE / "ls.1.ru.txt").read_text(encoding="utf-8").splitlines() if len(line) > 20]
    outcomes = {"right": 0, "refused": 0}
    for line in lines[:30]:
        for codec in ("cp1251", "koi8_r"):
            raw = line.encode(codec, errors="replace")
            if raw.isascii() or b"?" in raw:
                continue
            try:
                decoded = decode_bytes(raw)
            except DecodeError as err:
                assert err.reason == "undecodable"
                outcomes["refused"] += 1
                continue
            assert decoded.text == line, codec
            outcomes["right"] += 1
    assert outcomes["right"] > outcomes["refused"]


def test_ambiguity_is_reported_with_both_readings():
    with pytest.raises(DecodeError) as err:
        detect_legacy(b"\xe9")  # one byte: é? щ? י? nothing tells
    assert err.value.reason == "undecodable"
    assert "ambiguous" in err.value.detail or "looks like text" in err.value.detail


def test_file_encoding_is_decided_once_per_file():
    # the bundled sample: one Latin-1 line among UTF-8 lines is a corrupt line of a UTF-8 file
    verdict = file_encoding((SAMPLE_TEXT / "bad_input.jsonl").read_bytes().split(b"\n"))
    assert verdict.encoding == "utf-8" and verdict.detail.startswith("1 of ")
    # a whole file in KOI8-R: its lines are read in KOI8-R, however short each one is
    lines = (CHARSET / "README.koi8-r").read_bytes().split(b"\n")
    verdict = file_encoding(lines)
    assert (verdict.encoding, verdict.codec) == ("koi8-r", "koi8_r")
    # lines of random high bytes: no encoding, and the detail says why
    rng = random.Random(0)
    junk = [bytes(rng.randrange(0x80, 0x100) for _ in range(60)) for _ in range(20)]
    verdict = file_encoding(junk)
    assert verdict.encoding is None and verdict.detail
