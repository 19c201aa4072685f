"""Per-language thresholds and stop-word lists of the quality filters, derived from real text and checked on it.

    python benchmarks/filters_calibration.py [--write] [--skip-keep]

1. **Parallel ratios** (Django 5.2.19 .po files: every English msgid against its translation, placeholders excluded,
   99 locales): per language ``c`` = characters per English character, ``u`` = word units per English word,
   ``w`` = mean word-unit length over the English one. Gopher's and FineWeb's thresholds were set on English; a
   threshold on a quantity that scales with one of these ratios is scaled by it, so that the same content gets the
   same decision in every language:

   * ``u`` outside 1/1.2..1.2 (a fifth more or fewer words than English; French is at 1.20, German 0.95): Gopher
     ``min_words``/``max_words`` x u; if u is below the band, FineWeb ``max_new_line_ratio`` / u (newlines per
     word: Finnish text has fewer words per line). Above the band (Vietnamese 1.50, Urdu 1.30) the newline limit
     is not tightened: on real documents the effect is smaller than the UI strings suggest (the parallel Debian
     maint-guide, code included, has 0.78x the English newlines per word in Vietnamese, not 1/1.5), and the
     tightened limit dropped 56 % of the Vietnamese man pages (kept 0.83 -> 0.27);
   * ``w`` above 1.1 (long agglutinated or compounded words: Finnish 1.42, Malayalam 1.48, Tamil 1.40, Georgian
     1.30, Turkish 1.21, Hungarian 1.18): Gopher ``max_avg_word_len`` x w; ``w`` below 0.9 (Vietnamese 0.69):
     ``min_avg_word_len`` x w;
   * ``c`` outside 0.8..1.25 (Chinese 0.35, Japanese 0.54, Korean 0.52): FineWeb ``short_line_length`` x c.

   Languages split into one unit per character (words.UNITS_PER_WORD) keep the character-unit thresholds of the
   filter modules; FineWeb counts their characters ``units_per_word`` to a word in its newline ratio, Latin words
   in the same text one each (a threshold divided by the factor dropped half of the Japanese man pages, whose
   option lines are Latin). Thai and Lao (scripts ``Thai``,
   ``Laoo``) end sentences with a space: FineWeb's punctuation rule is off for them. Khmer is not: real Khmer text
   ends sentences with ``។`` (the Django km catalogue does), so the rule stays, with the Khmer marks.
2. **Stop words**: for each stopwords-iso 1.1.0 language (58, MIT) with real text in the dev corpora, the words of
   its list (plus the hand-picked list that preceded it, for the 20 languages that had one) that occur in the most
   documents of that language (Debian docs, man pages, fortunes, Django catalogues), top ``STOP_LIST_SIZE``.
   Gopher's check needs a few very frequent function words: with a 500-word list nearly any text has two of them.
3. **Separation**: share of 60-word windows with at least 2 distinct stop words, on prose (Debian doc / man page
   paragraphs; for Django-only languages, translated messages that are sentences) and on lists (the Django
   catalogues' one-to-three-word labels: language names, field names, buttons), with the short lists and with the
   full stopwords-iso lists.
4. **Keep rates** of Debian docs and man pages (good prose) per language, language from our LID, under the filters
   with the English defaults only and with the per-language config.

``--write`` regenerates ``curation/filters/thresholds.yaml`` and ``curation/filters/stopwords.tsv``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

from multilingual_corpus import DEV, DJANGO_WHEEL, LOCALE_TAGS, load_corpus, po_pairs

from curation.filters import apply_filters, build_filters
from curation.filters.words import UNITS_PER_WORD, split_words

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = ROOT / "curation" / "filters" / "thresholds.yaml"
STOPWORDS = ROOT / "curation" / "filters" / "stopwords.tsv"
STOPWORDS_ISO = DEV / "npm" / "stopwords-iso-1.1.0" / "package" / "stopwords-iso.json"
STOP_LIST_SIZE = 20
MIN_STOP_LIST = 10  # fewer matching words than this: no list (Thai: 3 single-character entries)
WINDOW = 60
_PLACEHOLDER = re.compile(r"%|\{|<|&[a-z]+;")
_SENTENCE_END = re.compile(r"[.!?。！？؟۔।։።។။]$")
_SENTENCE_ENDS = re.compile(r"[.!?](?=\s|$)|[。！？؟۔।։።។။]")

# stopwords-iso codes (ISO 639-1) -> the registry's ISO 639-3 codes (individual language of a macrolanguage: arb,
# pes, zsm, lvs, swh, nob, as curation/text/languages.tsv and our LID output use them).
ISO1_TO_3 = {
    "af": "afr", "ar": "arb", "hy": "hye", "eu": "eus", "bn": "ben", "br": "bre", "bg": "bul", "ca": "cat",
    "zh": "zho", "hr": "hrv", "cs": "ces", "da": "dan", "nl": "nld", "en": "eng", "eo": "epo", "et": "est",
    "fi": "fin", "fr": "fra", "gl": "glg", "de": "deu", "el": "ell", "gu": "guj", "ha": "hau", "he": "heb",
    "hi": "hin", "hu": "hun", "id": "ind", "ga": "gle", "it": "ita", "ja": "jpn", "ko": "kor", "ku": "kmr",
    "la": "lat", "lt": "lit", "lv": "lvs", "ms": "zsm", "mr": "mar", "no": "nob", "fa": "pes", "pl": "pol",
    "pt": "por", "ro": "ron", "ru": "rus", "sk": "slk", "sl": "slv", "so": "som", "st": "sot", "es": "spa",
    "sw": "swh", "sv": "swe", "th": "tha", "tl": "tgl", "tr": "tur", "uk": "ukr", "ur": "urd", "vi": "vie",
    "yo": "yor", "zu": "zul",
}  # fmt: skip

# The hand-picked lists that preceded the derived ones (about twenty frequent function words each): extra
# candidates, because some stopwords-iso lists miss their language's most frequent words (Ukrainian has no
# в/на/не/і/у, Korean few standalone words).
HAND_PICKED = {
    "eng": "the be to of and that have with a in is it for on as was are this by not",
    "deu": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als",
    "fra": "de la le et les des en un une du est que pour qui dans pas sur au il ne",
    "spa": "de la que el en y a los se del las un por con no una su para es al",
    "ita": "di e il la che è per un in a non una sono del con le si da i gli",
    "por": "de a o que e do da em um para é com não uma os no se na por mais",
    "nld": "de het een en van in is dat op te zijn met voor niet die aan er om ook als",
    "rus": "и в не на я что с по это как а из для к у о от же но или",
    "ukr": "і в у на з що не до як це та за від для по й але про його він",
    "pol": "i w z na się nie do to że jest o jak a od po co przez tak dla ale",
    "ces": "a se na je v že to s z do o k i jako ale pro by jsou jeho tak",
    "tur": "ve bir bu da de için ile çok gibi daha ne o ama ki en olarak olan mi kadar sonra",
    "arb": "في من على إلى أن عن مع هذا هذه التي الذي ما لا كان و أو ثم قد هو هي",
    "pes": "و در به از که این را با است برای آن یک تا می بر هم نیز شد ها اند",
    "hin": "के का की है में और को से पर यह एक हैं भी लिए कि था नहीं तो ने हो",
    "ind": "yang dan di ke dari ini itu untuk dengan tidak dalam akan pada adalah juga atau ada oleh sebagai karena",
    "vie": "của và là có không được trong cho các những một này với người đã để khi từ như thì",
    "kor": "그리고 그 이 저 것 수 등 및 더 또는 그러나 하지만 때문에 위해 대한 있는 있다 하는 한다 같은",
    "jpn": "の に は を が で と も へ や か な た て し だ ね よ る",
    "zho": "的 了 是 在 不 和 有 也 就 这 這 我 他 们 們 都 与 與 而 及 或 被 将 將 对 對",
}


# ---------------------------------------------------------------------------------------------- parallel ratios
def parallel_ratios() -> dict[str, dict[str, float]]:
    """code (xxx_Scrp) -> {c, u, w, words}: translation vs English msgid over all Django catalogues of a locale."""
    sums: dict[str, Counter] = defaultdict(Counter)
    with zipfile.ZipFile(DEV / DJANGO_WHEEL) as zf:
        for name in sorted(n for n in zf.namelist() if n.endswith(".po")):
            locale = name.split("/locale/")[1].split("/")[0]
            code = LOCALE_TAGS.get(locale)
            if not code or code == "eng_Latn":
                continue
            for msgid, strings in po_pairs(zf.read(name).decode("utf-8", "replace")):
                msgstr = strings[0]
                if _PLACEHOLDER.search(msgid) or _PLACEHOLDER.search(msgstr):
                    continue
                src, dst = split_words(msgid), split_words(msgstr)
                if not src or not dst:
                    continue
                s = sums[code]
                s["src_chars"] += len(msgid)
                s["dst_chars"] += len(msgstr)
                s["src_words"] += len(src)
                s["dst_units"] += len(dst)
                s["src_unit_chars"] += sum(map(len, src))
                s["dst_unit_chars"] += sum(map(len, dst))
    out = {}
    for code, s in sums.items():
        if s["src_words"] < 300:  # too little text for a ratio (fy, kab, udm, ...)
            continue
        src_len = s["src_unit_chars"] / s["src_words"]
        dst_len = s["dst_unit_chars"] / s["dst_units"]
        out[code] = {
            "c": s["dst_chars"] / s["src_chars"],
            "u": s["dst_units"] / s["src_words"],
            "w": dst_len / src_len,
            "words": s["src_words"],
        }
    return out


def overrides_from_ratios(ratios: dict[str, dict[str, float]]) -> dict[str, dict[str, dict]]:
    """filter -> key -> {threshold: value, "_note": why}; keys are ISO 639-3 codes (scripts for Thai/Lao)."""
    out: dict[str, dict[str, dict]] = {"gopher_quality": {}, "fineweb": {}}
    note_off = "sentences end with a space, not a mark: punctuation rule off"
    out["fineweb"]["Thai"] = {"min_line_punct_ratio": None, "_note": f"Thai script: {note_off}"}
    out["fineweb"]["Laoo"] = {"min_line_punct_ratio": None, "_note": f"Lao script: {note_off}"}
    by_iso: dict[str, dict[str, float]] = {}
    for code, r in sorted(ratios.items(), key=lambda kv: -kv[1]["words"]):
        by_iso.setdefault(code.split("_")[0], r)  # one ratio per ISO code (srp: the Cyrillic catalogue)
    for iso in sorted(set(by_iso) | set(UNITS_PER_WORD)):
        r = by_iso.get(iso)
        note = f"c={r['c']:.2f} u={r['u']:.2f} w={r['w']:.2f} ({r['words']} English words)" if r else ""
        fineweb: dict = {}
        gopher: dict = {}
        if iso in UNITS_PER_WORD:  # character units: handled by the filter modules (words.UNITS_PER_WORD)
            pass
        elif r and not 1 / 1.2 <= r["u"] <= 1.2:
            gopher["min_words"] = round(50 * r["u"])
            gopher["max_words"] = int(round(100_000 * r["u"], -2))
            if r["u"] < 1:  # never tightened: see the module docstring
                fineweb["max_new_line_ratio"] = round(0.3 / r["u"], 3)
        if r and iso not in UNITS_PER_WORD:
            if r["w"] > 1.1:
                gopher["max_avg_word_len"] = round(10 * r["w"], 1)
            elif r["w"] < 0.9:
                gopher["min_avg_word_len"] = round(3 * r["w"], 1)
        if r and not 0.8 <= r["c"] <= 1.25:
            fineweb["short_line_length"] = round(30 * r["c"])
        for name, values in (("gopher_quality", gopher), ("fineweb", fineweb)):
            if values:
                out[name][iso] = {**values, "_note": note}
    return out


def _yaml_value(value) -> str:
    return "null" if value is None else repr(value)


def write_thresholds(overrides: dict[str, dict[str, dict]]) -> None:
    lines = [
        "# Per-language overrides of the quality filters' thresholds, merged over each filter's DEFAULTS and its",
        "# module's character-unit overrides (curation/filters/*.py), under <filter>.languages of the run config.",
        "# Keys: ISO 15924 script (every language written in it), ISO 639-3 code, or full xxx_Scrp tag; applied in",
        "# that order, the run config's `filters:` section after all of them.",
        "#",
        "# GENERATED by `python benchmarks/filters_calibration.py --write` from parallel text: Django 5.2.19's .po",
        "# catalogues (PyPI, BSD-3-Clause), English msgid against translation, placeholders excluded. Per language:",
        "#   c = characters per English character, u = word units per English word, w = mean unit length / English.",
        "# Rules (English defaults were set on English text; scale what scales with the language):",
        "#   u outside 1/1.2..1.2: gopher min_words/max_words x u; u < 1/1.2: also fineweb max_new_line_ratio / u",
        "#   w > 1.1: gopher max_avg_word_len x w (long agglutinated/compound words); w < 0.9: min_avg_word_len x w",
        "#   c outside 0.8..1.25: fineweb short_line_length x c (dense scripts: CJK, Hangul)",
        "#   character-unit languages (words.UNITS_PER_WORD): set in the filter modules, not here",
        "# See benchmarks/README.md for the keep rates on real text before and after.",
    ]
    for name, entries in overrides.items():
        lines.append(f"{name}:")
        lines.append("  languages:")
        for key, values in entries.items():
            body = ", ".join(f"{k}: {_yaml_value(v)}" for k, v in values.items() if not k.startswith("_"))
            lines.append(f"    {key}: {{{body}}}  # {values['_note']}")
    THRESHOLDS.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- stop words
def lid_iso(texts: list[str]) -> list[str]:
    """ISO 639-3 code our LID (lid.176) gives each text: man pages labelled Finnish hold English paragraphs."""
    from curation.text.langid import LanguageIdentifier

    lid = LanguageIdentifier("lid.176")
    out: list[str] = []
    for i in range(0, len(texts), 512):
        out.extend(p.lang.split("_")[0] for p in lid.predict_batch(texts[i : i + 512]))
    return out


def derive_stop_words(docs) -> dict[str, tuple[list[str], int]]:
    """ISO 639-3 -> (short list, number of documents it was ranked on); documents our LID agrees with only."""
    iso_lists = json.loads(STOPWORDS_ISO.read_text(encoding="utf-8"))
    by_iso = defaultdict(list)
    for doc, iso in zip(docs, lid_iso([d.text for d in docs]), strict=True):
        if iso == doc.lang.split("_")[0]:
            by_iso[iso].append(doc)
    out = {}
    for code1, words in sorted(iso_lists.items()):
        iso = ISO1_TO_3[code1]
        candidates = {w.lower() for w in words} | set(HAND_PICKED.get(iso, "").split())
        # Matchable as one word unit, and a word (stopwords-iso lists also hold digits and punctuation).
        candidates = {w for w in candidates if split_words(w) == [w] and any(ch.isalpha() for ch in w)}
        df: Counter = Counter()
        tf: Counter = Counter()
        n_docs = 0
        for doc in by_iso.get(iso, []):
            units = split_words(doc.text)
            if len(units) < 20:
                continue
            n_docs += 1
            found = [u for u in units if u in candidates]
            tf.update(found)
            df.update(set(found))
        ranked = sorted(candidates, key=lambda w: (-df[w], -tf[w], w))
        top = [w for w in ranked[:STOP_LIST_SIZE] if tf[w] >= 2]
        if n_docs and len(top) >= MIN_STOP_LIST:
            out[iso] = (top, n_docs)
    return out


def write_stop_words(lists: dict[str, tuple[list[str], int]]) -> None:
    lines = [
        '# Short stop-word lists for Gopher\'s "has real sentences" check (curation/filters/stopwords.py).',
        "# GENERATED by `python benchmarks/filters_calibration.py --write`: per language, the words of its",
        "# stopwords-iso 1.1.0 list (plus, for 20 languages, an earlier hand-picked list) found in the most documents",
        "# of real text in that language (Debian docs, man pages, fortunes, Django catalogues), top "
        f"{STOP_LIST_SIZE}, lowercase NFC.",
        "#",
        "# stopwords-iso 1.1.0 (npm; https://github.com/stopwords-iso/stopwords-iso), MIT License:",
        "#   Copyright (c) 2016 Gene Diaz",
        "#   Permission is hereby granted, free of charge, to any person obtaining a copy of this software and",
        '#   associated documentation files (the "Software"), to deal in the Software without restriction, including',
        "#   without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell",
        "#   copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the",
        "#   following conditions: The above copyright notice and this permission notice shall be included in all",
        "#   copies or substantial portions of the Software.",
        '#   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT',
        "#   LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO",
        "#   EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER",
        "#   IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR",
        "#   THE USE OR OTHER DEALINGS IN THE SOFTWARE.",
        "#",
        "# iso639_3\tdocuments ranked on\twords, most frequent first",
    ]
    for iso, (words, n_docs) in sorted(lists.items()):
        lines.append(f"{iso}\t{n_docs}\t{' '.join(words)}")
    STOPWORDS.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------- separation
def _windows(units: list[str]) -> list[list[str]]:
    return [units[i : i + WINDOW] for i in range(0, len(units) - WINDOW + 1, WINDOW)]


def separation(docs, lists: dict[str, tuple[list[str], int]]) -> list[tuple]:
    """(lang, prose windows, pass short, pass full, list windows, pass short, pass full) per language.

    Prose: the first WINDOW units of each paragraph of Debian docs / man pages that has two sentence ends and that
    our LID puts in the document's language (for Django-only languages: the catalogues' translated sentences, run
    together). Lists: the catalogues' one- and two-word labels without a sentence end, run together (language and
    country names, field names, buttons).
    """
    iso_lists = json.loads(STOPWORDS_ISO.read_text(encoding="utf-8"))
    full = {ISO1_TO_3[k]: {w.lower() for w in v} for k, v in iso_lists.items()}
    paragraphs: list[tuple[str, str]] = []
    labels: dict[str, list[str]] = defaultdict(list)
    sentences: dict[str, list[str]] = defaultdict(list)
    for doc in docs:
        iso = doc.lang.split("_")[0]
        if iso not in lists:
            continue
        if doc.source in ("debian-docs", "manpages"):
            for para in doc.text.split("\n\n"):
                if len(_SENTENCE_ENDS.findall(para)) >= 2 and len(split_words(para)) >= WINDOW:
                    paragraphs.append((iso, para))
        elif doc.source == "django-po":
            for line in doc.text.split("\n"):
                units = split_words(line)
                if 1 <= len(units) <= 2 and not _SENTENCE_END.search(line):
                    labels[iso].extend(units)
                elif len(units) >= 6 and _SENTENCE_END.search(line):
                    sentences[iso].extend(units)
    prose: dict[str, list[list[str]]] = defaultdict(list)
    for (iso, para), found in zip(paragraphs, lid_iso([p for _, p in paragraphs]), strict=True):
        if found == iso:
            prose[iso].append(split_words(para)[:WINDOW])

    def passing(windows: list[list[str]], words: set[str]) -> float | None:
        return sum(1 for w in windows if len(words.intersection(w)) >= 2) / len(windows) if windows else None

    rows = []
    for iso in sorted(lists):
        short = set(lists[iso][0])
        prose_w = prose[iso] or _windows(sentences[iso])
        list_w = _windows(labels[iso])
        rows.append(
            (iso, len(prose_w), passing(prose_w, short), passing(prose_w, full[iso]),
             len(list_w), passing(list_w, short), passing(list_w, full[iso]))
        )  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------- keep rates
def keep_rates(docs) -> list[tuple]:
    """(source, lang, n, keep with English defaults only, keep with per-language config, top reasons) per group."""
    from curation.config_merge import merged_filter_config
    from curation.filters import DEFAULT_FILTER_CONFIG
    from curation.text.langid import LanguageIdentifier

    english_only = {name: {**section, "languages": {}} for name, section in DEFAULT_FILTER_CONFIG.items()}
    english = build_filters(english_only)
    ours = build_filters(merged_filter_config({}))
    prose = [d for d in docs if d.source in ("debian-docs", "manpages")]
    lid = LanguageIdentifier("lid.176")
    preds = [p for i in range(0, len(prose), 256) for p in lid.predict_batch([d.text for d in prose[i : i + 256]])]
    stats: dict[tuple[str, str], Counter] = defaultdict(Counter)
    reasons: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for doc, pred in zip(prose, preds, strict=True):
        key = (doc.source, doc.lang)
        stats[key]["n"] += 1
        stats[key]["english"] += apply_filters(english, doc.text, pred.lang, pred.script).keep
        result = apply_filters(ours, doc.text, pred.lang, pred.script)
        stats[key]["ours"] += result.keep
        if not result.keep:
            reasons[key][result.reason] += 1
    rows = []
    for key in sorted(stats):
        s = stats[key]
        top = ", ".join(f"{r} {n}" for r, n in reasons[key].most_common(2))
        rows.append((*key, s["n"], s["english"] / s["n"], s["ours"] / s["n"], top))
    return rows


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="regenerate thresholds.yaml and stopwords.tsv")
    parser.add_argument("--skip-keep", action="store_true", help="skip the keep-rate table (needs the LID model)")
    args = parser.parse_args()

    ratios = parallel_ratios()
    print("## Parallel ratios (Django 5.2.19 .po, translation vs English msgid)\n")
    print("| lang | English words | c chars | u units/word | w unit length |")
    print("|---|---|---|---|---|")
    for code, r in sorted(ratios.items()):
        print(f"| {code} | {r['words']} | {r['c']:.2f} | {r['u']:.2f} | {r['w']:.2f} |")
    overrides = overrides_from_ratios(ratios)
    print("\n## Derived overrides\n")
    for name, entries in overrides.items():
        for key, values in entries.items():
            shown = {k: v for k, v in values.items() if not k.startswith("_")}
            print(f"- {name}.{key}: {shown}  ({values['_note']})")

    docs = load_corpus(None)
    lists = derive_stop_words(docs)
    print(f"\n## Stop-word lists ({len(lists)} languages)\n")
    for iso, (words, n_docs) in sorted(lists.items()):
        print(f"- {iso} ({n_docs} docs): {' '.join(words)}")
    print(f"\n## Separation: share of {WINDOW}-word windows with >= 2 distinct stop words\n")
    print("| lang | prose windows | prose: short list | prose: full list | list windows | lists: short | lists: full |")
    print("|---|---|---|---|---|---|---|")
    for iso, n_p, p_s, p_f, n_l, l_s, l_f in separation(docs, lists):
        print(f"| {iso} | {n_p} | {_fmt(p_s)} | {_fmt(p_f)} | {n_l} | {_fmt(l_s)} | {_fmt(l_f)} |")
    if args.write:
        write_thresholds(overrides)
        write_stop_words(lists)
        print(f"\nwrote {THRESHOLDS.relative_to(ROOT)} and {STOPWORDS.relative_to(ROOT)}")
    if args.write:  # measure with the files just written
        import curation.filters
        from curation.filters.stopwords import stop_word_lists

        stop_word_lists.cache_clear()
        importlib.reload(curation.filters)
    if not args.skip_keep:
        print("\n## Keep rate of good prose (Debian docs, man pages), language from lid.176\n")
        print("| source | lang | docs | English defaults | per-language config | top reasons (per-language) |")
        print("|---|---|---|---|---|---|")
        for source, lang, n, english, ours, top in keep_rates(docs):
            print(f"| {source} | {lang} | {n} | {english:.2f} | {ours:.2f} | {top} |")


if __name__ == "__main__":
    main()
