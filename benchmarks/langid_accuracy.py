"""Language-ID accuracy on real multilingual text: raw lid.176 against our document-level decision, per language.

Labelled data (all written by people, fetched by ``../shared/corpora/fetch-dev.sh`` into the dev corpora folder):

* ``django-str``: single translated UI strings (msgstr of Django 5.2.19's .po catalogs, 99 locales; fuzzy and
  untranslated entries skipped, ``%(name)s`` / ``{name}`` placeholders and HTML tags removed: they are markup);
* ``django-doc``: 20 consecutive strings of one catalog joined by newlines;
* ``manpage``: one whole Debian manpage (manpages-* packages, 24 languages), rendered to text with groff. Translated
  pages keep untranslated English paragraphs and option names: real mixed documents, labelled with the page's language;
* ``fortune``: one fortune cookie (fortunes-* packages), ANSI colour codes removed;
* ``mixed``: constructed from the above: a manpage of language A followed by one of language B of about half its
  length, labelled A (B is also recorded, to check that the mixed share names it).

Compared on the same texts, in the same run:

* ``raw lid.176``: ``model.predict(text.replace("\\n", " "))``, the label mapped to its code with the script read
  off the text (``curation.text.langid.resolve_script``): what most pipelines do; the baseline to beat;
* ``identifier top-1``: ``LanguageIdentifier.predict_batch`` (cleaned text, middle window), no decision;
* ``ours`` and ablations: ``curation.text.lid_decision.DocumentLanguageIdentifier`` with each improvement alone, all of
  them, and all but each one. The declared language short texts may defer to is the catalog's / package's language
  (``declared``), none, or a WRONG one (another language of the set) to show what a bad declaration costs.

Printed: accuracy per set (micro and macro over languages), per registry language baseline -> ours, top confusions,
confidence thresholds (global vs per-language thresholds calibrated on one half of the texts and scored on the
other), the effect of scaling short texts' confidence at equal coverage, the mixed-document shares, and the CPU cost
of each switch (best of two runs; ratios against ``LanguageIdentifier`` k=1 and raw lid.176 measured in the run).

Codes are compared after folding macrolanguages onto the registry's individual language (ara->arb, fas->pes,
msa->zsm, nor->nob, ...). Only languages of the registry (``curation.text.languages``) are scored. A text labelled
``und`` counts as an error in accuracy; ``precision`` is accuracy among decided texts, ``coverage`` the share decided.

    python benchmarks/langid_accuracy.py [--limit N] [--corpora DIR] [--sets django-str,manpage]

``--limit`` caps the texts per language and set (default 80; about 90 CPU seconds, manpages rendered once into
``~/.cache/curation-factory/lid-bench``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import subprocess
import sys
import time
import zipfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.text import languages  # noqa: E402
from curation.text.langid import LanguageIdentifier, load_label_table, resolve_script  # noqa: E402
from curation.text.lid_decision import (  # noqa: E402
    DecisionConfig,
    DocumentLanguageIdentifier,
    canonical_code,
    declared_code,
)

CACHE = Path.home() / ".cache" / "curation-factory"
CORPORA = CACHE / "corpora" / "dev"
DJANGO_WHEEL = "pypi/django-5.2.19-py3-none-any.whl"

# Django locale -> code. ar_DZ is Algerian Django: the strings are Modern Standard Arabic with a few Maghrebi terms,
# so it is labelled arb_Arab (lid.176 has one Arabic label anyway). Locales whose language is outside the
# registry keep their own code and are reported apart.
LOCALE_OVERRIDES = {"ar_DZ": "arb_Arab", "sr": "srp_Cyrl", "sr_Latn": "srp_Latn", "zh_CN": "zho_Hans"}

# fortunes package folder -> (file-name filter, code); files not listed are skipped (ascii art, duplicate copies).
FORTUNE_SKIP = {"ascii-art", "art", "translate-me", "banner", "cz"}


@dataclass(frozen=True)
class Sample:
    set: str
    lang: str  # gold code, canonical
    text: str
    origin: str
    other: str = ""  # second language of a constructed mixed document


# ---------------------------------------------------------------- data


_PO_UNESCAPE = re.compile(r'\\(["\\ntr])')
_PLACEHOLDER = re.compile(r"%(\([^)]*\))?[-#0 +]*\d*(\.\d+)?[sdifrxXeEgGc%]|\{[^{}]*\}|<[^<>]+>")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _po_string(line: str) -> str:
    body = line[line.index('"') + 1 : line.rindex('"')]
    return _PO_UNESCAPE.sub(lambda m: {"n": "\n", "t": "\t", "r": ""}.get(m.group(1), m.group(1)), body)


def po_messages(text: str) -> list[str]:
    """Translated strings of a .po file in file order: fuzzy, obsolete, untranslated and header entries skipped."""
    out: list[str] = []
    for entry in text.split("\n\n"):
        lines = [ln for ln in entry.splitlines() if ln.strip()]
        if any(ln.startswith("#,") and "fuzzy" in ln for ln in lines):
            continue
        msgid, strs, cur = [], [], None
        for ln in lines:
            if ln.startswith("#"):
                continue
            if ln.startswith("msgid "):
                cur = msgid
            elif ln.startswith("msgstr"):
                strs.append([])
                cur = strs[-1]
            elif ln.startswith("msgid_plural") or ln.startswith("msgctxt"):
                cur = None
                continue
            if cur is not None and '"' in ln:
                cur.append(_po_string(ln))
        source = "".join(msgid)
        for parts in strs:
            s = "".join(parts)
            if source and s and s != source:
                out.append(s)
    return out


def _clean_ui_string(s: str) -> str:
    return " ".join(_PLACEHOLDER.sub(" ", s).split())


def _has_letters(s: str, n: int = 1) -> bool:
    return sum(ch.isalpha() for ch in s) >= n


def django_catalogs(corpora: Path) -> dict[str, list[list[str]]]:
    """locale -> list of catalogs (each a list of cleaned strings in file order), from the wheel, unzipped once."""
    target = CACHE / "lid-bench" / "django-5.2.19"
    if not (target / "django").exists():
        with zipfile.ZipFile(corpora / DJANGO_WHEEL) as wheel:
            members = [m for m in wheel.namelist() if m.endswith(".po")]
            wheel.extractall(target, members)
    catalogs: dict[str, list[list[str]]] = defaultdict(list)
    for po in sorted((target / "django").rglob("locale/*/LC_MESSAGES/*.po")):
        locale = po.parts[-3]
        strings = [_clean_ui_string(s) for s in po_messages(po.read_text(encoding="utf-8", errors="replace"))]
        strings = [s for s in strings if _has_letters(s)]
        if strings:
            catalogs[locale].append(strings)
    return catalogs


def render_manpage(path: Path) -> str:
    """Plain text of a gzipped roff page: groff with preconv (-k) for the input encoding, no overstrike."""
    raw = gzip.decompress(path.read_bytes())
    proc = subprocess.run(
        ["groff", "-T", "utf8", "-man", "-k", "-P", "-cbou"], input=raw, capture_output=True, timeout=60, check=False
    )
    return proc.stdout.decode("utf-8", errors="replace")


def manpage_texts(corpora: Path, limit: int) -> dict[str, list[tuple[str, str]]]:
    """locale -> [(origin, text)]: up to ``limit`` real pages (``.so`` stubs and links skipped), rendered once."""
    cache = CACHE / "lid-bench" / "manpages"
    cache.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, Path, Path]] = []
    for lang_dir in sorted(corpora.glob("x/manpages-*/usr/share/man/*")):
        pages = sorted(
            p for p in lang_dir.rglob("*.gz") if not p.is_symlink() and p.stat().st_size > 600
        )  # .so stubs are tiny
        step = max(1, len(pages) // limit)  # spread over the sections, not the first letters of man1
        for page in pages[::step][:limit]:
            key = hashlib.sha1(str(page).encode()).hexdigest()[:16]
            jobs.append((lang_dir.name, page, cache / f"{key}.txt"))

    def load(job: tuple[str, Path, Path]) -> tuple[str, str, str]:
        locale, page, cached = job
        if not cached.exists():
            cached.write_text(render_manpage(page), encoding="utf-8")
        return locale, f"{page.parent.parent.name}/{page.parent.name}/{page.name}", cached.read_text(encoding="utf-8")

    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with ThreadPoolExecutor(4) as pool:
        for locale, origin, text in pool.map(load, jobs):
            if _has_letters(text, 200):
                out[locale].append((origin, text))
    return out


def fortune_texts(corpora: Path, limit: int) -> dict[str, list[tuple[str, str]]]:
    """code -> [(origin, fortune)] for the fortunes-* packages, spread over each language's files."""
    package_lang = {"fortunes": "eng_Latn", "fortunes-br": "por_Latn", "fortunes-zh": "zho_Hans"}
    by_lang: dict[str, list[tuple[str, str]]] = defaultdict(list)
    seen: set[str] = set()
    for base in sorted(corpora.glob("x/fortunes*/usr/share/games/fortunes")):
        package = base.parts[-5]
        for path in sorted(base.rglob("*")):
            if not path.is_file() or path.suffix == ".dat" or path.is_symlink():
                continue
            rel = path.relative_to(base)
            if rel.parts[0] in FORTUNE_SKIP or path.name.removesuffix(".u8") in FORTUNE_SKIP:
                continue
            if path.suffix == ".u8" and path.with_suffix("").exists():
                continue
            lang = package_lang.get(package) or declared_code(package.removeprefix("fortunes-").split("-")[0])
            if "klasik-sk" in path.name or rel.parts[0] == "sk":
                lang = "slk_Latn"
            try:
                text = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                continue
            for i, cookie in enumerate(_ANSI.sub("", text).split("\n%\n")):
                cookie = cookie.strip("%\n ")
                if _has_letters(cookie, 3) and cookie not in seen:
                    seen.add(cookie)
                    by_lang[lang].append((f"{package}/{rel}#{i}", cookie))
    out = {}
    for lang, items in by_lang.items():
        step = max(1, len(items) // limit)
        out[lang] = items[::step][:limit]
    return out


def load_samples(corpora: Path, limit: int, sets: set[str]) -> list[Sample]:
    samples: list[Sample] = []
    if sets & {"django-str", "django-doc"}:
        for locale, catalogs in sorted(django_catalogs(corpora).items()):
            lang = canonical_code(LOCALE_OVERRIDES.get(locale) or declared_code(locale))
            strings = [s for cat in catalogs for s in cat]
            if "django-str" in sets:
                step = max(1, len(strings) // limit)
                samples += [Sample("django-str", lang, s, f"django/{locale}") for s in strings[::step][:limit]]
            if "django-doc" in sets:
                docs = [cat[i : i + 20] for cat in catalogs for i in range(0, len(cat) - 19, 20)]
                step = max(1, len(docs) // limit)
                samples += [Sample("django-doc", lang, "\n".join(d), f"django/{locale}") for d in docs[::step][:limit]]
    if sets & {"manpage", "mixed"}:
        pages = manpage_texts(corpora, limit)
        for locale, items in sorted(pages.items()):
            lang = canonical_code(declared_code(locale))
            if "manpage" in sets:
                samples += [Sample("manpage", lang, text, f"man/{locale}/{origin}") for origin, text in items]
        if "mixed" in sets:
            samples += mixed_documents(pages, limit)
    if "fortune" in sets:
        for lang, items in sorted(fortune_texts(corpora, limit).items()):
            samples += [Sample("fortune", canonical_code(lang), text, origin) for origin, text in items]
    return samples


def mixed_documents(pages: dict[str, list[tuple[str, str]]], limit: int) -> list[Sample]:
    """Page of language A + a shorter page of language B (the next locale, rotating): labelled A, B recorded."""
    locales = sorted(pages)
    out = []
    for i, locale in enumerate(locales):
        other = locales[(i + 7) % len(locales)]
        lang, other_lang = canonical_code(declared_code(locale)), canonical_code(declared_code(other))
        if lang == other_lang:
            continue
        for j, (origin, text) in enumerate(pages[locale][: max(1, limit // 5)]):
            tail_origin, tail = pages[other][j % len(pages[other])]
            tail = _cut_paragraphs(tail, len(text) // 2)
            out.append(Sample("mixed", lang, f"{text}\n\n{tail}", f"man/{locale}/{origin}+{tail_origin}", other_lang))
    return out


def _cut_paragraphs(text: str, max_chars: int) -> str:
    out, n = [], 0
    for para in text.split("\n\n"):
        if n + len(para) > max_chars and out:
            break
        out.append(para)
        n += len(para) + 2
    return "\n\n".join(out)


# ---------------------------------------------------------------- registry


def registry_isos() -> frozenset[str]:
    """ISO 639-3 codes of the 119 registry languages (``curation.text.languages``): only those are scored."""
    return frozenset(lang.iso639_3 for lang in languages.languages())


# ---------------------------------------------------------------- systems


def baseline_predict(model, texts: list[str]) -> list[str]:
    """Raw lid.176, one text at a time as most pipelines call it; label -> code with the script from the text."""
    table = load_label_table()
    out = []
    for text in texts:
        labels, _ = model.predict(text.replace("\n", " ").replace("\r", " "), k=1)
        label = labels[0].removeprefix("__label__")
        iso, default = table.get(label, (label, "Zyyy"))
        out.append(canonical_code(f"{iso}_{resolve_script(label, default, text)}"))
    return out


OFF = {"script_prior": False, "short_text": False, "paragraph_vote": False, "min_score": 0.0}
ALL = {"script_prior": True, "short_text": True, "paragraph_vote": True, "min_score": 0.0}
SWITCHES = ("script_prior", "short_text", "paragraph_vote")
BASE = "raw lid.176 (baseline)"
IDENT = "identifier top-1 (no decision)"
OURS = "ours: all, declared"


def systems(threshold: float) -> dict[str, tuple[dict, str]]:
    """name -> (config overrides, declared language given for each text: gold | wrong | none)."""
    out: dict[str, tuple[dict, str]] = {IDENT: (dict(OFF), "none")}
    for s in SWITCHES:
        out[f"+ {s} only"] = ({**OFF, s: True}, "gold" if s == "short_text" else "none")
    out["+ short_text only, no declared"] = ({**OFF, "short_text": True}, "none")
    out["+ short_text only, WRONG declared"] = ({**OFF, "short_text": True}, "wrong")
    out[f"+ threshold {threshold} only"] = ({**OFF, "min_score": threshold}, "none")
    out[OURS] = (dict(ALL), "gold")
    out["ours: all, no declared"] = (dict(ALL), "none")
    out["ours: all, WRONG declared"] = (dict(ALL), "wrong")
    out["ours: all, no declared, short scaled"] = ({**ALL, "short_policy": "scale"}, "none")
    for s in SWITCHES:
        out[f"ours - {s}"] = ({**ALL, s: False}, "gold")
    out[f"ours + threshold {threshold}"] = ({**ALL, "min_score": threshold}, "gold")
    return out


def wrong_declared(samples: list[Sample]) -> list[str]:
    """A declared language that is wrong for every sample: the gold of a sample far away in the list."""
    langs = sorted({s.lang for s in samples})
    return [langs[(langs.index(s.lang) + len(langs) // 2) % len(langs)] for s in samples]


def run_decider(decider: DocumentLanguageIdentifier, texts: list[str], declared, batch_size: int) -> list:
    out = []
    for i in range(0, len(texts), batch_size):
        out += decider.predict_batch(texts[i : i + batch_size], declared[i : i + batch_size] if declared else None)
    return out


def cpu_seconds(fn, repeat: int = 2) -> float:
    """Best of ``repeat`` runs in process CPU time: other jobs on this shared machine inflate wall time."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


# ---------------------------------------------------------------- scoring


@dataclass
class Score:
    n: int = 0
    correct: int = 0
    decided: int = 0

    def add(self, ok: bool, decided: bool) -> None:
        self.n += 1
        self.correct += ok
        self.decided += decided

    @property
    def acc(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    @property
    def precision(self) -> float:
        return self.correct / self.decided if self.decided else float("nan")

    @property
    def coverage(self) -> float:
        return self.decided / self.n if self.n else float("nan")


def in_keep(sample: Sample, keep: frozenset[str]) -> bool:
    return sample.lang.split("_")[0] in keep


def score(samples: list[Sample], preds: list[str], keep: frozenset[str]) -> dict[tuple[str, str], Score]:
    """(set, lang) -> Score, plus (set, "*") micro totals and ("all", ...) over sets, for registry languages."""
    out: dict[tuple[str, str], Score] = defaultdict(Score)
    for s, p in zip(samples, preds, strict=True):
        if not in_keep(s, keep):
            continue
        ok, decided = p == s.lang, not p.startswith("und")
        for key in ((s.set, s.lang), (s.set, "*"), ("all", s.lang), ("all", "*")):
            out[key].add(ok, decided)
    return out


def macro(scores: dict[tuple[str, str], Score], set_name: str) -> float:
    accs = [v.acc for (s, lang), v in scores.items() if s == set_name and lang != "*"]
    return sum(accs) / len(accs) if accs else float("nan")


def fmt(x: float) -> str:
    return "-" if x != x else f"{x:.3f}"


def _half(sample: Sample) -> int:
    return hashlib.sha1(f"{sample.origin}|{sample.text[:200]}".encode()).digest()[0] & 1


def calibrate_thresholds(pairs, target: float, grid: tuple[float, ...], min_n: int = 20) -> dict[str, float]:
    """Per predicted language: the lowest threshold whose precision reaches ``target`` on these pairs."""
    by_lang: dict[str, list] = defaultdict(list)
    for s, p in pairs:
        if not p.undetermined:
            by_lang[p.lang].append((p.score, p.lang == s.lang))
    out = {}
    for lang, items in by_lang.items():
        if len(items) < min_n:
            continue
        for t in grid:
            kept = [ok for sc, ok in items if sc >= t]
            if kept and sum(kept) / len(kept) >= target:
                out[lang] = t
                break
        else:
            out[lang] = grid[-1]
    return out


def coverage_precision(pairs, threshold) -> tuple[float, float, float]:
    decided = [(s, p) for s, p in pairs if not p.undetermined and p.score >= threshold(p.lang)]
    correct = sum(p.lang == s.lang for s, p in decided)
    n = len(pairs)
    return len(decided) / n, (correct / len(decided) if decided else float("nan")), correct / n


def precision_at_coverage(pairs, coverage: float) -> float:
    """Precision of the ``coverage`` share of texts with the highest scores: rankings compared at equal coverage."""
    ranked = sorted(pairs, key=lambda sp: -sp[1].score)[: round(coverage * len(pairs))]
    return sum(p.lang == s.lang for s, p in ranked) / len(ranked) if ranked else float("nan")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--limit", type=int, default=80, help="texts per language and set (default 80)")
    parser.add_argument("--sets", default="django-str,django-doc,manpage,fortune,mixed")
    parser.add_argument("--threshold", type=float, default=0.5, help="global confidence threshold of the rows")
    parser.add_argument("--target-precision", type=float, default=0.97, help="of the per-language thresholds")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--top-k", type=int, default=DecisionConfig().top_k, help="candidates per text (model k)")
    args = parser.parse_args()
    sets = set(args.sets.split(","))

    t0 = time.perf_counter()
    samples = load_samples(args.corpora, args.limit, sets)
    keep = frozenset(s.lang.split("_")[0] for s in samples) & registry_isos()
    outside = sorted({s.lang for s in samples if not in_keep(s, keep)})
    n_chars = sum(len(s.text) for s in samples)
    print(f"# {len(samples)} texts ({n_chars / 1e6:.1f} M chars) loaded in {time.perf_counter() - t0:.0f} s; "
          f"{len(keep)} registry languages; outside the registry, not scored: "
          f"{' '.join(outside)}")  # fmt: skip
    by_set = Counter(s.set for s in samples if in_keep(s, keep))
    print("# texts per set (registry languages): " + ", ".join(f"{k} {v}" for k, v in sorted(by_set.items())))

    texts = [s.text for s in samples]
    identifier = LanguageIdentifier("lid.176", k=args.top_k)
    results: dict[str, list[str]] = {BASE: baseline_predict(identifier.model, texts)}
    details: dict[str, list] = {}
    declared_modes = {"gold": [s.lang for s in samples], "wrong": wrong_declared(samples), "none": None}
    configs = systems(args.threshold)
    for name, (overrides, mode) in configs.items():
        decider = DocumentLanguageIdentifier(identifier, DecisionConfig.from_mapping(overrides))
        details[name] = run_decider(decider, texts, declared_modes[mode], args.batch_size)
        results[name] = [p.lang for p in details[name]]

    timing = measure_cost(identifier, samples, configs, declared_modes, args.batch_size)
    report(samples, results, details, keep, args)
    print_cost(timing, samples)
    print(f"\n# total {time.perf_counter() - t0:.0f} s")


def measure_cost(identifier, samples, configs, declared_modes, batch_size) -> dict[str, float]:
    """CPU seconds of each system on every other text (same texts for all), best of two runs."""
    sub = samples[::2]
    texts = [s.text for s in sub]
    plain = LanguageIdentifier("lid.176", k=1)
    timing = {
        BASE: cpu_seconds(lambda: baseline_predict(plain.model, texts)),
        "identifier k=1 (predict_batch)": cpu_seconds(
            lambda: [plain.predict_batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        ),
    }
    for name in (IDENT, *(f"+ {s} only" for s in SWITCHES), OURS):
        overrides, mode = configs[name]
        declared = declared_modes[mode][::2] if declared_modes[mode] else None
        decider = DocumentLanguageIdentifier(identifier, DecisionConfig.from_mapping(overrides))
        timing[name] = cpu_seconds(lambda d=decider, dec=declared: run_decider(d, texts, dec, batch_size))
    timing["_mb"] = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    return timing


def print_cost(timing: dict[str, float], samples) -> None:
    mb = timing.pop("_mb")
    print(f"\n## Cost: CPU seconds on every other text ({mb:.1f} MB), best of 2; MB/s per core\n")
    print("| system | CPU s | MB/s | vs identifier k=1 | vs raw lid.176 |")
    print("|---|---|---|---|---|")
    ref, base = timing["identifier k=1 (predict_batch)"], timing[BASE]
    for name, sec in timing.items():
        print(f"| {name} | {sec:.2f} | {mb / sec:.2f} | {sec / ref:.2f}x | {sec / base:.2f}x |")


def report(samples, results, details, keep, args) -> None:
    set_names = [s for s in ("django-str", "django-doc", "manpage", "fortune", "mixed") if s in args.sets.split(",")]
    scored = {name: score(samples, preds, keep) for name, preds in results.items()}

    print("\n## Top-1 accuracy, micro over texts (macro over languages in brackets); und counts as wrong\n")
    header = "| system | " + " | ".join(set_names) + " | all micro | all macro | coverage | precision |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, sc in scored.items():
        cells = [f"{fmt(sc[(s, '*')].acc)} ({fmt(macro(sc, s))})" for s in set_names]
        total = sc[("all", "*")]
        print(f"| {name} | " + " | ".join(cells) + f" | {fmt(total.acc)} | {fmt(macro(sc, 'all'))} | "
              f"{fmt(total.coverage)} | {fmt(total.precision)} |")  # fmt: skip

    print(f"\n## Per language: {BASE} → {OURS}, top-1 accuracy per set (n texts)\n")
    print("| lang | " + " | ".join(set_names) + " | all |")
    print("|" + "---|" * (len(set_names) + 2))
    b, o = scored[BASE], scored[OURS]
    for lang in sorted({lang for (_, lang) in o if lang != "*"}):
        cells = [
            f"{fmt(b[(s, lang)].acc)} → {fmt(o[(s, lang)].acc)} ({o[(s, lang)].n})" if (s, lang) in o else ""
            for s in [*set_names, "all"]
        ]
        print(f"| {lang} | " + " | ".join(cells) + " |")

    for name in (BASE, OURS, "ours: all, no declared"):
        confusions = Counter(
            (s.lang, p) for s, p in zip(samples, results[name], strict=True) if in_keep(s, keep) and p != s.lang
        )
        print(f"\n## Top confusions of {name} (gold→predicted: count)\n")
        print(", ".join(f"{g}→{p}: {n}" for (g, p), n in confusions.most_common(25)))

    pairs = [(s, p) for s, p in zip(samples, details[OURS], strict=True) if in_keep(s, keep)]
    fit = [(s, p) for s, p in pairs if _half(s) == 0]
    held = [(s, p) for s, p in pairs if _half(s) == 1]
    grid = tuple(round(0.05 * i, 2) for i in range(20))
    per_lang = calibrate_thresholds(fit, args.target_precision, grid)
    print(f"\n## Confidence thresholds on {OURS}: global vs per language (held-out half of the texts)\n")
    print(f"Per-language thresholds: the lowest reaching precision {args.target_precision} on the other half "
          f"({len(per_lang)} predicted languages with >= 20 texts there; others use the global one).\n")  # fmt: skip
    print("| threshold | coverage | precision | accuracy |")
    print("|---|---|---|---|")
    for t in (0.0, 0.3, 0.5, 0.7, 0.8, 0.9):
        cov, prec, acc = coverage_precision(held, lambda _lang, t=t: t)
        print(f"| global {t} | {fmt(cov)} | {fmt(prec)} | {fmt(acc)} |")
    for default in (0.5, 0.7):
        cov, prec, acc = coverage_precision(held, lambda lang, d=default: per_lang.get(lang, d))
        print(f"| per language (default {default}) | {fmt(cov)} | {fmt(prec)} | {fmt(acc)} |")
    print("\nCalibrated per-language thresholds (min_score_per_lang), those above 0: " + ", ".join(
        f"{k}: {v}" for k, v in sorted(per_lang.items()) if v > 0))  # fmt: skip

    print("\n## Short texts without a declared language: the model's score (policy keep, default) or scaled by "
          "letters / min_letters (scale)\n")  # fmt: skip
    print("| global threshold | keep: coverage / precision | scale: coverage / precision | keep at scale's coverage |")
    print("|---|---|---|---|")
    keep_pairs = [(s, p) for s, p in zip(samples, details["ours: all, no declared"], strict=True) if in_keep(s, keep)]
    scaled = details["ours: all, no declared, short scaled"]
    scale_pairs = [(s, p) for s, p in zip(samples, scaled, strict=True) if in_keep(s, keep)]
    for t in (0.3, 0.5, 0.7):
        a = coverage_precision(keep_pairs, lambda _lang, t=t: t)
        b = coverage_precision(scale_pairs, lambda _lang, t=t: t)
        print(f"| {t} | {fmt(a[0])} / {fmt(a[1])} | {fmt(b[0])} / {fmt(b[1])} | "
              f"{fmt(precision_at_coverage(keep_pairs, b[0]))} |")  # fmt: skip

    mixed = [(s, p) for s, p in pairs if s.set == "mixed"]
    if mixed:
        share = DecisionConfig().mixed_share
        named = sum(p.second[0] == s.other for s, p in mixed)
        flagged = sum(p.second[1] >= share for _, p in mixed)
        plain = [p for s, p in pairs if s.set == "manpage" and p.shares]
        print(f"\n## Mixed documents ({len(mixed)}: a manpage of A + half as much of a manpage of B, gold A)\n")
        print(f"* majority language A right: {sum(p.lang == s.lang for s, p in mixed) / len(mixed):.3f} "
              f"(identifier top-1 on the whole text: "
              f"{sum(r == s.lang for s, r in zip(samples, results[IDENT], strict=True) if s.set == 'mixed' and in_keep(s, keep)) / len(mixed):.3f})")  # noqa: E501  # fmt: skip
        print(f"* second language B named by the vote: {named / len(mixed):.3f}; share of B >= {share} (flagged "
              f"mixed): {flagged / len(mixed):.3f}; mean share of B: {sum(p.second[1] for _, p in mixed) / len(mixed):.3f}")  # noqa: E501  # fmt: skip
        print(f"* plain manpages flagged mixed (translated pages keep English passages): "
              f"{sum(p.second[1] >= share for p in plain)}/{len(plain)} voted")  # fmt: skip


if __name__ == "__main__":
    main()
