"""Document-level language decisions with the real lid.176 model on real text (Django translations, the sample's
manpages, a classical Chinese fortune): each step fixes a real error of the plain identifier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from curation.text.langid import LanguageIdentifier
from curation.text.lid_decision import (
    UNDETERMINED,
    DecisionConfig,
    DocumentLanguageIdentifier,
    declared_code,
    han_variant_by_charset,
    split_chunks,
)
from curation.text.scripts import han_variant
from tests.curation.text.test_scripts import fixture_text

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
OFF = {"script_prior": False, "short_text": False, "paragraph_vote": False}

# Real strings where lid.176's top-1 is in a script the text does not use. All but the last are msgstr of Django
# 5.2.19's catalogs (django/conf/locale/<lc>/LC_MESSAGES/django.po, BSD-3-Clause); the last is Analects 15.23 (public
# domain) as packaged in Debian's fortunes-zh (GPL-3.0+), where lid.176 reads classical Chinese as Japanese.
SCRIPT_CASES = [
    ("템플릿", "eng_Latn", "kor_Hang"),  # ko "templates": Hangul only, the model has no idea
    ("Ιαν.", "jpn_Jpan", "ell_Grek"),  # el "Jan."
    ("აპრ.", "ukr_Cyrl", "kat_Geor"),  # ka "Apr."
    ("件数を表示", "zho_Hans", "jpn_Jpan"),  # ja "show counts": kana, so not Chinese
    ("子曰：“君子不以言举人，不以人废言。”\n    --《论语》", "jpn_Jpan", "zho_Hans"),  # ten kanji, no kana
]
TRADITIONAL = "輸入有效的日期"  # zh_Hant "Enter a valid date." (Django): no character of the scripts pair list
BOSNIAN = "Unesite ispravnu vrijednost."  # bs "Enter a valid value." (Django); lid.176: hrv 0.62, bos 0.18


def sample_docs() -> dict[str, str]:
    lines = (ROOT / "data/sample/text/manpages.jsonl").read_text(encoding="utf-8").splitlines()
    return {rec["id"]: rec["text"] for rec in map(json.loads, lines)}


class CountingIdentifier:
    """The real identifier, recording the size of each ``predict_batch`` call (a spy: every answer is the model's)."""

    def __init__(self, inner: LanguageIdentifier):
        self.inner, self.model, self.k, self.calls = inner, inner.model, inner.k, []

    def predict_batch(self, texts):
        self.calls.append(len(texts))
        return self.inner.predict_batch(texts)


@pytest.fixture(scope="module")
def ident() -> LanguageIdentifier:
    return LanguageIdentifier("lid.176", k=DecisionConfig().top_k)


def decider(ident, **cfg) -> DocumentLanguageIdentifier:
    return DocumentLanguageIdentifier(ident, cfg)


def test_declared_code():
    assert declared_code("pt-BR") == declared_code("pt_BR") == "por_Latn"
    assert declared_code("sr@latin") == declared_code("sr_Latn") == "srp_Latn"
    assert declared_code("sr") == "srp_Cyrl"
    assert declared_code("zh_TW") == declared_code("zh-Hant") == "zho_Hant"
    assert declared_code("zh_CN") == "zho_Hans"
    assert declared_code("ar") == "arb_Arab"  # lid.176's "ar" is the registry's Standard Arabic
    assert declared_code("nb") == "nob_Latn"
    assert declared_code("eng_Latn") == "eng_Latn"
    assert declared_code("ara_Arab") == "arb_Arab"
    assert declared_code("") == declared_code("English!") == UNDETERMINED


def test_config_from_the_default_yaml():
    cfg = yaml.safe_load((ROOT / "configs/default.yaml").read_text())["langid"]
    config = DecisionConfig.from_mapping(cfg)
    assert config.script_prior and config.short_text and config.paragraph_vote
    assert config.short_min_letters == cfg["short_text"]["min_letters"]
    assert config.vote_max_chunks == cfg["paragraph_vote"]["max_chunks"]
    assert config.min_score == cfg["min_score"]
    flat = DecisionConfig.from_mapping({"paragraph_vote": False, "min_score": 0.4, "min_score_per_lang": {"hrv": 0.6}})
    assert not flat.paragraph_vote
    assert flat.threshold("hrv_Latn") == 0.6 and flat.threshold("bos_Latn") == 0.4
    assert (
        DecisionConfig.from_mapping({"min_score_per_lang": {"srp_Latn": 0.1, "srp": 0.9}}).threshold("srp_Latn") == 0.1
    )
    with pytest.raises(ValueError):
        DecisionConfig.from_mapping({"short_text": {"policy": "guess"}})


def test_split_chunks_spread_over_the_document():
    text = sample_docs()["manpages-it/man7/locale.7"]
    every = split_chunks(text, 800, 1000)
    assert len(every) > 8
    assert all(len(c) >= 800 for c in every[:-1])
    assert "".join(every).replace("\n", "") == "".join(p for p in text.split("\n") if p.strip())
    eight = split_chunks(text, 800, 8)
    assert len(eight) == 8 and eight[0] == every[0] and eight[-1] == every[-1]
    assert split_chunks("one paragraph only", 800, 8) == ["one paragraph only"]


@pytest.mark.parametrize(("text", "wrong", "right"), SCRIPT_CASES)
def test_script_prior_fixes_a_real_misclassification(ident, text, wrong, right):
    assert ident.predict(text).lang == wrong  # the error is real: the plain identifier makes it
    assert decider(ident, **OFF).predict(text).lang == wrong
    fixed = decider(ident, **{**OFF, "script_prior": True}).predict(text)
    assert fixed.lang == right and fixed.script == right.split("_")[1]
    assert fixed.method in ("script_prior", "script_default") and 0 < fixed.score <= 1


def test_script_prior_keeps_right_answers(ident):
    texts = [fixture_text(name) for name in ("ls.1.ru.txt", "ls.1.zh_CN.txt", "django-messages.ar.txt")]
    texts += [BOSNIAN, sample_docs()["manpages-vi/man1/rm.1"]]
    plain = [d.lang for d in decider(ident, **OFF).predict_batch(texts)]
    assert plain == [d.lang for d in decider(ident, **{**OFF, "script_prior": True}).predict_batch(texts)]
    assert plain[:3] == ["rus_Cyrl", "zho_Hans", "arb_Arab"]


def test_chinese_variant_from_the_national_charsets(ident):
    assert han_variant(TRADITIONAL) == "Hans"  # the short pair list finds nothing and defaults
    assert han_variant_by_charset(TRADITIONAL) == "Hant"
    assert han_variant_by_charset(fixture_text("ls.1.zh_CN.txt")) == "Hans"
    assert ident.predict(TRADITIONAL).lang == "zho_Hans"
    assert decider(ident, **{**OFF, "script_prior": True}).predict(TRADITIONAL).lang == "zho_Hant"


def test_paragraph_vote_on_a_real_mixed_manpage(ident):
    """The Italian locale(7) keeps whole English passages: the vote names both languages, Italian first."""
    text = sample_docs()["manpages-it/man7/locale.7"]
    result = decider(ident, **{**OFF, "paragraph_vote": True}).predict(text)
    assert result.lang == "ita_Latn" and result.method == "vote"
    assert 2 <= result.n_chunks <= DecisionConfig().vote_max_chunks
    (top, top_share), (second, second_share) = result.shares[:2]
    assert top == "ita_Latn" and second == "eng_Latn"
    assert 0.1 < second_share < 0.5 < top_share and top_share + second_share <= 1.0 + 1e-9
    assert decider(ident, **OFF).predict(text).shares == ()  # without the vote the mix is invisible


def test_vote_finds_both_halves_of_a_joined_document(ident):
    docs = sample_docs()
    russian, english = docs["manpages-ru/man7/utf-8.7"], docs["manpages/man7/hier.7"][:3000]
    result = decider(ident).predict(russian + "\n\n" + english)
    assert result.lang == "rus_Cyrl"
    assert result.second[0] == "eng_Latn" and result.second[1] >= DecisionConfig().mixed_share


def test_all_chunks_of_a_batch_go_into_one_predict_call(ident):
    docs = sample_docs()
    texts = [docs["manpages-it/man7/locale.7"], BOSNIAN, docs["manpages-pl/man1/df.1"], "", fixture_text("ls.1.ru.txt")]
    spy = CountingIdentifier(ident)
    results = DocumentLanguageIdentifier(spy, {}).predict_batch(texts)
    assert len(spy.calls) == 1
    assert spy.calls[0] == sum(r.n_chunks for r in results if r.method != "no_letters")
    assert [r.lang for r in results] == ["ita_Latn", "hrv_Latn", "pol_Latn", UNDETERMINED, "rus_Cyrl"]


def test_batch_equals_one_by_one(ident):
    """Japanese manpages included: at k > 1 fastText may return fewer labels for them than for other texts."""
    docs = sample_docs()
    texts = [docs[k] for k in ("manpages-ja/man1/ls.1", "manpages-ja/man1/mkdir.1", "manpages-zh/man1/rm.1")]
    texts += [*(t for _, t in zip(range(4), docs.values(), strict=False)), BOSNIAN, TRADITIONAL]
    texts += [text for text, _, _ in SCRIPT_CASES]
    d = decider(ident)
    batch = d.predict_batch(texts)
    assert [r.lang for r in batch[:3]] == ["jpn_Jpan", "jpn_Jpan", "zho_Hans"]
    for text, result in zip(texts, batch, strict=True):
        single = d.predict(text)
        assert (single.lang, single.method, single.shares) == (result.lang, result.method, result.shares)
        assert single.score == pytest.approx(result.score, abs=1e-6)


def test_short_text_defers_to_the_declared_language(ident):
    assert ident.predict(BOSNIAN).lang == "hrv_Latn"
    d = decider(ident, **{**OFF, "short_text": True})
    declared = d.predict(BOSNIAN, declared="bs")
    assert (declared.lang, declared.method) == ("bos_Latn", "declared") and declared.score > 0.5
    assert d.predict(BOSNIAN, declared="hr").lang == "hrv_Latn"
    wrong = d.predict(BOSNIAN, declared="ja")  # a wrong declaration does not beat clear evidence
    assert wrong.lang == "hrv_Latn" and wrong.method == "short"
    assert d.predict(TRADITIONAL, declared="zh_TW").lang == "zho_Hant"
    long_text = fixture_text("ls.1.ru.txt")  # long texts ignore the declaration
    assert d.predict(long_text, declared="fr").lang == "rus_Cyrl"


def test_short_text_without_declaration(ident):
    fortune = "A day for firm decisions!!!!!  Or is it?"  # fortunes-min, as in data/sample/text/short.jsonl
    raw = decider(ident, **OFF).predict(fortune)
    kept = decider(ident, **{**OFF, "short_text": True}).predict(fortune)  # default policy: the score stands
    assert kept.lang == raw.lang == "eng_Latn" and kept.score == raw.score and kept.method == "model"
    scaled = decider(ident, **{**OFF, "short_text": {"enabled": True, "policy": "scale"}}).predict(fortune)
    assert scaled.lang == "eng_Latn" and scaled.method == "short"
    assert scaled.letters < DecisionConfig().short_min_letters
    assert scaled.score == pytest.approx(raw.score * scaled.letters / DecisionConfig().short_min_letters, rel=1e-6)
    und = decider(ident, **{**OFF, "short_text": {"enabled": True, "policy": "und"}}).predict(fortune)
    assert und.undetermined and und.best == "eng_Latn" and und.method == "short"


def test_confidence_thresholds_per_language(ident):
    fortune = "A day for firm decisions!!!!!  Or is it?"
    text = fixture_text("debian-faq.en.txt")
    low = decider(ident, min_score=0.6, short_text={"policy": "scale"}).predict(fortune)  # scaled to about 0.5
    assert low.lang == UNDETERMINED and low.method == "low_confidence"
    assert low.best == "eng_Latn" and low.score < low.threshold == 0.6
    kept = decider(ident, min_score=0.6, min_score_per_lang={"eng_Latn": 0.0}).predict(fortune)
    assert kept.lang == "eng_Latn" and kept.threshold == 0.0
    strict = decider(ident, min_score_per_lang={"eng": 0.9999}).predict_batch([text, fixture_text("ls.1.ru.txt")])
    assert strict[0].lang == UNDETERMINED and strict[0].best == "eng_Latn" and strict[0].threshold == 0.9999
    assert strict[1].lang == "rus_Cyrl" and strict[1].threshold == 0.0


def test_texts_without_letters(ident):
    results = decider(ident, min_score=0.3).predict_batch(["", "  \n ", "12 -- 34 ... 2024-01-01"])
    assert all(r.lang == UNDETERMINED and r.method == "no_letters" and r.score == 0.0 for r in results)
    assert all(r.threshold == 0.3 for r in results)


def test_from_config_builds_the_identifier():
    d = DocumentLanguageIdentifier.from_config({"model": "lid.176", "top_k": 4, "paragraph_vote": False})
    assert d.identifier.k == 4 and not d.cfg.paragraph_vote
    assert d.predict(fixture_text("ls.1.ru.txt")).lang == "rus_Cyrl"


@pytest.mark.parametrize(
    ("text", "script"),
    [("ꦲꦺꦴꦫꦲꦤꦲꦸꦮꦺꦴꦁꦱꦶꦗꦶ", "Java"), ("ⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴰⵏⴰⵡⴰⵢⵜ ⵜⵓⵜⵍⴰⵢⵜ", "Tfng"), ("ꕙꔤ ꕞꕌꔳ", "Vaii"), ("ꆈꌠꁱꂷ", "Yiii")],
)
def test_letters_of_scripts_no_model_language_uses_are_named_not_hidden(text, script):
    """Javanese, Tifinagh, Vai, Yi: letters of their own script, labelled und_<script>, never a silent und_Zyyy keep
    nor a language of another script."""
    res = DocumentLanguageIdentifier.from_config({}).predict_batch([text], [None])[0]
    assert (res.lang, res.script, res.method) == (f"und_{script}", script, "unknown_script")
    assert res.letters > 0 and res.undetermined
