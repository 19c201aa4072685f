"""The language registry: the 119 languages and dialects the factory serves, and how each LID model labels them.

Data lives in ``languages.tsv`` (package data, one row per language, keyed by the FLORES-200-style corpus code
``iso639_3_Script``); this module loads it once and answers lookups. It also turns a model's label set into a
label -> corpus-code table (:func:`label_targets`, used by :mod:`curation.text.langid`) and says, per language,
whether a model can tell it apart (:func:`coverage`), so the coverage table and the predictions come from the same rule.

    python -m curation.text.languages coverage [--model lid.176|PATH|glotlid_v3|openlid|openlid_v2]
"""

from __future__ import annotations

import argparse
import csv
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

MODEL_COLUMNS = ("lid176", "glotlid_v3", "openlid", "openlid_v2")  # registry columns holding model labels
CODE = "code"  # label formats: bare language codes (lid.176 "__label__en") ...
CODE_SCRIPT = "code_script"  # ... or language + script (GlotLID / OpenLID "__label__eng_Latn")
LABEL_FORMATS = (CODE, CODE_SCRIPT)
FORMAT_COLUMNS = {CODE: ("lid176",), CODE_SCRIPT: ("glotlid_v3", "openlid", "openlid_v2")}
LABEL_PREFIX = "__label__"
CODE_SCRIPT_RE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
HAN_SCRIPTS = frozenset({"Hani", "Hans", "Hant"})  # the variant is read off the characters (curation.text.scripts)
UNSPACED_SCRIPTS = frozenset({"Hani", "Hans", "Hant", "Jpan", "Thai", "Laoo", "Khmr", "Mymr"})

# lid.176 labels whose language is routinely written in more than one script: the detected script is used when it
# is one of these, otherwise the label's default (a stray Latin-heavy page of Russian does not become rus_Latn).
ALTERNATE_SCRIPTS: dict[str, frozenset[str]] = {
    "sr": frozenset({"Cyrl", "Latn"}),
    "sh": frozenset({"Latn", "Cyrl"}),
    "bs": frozenset({"Latn", "Cyrl"}),
    "be": frozenset({"Cyrl", "Latn"}),
    "az": frozenset({"Latn", "Cyrl", "Arab"}),
    "uz": frozenset({"Latn", "Cyrl", "Arab"}),
    "kk": frozenset({"Cyrl", "Latn", "Arab"}),
    "ky": frozenset({"Cyrl", "Latn", "Arab"}),
    "tk": frozenset({"Latn", "Cyrl", "Arab"}),
    "tg": frozenset({"Cyrl", "Latn", "Arab"}),
    "tt": frozenset({"Cyrl", "Latn"}),
    "ug": frozenset({"Arab", "Cyrl", "Latn"}),
    "ku": frozenset({"Latn", "Arab", "Cyrl"}),
    "ckb": frozenset({"Arab", "Latn"}),
    "mn": frozenset({"Cyrl", "Mong"}),
    "pa": frozenset({"Guru", "Arab"}),
    "sd": frozenset({"Arab", "Deva"}),
    "ms": frozenset({"Latn", "Arab"}),
    "gom": frozenset({"Deva", "Latn", "Knda"}),
    "hif": frozenset({"Latn", "Deva"}),
}
HAN_LABELS = frozenset({"zh", "yue", "wuu"})  # lid.176 labels whose script is decided by simplified vs traditional


@dataclass(frozen=True)
class Language:
    """One registry row."""

    code: str  # "arb_Arab"
    name: str  # English name
    family: str  # as issue 4 groups them ("Other" for isolates and creoles)
    iso639_3: str
    script: str  # ISO 15924
    spaced: bool  # words separated by spaces
    macrolanguage: str  # ISO 639-3 macrolanguage it belongs to (or is), "" if none
    labels: Mapping[str, tuple[str, ...]]  # model column -> labels without "__label__" (empty: model lacks it)
    notes: str
    ocr_pack: str = ""  # Tesseract pack reading it on scans ("deu", "script/Latin"); "" when none does


@dataclass(frozen=True)
class Registry:
    languages: tuple[Language, ...]
    by_code: Mapping[str, Language]
    by_iso: Mapping[str, tuple[Language, ...]]


