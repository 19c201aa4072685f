import json
import re
import unicodedata
from pathlib import Path

import pymupdf
import pytest

from curation.text.normalize import (
    DecodeError,
    content_hash,
    decode_text,
    junk_ratio,
    normalize,
    normalize_text,
    repair_mojibake,
    repair_presentation_forms,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mixture"
PRESENTATION = re.compile("[\ufb50-\ufdff\ufe70-\ufefe]")


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


def test_normalize_nfc_newlines_and_invisibles_and_keeps_whitespace():
    decomposed = "Cafe\u0301  au\u00a0lait\u200b\r\n\r\n\r\n\r\nnext \t line  \n\f\n    indented\r"
    result = normalize(decomposed)
    assert result.text == "Café  au\u00a0lait\n\n\n\nnext \t line  \n\f\n    indented\n"
    assert result.repairs == {"newlines": 5, "nfc": 1, "invisible": 1}
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


# ---------------------------------------------------------------------------------------------- repairs (issue 4)

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"


def _real_texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]
    for path in sorted((SAMPLE / "text").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("text"), str):
                texts.append(record["text"])
    return texts


def test_mojibake_of_real_text_is_repaired():
    for name, wrong in [
        ("ls.1.ru.txt", "cp1251"),
        ("ls.1.zh_CN.txt", "latin-1"),
        ("django-messages.ar.txt", "latin-1"),
    ]:
        text = (FIXTURES / name).read_text(encoding="utf-8")
        garbled = text.encode("utf-8").decode(wrong, errors="replace" if wrong != "latin-1" else "strict")
        if wrong == "cp1251":  # bytes cp1251 leaves undefined (0x98) became U+FFFD: keep only lossless lines
            keep = [i for i, line in enumerate(garbled.split("\n")) if "\ufffd" not in line]
            text = "\n".join(text.split("\n")[i] for i in keep)
            garbled = "\n".join(garbled.split("\n")[i] for i in keep)
        repaired, lines = repair_mojibake(garbled)
        assert repaired == text, name
        assert lines == sum(1 for line in text.split("\n") if not line.isascii())


def test_only_the_garbled_lines_of_a_document_are_touched():
    text = (FIXTURES / "debian-faq.en.txt").read_text(encoding="utf-8")[:3000]
    french = "Le système Debian est construit sur les idéaux du logiciel libre — « stable »."
    mixed = text + "\n" + french.encode("utf-8").decode("cp1252") + "\n" + french + "\n"
    repaired, lines = repair_mojibake(mixed)
    assert lines == 1 and repaired == text + "\n" + french + "\n" + french + "\n"


def test_clean_real_text_is_never_rewritten_by_the_repairs():
    """Mojibake repair and presentation-form folding leave clean text alone: quotes, dashes, full-width
    punctuation, accents the author wrote."""
    texts = _real_texts()
    assert len(texts) > 200
    for text in texts:
        assert repair_mojibake(text) == (text, 0)
        assert repair_presentation_forms(text) == (text, 0, 0)
    zh = (FIXTURES / "ls.1.zh_CN.txt").read_text(encoding="utf-8")
    assert "，" in zh and "，" in normalize_text(zh)  # full-width comma survives (NFC, not NFKC)
    typographic = "“Quoted” — ‘single’ – dash … ½ ＡＢＣ"
    assert normalize_text(typographic) == typographic


def test_presentation_forms_and_ligatures_fold_to_letters():
    with pymupdf.open(SAMPLE / "pdf" / "texlive-arabic-lshort-persian.pdf") as doc:
        raw = doc[1].get_text()
    assert len(PRESENTATION.findall(raw)) > 100  # real PDF text: glyph codes, not letters
    result = normalize(raw)
    assert not PRESENTATION.search(result.text)
    assert result.repairs["presentation_forms"] > 100
    assert unicodedata.normalize("NFKC", result.text) == normalize_text(unicodedata.normalize("NFKC", raw))
    assert normalize("ﬁnal ﬂow").text == "final flow" and normalize("ﬁnal ﬂow").repairs == {"ligatures": 2}


def test_repairs_run_in_order_and_are_reported():
    # a line of real PDF text in presentation forms, its UTF-8 read as Latin-1 somewhere: the mojibake is undone
    # first, then the forms fold to letters, then NFC composes
    with pymupdf.open(SAMPLE / "pdf" / "texlive-arabic-lshort-persian.pdf") as doc:
        line = next(ln for ln in doc[1].get_text().split("\n") if len(PRESENTATION.findall(ln)) > 10)
    garbled = line.encode("utf-8").decode("latin-1") + " Cafe\u0301\u200b x\x07y"
    result = normalize(garbled)
    assert result.text == unicodedata.normalize("NFKC", line) + " Café xy"
    assert result.repairs == {
        "mojibake_lines": 1,
        "presentation_forms": len(PRESENTATION.findall(line)),
        "nfc": 1,
        "invisible": 1,
        "controls": 1,
    }
    assert normalize("plain ascii text").repairs == {}


def test_junk_is_measured_after_mojibake_repair():
    text = (FIXTURES / "ls.1.ru.txt").read_text(encoding="utf-8")
    garbled = text.encode("utf-8").decode("latin-1")  # C1 controls everywhere: looks like binary junk ...
    assert junk_ratio(garbled) > 0.05
    assert normalize(garbled).junk == 0.0  # ... until it is read as the UTF-8 it is
    assert normalize(Path("/bin/ls").read_bytes()[:4000].decode("latin-1")).junk > 0.2
