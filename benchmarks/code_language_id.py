"""Programming-language ID on real files whose language is known from where they come from (issue 18).

    python benchmarks/code_language_id.py [--per-language 400]

Files: Go (golang-1.19-src ``.go``), Rust (rust-src ``.rs``), Perl (perl-modules-5.36 ``.pm`` and ``.pl``), Python
(this interpreter's standard library) and JavaScript (Django's admin ``.js``, unminified) from the dev corpora
(../shared/CORPORA.md). Compared in one run, on the same files:

- ours: ``curation.code.languages.identify`` (pygments' file-name table, Linguist-style rules for shared extensions);
- pygments alone: ``find_lexer_class_for_filename(name, content)`` (its own ``analyse_text`` among the candidates);
- pygments on content only: ``guess_lexer(content)`` (what a file without a usable name gets);
- magika (Google's content model), where it is installed (``pip install -e '.[bench]'``; onnxruntime, so not a
  dependency of the factory).

Prints accuracy per language and files/s per core for each.
"""

from __future__ import annotations

import argparse
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

from curation.code.languages import identify  # noqa: E402

DJANGO = DEV / "pypi" / "django-5.2.19-py3-none-any.whl"
ALIASES = {"Perl6": "Perl", "Python 2.x": "Python", "JavaScript+Genshi Text": "JavaScript"}


def corpus(per_language: int) -> list[tuple[str, str, str]]:
    """(truth, file name, content) for up to ``per_language`` files per language, in a stable order."""
    picks: list[tuple[str, str, str]] = []
    roots = {
        "Go": [(DEV / "x" / "golang-1.19-src", "*.go")],
        "Rust": [(DEV / "x" / "rust-src", "*.rs")],
        "Perl": [(DEV / "x" / "perl-modules-5.36", "*.pm"), (DEV / "x" / "perl-modules-5.36", "*.pl")],
        "Python": [(Path(sysconfig.get_path("stdlib")), "*.py")],
    }
    for truth, globs in roots.items():
        files = sorted(p for root, pattern in globs for p in root.rglob(pattern) if "site-packages" not in p.parts)
        step = max(1, len(files) // per_language)
        for path in files[::step][:per_language]:
            picks.append((truth, path.name, path.read_text(encoding="utf-8", errors="replace")))
    with zipfile.ZipFile(DJANGO) as wheel:
        names = sorted(n for n in wheel.namelist() if n.endswith(".js") and not n.endswith(".min.js"))
        for name in names[:per_language]:
            picks.append(("JavaScript", name.rsplit("/", 1)[-1], wheel.read(name).decode("utf-8", "replace")))
    return picks


def ours(name: str, text: str) -> str | None:
    return identify(name, text).name


def pygments_by_name(name: str, text: str) -> str | None:
    from pygments.lexers import find_lexer_class_for_filename

    lexer = find_lexer_class_for_filename(name, text)
    return None if lexer is None else ALIASES.get(lexer.name, lexer.name)


def pygments_content(name: str, text: str) -> str | None:
    from pygments.lexers import guess_lexer
    from pygments.util import ClassNotFound

    try:
        lexer = guess_lexer(text[:20000])
    except ClassNotFound:
        return None
    return ALIASES.get(lexer.name, lexer.name)


def magika_fn():
    try:
        from magika import Magika
    except ImportError:
        return None
    model = Magika()
    labels = {"go": "Go", "rust": "Rust", "perl": "Perl", "python": "Python", "javascript": "JavaScript"}

    def predict(name: str, text: str) -> str | None:
        label = model.identify_bytes(text.encode("utf-8")).output.label
        return labels.get(label, label)

    return predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-language", type=int, default=400)
    args = parser.parse_args()
    files = corpus(args.per_language)
    methods = {"ours": ours, "pygments (name + content)": pygments_by_name, "pygments (content only)": pygments_content}
    magika = magika_fn()
    if magika is not None:
        methods["magika"] = magika
    truths = sorted({t for t, _, _ in files})
    print(f"{len(files)} files: " + ", ".join(f"{t} {sum(1 for x, _, _ in files if x == t)}" for t in truths))
    print(f"\n| method | {' | '.join(truths)} | all | files/s per core | most common errors |")
    print(f"|---|{'---|' * len(truths)}---|---|---|")
    for label, fn in methods.items():
        hits: dict[str, list[bool]] = defaultdict(list)
        errors: Counter[str] = Counter()
        start = time.process_time()
        for truth, name, text in files:
            got = fn(name, text)
            hits[truth].append(got == truth)
            if got != truth:
                errors[f"{truth}->{got}"] += 1
        rate = len(files) / max(time.process_time() - start, 1e-9)
        cells = [f"{sum(hits[t]) / len(hits[t]):.3f}" for t in truths]
        overall = sum(sum(v) for v in hits.values()) / len(files)
        top = ", ".join(f"{k} {n}" for k, n in errors.most_common(3))
        print(f"| {label} | {' | '.join(cells)} | {overall:.3f} | {rate:,.0f} | {top} |")


if __name__ == "__main__":
    main()