@cache
def registry() -> Registry:
    """Parse ``languages.tsv`` once per process."""
    text = resources.files("curation.text").joinpath("languages.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    langs = tuple(
        Language(
            code=row["code"],
            name=row["name"],
            family=row["family"],
            iso639_3=row["iso639_3"],
            script=row["script"],
            spaced=row["spaced"] == "true",
            macrolanguage=row["macrolanguage"],
            labels={col: tuple(row[col].split()) for col in MODEL_COLUMNS},
            notes=row["notes"],
            ocr_pack=row.get("tesseract") or "",
        )
        for row in rows
    )
    by_iso: dict[str, list[Language]] = {}
    for lang in langs:
        by_iso.setdefault(lang.iso639_3, []).append(lang)
    return Registry(langs, {lang.code: lang for lang in langs}, {k: tuple(v) for k, v in by_iso.items()})


def languages() -> tuple[Language, ...]:
    """All registry rows, in file order (the issue's order)."""
    return registry().languages


def get(code: str) -> Language:
    """Registry row of a corpus code (``KeyError`` if it is not one of the 119)."""
    return registry().by_code[code]


def by_iso639_3(iso: str) -> tuple[Language, ...]:
    """Rows with this ISO 639-3 code (``zho`` has two: Simplified and Traditional)."""
    return registry().by_iso.get(iso, ())


def by_label(model: str, label: str) -> tuple[Language, ...]:
    """Rows carrying ``label`` (with or without ``__label__``) in registry column ``model``, e.g. ``lid176``/``ar``."""
    if model not in MODEL_COLUMNS:
        raise ValueError(f"unknown model column {model!r}; one of {MODEL_COLUMNS}")
    label = label.removeprefix(LABEL_PREFIX)
    return tuple(lang for lang in languages() if label in lang.labels[model])


def families() -> tuple[str, ...]:
    """Family names in registry order."""
    return tuple(dict.fromkeys(lang.family for lang in languages()))


def is_spaced(code: str) -> bool:
    """Whether words of ``code`` are space-delimited; codes outside the registry are judged by their script."""
    lang = registry().by_code.get(code)
    if lang is not None:
        return lang.spaced
    return code.rpartition("_")[2] not in UNSPACED_SCRIPTS


# --- model labels -> corpus codes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelTarget:
    """Where one model label goes: ``iso639_3`` plus a script that is fixed or read off the text.

    ``detect``: "" (script fixed: ``code`` is final), "han" (Hans/Hant by characters), "alternate" (the text's
    dominant script if it is in ``allowed``, else ``script``) or "any" (the text's dominant script).
    """

    iso639_3: str
    script: str
    detect: str = ""
    allowed: frozenset[str] = frozenset()

    @property
    def code(self) -> str:
        return f"{self.iso639_3}_{self.script}"


def detect_label_format(labels: Iterable[str]) -> str:
    """``code_script`` when most labels look like ``eng_Latn``, else ``code`` (lid.176 style ``en``)."""
    bare = [label.removeprefix(LABEL_PREFIX) for label in labels]
    if not bare:
        raise ValueError("model has no labels")
    with_script = sum(1 for label in bare if CODE_SCRIPT_RE.match(label))
    return CODE_SCRIPT if with_script * 2 > len(bare) else CODE


def label_owners(label_format: str, columns: tuple[str, ...] | None = None) -> dict[str, list[Language]]:
    """Label -> registry rows carrying it in the format's columns (plus each row's own code for ``code_script``)."""
    columns = columns or FORMAT_COLUMNS[label_format]
    owners: dict[str, list[Language]] = {}
    for lang in languages():
        labels = [label for col in columns for label in lang.labels[col]]
        if label_format == CODE_SCRIPT:
            labels.append(lang.code)
        for label in dict.fromkeys(labels):
            owners.setdefault(label, []).append(lang)
    return owners


def _detect_kind(label: str, label_format: str, script: str) -> tuple[str, frozenset[str]]:
    if label_format == CODE:
        if label in HAN_LABELS:
            return "han", frozenset()
        if label in ALTERNATE_SCRIPTS:
            return "alternate", ALTERNATE_SCRIPTS[label]
        return "", frozenset()
    return ("han", frozenset()) if script in HAN_SCRIPTS else ("", frozenset())


