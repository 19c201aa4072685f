"""Decontamination recall on planted benchmark items and false positives on clean real text, ours vs plain 13-gram.

    python benchmarks/decontam.py [--gsm 85] [--champ 120] [--humaneval 164] [--clean-docs 3000]

Planted (all generated in this run, none of them the indexed text itself):
- gsm-renumbered: reasoning-gym GSM-symbolic templates instantiated with a new seed (new numbers, often new names);
- gsm-paraphrased: the same, reworded (synonyms, clause order, every 7th word dropped);
- champ-renumbered / champ-paraphrased: CHAMP problems with every number changed / reworded the same way;
- humaneval-renamed: the prompt + solution with the function renamed and the docstring's examples renumbered;
- embedded: a renumbered GSM item inside 2,000 characters of unrelated real text (Debian FAQ).
Clean (real, not benchmark text): the Debian doc .txt files split into ~2,000-character documents (English and
other languages), the sample corpus JSONL documents, and CPython standard-library modules (real code, against the
HumanEval index). Peer: plain 13-gram overlap on lower-cased word tokens, numbers as written (what most
decontamination scripts do), in the same run on the same texts.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.decontam import (
    DecontamIndex,
    gsm_symbolic_instance,
    gsm_symbolic_templates,
    load_benchmark,
)

SYNONYMS = {
    "has": "owns", "have": "own", "bought": "purchased", "buys": "purchases", "total": "overall", "each": "every",
    "how": "tell me how", "many": "numerous", "much": "a lot", "there": "here", "gives": "hands", "gave": "handed",
    "sells": "trades", "store": "shop", "house": "home", "find": "determine", "number": "count", "day": "daily period",
    "week": "seven days", "what": "which", "if": "suppose", "more": "additional", "than": "compared to",
    "the": "a", "is": "happens to be", "are": "happen to be", "of": "out of", "and": "as well as",
}  # fmt: skip
DEBIAN_DOCS = Path.home() / ".cache/curation-factory/corpora/debian-docs/x/usr/share/doc"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "text"


def renumber(text: str, rng: random.Random) -> str:
    return re.sub(r"\d+", lambda m: str(int(m.group()) + rng.randint(1, 9)), text)


def paraphrase(text: str, rng: random.Random) -> str:
    """Synonyms, clause order swapped, every 7th word dropped: no 13-gram of the original survives."""
    words = [SYNONYMS.get(w.lower(), w) for w in text.split()]
    words = [w for i, w in enumerate(words) if i % 7 != 6]
    half = len(words) // 2
    return " ".join([*words[half:], "Also,", *words[:half]])


def planted(args, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """{kind: [(expected item id, text)]}."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    faq = (Path(__file__).resolve().parents[1] / "tests/fixtures/mixture/debian-faq.en.txt").read_text("utf-8")
    for t in gsm_symbolic_templates()[: args.gsm]:
        q = gsm_symbolic_instance(t, seed=1000 + t)["question"]
        out["gsm-renumbered"].append((f"gsm_symbolic/{t}", q))
        out["gsm-paraphrased"].append((f"gsm_symbolic/{t}", paraphrase(q, rng)))
        start = rng.randrange(0, len(faq) - 2000)
        embedded = faq[start : start + 1000] + "\n" + q + "\n" + faq[start + 1000 : start + 2000]
        out["embedded"].append((f"gsm_symbolic/{t}", embedded))
    champ = [i for i in load_benchmark("champ") if len(i.text.split()) >= 25][: args.champ]
    for item in champ:
        out["champ-renumbered"].append((item.item_id, renumber(item.text, rng)))
        out["champ-paraphrased"].append((item.item_id, paraphrase(renumber(item.text, rng), rng)))
    for item in load_benchmark("humaneval")[: args.humaneval]:
        m = re.search(r"def (\w+)\(", item.text)
        text = item.text.replace(m.group(1), "my_" + m.group(1)[::-1]) if m else item.text
        out["humaneval-renamed"].append((item.item_id, renumber(text, rng)))
    return out


