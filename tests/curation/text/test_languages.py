"""The language registry against the issue's list, ISO code tables, and the real lid.176 model's label set."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from curation.model_store import resolve_model
from curation.text import languages as reg
from curation.text.langid import load_label_table

ISO_CODES = Path("/usr/share/iso-codes/json")

# Issue 4's list, family by family, in its own words (the spec the registry must match). Where the registry's
# English name is worded differently, NAME_IN_ISSUE says how the issue calls it.
ISSUE_FAMILIES = {
    "Indo-European": "English, French, Portuguese, German, Romanian, Swedish, Danish, Bulgarian, Russian, Czech, "
    "Greek, Ukrainian, Spanish, Dutch, Slovak, Croatian, Polish, Lithuanian, Norwegian Bokmål, Norwegian Nynorsk, "
    "Persian, Slovenian, Gujarati, Latvian, Italian, Occitan, Nepali, Marathi, Belarusian, Serbian, Luxembourgish, "
    "Venetian, Assamese, Welsh, Silesian, Asturian, Chhattisgarhi, Awadhi, Maithili, Bhojpuri, Sindhi, Irish, "
    "Faroese, Hindi, Punjabi, Bengali, Oriya, Tajik, Eastern Yiddish, Lombard, Ligurian, Sicilian, Friulian, "
    "Sardinian, Galician, Catalan, Icelandic, Tosk Albanian, Limburgish, Dari, Afrikaans, Macedonian, Sinhala, Urdu, "
    "Magahi, Bosnian, Armenian",
    "Sino-Tibetan": "Chinese Simplified, Chinese Traditional, Cantonese, Burmese",
    "Afro-Asiatic": "Arabic Standard, Najdi, Levantine, Egyptian, Moroccan, Mesopotamian, Ta'izzi-Adeni, Tunisian, "
    "Hebrew, Maltese",
    "Austronesian": "Indonesian, Malay, Tagalog, Cebuano, Javanese, Sundanese, Minangkabau, Balinese, Banjar, "
    "Pangasinan, Iloko, Waray",
    "Dravidian": "Tamil, Telugu, Kannada, Malayalam",
    "Turkic": "Turkish, North Azerbaijani, Northern Uzbek, Kazakh, Bashkir, Tatar",
    "Tai-Kadai": "Thai, Lao",
    "Uralic": "Finnish, Estonian, Hungarian",
    "Austroasiatic": "Vietnamese, Khmer",
    "Other": "Japanese, Korean, Georgian, Basque, Haitian, Papiamento, Kabuverdianu, Tok Pisin, Swahili",
}
NAME_IN_ISSUE = {
    "Chinese (Simplified)": "Chinese Simplified",
    "Chinese (Traditional)": "Chinese Traditional",
    "Arabic (Modern Standard)": "Arabic Standard",
    **{f"{d} Arabic": d for d in ("Najdi", "Levantine", "Egyptian", "Moroccan", "Mesopotamian", "Tunisian")},
    "Ta'izzi-Adeni Arabic": "Ta'izzi-Adeni",
}
# Labels of the code_script models whose language code is neither the row's nor its macrolanguage, and why.
LABEL_ALIASES = {
    "cmn": "Mandarin: the individual language under zho",
    "ekk": "Standard Estonian: the individual language under est",
    "fil": "Filipino: the standardised form of Tagalog",
    "ajp": "South Levantine Arabic: merged into apc by ISO 639-3 in 2023",
}


@pytest.fixture(scope="module")
def lid176_labels() -> set[str]:
    import fasttext

    return {label.removeprefix("__label__") for label in fasttext.load_model(str(resolve_model("lid.176"))).labels}


@pytest.fixture(scope="module")
def iso() -> tuple[dict[str, dict], set[str]]:
    if not ISO_CODES.exists():
        pytest.skip("iso-codes not installed")
    langs = {lang["alpha_3"]: lang for lang in json.loads((ISO_CODES / "iso_639-3.json").read_text())["639-3"]}
    scripts = {s["alpha_4"] for s in json.loads((ISO_CODES / "iso_15924.json").read_text())["15924"]}
    return langs, scripts


def test_registry_is_the_issue_list():
    rows = reg.languages()
    assert len(rows) == 119
    assert len({lang.code for lang in rows}) == 119
    assert reg.families() == tuple(ISSUE_FAMILIES)
    for family, names in ISSUE_FAMILIES.items():
        expected = [name.strip() for name in names.split(",")]
        got = [NAME_IN_ISSUE.get(lang.name, lang.name) for lang in rows if lang.family == family]
        assert got == expected, family


def test_codes_are_iso_639_3_and_15924(iso):
    langs, scripts = iso
    for lang in reg.languages():
        assert re.fullmatch(r"[a-z]{3}_[A-Z][a-z]{3}", lang.code)
        assert lang.code == f"{lang.iso639_3}_{lang.script}"
        assert lang.iso639_3 in langs, lang.code
        assert lang.script in scripts, lang.code
        if lang.macrolanguage:  # a macrolanguage code, and the row is it or one of its members
            assert langs[lang.macrolanguage]["scope"] == "M", lang.code


def test_spaced_follows_the_script():
    unspaced = {lang.code for lang in reg.languages() if not lang.spaced}
    assert unspaced == {"zho_Hans", "zho_Hant", "yue_Hant", "jpn_Jpan", "tha_Thai", "lao_Laoo", "khm_Khmr", "mya_Mymr"}
    assert reg.is_spaced("kor_Hang") and reg.is_spaced("arb_Arab") and not reg.is_spaced("tha_Thai")
    assert not reg.is_spaced("wuu_Hans") and reg.is_spaced("epo_Latn")  # outside the registry: by script


def test_lookups():
    assert reg.get("ars_Arab").name == "Najdi Arabic"
    with pytest.raises(KeyError):
        reg.get("xxx_Latn")
    assert [lang.code for lang in reg.by_iso639_3("zho")] == ["zho_Hans", "zho_Hant"]
    assert reg.by_iso639_3("qqq") == ()
    arabic = [lang.code for lang in reg.by_label("lid176", "__label__ar")]
    assert arabic[0] == "arb_Arab" and len(arabic) == 7 and "arz_Arab" not in arabic
    assert [lang.code for lang in reg.by_label("glotlid_v3", "fas_Arab")] == ["pes_Arab", "prs_Arab"]
    with pytest.raises(ValueError):
        reg.by_label("cld3", "en")


def test_lid176_column_matches_the_model(lid176_labels):
    """Every label in the column exists in the model and reads as the row's language (or its macrolanguage); an
    empty cell means the model has no label for the language, and its macrolanguage's label, if any, is another
    row's (lid.176 ms is Standard Malay's, not Banjar's)."""
    table = load_label_table()
    assert set(table) == lid176_labels
    for lang in reg.languages():
        own = {lang.iso639_3, lang.macrolanguage} - {""}
        for label in lang.labels["lid176"]:
            assert label in lid176_labels, (lang.code, label)
            assert table[label][0] in own, (lang.code, label)
        if not lang.labels["lid176"]:
            assert not [label for label, (iso, _) in table.items() if iso == lang.iso639_3], lang.code
            for label in (label for label, (iso, _) in table.items() if iso == lang.macrolanguage):
                assert reg.by_label("lid176", label), (lang.code, label)