def label_targets(
    labels: Iterable[str], label_format: str, fallback: Mapping[str, tuple[str, str]] | None = None
) -> dict[str, LabelTarget]:
    """Model label (bare, no ``__label__``) -> :class:`LabelTarget`, for every label of a model.

    A label carried by registry rows maps to the first of them (``ar`` -> ``arb``); ``code_script`` labels keep their
    own script (``srp_Latn`` -> ``srp_Latn``). Other labels stay usable as their own code: ``code_script`` labels as
    they are, ``code`` labels through ``fallback`` (lid.176's full table) or, unknown there too, as
    ``label_<script of the text>``.
    """
    if label_format not in LABEL_FORMATS:
        raise ValueError(f"label_format must be one of {LABEL_FORMATS}, got {label_format!r}")
    owners = label_owners(label_format)
    fallback = fallback or {}
    targets: dict[str, LabelTarget] = {}
    for label in labels:
        label = label.removeprefix(LABEL_PREFIX)
        rows = owners.get(label)
        if label_format == CODE_SCRIPT and CODE_SCRIPT_RE.match(label):
            iso, script = label.split("_")
            iso = rows[0].iso639_3 if rows else iso
        elif rows:
            iso, script = rows[0].iso639_3, rows[0].script
        elif label in fallback:
            iso, script = fallback[label]
        else:
            targets[label] = LabelTarget(label, "Zyyy", "any")
            continue
        detect, allowed = _detect_kind(label, label_format, script)
        targets[label] = LabelTarget(iso, script, detect, allowed)
    return targets


# --- coverage -----------------------------------------------------------------------------------------------------

DISTINCT, VIA_SCRIPT, SHARED, MERGED, MISSING = "distinct", "via script", "shared", "merged", "missing"


@dataclass(frozen=True)
class Coverage:
    """Can the model tell ``language`` apart? ``status``: distinct | via script | shared | merged | missing.

    ``shared``: the label's predictions land here, but other registry languages (``with_``) get the same label;
    ``merged``: this language has no label of its own, its text gets ``with_[0]``'s label.
    """

    language: Language
    labels: tuple[str, ...]
    status: str
    with_: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        if self.status == MERGED:
            return f"merged with {self.with_[0]}"
        if self.status == SHARED:
            return f"shared (also {', '.join(self.with_)})"
        return self.status


def coverage(model_labels: Iterable[str], label_format: str | None = None, column: str | None = None) -> list[Coverage]:
    """Per registry language, the model labels that reach it and whether they tell it apart.

    ``model_labels``: the model's label set (``model.get_labels()``), or a registry column's labels. ``column``
    restricts the candidate labels to that registry column (coverage of a published label list). The rule is the
    one :func:`label_targets` predicts with: a label shared by several rows goes to the first of them, unless the
    rows differ in script and the label's script is read off the text (Han: simplified vs traditional).
    """
    model_labels = {label.removeprefix(LABEL_PREFIX) for label in model_labels}
    label_format = label_format or detect_label_format(model_labels)
    owners = {
        label: rows
        for label, rows in label_owners(label_format, (column,) if column else None).items()
        if label in model_labels
    }
    reaches: dict[str, list[Language]] = {}  # label -> rows its predictions can land on
    for label, rows in owners.items():
        script = rows[0].script if label_format == CODE else label[-4:]
        by_script = len({row.script for row in rows}) == len(rows) and {row.script for row in rows} <= HAN_SCRIPTS
        if len(rows) > 1 and _detect_kind(label, label_format, script)[0] == "han" and by_script:
            reaches[label] = rows
        else:
            reaches[label] = rows[:1]
    out = []
    for lang in languages():
        labels = tuple(label for label, rows in owners.items() if lang in rows)
        mine = [label for label in labels if lang in reaches[label]]
        if not labels:
            out.append(Coverage(lang, (), MISSING))
        elif not mine:
            out.append(Coverage(lang, labels, MERGED, (owners[labels[0]][0].code,)))
        elif any(len(owners[label]) == 1 for label in mine):
            out.append(Coverage(lang, labels, DISTINCT))
        elif all(len(reaches[label]) > 1 for label in mine):
            out.append(Coverage(lang, labels, VIA_SCRIPT))
        else:
            others = [row.code for label in mine for row in owners[label] if row is not lang]
            out.append(Coverage(lang, labels, SHARED, tuple(dict.fromkeys(others))))
    return out