def clean_docs(limit: int) -> dict[str, list[str]]:
    docs: dict[str, list[str]] = defaultdict(list)
    for path in sorted(glob.glob(str(DEBIAN_DOCS / "*" / "*.txt.gz"))):
        text = gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
        for i in range(0, len(text), 2000):
            docs["debian-docs"].append(text[i : i + 2000])
    for path in sorted(SAMPLE.glob("*.jsonl")):
        for line in path.read_text("utf-8", errors="replace").splitlines():
            try:
                text = json.loads(line).get("text")
            except ValueError:
                continue
            if isinstance(text, str) and text.strip():
                docs["sample-corpus"].append(text)
    stdlib = Path(json.__file__).resolve().parents[1]
    for path in sorted(stdlib.glob("*.py")):
        text = path.read_text("utf-8", errors="replace")
        for i in range(0, len(text), 4000):
            docs["stdlib-code"].append(text[i : i + 4000])
    rng = random.Random(0)
    return {k: rng.sample(v, min(limit, len(v))) for k, v in docs.items()}


class Plain13:
    """The peer: 13-gram overlap on lower-cased words, numbers kept as written."""

    def __init__(self, items, n: int = 13):
        self.n = n
        self.index: dict[tuple, str] = {}
        for item in items:
            toks = re.findall(r"\w+", item.text.lower())
            for i in range(len(toks) - n + 1):
                self.index.setdefault(tuple(toks[i : i + n]), item.item_id)

    def check(self, text: str) -> str | None:
        toks = re.findall(r"\w+", text.lower())
        for i in range(len(toks) - self.n + 1):
            hit = self.index.get(tuple(toks[i : i + self.n]))
            if hit:
                return hit
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gsm", type=int, default=85)
    parser.add_argument("--champ", type=int, default=120)
    parser.add_argument("--humaneval", type=int, default=164)
    parser.add_argument("--clean-docs", type=int, default=3000, help="per clean corpus")
    args = parser.parse_args()
    rng = random.Random(7)
    t0 = time.perf_counter()
    items = [*load_benchmark("humaneval"), *load_benchmark("champ"), *load_benchmark("gsm_symbolic")]
    ours = DecontamIndex.build(items)
    peer = Plain13(items)
    print(f"index: {ours.describe()}; built in {time.perf_counter() - t0:.1f} s")
    print("\n| planted set | items | plain 13-gram recall | ours n-gram only | ours n-gram + similarity |")
    print("|---|---|---|---|---|")
    total = defaultdict(int)
    for kind, cases in planted(args, rng).items():
        p = sum(peer.check(t) == i for i, t in cases)
        ng = sum((h := ours.check(t, use_similarity=False)) is not None and h.item_id == i for i, t in cases)
        full = sum((h := ours.check(t)) is not None and h.item_id == i for i, t in cases)
        for key, val in (("n", len(cases)), ("p", p), ("ng", ng), ("full", full)):
            total[key] += val
        print(f"| {kind} | {len(cases)} | {p / len(cases):.3f} | {ng / len(cases):.3f} | {full / len(cases):.3f} |")
    n = total["n"]
    print(f"| **all** | {n} | {total['p'] / n:.3f} | {total['ng'] / n:.3f} | {total['full'] / n:.3f} |")

    print("\n| clean corpus | docs | plain 13-gram FP | ours n-gram FP | ours full FP | ours docs/s |")
    print("|---|---|---|---|---|---|")
    for name, docs in clean_docs(args.clean_docs).items():
        p = sum(peer.check(d) is not None for d in docs)
        start = time.perf_counter()
        hits = [ours.check(d) for d in docs]
        rate = len(docs) / (time.perf_counter() - start)
        ng = sum(h is not None and h.method == "ngram" for h in hits)
        full = sum(h is not None for h in hits)
        flagged = [(h.benchmark, h.item_id, h.method, h.score) for h in hits if h is not None][:3]
        print(
            f"| {name} | {len(docs)} | {p / len(docs):.4f} | {ng / len(docs):.4f} | {full / len(docs):.4f} "
            f"| {rate:.0f} |" + (f" e.g. {flagged}" if flagged else "")
        )


if __name__ == "__main__":
    main()