@pytest.mark.parametrize("column", ["glotlid_v3", "openlid", "openlid_v2"])
def test_code_script_columns_are_consistent(column):
    for lang in reg.languages():
        for label in lang.labels[column]:
            code, script = label.split("_")
            assert code in {lang.iso639_3, lang.macrolanguage} or code in LABEL_ALIASES, (lang.code, label)
            assert (
                script == lang.script
                or (script == "Hani" and lang.script in ("Hans", "Hant"))
                or (lang.code == "srp_Cyrl" and script == "Latn")
            ), (lang.code, label)


def test_a_label_reaches_one_language_unless_the_merge_is_documented():
    shared = {}
    for fmt in reg.LABEL_FORMATS:
        for label, rows in reg.label_owners(fmt).items():
            if len(rows) > 1:
                shared[label] = [row.code for row in rows]
    arabic = ["arb_Arab", "ars_Arab", "apc_Arab", "ary_Arab", "acm_Arab", "acq_Arab", "aeb_Arab"]
    assert shared == {
        "fa": ["pes_Arab", "prs_Arab"],
        "zh": ["zho_Hans", "zho_Hant"],
        "ar": arabic,
        "fas_Arab": ["pes_Arab", "prs_Arab"],
        "cmn_Hani": ["zho_Hans", "zho_Hant"],
    }


