"""Language ID with the real lid.176 model on real text: fixtures, sample PDFs, installed gettext catalogs."""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf
import pytest

from curation.langid import MAX_CHARS, LangPrediction, LanguageIdentifier, load_label_table, prepare_text
from tests.curation.test_scripts import PDFS, TRADITIONAL_SENTENCE, catalog_text, fixture_text, pdf_text

pytestmark = pytest.mark.slow
ISO_CODES = Path("/usr/share/iso-codes/json")
# lid.176 labels are Wikipedia codes; these three mean something else than the same ISO 639-3 code
# (als = Alemannic not Tosk Albanian; eml was retired and split; nah is a collective code).
WIKIPEDIA_CODES = {"als": "gsw", "eml": "egl", "nah": "nci"}


@pytest.fixture(scope="module")
def lid() -> LanguageIdentifier:
    return LanguageIdentifier()


@pytest.fixture(scope="module")
def lid3() -> LanguageIdentifier:
    return LanguageIdentifier(k=3)


def test_label_table_covers_every_model_label(lid):
    table = load_label_table()
    model_labels = {label.removeprefix("__label__") for label in lid.model.get_labels()}
    assert len(model_labels) == 176
    assert set(table) == model_labels


def test_label_table_codes_are_iso(lid):
    if not ISO_CODES.exists():
        pytest.skip("iso-codes not installed")
    languages = json.loads((ISO_CODES / "iso_639-3.json").read_text())["639-3"]
    scripts = {s["alpha_4"] for s in json.loads((ISO_CODES / "iso_15924.json").read_text())["15924"]}
    by_alpha2 = {lang["alpha_2"]: lang["alpha_3"] for lang in languages if "alpha_2" in lang}
    alpha3 = {lang["alpha_3"] for lang in languages}
    for label, (iso, script) in load_label_table().items():
        assert iso in alpha3, label
        assert script in scripts, label
        if len(label) == 2 and label in by_alpha2:  # ISO 639-1 -> 639-3, macrolanguages included (zh -> zho)
            assert iso == by_alpha2[label], label
        elif len(label) == 3:
            assert iso == WIKIPEDIA_CODES.get(label, label), label


@pytest.mark.parametrize(
    ("name", "lang"),
    [
        ("debian-faq.en.txt", "eng_Latn"),
        ("ls.1.ru.txt", "rus_Cyrl"),
        ("ls.1.zh_CN.txt", "zho_Hans"),
        ("django-messages.ar.txt", "ara_Arab"),
    ],
)
def test_fixture_languages(lid, name, lang):
    pred = lid.predict(fixture_text(name))
    assert pred.lang == lang
    assert pred.script == lang.split("_")[1]
    assert 0.5 < pred.score <= 1.0


@pytest.mark.parametrize(
    ("name", "lang"),
    [
        ("debian-faq-en.pdf", "eng_Latn"),
        ("debian-faq-ru.pdf", "rus_Cyrl"),
        ("debian-faq-de.pdf", "deu_Latn"),
        ("debian-faq-fr.pdf", "fra_Latn"),
        ("debian-reference-zh-cn.pdf", "zho_Hans"),  # a table of contents: dot leaders must not make it English
        ("maint-guide-ja.pdf", "jpn_Jpan"),
        ("texlive-arabic-lshort-persian.pdf", "fas_Arab"),
    ],
)
def test_pdf_languages(lid, name, lang):
    pred = lid.predict(pdf_text(name))
    assert pred.lang == lang
    assert load_label_table()[pred.label][0] == lang.split("_")[0]
    assert pred.score > 0.5


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("zh_TW", "zho_Hant"), ("zh_CN", "zho_Hans"), ("ko", "kor_Hang"), ("sr", "srp_Cyrl"), ("sr@latin", "srp_Latn")],
)
def test_script_follows_the_text(lid, locale, lang):
    """Same language label, different script: Chinese variants and Serbian in Cyrillic or Latin."""
    assert lid.predict(catalog_text(locale)).lang == lang


def test_traditional_chinese_sentence(lid):
    pred = lid.predict(TRADITIONAL_SENTENCE)
    assert (pred.label, pred.lang, pred.script) == ("zh", "zho_Hant", "Hant")


def test_batch_equals_one_by_one(lid):
    texts = [p for name in ("ls.1.ru.txt", "ls.1.zh_CN.txt", "django-messages.ar.txt") for p in
             fixture_text(name).split("\n\n")[:25]]  # fmt: skip
    with pymupdf.open(PDFS / "maint-guide-ja.pdf") as doc:
        texts += [page.get_text() for page in doc]
    texts += ["", TRADITIONAL_SENTENCE, " \n "]
    batch = lid.predict_batch(texts)
    assert len(batch) == len(texts)
    assert len({p.lang for p in batch}) >= 5
    for text, pred in zip(texts, batch, strict=True):
        single = lid.predict_batch([text])[0]
        assert (single.lang, single.label, single.script) == (pred.lang, pred.label, pred.script)
        assert single.score == pytest.approx(pred.score, abs=1e-6)


def test_texts_without_letters_are_undetermined(lid):
    preds = lid.predict_batch(["", "   \n\t  ", "12 -- 34 ... 2024-01-01", fixture_text("ls.1.ru.txt")])
    assert [p.lang for p in preds] == ["und_Zyyy", "und_Zyyy", "und_Zyyy", "rus_Cyrl"]
    assert [p.score for p in preds[:3]] == [0.0, 0.0, 0.0]
    assert preds[0] == LangPrediction("und_Zyyy", 0.0, "", "Zyyy")
    assert lid.predict_batch([]) == []


def test_top_k(lid, lid3):
    text = fixture_text("ls.1.ru.txt")
    top1, top3 = lid.predict(text), lid3.predict(text)
    assert len(top3.top_k) == 3
    assert top3.top_k[0] == (top3.lang, top3.score)
    assert [s for _, s in top3.top_k] == sorted((s for _, s in top3.top_k), reverse=True)
    assert (top1.lang, top1.score) == (top3.lang, pytest.approx(top3.score, abs=1e-6))
    with pytest.raises(ValueError):
        LanguageIdentifier(k=0)


def test_prepare_text_is_one_capped_line_from_the_middle():
    text = fixture_text("debian-faq.en.txt")
    prepared = prepare_text(text)
    assert "\n" not in prepared and "  " not in prepared
    assert len(prepared) <= MAX_CHARS
    assert prepared == prepared.lower()
    assert not any(ch.isdigit() for ch in prepared)
    words = " ".join(prepare_text(text, max_chars=len(text)).split())
    assert prepared in words
    assert not words.startswith(prepared)  # the middle, not the title page


def test_model_by_path(lid):
    from curation.model_store import resolve_model

    by_path = LanguageIdentifier(str(resolve_model("lid.176")))
    text = catalog_text("ko")
    assert by_path.predict(text) == lid.predict(text)