def _has_pack(pack: str, installed: Collection[str]) -> bool:
    return pack in installed or pack.removeprefix("script/") in installed  # Debian drops the script/ folder


def ocr_status(lang: Language, installed: Collection[str] | None) -> str:
    """How scans of ``lang`` are read: its own Tesseract pack, its script's pack, or none (and whether installed)."""
    pack = lang.ocr_pack
    if not pack:
        return "none"
    kind = "script pack" if pack.startswith("script/") else "own pack"
    here = "" if installed is None else (" (installed)" if _has_pack(pack, installed) else " (not installed)")
    return f"`{pack}` {kind}{here}"


def coverage_markdown(rows: list[Coverage], title: str, installed: Collection[str] | None = None) -> str:
    """The coverage table plus totals, as Markdown; ``installed``: Tesseract packs found on this machine."""
    lines = [
        f"### {title}",
        "",
        "| code | language | family | labels | LID status | OCR (Tesseract) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        labels = " ".join(f"`{label}`" for label in row.labels) or "—"
        lang = row.language
        ocr = ocr_status(lang, installed)
        lines.append(f"| `{lang.code}` | {lang.name} | {lang.family} | {labels} | {row.text} | {ocr} |")
    counts = {status: sum(1 for row in rows if row.status == status) for status in (DISTINCT, VIA_SCRIPT, SHARED)}
    counts[MERGED] = sum(1 for row in rows if row.status == MERGED)
    counts[MISSING] = sum(1 for row in rows if row.status == MISSING)
    told_apart = counts[DISTINCT] + counts[VIA_SCRIPT]
    lines += [
        "",
        f"Totals ({len(rows)} languages): told apart {told_apart} (distinct {counts[DISTINCT]}, via script "
        f"{counts[VIA_SCRIPT]}); shared label {counts[SHARED]}; merged into another {counts[MERGED]}; "
        f"missing {counts[MISSING]}.",
    ]
    packs = [row.language.ocr_pack for row in rows]
    own = sum(1 for p in packs if p and not p.startswith("script/"))
    via = sum(1 for p in packs if p.startswith("script/"))
    ocr = f"OCR: {own} languages read by their own Tesseract pack, {via} by their script's pack"
    ocr += f", {len(packs) - own - via} by none"
    if installed is not None:
        ocr += f"; {sum(1 for p in packs if p and _has_pack(p, installed))} of {len(packs)} packs installed here"
    lines.append(ocr + ".")
    return "\n".join(lines) + "\n"


def model_coverage(model: str, label_format: str = "auto") -> tuple[list[Coverage], str]:
    """Coverage of a registry column name (``glotlid_v3``...) or of a real model (``lid.176``, a path, a URL)."""
    if model in MODEL_COLUMNS:
        labels = {label for lang in languages() for label in lang.labels[model]}
        fmt = CODE if model == "lid176" else CODE_SCRIPT
        return coverage(labels, fmt, column=model), f"{model} (published label list, no model file)"
    import fasttext  # heavy native module, only when a real model is asked for

    from curation.model_store import resolve_model

    labels = fasttext.load_model(str(resolve_model(model))).get_labels()
    fmt = detect_label_format(labels) if label_format == "auto" else label_format
    return coverage(labels, fmt), f"{model} ({len(labels)} labels, format {fmt})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m curation.text.languages", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cov = sub.add_parser("coverage", help="Markdown table: which of the 119 languages a LID model tells apart")
    cov.add_argument("--model", default="lid.176", help=f"lid.176, a model path/URL, or a column: {MODEL_COLUMNS}")
    cov.add_argument("--label-format", default="auto", choices=("auto", *LABEL_FORMATS))
    args = parser.parse_args(argv)
    rows, title = model_coverage(args.model, args.label_format)
    print(coverage_markdown(rows, title, _installed_packs()), end="")


def _installed_packs() -> frozenset[str] | None:
    """Tesseract packs on this machine (None without Tesseract data: the table then says nothing about it)."""
    from curation.pdf.ocr.tesseract import tesseract_languages  # PyMuPDF: only for the command line

    return tesseract_languages() or None


if __name__ == "__main__":
    main()
