"""Language ID on short texts whose words carry apostrophes, hyphens or middle dots: before and after keeping them.

    python benchmarks/lid_apostrophes.py [--locales af,ast,ca,fr,it] [--min-letters 20]

Texts: every translated Django 5.2.19 UI string (``langid_accuracy.django_catalogs``: placeholders and HTML removed)
of the locales asked for that has such a mark next to a letter (``qu'el``, ``l'objet``, ``'n``, ``col·lecció``,
``nun-y``) and at least ``--min-letters`` letters. Labels are the catalogue's language (written by people).

Compared on the same strings, in the same run, no declared language (a crawl has none):

* ``raw lid.176``: ``model.predict(text)`` as most pipelines call it (the marks are in the text);
* ``before``: our document-level decision with the marks turned into spaces first, which is what our LID cleaning
  did before (every punctuation character became a word break: ``qu'el`` -> ``qu el``);
* ``after``: our decision as it runs now (the marks kept inside words, typographic ones as ASCII).

Prints accuracy per language (share of strings whose decided code is the catalogue's), before -> after, and the
strings that changed.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from langid_accuracy import baseline_predict, django_catalogs  # noqa: E402
from multilingual_corpus import DEV, LOCALE_TAGS  # noqa: E402

MARK = re.compile(r"\w['’][\w]|(?:^|\s)['’]\w|\w[-‐·]\w")
MARKS = re.compile(r"['’‐·-]")


def samples(locales: list[str], min_letters: int) -> list[tuple[str, str]]:
    catalogs = django_catalogs(DEV)
    out = []
    for locale in locales:
        lang = LOCALE_TAGS[locale]
        seen = set()
        for catalog in catalogs.get(locale, []):
            for text in catalog:
                if text in seen or not MARK.search(text) or sum(c.isalpha() for c in text) < min_letters:
                    continue
                seen.add(text)
                out.append((lang, text))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--locales", default="af,ast,ca,fr,it")
    parser.add_argument("--min-letters", type=int, default=20)
    args = parser.parse_args()
    from curation.text.lid_decision import DocumentLanguageIdentifier, canonical_code

    data = samples(args.locales.split(","), args.min_letters)
    texts = [t for _, t in data]
    decider = DocumentLanguageIdentifier.from_config({})
    after = [canonical_code(r.lang) for r in decider.predict_batch(texts, [None] * len(texts))]
    spaced = [MARKS.sub(" ", t) for t in texts]
    before = [canonical_code(r.lang) for r in decider.predict_batch(spaced, [None] * len(texts))]
    raw = baseline_predict(decider.identifier.model, texts)
    print(f"{len(texts)} Django UI strings with word marks, {args.min_letters}+ letters, no declared language\n")
    print("| language | strings | raw lid.176 | ours before (marks as spaces) | ours after (marks kept) |")
    print("|---|---|---|---|---|")
    langs = sorted({lang for lang, _ in data})
    totals = [0, 0, 0, 0]
    for lang in langs:
        idx = [i for i, (want, _) in enumerate(data) if want == lang]
        hits = [sum(preds[i] == lang for i in idx) for preds in (raw, before, after)]
        totals = [totals[0] + len(idx), *(t + h for t, h in zip(totals[1:], hits, strict=True))]
        print(f"| {lang} | {len(idx)} | " + " | ".join(f"{h / len(idx):.3f}" for h in hits) + " |")
    n = totals[0]
    print(f"| **all** | {n} | " + " | ".join(f"**{h / n:.3f}**" for h in totals[1:]) + " |")
    changed = [(data[i][0], before[i], after[i], texts[i]) for i in range(n) if before[i] != after[i]]
    fixed = sum(a == lang for lang, _, a, _ in changed)
    print(f"\n{len(changed)} strings changed label: {fixed} now right, {len(changed) - fixed} now wrong")
    for lang, b, a, text in changed[:15]:
        print(f"- {lang}: {b} -> {a}: {text[:90]!r}")


if __name__ == "__main__":
    main()
