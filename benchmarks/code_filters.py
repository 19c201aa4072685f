"""Code filters: precision and recall of the junk detectors on a labelled sample of real files, keep rate per
language, and throughput (issue 18).

    python benchmarks/code_filters.py [--sample 400] [--seed 0] [--show-errors 20]

The pool is real files from the dev corpora (../shared/CORPORA.md): Go's source tree (golang-1.19-src: its code,
its generated files, its vendored modules, its ``go.sum`` lock files), Rust (rust-src), Perl
(perl-modules-5.36), this Python's standard library, and Django's admin JavaScript (readable sources, the published
minified builds, select2's one-line i18n files). Labels come from where a file comes from, not from the detectors:

- generated: a Go file carrying Go's own convention line ``// Code generated ... DO NOT EDIT.`` anywhere (the
  detector only reads the first lines, and also knows other generators' banners);
- vendored: a path under ``vendor/``; lock: ``go.sum``; minified: ``*.min.js`` and select2's i18n files;
- clean: every other source file.

(Go's testdata files are not labelled: checked by hand, its ``.txt`` files are test scripts and its ``.golden``
files expected outputs, not data dumps; data and lock detection by content is covered by tests/curation/code.)
A stratified sample (``--sample`` files, every junk class represented) is run through ``CodeFilter`` twice: with
the file's path (what curate sees) and with its bare name (content detectors alone). Each disagreement between label
and detector is printed (``--show-errors``) so it can be checked by hand; the README records what that check found.
Throughput is MB/s per core of language ID + filters, against the prose filters (Gopher, C4, FineWeb) on the same
files in the same run.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import sysconfig
import time
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from multilingual_corpus import DEV  # noqa: E402

from curation.code.filters import CodeFilter  # noqa: E402
from curation.code.languages import identify  # noqa: E402

GO = DEV / "x" / "golang-1.19-src" / "usr" / "share" / "go-1.19"
DJANGO = DEV / "pypi" / "django-5.2.19-py3-none-any.whl"
GO_GENERATED = re.compile(r"^// Code generated .* DO NOT EDIT\.$", re.MULTILINE)


def pool() -> list[tuple[str, str, str]]:
    """(label, path, text) of every candidate file."""
    out: list[tuple[str, str, str]] = []
    for path in sorted(GO.rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(GO))
        if path.name == "go.sum":
            out.append(("lock", rel, path.read_text(encoding="utf-8", errors="replace")))
        elif path.suffix == ".go":
            text = path.read_text(encoding="utf-8", errors="replace")
            label = "vendored" if "vendor" in path.parts else "generated" if GO_GENERATED.search(text) else "clean"
            out.append((label, rel, text))
    for root, suffix in ((DEV / "x" / "rust-src", ".rs"), (DEV / "x" / "perl-modules-5.36", ".pm")):
        for path in sorted(root.rglob(f"*{suffix}")):
            out.append(("clean", str(path.relative_to(root)), path.read_text(encoding="utf-8", errors="replace")))
    stdlib = Path(sysconfig.get_path("stdlib"))
    for path in sorted(stdlib.glob("*.py")):
        out.append(("clean", f"Lib/{path.name}", path.read_text(encoding="utf-8", errors="replace")))
    with zipfile.ZipFile(DJANGO) as wheel:
        for name in sorted(n for n in wheel.namelist() if n.endswith(".js")):
            minified = name.endswith(".min.js") or "/select2/i18n/" in name
            vendored = "/vendor/" in name
            label = "minified" if minified else "vendored" if vendored else "clean"
            out.append((label, name, wheel.read(name).decode("utf-8", "replace")))
    return out


ORIGINS = (("Lib/", "python"), ("django/", "javascript"), ("src/", "go"), ("misc/", "go"), ("test/", "go"))


def origin(path: str) -> str:
    """Which corpus a pool file comes from (Rust and Perl paths are relative to their own trees)."""
    if path.endswith(".rs"):
        return "rust"
    if path.endswith(".pm"):
        return "perl"
    return next((name for prefix, name in ORIGINS if path.startswith(prefix)), "other")


def stratified(files: list[tuple[str, str, str]], size: int, seed: int) -> list[tuple[str, str, str]]:
    """About ``size`` files: half clean (split evenly over the five corpora: Rust alone is 70 % of the pool), half
    junk split evenly over the junk classes (all of a class if fewer)."""
    rng = random.Random(seed)
    by_label: dict[str, list] = defaultdict(list)
    clean_by_origin: dict[str, list] = defaultdict(list)
    for f in files:
        by_label[f[0]].append(f)
        if f[0] == "clean":
            clean_by_origin[origin(f[1])].append(f)
    junk_each = max(1, size // 2 // (len(by_label) - 1))
    clean_each = max(1, size // 2 // len(clean_by_origin))
    picks = [f for group in clean_by_origin.values() for f in rng.sample(group, min(clean_each, len(group)))]
    for label, members in by_label.items():
        if label != "clean":
            picks += rng.sample(members, min(junk_each, len(members)))
    return picks


def evaluate(files, with_path: bool, show: int) -> None:
    code_filter = CodeFilter()
    confusion: Counter[tuple[bool, bool]] = Counter()
    per_class: dict[str, list[bool]] = defaultdict(list)
    reasons: Counter[str] = Counter()
    errors = []
    for label, path, text in files:
        name = path if with_path else path.rsplit("/", 1)[-1]
        language = identify(name, text)
        reason, _ = code_filter.evaluate(name, language, text)
        flagged = reason is not None
        confusion[(label != "clean", flagged)] += 1
        per_class[label].append(flagged)
        reasons[f"{label}->{reason}"] += 1
        if (label != "clean") != flagged:
            errors.append((label, reason, path, language.name))
    tp, fp, fn = confusion[(True, True)], confusion[(False, True)], confusion[(True, False)]
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    view = "path as curate sees it" if with_path else "bare file name (content detectors only)"
    print(f"\n### {view}: precision {precision:.3f}, recall {recall:.3f} (junk flagged {tp}, clean flagged {fp}, "
          f"junk missed {fn})")  # fmt: skip
    print("\n| label | files | flagged |\n|---|---|---|")
    for label, flags in sorted(per_class.items()):
        print(f"| {label} | {len(flags)} | {sum(flags) / len(flags):.3f} |")
    print("\nlabel -> reason: " + ", ".join(f"{k} {n}" for k, n in sorted(reasons.items())))
    for label, reason, path, language in errors[:show]:
        print(f"  disagreement: label {label}, detector {reason}, {language}: {path}")


def keep_rates(files) -> None:
    code_filter = CodeFilter()
    kept: dict[str, list[bool]] = defaultdict(list)
    for _label, path, text in files:
        language = identify(path, text)
        kept[language.name or "unknown"].append(code_filter.evaluate(path, language, text)[0] is None)
    print("\n| language | files | kept |\n|---|---|---|")
    for name, flags in sorted(kept.items(), key=lambda kv: -len(kv[1]))[:12]:
        print(f"| {name} | {len(flags)} | {sum(flags) / len(flags):.3f} |")


def throughput(files) -> None:
    from curation.config_merge import merged_filter_config
    from curation.filters import apply_filters, build_filters

    texts = [(path, text) for _, path, text in files]
    mb = sum(len(t.encode("utf-8")) for _, t in texts) / 1e6
    code_filter = CodeFilter()
    start = time.process_time()
    for path, text in texts:
        code_filter.evaluate(path, identify(path, text), text)
    ours = time.process_time() - start
    prose = build_filters(merged_filter_config({}))
    start = time.process_time()
    for _, text in texts:
        apply_filters(prose, text, "eng_Latn", "Latn")
    theirs = time.process_time() - start
    print(f"\nthroughput on {mb:.1f} MB: code language ID + filters {mb / ours:.1f} MB/s per core; prose filters "
          f"(Gopher, C4, FineWeb) {mb / theirs:.1f} MB/s per core; ratio {theirs / ours:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show-errors", type=int, default=20)
    args = parser.parse_args()
    files = pool()
    counts = Counter(label for label, _, _ in files)
    print(f"pool: {len(files)} real files: " + ", ".join(f"{k} {n}" for k, n in counts.most_common()))
    sample = stratified(files, args.sample, args.seed)
    print(f"sample: {len(sample)} files: " + ", ".join(f"{k} {n}" for k, n in Counter(x[0] for x in sample).items()))
    evaluate(sample, True, args.show_errors)
    evaluate(sample, False, args.show_errors)
    keep_rates(files)
    throughput(sample)


if __name__ == "__main__":
    main()