def test_coverage_of_the_real_lid176(lid176_labels):
    rows = reg.coverage(lid176_labels)
    assert rows == reg.coverage(lid176_labels, "code", column="lid176")  # the column is the model's truth
    status = {row.language.code: row for row in rows}
    assert len(rows) == 119
    for lang in reg.languages():
        if not lang.labels["lid176"]:
            assert status[lang.code].status == "missing"
    assert status["arb_Arab"].status == "shared" and len(status["arb_Arab"].with_) == 6
    dialects = [code for code in status if code.endswith("_Arab") and reg.get(code).macrolanguage == "ara"]
    for code in dialects:
        if code not in ("arb_Arab", "arz_Arab"):
            assert status[code].text == "merged with arb_Arab"
    assert status["arz_Arab"].status == "distinct"  # lid.176 has an Egyptian Arabic Wikipedia label
    assert status["prs_Arab"].text == "merged with pes_Arab"
    assert status["zho_Hans"].status == status["zho_Hant"].status == "via script"
    assert status["nob_Latn"].status == status["nno_Latn"].status == "distinct"


def test_coverage_of_published_label_lists():
    glot = {row.language.code: row for row in reg.model_coverage("glotlid_v3")[0]}
    assert glot["acq_Arab"].status == "missing"
    assert glot["prs_Arab"].text == "merged with pes_Arab"
    assert glot["zho_Hant"].status == "via script" and glot["zho_Hant"].labels == ("cmn_Hani",)
    assert glot["apc_Arab"].labels == ("apc_Arab", "ajp_Arab") and glot["apc_Arab"].status == "distinct"
    v2 = {row.language.code: row for row in reg.model_coverage("openlid_v2")[0]}
    assert v2["zho_Hans"].labels == ("cmn_Hans",) and v2["zho_Hans"].status == "distinct"
    assert v2["est_Latn"].labels == ("ekk_Latn",)


def test_coverage_cli(capsys):
    reg.main(["coverage", "--model", "openlid"])
    out = capsys.readouterr().out
    assert out.startswith("### openlid")
    assert len([line for line in out.splitlines() if line.startswith("| `")]) == 119
    assert "Totals (119 languages)" in out
    assert "OCR (Tesseract)" in out.splitlines()[2]
    assert "OCR: 95 languages read by their own Tesseract pack, 24 by their script's pack, 0 by none" in out


def test_every_language_names_an_ocr_pack():
    rows = reg.languages()
    assert all(lang.ocr_pack for lang in rows)
    by_code = {lang.code: lang.ocr_pack for lang in rows}
    assert by_code["zho_Hant"] == "chi_tra" and by_code["yue_Hant"] == "chi_tra" and by_code["pes_Arab"] == "fas"
    assert by_code["nno_Latn"] == "nor" and by_code["tgl_Latn"] == "fil" and by_code["ary_Arab"] == "ara"
    assert by_code["bho_Deva"] == "script/Devanagari" and by_code["bak_Cyrl"] == "script/Cyrillic"
    assert reg.ocr_status(reg.get("deu_Latn"), {"deu"}) == "`deu` own pack (installed)"
    assert reg.ocr_status(reg.get("vec_Latn"), {"Latin"}) == "`script/Latin` script pack (installed)"  # Debian
    assert reg.ocr_status(reg.get("vec_Latn"), {"eng"}) == "`script/Latin` script pack (not installed)"


def test_label_targets_for_lid176(lid176_labels):
    targets = reg.label_targets(lid176_labels, "code", fallback=load_label_table())
    assert targets["ar"] == reg.LabelTarget("arb", "Arab")
    assert targets["no"].code == "nob_Latn" and targets["sq"].code == "als_Latn"
    assert targets["zh"].detect == "han" and targets["sr"].detect == "alternate"
    assert targets["eo"].code == "epo_Latn"  # outside the registry: lid.176's own table
    assert reg.label_targets(["xx"], "code")["xx"].detect == "any"  # unknown everywhere: script from the text
    with pytest.raises(ValueError):
        reg.label_targets(["en"], "iso")
    assert reg.detect_label_format(["__label__en", "__label__ceb"]) == "code"
    assert reg.detect_label_format(["__label__eng_Latn", "__label__zxx_Zzzz", "__label__en"]) == "code_script"
